"""The audit trail: every state change is an event with its actor and time (process.md 8.4 item 8).

Events carry facts (stages, dates, agencies, counts), never narrative or identities, so the
Slack adapter can turn any of them into a thread reply without leaking anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.models import Event

SYSTEM = "system"


def record(
    session: Session, *, at: datetime, actor: str, kind: str, case_id: int | None = None,
    **detail: Any,
) -> Event:
    event = Event(case_id=case_id, at=at, actor=actor, kind=kind, detail=detail)
    session.add(event)
    # Adapters (the Slack card) learn what changed after the commit; see bot.core.Core.
    session.info.setdefault("events", []).append(event)
    return event


def timeline(session: Session, case_id: int) -> list[Event]:
    return list(
        session.exec(select(Event).where(Event.case_id == case_id).order_by(col(Event.at), col(Event.id)))
    )
