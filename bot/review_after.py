"""After publication (process.md 2.2 P2 to X3; issue 12): embedding, the recall event and the
clocks publication started (D-13 website review, D-14 actions, D-15 recall event).

One transition per function, like bot/cases.py. The action plan itself (owners, evidence, the QA
group's verification) is bot/action_plan.py's; here D-14 is met when the business unit records the
actions achieved, which waits for every action of the 12 weeks to be verified or closed.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot import action_plan, audit, review_clocks
from bot.cases import move_stage, require_stage
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import Case
from bot.stages import AFTER_PUBLICATION, Stage


def _when(core: Core, at: datetime | None) -> datetime:
    now = core.clock.now()
    if at is not None and at > now:
        raise Invalid({"at": "it cannot have happened in the future"})
    return at or now


def embedding(session: Session, core: Core, case: Case, *, actor: str) -> None:
    """P2 -> E1: the learning is being embedded; actions tracked to completion (KIR l.332-334;
    STK App 3)."""
    require_stage(case, {Stage.PUBLISHED}, "embedding follows publication (published)")
    move_stage(session, core, case, Stage.EMBEDDING, actor)


def recall_held(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """E1 -> E2: the recall event was held, 6 months after publication (D-15, SW-COMMS l.118)."""
    require_stage(case, {Stage.PUBLISHED, Stage.EMBEDDING}, "the recall event follows publication")
    at = _when(core, at)
    review_clocks.meet(session, case, "recall_event", at)
    move_stage(session, core, case, Stage.RECALL, actor, when=at.isoformat())


def _meet(session: Session, core: Core, case: Case, kind: str, event: str, *, actor: str,
          at: datetime | None) -> None:
    require_stage(case, AFTER_PUBLICATION, "this follows publication")
    at = _when(core, at)
    if review_clocks.meet(session, case, kind, at) is None:
        raise Refused(f"{case.ref}: that is already recorded")
    audit.record(session, at=core.clock.now(), actor=actor, kind=event, case_id=case.id, when=at.isoformat())


def website_reviewed(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """D-13 met: whether the report stays online was reviewed (KIR l.330; SW-COMMS l.83)."""
    _meet(session, core, case, "website_review", "website_reviewed", actor=actor, at=at)


def actions_achieved(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """D-14 met: the action plan's actions are achieved (KIR l.276). Refused while an action
    of the 12 weeks is open (the plan is in bot.action_plan); a larger piece of work runs on."""
    waiting = action_plan.unresolved(session, case, larger=False)
    if waiting:
        numbers = ", ".join(str(a.number) for a in waiting[:10]) + (", ..." if len(waiting) > 10 else "")
        raise Refused(f"{case.ref}: {len(waiting)} action(s) not yet verified or closed ({numbers}); verify "
                      f"or close them first ('review-bot case {case.ref} actions' lists them)")
    _meet(session, core, case, "actions_due", "actions_achieved", actor=actor, at=at)
