"""Migration 0005 on both databases: cases already in a local review keep their stage and their
clocks, get a review row on first use and go on through the new stages; the downgrade moves the
new stages back to ones the older code knows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, insert, inspect, select, text

from bot import review
from bot.cases import get_case
from bot.core import Core
from bot.db import Database
from bot.models import Case, Deadline
from bot.models_review import LocalReview
from bot.schema import alembic_config, migration_engine, upgrade
from bot.stages import Stage

T = datetime(2026, 11, 2, 10, tzinfo=UTC)


def _case(ref: str, stage: str) -> dict[str, object]:
    return {"ref": ref, "stage": stage, "created_at": T, "updated_at": T, "source": "cli",
            "referrer": "cli:bm", "terms": {"durations": {"chronology_return": "14 days"}},
            "agencies_involved": [], "parallel_processes": [], "missing": []}


def test_cases_in_a_local_review_carry_on_after_the_upgrade(database_url: str, core: Core) -> None:
    upgrade(database_url, "0004")
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(insert(Case.__table__).values(**_case("SI-2026-0001", "lcspr")))  # type: ignore[attr-defined]
        conn.execute(insert(Case.__table__).values(**_case("SI-2026-0002", "published")))  # type: ignore[attr-defined]
        case_id = conn.execute(text("SELECT id FROM \"case\" WHERE ref = 'SI-2026-0001'")).scalar_one()
        conn.execute(text("INSERT INTO deadline (case_id, kind, anchor_at, due_at, step) "
                          "VALUES (:c, 'lcspr_publication', :a, :d, 0)"), {"c": case_id, "a": T, "d": T})
    engine.dispose()
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stages = dict(conn.execute(text('SELECT ref, stage FROM "case" ORDER BY id')).all())
        owners = conn.execute(select(Deadline.__table__.c.owner)).scalars().all()  # type: ignore[attr-defined]
        assert "localreview" in inspect(conn).get_table_names()
    engine.dispose()
    assert stages == {"SI-2026-0001": "lcspr", "SI-2026-0002": "published"}
    assert owners == [None]  # the clock keeps the plan it always had

    db = Database(database_url)
    migrated = dataclasses.replace(core, db=db)
    try:
        with migrated.transaction() as s:
            case = get_case(s, "SI-2026-0001")
            review.commission(s, migrated, case, reviewer_name="Lead Reviewer",
                              reviewer_email="reviewer@reviews.example", actor="cli:bm")
            review.composite_ready(s, migrated, case, actor="cli:bm")
            assert case.stage == Stage.COMPOSITE_CHRONOLOGY
            # The durations the case never froze are taken from the protocol now, and kept.
            assert case.terms["durations"]["first_draft"] == "28 days"
            assert case.terms["durations"]["chronology_return"] == "14 days"
        with migrated.db.session() as s:
            assert s.get(LocalReview, case.id).methodology == "learning-event"  # type: ignore[union-attr]
    finally:
        db.engine.dispose()


def test_the_downgrade_moves_new_stages_to_ones_the_older_code_knows(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        for ref, stage in (("SI-2026-0001", "workstream"), ("SI-2026-0002", "recall"),
                           ("SI-2026-0003", "embargoed")):
            conn.execute(insert(Case.__table__).values(**_case(ref, stage)))  # type: ignore[attr-defined]
    engine.dispose()
    engine = migration_engine(database_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0004")
        with engine.connect() as conn:
            stages = dict(conn.execute(text('SELECT ref, stage FROM "case" ORDER BY id')).all())
            assert "localreview" not in inspect(conn).get_table_names()
    finally:
        engine.dispose()
    assert stages == {"SI-2026-0001": "lcspr", "SI-2026-0002": "published", "SI-2026-0003": "embargoed"}
