"""Purges of records later parts added (issue 13 item 2; decision 0030): the media log with the
media clock as rows (decision 0026: the alert's repeats are emptied with the rest of the
enquiry's mail), and a complaint's complainant (decision 0028)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot import media
from bot.core import Core
from bot.mail.maildir import MaildirGateway
from bot.media import EnquiryInput
from bot.models import MediaEnquiry, OutboxMessage
from schedules.sweep import tick
from tests.test_retention import BM, CLOSED, JOURNALIST, at, texts


def test_a_media_log_purge_empties_the_clock_s_repeats_too(core: Core, maildir: MaildirGateway) -> None:
    """The alert's repeats are keyed by the clock's row (bot.media_chasers), not media:<id>:; they
    are part of the media log, and its purge empties them as well."""
    at(core, CLOSED)
    with core.transaction() as s:
        enquiry = media.receive_enquiry(s, core, EnquiryInput(
            outlet="Radio", subject="general", journalist=JOURNALIST,
            contact="jo@radio.example"), actor=BM, source="cli")
        enquiry_id = enquiry.id
    at(core, CLOSED + timedelta(minutes=20))  # nobody acknowledged: the alert repeats
    tick(core, maildir)
    with core.transaction() as s:
        enquiry = s.get(MediaEnquiry, enquiry_id)
        assert enquiry is not None
        media.close_enquiry(s, core, enquiry, reason="answered", actor=BM, team_member=True)
    tick(core, maildir)

    def repeats() -> list[OutboxMessage]:
        with core.db.session() as s:
            return list(s.exec(select(OutboxMessage).where(
                col(OutboxMessage.reason).contains(f"media:{enquiry_id}:"))))

    [repeat] = repeats()
    assert repeat.kind == "media_alert_repeat" and repeat.status == "sent"
    assert repeat.body_text and repeat.to
    at(core, datetime(2035, 1, 1, tzinfo=UTC))
    assert "media_log" in tick(core, maildir).purged
    [repeat] = repeats()
    assert (repeat.body_text, repeat.to) == ("", [])
    assert JOURNALIST not in texts(core)


def test_a_complaint_s_complainant_goes_with_its_working_file(core: Core, maildir: MaildirGateway) -> None:
    """A complaint is a case (decision 0028): its complainant is emptied like a case working file,
    under the complaints' own class and period (72 months after it closed by default); its dates
    stay for the complaints log."""
    from bot import complaints
    from bot.models_sar import Complaint

    at(core, CLOSED)
    with core.transaction() as s:
        case = complaints.open_complaint(
            s, core, received_on=CLOSED.date(), complainant_name="Morwenna Tregarthen",
            complainant_contact="07700 900123", actor=BM, source="cli")
        complaints.close(s, core, case, reason="resolved", actor=BM)
        case_id = case.id
    tick(core, maildir)
    assert "Morwenna Tregarthen" in texts(core)
    at(core, datetime(2032, 11, 19, 0, 0, 1, tzinfo=UTC))  # 72 months after closure, and a day
    assert "complaints" in tick(core, maildir).purged
    with core.db.session() as s:
        complaint = s.get(Complaint, case_id)
        assert complaint is not None and complaint.received_on == CLOSED.date()
        assert (complaint.complainant_name, complaint.complainant_contact) == ("purged", "")
    assert "Morwenna" not in texts(core) and "07700 900123" not in texts(core)
