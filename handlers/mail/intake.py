"""The one pipeline for every inbound message, whatever the mailbox (issue 2, item 7).

1. Record the raw message under its Message-ID (committed before anything acts on it).
2. Classify: bounce, auto-reply, media enquiry (mail to the press address), agency return,
   referral, or unknown.
3. Act through ONE of the core's mail use cases (handlers/mail/routes.py picks it,
   bot/usecases/mail*.py decide); anything that cannot be matched with confidence goes to the
   triage list with a reason a person can act on. Nothing is dropped, nothing crashes.

One message at a time here (:func:`ingest`); a mailbox read takes several in one transaction
(handlers/mail/batch.py, bot/inbound_batch.py), through the same :func:`record_and_route`.

Log lines carry ids and classifications only, never subjects, bodies or addresses.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import replace

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from bot.core import Core
from bot.inbound import Recorded, record_message, routed, synthetic_message_id
from bot.privacy import log_message
from bot.usecases.mail import IntakeResult, hold_unprocessed, receive_duplicate
from handlers.mail.classify import ParsedMessage
from handlers.mail.db_retry import (
    ATTEMPTS,
    IntakeDeferred,
    message_id_conflict,
    pause,
    transient,
    with_retries,
)
from handlers.mail.prepare import read_before_the_lock
from handlers.mail.routes import reused_id, route

log = logging.getLogger(__name__)


#: What recording and routing one message gave: the inbound row's id (None when nothing was
#: written: a concurrent duplicate) and the result. The log line is written after the commit.
Routed = tuple[int | None, IntakeResult]


def ingest(core: Core, raw: bytes, *, mailbox: str) -> IntakeResult:
    """Record and act on one message; raises :class:`IntakeDeferred` when the database could
    not take it (the caller leaves the message in the mailbox).

    Everything that reads the sender's bytes happens first, within the time budget of
    decision 0010, outside any transaction: the write lock is only held for database work.
    A mailbox read takes its messages in batches instead (handlers/mail/batch.py).
    """
    return logged(ingest_read(core, raw, read_before_the_lock(core, raw), mailbox))


def ingest_read(core: Core, raw: bytes, parsed: ParsedMessage, mailbox: str) -> Routed:
    """A message already read (:func:`read_before_the_lock`), in a transaction of its own."""
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        pause(attempt)
        try:
            return _record_and_route(core, raw, parsed, mailbox)
        except IntegrityError as exc:
            if message_id_conflict(exc):
                # Another process recorded the same Message-ID between our check and our insert.
                log.info("inbound duplicate (concurrent) message")
                return None, IntakeResult(parsed.message_id, "duplicate")
            last = exc  # e.g. two instances numbering the same case reference: try again
        except DBAPIError as exc:
            if not transient(exc):
                return _routing_failed(core, raw, parsed, mailbox, exc)
            last = exc
        except Exception as exc:  # a bug must not lose the message: it waits in triage
            return _routing_failed(core, raw, parsed, mailbox, exc)
        log.warning("inbound database busy attempt=%s error=%s", attempt + 1, type(last).__name__)
    if isinstance(last, IntegrityError):
        # The same refusal every time is not a race: a person looks at it, the mailbox moves on.
        return _routing_failed(core, raw, parsed, mailbox, last)
    raise IntakeDeferred(f"the database did not take the message ({type(last).__name__})")


def _record_and_route(core: Core, raw: bytes, parsed: ParsedMessage, mailbox: str) -> Routed:
    with core.transaction() as session:
        return record_and_route(session, core, raw, parsed, mailbox)


def record_and_route(
    session: Session, core: Core, raw: bytes, parsed: ParsedMessage, mailbox: str
) -> Routed:
    """Record the message, then act on it, in the caller's transaction (one message's or a
    batch's): nothing is written until it commits."""
    recorded = _record(session, core, raw, parsed, mailbox)
    inbound = recorded.row
    if not recorded.fresh:
        log.info("inbound duplicate id=%s", inbound.id)
        return None, receive_duplicate(session, inbound, parsed.message_id)
    # Reads below see the identity map; the commit writes everything at once.
    with session.no_autoflush:
        if recorded.reuses is not None:
            result = reused_id(session, core, inbound, parsed, recorded.reuses)
        else:
            result = route(session, core, inbound, parsed)
    routed(inbound, result.classification)
    return inbound.id, result


def logged(routed: Routed) -> IntakeResult:
    """The result, its log line written (once the transaction that holds it committed)."""
    inbound_id, result = routed
    if inbound_id is not None:
        _log(inbound_id, result)
    return result


def _record(session: Session, core: Core, raw: bytes, parsed: ParsedMessage, mailbox: str) -> Recorded:
    return record_message(
        session, core, message_id=parsed.message_id, raw=raw, mailbox=mailbox,
        from_addr=parsed.from_addr, digest=parsed.digest or None,
    )


def _routing_failed(
    core: Core, raw: bytes, parsed: ParsedMessage, mailbox: str, exc: Exception
) -> Routed:
    # Not log.exception: a database error's text carries the statement's parameters (the raw mail).
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("inbound routing failed: %s\n%s", log_message(exc), frames)
    reasons: list[str] = []

    def hold() -> int | None:
        with core.transaction() as session:
            inbound = _record(session, core, raw, parsed, mailbox).row
            reasons.append(hold_unprocessed(inbound, type(exc).__name__))
            return inbound.id

    try:
        inbound_id = with_retries(hold)
    except IntakeDeferred:
        raise
    except Exception as again:  # the message itself is refused: keep its bytes under a safe id
        log.error("inbound triage hold failed: %s", log_message(again))
        parsed = replace(parsed, message_id=synthetic_message_id(raw, parsed.digest or None),
                         from_addr="")
        inbound_id = with_retries(hold)
    return inbound_id, IntakeResult(parsed.message_id, "unknown", triage=reasons[-1])


def _log(inbound_id: int, result: IntakeResult) -> None:
    log.info(
        "inbound id=%s classification=%s case=%s agency=%s triage=%s", inbound_id,
        result.classification, result.case, result.agency, bool(result.triage),
        extra={"event": "inbound", "case": result.case, "actor": "mail"},
    )
