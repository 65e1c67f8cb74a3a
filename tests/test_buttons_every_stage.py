"""Every button a card offers, pressed through the use case at every stage of every kind of case
(a children's case, a SAR, a complaint): a button offered and then refused is a defect. Each case
is brought to its stage through the same use cases, the way a person would (issue 11, 12)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.actors import Actor
from bot.cases import get_case
from bot.clock import FixedClock
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.inbound import hold_for_triage, record_inbound
from bot.models import Case
from bot.stages import Stage
from bot.usecases import cases, sar_complaints, triage
from bot.usecases import sar as sar_uc
from bot.usecases.result import Form
from bot.views import case_view
from tests.support.usecases import BM_TEAMS, teams
from tests.support.usecases import uc_core as uc_core  # the fixture

REFERRAL = {
    "referring_agency": "police", "incident_date": "2026-11-12", "la_aware_date": date(2026, 11, 13),
    "outcome": "death", "abuse_neglect": "yes", "legal_status": "cin", "age_band": "5-10",
    "agencies_involved": "icb",
}
Step = tuple[str, dict[str, Any]]


def _press(core: Core, bm: Actor, ref: str, name: str, values: dict[str, Any]) -> None:
    """Press the button as a door does: its form first (if it has one), then the action."""
    pressed = cases.press(core, bm, ref, name)
    if isinstance(pressed, Form):
        given = {f.name: f.initial for f in pressed.fields if f.initial not in (None, "", [])}
        for f in pressed.fields:  # a choice with one answer the form does not fill: its first option
            if f.name not in given and f.kind in ("choice", "choices") and f.options and f.required:
                given[f.name] = f.options[0].value if f.kind == "choice" else [f.options[0].value]
        cases.act(core, bm, ref, pressed.action, {**given, **values}, context=pressed.context)


#: What each button is given (beyond its form's initial values).
VALUES: dict[str, Callable[[date], dict[str, Any]]] = {
    "accept": lambda today: {"la_aware_date": date(2026, 11, 13)},
    "not_met": lambda today: {"route": "no-further-action", "reason": "not met"},
    "send_info": lambda today: {"agencies": ["police"]},
    "send_chronology": lambda today: {"agencies": ["police"]},
    "decide": lambda today: {"option": "lcspr", "rationale": "learning"},
    "commission": lambda today: {"reviewer_name": "Lead Reviewer", "reviewer_email": "r@reviews.example"},
    "imr_due": lambda today: {"agency": "police", "due": today + timedelta(days=30)},
    "imr_received": lambda today: {"agency": "police"},
    "embargo": lambda today: {"reason": "coroner"},
    "publication_date": lambda today: {"publication_date": today + timedelta(days=90)},
    "authorise_speaker": lambda today: {"agency": "police"},
    "close": lambda today: {"reason": "done"},
    "screening_held": lambda today: {"basis": "mandatory"},
    "recommendation_sent": lambda today: {"recommendation": "sar"},
    "chair_decision": lambda today: {"decision": "sar"},
}

_INFO: list[Step] = [("accept", {}), ("sin_submitted", {}), ("send_info", {"agencies": ["police"]})]
_RR: list[Step] = [*_INFO, ("return", {})]
_LCSPR: list[Step] = [*_RR, ("decide", {"option": "lcspr", "rationale": "r"})]
_COMPOSITE: list[Step] = [*_LCSPR, ("commission", {}), ("send_chronology", {}), ("composite", {})]
_FIRST_DRAFT: list[Step] = [*_COMPOSITE, ("learning_event", {}), ("draft_received", {})]
_WORKSTREAM: list[Step] = [*_FIRST_DRAFT, ("workstream_met", {})]
_ENDORSEMENT: list[Step] = [*_WORKSTREAM, ("to_business_group", {}), ("business_group_approved", {})]
_FINAL: list[Step] = [*_ENDORSEMENT, ("endorsed", {})]
_PRE_PUB: list[Step] = [*_FINAL, ("publication_date", {})]
_PUBLISHED: list[Step] = [*_PRE_PUB, ("published", {})]
#: A children's case: the steps that bring a new referral to each stage.
CHILD: dict[Stage, list[Step]] = {
    Stage.REFERRAL_RECEIVED: [],
    Stage.TRIAGE: [("triage", {})],
    Stage.SIN_PENDING: [("accept", {})],
    Stage.INFO_GATHERING: _INFO,
    Stage.PANEL_DECISION: _RR,
    Stage.LCSPR: _LCSPR,
    Stage.COMPOSITE_CHRONOLOGY: _COMPOSITE,
    Stage.LEARNING_EVENT: [*_COMPOSITE, ("learning_event", {})],
    Stage.FIRST_DRAFT: _FIRST_DRAFT,
    Stage.WORKSTREAM: _WORKSTREAM,
    Stage.BUSINESS_GROUP: [*_WORKSTREAM, ("to_business_group", {})],
    Stage.ENDORSEMENT: _ENDORSEMENT,
    Stage.FINAL_APPROVED: _FINAL,
    Stage.EMBARGOED: [*_FINAL, ("embargo", {})],
    Stage.PRE_PUBLICATION: _PRE_PUB,
    Stage.PUBLISHED: _PUBLISHED,
    Stage.EMBEDDING: [*_PUBLISHED, ("embedding", {})],
    Stage.RECALL: [*_PUBLISHED, ("recall_held", {})],
    Stage.NATIONAL_REVIEW: [*_RR, ("decide", {"option": "national-review", "rationale": "r"})],
    Stage.NO_FURTHER_REVIEW: [*_RR, ("decide", {"option": "no-further-review", "rationale": "r"})],
    Stage.ALTERNATIVE_LEARNING: [*_RR, ("decide", {"option": "audit", "rationale": "r"})],
    Stage.NOTIFICATION_ONLY: [("not_met", {"route": "notification-only", "reason": "r"})],
}
_SAR_REVIEW: list[Step] = [("screening_held", {}), ("recommendation_sent", {}), ("chair_decision", {})]
SAR: dict[Stage, list[Step]] = {
    Stage.SAR_REFERRED: [],
    Stage.SAR_SCREENED: _SAR_REVIEW[:1],
    Stage.SAR_RECOMMENDED: _SAR_REVIEW[:2],
    Stage.SAR_REVIEW: _SAR_REVIEW,
    Stage.SAR_COMPLETED: [*_SAR_REVIEW, ("sar_completed", {})],
    Stage.SAR_PUBLISHED: [*_SAR_REVIEW, ("sar_completed", {}), ("sar_published", {})],
    Stage.ALTERNATIVE_LEARNING: [*_SAR_REVIEW[:2], ("chair_decision", {"decision": "other-learning"})],
}
COMPLAINT: dict[Stage, list[Step]] = {
    Stage.COMPLAINT_RECEIVED: [],
    Stage.COMPLAINT_RESPONDED: [("complaint_respond", {})],
    Stage.COMPLAINT_ESCALATED: [("complaint_respond", {}), ("complaint_escalate", {})],
    Stage.COMPLAINT_CHAIR_RESPONDED: [("complaint_respond", {}), ("complaint_escalate", {}),
                                      ("complaint_respond", {})],
}


def _open(core: Core, bm: Actor, kind: str) -> str:
    if kind == "sar":
        ref = sar_uc.open_sar(core, bm, received_at=None, referring_agency="police", outcome="death").ref
    elif kind == "complaint":
        ref = sar_complaints.open_complaint(core, bm, received_on=None, complainant_name="A Person").ref
    else:
        ref = cases.refer(core, bm, dict(REFERRAL)).ref
    assert ref
    return ref


def _bring(core: Core, bm: Actor, clock: FixedClock, kind: str, steps: list[Step]) -> str:
    ref = _open(core, bm, kind)
    today = core.calendar.local_date(core.clock.now())
    for name, values in steps:
        clock.advance(timedelta(minutes=1))
        _press(core, bm, ref, name, {**VALUES.get(name, lambda d: {})(today), **values})
    return ref


def _stage(core: Core, ref: str) -> str:
    with core.transaction() as session:
        return session.exec(select(Case.stage).where(Case.ref == ref)).one()


ROUTES = [("child", s, steps) for s, steps in CHILD.items()] + [("sar", s, p) for s, p in SAR.items()] + [
    ("complaint", s, p) for s, p in COMPLAINT.items()]


#: Refusals that depend on what the case holds, not on its stage, and say what comes first: the
#: panel decides once the returns asked for are in (or withdrawn); a return is recorded for a
#: request that was sent (chronology requests are sent from the local review's first stage).
STATEFUL = {("child", Stage.INFO_GATHERING, "decide"): "still waiting for information gathering returns",
            ("child", Stage.LCSPR, "return"): "not waiting for any return"}


def _card(core: Core, ref: str) -> list[str]:
    """The buttons the case's card shows (bot.views' view, as the Slack and Teams doors pass it)."""
    with core.transaction() as session:
        view = case_view(session, core, get_case(session, ref))
    return [a.name for a in cases.card_actions(view["stage"], view)]


@pytest.mark.parametrize(("kind", "stage", "steps"), ROUTES, ids=[f"{k}-{s}" for k, s, _ in ROUTES])
def test_every_offered_button_is_accepted(
    uc_core: Core, clock: FixedClock, kind: str, stage: Stage, steps: list[Step],
) -> None:
    bm = teams(uc_core, BM_TEAMS)
    offered = _card(uc_core, _bring(uc_core, bm, clock, kind, steps))
    assert offered and "close" in offered, stage
    refused: dict[str, str] = {}
    for name in offered:
        ref = _bring(uc_core, bm, clock, kind, steps)
        assert _stage(uc_core, ref) == stage
        today = uc_core.calendar.local_date(uc_core.clock.now())
        try:
            _press(uc_core, bm, ref, name, VALUES.get(name, lambda d: {})(today))
        except Refused as exc:
            refused[name] = str(exc)
    expected = {name: why for (k, s, name), why in STATEFUL.items() if (k, s) == (kind, stage)}
    assert set(refused) == set(expected), refused
    for name, why in expected.items():
        assert why in refused[name]


def test_an_imr_review_offers_the_imr_buttons_and_each_is_accepted(uc_core: Core, clock: FixedClock) -> None:
    # Stockport's IMR model (STK l.296): IMR dates per agency, a first draft without a learning event.
    bm = teams(uc_core, BM_TEAMS)
    imr: list[Step] = [*_LCSPR, ("commission", {"methodology": "imr"})]
    ref = _bring(uc_core, bm, clock, "child", imr)
    assert "imr_due" in _card(uc_core, ref) and "imr_received" not in _card(uc_core, ref)  # none due yet
    today = uc_core.calendar.local_date(uc_core.clock.now())
    _press(uc_core, bm, ref, "imr_due", VALUES["imr_due"](today))
    # The form offers the agencies whose IMR is due, not every agency (any other is refused).
    form = cases.form_for(uc_core, bm, ref, "imr_received")
    assert [c.value for c in form.fields[0].options] == ["police"]
    _press(uc_core, bm, ref, "imr_received", VALUES["imr_received"](today))
    assert "imr_received" not in _card(uc_core, ref)
    _press(uc_core, bm, ref, "composite", {})
    assert {"imr_due", "draft_received"} <= set(_card(uc_core, ref))
    _press(uc_core, bm, ref, "draft_received", {})
    assert _stage(uc_core, ref) == Stage.FIRST_DRAFT
    # The same stages of a learning-event review (the preset's) offer none of them.
    other = _bring(uc_core, bm, clock, "child", _COMPOSITE)
    assert not {"imr_due", "imr_received", "draft_received"} & set(_card(uc_core, other))


def test_the_triage_form_offers_only_cases_a_return_can_be_assigned_to(uc_core: Core) -> None:
    # Only a children's case sends agency requests; a SAR or a complaint has none to assign a return
    # to (inbound.assign_triage refuses), so the form's case list holds children's cases only.
    bm = teams(uc_core, BM_TEAMS)
    child = _open(uc_core, bm, "child")
    adult, complaint = _open(uc_core, bm, "sar"), _open(uc_core, bm, "complaint")
    with uc_core.transaction() as session:
        item, _ = record_inbound(session, uc_core, message_id="<m1@police.example>", raw=b"x",
                                 mailbox="inbox", from_addr="someone@police.example")
        hold_for_triage(item, "could not match a case")
        item_id = item.id or 0
    form = triage.triage_form(uc_core, bm, item_id, "triage_assign")
    assert [c.value for c in form.fields[0].options] == [child]
    with pytest.raises(Invalid, match="has no request"):
        triage.act_on_triage(uc_core, bm, item_id, "triage_assign", {"ref": adult, "agency": "police"})
    assert complaint


@pytest.mark.parametrize(("steps", "name"), [
    (_PRE_PUB, "notice_sent"), (_PRE_PUB, "practitioners_told"),
    (_PUBLISHED, "website_reviewed"), (_PUBLISHED, "actions_achieved"),
    ([*_PUBLISHED, ("embedding", {})], "website_reviewed"),
])
def test_a_clock_recorded_is_no_longer_a_button(
    uc_core: Core, clock: FixedClock, steps: list[Step], name: str,
) -> None:
    # Recording a notice or an after-publication clock meets it; pressed again it was refused
    # ("that is already recorded"), yet the card went on offering it.
    bm = teams(uc_core, BM_TEAMS)
    ref = _bring(uc_core, bm, clock, "child", steps)
    assert name in _card(uc_core, ref)
    _press(uc_core, bm, ref, name, {})
    assert name not in _card(uc_core, ref)
    with pytest.raises(Refused, match="already recorded"):
        _press(uc_core, bm, ref, name, {})
