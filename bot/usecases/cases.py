"""The case use cases (issue 11): refer, see a case or the board, and act on a case.

Each authorises in the core (a refusal audited as ``action_refused``), runs in ONE transaction
through ``doors.once`` and returns a :class:`Result` with the case's view and the next actions
THIS actor may take. Messages carry references, stages and dates only (process.md 8.4).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from bot import access_log, vocabulary
from bot.actors import BUSINESS_UNIT, Actor
from bot.cases import Referral, get_case, open_case, referral_errors
from bot.core import Core
from bot.errors import Invalid, NotFound, Refused
from bot.models import Case
from bot.stages import LABELS, Stage
from bot.usecases import case_actions
from bot.usecases.common import (
    NO_NAMES,
    REFUSED,
    Values,
    case_refused,
    choice,
    choices,
    day,
    echo,
    missing,
    once,
)
from bot.usecases.result import Choice, FieldSpec, Form, NextAction, Notice, Result, strong
from bot.views import case_list, case_view

#: The referral form's required answers and what to say when one is empty (process.md 7.1).
REQUIRED = {
    "referring_agency": "Choose the referring agency.",
    "incident_date": "Give the date of the incident.",
    "outcome": "Choose the outcome.",
    "abuse_neglect": "Say whether abuse or neglect is known or suspected.",
    "legal_status": "Choose the child's legal status (or 'Not known').",
    "age_band": "Choose the age band.",
}
SURFACE_NAMES = {"slack": "Slack", "teams": "Teams"}


def _choices(pairs: Any) -> tuple[Choice, ...]:
    return tuple(Choice(v, label[:75]) for v, label in pairs)


def referral_form(core: Core, actor: Actor) -> Form:
    """The referral form without identifying fields (process.md 7.1): anyone may refer."""
    agencies = case_actions.agency_choices(core)
    return Form(
        action="refer", title="Serious incident", submit="Refer", warning=NO_NAMES, fields=(
            FieldSpec("referring_agency", "Referring agency", "choice", required=True, options=agencies),
            FieldSpec("incident_date", "Date of incident", "date", required=True),
            FieldSpec("la_aware_date", "Date the local authority became aware", "date"),
            FieldSpec("outcome", "Outcome", "choice", required=True, options=_choices(vocabulary.OUTCOMES)),
            FieldSpec("abuse_neglect", "Abuse or neglect known or suspected", "choice", required=True,
                      options=_choices(vocabulary.ANSWERS)),
            FieldSpec("legal_status", "Child's legal status", "choice", required=True,
                      options=_choices(vocabulary.LEGAL_STATUSES)),
            FieldSpec("age_band", "Age band", "choice", required=True,
                      options=_choices(vocabulary.AGE_BANDS)),
            FieldSpec("agencies_involved", "Agencies known to be involved", "choices", options=agencies),
            FieldSpec("parallel_processes", "Parallel processes", "choices",
                      options=_choices(vocabulary.PARALLEL)),
            FieldSpec("media_interest", "Known or likely media interest", "choice",
                      options=_choices(vocabulary.MEDIA_INTEREST)),
        ),
    )


def next_step(stage: str) -> str:
    """What a referrer is told happens next (fixed words per stage)."""
    steps: dict[str, str] = {
        Stage.REFERRAL_RECEIVED: "The business unit will screen it against the serious incident "
        "criteria and may contact you by secure email for the identifying details.",
        Stage.TRIAGE: "The business unit is screening it against the criteria.",
        Stage.SIN_PENDING: "The criteria are met; the local authority is notifying the National Panel.",
        Stage.INFO_GATHERING: "Agencies are being asked for information for the rapid review.",
        Stage.PANEL_DECISION: "The rapid review panel will decide on the next steps.",
    }
    return steps.get(stage, "The business unit will keep you informed.")


def referral_thanks(core: Core, actor: Actor, ref: str, stage: str) -> str:
    where = SURFACE_NAMES.get(actor.surface, "a chat")
    return (
        f"Thank you. Your serious incident referral is {strong(ref)}. {next_step(stage)}\n"
        f"Send the identifying details (names, dates of birth, address, what happened) by secure "
        f"email to {core.protocol.roles.business_manager.email}, quoting {ref}. Never put them in {where}."
    )


def read_referral(values: Values) -> Referral:
    return Referral(
        referring_agency=choice(values, "referring_agency"), incident_date=day(values, "incident_date"),
        la_aware_date=day(values, "la_aware_date"), outcome=choice(values, "outcome"),
        abuse_neglect=choice(values, "abuse_neglect"), legal_status=choice(values, "legal_status"),
        age_band=choice(values, "age_band"), agencies_involved=choices(values, "agencies_involved"),
        parallel_processes=choices(values, "parallel_processes"),
        media_interest=choice(values, "media_interest"),
    )


def refer(
    core: Core, actor: Actor, values: Values, *, key: str | None = None, complete: bool = True,
) -> Result:
    """R0: a referral opens a case; the referrer is thanked, the unit told. ``complete``: the
    form's answers are all required (a chat form); the CLI opens with what a call gave."""
    referral = read_referral(values)
    today = core.calendar.local_date(core.clock.now())
    errors = referral_errors(core, referral, today)
    if complete:
        errors = {**errors, **missing(referral_form(core, actor).fields, values, REQUIRED)}
    if errors:
        raise Invalid(errors)

    def run(session: Session) -> Result:
        case = open_case(session, core, referral, actor=actor.key, source=actor.surface)
        assert case.id is not None
        return Result(
            message=referral_thanks(core, actor, case.ref, case.stage), ref=case.ref,
            view=(view := case_view(session, core, case)), changed=(("case", case.id),),
            actions=next_actions(actor, case.stage, view),
            notify=(Notice(actor.key, "referral_received", case.ref),
                    Notice("business_unit", "referral_alert", case.ref)),
            data={"stage": case.stage, "case_id": case.id, "missing": list(case.missing)},
        )

    return once(core, actor, key, run)


def next_actions(actor: Actor, stage: str, view: dict[str, Any] | None = None) -> tuple[NextAction, ...]:
    """What THIS actor may do on a case at ``stage`` (nothing for someone outside the unit);
    ``view`` (the case's) leaves out what the core would refuse for what the case holds."""
    return tuple(
        NextAction(a.name, a.label, style=a.style, form=a.fields is not None, confirm=a.confirm,
                   confirm_title=a.confirm_title, confirm_button=a.confirm_button)
        for a in case_actions.offered_at(stage, view)
        if a.roles & actor.roles or actor.business_unit
    )


def card_actions(stage: str, view: dict[str, Any] | None = None) -> tuple[NextAction, ...]:
    """The buttons of a card posted in the business unit's channel (the unit's actions)."""
    unit = Actor(key="business_unit", surface="clock", roles=frozenset({BUSINESS_UNIT}))
    return next_actions(unit, stage, view)


def case_status(core: Core, actor: Actor, ref: str) -> Result:
    """Where a case is: the business unit or its referrer. Anyone else hears the same answer
    whether the case exists or not (no probing for references)."""
    with core.transaction() as session:
        try:
            case: Case | None = get_case(session, ref)
        except NotFound:
            case = None
        if case is not None and (actor.business_unit or case.referrer == actor.key):
            # Who saw the case's record (process.md 8.4 item 8), in this transaction: every door.
            access_log.record(session, at=core.clock.now(), actor=actor.key, surface=actor.surface,
                              case_id=case.id, what=access_log.VIEW)
            return Result(message=f"{case.ref}: {LABELS[Stage(case.stage)]}", ref=case.ref,
                          view=(view := case_view(session, core, case)),
                          actions=next_actions(actor, case.stage, view))
        found = case.ref if case is not None else None
    if found is not None:
        case_refused(core, actor, "status", found)
    asked = echo(ref)
    raise NotFound(f"There is no case '{asked}' among the referrals you can see.")


def case_board(core: Core, actor: Actor) -> Result:
    """The business unit: open cases. Anyone else: the referrals they raised."""
    with core.transaction() as session:
        if actor.business_unit:
            rows = case_list(session, core)
            return Result(message=f"{len(rows)} open case(s)", view={"kind": "board", "rows": rows})
        cases = session.exec(select(Case).where(Case.referrer == actor.key).order_by(col(Case.id)))
        own = [{"ref": c.ref, "stage": c.stage, "stage_label": LABELS[Stage(c.stage)],
                "next_step": next_step(c.stage)} for c in cases]
    return Result(message=f"{len(own)} referral(s) you raised", view={"kind": "own", "rows": own})


def _authorised(core: Core, actor: Actor, ref: str | None, name: str) -> case_actions.CaseAction:
    found = case_actions.action(name)
    if not (found.roles & actor.roles or actor.business_unit):
        case_refused(core, actor, name, ref)
        raise Refused(REFUSED)
    return found


def form_for(core: Core, actor: Actor, ref: str, action: str) -> Form:
    """The form an action needs; a refusal (role, stage, nothing to ask) changes nothing."""
    found = _authorised(core, actor, ref, action)
    if found.fields is None:
        raise Invalid({"action": f"{found.label} needs no form"})
    with core.transaction() as session:
        case = get_case(session, ref)
        fields = found.fields(core, session, case)
        ref = case.ref
    return Form(
        action=found.form_action or found.name, title=found.title.format(ref=ref), submit=found.submit,
        fields=fields, ref=ref, context=dict(found.context),
        intro=found.intro.format(ref=ref) if found.intro else None,
    )


def act(
    core: Core, actor: Actor, ref: str, action: str, values: Values | None = None, *,
    key: str | None = None, context: dict[str, str] | None = None,
) -> Result:
    """Take ``action`` on case ``ref`` with the form's ``values``: one service, one transaction."""
    found = _authorised(core, actor, ref, action)

    def run(session: Session) -> Result:
        case = get_case(session, ref)
        said = found.run(session, core, case, actor.key, dict(values or {}), dict(context or {}))
        assert case.id is not None
        return Result(
            message=said or f"{case.ref}: now {LABELS[Stage(case.stage)]}", ref=case.ref,
            view=(view := case_view(session, core, case)), actions=next_actions(actor, case.stage, view),
            changed=(("case", case.id),), data={"stage": case.stage, "case_id": case.id},
        )

    return once(core, actor, key, run)


def press(core: Core, actor: Actor, ref: str, action: str, *, key: str | None = None) -> Form | Result:
    """A button pressed on a card: the form the action needs, or the action done (after the
    door's confirmation, for actions without a form)."""
    if case_actions.action(action).fields is not None:
        return form_for(core, actor, ref, action)
    return act(core, actor, ref, action, key=key)
