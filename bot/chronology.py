"""Agencies' chronology returns: queued as they arrive, read on the tick, answered, merged.

1. :func:`return_arrived` (called by ``agency_requests.record_return``): a chronology return is
   queued as a row, in the intake's transaction. Nothing is read there: the intake holds the
   database's write lock and reads nothing slow inside it (decision 0010).
2. :func:`read_pending` (a phase of every tick): each queued return is claimed (a conditional
   UPDATE, as the outbox does; decision 0013), its Word and Excel files are read and checked
   outside any transaction within a time budget (bot/chronology_read.py, _validate.py), then one
   transaction stores the rows, replaces the agency's earlier return, and queues the reply to the
   agency, threaded to its email, listing what to fix by table/sheet, row and column.
3. When every chronology requested on the case is in and valid, the review moves on
   (``review.composite_ready``).

Nothing of a return's content reaches a log line, an audit detail or a chat post: audit events
carry the agency, the status and counts (process.md 8.4).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, or_, update
from sqlmodel import Session, col, select

from bot import audit, review
from bot.at_rest_files import read_attachment
from bot.chronology_read import Budget, Unreadable, kind_of, read_file
from bot.chronology_validate import Checked, Problem, Row, check_grids
from bot.core import Core
from bot.db import rowcount
from bot.errors import ServiceError
from bot.leases import instance_id
from bot.mail.authresults import domain_matches
from bot.mailer import render
from bot.models import AgencyRequest, Attachment, Case, InboundMessage
from bot.models_chronology import ChronologyEvent, ChronologyReturn
from bot.outbox import enqueue

log = logging.getLogger(__name__)

#: A claim older than this belongs to a reader that died: the return is read again.
READ_LEASE = timedelta(minutes=10)
#: A return whose reading killed the process this often is not tried again (a person looks).
MAX_ATTEMPTS = 3
#: Returns read per tick; the rest wait for the next (each is bounded by its budget).
PER_TICK = 20
#: Problems listed in one reply; the rest are counted.
PROBLEMS_IN_REPLY = 100


def return_arrived(
    session: Session, core: Core, request: AgencyRequest, *, inbound_id: int | None,
    at: datetime | None = None,
) -> None:
    """Queue an emailed chronology return to be read (a return by other means has no files)."""
    if request.kind != "chronology" or inbound_id is None or request.status == "closed":
        return
    known = session.exec(
        select(ChronologyReturn.id).where(ChronologyReturn.inbound_id == inbound_id)
    ).first()
    if known is not None:
        return
    assert request.id is not None
    session.add(ChronologyReturn(
        case_id=request.case_id, request_id=request.id, agency=request.agency, inbound_id=inbound_id,
        received_at=at or core.clock.now(),
    ))


def read_pending(core: Core, *, limit: int = PER_TICK) -> int:
    """Read the queued returns (and any whose reader died). Returns how many were read."""
    with core.db.session() as session:
        ids = list(session.exec(
            select(ChronologyReturn.id).where(_to_read(core.clock.now()))
            .order_by(col(ChronologyReturn.id)).limit(limit)
        ))
    owner = instance_id()
    done = 0
    for return_id in ids:
        assert return_id is not None
        claimed = _claim(core, return_id, owner)
        if claimed is None:
            continue
        files, attempts = claimed
        if attempts > MAX_ATTEMPTS:
            checked = Checked(problems=[Problem("", "", "the file could not be read automatically; "
                                                "please send it again in the partnership's template")])
        else:
            checked = check_files(core, files)
        _finish(core, return_id, owner, checked)
        done += 1
    return done


def _to_read(now: datetime) -> ColumnElement[bool]:
    """Queued, or claimed by a reader that died (its claim is older than READ_LEASE)."""
    return or_(
        col(ChronologyReturn.status) == "pending",
        and_(col(ChronologyReturn.status) == "reading", col(ChronologyReturn.claimed_at) <= now - READ_LEASE),
    )


def _claim(core: Core, return_id: int, owner: str) -> tuple[list[Attachment], int] | None:
    now = core.clock.now()
    with core.db.transaction() as session:
        taken = rowcount(session.execute(
            update(ChronologyReturn).where(col(ChronologyReturn.id) == return_id, _to_read(now))
            .values(status="reading", claimed_by=owner, claimed_at=now,
                    attempts=ChronologyReturn.attempts + 1)
        ))
        if taken != 1:
            return None  # another instance has it
        row = session.get(ChronologyReturn, return_id, populate_existing=True)
        assert row is not None
        files = list(session.exec(
            select(Attachment).where(Attachment.inbound_id == row.inbound_id).order_by(col(Attachment.id))
        ))
        session.expunge_all()
        return files, row.attempts


_KINDS = {"docx": "Word", "xlsx": "Excel", "pdf": "PDF", "old": "Word or Excel 97-2003"}


def check_files(core: Core, files: list[Attachment]) -> Checked:
    """Read and check a return's files, outside any transaction; each file has its own budget."""
    checked = Checked()
    today = core.calendar.local_date(core.clock.now())
    mandatory = core.protocol.templates.chronology_mandatory
    readable = 0
    for number, file in enumerate((f for f in files if f.role is None), start=1):
        # Named by its place and type: the sender's file name is their text (it may name the
        # child), and a reply quotes places, never text.
        if file.stored_name is None:
            checked.problems.append(Problem(f"file {number}", "", "was too large to keep; please send "
                                            "the chronology alone, in the partnership's template"))
            continue
        data = read_attachment(core, file.stored_name)
        kind = kind_of(data)
        label = f"file {number} ({_KINDS.get(kind or '', 'attachment')})"
        if kind == "old":
            checked.problems.append(Problem(label, "", "is in an old format (or has a password): "
                                            "please save it as .docx or .xlsx"))
        elif kind == "pdf":
            checked.problems.append(Problem(label, "", "is a PDF: please send the partnership's "
                                            "template (.docx or .xlsx) so it can be merged"))
        elif kind is not None:
            readable += 1
            tables_before = checked.tables
            try:
                grids = read_file(data, kind, Budget())
            except Unreadable as exc:
                checked.problems.append(Problem(label, "", f"could not be read: {exc}"))
                continue
            check_grids(grids, file_label=label, mandatory=mandatory, today=today, checked=checked)
            if checked.tables == tables_before:
                checked.problems.append(Problem(label, "", "has no table or sheet with the template's "
                                                "headings (Date, Source of information, Event ...)"))
    if readable == 0 and not checked.problems:
        checked.problems.append(Problem("", "", "no chronology was attached: please reply with the "
                                        "partnership's template (.docx or .xlsx) filled in"))
    return checked


def _finish(core: Core, return_id: int, owner: str, checked: Checked) -> None:
    now = core.clock.now()
    with core.transaction() as session:
        row = session.get(ChronologyReturn, return_id)
        if row is None or row.status != "reading" or row.claimed_by != owner:
            return  # the claim was lost meanwhile; its new holder finishes it
        case = session.get(Case, row.case_id)
        assert case is not None and row.id is not None
        valid = not checked.problems and bool(checked.rows)
        if not checked.problems and not checked.rows:
            checked.problems.append(Problem("", "", "the chronology has no entries"))
        row.status = "valid" if valid else "invalid"
        row.problems = [p.as_dict() for p in checked.problems]
        row.events = len(checked.rows) if valid else 0
        row.read_at, row.claimed_by = now, None
        # A return read again (put back to pending by hand) replaces its own rows too.
        session.execute(delete(ChronologyEvent).where(col(ChronologyEvent.return_id) == row.id))
        if _replace_earlier(session, row, now) and valid:
            _store(session, row, checked.rows)
        audit.record(session, at=now, actor=audit.SYSTEM, kind="chronology_read", case_id=case.id,
                     agency=row.agency, status=row.status, events=row.events,
                     problems=len(row.problems))
        _reply(session, core, case, row)
        log.info("chronology return id=%s read: %s, %s events, %s problems", row.id, row.status,
                 row.events, len(row.problems))
        if valid and row.superseded_at is None and is_complete(session, case):
            _composite_ready(session, core, case)


def _replace_earlier(session: Session, row: ChronologyReturn, now: datetime) -> bool:
    """The latest return from an agency stands (process.md 7.6: a corrected return replaces the
    agency's rows). False when a later one was already read: this one is superseded itself."""
    others = list(session.exec(
        select(ChronologyReturn).where(
            ChronologyReturn.case_id == row.case_id, ChronologyReturn.agency == row.agency,
            col(ChronologyReturn.id) != row.id, col(ChronologyReturn.superseded_at).is_(None),
        )
    ))
    assert row.id is not None
    if any(o.id is not None and o.id > row.id and o.status in ("valid", "invalid") for o in others):
        row.superseded_at, row.events = now, 0
        return False
    for older in (o for o in others if o.id is not None and o.id < row.id):
        older.superseded_at = now
        session.execute(delete(ChronologyEvent).where(col(ChronologyEvent.return_id) == older.id))
    return True


def _store(session: Session, row: ChronologyReturn, rows: list[Row]) -> None:
    assert row.id is not None
    ordered = sorted(rows, key=lambda r: (r.grid, r.index))  # time order within each table
    for position, entry in enumerate(ordered):
        session.add(ChronologyEvent(
            return_id=row.id, case_id=row.case_id, agency=row.agency, position=position,
            place=entry.place, date_from=entry.date.date_from, date_to=entry.date.date_to,
            approximate=entry.date.approximate, date_label=entry.date.label, time=entry.time or None,
            source=entry.source, event=entry.event, outcome=entry.outcome, extra=entry.extra,
        ))


def _reply(session: Session, core: Core, case: Case, row: ChronologyReturn) -> None:
    """Tell the agency, by reply to its email, that its chronology is in or what to fix."""
    inbound = session.get(InboundMessage, row.inbound_id)
    agency = core.protocol.agency(row.agency)
    to = list(agency.request_addresses)
    sender = inbound.from_addr.strip().lower() if inbound is not None else ""
    if "@" in sender and domain_matches(sender.rsplit("@", 1)[1], agency.allowed_domains()):
        to = [sender]
    thread = inbound.message_id if inbound is not None else None
    if thread and thread.endswith("@review-bot.invalid>"):
        thread = None  # an id the bot made up for a message that had none
    problems = row.problems[:PROBLEMS_IN_REPLY]
    rendered = render(
        "chronology_problems" if row.status == "invalid" and row.superseded_at is None
        else "chronology_accepted",
        ref=case.ref, partnership=core.protocol.partnership.name, agency_name=agency.name,
        problems=problems, more=len(row.problems) - len(problems), events=row.events,
        superseded=row.superseded_at is not None,
    )
    enqueue(
        session, core, key=f"chronology-return:{row.id}:reply", kind=f"chronology_{row.status}",
        to=to, rendered=rendered, case_id=case.id, request_id=row.request_id, in_reply_to=thread,
        reason=f"case:{case.id}",
    )


def latest_returns(session: Session, case: Case) -> dict[str, ChronologyReturn]:
    """Each agency's standing return (the latest not replaced), by agency."""
    rows = session.exec(
        select(ChronologyReturn).where(
            ChronologyReturn.case_id == case.id, col(ChronologyReturn.superseded_at).is_(None)
        ).order_by(col(ChronologyReturn.id))
    )
    return {r.agency: r for r in rows}


def chronology_requests(session: Session, case: Case) -> list[AgencyRequest]:
    return list(session.exec(
        select(AgencyRequest).where(AgencyRequest.case_id == case.id, AgencyRequest.kind == "chronology")
        .order_by(col(AgencyRequest.id))
    ))


def is_complete(session: Session, case: Case) -> bool:
    """Every chronology requested (and not withdrawn) is in, and its latest return is valid."""
    requests = [r for r in chronology_requests(session, case) if r.status != "closed"]
    latest = latest_returns(session, case)
    return bool(requests) and all(
        r.agency in latest and latest[r.agency].status == "valid" for r in requests
    )


def _composite_ready(session: Session, core: Core, case: Case) -> None:
    """Every chronology is in: record it, and move the review on where the lifecycle allows.

    A refusal from the local review lifecycle (a case that is not a local review, or one already
    past that stage) leaves the chronology's own writes standing."""
    audit.record(session, at=core.clock.now(), actor=audit.SYSTEM, kind="chronology_complete",
                 case_id=case.id, agencies=len(latest_returns(session, case)))
    try:
        with session.begin_nested():
            review.composite_ready(session, core, case, actor=audit.SYSTEM)
    except ServiceError as exc:
        log.info("case id=%s: the review did not move on with the composite chronology (%s)",
                 case.id, type(exc).__name__)
