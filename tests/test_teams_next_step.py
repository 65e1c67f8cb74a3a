"""The Teams case card shows what happens next, as the Slack card does: the core's fixed words for
the stage (bot.stages.NEXT_STEP) and the clock due first with whose it is (bot.views.case_view's
``next_step`` / ``next_deadline``). Over HTTP through the real endpoint and the fake Connector."""

from __future__ import annotations

from sqlmodel import select

from bot.models import Deadline
from bot.review_kinds import owner_label
from bot.stages import NEXT_STEP, Stage
from handlers.teams.views import case_card
from tests.support.teams_connector import BU_CHANNEL, TeamsHarness, card_of
from tests.test_teams_referral import cases, refer


def card_texts(card: dict) -> list[str]:  # type: ignore[type-arg]
    """Each paragraph of the card as the person reads it (its runs joined)."""
    return ["".join(run["text"] for run in element.get("inlines", [])) for element in card["body"]]


def test_the_posted_case_card_says_the_next_step_and_the_next_deadline_with_its_owner(
    teams: TeamsHarness,
) -> None:
    refer(teams)  # the local authority's date is known: the notification clock runs (process.md 7.1)
    [case] = cases(teams)
    with teams.core.transaction() as s:
        [deadline] = s.exec(select(Deadline).where(Deadline.case_id == case.id)).all()
        owner = owner_label(deadline.owner)
    texts = card_texts(card_of(teams.fake.of("create", BU_CHANNEL)[0]))
    at = texts.index("Next step")
    assert texts[at + 1] == NEXT_STEP[Stage.REFERRAL_RECEIVED]
    due = f"Next deadline: notification to the National Panel (D-01), {owner}, due "
    assert texts[at + 2].startswith(due)
    # It comes after the deadlines, as on the Slack card.
    assert texts.index("Deadlines") < at


def test_a_closed_case_has_no_next_step() -> None:
    view = {"ref": "SI-2026-0001", "stage": Stage.CLOSED_NFA.value, "stage_label": "Closed",
            "next_step": NEXT_STEP[Stage.CLOSED_NFA], "next_deadline": None}
    texts = card_texts(case_card(view, (), now=None, tz=None))
    assert "Next step" not in texts and NEXT_STEP[Stage.CLOSED_NFA] not in texts
    open_view = {**view, "stage": Stage.TRIAGE.value, "next_step": NEXT_STEP[Stage.TRIAGE]}
    texts = card_texts(case_card(open_view, (), now=None, tz=None))
    assert texts[texts.index("Next step") + 1] == NEXT_STEP[Stage.TRIAGE]
    assert not any(t.startswith("Next deadline") for t in texts)  # no clock running: no line
