"""A core whose protocol names people on Slack and on Teams, and actors of every surface."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.actors import Actor, resolve_actor
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.models import Event
from bot.protocol import parse_protocol

BM_EMAIL = "bm@partnership.example"
CHAIR_TEAMS, PRESS_TEAMS, BM_TEAMS = "aad-chair", "aad-press", "aad-bm"


@pytest.fixture
def uc_core(tmp_path: Path, clock: FixedClock, schema_database_url: str) -> Iterator[Core]:
    protocol = parse_protocol({"preset": "working-together-2023", "roles": {
        "business_manager": {"name": "BM", "email": BM_EMAIL, "slack_user_id": "UBM",
                             "teams_user_id": BM_TEAMS},
        "chair": {"slack_user_id": "UCHAIR", "teams_user_id": CHAIR_TEAMS},
        "press_office": {"teams_user_id": PRESS_TEAMS},
    }}, "test")
    db = Database(schema_database_url)
    yield Core(db=db, protocol=protocol, clock=clock, attachments_dir=tmp_path / "attachments")
    db.engine.dispose()


def teams(core: Core, user_id: str) -> Actor:
    return resolve_actor(core, surface="teams", user_id=user_id)


def slack(core: Core, user_id: str, *groups: str) -> Actor:
    return resolve_actor(core, surface="slack", user_id=user_id, groups=groups)


def events(core: Core, kind: str) -> list[Event]:
    with core.transaction() as session:
        return list(session.exec(select(Event).where(Event.kind == kind).order_by(Event.id)))
