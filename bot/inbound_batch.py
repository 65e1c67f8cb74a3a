"""Inbound mail taken in batches: several messages recorded and acted on in one transaction
(issue 10: PostgreSQL's intake within 20 % of SQLite's; decision 0024).

A message costs PostgreSQL a round trip per statement, and the BEGIN, the writes of its routing
and the COMMIT are the same few round trips whether they carry one message or fifty. So a mailbox
read takes its messages a batch at a time: every message of the batch is recorded under its
Message-ID (one INSERT) before anything acts on any of them, then each is acted on in turn (those
that open a case first, :func:`acting_order`), and the batch commits once.

Decision 0006 holds for every message of a batch:

* *recorded once before it acts*: the batch's INSERT (``ON CONFLICT DO NOTHING``) is the first
  thing done for its messages, in the transaction that acts on them; the same Message-ID twice in
  one batch is a duplicate the second time, as it would be in two transactions;
* *moved only after the commit*: :func:`act_on_batch` gives the caller a batch's outcomes only once
  the batch committed, and the caller marks or moves the mailbox items then;
* *a crash* before the commit leaves nothing of the batch (every message is read again from the
  mailbox); after it, before the moves, the messages are read again and are duplicates;
* *one bad message never blocks or loses the others*: anything that goes wrong in the batch rolls
  all of it back, and its messages are then taken one at a time, each in its own transaction with
  its own retries and triage, exactly as without batches.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

from bot import agency_requests, info_gathering
from bot.core import Core
from bot.inbound import RECORDED_FIRST, insert_statement, inserted_values, keyed_digest
from bot.models import InboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Arrival:
    """What the batch needs to know of a message before acting on it."""

    message_id: str
    mailbox: str
    from_addr: str
    digest: str | None
    #: Message-IDs it answers or reports on (In-Reply-To, References, a bounce's original)
    thread_ids: list[str] = field(default_factory=list)
    #: case references it names ([SI-2026-0001] in the subject)
    case_refs: list[str] = field(default_factory=list)
    #: it may open a case or a media enquiry, whose routing writes out everything pending: the
    #: batch acts on such messages first, so that the others' writes stay together for the commit
    opens: bool = False


class Incoming(Protocol):
    @property
    def arrival(self) -> Arrival: ...


M = TypeVar("M", bound=Incoming)
R = TypeVar("R")
T = TypeVar("T")

#: At most this many messages, and this many bytes of them, in one transaction. The write lock
#: (SQLite) and the case rows a return locks (PostgreSQL) are held until the batch commits, about
#: 2-5 ms a message, so a batch stays well under the second a Slack action could wait; the bytes
#: bound what a batch holds in memory before its commit writes them (docs/benchmarks.md).
MAX_MESSAGES = 50
MAX_BYTES = 8 * 1024 * 1024


def batches(
    items: Iterable[T], size_of: Callable[[T], int], *, max_messages: int | None = None,
    max_bytes: int | None = None,
) -> Iterator[list[T]]:
    """``items`` in consecutive batches of at most ``max_messages`` and ``max_bytes`` (a larger
    message is a batch of its own). If reading the items fails, the ones already read are given
    first and the error is raised after them: a mailbox that fails at one message still gets the
    messages before it taken (and marked) on every poll."""
    max_messages = max_messages or MAX_MESSAGES
    max_bytes = max_bytes or MAX_BYTES
    iterator = iter(items)
    while True:
        batch: list[T] = []
        size = 0
        failure: Exception | None = None
        try:
            for item in iterator:
                batch.append(item)
                size += size_of(item)
                if len(batch) >= max_messages or size >= max_bytes:
                    break
        except Exception as exc:  # the mailbox's own error: raised once the batch is taken
            failure = exc
        if batch:
            yield batch
        if failure is not None:
            raise failure
        if not batch:
            return


def act_on_batch(
    core: Core, messages: Sequence[M], *, together: Callable[[Session, M], R],
    alone: Callable[[M], R],
) -> Iterator[tuple[M, R | Exception]]:
    """Each message with its outcome (what ``together`` or ``alone`` returned, or the exception
    ``alone`` raised), in order, given only after the transaction that holds it committed.

    ``together(session, message)`` records and acts on one message in the batch's transaction;
    ``alone(message)`` does it in a transaction of its own, with its own retries. A batch of one
    is taken alone. If anything in the batch fails (a bug met by one message, a database error,
    a concurrent writer), the batch is rolled back and every message is taken alone; the
    consumer may stop early (a busy database), and the messages not yet taken are then left
    in the mailbox."""
    if len(messages) > 1:
        try:
            with core.transaction() as session:
                arrivals = [message.arrival for message in messages]
                record_first(session, core, arrivals)
                agency_requests.preload(session, [(a.thread_ids, a.case_refs) for a in arrivals])
                results: dict[int, R] = {}
                with info_gathering.advance_at_the_end(session, core):
                    for i in acting_order(arrivals):
                        results[i] = together(session, messages[i])
        except Exception as exc:
            # Type only: a database error's text carries the statement's parameters (the mail).
            log.warning("inbound batch of %s rolled back (%s); taking each message alone",
                        len(messages), type(exc).__name__)
        else:
            yield from ((message, results[i]) for i, message in enumerate(messages))
            return
    for message in messages:
        try:
            outcome: R | Exception = alone(message)
        except Exception as exc:
            outcome = exc
        yield message, outcome


def acting_order(arrivals: Sequence[Arrival]) -> list[int]:
    """The order a batch acts on its messages: those that open a case or an enquiry first (each
    writes out what is pending, which would otherwise cut the batch's writes into several
    statements of each kind), then the rest; each group in the order the messages came. A
    Message-ID the batch holds twice keeps its place, so its first copy is the one acted on. The
    messages of one batch do not depend on each other: a reply names a case only after the bot's
    acknowledgement went out, and that is sent after the batch."""
    seen = Counter(a.message_id for a in arrivals)
    first = [i for i, a in enumerate(arrivals) if a.opens and seen[a.message_id] == 1]
    taken = set(first)
    return first + [i for i in range(len(arrivals)) if i not in taken]


def record_first(session: Session, core: Core, arrivals: Sequence[Arrival]) -> None:
    """Record every new message of the batch in one INSERT (``ON CONFLICT (message_id) DO
    NOTHING``), before anything acts on any of them; :func:`bot.inbound.record_message` takes each
    row when its message's turn comes and writes its bytes with the routing's UPDATE, at the
    commit. A known Message-ID, and the second of two in one batch, get no row here: their turn
    looks them up as a single message's would."""
    statement = insert_statement(session.get_bind().dialect.name)
    if statement is None:
        return  # no INSERT ... ON CONFLICT here: each message is recorded on its turn
    first: dict[str, InboundMessage] = {}
    for a in arrivals:
        if a.message_id not in first:
            first[a.message_id] = InboundMessage(
                message_id=a.message_id, mailbox=a.mailbox, received_at=core.clock.now(),
                from_addr=a.from_addr, classification="pending", raw=b"",
                digest=keyed_digest(session, a.digest) if a.digest else None,
            )
    rows: dict[str, InboundMessage] = {}
    inserted = session.connection().execute(statement, [inserted_values(r) for r in first.values()])
    for row_id, message_id in inserted:
        row = first[message_id]
        row.id = row_id
        make_transient_to_detached(row)  # what was inserted is its loaded state
        session.add(row)
        rows[message_id] = row
    session.info[RECORDED_FIRST] = rows
