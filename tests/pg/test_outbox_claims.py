"""Outbox claims on PostgreSQL (issue 10; decision 0013): a claim carries an owner and a lease
longer than the worst send; another instance takes it only once the lease has run out; marking
sent is conditional on the owner, and a mark the database refused is recorded later, not resent."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.core import Core
from bot.mail.maildir import MaildirGateway
from bot.outbox import SEND_LEASE, deliver, mark_sent
from tests.pg.conftest import (
    claimed_by,
    queued,
    row,
    sent_message_ids,
)
from tests.support.postgres import PostgresServer


def test_a_second_instance_does_not_take_a_live_claim_but_takes_an_expired_one(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    row_id = queued(core)
    claimed_by(core, row_id, "host-a:1:live", SEND_LEASE)
    clock.advance(timedelta(minutes=40))  # a throttled send can take this long: still live
    assert deliver(core, maildir, owner="host-b:2:x").sent == 0
    assert row(core, row_id).claimed_by == "host-a:1:live"
    clock.advance(SEND_LEASE)  # host-a died: its lease has run out
    assert deliver(core, maildir, owner="host-b:2:x").sent == 1
    taken = row(core, row_id)
    assert (taken.status, taken.claimed_by, taken.attempts) == ("sent", "host-b:2:x", 2)
    assert len(sent_message_ids(maildir)) == 1


def test_an_expired_claim_whose_message_was_already_written_is_recorded_not_resent(
    core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    row_id = queued(core)
    claimed_by(core, row_id, "host-a:1:dead", SEND_LEASE)
    message = row(core, row_id)
    from bot.mailer import compose

    # host-a wrote the message and was killed before it could mark it sent.
    maildir.send(compose(sender=core.mail_from, to=message.to, cc=[], subject=message.subject,
                         text=message.body_text, html=None, message_id=message.message_id,
                         in_reply_to=None, references=None, date=clock.now()))
    clock.advance(SEND_LEASE + timedelta(seconds=1))
    assert deliver(core, maildir, owner="host-b:2:x").sent == 1
    assert row(core, row_id).status == "sent"
    assert len(sent_message_ids(maildir)) == 1


def test_marking_sent_is_conditional_on_the_owner_and_a_lost_claim_is_logged_loudly(
    core: Core, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    row_id = queued(core)
    claimed_by(core, row_id, "host-b:2:new-owner", SEND_LEASE)
    with caplog.at_level(logging.ERROR, logger="bot.outbox"):
        mark_sent(core, row_id, "host-a:1:old-owner", clock.now())
    assert row(core, row_id).status == "sending"  # not marked by the instance that lost it
    assert any("CLAIM LOST" in r.getMessage() for r in caplog.records)
    mark_sent(core, row_id, "host-b:2:new-owner", clock.now())
    assert row(core, row_id).status == "sent"


# --- a failed "mark sent" ------------------------------------------------------------------------


def test_a_mark_sent_the_database_refused_is_recorded_on_the_next_tick_not_sent_again(
    pg: PostgresServer, url: str, core: Core, clock: FixedClock, maildir: MaildirGateway
) -> None:
    row_id = queued(core)
    owner = "host-a:1:x"
    claimed_by(core, row_id, owner, SEND_LEASE)
    name = url.rsplit("/", 1)[1]
    core.db.engine.dispose()
    pg.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # the database goes away
    try:
        mark_sent(core, row_id, owner, clock.now())  # three tries, then remembered
    finally:
        pg.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert row(core, row_id).status == "sending"  # not recorded yet; the lease keeps others off
    assert deliver(core, maildir, owner="host-b:2:y").sent == 0  # the next tick records it
    assert row(core, row_id).status == "sent"
    assert sent_message_ids(maildir) == []  # and nobody sent it again
