"""The local Slack Web API answers what slack_sdk sends and records it."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.support.slack_api import SlackAPI
from tests.support.slack_api import slack_api as slack_api  # the fixture


def test_records_calls_and_answers(slack_api: SlackAPI) -> None:
    client = WebClient(token="xoxb-test", base_url=slack_api.url)
    assert client.auth_test()["user_id"] == "UBOT"
    posted = client.chat_postMessage(channel="C1", text="hello", blocks=[])
    assert posted["ts"] and posted["channel"] == "C1"
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    slack_api.usergroup_users["S1"] = ["U7"]
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U7"]
    client.views_open(trigger_id="t1", view={"type": "modal", "title": {"type": "plain_text",
                                                                       "text": "x"}, "blocks": []})
    assert slack_api.methods() == [
        "auth.test", "chat.postMessage", "conversations.open", "usergroups.users.list", "views.open"
    ]
    call = slack_api.of("chat.postMessage")[0]
    assert call.body["text"] == "hello"
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert slack_api.of("views.open")[0].body["trigger_id"] == "t1"


def test_a_method_can_be_made_to_fail(slack_api: SlackAPI) -> None:
    client = WebClient(token="xoxb-test", base_url=slack_api.url)
    slack_api.fail["chat.update"] = "message_not_found"
    try:
        client.chat_update(channel="C1", ts="1.0", text="x")
    except SlackApiError as exc:
        assert exc.response["error"] == "message_not_found"
    else:
        raise AssertionError("expected an error")
