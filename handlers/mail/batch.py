"""A mailbox read, a batch at a time (issue 10; bot/inbound_batch.py, decision 0024).

Each message is read before the lock (decision 0010) as :func:`~handlers.mail.intake.ingest`
reads it; then the batch is recorded and routed in one transaction, or, if anything in it fails,
each message on its own through :func:`~handlers.mail.intake.ingest_read`, with its retries and
triage. The caller marks an item processed only when it is given its result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlmodel import Session

from bot import inbound_batch
from bot.core import Core
from bot.inbound import digest_of
from bot.mail.gateway import InboundItem
from bot.usecases.mail import IntakeResult
from handlers.mail.classify import ParsedMessage, looks_like_referral
from handlers.mail.intake import Routed, ingest_read, logged, record_and_route
from handlers.mail.media_mail import is_to_press_address
from handlers.mail.prepare import read_before_the_lock


@dataclass(frozen=True)
class _Read:
    item: InboundItem
    parsed: ParsedMessage
    mailbox: str
    #: the routes may open a case (a referral) or a media enquiry for it
    opens: bool

    @property
    def arrival(self) -> inbound_batch.Arrival:
        parsed = self.parsed
        return inbound_batch.Arrival(
            parsed.message_id, self.mailbox, parsed.from_addr, parsed.digest or digest_of(self.item.raw),
            thread_ids=[*parsed.bounced_ids, *parsed.thread_ids], case_refs=parsed.case_refs,
            opens=self.opens,
        )


def ingest_all(
    core: Core, items: Iterable[InboundItem], *, mailbox: str
) -> Iterator[tuple[InboundItem, IntakeResult | Exception]]:
    """Every item with its result once the transaction holding it committed, or the exception
    that kept it from being recorded (:class:`~handlers.mail.db_retry.IntakeDeferred`: stop and
    leave the rest; anything else: this one stays in the mailbox, go on)."""

    def together(session: Session, read: _Read) -> Routed:
        return record_and_route(session, core, read.item.raw, read.parsed, mailbox)

    def alone(read: _Read) -> Routed:
        return ingest_read(core, read.item.raw, read.parsed, mailbox)

    for batch in inbound_batch.batches(items, lambda item: len(item.raw)):
        ready: list[_Read] = []
        for item in batch:
            try:
                parsed = read_before_the_lock(core, item.raw)
                ready.append(_Read(item, parsed, mailbox, _opens(core, parsed)))
            except Exception as exc:  # a bug in the reading: this message waits in the mailbox
                yield item, exc
        for read, outcome in inbound_batch.act_on_batch(core, ready, together=together, alone=alone):
            yield read.item, outcome if isinstance(outcome, Exception) else logged(outcome)


def _opens(core: Core, parsed: ParsedMessage) -> bool:
    """A hint for the batch's order (bot.inbound_batch.acting_order), never a decision: the
    routes decide what the message is."""
    if parsed.unreadable is not None or parsed.msg is None or parsed.bounce:
        return False
    try:
        return looks_like_referral(parsed) or is_to_press_address(parsed, core.protocol)
    except Exception:  # the routes read it again and say what is wrong with it
        return False
