"""A media enquiry's clocks are deadline rows stepped by the one sweep (decision 0026): they do not
wait for working hours, an acknowledgement or answer cancels a step already queued, a restart or a
crash never doubles a step, and the journalist's deadline gets its reminders and one alert after."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot import deadlines, media, media_clock
from bot.cases import get_case
from bot.chasers import chase_overdue, take_due_steps
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.mail.maildir import MaildirGateway
from bot.media import EnquiryInput
from bot.models import Deadline, Event, OutboxMessage
from bot.outbox import deliver
from tests.conftest import notified_case

BM = "business.manager@partnership.example"
PRESS = "press.office@borough.example"
SATURDAY_20 = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)  # London is on UTC in November
SUNDAY_0145 = datetime(2026, 11, 22, 1, 45, tzinfo=UTC)


def receive(core: Core, deadline: datetime | None = None) -> str:
    with core.transaction() as s:
        return media.receive_enquiry(
            s, core, EnquiryInput(outlet="Evening Post", subject="general", journalist_deadline=deadline),
            actor="slack:UREPORTER", source="slack",
        ).ref


def clocks(core: Core, ref: str) -> dict[str, Deadline]:
    with core.db.session() as s:
        return {d.kind: d for d in media_clock.clocks_of(s, media.get_enquiry(s, ref))}


def outbox(core: Core, kind: str) -> list[OutboxMessage]:
    with core.db.session() as s:
        query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list(s.exec(query))


def events(core: Core, kind: str) -> list[Event]:
    with core.db.session() as s:
        return list(s.exec(select(Event).where(Event.kind == kind).order_by(Event.id)))


def acknowledge(core: Core, ref: str) -> None:
    with core.transaction() as s:
        assert media.acknowledge(s, core, media.get_enquiry(s, ref), actor=PRESS)


def test_the_enquiry_s_clocks_are_case_less_deadline_rows_that_ignore_working_hours(
    core: Core, clock: FixedClock,
) -> None:
    clock.set(SUNDAY_0145)
    ref = receive(core, deadline=SUNDAY_0145 + timedelta(hours=6))
    rows = clocks(core, ref)
    assert set(rows) == {"media_acknowledgement", "media_deadline"}
    ack, deadline = rows["media_acknowledgement"], rows["media_deadline"]
    assert ack.case_id is None and ack.media_enquiry_id is not None and not ack.working_hours
    assert ack.due_at == SUNDAY_0145 + timedelta(minutes=15)
    assert ack.next_action_at == SUNDAY_0145 + timedelta(minutes=15)  # 02:00 on a Sunday
    assert deadline.due_at == SUNDAY_0145 + timedelta(hours=6)
    assert deadline.next_action_at == SUNDAY_0145 + timedelta(hours=4)  # two hours before


def test_a_repeat_at_two_on_a_sunday_morning_is_queued_and_sent_at_once(
    core: Core, clock: FixedClock, maildir: MaildirGateway,
) -> None:
    clock.set(SUNDAY_0145)
    ref = receive(core)
    assert deliver(core, maildir).sent == 1  # the alert itself
    clock.set(datetime(2026, 11, 22, 2, 0, tzinfo=UTC))
    swept = chase_overdue(core)
    assert (swept.media_steps, swept.steps) == (1, 0)
    [repeat] = outbox(core, "media_alert_repeat")
    ack = clocks(core, ref)["media_acknowledgement"]
    assert repeat.idempotency_key == f"deadline:{ack.id}:step:0"
    assert repeat.reason == f"deadline:{ack.id} media:{ack.media_enquiry_id}:unacknowledged"
    assert BM in repeat.to
    report = deliver(core, maildir)
    assert (report.sent, report.deferred) == (1, 0)  # not held until Monday morning
    assert ack.step == 1 and ack.next_action_at == datetime(2026, 11, 22, 2, 15, tzinfo=UTC)


def test_an_acknowledgement_between_queueing_and_delivery_cancels_the_repeat(
    core: Core, clock: FixedClock, maildir: MaildirGateway,
) -> None:
    ref = receive(core)
    deliver(core, maildir)
    clock.advance(timedelta(minutes=15))
    assert chase_overdue(core).media_steps == 1  # the repeat is queued...
    clock.advance(timedelta(seconds=30))
    acknowledge(core, ref)  # ...and someone picks the enquiry up before it goes
    report = deliver(core, maildir)
    assert (report.sent, report.cancelled) == (0, 1)
    [cancelled] = events(core, "outbox_cancelled")
    assert cancelled.detail["message_kind"] == "media_alert_repeat"
    assert cancelled.detail["reason"].startswith("deadline:")  # the clock was met
    ack = clocks(core, ref)["media_acknowledgement"]
    assert ack.met_at == clock.now() and ack.next_action_at is None
    clock.advance(timedelta(hours=2))
    assert chase_overdue(core).media_steps == 0


def test_a_restart_or_a_crash_mid_step_never_sends_a_repeat_twice(
    core: Core, clock: FixedClock, maildir: MaildirGateway, schema_database_url: str,
) -> None:
    receive(core)
    deliver(core, maildir)
    clock.advance(timedelta(minutes=15))
    # A crash after the step was taken but before its commit: nothing of it remains.
    with pytest.raises(RuntimeError), core.transaction() as s:
        assert take_due_steps(s, core, 100, [])[2] == 1
        raise RuntimeError("the process died here")
    assert outbox(core, "media_alert_repeat") == []
    assert chase_overdue(core).media_steps == 1  # taken again, once
    # A restarted instance (a new engine on the same database) finds nothing left to do.
    restarted = dataclasses.replace(core, db=Database(schema_database_url))
    try:
        assert chase_overdue(restarted).media_steps == 0
        assert deliver(restarted, maildir).sent == 1
        assert chase_overdue(restarted).media_steps == 0
    finally:
        restarted.db.engine.dispose()
    assert len(outbox(core, "media_alert_repeat")) == 1
    assert len(events(core, "media_alert_repeated")) == 1


def test_reminders_before_the_journalist_s_deadline_and_one_alert_after_on_a_weekend_night(
    core: Core, clock: FixedClock, maildir: MaildirGateway,
) -> None:
    clock.set(SATURDAY_20)
    due = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # Sunday 01:00
    ref = receive(core, deadline=due)
    acknowledge(core, ref)
    deliver(core, maildir)
    seen = []
    for at in (due - timedelta(hours=2, minutes=1), due - timedelta(hours=2), due - timedelta(minutes=30),
               due - timedelta(minutes=1), due, due + timedelta(hours=3)):
        clock.set(at)
        seen.append(chase_overdue(core).media_steps)
        report = deliver(core, maildir)
        assert report.deferred == 0
    assert seen == [0, 1, 1, 0, 1, 0]
    assert len(outbox(core, "media_deadline_reminder")) == 2
    assert len(outbox(core, "media_deadline_passed")) == 1
    assert [e.detail["minutes_before"] for e in events(core, "media_deadline_reminder")] == [120, 30]
    row = clocks(core, ref)["media_deadline"]
    assert row.step == 3 and row.next_action_at is None and row.met_at is None
    with core.transaction() as s:  # answered late: the clock is met, late
        media.record_response(s, core, media.get_enquiry(s, ref), spoke="chair", actor=PRESS)
    with core.db.session() as s:
        [_, view] = media_clock.views(s, media.get_enquiry(s, ref), clock.now())
    assert (view["kind"], view["state"], view["working_hours"]) == ("media_deadline", "met-late", False)


def test_an_answer_meets_both_clocks_and_cancels_a_reminder_already_queued(
    core: Core, clock: FixedClock, maildir: MaildirGateway,
) -> None:
    ref = receive(core, deadline=clock.now() + timedelta(hours=2, minutes=10))
    deliver(core, maildir)
    clock.advance(timedelta(minutes=15))  # the first repeat and the 2-hour reminder, both due
    assert chase_overdue(core).media_steps == 2
    with core.transaction() as s:
        media.record_response(s, core, media.get_enquiry(s, ref), spoke="chair", actor=PRESS)
    report = deliver(core, maildir)
    assert (report.sent, report.cancelled) == (0, 2)
    rows = clocks(core, ref)
    assert all(d.met_at == clock.now() and d.next_action_at is None for d in rows.values())
    clock.advance(timedelta(hours=3))
    assert chase_overdue(core).media_steps == 0


def test_closing_an_enquiry_cancels_its_clocks(core: Core, clock: FixedClock) -> None:
    ref = receive(core, deadline=clock.now() + timedelta(hours=4))
    with core.transaction() as s:
        media.close_enquiry(s, core, media.get_enquiry(s, ref), reason="duplicate", actor=BM)
    rows = clocks(core, ref)
    assert all(d.cancelled_at == clock.now() and d.next_action_at is None for d in rows.values())
    clock.advance(timedelta(hours=5))
    assert chase_overdue(core).media_steps == 0
    assert outbox(core, "media_alert_repeat") == [] and outbox(core, "media_deadline_reminder") == []


def test_media_and_case_clocks_share_one_sweep(core: Core, clock: FixedClock) -> None:
    notified_case(core)
    receive(core)
    clock.advance(timedelta(days=30))  # the rapid review's clock and the repeats are all due
    swept = chase_overdue(core)
    assert swept.media_steps == 1  # one repeat after the downtime, not a burst
    assert swept.steps >= 1
    assert [e.detail["repeat"] for e in events(core, "media_alert_repeated")] == [4]


def test_the_working_hours_flag_is_the_engine_s_for_any_clock(core: Core) -> None:
    ref = notified_case(core)
    with core.transaction() as s:
        case = get_case(s, ref)
        [clock_row] = [d for d in deadlines.open_deadlines(s, case) if d.kind == "rapid_review"]
        plan = deadlines.plan_for(case, clock_row, None)
        assert plan.warn_before is not None
        warn_at = core.calendar.shift_back(clock_row.due_at, plan.warn_before)
        assert clock_row.next_action_at == core.calendar.next_working_moment(warn_at)
        clock_row.working_hours, clock_row.step = False, 0
        deadlines.schedule_next(core.calendar, case, clock_row, None, clock_row.anchor_at)
        assert clock_row.next_action_at == warn_at  # at its time, whatever the hour
        assert not core.calendar.is_within_working_hours(warn_at)  # (a Friday at midnight here)
