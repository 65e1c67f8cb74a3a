"""Mail to the press address becomes a media enquiry through the one intake pipeline (issue 4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.core import Core
from bot.models import InboundMessage, MediaEnquiry, OutboxMessage
from handlers.mail.intake import ingest
from tests.conftest import notified_case
from tests.support.eml.build import load

WED_10 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def wednesday(clock: FixedClock) -> None:
    clock.set(WED_10)


def enquiries(core: Core) -> list[MediaEnquiry]:
    with core.db.session() as s:
        return list(s.exec(select(MediaEnquiry).order_by(MediaEnquiry.id)))


def outbox(core: Core, kind: str) -> list[OutboxMessage]:
    with core.db.session() as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_a_forwarded_enquiry_is_routed_and_the_agency_reminded_not_to_respond(core: Core) -> None:
    case_ref = notified_case(core)
    result = ingest(core, load("media_forwarded"), mailbox="test").as_json()
    assert result["classification"] == "media-enquiry"
    assert result["case"] == case_ref and result["agency"] == "police"
    [enquiry] = enquiries(core)
    assert enquiry.ref == "ME-2026-0001" and enquiry.source == "email"
    assert enquiry.contact == "sam.writer@post.example" and enquiry.raising_agency == "police"
    assert enquiry.routing["row"] == 2  # the case is at information gathering: a review under way
    assert enquiry.journalist_deadline == datetime(2026, 11, 18, 16, 0, tzinfo=UTC)
    [alert] = outbox(core, "media_alert")
    assert "press.office@borough.example" in alert.to
    [ack] = outbox(core, "media_agency_ack")
    assert ack.to == ["press.liaison@police.example"] and "do not respond" in ack.body_text
    with core.db.session() as s:
        inbound = s.exec(select(InboundMessage)).one()
    assert inbound.classification == "media-enquiry" and inbound.triage_status is None


def test_a_journalist_writing_in_is_not_acknowledged(core: Core) -> None:
    result = ingest(core, load("media_direct"), mailbox="test").as_json()
    assert result["classification"] == "media-enquiry"
    [enquiry] = enquiries(core)
    assert enquiry.routing["route"] == "partnership" and enquiry.raising_agency is None
    assert outbox(core, "media_agency_ack") == []


def test_the_same_message_twice_is_one_enquiry(core: Core) -> None:
    notified_case(core)
    ingest(core, load("media_forwarded"), mailbox="test")
    again = ingest(core, load("media_forwarded"), mailbox="test").as_json()
    assert again["classification"] == "duplicate"
    assert len(enquiries(core)) == 1 and len(outbox(core, "media_alert")) == 1


def test_an_unknown_case_reference_still_alerts_and_says_so(core: Core) -> None:
    # No case SI-2026-0001 exists in this database.
    result = ingest(core, load("media_forwarded"), mailbox="test").as_json()
    assert result["classification"] == "media-enquiry" and result["case"] is None
    [enquiry] = enquiries(core)
    assert enquiry.routing["route"] == "incident"
    assert "case reference not found" in enquiry.summary


def test_an_out_of_office_sent_to_the_press_address_is_not_an_enquiry(core: Core) -> None:
    raw = load("out_of_office").replace(b"reviews@partnership.example", b"media@partnership.example")
    result = ingest(core, raw, mailbox="test").as_json()
    assert result["classification"] == "auto-reply"
    assert enquiries(core) == []
