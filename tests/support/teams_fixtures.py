"""The Teams door's usual fixtures: the fake Bot Connector on a fixed clock (Monday 10:00) and the
bot's Teams endpoint beside it. A test module imports both names; one that needs other roles or
its own clock declares its own ``teams`` fixture instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clock import FixedClock
from tests.conftest import MONDAY_10
from tests.support.teams_connector import TeamsConnector, TeamsHarness


@pytest.fixture
def fake() -> Iterator[TeamsConnector]:
    clock = FixedClock(MONDAY_10)
    server = TeamsConnector(now=clock.now).start()
    server.clock = clock  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture
def teams(fake: TeamsConnector, tmp_path: Path, schema_database_url: str) -> Iterator[TeamsHarness]:
    harness = TeamsHarness(fake, fake.clock, tmp_path, schema_database_url)  # type: ignore[attr-defined]
    yield harness
    harness.close()
