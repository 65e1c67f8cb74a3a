"""Several instances on one PostgreSQL (issue 10; decision 0013): every step and outbox row is taken
by exactly one instance, a step re-checks its reason under its claim, outbox claims carry an owner
and a lease, and the first case reference of a year can be taken by two instances at once.

Real PostgreSQL (tests/support/postgres.py), real Maildir; "instances" are separate engines
(separate connection pools) in threads, released together by barriers.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot import agency_requests as ar
from bot import leases, media
from bot.chasers import chase_overdue, take_step
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.mail.maildir import MaildirGateway
from bot.models import AgencyRequest
from bot.outbox import deliver
from bot.protocol import load_protocol
from bot.refs import next_ref
from schedules.sweep import MAILBOX_LEASE, LeasedMailbox, tick
from tests.pg.conftest import (
    CHASE_AT,
    PRESS,
    deadline_of,
    events,
    instance,
    requests_to_police,
    run_together,
    sent_message_ids,
    sent_subjects,
)
from tests.support.eml.build import load
from tests.support.postgres import PostgresServer

# --- a step re-checks its reason under its claim ------------------------------------------------


def test_a_return_recorded_while_a_chase_step_is_in_progress_sends_no_chase(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    (request_id,) = requests_to_police(core, 1)
    deliver(core, maildir)
    clock.set(CHASE_AT)
    deadline_id = deadline_of(core, request_id).id
    assert deadline_id is not None
    step_taken, return_started = threading.Event(), threading.Event()

    def step() -> bool:
        with core.transaction() as s:
            taken = take_step(s, core, deadline_id)
            step_taken.set()
            return_started.wait(10)
            time.sleep(0.3)  # the return is now waiting for our claim
            return taken

    def record() -> None:
        step_taken.wait(10)
        with core.transaction() as s:
            request = s.get(AgencyRequest, request_id)
            assert request is not None
            return_started.set()
            ar.record_return(s, core, request, actor="reviews@police.example", via="email")

    assert run_together(step, record)[0] is True  # the chase step was in progress...
    report = deliver(core, maildir)
    assert (report.sent, report.cancelled) == (0, 1)  # ...but no chase goes out
    assert not [s for s in sent_subjects(maildir) if "Overdue" in s]
    deadline = deadline_of(core, request_id)
    assert deadline.met_at == CHASE_AT and deadline.next_action_at is None  # met stays met
    clock.advance(timedelta(days=1))
    assert chase_overdue(core).steps == 0  # and no escalation follows


def test_a_chase_step_taken_while_a_return_is_being_recorded_is_skipped(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    (request_id,) = requests_to_police(core, 1)
    deliver(core, maildir)
    clock.set(CHASE_AT)
    held, release = threading.Event(), threading.Event()

    def record() -> None:
        with core.transaction() as s:
            request = s.get(AgencyRequest, request_id)
            assert request is not None
            ar.record_return(s, core, request, actor="reviews@police.example", via="email")
            s.flush()  # written, not yet committed: the rows are locked
            held.set()
            release.wait(10)

    thread = threading.Thread(target=record)
    thread.start()
    assert held.wait(10)
    assert chase_overdue(core).steps == 0  # the request is claimed by the return: skipped
    release.set()
    thread.join(10)
    assert chase_overdue(core).steps == 0  # and once committed, nothing is due
    assert deliver(core, maildir).sent == 0
    assert events(core, "chase_sent") == []


# --- two instances at once -----------------------------------------------------------------------


def test_two_ticks_at_once_take_each_step_once(
    url: str, clock: FixedClock, tmp_path: Path, core: Core, maildir: MaildirGateway
) -> None:
    requests_to_police(core, 30)
    deliver(core, maildir)
    before = set(sent_message_ids(maildir))
    clock.set(CHASE_AT)
    one, two = instance(url, clock, tmp_path), instance(url, clock, tmp_path)
    try:
        a, b = run_together(lambda: chase_overdue(one).steps, lambda: chase_overdue(two).steps)
        assert a + b == 30  # type: ignore[operator]
        assert len(events(core, "chase_sent")) == 30  # one audit event per step
        ra, rb = run_together(lambda: deliver(one, maildir, owner="one"),
                              lambda: deliver(two, maildir, owner="two"))
        assert ra.sent + rb.sent == 30  # type: ignore[attr-defined]
    finally:
        one.db.engine.dispose()
        two.db.engine.dispose()
    new = [m for m in sent_message_ids(maildir) if m not in before]
    assert len(new) == len(set(new)) == 30


# --- the first reference of a year ---------------------------------------------------------------


def test_two_instances_taking_the_first_reference_of_a_year_both_succeed(
    url: str, clock: FixedClock, tmp_path: Path
) -> None:
    cores = [instance(url, clock, tmp_path) for _ in range(2)]
    first_done = threading.Event()

    def first() -> str:
        with cores[0].db.transaction() as s:
            ref = next_ref(s, "SI", 2027)
            first_done.set()
            time.sleep(0.3)  # the second is now waiting on our uncommitted row
            return ref

    def second() -> str:
        first_done.wait(10)
        with cores[1].db.transaction() as s:
            return next_ref(s, "SI", 2027)

    try:
        assert run_together(first, second) == ["SI-2027-0001", "SI-2027-0002"]
        many = run_together(*[lambda c=c: _ref(c) for c in cores * 4])
        assert sorted(many) == [f"SI-2028-{n:04d}" for n in range(1, 9)]  # type: ignore[type-var]
    finally:
        for c in cores:
            c.db.engine.dispose()


def _ref(core: Core) -> str:
    with core.db.transaction() as s:
        return next_ref(s, "SI", 2028)


# --- the mailbox lease ---------------------------------------------------------------------------


def test_the_mailbox_is_read_by_the_lease_holder_and_taken_over_when_it_lapses(
    core: Core, clock: FixedClock, maildir: MaildirGateway, tmp_path: Path
) -> None:
    with core.db.transaction() as s:
        assert leases.acquire(s, MAILBOX_LEASE, "host-a:1:x", clock.now(), timedelta(seconds=60))
    new = tmp_path / "mail" / "inbox" / "new"
    new.mkdir(parents=True, exist_ok=True)
    (new / "1.referral").write_bytes(load("referral"))
    report = tick(core, maildir, lease_for=timedelta(seconds=60))
    assert report.mailbox_elsewhere == "host-a:1:x" and report.received == []
    clock.advance(timedelta(seconds=61))  # host-a stopped renewing: within one tick it is ours
    report = tick(core, maildir, lease_for=timedelta(seconds=60))
    assert report.mailbox_elsewhere is None and len(report.received) == 1
    with core.db.session() as s:
        assert leases.holder_of(s, MAILBOX_LEASE, clock.now()) == leases.instance_id()
        assert not leases.acquire(s, MAILBOX_LEASE, "host-a:1:x", clock.now(), timedelta(seconds=60))


def test_a_one_shot_tick_releases_the_mailbox_lease(core: Core, maildir: MaildirGateway) -> None:
    tick(core, maildir)
    with core.db.session() as s:
        assert leases.holder_of(s, MAILBOX_LEASE, core.clock.now()) is None


# --- database errors -----------------------------------------------------------------------------


def test_tick_reports_database_errors_in_one_line_per_phase(
    pg: PostgresServer, clock: FixedClock, tmp_path: Path, maildir: MaildirGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = pg.url("no_such_database")
    core = Core(db=Database(down), protocol=load_protocol(None), clock=clock,
                attachments_dir=tmp_path / "attachments")
    with caplog.at_level(logging.ERROR):
        report = tick(core, maildir)
    assert [line.split(":")[0] for line in report.database_errors] == [
        "mailbox", "chronology returns", "deadline steps", "delivery", "retention", "monthly summary"]
    assert all("\n" not in line for line in report.database_errors)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 6 and all(r.exc_info is None for r in errors)
    core.db.engine.dispose()


# --- media steps ---------------------------------------------------------------------------------


def test_two_instances_take_a_media_repeat_once_and_an_acknowledged_one_is_not_sent(
    url: str, core: Core, clock: FixedClock, tmp_path: Path, maildir: MaildirGateway
) -> None:
    refs = []
    for _ in range(10):
        with core.transaction() as s:
            refs.append(media.receive_enquiry(
                s, core, media.EnquiryInput(outlet="Evening Post", subject="general"),
                actor="slack:UREPORTER", source="slack").ref)
    deliver(core, maildir)  # the first alerts
    clock.advance(timedelta(minutes=15))  # nobody acknowledged: every alert repeats
    one, two = instance(url, clock, tmp_path), instance(url, clock, tmp_path)
    try:
        a, b = run_together(lambda: chase_overdue(one).media_steps, lambda: chase_overdue(two).media_steps)
    finally:
        one.db.engine.dispose()
        two.db.engine.dispose()
    assert a + b == 10  # type: ignore[operator]
    assert len(events(core, "media_alert_repeated")) == 10
    with core.transaction() as s:  # the press office picks one up before the repeat goes out
        assert media.acknowledge(s, core, media.get_enquiry(s, refs[0]), actor=PRESS)
    report = deliver(core, maildir)
    assert (report.sent, report.cancelled) == (9, 1)


def test_a_long_read_renews_the_mailbox_lease_and_stops_once_another_instance_has_it(
    core: Core, clock: FixedClock, maildir: MaildirGateway, tmp_path: Path
) -> None:
    new = tmp_path / "mail" / "inbox" / "new"
    new.mkdir(parents=True, exist_ok=True)
    for n in range(3):
        (new / f"{n}.referral").write_bytes(load("referral"))
    me, minute = leases.instance_id(), timedelta(seconds=60)
    with core.db.transaction() as s:
        assert leases.acquire(s, MAILBOX_LEASE, me, clock.now(), minute)
    reading = iter(LeasedMailbox(core, maildir, me, minute).fetch_new())
    next(reading)
    clock.advance(timedelta(seconds=30))  # a slow read: past a third of the lease, so renewed
    next(reading)
    with core.db.session() as s:
        assert leases.holder_of(s, MAILBOX_LEASE, clock.now() + timedelta(seconds=45)) == me
    clock.advance(timedelta(seconds=91))  # this reader stalled past its lease; another took it
    with core.db.transaction() as s:
        assert leases.acquire(s, MAILBOX_LEASE, "host-b:2:x", clock.now(), minute)
    assert next(reading, None) is None  # the first reader stops rather than read alongside


def test_the_last_two_returns_recorded_at_once_still_move_the_case_on(
    url: str, clock: FixedClock, tmp_path: Path,
) -> None:
    """Mail on one instance and a button on another record the last two returns together: the
    second waits for the first's commit on the case row and moves the case to the panel decision
    (review of issue 10: without the lock each saw the other as outstanding and it stayed put)."""
    from datetime import date

    from bot.cases import Referral, accept, get_case, open_case, record_sin_submitted
    from bot.stages import Stage

    one, two = instance(url, clock, tmp_path), instance(url, clock, tmp_path)
    bm = "bm@partnership.example"
    with one.transaction() as s:
        case = open_case(s, one, Referral(referring_agency="la-csc", incident_date=date(2026, 11, 12),
                                          la_aware_date=date(2026, 11, 13), outcome="death"),
                         actor=bm, source="cli")
        accept(s, one, case, actor=bm)
        record_sin_submitted(s, one, case, at=None, actor=bm)
        police, icb = ar.send_requests(s, one, case, kind="info-gathering", agencies=["police", "icb"],
                                       actor=bm)
        ref, ids = case.ref, (police.id, icb.id)
    first_recorded = threading.Event()

    def record(core: Core, request_id: int, hold: bool) -> None:
        with core.transaction() as s:
            request = s.get(AgencyRequest, request_id)
            assert request is not None
            if not hold:
                first_recorded.wait(10)
            ar.record_return(s, core, request, actor="reviews@police.example", via="email")
            if hold:
                first_recorded.set()
                time.sleep(0.5)  # the other reads now; it must wait for this commit

    run_together(lambda: record(one, ids[0], True), lambda: record(two, ids[1], False))
    with one.db.session() as s:
        assert get_case(s, ref).stage == Stage.PANEL_DECISION
    for core in (one, two):
        core.db.engine.dispose()
