"""Case and enquiry references: SI-2026-0001, ME-2026-0001. Numbers restart each year."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session

from bot.models import RefCounter


def next_ref(session: Session, prefix: str, year: int) -> str:
    # One conditional UPDATE makes the increment atomic for concurrent writers on both SQLite
    # (one writer at a time) and PostgreSQL (row lock); the row is created on first use.
    result = session.execute(
        update(RefCounter)
        .where(RefCounter.prefix == prefix, RefCounter.year == year)
        .values(last=RefCounter.last + 1)
        .returning(RefCounter.last)
    )
    number = result.scalar_one_or_none()
    if number is None:
        session.add(RefCounter(prefix=prefix, year=year, last=1))
        session.flush()
        number = 1
    return f"{prefix}-{year}-{number:04d}"
