"""The media log's purge (issue 13 item 2; decision 0030) with the media clock as rows (decision
0026): the alert's repeats are emptied with the rest of the enquiry's mail."""

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
