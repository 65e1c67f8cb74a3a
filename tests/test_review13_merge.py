"""A reviewer's pass over issue 13 as merged beside the SAR/complaints, action plan and media
clock parts: a complaint about a case holds it against the purge, and every view of a
complainant's identity is in the access log. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot import legal_hold, media
from bot.actors import Actor
from bot.cases import get_case
from bot.core import Core
from bot.inbound import dismiss_triage
from bot.mail.maildir import MaildirGateway
from bot.media import EnquiryInput
from bot.media_statements import release_statement
from bot.models import AgencyRequest, Case, InboundMessage, MediaStatement, OutboxMessage
from bot.usecases import sar_complaints as uc
from handlers.mail.intake import ingest
from schedules.sweep import tick
from tests.support.eml.build import load
from tests.test_e2e import Bot
from tests.test_retention import BM, CANARY, CLOSED, at, build_closed_case, texts

UNIT = Actor(key="business.manager@partnership.example", surface="cli", roles=frozenset({"business_unit"}),
             email="business.manager@partnership.example")
COMPLAINANT = "Philippa Quennell-Ostrowska"


def test_an_open_complaint_about_a_case_holds_it_against_the_purge(
    core: Core, maildir: MaildirGateway,
) -> None:
    ids = build_closed_case(core)
    # A complaint about the closed case's outcome, still open six years on (process.md 8.3: "a
    # legal hold flag for ... complaints"; bot.complaints.open_complaints_of says it is one).
    complaint = uc.open_complaint(core, UNIT, received_on=date(2026, 11, 18), complainant_name=COMPLAINANT,
                                  about="outcome", about_ref="SI-2026-0001").ref
    assert complaint
    with core.db.session() as s:
        assert legal_hold.reasons_held(s, get_case(s, "SI-2026-0001")) == ["complaint"]
    at(core, datetime(2040, 1, 1, tzinfo=UTC))
    assert "case_working_file" not in tick(core, maildir).purged
    with core.db.session() as s:
        case = s.get(Case, ids["case"])
        assert case is not None and case.closed_reason and CANARY in case.closed_reason

    # Once the complaint is closed, the case's schedule runs again.
    uc.close(core, UNIT, complaint, reason="answered")
    with core.db.session() as s:
        assert legal_hold.reasons_held(s, get_case(s, "SI-2026-0001")) == []
    assert "case_working_file" in tick(core, maildir).purged
    with core.db.session() as s:
        case = s.get(Case, ids["case"])
        assert case is not None and case.closed_reason is None


def test_complaint_show_and_the_response_draft_are_in_the_access_log(bot: Bot, tmp_path: Path) -> None:
    bm = "business.manager@partnership.example"

    def run(*args: str) -> str:
        return bot("--now", "2026-01-20T10:00", "--actor", bm, *args).output

    run("complaint", "open", "--received", "2026-01-19", "--name", COMPLAINANT, "--contact", "p@home.example")
    assert COMPLAINANT in run("complaint", "show", "CO-2026-0001")
    assert COMPLAINANT in json.dumps(json.loads(run("complaint", "show", "CO-2026-0001", "--json")))
    draft = tmp_path / "response.txt"
    run("complaint", "CO-2026-0001", "draft-response", "--out", str(draft))
    assert draft.read_text()
    log = json.loads(run("access-log", "--case", "CO-2026-0001", "--json"))
    assert [(r["what"], r["actor"], r["surface"]) for r in log] == [
        ("view", bm, "cli"), ("view", bm, "cli"), ("draft", bm, "cli")]
    assert [r["detail"] for r in log] == ["complaint", "complaint", "complaint-response"]
    assert COMPLAINANT not in json.dumps(log)


def test_the_purge_empties_every_free_text_the_inventory_names(core: Core, maildir: MaildirGateway) -> None:
    """Free text typed about a case, a media enquiry or a stray message is gone after the purge:
    a request's withdrawal reason, a dismissed message's triage reason, a media enquiry's closing
    reason, the address a statement was released to and a delivery error quoting it
    (docs/encryption.md inventory)."""
    ids = build_closed_case(core)
    contact = "jo.canary@paper.example"
    with core.transaction() as s:
        # As bot.agency_requests.withdraw writes it (the case's only request was returned).
        request = s.exec(select(AgencyRequest)).one()
        request.closed_reason = f"{CANARY}'s GP practice closed"
        enquiry = media.receive_enquiry(s, core, EnquiryInput(
            outlet="Gazette", subject="general", journalist="Jo", contact=contact,
            summary="General question"), actor=BM, source="cli")
        s.add(MediaStatement(enquiry_id=enquiry.id, version=1, kind="holding_statement", text="No comment.",
                             status="approved", drafted_by=BM, drafted_at=CLOSED))
        s.flush()
        assert release_statement(s, core, enquiry, actor=BM, team_member=True).released_to == contact
        media.close_enquiry(s, core, enquiry, reason=f"Jo was told about {CANARY}", actor=BM,
                            team_member=True)
        # As bot.outbox leaves a message refused and then cancelled: the server's refusal
        # (str(error)) quotes the address.
        released = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "media_statement")).one()
        released.status = "cancelled"
        released.last_error = f"SMTPRecipientsRefused: 550 5.1.1 <{contact}>: Recipient address rejected"
    stray = load("unknown").replace(b"newsletter.202612.0001", b"newsletter.202612.0002")
    ingest(core, stray, mailbox="test")
    with core.transaction() as s:
        item = s.exec(select(InboundMessage).where(InboundMessage.triage_status == "open")).one()
        dismiss_triage(s, core, item.id, reason=f"about {CANARY}, sent to the wrong partnership", actor=BM)
    assert CANARY in texts(core) and contact in texts(core)

    at(core, datetime(2040, 1, 1, tzinfo=UTC))
    for _ in range(3):
        tick(core, maildir)
    dump = texts(core)
    assert CANARY not in dump and contact not in dump
    with core.db.session() as s:
        assert s.get(Case, ids["case"]).stage == "closed"  # type: ignore[union-attr]


def test_every_cli_view_of_a_case_s_free_text_is_in_the_access_log(bot: Bot, tmp_path: Path) -> None:
    """``case REF --json``, the action plan (its text is sealed free text), a draft written with
    --out, and ``media show`` of an enquiry about the case (journalist, summary) each leave a row."""
    from tests.test_action_plan_e2e import BM as PLAN_BM
    from tests.test_action_plan_e2e import TEXT_1, at, endorsed_case

    ref = endorsed_case(bot)
    view = json.loads(at("2025-06-03T10:00", bot, "case", ref, "--json"))
    assert view["ref"] == ref
    plan = json.loads(at("2025-06-03T10:01", bot, "case", ref, "actions", "--json"))
    assert plan["actions"][0]["text"] == TEXT_1
    at("2025-06-03T10:02", bot, "case", ref, "not-publishing", "--reasons", "Would identify the siblings",
       "--decided", "2025-06-02")
    out = tmp_path / "notice.txt"
    at("2025-06-03T10:03", bot, "case", ref, "draft", "non-publication-notice", "--out", str(out))
    at("2025-06-03T10:04", bot, "media", "new", "--outlet", "Gazette", "--subject", "case", "--case", ref,
       "--journalist", "Jo Quillfeather", "--summary", "Asks about the family")
    shown = json.loads(at("2025-06-03T10:05", bot, "media", "show", "ME-2025-0001", "--json"))
    assert shown["journalist"] == "Jo Quillfeather"
    log = json.loads(at("2025-06-03T10:06", bot, "access-log", "--case", ref, "--json"))
    assert [(r["at"][11:16], r["what"], r["detail"], r["actor"]) for r in log] == [
        ("09:00", "view", None, PLAN_BM), ("09:01", "view", "actions", PLAN_BM),
        ("09:03", "draft", "non-publication-notice", PLAN_BM), ("09:05", "view", "media", PLAN_BM)]


def test_no_sealed_column_can_be_compared_searched_or_sorted_in_sql() -> None:
    """Each sealing differs (a fresh nonce), so a WHERE on a sealed column would silently never
    match: every operator but the NULL tests is refused where the expression is built."""
    from sqlalchemy import literal

    from bot.at_rest_rotation import sealed_places
    from bot.models import SQLModel

    places = sealed_places()
    assert len(places) >= 30
    for place in places:
        sealed = SQLModel.metadata.tables[place.table].c[place.column]
        for build in (lambda c: c == "x", lambda c: c != b"x", lambda c: c.in_(["x"]),
                      lambda c: c.like("%x%"), lambda c: c.contains("x"), lambda c: c.startswith("x"),
                      lambda c: c.desc(), lambda c: c > "x", lambda c: c == literal("x")):
            with pytest.raises(TypeError, match=f"{place.table}.{place.column} is encrypted"):
                build(sealed)
        assert "IS NULL" in str(sealed.is_(None)) and "IS NOT NULL" in str(sealed.is_not(None))
        assert "IS NULL" in str(sealed == None)  # noqa: E711


def test_a_closed_complaint_is_kept_for_the_complaints_period_not_the_working_file_s(
    core: Core, maildir: MaildirGateway,
) -> None:
    """Complaints are held by the bot now (decision 0028): the protocol's ``complaints`` period
    applies to a complaint's case, and `review-bot retention` says so."""
    import dataclasses

    from bot.models_sar import Complaint
    from bot.protocol import parse_protocol
    from bot.retention import schedule

    core = dataclasses.replace(core, protocol=parse_protocol({"retention": {"complaints": "12 months"}}, "t"))
    at(core, CLOSED)
    ref = uc.open_complaint(core, UNIT, received_on=date(2026, 11, 18), complainant_name=COMPLAINANT,
                            complainant_contact="p@home.example").ref
    assert ref
    uc.close(core, UNIT, ref, reason=f"{COMPLAINANT} withdrew it")
    rows = {r.key: r for r in schedule(core)}
    assert rows["complaints"].held_by_bot and rows["complaints"].waiting == 1
    assert rows["case_working_file"].waiting == 0
    at(core, datetime(2027, 11, 19, 0, 0, 1, tzinfo=UTC))  # the day after the 12 months ended
    assert "complaints" in tick(core, maildir).purged
    with core.db.session() as s:
        case = get_case(s, ref)
        complaint = s.get(Complaint, case.id)
        assert complaint is not None and complaint.complainant_name == "purged"
        assert complaint.complainant_contact == "" and case.closed_reason is None
    assert COMPLAINANT not in texts(core)
    at(core, datetime(2040, 1, 1, tzinfo=UTC))
    assert tick(core, maildir).purged == {}  # not again under the working file's class


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    return Bot(tmp_path, database_url)
