"""Legal hold on a case (issue 13 item 3): nothing of the case is purged while a hold stands.

A hold is set for criminal or coroner's proceedings, an embargo, a complaint or a subject access
request (process.md 8.3 "a legal hold flag for active criminal or coroner proceedings, embargoes or
complaints"; a SAR must be answered from what was held when it arrived: UK GDPR Art 15, DPA 2018
s 173 makes destroying requested data an offence). An embargoed review (the EMBARGOED stage: its
publication waits for proceedings) holds without anyone setting it, until it moves on.

Only the business manager or the Chair (or an operator on the server) sets or releases one; who and
why is audited. The note is the business manager's own words: kept on the hold, shown by the CLI,
never in the audit detail, a chat post or a log line.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, not_, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot import access_log, audit, leases
from bot.actors import OPERATOR, Actor
from bot.cases import get_case
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import Case
from bot.models_retention import LegalHold
from bot.models_sar import Complaint
from bot.stages import CLOSED_STAGES, Stage
from bot.usecases.common import case_refused
from bot.usecases.result import Result

REASONS = ("criminal", "coroner", "embargo", "complaint", "sar-request")
#: Who may set or release a hold (the brief of issue 13: the business manager or the Chair).
HOLDERS = ("business_manager", "chair")
REFUSED = "Only the business manager or the Chair can set or release a legal hold."
NOTE_LIMIT = 500


def open_holds(session: Session, case_id: int) -> list[LegalHold]:
    return list(session.exec(
        select(LegalHold).where(LegalHold.case_id == case_id, col(LegalHold.released_at).is_(None))
        .order_by(col(LegalHold.id))
    ))


def reasons_held(session: Session, case: Case) -> list[str]:
    """Why the case is held now (empty: not held). "embargo" also when the review is embargoed."""
    assert case.id is not None
    reasons = [h.reason for h in open_holds(session, case.id)]
    if case.stage == Stage.EMBARGOED:
        reasons.append("embargo")
    if session.exec(select(Complaint.case_id).where(_complaint_open(case.id))).first() is not None:
        reasons.append("complaint")
    return list(dict.fromkeys(reasons))


def _complaint_open(case_id: Any) -> Any:
    """A complaint about the case (``complaint.about_case_id``) whose own case is not closed: it
    holds the case as a hold with reason "complaint" would (process.md 8.3: "a legal hold flag for
    ... complaints"), without anyone having to set one."""
    complaint_case = aliased(Case)  # apart from any ``case`` row of the query this goes into
    return exists().where(
        col(Complaint.about_case_id) == case_id, col(Complaint.case_id) == col(complaint_case.id),
        col(complaint_case.stage).not_in([s.value for s in CLOSED_STAGES]),
    )


def not_held(case_id: Any) -> Any:
    """A WHERE clause: the case ``case_id`` (a column; NULL: no case) is under no hold."""
    open_hold = exists().where(col(LegalHold.case_id) == case_id, col(LegalHold.released_at).is_(None))
    embargoed = exists().where(col(Case.id) == case_id, col(Case.stage) == Stage.EMBARGOED.value)
    return or_(case_id.is_(None), not_(or_(open_hold, embargoed, _complaint_open(case_id))))


def may_hold(actor: Actor) -> bool:
    return bool(actor.roles & {OPERATOR, *HOLDERS})


def _authorise(core: Core, actor: Actor, action: str, ref: str) -> None:
    if not may_hold(actor):
        case_refused(core, actor, action, ref)
        raise Refused(REFUSED)


def hold(core: Core, actor: Actor, ref: str, reason: str, note: str | None = None) -> Result:
    """Set a hold on the case. A second hold with another reason stands alongside the first."""
    _authorise(core, actor, "hold", ref)
    if reason not in REASONS:
        raise Invalid({"reason": f"the reason is one of: {', '.join(REASONS)}"})
    note = (note or "").strip() or None
    if note and len(note) > NOTE_LIMIT:
        raise Invalid({"note": f"the note is at most {NOTE_LIMIT} characters"})
    with core.transaction() as session:
        case = get_case(session, ref)
        assert case.id is not None
        # The case row locked, as the purge locks it (bot.retention_purge.claim_case): a purge
        # under way finishes first, and none starts on the case until this hold is committed.
        leases.claim(session, Case, case.id, wait=True)
        if any(h.reason == reason for h in open_holds(session, case.id)):
            raise Refused(f"{case.ref} is already held ({reason})")
        now = core.clock.now()
        session.add(LegalHold(case_id=case.id, reason=reason, note=note, set_by=actor.key, set_at=now))
        audit.record(session, at=now, actor=actor.key, kind="legal_hold_set", case_id=case.id, reason=reason)
        return Result(message=f"{case.ref}: legal hold set ({reason}); nothing of it is purged until "
                              "it is released", ref=case.ref, changed=(("case", case.id),))


def release(core: Core, actor: Actor, ref: str, reason: str | None = None) -> Result:
    """Release the case's holds (only the one with ``reason``, if given)."""
    _authorise(core, actor, "release-hold", ref)
    with core.transaction() as session:
        case = get_case(session, ref)
        assert case.id is not None
        held = [h for h in open_holds(session, case.id) if reason in (None, h.reason)]
        if not held:
            raise Refused(f"{case.ref} has no legal hold" + (f" for {reason}" if reason else ""))
        now = core.clock.now()
        for h in held:
            h.released_at, h.released_by = now, actor.key
        released = [h.reason for h in held]
        audit.record(session, at=now, actor=actor.key, kind="legal_hold_released", case_id=case.id,
                     reasons=released)
        core.retention_due_at = None  # what the hold kept may be due now: the next tick looks
        still = reasons_held(session, case)
        tail = f"; still held: {', '.join(still)}" if still else ""
        return Result(message=f"{case.ref}: legal hold released ({', '.join(released)}){tail}",
                      ref=case.ref, changed=(("case", case.id),))


def view_holds(core: Core, actor: Actor, ref: str) -> Result:
    """The case's holds for a door (``view``: ``held``, ``holds``). The notes are typed text about
    the case (a trial, an inquest), so the view is logged like the case view (process.md 8.4
    item 8; bot.access_log) and stays out of chat posts (the message names the reasons only)."""
    with core.transaction() as session:
        case = get_case(session, ref)
        access_log.record(session, at=core.clock.now(), actor=actor.key, surface=actor.surface,
                          case_id=case.id, what=access_log.VIEW, detail="holds")
        held = reasons_held(session, case)
        message = f"{case.ref}: " + (f"held ({', '.join(held)})" if held else "not held")
        return Result(message=message, ref=case.ref, view={"held": held, "holds": holds_view(session, case)})


def holds_view(session: Session, case: Case) -> list[dict[str, Any]]:
    """Every hold of the case, open and released (the CLI; notes included: not for chat)."""
    rows = session.exec(select(LegalHold).where(LegalHold.case_id == case.id).order_by(col(LegalHold.id)))
    return [{"reason": h.reason, "note": h.note, "set_by": h.set_by, "set_at": h.set_at.isoformat(),
             "released_by": h.released_by,
             "released_at": h.released_at.isoformat() if h.released_at else None} for h in rows]



