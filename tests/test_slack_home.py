"""App Home: the business unit's board and triage list, and a practitioner's own referrals."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from bot import agency_requests, cases
from bot.inbound import hold_for_triage, record_inbound
from bot.models import Case, InboundMessage
from tests.support.slack_api import SlackHarness, picked, typed
from tests.support.slack_api import slack as slack  # the fixture
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_slack_referral import PRACTITIONER, referral_values

SENTINEL = "Jane Doe"


def published(slack: SlackHarness, user: str) -> dict[str, Any]:
    call = [c for c in slack.api.of("views.publish") if c.body["user_id"] == user][-1]
    view = call.body["view"]
    return json.loads(view) if isinstance(view, str) else view


def case_waiting_for_police(slack: SlackHarness) -> str:
    slack.submit("si_referral", referral_values(), user=PRACTITIONER)
    core = slack.core
    with core.transaction() as session:
        case = session.exec(select(Case)).one()
        cases.record_sin_submitted(session, core, case, at=None, actor="cli")
        agency_requests.send_requests(session, core, case, kind="info-gathering", agencies=["police"],
                                      actor="cli")
        return case.ref


def triage_item(slack: SlackHarness, n: int = 1) -> int:
    with slack.core.transaction() as session:
        item, _ = record_inbound(session, slack.core, message_id=f"<m{n}@police.example>", raw=b"x",
                                 mailbox="inbox", from_addr="someone@police.example")
        item.classification = "unknown"
        hold_for_triage(item, "could not match a case")
        return item.id or 0


def test_the_business_unit_sees_the_board_and_the_triage_list(slack: SlackHarness) -> None:
    ref = case_waiting_for_police(slack)
    item = triage_item(slack)
    slack.event({"type": "app_home_opened", "user": "UBM", "channel": "DHOME", "tab": "home"})
    view = published(slack, "UBM")
    assert view["type"] == "home"
    text = json.dumps(view)
    assert ref in text and "Returns outstanding: police" in text
    assert "Triage" in text and f"Item {item}" in text and "police.example" in text
    assert "someone@" not in text  # the sender's domain only
    actions = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["triage_assign", "triage_dismiss"]


def test_a_practitioner_sees_their_own_referrals(slack: SlackHarness) -> None:
    case_waiting_for_police(slack)
    slack.event({"type": "app_home_opened", "user": PRACTITIONER, "channel": "DHOME", "tab": "home"})
    slack.event({"type": "app_home_opened", "user": "UOTHER", "channel": "DHOME", "tab": "home"})
    mine = json.dumps(published(slack, PRACTITIONER))
    assert "SI-2026-0001" in mine and "information" in mine
    assert "SI-2026-0001" not in json.dumps(published(slack, "UOTHER"))
    assert "triage_assign" not in mine


def test_assigning_a_triage_item_records_the_return(slack: SlackHarness) -> None:
    ref = case_waiting_for_police(slack)
    item = triage_item(slack)
    slack.press("triage_assign", str(item), home=True)
    view = slack.api.of("views.open")[-1].body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "si_triage_assign"
    slack.submit("si_triage_assign", {"ref": picked(ref), "agency": picked("police"),
                                      "kind": picked("info-gathering")},
                 meta=json.loads(view["private_metadata"]))
    with slack.core.transaction() as session:
        assert session.get(InboundMessage, item).triage_status == "assigned"
        request = agency_requests.get_request(session, cases.get_case(session, ref), "police", None)
        assert request.status == "returned"
    assert slack.api.of("views.publish")  # the Home tab is refreshed


def test_dismissing_a_triage_item_keeps_the_reason_out_of_slack(slack: SlackHarness) -> None:
    item = triage_item(slack)
    slack.press("triage_dismiss", str(item), home=True)
    slack.submit("si_triage_dismiss", {"reason": typed(f"spam about {SENTINEL}")},
                 meta={"item": item, "home": True})
    with slack.core.transaction() as session:
        assert session.get(InboundMessage, item).triage_status == "dismissed"
    assert SENTINEL not in slack.api.everything_sent()


def test_a_practitioner_cannot_use_the_triage_buttons(slack: SlackHarness) -> None:
    item = triage_item(slack)
    slack.press("triage_dismiss", str(item), user=PRACTITIONER, home=True)
    assert slack.api.of("views.open") == []
    # No channel from App Home: the refusal comes as a direct message.
    [dm] = [c for c in slack.api.of("chat.postMessage") if c.body["channel"] == f"D{PRACTITIONER}"]
    assert "business unit" in dm.body["text"]
