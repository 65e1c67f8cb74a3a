"""The case card's buttons and modals, the notifier, refusals and the privacy rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot import agency_requests
from bot.cases import Referral, get_case, open_case, record_sin_submitted
from bot.models import Case, Event
from bot.stages import Stage
from handlers.slack.modals import check_modal
from handlers.slack.notifier import SlackNotifier, repost_missing_cards
from tests.support.slack_api import SlackAPI, SlackHarness, dated, picked, picked_many, typed
from tests.support.slack_api import slack as slack  # the fixture
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_slack_referral import PRACTITIONER, referral_values

SENTINEL = "Jane Doe"


def the_case(slack: SlackHarness) -> Case:
    with slack.core.transaction() as session:
        return session.exec(select(Case)).one()


def opened_view(slack: SlackHarness) -> dict[str, Any]:
    view = slack.api.of("views.open")[-1].body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    check_modal(view)
    return view


def refer(slack: SlackHarness) -> Case:
    slack.submit("si_referral", referral_values(), user=PRACTITIONER)
    return the_case(slack)


def card_updates(slack: SlackHarness, case: Case) -> list[dict[str, Any]]:
    ts = slack.ts_of("case", case.id)
    return [c.body for c in slack.api.of("chat.update") if c.body["ts"] == ts]


def thread_replies(slack: SlackHarness, case: Case) -> list[str]:
    ts = slack.ts_of("case", case.id)
    return [c.body["text"] for c in slack.api.of("chat.postMessage") if c.body.get("thread_ts") == ts]


def test_the_card_shows_reference_stage_dates_deadlines_and_buttons(slack: SlackHarness) -> None:
    case = refer(slack)
    card = next(c.body for c in slack.api.of("chat.postMessage") if c.body["channel"] == "CBU")
    blocks = json.loads(card["blocks"]) if isinstance(card["blocks"], str) else card["blocks"]
    text = json.dumps(blocks)
    assert case.ref in text and "Referral received" in text
    assert "2026-11-20" in text and "notification to the National Panel" in text
    assert "left" in text  # how long is left on the notification clock
    actions = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["case_accept", "case_not_met", "case_close"]


def test_the_whole_rapid_review_from_the_card(slack: SlackHarness) -> None:
    case = refer(slack)

    slack.press("case_accept", case.ref)
    assert opened_view(slack)["callback_id"] == "si_accept"
    slack.submit("si_accept", {"la_aware_date": dated("2026-11-21")}, meta={"ref": case.ref})
    assert the_case(slack).stage == Stage.SIN_PENDING
    assert card_updates(slack, case)

    slack.press("case_sin_submitted", case.ref)
    assert the_case(slack).stage == Stage.INFO_GATHERING

    slack.press("case_send_info", case.ref)
    view = opened_view(slack)
    chosen = {o["value"] for o in view["blocks"][1]["element"]["initial_options"]}
    assert {"school", "icb"} <= chosen  # statutory partners plus the agencies involved
    slack.submit("si_requests", {"agencies": picked_many(["police", "school"])},
                 meta=json.loads(view["private_metadata"]))
    assert any("request sent to" in t for t in thread_replies(slack, case))

    for agency in ("police", "school"):
        slack.press("case_return", case.ref)
        assert opened_view(slack)["callback_id"] == "si_return"
        slack.submit("si_return", {"request": picked(f"{agency}|info-gathering")}, meta={"ref": case.ref})
    assert the_case(slack).stage == Stage.PANEL_DECISION
    assert any("return received from" in t for t in thread_replies(slack, case))

    slack.press("case_decide", case.ref)
    slack.submit("si_decide", {"option": picked("lcspr"), "rationale": typed(f"{SENTINEL} was seen")},
                 meta={"ref": case.ref})
    assert the_case(slack).stage == Stage.LCSPR

    slack.press("case_send_chronology", case.ref)
    view = opened_view(slack)
    assert json.loads(view["private_metadata"]) == {"ref": case.ref, "kind": "chronology"}
    meta = json.loads(view["private_metadata"])
    slack.submit("si_requests", {"agencies": picked_many(["police"])}, meta=meta)
    with slack.core.transaction() as session:
        kinds = {r.kind for r in agency_requests.requests_of(session, get_case(session, case.ref))}
    assert kinds == {"info-gathering", "chronology"}

    slack.press("case_close", case.ref)
    slack.submit("si_close", {"reason": typed(f"{SENTINEL} moved away")}, meta={"ref": case.ref})
    closed = the_case(slack)
    assert closed.stage == Stage.CLOSED and SENTINEL in (closed.closed_reason or "")
    assert SENTINEL in (closed.decision_rationale or "")
    # Free text typed in a modal is in the database and in no Slack call at all.
    assert SENTINEL not in slack.api.everything_sent()
    assert "Closed" in json.dumps(card_updates(slack, case)[-1]["blocks"])


def test_criteria_not_met_keeps_the_reason_out_of_slack(slack: SlackHarness) -> None:
    case = refer(slack)
    slack.press("case_not_met", case.ref)
    assert opened_view(slack)["callback_id"] == "si_not_met"
    slack.submit("si_not_met", {"route": picked("no-further-action"), "reason": typed(f"{SENTINEL}, 3")},
                 meta={"ref": case.ref})
    assert the_case(slack).stage == Stage.CLOSED_NFA
    assert SENTINEL not in slack.api.everything_sent()


def test_a_service_refusal_is_shown_in_the_modal(slack: SlackHarness) -> None:
    case = refer(slack)
    response = slack.submit("si_accept", {"la_aware_date": dated("2026-12-24")}, meta={"ref": case.ref})
    body = json.loads(response.body)
    assert body["response_action"] == "errors" and "future" in body["errors"]["la_aware_date"]
    assert the_case(slack).stage == Stage.REFERRAL_RECEIVED


def test_a_practitioner_pressing_a_business_unit_button_is_refused(slack: SlackHarness) -> None:
    case = refer(slack)
    slack.api.clear()
    slack.press("case_accept", case.ref, user=PRACTITIONER)
    assert slack.api.of("views.open") == []
    [ephemeral] = slack.api.of("chat.postEphemeral")
    assert ephemeral.body["user"] == PRACTITIONER and "business unit" in ephemeral.body["text"]
    with slack.core.transaction() as session:
        [event] = session.exec(select(Event).where(Event.kind == "action_refused")).all()
    assert event.actor == f"slack:{PRACTITIONER}" and event.case_id == case.id
    assert event.detail == {"action": "accept"}
    assert slack.api.of("chat.update") == []  # a refusal changes nothing on the card


def test_a_forged_modal_submission_is_refused_on_the_server(slack: SlackHarness) -> None:
    case = refer(slack)
    response = slack.submit("si_close", {"reason": typed("x")}, user=PRACTITIONER, meta={"ref": case.ref})
    assert json.loads(response.body)["response_action"] == "errors"
    assert the_case(slack).stage == Stage.REFERRAL_RECEIVED
    with slack.core.transaction() as session:
        assert session.exec(select(Event).where(Event.kind == "action_refused")).one().detail == {
            "action": "close"}


def test_usergroup_members_are_business_unit_and_the_lookup_is_cached(
    slack_api: SlackAPI, tmp_path: Path, schema_database_url: str,
) -> None:
    slack_api.usergroup_users["SBU"] = ["UGROUP"]
    slack = SlackHarness(slack_api, tmp_path, schema_database_url, usergroup="SBU")
    case = refer(slack)
    slack.press("case_accept", case.ref, user="UGROUP")
    slack.press("case_close", case.ref, user="UGROUP")
    assert len(slack.api.of("views.open")) == 2
    assert len(slack.api.of("usergroups.users.list")) == 1
    slack.press("case_close", case.ref, user=PRACTITIONER)
    assert len(slack.api.of("chat.postEphemeral")) == 1


def test_changes_from_email_or_the_clock_update_the_card(slack: SlackHarness) -> None:
    case = refer(slack)
    core = slack.core
    with core.transaction() as session:
        c = get_case(session, case.ref)
        record_sin_submitted(session, core, c, at=None, actor="cli")
        agency_requests.send_requests(
            session, core, c, kind="info-gathering", agencies=["police"], actor="cli"
        )
    slack.api.clear()
    with core.transaction() as session:  # as the mail intake would
        c = get_case(session, case.ref)
        request = agency_requests.get_request(session, c, "police", "info-gathering")
        agency_requests.record_return(session, core, request, actor="email", via="email")
    assert card_updates(slack, case)
    assert any("return received" in t for t in thread_replies(slack, case))


def test_the_notifier_never_raises_and_missing_cards_are_reposted(slack: SlackHarness) -> None:
    slack.api.fail["chat.postMessage"] = "channel_not_found"
    with slack.core.transaction() as session:
        open_case(session, slack.core, Referral(referring_agency="police"), actor="a@x.example",
                  source="email")
    assert slack.ts_of("case", the_case(slack).id) is None
    del slack.api.fail["chat.postMessage"]
    assert repost_missing_cards(slack.core, slack.client, slack.settings) == 1
    assert slack.ts_of("case", the_case(slack).id)
    assert repost_missing_cards(slack.core, slack.client, slack.settings) == 0


def test_the_background_notifier_delivers_in_order(slack: SlackHarness) -> None:
    notifier = SlackNotifier(slack.client, slack.core, slack.settings)
    slack.core.notifiers = [notifier]
    try:
        with slack.core.transaction() as session:
            open_case(session, slack.core, Referral(referring_agency="police"), actor="a@x.example",
                      source="email")
        notifier.flush()
    finally:
        notifier.close()
    assert slack.ts_of("case", the_case(slack).id)


def test_thread_replies_carry_whitelisted_facts_only(slack: SlackHarness) -> None:
    from handlers.slack.notifier import reply_text
    from handlers.slack.posting import Happened

    extra = {"reason": SENTINEL, "rationale": SENTINEL, "via": SENTINEL}
    samples = {
        "return_received": {"agency": "police", "request_kind": "info-gathering", "on_time": False},
        "chase_sent": {"agency": "police", "request_kind": "info-gathering", "chase": 2},
        "request_escalated": {"agency": "icb", "request_kind": "chronology"},
        "request_bounced": {"agency": "school", "request_kind": "info-gathering"},
        "deadline_overdue": {"deadline": "sin_notification", "due_at": "2026-11-28T17:00:00+00:00"},
        "stage_changed": {"from": "sin_pending", "to": "info_gathering"},
    }
    for kind, detail in samples.items():
        text = reply_text(slack.core, "SI-2026-0001", Happened(1, kind, {**detail, **extra}))
        assert text and text.startswith("SI-2026-0001") and SENTINEL not in text
    overdue = reply_text(slack.core, "R", Happened(1, "deadline_overdue", samples["deadline_overdue"]))
    assert overdue and "is overdue" in overdue
    assert reply_text(slack.core, "R", Happened(1, "case_opened", {})) is None


def test_the_board_marks_an_overdue_deadline_red(slack: SlackHarness) -> None:
    from datetime import timedelta

    refer(slack)
    slack.clock.advance(timedelta(days=14))
    slack.event({"type": "app_home_opened", "user": "UBM", "channel": "DHOME", "tab": "home"})
    view = slack.api.of("views.publish")[-1].body["view"]
    assert ":red_circle:" in (view if isinstance(view, str) else json.dumps(view))
