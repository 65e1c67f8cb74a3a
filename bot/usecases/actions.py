"""The action plan's use cases (issue 12 item 4; bot.action_plan; decision 0027): who may do
what is decided here, for every door.

* The business unit (and an operator on the server) lists the plan, adds actions, records
  progress and evidence, submits, moves a date and closes an action.
* Verification is the QA group's (STK App 3 stage 4: the Quality Assurance Partnership verifies
  evidence and impact): the person the protocol names as ``[roles.qa_group]``, or, if it names
  nobody, the business manager. Being an operator is not enough: the CLI names the verifier with
  ``--actor EMAIL``.

Every refusal is audited. Results carry numbers, agencies, statuses and dates; the action's text
is in ``data`` of :func:`list_actions` only, for the business unit's own view (the CLI).
"""

from __future__ import annotations

from datetime import date

from bot import access_log, action_plan, review_drafts
from bot.actors import Actor
from bot.cases import get_case
from bot.core import Core
from bot.errors import Refused
from bot.protocol import Person
from bot.usecases.common import case_refused, require_business_unit
from bot.usecases.result import Result

STEPS = ("progress", "evidence", "submit", "verify", "return", "close", "due")
#: The QA group's steps (STK App 3 stage 4).
QA_STEPS = ("verify", "return")


def verifier(core: Core) -> tuple[Person, str]:
    """Who verifies actions, and in what capacity."""
    qa = core.protocol.roles.qa_group
    if qa is not None:
        return qa, "the QA group"
    return core.protocol.roles.business_manager, "the business manager (the protocol names no QA group)"


def _is(person: Person, actor: Actor) -> bool:
    key = actor.key.lower()
    return (bool(actor.email) and actor.email == person.email.lower()) or key == person.email.lower() or (
        bool(person.slack_user_id) and key == f"slack:{person.slack_user_id}".lower()) or (
        bool(person.teams_user_id) and key == f"teams:{person.teams_user_id}".lower())


def require_verifier(core: Core, actor: Actor, ref: str, step: str = "verify") -> None:
    person, capacity = verifier(core)
    if not _is(person, actor):
        case_refused(core, actor, f"action_{step}", ref)
        raise Refused(f"Only {capacity}, {person.name}, verifies an action or sends its evidence back (STK "
                      "App 3 stage 4). On the command line, name them with --actor EMAIL.")


def list_actions(core: Core, actor: Actor, ref: str) -> Result:
    """The plan with its counts (``data``: ``actions``, ``counts``, ``twelve_weeks_end``)."""
    person, _ = verifier(core)
    if not _is(person, actor):
        require_business_unit(core, actor, "actions", ref)
    with core.transaction() as session:
        case = get_case(session, ref)
        # The actions' text is free text about the case (process.md 8.4 item 8; issue 13 item 4).
        access_log.record(session, at=core.clock.now(), actor=actor.key, surface=actor.surface,
                          case_id=case.id, what=access_log.VIEW, detail="actions")
        found = action_plan.actions_of(session, case)
        end = action_plan.twelve_weeks_end(session, core, case)
        counts = action_plan.counts(session, core, case)
        return Result(message=f"{case.ref}: {counts['total']} action(s), {counts['open']} open", ref=case.ref,
                      data={"ref": case.ref, "counts": counts,
                            "twelve_weeks_end": core.calendar.local_date(end).isoformat() if end else None,
                            "actions": [action_plan.as_json(session, core, a) for a in found]})


def add_action(
    core: Core, actor: Actor, ref: str, *, agency: str, text: str, due: date | None = None,
    larger: bool = False, recommendation: int | None = None,
) -> Result:
    require_business_unit(core, actor, "action_add", ref)
    with core.transaction() as session:
        case = get_case(session, ref)
        action = action_plan.add(session, core, case, agency=agency, text=text, actor=actor.key, due=due,
                                 larger=larger, recommendation=recommendation)
        when = f"due {action.due_on:%d %b %Y}" if action.due_on else "due 12 weeks after publication"
        kind = "larger piece of work" if larger else "action"
        return Result(message=f"{case.ref}: {kind} {action.number} added for {agency}, {when}", ref=case.ref,
                      changed=(("case", case.id or 0),), data={"number": action.number})


def act_on(
    core: Core, actor: Actor, ref: str, number: int, step: str, *, note: str | None = None,
    reason: str | None = None, outcome: str = "not-achieved", due: date | None = None,
) -> Result:
    """One step of action ``number``: ``progress``/``evidence`` (a note), ``submit``, ``verify``,
    ``return`` (the QA group sends the evidence back, a reason), ``close`` (a reason), ``due``."""
    if step not in STEPS:
        raise Refused(f"the steps are: {', '.join(STEPS)}")
    if step in QA_STEPS:
        require_verifier(core, actor, ref, step)
    else:
        require_business_unit(core, actor, f"action_{step}", ref)
    with core.transaction() as session:
        case = get_case(session, ref)
        action = action_plan.action_of(session, case, number)
        if step in ("progress", "evidence"):
            fn = action_plan.progress if step == "progress" else action_plan.evidence
            fn(session, core, case, action, note=note or "", actor=actor.key)
        elif step == "submit":
            action_plan.submit(session, core, case, action, actor=actor.key)
        elif step == "verify":
            action_plan.verify(session, core, case, action, actor=actor.key)
        elif step == "return":
            action_plan.send_back(session, core, case, action, reason=reason or "", actor=actor.key)
        elif step == "close":
            action_plan.close(session, core, case, action, outcome=outcome, reason=reason or "",
                              actor=actor.key)
        else:
            if due is None:
                raise Refused("give the new due date")
            action_plan.move_due(session, core, case, action, due, actor=actor.key)
        said = action.status.replace("_", " ")
        if step == "due" and action.due_on:
            said += f", due {action.due_on:%d %b %Y}"
        return Result(message=f"{case.ref}: action {action.number} {said}", ref=case.ref,
                      changed=(("case", case.id or 0),),
                      data={"number": action.number, "status": action.status})


def record_not_publishing(
    core: Core, actor: Actor, ref: str, *, decided_on: date | None, reasons: str, instead: str | None,
) -> Result:
    """The partners decided not to publish the report (KIR l.316, l.320); the notice is drafted
    from it (``draft non-publication-notice``)."""
    require_business_unit(core, actor, "not_publishing", ref)
    with core.transaction() as session:
        case = get_case(session, ref)
        review_drafts.record_not_publishing(session, core, case, decided_on=decided_on, reasons=reasons,
                                            instead=instead, actor=actor.key)
        return Result(message=f"{case.ref}: the decision not to publish is recorded; draft the notice with "
                              f"'review-bot case {case.ref} draft non-publication-notice'", ref=case.ref,
                      changed=(("case", case.id or 0),))
