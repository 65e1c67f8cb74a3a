"""Complaints (process.md 2.6; STK l.418-427): the 28 day clocks against dates worked out by hand,
the owners chased through the outbox within working hours, the Ombudsman's details in every
response draft, refusals that name what comes first, the legal-hold question another part asks,
and a canary complainant who never reaches a log line, an audit detail, an email or a chat post."""

from __future__ import annotations

import dataclasses
import email
import json
import logging
from datetime import date, datetime
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot import complaints, review_clocks
from bot.actors import Actor
from bot.cases import get_case
from bot.clock import FixedClock
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.mail.maildir import MaildirGateway
from bot.models import Event, OutboxMessage
from bot.protocol import ProtocolError, parse_protocol
from bot.stages import Stage
from bot.usecases import sar_complaints as uc
from schedules.sweep import tick
from tests.conftest import RecordingNotifier, new_case
from tests.test_e2e import Bot

BM = "business.manager@partnership.example"
CHAIR = "chair@partnership.example"
LONDON = ZoneInfo("Europe/London")
CANARY = "Philippa Quennell-Ostrowska"
CANARY_CONTACT = "quennell.canary@homemail.example"
UNIT = Actor(key=BM, surface="cli", roles=frozenset({"business_unit"}), email=BM)
STRANGER = Actor(key="slack:UOTHER", surface="slack", roles=frozenset())


def local(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=LONDON)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=LONDON)


def due(core: Core, ref: str, kind: str) -> datetime:
    with core.db.session() as s:
        found = review_clocks.find(s, get_case(s, ref), kind)
        assert found is not None
        return found.due_at


def received(core: Core, clock: FixedClock, on: date, **kw: object) -> str:
    clock.set(local(on.year, on.month, on.day, 11))
    return uc.open_complaint(core, UNIT, received_on=on, complainant_name=CANARY,
                             complainant_contact=CANARY_CONTACT, **kw).ref or ""  # type: ignore[arg-type]


def sent(maildir: MaildirGateway) -> list[email.message.EmailMessage]:
    root = Path(maildir.name.removeprefix("maildir:")) / "sent"
    files = [p for sub in ("new", "cur") for p in (root / sub).glob("*")]
    return sorted((email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files),
                  key=lambda m: m["Date"].datetime)


def test_the_clocks_are_28_calendar_days_across_christmas(core: Core, clock: FixedClock) -> None:
    # Received Mon 15 Dec 2025: 28 days later is Mon 12 Jan 2026 (bank holidays do not move a
    # calendar-day clock; STK l.420 says days).
    ref = received(core, clock, date(2025, 12, 15))
    assert ref.startswith("CO-2025-") and due(core, ref, "complaint_response") == end_of(2026, 1, 12)
    clock.set(local(2026, 1, 9, 15))
    uc.respond(core, UNIT, ref)
    # The complainant contacts the Board Business Manager Mon 19 Jan: the Independent Chair answers
    # within 28 days of that contact (STK l.425), Mon 16 Feb 2026, not 28 days after our response.
    clock.set(local(2026, 1, 20))
    uc.escalate(core, UNIT, ref, on=date(2026, 1, 19))
    assert due(core, ref, "complaint_escalation") == end_of(2026, 2, 16)
    with core.db.session() as s:
        case = get_case(s, ref)
        found = [review_clocks.find(s, case, k) for k in ("complaint_response", "complaint_escalation")]
        owners = {d.kind: (d.owner, d.met_at is not None) for d in found if d}
    assert owners == {"complaint_response": ("business_manager", True),
                      "complaint_escalation": ("chair", False)}
    clock.set(local(2026, 2, 10))
    assert "Independent Chair's response recorded" in uc.respond(core, UNIT, ref).message
    assert uc.close(core, UNIT, ref, reason="answered", ombudsman=True).data["stage"] == Stage.CLOSED
    with core.db.session() as s:
        _, complaint = complaints.get_complaint(s, ref)
    assert complaint.ombudsman_referred and complaint.chair_responded_on == date(2026, 2, 10)


def test_a_protocol_may_set_working_days(core: Core, clock: FixedClock) -> None:
    other = dataclasses.replace(core, protocol=parse_protocol(
        {"complaints": {"response": "20 working days"}}, "test"))
    # Mon 15 Dec 2025 + 20 working days, skipping 25, 26 Dec and 1 Jan: 16-19 (4), 22-24 (7),
    # 29-31 (10), 2 (11), 5-9 (16), 12-15 (20) -> Thu 15 Jan 2026.
    ref = received(other, clock, date(2025, 12, 15))
    assert due(other, ref, "complaint_response") == end_of(2026, 1, 15)
    with pytest.raises(ProtocolError, match="cannot be blank"):
        parse_protocol({"complaints": {"ombudsman": {"phone": " "}}}, "test")


def test_owners_are_chased_and_a_response_between_queue_and_delivery_stops_it(
    core: Core, clock: FixedClock, maildir: MaildirGateway,
) -> None:
    # Received Fri 28 Nov 2025: due Fri 26 Dec, Boxing Day. The chase waits for working hours:
    # the next working moment after it is Mon 29 Dec 09:00.
    ref = received(core, clock, date(2025, 11, 28))
    assert due(core, ref, "complaint_response") == end_of(2025, 12, 26)
    seen = 0

    def mail_at(moment: datetime) -> list[str]:
        nonlocal seen
        clock.set(moment)
        tick(core, maildir)
        new = sent(maildir)[seen:]
        seen += len(new)
        return [str(m["Subject"]).split("] ", 1)[1].split(":")[0] for m in new]

    # The reminder 2 working days before: back from Boxing Day over Christmas Day to Wed 24 Dec (1)
    # and Tue 23 Dec (2), 23:59, so the next working moment, Wed 24 Dec 09:00. The overdue chase at
    # the first working moment after Boxing Day and the weekend: Mon 29 Dec 09:00.
    for moment in (local(2025, 12, 22, 9), local(2025, 12, 23, 16), local(2025, 12, 24, 8, 59)):
        assert mail_at(moment) == [], moment
    assert mail_at(local(2025, 12, 24, 9)) == ["Reminder"]
    for moment in (local(2025, 12, 24, 16), local(2025, 12, 27, 12), local(2025, 12, 29, 8, 59)):
        assert mail_at(moment) == [], moment
    assert mail_at(local(2025, 12, 29, 9)) == ["Overdue"]
    overdue = sent(maildir)[-1]
    assert str(overdue["To"]) == BM and "written response to the complaint (D-C1)" in str(overdue["Subject"])
    assert f"For complaint {ref}" in overdue.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # The escalation step (2 working days on: Wed 31 Dec 09:00) is queued, then the response is
    # recorded before the outbox delivers it: it is cancelled, not sent.
    from bot.chasers import chase_overdue
    from bot.outbox import deliver

    clock.set(local(2025, 12, 31, 9))
    assert chase_overdue(core).steps == 1
    clock.set(local(2025, 12, 31, 9, 1))
    uc.respond(core, UNIT, ref)
    count = len(sent(maildir))
    deliver(core, maildir)
    assert len(sent(maildir)) == count
    with core.db.session() as s:
        escalation = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "owner_escalation")).one()
    assert escalation.status == "cancelled"


def test_the_chair_is_chased_for_an_escalated_complaint(
    core: Core, clock: FixedClock, maildir: MaildirGateway,
) -> None:
    ref = received(core, clock, date(2026, 1, 5))
    clock.set(local(2026, 1, 6))
    uc.respond(core, UNIT, ref)
    clock.set(local(2026, 1, 19))
    uc.escalate(core, UNIT, ref)  # due Mon 16 Feb 2026
    # The reminder 2 working days before: Thu 12 Feb 23:59 -> Fri 13 Feb 09:00, to the Chair.
    clock.set(local(2026, 2, 13, 8, 59))
    tick(core, maildir)
    count = len(sent(maildir))
    clock.set(local(2026, 2, 13, 9))
    tick(core, maildir)
    [reminder] = sent(maildir)[count:]
    assert str(reminder["To"]) == CHAIR
    subject = str(reminder["Subject"])
    assert "Reminder: Independent Chair's response to the escalated complaint (D-C2)" in subject


def test_refusals_name_what_comes_first(core: Core, clock: FixedClock) -> None:
    ref = received(core, clock, date(2026, 11, 16))
    first = rf"record the written response first \(review-bot complaint {ref} respond\)"
    with pytest.raises(Refused, match=first):
        uc.escalate(core, UNIT, ref)
    uc.respond(core, UNIT, ref)
    with pytest.raises(Refused, match=f"review-bot complaint {ref} escalate"):
        uc.respond(core, UNIT, ref)
    with pytest.raises(Invalid, match="cannot precede"):
        uc.escalate(core, UNIT, ref, on=date(2026, 11, 10))
    with pytest.raises(Invalid) as caught:
        uc.open_complaint(core, UNIT, received_on=date(2026, 12, 1), complainant_name=" ", about="weather",
                          about_ref="SI-2099-0001")
    assert set(caught.value.errors) == {"received_on", "complainant_name", "about", "about_ref"}
    with pytest.raises(Invalid) as caught:
        uc.open_complaint(core, UNIT, received_on=None, complainant_name="A\x00B",
                          complainant_contact="x" * 321)
    assert set(caught.value.errors) == {"complainant_name", "complainant_contact"}
    assert "A\x00B" not in str(caught.value)
    with pytest.raises(Refused, match="business unit"):
        uc.show(core, STRANGER, ref)
    with pytest.raises(Refused, match="not a complaint"):
        uc.respond(core, UNIT, new_case(core))
    with core.db.session() as s:
        refused = s.exec(select(Event).where(Event.kind == "action_refused")).all()
    assert [e.detail["action"] for e in refused] == ["complaint_show"]


def test_every_response_draft_carries_the_ombudsman(core: Core, clock: FixedClock) -> None:
    child = new_case(core)
    ref = received(core, clock, date(2026, 11, 16), about="decision", about_ref=child)
    first = uc.draft_response(core, UNIT, ref).data["text"]
    clock.set(local(2026, 11, 20))
    uc.respond(core, UNIT, ref)
    uc.escalate(core, UNIT, ref)
    chair = uc.draft_response(core, UNIT, ref).data["text"]
    uc.respond(core, UNIT, ref)
    uc.close(core, UNIT, ref, reason="answered")
    after = uc.draft_response(core, UNIT, ref).data["text"]
    for text in (first, chair, after):
        assert "Local Government and Social Care Ombudsman" in text
        assert "https://www.lgo.org.uk" in text and "0300 061 0614" in text
        assert f"Our reference: {ref} (about {child})" in text and CANARY in text
    assert "Board Business Manager" in first and "within 28 days of your contacting them" in first
    assert "the decision whether to conduct a review" in first
    assert "Independent Chair (example)" in chair and "Independent Chair's response" in chair
    custom = dataclasses.replace(core, protocol=parse_protocol(
        {"complaints": {"ombudsman": {"name": "Local Government Ombudsman", "phone": "0300 000 0000"}}}, "t"))
    text = uc.draft_response(custom, UNIT, ref).data["text"]
    assert "Local Government Ombudsman to look" in text and "0300 000 0000" in text


def test_open_complaints_of_a_case_for_the_legal_hold(core: Core, clock: FixedClock) -> None:
    child = new_case(core)
    ref = received(core, clock, date(2026, 11, 16), about="process", about_ref=child)
    received(core, clock, date(2026, 11, 16))  # about nothing in particular
    with core.db.session() as s:
        assert [c.ref for c in complaints.open_complaints_of(s, get_case(s, child))] == [ref]
    uc.close(core, UNIT, ref, reason="withdrawn by the complainant")
    with core.db.session() as s:
        assert complaints.open_complaints_of(s, get_case(s, child)) == []
        events = [e.kind for e in s.exec(select(Event).where(Event.case_id == get_case(s, child).id))]
    assert "complaint_received" in events  # the case's own timeline shows it, by reference


def test_the_complainant_never_leaves_the_record(
    core: Core, clock: FixedClock, maildir: MaildirGateway, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    child = new_case(core)
    ref = received(core, clock, date(2026, 11, 2), about="outcome", about_ref=child)
    for moment in (local(2026, 11, 27, 9), local(2026, 12, 1, 9), local(2026, 12, 3, 9)):
        clock.set(moment)
        tick(core, maildir)
    clock.set(local(2026, 12, 3, 10))
    uc.respond(core, UNIT, ref)
    uc.escalate(core, UNIT, ref)
    assert CANARY not in json.dumps(uc.listing(core, UNIT, include_closed=True).view)
    assert CANARY in json.dumps(uc.show(core, UNIT, ref).view)  # the unit's own record has it
    uc.draft_response(core, UNIT, ref)
    uc.close(core, UNIT, ref, reason="answered")
    with core.db.session() as s:
        details = json.dumps([e.detail for e in s.exec(select(Event))])
        mail = [(m.subject, m.body_text, m.body_html or "") for m in s.exec(select(OutboxMessage))]
    assert len(sent(maildir)) >= 2  # reminders and chases went, without the complainant
    notifier = next(n for n in core.notifiers if isinstance(n, RecordingNotifier))
    for secret in (CANARY, CANARY_CONTACT, "Quennell"):
        assert secret not in caplog.text and secret not in details
        assert all(secret not in part for message in mail for part in message)
        assert secret not in repr(notifier.calls)


def test_a_complaint_end_to_end_through_the_cli(bot: Bot, tmp_path: Path) -> None:
    def at(now: str, *args: str, code: int = 0) -> str:
        return bot("--now", now, "--actor", BM, *args, code=code).output

    out = at("2025-12-15T11:00", "complaint", "open", "--received", "2025-12-15", "--name", CANARY,
             "--contact", CANARY_CONTACT, "--about", "process")
    assert out.strip() == "CO-2025-0001: complaint recorded; written response due by Mon 12 Jan 2026"
    assert "record the written response first" in at("2025-12-16T10:00", "complaint", "escalate",
                                                      "CO-2025-0001", code=2)
    [row] = json.loads(at("2025-12-16T10:00", "complaint", "list", "--json"))
    assert row["due_at"] == "2026-01-12T23:59:59+00:00" and row["stage"] == "complaint_received"
    assert CANARY not in json.dumps(row)
    at("2026-01-09T15:00", "complaint", "respond", "CO-2025-0001")
    said = at("2026-01-20T10:00", "complaint", "CO-2025-0001", "escalate", "--on", "2026-01-19")
    assert "further response due by Mon 16 Feb 2026" in said
    draft = tmp_path / "response.txt"
    at("2026-01-20T10:05", "complaint", "CO-2025-0001", "draft-response", "--out", str(draft))
    text = draft.read_text()
    assert "Local Government and Social Care Ombudsman" in text and "Independent Chair" in text
    view = json.loads(at("2026-01-20T10:10", "case", "CO-2025-0001", "--json"))
    assert [(d["kind"], d["state"], d["owner"]) for d in view["deadlines"]] == [
        ("complaint_response", "met", "business_manager"), ("complaint_escalation", "open", "chair")]
    assert view["complaint"]["escalated_on"] == "2026-01-19" and CANARY not in json.dumps(view)
    at("2026-02-10T10:00", "complaint", "respond", "CO-2025-0001")
    at("2026-02-20T10:00", "complaint", "close", "CO-2025-0001", "--reason", "answered", "--ombudsman")
    assert json.loads(at("2026-02-20T10:00", "complaint", "list", "--json")) == []
    [closed] = json.loads(at("2026-02-20T10:00", "complaint", "list", "--all", "--json"))
    assert closed["ombudsman_referred"] is True and closed["chair_responded_on"] == "2026-02-10"


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    return Bot(tmp_path, database_url)


def test_the_cards_show_steps_and_buttons_never_the_complainant(core: Core, clock: FixedClock) -> None:
    from bot import sar
    from bot.usecases.cases import card_actions
    from bot.views import case_view
    from handlers.slack.blocks import case_card as slack_card
    from handlers.teams.views import case_card as teams_card

    ref = received(core, clock, date(2026, 11, 16))
    with core.transaction() as s:
        adult = sar.open_sar(s, core, received_at=clock.now(), referring_agency="police", outcome="death",
                             actor=BM, source="cli").ref
    for case_ref, button in ((ref, "Response sent"), (adult, "Screening meeting held")):
        with core.db.session() as s:
            view = case_view(s, core, get_case(s, case_ref))
        actions = card_actions(view["stage"])
        shown = json.dumps([slack_card(view, now=clock.now(), tz=LONDON),
                            teams_card(view, actions, now=clock.now(), tz=LONDON)])
        assert button in shown and case_ref in shown
        assert CANARY not in shown and CANARY_CONTACT not in shown
    clock.set(local(2026, 11, 17))
    from bot.usecases.cases import act

    assert act(core, UNIT, ref, "complaint_respond").data["stage"] == Stage.COMPLAINT_RESPONDED
    assert act(core, UNIT, ref, "complaint_escalate").data["stage"] == Stage.COMPLAINT_ESCALATED
    assert due(core, ref, "complaint_escalation") == end_of(2026, 12, 15)  # 17 Nov + 28 days
