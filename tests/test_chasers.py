"""The chase schedule: reminder, overdue chase, escalation; working hours; nothing doubled."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlmodel import select

from bot import agency_requests as ar
from bot.cases import get_case, record_sin_submitted
from bot.chasers import chase_overdue
from bot.clock import FixedClock
from bot.core import Core
from bot.mail.gateway import MailboxError
from bot.mail.maildir import MaildirGateway
from bot.models import OutboxMessage
from bot.outbox import SEND_LEASE, deliver
from schedules.sweep import tick
from tests.conftest import new_case, notified_case

BM = "bm@partnership.example"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026 (GMT, so UTC equals London time)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def _files(maildir: MaildirGateway) -> list[Path]:
    root = Path(maildir.name.removeprefix("maildir:")) / "sent"
    return [p for sub in ("new", "cur") for p in (root / sub).glob("*")]


def sent(maildir: MaildirGateway) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(_files(maildir))]


def subjects(maildir: MaildirGateway) -> list[str]:
    # Python folds a long Subject straight after the colon; the unfolded value keeps the space.
    return [str(m["Subject"]).strip() for m in sent(maildir)]


class NewMail:
    """What arrived in the sent folder since the last call (Maildir names do not sort by time)."""

    def __init__(self, maildir: MaildirGateway) -> None:
        self.maildir, self.seen = maildir, set(_files(maildir))

    def __call__(self) -> list[str]:
        files = set(_files(self.maildir))
        new, self.seen = files - self.seen, files
        return sorted(
            str(email.message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"]).strip()
            for p in new
        )


@pytest.fixture
def igt_to_police(core: Core, clock: FixedClock) -> str:
    """An information gathering request sent Thu 19 Nov 10:10, due Sat 21 Nov 10:10 (48 hours)."""
    clock.set(at(19, 10))
    ref = notified_case(core)
    clock.set(at(19, 10, 10))
    with core.transaction() as s:
        ar.send_requests(s, core, get_case(s, ref), kind="info-gathering", agencies=["police"],
                         actor=BM)
    return ref


def test_reminder_then_overdue_chase_then_escalation_within_working_hours(
    core: Core, clock: FixedClock, maildir: MaildirGateway, igt_to_police: str
) -> None:
    ref = igt_to_police
    timeline = [
        (at(19, 10, 11), ["Information gathering request"]),  # (and the referral alert)
        (at(20, 10, 9), []),  # the reminder is due at 10:10 (24 hours before the deadline)
        (at(20, 10, 10), ["Reminder"]),
        (at(20, 10, 11), []),  # a second tick sends nothing again
        (at(21, 10, 10), []),  # due on Saturday: no chaser at the weekend
        (at(22, 16, 0), []),
        (at(23, 8, 59), []),
        (at(23, 9, 0), ["Overdue"]),  # Monday, start of working hours
        (at(23, 17, 30), []),
        (at(24, 8, 59), []),
        (at(24, 9, 0), ["Escalation", "Escalated"]),  # 24 hours on, agency contact + BM
        (at(25, 9, 0), []),  # nothing more after escalation
        (at(30, 9, 0), []),
    ]
    new_mail = NewMail(maildir)
    for moment, expected in timeline:
        clock.set(moment)
        tick(core, maildir)
        new = new_mail()
        got = sorted(s.split("] ", 1)[1].split(":")[0].split(" (")[0] for s in new)
        assert [g for g in got if not g.startswith("New serious")] == sorted(expected), moment
    by_subject = {str(m["Subject"]).split("] ")[1].split(":")[0]: m for m in sent(maildir)}
    request_id = by_subject["Information gathering request (return within 48 hours)"]["Message-ID"]
    for name in ("Reminder", "Overdue", "Escalation"):
        assert by_subject[name]["In-Reply-To"] == request_id  # chasers thread under the request
        assert f"[{ref}]" in str(by_subject[name]["Subject"])
    assert str(by_subject["Escalation"]["To"]) == "public.protection@police.example"
    assert str(by_subject["Escalated"]["To"]) == "business.manager@partnership.example"
    with core.db.session() as s:
        (req,) = ar.requests_of(s, get_case(s, ref))
    assert req.chases == 1 and req.escalated_at == at(24, 9)


def test_a_return_stops_the_chasers(
    core: Core, clock: FixedClock, maildir: MaildirGateway, igt_to_police: str
) -> None:
    clock.set(at(20, 11))
    with core.transaction() as s:
        case = get_case(s, igt_to_police)
        ar.record_return(s, core, ar.get_request(s, case, "police", None), actor=BM, via="email")
    for day in (20, 23, 24, 25):
        clock.set(at(day, 12))
        tick(core, maildir)
    assert not [s for s in subjects(maildir) if "Overdue" in s or "Escalat" in s]


def test_after_downtime_one_chaser_per_step_not_a_burst(
    core: Core, clock: FixedClock, maildir: MaildirGateway, igt_to_police: str
) -> None:
    clock.set(at(25, 12))  # the bot was off from Thursday to the next Wednesday
    tick(core, maildir)
    tick(core, maildir)
    chasers = [s for s in subjects(maildir) if "Reminder" in s or "Overdue" in s or "Escalat" in s]
    assert len(chasers) == 1 and "Overdue" in chasers[0]  # the stale reminder is skipped
    clock.set(at(26, 12))
    tick(core, maildir)
    assert sum("Escalat" in s for s in subjects(maildir)) == 2


def test_chronology_policy_repeats_then_escalates(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    from bot.cases import decide

    ref = notified_case(core)
    with core.transaction() as s:
        decide(s, core, get_case(s, ref), option="lcspr", rationale="", actor=BM)
        ar.send_requests(s, core, get_case(s, ref), kind="chronology", agencies=["icb"], actor=BM)
    # Sent Mon 16 Nov 10:00 -> due end of Mon 30 Nov (14 days). The reminder 3 days before falls
    # at Fri 27 Nov 23:59, out of hours, so it waits for the next window: Mon 30 Nov 09:00.
    stamps: list[tuple[datetime, str]] = []
    new_mail = NewMail(maildir)
    moments = [at(day, hour) for day in range(16, 31) for hour in (9, 12, 18)] + [
        datetime(2026, 12, day, hour, tzinfo=UTC) for day in range(1, 10) for hour in (9, 12, 18)]
    for moment in moments:
        clock.set(moment)
        tick(core, maildir)
        stamps += [(moment, s) for s in new_mail()]
    chase = [(t, s.split("] ")[1].split(":")[0]) for t, s in stamps if "Chronology request" not in s
             and "New serious" not in s]
    assert sorted(chase) == [
        (at(30, 9), "Reminder"),
        (datetime(2026, 12, 1, 9, tzinfo=UTC), "Overdue"),  # due end of Mon 30 Nov
        (datetime(2026, 12, 3, 9, tzinfo=UTC), "Overdue"),  # 2 working days later
        (datetime(2026, 12, 7, 9, tzinfo=UTC), "Escalated"),  # Thu 3 + 2 working days = Mon 7
        (datetime(2026, 12, 7, 9, tzinfo=UTC), "Escalation"),
    ]


def test_statutory_clock_warns_the_day_before_and_alerts_when_missed(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    ref = new_case(core)  # aware Fri 13 Nov -> notification due end of Fri 20 Nov
    found: list[tuple[datetime, str]] = []
    new_mail = NewMail(maildir)
    for day in range(16, 25):
        for hour in (9, 13):
            clock.set(at(day, hour))
            tick(core, maildir)
            found += [(clock.now(), s) for s in new_mail() if "National Panel" in s]
    assert found == [
        (at(20, 9), f"[{ref}] Due Fri 20 Nov 2026: notification to the National Panel (D-01)"),
        (at(23, 9), f"[{ref}] OVERDUE: notification to the National Panel (D-01) was due Fri 20 Nov 2026"),
    ]


def test_recording_the_notification_stops_its_warnings(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    ref = new_case(core)
    with core.transaction() as s:
        from bot.cases import accept

        accept(s, core, get_case(s, ref), actor=BM)
        record_sin_submitted(s, core, get_case(s, ref), at=None, actor=BM)
    for day in range(16, 25):
        clock.set(at(day, 10))
        tick(core, maildir)
    assert not [s for s in subjects(maildir) if "(D-01)" in s]


def test_the_sweep_reads_only_what_is_due(core: Core, igt_to_police: str) -> None:
    from bot.chasers import due_deadline_ids

    with core.db.session() as s:
        assert due_deadline_ids(s, core, 100) == []
    core.clock.set(at(20, 10, 10))  # type: ignore[attr-defined]
    with core.db.session() as s:
        assert len(due_deadline_ids(s, core, 100)) == 1  # the police reminder
    assert chase_overdue(core).steps == 1
    assert chase_overdue(core).steps == 0


class FlakyGateway:
    """Fails the first ``failures`` sends, then delivers into a real Maildir."""

    def __init__(self, inner: MaildirGateway, failures: int) -> None:
        self.inner, self.failures, self.name = inner, failures, inner.name

    def fetch_new(self):  # type: ignore[no-untyped-def]
        return iter(())

    def mark_processed(self, item_id: str) -> None:
        return None

    def send(self, message: email.message.EmailMessage) -> str:
        if self.failures:
            self.failures -= 1
            raise MailboxError("mailbox unreachable")
        return self.inner.send(message)


def test_outbox_retries_with_backoff_and_never_loses_a_message(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    new_case(core)
    flaky = FlakyGateway(maildir, failures=2)
    assert deliver(core, flaky).failed == 1
    assert deliver(core, flaky).sent == 0  # backing off: not due yet
    clock.advance(timedelta(minutes=1))
    assert deliver(core, flaky).failed == 1
    clock.advance(timedelta(minutes=2))
    assert deliver(core, flaky).sent == 1
    assert deliver(core, flaky).sent == 0
    with core.db.session() as s:
        (row,) = s.exec(select(OutboxMessage))
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert len(sent(maildir)) == 1


def test_a_crash_between_claim_and_mark_resends_once_after_the_claim_goes_stale(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    new_case(core)
    with core.transaction() as s:  # as if a process claimed it and died before sending
        (row,) = s.exec(select(OutboxMessage))
        row.status, row.claimed_at = "sending", clock.now()
    assert deliver(core, maildir).sent == 0
    clock.advance(SEND_LEASE + timedelta(seconds=1))
    assert deliver(core, maildir).sent == 1
    assert deliver(core, maildir).sent == 0
    assert len(sent(maildir)) == 1


def test_enqueue_is_idempotent_by_key(core: Core) -> None:
    from bot.mailer import Rendered
    from bot.outbox import enqueue

    r = Rendered("s", "t", "h")
    with core.transaction() as s:
        assert enqueue(s, core, key="k:1", kind="x", to=["a@b.example"], rendered=r) is not None
        assert enqueue(s, core, key="k:1", kind="x", to=["a@b.example"], rendered=r) is None
    with core.db.session() as s:
        assert len(list(s.exec(select(OutboxMessage)))) == 1


def test_chasers_that_fall_due_outside_working_hours_wait_even_in_the_outbox(
    core: Core, clock: FixedClock, maildir: MaildirGateway, igt_to_police: str
) -> None:
    clock.set(at(20, 10, 10))
    chase_overdue(core)  # the reminder is queued in hours...
    clock.set(at(20, 18, 0))  # ...but the mailbox was down until the evening
    report = deliver(core, maildir)
    assert report.deferred == 1 and report.sent == 2  # alert and request go; the reminder waits
    clock.set(at(23, 9, 0))
    assert deliver(core, maildir).sent == 1


def test_la_aware_dates_in_the_past_still_give_a_warning_only_when_useful(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    new_case(core, incident_date=date(2026, 11, 2), la_aware_date=date(2026, 11, 3))  # overdue now
    tick(core, maildir)
    assert [s for s in subjects(maildir) if "(D-01)" in s] == [
        "[SI-2026-0001] OVERDUE: notification to the National Panel (D-01) was due Tue 10 Nov 2026"]


def test_a_step_that_fails_waits_an_hour_and_never_holds_up_the_others_or_the_outbox(
    core: Core, clock: FixedClock, maildir: MaildirGateway,
) -> None:
    """An agency removed from the protocol while its request is open makes its chase fail: that
    deadline backs off (audited) and the other agency's chase still goes out in the same tick."""
    from bot.models import Deadline, Event
    from bot.protocol import parse_protocol

    ref = notified_case(core)
    with core.transaction() as s:
        ar.send_requests(s, core, get_case(s, ref), kind="info-gathering", agencies=["police", "icb"],
                         actor="bm@partnership.example")
    tick(core, maildir)
    agencies = core.protocol.model_dump(mode="json", exclude_none=True)["agencies"]
    core.protocol = parse_protocol({"preset": "working-together-2023",
                                    "agencies": [a for a in agencies if a["slug"] != "icb"]}, "test")
    clock.advance(timedelta(days=4))  # both requests are overdue, within working hours
    report = tick(core, maildir)
    assert report.database_errors == []
    assert report.steps >= 1 and report.delivery.sent >= 1  # police chased, mail delivered
    with core.db.session() as s:
        failed = s.exec(select(Event).where(Event.kind == "deadline_step_failed")).all()
        assert [e.detail["error"] for e in failed] == ["UnknownAgency"]
        waiting = s.exec(select(Deadline).where(Deadline.next_action_at == clock.now() + timedelta(hours=1)))
        assert len(waiting.all()) == 1
