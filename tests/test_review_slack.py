"""The local review from the Slack card (the real bolt App against the local Slack Web API): each
stage offers its step as a button, the card shows the next step and the next deadline with its
owner, a publication date too soon is refused in the modal naming the earliest valid one, and the
reviewer's address never reaches Slack. Then a queued chaser whose clock is met before it goes is
cancelled, not sent."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot import review
from bot.cases import accept, decide, get_case, record_sin_submitted
from bot.chasers import chase_overdue
from bot.models import Case, OutboxMessage
from bot.outbox import deliver
from bot.stages import Stage
from tests.support.slack_api import NOW, SlackHarness, dated, picked, typed
from tests.support.slack_api import slack as slack  # the fixture
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_slack_case_card import card_updates, opened_view, refer

REVIEWER = "lead.reviewer@reviews.example"
BM = "business.manager@partnership.example"


def decided(slack: SlackHarness) -> Case:
    case = refer(slack)
    with slack.core.transaction() as s:
        found = get_case(s, case.ref)
        accept(s, slack.core, found, actor=BM, la_aware=NOW.date())
        record_sin_submitted(s, slack.core, found, at=None, actor=BM)
        decide(s, slack.core, found, option="lcspr", rationale="", actor=BM)
    return case


def stage(slack: SlackHarness, case: Case) -> str:
    with slack.core.transaction() as s:
        return get_case(s, case.ref).stage


def last_card(slack: SlackHarness, case: Case) -> tuple[str, list[str]]:
    blocks: Any = card_updates(slack, case)[-1]["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return json.dumps(blocks), buttons


def test_a_local_review_from_the_card(slack: SlackHarness) -> None:
    case = decided(slack)
    slack.press("case_commission", case.ref)
    assert opened_view(slack)["callback_id"] == "si_commission"
    refused = slack.submit("si_commission", {
        "reviewer_name": typed("Lead Reviewer"), "reviewer_email": typed("not an address"),
        "methodology": picked("learning-event")}, meta={"ref": case.ref})
    assert "reviewer_email" in json.loads(refused.body)["errors"]
    slack.submit("si_commission", {"reviewer_name": typed("Lead Reviewer"), "reviewer_email": typed(REVIEWER),
                                   "methodology": picked("learning-event")}, meta={"ref": case.ref})
    slack.press("case_composite", case.ref)
    assert stage(slack, case) == Stage.COMPOSITE_CHRONOLOGY
    slack.press("case_learning_event", case.ref)
    text, buttons = last_card(slack, case)
    assert stage(slack, case) == Stage.LEARNING_EVENT
    assert "Next step" in text and "The reviewer writes the first draft" in text
    assert "Next deadline: first draft of the review (D-08), the reviewer, due" in text
    assert buttons == ["case_learning_event", "case_draft_received", "case_tags", "case_close"]

    for action, after in (
        ("case_draft_received", Stage.FIRST_DRAFT), ("case_workstream_met", Stage.WORKSTREAM),
        ("case_minutes_sent", Stage.WORKSTREAM), ("case_to_business_group", Stage.BUSINESS_GROUP),
        ("case_business_group_approved", Stage.ENDORSEMENT), ("case_endorsed", Stage.FINAL_APPROVED),
    ):
        slack.press(action, case.ref)
        assert stage(slack, case) == after, action
    text, buttons = last_card(slack, case)
    assert "Set the publication date" in text and "case_publication_date" in buttons

    slack.press("case_publication_date", case.ref)
    assert opened_view(slack)["callback_id"] == "si_publication_date"
    too_soon = slack.submit("si_publication_date", {"publication_date": dated("2026-12-01")},
                            meta={"ref": case.ref})
    error = json.loads(too_soon.body)["errors"]["publication_date"]
    assert "earliest valid publication date is Wed 02 Dec 2026" in error
    assert stage(slack, case) == Stage.FINAL_APPROVED
    slack.submit("si_publication_date", {"publication_date": dated("2026-12-02")}, meta={"ref": case.ref})
    text, buttons = last_card(slack, case)
    assert stage(slack, case) == Stage.PRE_PUBLICATION
    assert "pre-publication notice to the National Panel, Secretary of State and Ofsted (D-11)" in text
    assert buttons[:5] == ["case_embargo", "case_publication_date", "case_notice_sent",
                           "case_practitioners_told", "case_published"]
    for action in ("case_notice_sent", "case_practitioners_told", "case_published", "case_embedding",
                   "case_recall_held"):
        slack.press(action, case.ref)
    text, buttons = last_card(slack, case)
    assert stage(slack, case) == Stage.RECALL and "recall event (D-15)" in text
    assert buttons == ["case_website_reviewed", "case_actions_achieved", "case_authorise_speaker",
                       "case_tags", "case_close"]
    assert REVIEWER not in slack.api.everything_sent() and "Lead Reviewer" not in slack.api.everything_sent()


def test_a_chaser_queued_before_its_clock_is_met_is_cancelled(slack: SlackHarness, tmp_path: Any) -> None:
    from bot.mail.maildir import MaildirGateway

    case = decided(slack)
    core = slack.core
    with core.transaction() as s:
        found = get_case(s, case.ref)
        review.commission(s, core, found, reviewer_name="Lead Reviewer", reviewer_email=REVIEWER, actor=BM)
        review.composite_ready(s, core, found, actor=BM)  # no requests: D-07 runs from now
        review.learning_event_held(s, core, found, actor=BM)  # D-08: 28 days, owed by the reviewer
    slack.clock.set(NOW + timedelta(days=29))  # Tue 22 Dec: overdue
    assert chase_overdue(core).steps == 1
    with core.transaction() as s:
        review.draft_received(s, core, get_case(s, case.ref), actor=BM)  # it arrives meanwhile
    gateway = MaildirGateway(tmp_path / "mail")
    deliver(core, gateway)
    with core.db.session() as s:
        [chaser] = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "owner_overdue")).all()
    assert chaser.status == "cancelled" and chaser.to == [REVIEWER]
    assert not any(REVIEWER in p.read_text() for p in (tmp_path / "mail").rglob("*") if p.is_file())
