"""A media enquiry's clock rows under concurrency on PostgreSQL (decision 0026), as the agency
chasers are tested in test_concurrency.py: an acknowledgement racing a repeat step never lets the
repeat out, and a step whose enquiry is being acknowledged is left alone."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from bot import media, media_clock
from bot.chasers import chase_overdue, take_step
from bot.clock import FixedClock
from bot.core import Core
from bot.mail.maildir import MaildirGateway
from bot.media import EnquiryInput
from bot.outbox import deliver
from tests.pg.conftest import PRESS, events, run_together


def receive(core: Core) -> tuple[str, int]:
    with core.transaction() as s:
        enquiry = media.receive_enquiry(s, core, EnquiryInput(outlet="Evening Post", subject="general"),
                                        actor="slack:UREPORTER", source="slack")
        [ack] = [d for d in media_clock.clocks_of(s, enquiry) if d.kind == media_clock.ACKNOWLEDGEMENT]
        s.flush()
        assert ack.id is not None
        return enquiry.ref, ack.id


def test_an_acknowledgement_recorded_while_a_repeat_step_is_in_progress_sends_no_repeat(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    ref, deadline_id = receive(core)
    deliver(core, maildir)
    clock.advance(timedelta(minutes=15))
    step_taken, ack_started = threading.Event(), threading.Event()

    def step() -> bool:
        with core.transaction() as s:
            taken = take_step(s, core, deadline_id)
            step_taken.set()
            ack_started.wait(10)
            time.sleep(0.3)  # the acknowledgement is now waiting for our claim
            return taken

    def acknowledge() -> bool:
        step_taken.wait(10)
        with core.transaction() as s:
            ack_started.set()
            return media.acknowledge(s, core, media.get_enquiry(s, ref), actor=PRESS)

    assert run_together(step, acknowledge) == [True, True]  # the repeat was queued, then acknowledged
    report = deliver(core, maildir)
    assert (report.sent, report.cancelled) == (0, 1)  # ...but it does not go out
    clock.advance(timedelta(hours=1))
    assert chase_overdue(core).media_steps == 0


def test_a_repeat_whose_enquiry_is_being_acknowledged_is_skipped(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    ref, _ = receive(core)
    deliver(core, maildir)
    clock.advance(timedelta(minutes=15))
    held, release = threading.Event(), threading.Event()

    def acknowledge() -> None:
        with core.transaction() as s:
            assert media.acknowledge(s, core, media.get_enquiry(s, ref), actor=PRESS)
            s.flush()  # written, not yet committed: the enquiry and its clock are locked
            held.set()
            release.wait(10)

    thread = threading.Thread(target=acknowledge)
    thread.start()
    assert held.wait(10)
    assert chase_overdue(core).media_steps == 0  # claimed by the acknowledgement: skipped
    release.set()
    thread.join(10)
    assert chase_overdue(core).media_steps == 0  # and once committed, nothing is due
    assert deliver(core, maildir).sent == 0
    assert events(core, "media_alert_repeated") == []
