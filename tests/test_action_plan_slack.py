"""The action plan on the Slack card (the real bolt App against the local Slack Web API) and on
the Teams card drawn from the same view: once the review is published the card counts the plan
(open, overdue, awaiting verification, verified, closed) and never shows an action's text; then
chasers queued for two overdue actions are cancelled at delivery because one was submitted and
verified and the other closed meanwhile."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlmodel import select

from bot import action_plan, publication, review
from bot.cases import get_case
from bot.chasers import chase_overdue
from bot.models import OutboxMessage
from bot.outbox import deliver
from bot.views import case_view
from handlers.teams.views import case_card as teams_case_card
from tests.support.slack_api import NOW, SlackHarness
from tests.support.slack_api import slack as slack  # the fixture
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_review_slack import BM, REVIEWER, decided, last_card

TEXT_1 = "Retrain Smithfield custody officers on the referral pathway"
TEXT_2 = "Audit supervision at the Hollybank team"


def published_with_a_plan(slack: SlackHarness) -> str:
    case = decided(slack)
    core = slack.core
    with core.transaction() as s:
        found = get_case(s, case.ref)
        review.commission(s, core, found, reviewer_name="Lead Reviewer", reviewer_email=REVIEWER, actor=BM)
        review.composite_ready(s, core, found, actor=BM)
        for step in (review.learning_event_held, review.draft_received, review.workstream_met,
                     review.minutes_sent, review.to_business_group, review.business_group_approved,
                     review.endorsed):
            step(s, core, found, actor=BM)
        action_plan.add(s, core, found, agency="police", text=TEXT_1, recommendation=1, actor=BM)
        action_plan.add(s, core, found, agency="la-csc", text=TEXT_2, recommendation=2, actor=BM)
        publication.set_publication_date(s, core, found, date(2026, 12, 2), actor=BM)
    slack.clock.set(NOW + timedelta(days=9))  # Wed 2 Dec 2026, 10:00
    with core.transaction() as s:
        publication.publish(s, core, get_case(s, case.ref), actor=BM)
    return case.ref


def test_the_card_counts_the_plan_and_cancels_chasers_no_longer_due(
    slack: SlackHarness, tmp_path: Any
) -> None:
    from bot.mail.maildir import MaildirGateway

    ref = published_with_a_plan(slack)
    core = slack.core
    with core.db.session() as s:
        case = get_case(s, ref)
    text, _ = last_card(slack, case)
    assert "*Action plan*" in text
    assert "2 action(s): 2 open (0 overdue, 0 awaiting verification), 0 verified, 0 closed" in text
    assert "review action (D-14)" not in text  # the actions' clocks are counted, not listed

    # Due 12 weeks after publication: Wed 24 Feb 2027 (2 Dec + 84 days), end of the day.
    with core.db.session() as s:
        clocks = [action_plan._clock(s, a) for a in action_plan.actions_of(s, case)]
    assert {c.due_at.isoformat() for c in clocks if c} == {"2027-02-24T23:59:59+00:00"}

    slack.clock.set(NOW + timedelta(days=9 + 85))  # Thu 25 Feb 2027, 10:00: both overdue
    assert chase_overdue(core).steps >= 2
    text, _ = last_card(slack, case)  # the chasers' events updated the card
    assert "2 action(s): 2 open (2 overdue, 0 awaiting verification)" in text
    with core.transaction() as s:  # meanwhile: action 1 evidenced, submitted, verified; 2 closed
        found = get_case(s, ref)
        one, two = action_plan.actions_of(s, found)
        action_plan.evidence(s, core, found, one, note="Training records", actor=BM)
        action_plan.submit(s, core, found, one, actor=BM)
        action_plan.verify(s, core, found, one, actor=BM)
        action_plan.close(s, core, found, two, outcome="superseded", reason="A regional audit", actor=BM)
    deliver(core, MaildirGateway(tmp_path / "mail"))
    with core.db.session() as s:
        chasers = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "owner_overdue")).all()
        for_actions = [m for m in chasers if "action plan" in m.subject]
    assert len(for_actions) == 2 and {m.status for m in for_actions} == {"cancelled"}

    text, _ = last_card(slack, case)
    assert "2 action(s): 0 open (0 overdue, 0 awaiting verification), 1 verified, 1 closed" in text
    with core.db.session() as s:  # Teams renders the same view model: counts, no text
        view = case_view(s, core, get_case(s, ref))
    teams_card = json.dumps(teams_case_card(view, (), now=core.clock.now(), tz=None))
    assert "Action plan" in teams_card and "1 verified, 1 closed" in teams_card
    assert "review action (D-14)" not in teams_card and "Hollybank" not in teams_card
    sent = slack.api.everything_sent()
    for private in (TEXT_1, TEXT_2, "Smithfield", "Hollybank", "Training records", "regional audit"):
        assert private not in sent
