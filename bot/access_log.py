"""Who saw or exported a case's identifying data, when, through which door (issue 13 item 4;
process.md 8.4 item 8: for subject access requests and FOI work).

Recorded by the core function that hands the data out (the case view, a draft, a chronology
export), in the transaction it already runs in: no commit of its own. A row names the case, the
actor, the surface and what kind of thing they saw (a view, an export's format, a draft's kind),
never the content.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.models import Case
from bot.models_retention import AccessLog

VIEW = "view"
CHRONOLOGY_EXPORT = "chronology-export"
DRAFT = "draft"
WHAT = (VIEW, CHRONOLOGY_EXPORT, DRAFT)
#: The longest answer `review-bot access-log` gives at once (bounded work).
LIMIT = 5000


def record(
    session: Session, *, at: datetime, actor: str, surface: str, case_id: int | None, what: str,
    detail: str | None = None,
) -> None:
    """Add the row to the caller's transaction (it commits with whatever the caller does)."""
    if what not in WHAT:
        raise ValueError(f"unknown kind of access: {what!r}")
    if case_id is None:
        return
    session.add(AccessLog(at=at, actor=actor, surface=surface, case_id=case_id, what=what, detail=detail))


def entries(
    session: Session, *, case_id: int | None = None, since: datetime | None = None, limit: int = LIMIT,
) -> list[dict[str, Any]]:
    """The log, oldest first, with each case's reference."""
    stmt = select(AccessLog, Case.ref).join(Case, col(Case.id) == col(AccessLog.case_id))
    if case_id is not None:
        stmt = stmt.where(AccessLog.case_id == case_id)
    if since is not None:
        stmt = stmt.where(col(AccessLog.at) >= since)
    stmt = stmt.order_by(col(AccessLog.at), col(AccessLog.id)).limit(limit)
    return [
        {"at": row.at.isoformat(), "case": ref, "actor": row.actor, "surface": row.surface,
         "what": row.what, "detail": row.detail}
        for row, ref in session.exec(stmt)
    ]
