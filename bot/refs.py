"""Case and enquiry references: SI-2026-0001, ME-2026-0001. Numbers restart each year."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from bot.models import RefCounter


def next_ref(session: Session, prefix: str, year: int) -> str:
    # The year's row is created by an INSERT that does nothing if it exists, then incremented by
    # one conditional UPDATE: on PostgreSQL two instances taking the first reference of a year at
    # once both succeed (the second INSERT waits for the first and then does nothing; the UPDATE
    # takes the row lock), where "UPDATE, else INSERT" raised an integrity error (issue 10).
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(RefCounter).values(prefix=prefix, year=year, last=0)
        .on_conflict_do_nothing(index_elements=["prefix", "year"])
    )
    number = session.execute(
        update(RefCounter)
        .where(col(RefCounter.prefix) == prefix, col(RefCounter.year) == year)
        .values(last=RefCounter.last + 1)
        .returning(col(RefCounter.last))
    ).scalar_one()
    return f"{prefix}-{year}-{number:04d}"
