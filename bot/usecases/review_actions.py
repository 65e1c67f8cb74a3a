"""The local review's rows of the case actions table (issue 12; bot/usecases/case_actions.py):
commissioning to the final report, the notices before publication, and what follows it.

Each row is one transition of bot/review.py, bot/publication.py or bot/review_after.py; the card
offers it at the stages below (Slack and Teams render the same rows) and the CLI reaches it as
``review-bot case REF <command>`` (bot/cli_review.py).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot import deadlines, publication, review, review_after, review_clocks
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import Case
from bot.models_review import LocalReview
from bot.protocol import METHODOLOGIES
from bot.stages import AFTER_PUBLICATION, Stage
from bot.usecases.action_table import CaseAction, agency_choices, clock_running, fixed, methodology_of
from bot.usecases.common import Values, choice, day, moment, text
from bot.usecases.result import Choice, FieldSpec

METHODOLOGY_LABELS = {
    "learning-event": "Learning event (Kirklees: fixed timers)",
    "imr": "Individual management reviews (Stockport: IMR due dates)",
    "other": "Other (action learning, peer, thematic, single agency, desktop)",
}
assert set(METHODOLOGY_LABELS) == set(METHODOLOGIES)


def notice_due(session: Session, case: Case) -> str:
    found = review_clocks.running(session, case, "prepublication_notice")
    return f"{found.due_at:%d %b %Y}" if found else "(none)"


def _commission_fields(core: Core, session: Session, case: Case) -> tuple[FieldSpec, ...]:
    # Read, not created: showing the form changes nothing.
    found = session.get(LocalReview, case.id) or LocalReview(case_id=case.id or 0,
                                                             methodology=core.protocol.review.methodology)
    return (
        FieldSpec("reviewer_name", "Reviewer's name", "text", required=True, max_length=200,
                  initial=found.reviewer_name),
        FieldSpec("reviewer_email", "Reviewer's work email", "text", required=True, max_length=254,
                  initial=found.reviewer_email, hint="Reminders and chasers for the drafts go here."),
        FieldSpec("methodology", "Methodology", "choice", required=True, initial=found.methodology,
                  options=tuple(Choice(v, label) for v, label in METHODOLOGY_LABELS.items())),
        FieldSpec("tor_agreed_on", "Terms of reference agreed on", "date", initial=found.tor_agreed_on),
        FieldSpec("target", "Target date (methodologies without fixed timers)", "date",
                  initial=found.target_date),
    )


def _commission(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
    review.commission(s, core, case, reviewer_name=text(v, "reviewer_name"),
                      reviewer_email=text(v, "reviewer_email"), methodology=choice(v, "methodology"),
                      tor_agreed_on=day(v, "tor_agreed_on"), target=day(v, "target"), actor=actor)
    return f"{case.ref}: reviewer recorded; methodology {review.review_of(s, core, case).methodology}"


def _imr_due_fields(core: Core, session: Session, case: Case) -> tuple[FieldSpec, ...]:
    return (FieldSpec("agency", "Agency", "choice", required=True, options=agency_choices(core)),
            FieldSpec("due", "IMR due by", "date", required=True))


def _imr_due(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> None:
    due = day(v, "due")
    if due is None:
        raise Invalid({"due": "Give the date the IMR is due."})
    review.imr_due(s, core, case, choice(v, "agency") or "", due, actor=actor)


def _imr_received_fields(core: Core, session: Session, case: Case) -> tuple[FieldSpec, ...]:
    """The agencies whose IMR is due (review.imr_received refuses any other)."""
    due = {d.owner.removeprefix("agency:") for d in deadlines.open_deadlines(session, case)
           if d.kind == "imr_due" and d.owner}
    if not due:
        raise Refused(f"{case.ref} has no IMR due; set an IMR due date first")
    return (FieldSpec("agency", "Agency", "choice", required=True,
                      options=tuple(c for c in agency_choices(core) if c.value in due)),)


def _target(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> None:
    target = day(v, "target")
    if target is None:
        raise Invalid({"target": "Give the target date."})
    review.set_target(s, core, case, target, actor=actor)


def _imr_only(stage: str, view: dict[str, Any] | None) -> bool:
    """The IMR model's buttons (STK l.296): review.imr_due refuses any other methodology (None:
    the caller did not say, as the stage-only listing)."""
    return methodology_of(view) in (None, "imr")


def _draft_offered(stage: str, view: dict[str, Any] | None) -> bool:
    """A learning-event review's first draft follows the learning event (review.draft_received)."""
    return stage != Stage.COMPOSITE_CHRONOLOGY or methodology_of(view) != review.TIMED


def _milestone(name: str, label: str, stages: set[Stage], fn: object, confirm: str,
               style: str | None = None, offered_if: Any = None) -> CaseAction:
    """A button recording that something happened now (the CLI may give --at)."""
    def run(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> None:
        fn(s, core, case, actor=actor, at=moment(v, "at"))  # type: ignore[operator]
    return CaseAction(name, label, run=run, stages=frozenset(stages), style=style, confirm=confirm,
                      confirm_title=f"{label}?", confirm_button="Record", offered_if=offered_if)


#: Commissioning to the final report (process.md L1 to L3), in the card's order.
REVIEW_WORK_ACTIONS: tuple[CaseAction, ...] = (
    CaseAction(
        "commission", "Commission reviewer", stages=frozenset({Stage.LCSPR}), fields=_commission_fields,
        title="Commission {ref}", submit="Record", run=_commission,
        intro="Record the terms of reference and the reviewer of {ref}. The reviewer's email is kept "
              "in the case record and never posted in a chat.",
    ),
    CaseAction(
        "composite", "Composite chronology ready", stages=frozenset({Stage.LCSPR}), style="primary",
        confirm="Record that the composite chronology of {ref} is complete and with the reviewer; the "
                "learning event is planned (D-07).",
        confirm_title="Composite chronology ready?", confirm_button="Record",
        run=lambda s, core, case, actor, v, ctx: review.composite_ready(s, core, case, actor=actor),
    ),
    CaseAction(
        "imr_due", "Set IMR due date", stages=frozenset({Stage.LCSPR, Stage.COMPOSITE_CHRONOLOGY}),
        fields=_imr_due_fields, title="IMR due {ref}", submit="Set", run=_imr_due, offered_if=_imr_only,
        intro="The IMR model (STK l.296): the agency is reminded and chased for its IMR.",
    ),
    CaseAction(
        "imr_received", "IMR received", stages=frozenset({Stage.LCSPR, Stage.COMPOSITE_CHRONOLOGY}),
        fields=_imr_received_fields, title="IMR received {ref}", submit="Record",
        offered_if=lambda stage, view: _imr_only(stage, view) and clock_running("imr_due")(stage, view),
        run=lambda s, core, case, actor, v, ctx: review.imr_received(
            s, core, case, choice(v, "agency") or "", actor=actor, at=moment(v, "at")),
    ),
    _milestone("learning_event", "Learning event held", {Stage.COMPOSITE_CHRONOLOGY, Stage.LEARNING_EVENT},
               review.learning_event_held,
               "Record a practitioner learning event for {ref} held now. The first draft is due 28 days "
               "after the last one (D-08)."),
    _milestone("draft_received", "First draft received", {Stage.COMPOSITE_CHRONOLOGY, Stage.LEARNING_EVENT},
               review.draft_received,
               "Record the reviewer's first draft of {ref} received now; the workstream meets on it "
               "(D-09a).", style="primary", offered_if=_draft_offered),
    _milestone("workstream_met", "Workstream met", {Stage.FIRST_DRAFT}, review.workstream_met,
               "Record the workstream's meeting on {ref} now; its minutes are due in 48 hours (D-09b)."),
    _milestone("minutes_sent", "Minutes sent", {Stage.WORKSTREAM}, review.minutes_sent,
               "Record the minutes and amendments of {ref} sent to the reviewer now (D-09c starts)."),
    _milestone("to_business_group", "To business group", {Stage.WORKSTREAM}, review.to_business_group,
               "Record the amended review of {ref} issued to the business group now (D-09d: 14 days).",
               style="primary"),
    _milestone("business_group_approved", "Business group approved", {Stage.BUSINESS_GROUP},
               review.business_group_approved,
               "Record the business group's approval of {ref}; the partnership endorses it next.",
               style="primary"),
    _milestone("endorsed", "Partnership endorsed", {Stage.ENDORSEMENT}, review.endorsed,
               "Record the partnership's endorsement of {ref}: the final report is approved.",
               style="primary"),
)

#: Before publication (process.md P1: D-11, D-12).
NOTICE_ACTIONS: tuple[CaseAction, ...] = (
    _milestone("notice_sent", "Notice sent", {Stage.PRE_PUBLICATION}, publication.notice_sent,
               "Record that the full report of {ref} went to the National Panel, the Secretary of State "
               "and Ofsted now (D-11).", offered_if=clock_running("prepublication_notice")),
    _milestone("practitioners_told", "Practitioners told", {Stage.PRE_PUBLICATION},
               publication.practitioners_told,
               "Record that the practitioners were told the publication date of {ref} and a person sent "
               "the family letter (D-12).", offered_if=clock_running("practitioner_notice")),
)

#: After publication (process.md P2 to E2: D-13 to D-15).
AFTER_ACTIONS: tuple[CaseAction, ...] = (
    CaseAction(
        "embedding", "Embedding", stages=frozenset({Stage.PUBLISHED}),
        confirm="Record that the learning from {ref} is being embedded and its actions tracked.",
        confirm_title="Embedding?", confirm_button="Record",
        run=lambda s, core, case, actor, v, ctx: review_after.embedding(s, core, case, actor=actor),
    ),
    _milestone("website_reviewed", "Website reviewed", set(AFTER_PUBLICATION), review_after.website_reviewed,
               "Record that whether {ref} stays on the website was reviewed (D-13).",
               offered_if=clock_running("website_review")),
    _milestone("actions_achieved", "Actions achieved", set(AFTER_PUBLICATION), review_after.actions_achieved,
               "Record that the actions of {ref} are achieved (D-14).",
               offered_if=clock_running("actions_due")),
    _milestone("recall_held", "Recall event held", {Stage.PUBLISHED, Stage.EMBEDDING},
               review_after.recall_held,
               "Record the recall event of {ref} held now (D-15)."),
)

#: Reached by the CLI and by forms, never a button of their own.
HIDDEN_ACTIONS: tuple[CaseAction, ...] = (
    CaseAction("target", "Target date", run=_target,
               fields=fixed(FieldSpec("target", "Target date", "date", required=True)), title="Target {ref}"),
)
