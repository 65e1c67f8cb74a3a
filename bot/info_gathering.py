"""RR1 -> RR2: information gathering is complete when every one of its requests is returned or
closed, and the case moves to the panel decision (process.md 7.3; Working Together 2023, ch. 5).

Checked when a return or a withdrawal is recorded, under a lock on the case row (PostgreSQL), so
that the last two returns recorded at once still move the case on; a batch of inbound mail checks
every case it touched once, at its end (bot/inbound_batch.py, decision 0024).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import bindparam, inspect
from sqlmodel import Session, col, select

from bot import audit
from bot.core import Core
from bot.leases import is_sqlite
from bot.models import AgencyRequest, Case
from bot.stages import Stage

_LOCK_CASES = (
    select(Case.id, Case.stage).where(col(Case.id).in_(bindparam("case_ids", expanding=True)))
    .order_by(col(Case.id)).with_for_update()
)
_INFO_GATHERING_STATUSES = select(AgencyRequest.case_id, AgencyRequest.id, AgencyRequest.status).where(
    col(AgencyRequest.case_id).in_(bindparam("case_ids", expanding=True)),
    AgencyRequest.kind == "info-gathering",
)
#: ``session.info`` key: while :func:`advance_at_the_end` runs, the cases whose information
#: gathering a return (or withdrawal) may have completed, with the actor who recorded it last.
_CHECK_AT_THE_END = "agency_requests.check_at_the_end"


def advance_if_all_in(session: Session, core: Core, case: Case, actor: str) -> None:
    """RR1 -> RR2 when every information gathering request is returned or closed."""
    later: dict[int, tuple[Case, str]] | None = session.info.get(_CHECK_AT_THE_END)
    if later is not None and case.id is not None:
        later[case.id] = (case, actor)
        return
    _advance_where_all_in(session, core, {case.id: (case, actor)} if case.id is not None else {})


@contextmanager
def advance_at_the_end(session: Session, core: Core) -> Iterator[None]:
    """Returns recorded in this block leave the RR1 -> RR2 check to its end, where every case they
    touched is checked at once: one statement locks them all, one reads their statuses (a batch of
    inbound mail, bot/inbound_batch.py). Nothing is checked if the block raises."""
    later: dict[int, tuple[Case, str]] = {}
    session.info[_CHECK_AT_THE_END] = later
    try:
        yield
    finally:
        del session.info[_CHECK_AT_THE_END]
    _advance_where_all_in(session, core, later)


def _advance_where_all_in(session: Session, core: Core, cases: dict[int, tuple[Case, str]]) -> None:
    waiting = {case_id: held for case_id, held in cases.items() if held[0].stage == Stage.INFO_GATHERING}
    if not waiting:
        return
    # The last two returns recorded at once (mail on one instance, a button on another) must not
    # each see the other as outstanding: lock the case rows (PostgreSQL; SQLite has one writer), in
    # id order, so the second waits for the first's commit and then reads its status. The stage
    # comes back from the locked (newest) row: a case another transaction moved on meanwhile is
    # not moved (and audited) again. The case objects keep their unflushed changes.
    if not is_sqlite(session):  # SQLite: one writer; a stale reader cannot commit (busy snapshot)
        rows = session.connection().execute(_LOCK_CASES, {"case_ids": sorted(waiting)}).all()
        locked: dict[int, str] = dict(rows)
        waiting = {
            case_id: held for case_id, held in waiting.items()
            if locked.get(case_id) == Stage.INFO_GATHERING or inspect(held[0]).attrs.stage.history.added
        }
        if not waiting:
            return
    # Statuses only, not whole rows, read after the lock (statuses read with the request, before
    # it, could predate the other return's commit); a request this session holds counts as it is
    # in memory (the intake routes without autoflush, so the return being recorded is not written).
    statuses: dict[int, list[str]] = {}
    identity = session.identity_map
    for case_id, row_id, status in session.exec(_INFO_GATHERING_STATUSES, params={"case_ids": list(waiting)}):
        held_request = identity.get(session.identity_key(AgencyRequest, row_id))
        statuses.setdefault(case_id, []).append(held_request.status if held_request is not None else status)
    now = core.clock.now()
    for case_id, (case, actor) in waiting.items():
        found = statuses.get(case_id, [])
        if found and all(status != "sent" for status in found):
            case.stage = Stage.PANEL_DECISION
            case.updated_at = now
            audit.record(
                session, at=now, actor=actor, kind="stage_changed", case_id=case.id,
                **{"from": Stage.INFO_GATHERING.value, "to": Stage.PANEL_DECISION.value},
                because="all information gathering returns are in",
            )
