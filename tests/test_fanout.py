"""Who is told is decided in the core (bot/fanout.py), the same for every chat surface, and the
core tells every notifier after a commit: one that fails stops neither the others nor the commit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot import fanout, media
from bot.cases import get_case
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.media import EnquiryInput
from bot.models import Event, MediaEnquiry
from bot.protocol import parse_protocol
from tests.conftest import RecordingNotifier, new_case

BM = {"name": "Business Manager", "email": "bm@partnership.example", "slack_user_id": "UBM"}


def protocol(**roles: Any) -> Any:
    return parse_protocol({"preset": "working-together-2023", "roles": {
        "business_manager": BM, "chair": {"slack_user_id": "UCHAIR"}, **roles,
    }}, "test")


@pytest.fixture
def db(schema_database_url: str) -> Iterator[Database]:
    database = Database(schema_database_url)
    yield database
    database.engine.dispose()


def enquiry_in(core: Core, subject: str = "partnership") -> MediaEnquiry:
    with core.transaction() as s:
        return media.receive_enquiry(s, core, EnquiryInput(outlet="Local Radio", subject=subject),
                                     actor="cli:press", source="cli")


def test_a_media_enquiry_tells_the_spokesperson_the_press_office_and_the_business_manager(
    db: Database, clock: FixedClock,
) -> None:
    core = Core(db=db, protocol=protocol(press_office={"slack_user_id": "UPRESS"}), clock=clock)
    told = fanout.media_audience(core, enquiry_in(core))
    assert [(r.role, r.email, r.slack_user_id, r.told_as) for r in told] == [
        ("chair", "chair@partnership.example", "UCHAIR", "the spokesperson (Chair)"),
        ("press_office", "press.office@borough.example", "UPRESS", "the press office"),
        ("business_manager", "bm@partnership.example", "UBM", "the business manager"),
    ]
    assert [r.user_id("slack") for r in told] == ["UCHAIR", "UPRESS", "UBM"]
    assert [r.user_id("teams") for r in told] == [None, None, None]  # no Teams ids in this protocol
    assert [r.told_as for r in fanout.unacknowledged_audience(core, enquiry_in(core))] == [
        "the business manager"]


def test_someone_holding_two_roles_is_told_once_with_both_reasons(db: Database, clock: FixedClock) -> None:
    # A small partnership: the business manager is also the press contact.
    core = Core(db=db, protocol=protocol(press_office=BM), clock=clock)
    told = fanout.media_audience(core, enquiry_in(core))
    assert [(r.email, r.reasons) for r in told] == [
        ("chair@partnership.example", ("the spokesperson (Chair)",)),
        ("bm@partnership.example", ("the press office", "the business manager")),
    ]


def test_the_referrer_is_acknowledged_wherever_they_referred_from(db: Database, clock: FixedClock) -> None:
    core = Core(db=db, protocol=protocol(), clock=clock)
    new_case(core)
    with core.db.session() as s:
        case = get_case(s, "SI-2026-0001")

    def told(referrer: str) -> list[tuple[str | None, str | None, str]]:
        case.referrer = referrer
        return [(r.email, r.slack_user_id, r.told_as) for r in fanout.case_audience(core, case)]

    assert told("slack:UPRACT") == [(None, "UPRACT", "the referrer")]
    assert told("slack:UBM") == [("bm@partnership.example", "UBM", "the referrer")]  # a known person
    assert told("duty@borough.example") == [("duty@borough.example", None, "the referrer")]
    assert told("BM@partnership.example") == [("bm@partnership.example", "UBM", "the referrer")]
    assert told("cli:bm") == [] and told("clock") == []
    teams = fanout.referrer(core, "teams:0f1e2d3c")
    assert teams is not None and teams.user_id("teams") == "0f1e2d3c" and teams.user_id("slack") is None
    assert fanout.case_audience(core, case, "stage_changed") == []
    assert [r.email for r in fanout.business_unit(core)] == [
        "bm@partnership.example", "review.coordinator@partnership.example"]


class Failing:
    surface = "broken"

    def committed(self, case_ids: set[int], events: list[Event]) -> None:
        raise RuntimeError("surface down")


def test_a_failing_notifier_stops_neither_the_others_nor_the_commit(
    core: Core, caplog: pytest.LogCaptureFixture,
) -> None:
    recording = RecordingNotifier()
    core.notifiers = [Failing(), recording]
    caplog.set_level(logging.ERROR)
    ref = new_case(core)
    with core.db.session() as s:
        case_id = get_case(s, ref).id
    assert recording.calls and recording.calls[0][0] == {case_id}  # the second was told
    [line] = [r for r in caplog.records if r.name == "bot.core"]
    assert "broken notifier failed" in line.getMessage() and "case_opened" in line.getMessage()
    assert core.notifier_for("test") is recording and core.notifier_for("teams") is None
