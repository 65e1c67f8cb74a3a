"""Retention (issue 13 items 2-3; decision 0030): each class's date worked by hand, the purge through
the real tick leaving the skeleton and an audit event without content, a legal hold blocking it,
an embargo holding a case's media log, and two instances purging once. SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot import agency_requests as ar
from bot import leases, legal_hold, media
from bot.actors import resolve_actor
from bot.cases import accept, close, decide, get_case, record_sin_submitted
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.errors import Refused
from bot.inbound import dismiss_triage
from bot.mail.maildir import MaildirGateway
from bot.media import EnquiryInput
from bot.models import (
    AgencyRequest,
    Attachment,
    Case,
    Deadline,
    Event,
    InboundMessage,
    MediaEnquiry,
    MediaStatement,
    OutboxMessage,
)
from bot.models_chronology import ChronologyEvent, ChronologyReturn
from bot.models_retention import PurgedRecord
from bot.protocol import parse_protocol
from bot.retention import due_on, purge, schedule
from handlers.mail.intake import ingest
from schedules.sweep import tick
from tests.support.eml.build import load

BM = "bm@partnership.example"
#: The fictional child's name in the referral fixture; typed into free text below as well.
CANARY = "Poppy"
JOURNALIST = "Jo Quillfeather"
#: When the case closes: Wednesday 18 November 2026, 09:30 GMT (= UTC).
CLOSED = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)


def at(core: Core, when: datetime) -> None:
    assert isinstance(core.clock, FixedClock)
    core.clock.set(when)


def cli_actor(core: Core) -> Any:
    return resolve_actor(core, surface="cli", user_id="dpo")


def build_closed_case(core: Core) -> dict[str, int]:
    """A referral by email (with the canary), a return with attachments, chronology rows, a media
    enquiry about the case, a triaged stranger's message; the case decided and closed with free
    text, at CLOSED. Returns the ids the tests look at."""
    at(core, CLOSED)
    result = ingest(core, load("referral"), mailbox="test").as_json()
    ref = result["case"]
    with core.transaction() as s:
        case = get_case(s, ref)
        accept(s, core, case, actor=BM)
        record_sin_submitted(s, core, case, at=None, actor=BM)
        ar.send_requests(s, core, case, kind="info-gathering", agencies=["charity"], actor=BM)
        request_mid = s.exec(select(AgencyRequest.message_id)).one()
    assert request_mid
    ingest(core, load("attachment_path_name", request_message_id=request_mid, case_ref=ref), mailbox="test")
    stranger = ingest(core, load("unknown"), mailbox="test").as_json()
    with core.transaction() as s:
        case = get_case(s, ref)
        returned = s.exec(select(InboundMessage).where(col(InboundMessage.request_id).is_not(None))).one()
        request = s.exec(select(AgencyRequest)).one()
        # Rows as the chronology reader leaves them (bot.chronology_read), with the canary in an event.
        back = ChronologyReturn(case_id=case.id, request_id=request.id, agency="charity",
                                inbound_id=returned.id, received_at=CLOSED, status="valid", events=1)
        s.add(back)
        s.flush()
        s.add(ChronologyEvent(return_id=back.id, case_id=case.id, agency="charity", position=1, place="row 2",
                              date_from=date(2026, 1, 1), date_to=date(2026, 1, 1), date_label="01/01/2026",
                              source="GP", event=f"{CANARY} seen at home"))
        enquiry = media.receive_enquiry(s, core, EnquiryInput(
            outlet="Local Paper", subject="case", case_ref=ref, journalist=JOURNALIST,
            contact="jo@paper.example", summary=f"Asks about {CANARY}"), actor=BM, source="cli")
        s.add(MediaStatement(enquiry_id=enquiry.id, version=1, kind="holding_statement",
                             text=f"We cannot comment on {CANARY}.", drafted_by=BM, drafted_at=CLOSED))
        media.close_enquiry(s, core, enquiry, reason="answered", actor=BM, team_member=True)
        triaged = s.exec(select(InboundMessage).where(InboundMessage.triage_status == "open")).one()
        dismiss_triage(s, core, triaged.id, reason="not ours", actor=BM)
        decide(s, core, case, option="no-further-review", rationale=f"{CANARY}'s learning is local", actor=BM)
        close(s, core, case, reason=f"Learning shared with {CANARY}'s school", actor=BM)
        ids = {"case": case.id, "enquiry": enquiry.id, "return": returned.id, "stranger": triaged.id}
    assert stranger["triage"] is not None
    return ids  # type: ignore[return-value]


def texts(core: Core) -> str:
    """Every text and bytes value of every table, as one string (what a dump of the database holds,
    its sealed values opened: the purge must empty them, not only leave them encrypted)."""
    from bot.models import SQLModel

    parts: list[str] = []
    with core.db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            # Through the tables' column types: what the database holds, opened with the data key.
            for row in conn.execute(table.select()):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        parts.append(bytes(value).decode("utf-8", "replace"))
                    elif value is not None:
                        parts.append(str(value))
    return "\n".join(parts)


def stored_files(core: Core) -> list[Path]:
    folder = Path(core.attachments_dir)
    return [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []


def purged_events(core: Core) -> list[Event]:
    with core.db.session() as s:
        return list(s.exec(select(Event).where(Event.kind == "retention_purged").order_by(col(Event.id))))


# --- the dates, by hand -------------------------------------------------------------------------


def test_each_class_is_due_on_the_day_worked_by_hand(core: Core) -> None:
    ids = build_closed_case(core)
    # Closed Wednesday 18 Nov 2026 09:30 GMT; each period ends at the end of a London day and the
    # purge acts after it.
    assert due_on(core, "case_working_file", CLOSED) == datetime(2032, 11, 18, 23, 59, 59, tzinfo=UTC)  # 72 M
    assert due_on(core, "returns_and_chronologies", CLOSED) == datetime(2028, 11, 18, 23, 59, 59, tzinfo=UTC)
    assert due_on(core, "raw_mail", CLOSED) == datetime(2027, 11, 18, 23, 59, 59, tzinfo=UTC)  # 12 M
    assert due_on(core, "media_log", CLOSED) == datetime(2027, 11, 18, 23, 59, 59, tzinfo=UTC)
    assert due_on(core, "chat_posts", CLOSED) == datetime(2027, 2, 16, 23, 59, 59, tzinfo=UTC)  # 90 days
    # Summer time: the London day ends at 22:59:59 UTC; a month step clamps to the month's end.
    assert due_on(core, "chat_posts", datetime(2026, 7, 1, 12, tzinfo=UTC)) == \
        datetime(2026, 9, 29, 22, 59, 59, tzinfo=UTC)
    assert due_on(core, "raw_mail", datetime(2028, 2, 29, 12, tzinfo=UTC)) == \
        datetime(2029, 2, 28, 23, 59, 59, tzinfo=UTC)

    # `review-bot retention`: what waits and when the first of each class goes.
    rows = {r.key: r for r in schedule(core)}
    assert rows["case_working_file"].next_due == datetime(2032, 11, 18, 23, 59, 59, tzinfo=UTC)
    assert rows["returns_and_chronologies"].next_due == datetime(2028, 11, 18, 23, 59, 59, tzinfo=UTC)
    assert rows["raw_mail"].next_due == datetime(2027, 11, 18, 23, 59, 59, tzinfo=UTC)
    assert rows["media_log"].next_due == datetime(2027, 11, 18, 23, 59, 59, tzinfo=UTC)
    assert (rows["case_working_file"].waiting, rows["media_log"].waiting) == (1, 1)
    assert rows["raw_mail"].waiting >= 1  # the stranger's message (and any mail about no case)
    assert rows["chat_posts"].waiting == 0  # this core posts nowhere
    assert not rows["drafts"].held_by_bot and not rows["final_report"].held_by_bot
    assert all(r.due_now == 0 for r in rows.values())

    # A day later than the working file's date, everything is due now.
    at(core, datetime(2032, 11, 19, 0, 0, 1, tzinfo=UTC))
    rows = {r.key: r for r in schedule(core)}
    assert rows["case_working_file"].due_now == 1 and rows["case_working_file"].next_due is None
    assert ids["case"] is not None


def test_a_protocol_sets_its_own_periods_in_days_weeks_or_months() -> None:
    protocol = parse_protocol({"retention": {"chat_posts": "30 days", "raw_mail": "26 weeks"}}, "test")
    assert (str(protocol.retention.chat_posts), str(protocol.retention.raw_mail)) == ("30 days", "26 weeks")
    assert str(protocol.retention.case_working_file) == "72 months"  # the preset's default stays
    for wrong in ("48 hours", "10 working days", "forever"):
        with pytest.raises(Exception, match="retention"):
            parse_protocol({"retention": {"media_log": wrong}}, "test")


# --- the purge through the tick ------------------------------------------------------------------


def test_the_tick_purges_each_class_after_its_day_and_leaves_the_skeleton(
    core: Core, maildir: MaildirGateway,
) -> None:
    ids = build_closed_case(core)
    assert CANARY in texts(core) and JOURNALIST in texts(core)
    assert len(stored_files(core)) == 2  # the return's two attachments
    with core.db.session() as s:
        events_before = set(s.exec(select(Event.id).where(Event.case_id == ids["case"])).all())
        deadlines_before = len(s.exec(select(Deadline).where(Deadline.case_id == ids["case"])).all())

    # The last second of the media log's and raw mail's day: nothing goes.
    at(core, datetime(2027, 11, 18, 23, 59, 59, tzinfo=UTC))
    assert tick(core, maildir).purged == {}
    at(core, datetime(2027, 11, 19, 0, 0, 1, tzinfo=UTC))
    report = tick(core, maildir)
    assert report.database_errors == []
    assert set(report.purged) == {"media_log", "raw_mail"}
    with core.db.session() as s:
        enquiry = s.get(MediaEnquiry, ids["enquiry"])
        assert enquiry is not None
        assert (enquiry.journalist, enquiry.contact, enquiry.summary) == ("", "", "")
        assert (enquiry.ref, enquiry.outlet, enquiry.status) == ("ME-2026-0001", "Local Paper", "closed")
        assert enquiry.closed_at is not None and enquiry.route
        assert s.exec(select(MediaStatement.text)).one() == ""
        for message in s.exec(select(OutboxMessage).where(col(OutboxMessage.idempotency_key).startswith(
                f"media:{ids['enquiry']}:"))):
            assert (message.body_text, message.to) == ("", [])
        stranger = s.get(InboundMessage, ids["stranger"])
        assert stranger is not None and stranger.raw == b"" and stranger.triage_status == "dismissed"
        case = s.get(Case, ids["case"])
        assert case is not None and case.closed_reason and CANARY in case.closed_reason  # not yet
    assert JOURNALIST not in texts(core)

    # The returns: two years after closure.
    at(core, datetime(2028, 11, 19, 0, 0, 1, tzinfo=UTC))
    assert set(tick(core, maildir).purged) == {"returns_and_chronologies"}
    assert stored_files(core) == []
    with core.db.session() as s:
        returned = s.get(InboundMessage, ids["return"])
        assert returned is not None and returned.raw == b"" and returned.agency == "charity"
        attachments = s.exec(select(Attachment).where(Attachment.inbound_id == ids["return"])).all()
        assert len(attachments) == 2 and all(a.stored_name is None and a.size > 0 for a in attachments)
        assert s.exec(select(ChronologyEvent)).all() == []
        back = s.exec(select(ChronologyReturn)).one()
        assert (back.agency, back.events, back.status) == ("charity", 1, "valid")  # the count stays
        request = s.exec(select(AgencyRequest)).one()
        assert request.returned_at is not None and request.status == "returned"

    # The working file: six years after closure.
    at(core, datetime(2032, 11, 18, 23, 59, 59, tzinfo=UTC))
    assert tick(core, maildir).purged == {}
    at(core, datetime(2032, 11, 19, 0, 0, 1, tzinfo=UTC))
    assert set(tick(core, maildir).purged) == {"case_working_file"}
    assert tick(core, maildir).purged == {}  # nothing twice

    dump = texts(core)
    assert CANARY not in dump and "Placeholder" not in dump and JOURNALIST not in dump
    with core.db.session() as s:
        case = s.get(Case, ids["case"])
        assert case is not None
        # The skeleton a report needs: reference, stage, dates, decision, agencies, clocks, timeline.
        assert (case.ref, case.stage, case.decision) == ("SI-2026-0001", "closed", "no-further-review")
        assert case.incident_date == date(2026, 11, 16) and case.la_aware_date == date(2026, 11, 17)
        assert case.decision_at is not None and case.agencies_involved
        assert (case.decision_rationale, case.closed_reason) == (None, None)
        assert len(s.exec(select(Deadline).where(Deadline.case_id == ids["case"])).all()) == deadlines_before
        assert events_before <= set(s.exec(select(Event.id).where(Event.case_id == ids["case"])).all())
        for message in s.exec(select(OutboxMessage).where(OutboxMessage.case_id == ids["case"])):
            assert message.body_text == "" and message.kind and message.created_at
        tombstones = set(s.exec(select(PurgedRecord.record_class).where(PurgedRecord.case_id == ids["case"])))
        assert {"case_working_file", "returns_and_chronologies", "media_log"} <= tombstones

    # One audit event per class purged, with the class and counts: never what was purged.
    events = purged_events(core)
    assert sorted(e.detail["record_class"] for e in events) == [
        "case_working_file", "media_log", "raw_mail", "returns_and_chronologies"]
    for e in events:
        assert set(e.detail) == {"record_class", "objects", "rows", "files"} and e.case_id is None
        assert e.actor == "system" and e.detail["objects"] >= 1
    returns = next(e for e in events if e.detail["record_class"] == "returns_and_chronologies")
    assert returns.detail["files"] == 2


# --- legal hold ----------------------------------------------------------------------------------


def test_a_legal_hold_keeps_everything_of_the_case_until_released(
    core: Core, maildir: MaildirGateway,
) -> None:
    ids = build_closed_case(core)
    actor = cli_actor(core)
    answer = legal_hold.hold(core, actor, "SI-2026-0001", "criminal", note=f"Trial of {CANARY}'s father")
    assert "legal hold set (criminal)" in answer.message
    with pytest.raises(Refused, match="already held"):
        legal_hold.hold(core, actor, "si-2026-0001", "criminal")
    legal_hold.hold(core, actor, "SI-2026-0001", "coroner")

    at(core, datetime(2040, 1, 1, tzinfo=UTC))
    purged = tick(core, maildir).purged
    assert set(purged) == {"raw_mail"}  # the stranger's message belongs to no case
    assert len(stored_files(core)) == 2
    with core.db.session() as s:
        case = s.get(Case, ids["case"])
        assert case is not None and case.closed_reason and CANARY in case.closed_reason
        assert s.get(MediaEnquiry, ids["enquiry"]).journalist == JOURNALIST  # type: ignore[union-attr]
        assert len(s.exec(select(ChronologyEvent)).all()) == 1
    assert [r.key for r in schedule(core) if r.key == "case_working_file" and r.waiting] == []

    legal_hold.release(core, actor, "SI-2026-0001", "criminal")
    assert tick(core, maildir).purged == {}  # the coroner's hold still stands
    answer = legal_hold.release(core, actor, "SI-2026-0001")
    assert "released (coroner)" in answer.message
    assert set(tick(core, maildir).purged) == {"case_working_file", "returns_and_chronologies", "media_log"}
    assert CANARY not in texts(core).replace(f"Trial of {CANARY}'s father", "")  # the note stays on the hold

    # Who set and released which hold, and why, is audited; the note never is.
    with core.db.session() as s:
        audited = s.exec(select(Event).where(col(Event.kind).startswith("legal_hold"))
                         .order_by(col(Event.id))).all()
    assert [(e.kind, e.actor) for e in audited] == [
        ("legal_hold_set", "cli:dpo"), ("legal_hold_set", "cli:dpo"),
        ("legal_hold_released", "cli:dpo"), ("legal_hold_released", "cli:dpo")]
    assert [e.detail for e in audited] == [
        {"reason": "criminal"}, {"reason": "coroner"}, {"reasons": ["criminal"]}, {"reasons": ["coroner"]}]


def test_only_the_business_manager_or_the_chair_sets_a_hold(core: Core) -> None:
    from tests.conftest import new_case

    ref = new_case(core)
    member = core.protocol.roles.business_unit[0].email
    unit = resolve_actor(core, surface="email", email=member)
    assert unit.business_unit
    with pytest.raises(Refused, match="business manager or the Chair"):
        legal_hold.hold(core, unit, ref, "complaint")
    with pytest.raises(Refused, match="business manager or the Chair"):
        legal_hold.release(core, unit, ref)
    chair = core.protocol.roles.chair
    assert chair is not None
    legal_hold.hold(core, resolve_actor(core, surface="email", email=chair.email), ref, "sar-request")
    manager = core.protocol.roles.business_manager.email
    legal_hold.hold(core, resolve_actor(core, surface="email", email=manager), ref, "complaint")
    with core.db.session() as s:
        assert legal_hold.reasons_held(s, get_case(s, ref)) == ["sar-request", "complaint"]
        refused = s.exec(select(Event).where(Event.kind == "action_refused")).all()
    assert [(e.actor, e.detail) for e in refused] == [(member, {"action": "hold"}),
                                                     (member, {"action": "release-hold"})]


def test_an_embargoed_review_holds_its_media_log(core: Core) -> None:
    from tests.conftest import notified_case

    ref = notified_case(core)
    with core.transaction() as s:
        case = get_case(s, ref)
        decide(s, core, case, option="lcspr", rationale="criteria met", actor=BM)
        from bot.publication import embargo

        embargo(s, core, case, reason="criminal", actor=BM)
        enquiry = media.receive_enquiry(s, core, EnquiryInput(
            outlet="Radio", subject="case", case_ref=ref, journalist=JOURNALIST), actor=BM, source="cli")
        media.close_enquiry(s, core, enquiry, reason="answered", actor=BM, team_member=True)
        assert legal_hold.reasons_held(s, case) == ["embargo"]
    at(core, datetime(2035, 1, 1, tzinfo=UTC))
    assert "media_log" not in purge(core)
    assert JOURNALIST in texts(core)


# --- two instances -------------------------------------------------------------------------------


def test_two_instances_purge_once(core: Core, tmp_path: Path) -> None:
    build_closed_case(core)
    at(core, datetime(2040, 1, 1, tzinfo=UTC))
    # Another instance holds the lease: this one purges nothing.
    with core.db.transaction() as s:
        assert leases.acquire(s, "retention", "other-host:1:abc", core.clock.now(), timedelta(minutes=15))
    assert purge(core) == {}
    assert purged_events(core) == []
    with core.db.transaction() as s:
        leases.release(s, "retention", "other-host:1:abc")

    # Two instances (two processes: their own instance ids and engines) at once: each class is
    # purged once between them, however often each runs.
    url = core.db.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_purge_three_times,
                                 args=(url, core.clock.now(), core.attachments_dir)) for _ in range(2)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    classes = sorted(e.detail["record_class"] for e in purged_events(core))
    assert classes == ["case_working_file", "media_log", "raw_mail", "returns_and_chronologies"]
    with core.db.session() as s:
        tombstones = s.exec(select(PurgedRecord.record_class, PurgedRecord.table_name,
                                   PurgedRecord.row_id)).all()
    assert len(tombstones) == len(set(tombstones)) >= 4


def _purge_three_times(url: str, now: datetime, attachments: Path) -> None:
    """Another instance of the bot (a forked process) running the purge phase."""
    from bot.protocol import load_protocol

    db = Database(url)
    instance = Core(db=db, protocol=load_protocol(None), clock=FixedClock(now), attachments_dir=attachments)
    for _ in range(3):
        purge(instance)
    db.engine.dispose()

