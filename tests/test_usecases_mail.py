"""The mail intake's use cases called directly (issue 11 item 1; decision 0025): the rules that
moved out of the mail door (sender verification, which request a message returns, the case a
referral opens, who raised a media enquiry) judged from a :class:`MailIn` the way any door would
describe a message. The Maildir end to end is tests/test_intake*.py and tests/test_e2e_sender.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot import agency_requests as ar
from bot.actors import BUSINESS_UNIT
from bot.cases import get_case
from bot.clock import FixedClock
from bot.core import Core
from bot.inbound import InboundAttachment, record_message
from bot.mail.authresults import SenderVerdict
from bot.media import EnquiryInput
from bot.models import AgencyRequest, Attachment, Case, Event, InboundMessage, MediaEnquiry
from bot.usecases.mail import (
    UNKNOWN_SENDER,
    IntakeResult,
    MailEnquiry,
    MailIn,
    hold_for_triage,
    mail_actor,
    receive_auto_reply,
    receive_bounce,
    receive_reused_id,
    receive_unreadable,
)
from bot.usecases.mail_media import receive_media_enquiry
from bot.usecases.mail_referral import receive_referral
from bot.usecases.mail_return import receive_return
from tests.conftest import notified_case

POLICE = "reviews@police.example"
PASS = SenderVerdict(POLICE, "police.example", verified=True, internal=False,
                     reason="dmarc=pass at mx.partnership.example")
FAIL = SenderVerdict(POLICE, "police.example", verified=False, internal=False,
                     reason="dmarc=fail (header.from=police.example) at mx.partnership.example")
PDF = InboundAttachment("return.pdf", "application/pdf", b"%PDF-1.4 return")
WED_10 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


@pytest.fixture
def case_ref(core: Core) -> str:
    """SI-2026-0001 with information gathering requests out to the police and the ICB."""
    ref = notified_case(core)
    with core.transaction() as s:
        ar.send_requests(s, core, get_case(s, ref), kind="info-gathering", agencies=["police", "icb"],
                         actor="bm@partnership.example")
    return ref


def police_request(core: Core) -> AgencyRequest:
    with core.db.session() as s:
        return s.exec(select(AgencyRequest).where(AgencyRequest.agency == "police")).one()


def receive(
    core: Core, use_case: Callable[..., IntakeResult], mail: MailIn, *args: object
) -> tuple[IntakeResult, InboundMessage]:
    """Record the message as the door does (decision 0006), then call ONE use case, in one
    transaction; returns the result and the inbound row as committed."""
    with core.transaction() as s:
        inbound = record_message(s, core, message_id=mail.message_id, raw=b"raw", mailbox="test",
                                 from_addr=mail.from_addr).row
        result = use_case(s, core, mail_actor(core, mail.from_addr), inbound, mail, *args)
        inbound_id = inbound.id
    with core.db.session() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row is not None
        return result, row


def police_reply(core: Core, **overrides: object) -> MailIn:
    fields: dict[str, object] = {
        "message_id": "<reply@police.example>", "from_addr": POLICE, "from_domain": "police.example",
        "subject": "RE: Information gathering [SI-2026-0001]",
        "thread_ids": [police_request(core).message_id], "verdict": PASS,
    }
    fields.update(overrides)
    return MailIn(**fields)  # type: ignore[arg-type]


# --- an agency's return: sender verification is the core's rule ------------------------------


def test_a_verified_return_by_its_thread_is_recorded_as_the_senders(core: Core, case_ref: str) -> None:
    result, inbound = receive(core, receive_return, police_reply(core, attachments=[PDF]))
    assert (result.classification, result.case, result.agency, result.triage) == (
        "agency-return", case_ref, "police", None)
    request = police_request(core)
    assert request.status == "returned" and request.returned_via == "email"
    assert (inbound.request_id, inbound.agency, inbound.triage_status) == (request.id, "police", None)
    with core.db.session() as s:
        event = s.exec(select(Event).where(Event.kind == "return_received")).one()
        [kept] = s.exec(select(Attachment).where(Attachment.inbound_id == inbound.id)).all()
    assert event.actor == POLICE and kept.display_name == "return.pdf"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        pytest.param({"verdict": FAIL}, "the sender could not be verified: dmarc=fail "
                     "(header.from=police.example) at mx.partnership.example", id="boundary-says-fail"),
        pytest.param({"verdict": None}, "the sender could not be verified: no authentication results "
                     "were read", id="no-verdict"),
        pytest.param({"from_addr": "x@police.example.evil", "from_domain": "police.example.evil"},
                     "the sender's domain police.example.evil is not one of police's (police.example)",
                     id="lookalike-domain"),
        pytest.param({"from_addr": "", "from_domain": ""}, "the sender's address could not be read",
                     id="unreadable-sender"),
    ],
)
def test_a_return_whose_sender_cannot_speak_for_the_agency_waits_in_triage(
    core: Core, case_ref: str, overrides: dict[str, object], problem: str
) -> None:
    result, inbound = receive(core, receive_return, police_reply(core, attachments=[PDF], **overrides))
    assert result.classification == "unknown" and (result.case, result.agency) == (case_ref, "police")
    assert result.triage == (f"looks like police's info-gathering return for {case_ref}, but {problem}")
    assert police_request(core).status == "sent"  # not returned: a person decides
    assert inbound.triage_status == "open" and inbound.triage_reason == result.triage
    with core.db.session() as s:
        assert s.exec(select(Attachment).where(Attachment.inbound_id == inbound.id)).all() != []
        assert s.exec(select(Event).where(Event.kind == "return_received")).all() == []


def test_a_return_on_a_withdrawn_request_is_not_recorded(core: Core, case_ref: str) -> None:
    with core.transaction() as s:
        s.get(AgencyRequest, police_request(core).id).status = "closed"  # type: ignore[union-attr]
    result, _ = receive(core, receive_return, police_reply(core))
    assert result.triage == (f"police's info-gathering request on {case_ref} was withdrawn; "
                             "a return arrived anyway")


def test_a_return_by_reference_is_matched_to_the_senders_agency(core: Core, case_ref: str) -> None:
    result, _ = receive(core, receive_return, police_reply(core, thread_ids=[], case_refs=[case_ref]))
    assert (result.classification, result.agency) == ("agency-return", "police")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"from_addr": "x@elsewhere.example", "from_domain": "elsewhere.example"},
         "about SI-2026-0001, but the sender's domain elsewhere.example belongs to no agency"),
        ({"case_refs": ["SI-2026-0001", "SI-2026-0002"]}, "names several cases: SI-2026-0001, SI-2026-0002"),
        ({"case_refs": ["SI-2026-0099"]}, "names case SI-2026-0099, which does not exist"),
        ({"from_addr": "x@school.example", "from_domain": "school.example"},
         "about SI-2026-0001 from school, which has no request"),
    ],
)
def test_a_reference_that_names_no_one_request_goes_to_triage(
    core: Core, case_ref: str, overrides: dict[str, object], reason: str
) -> None:
    mail = police_reply(core, thread_ids=[], case_refs=[case_ref])
    for name, value in overrides.items():
        setattr(mail, name, value)
    result, inbound = receive(core, receive_return, mail)
    assert result.classification == "unknown" and result.triage == reason
    assert inbound.triage_status == "open" and police_request(core).status == "sent"


def test_a_reply_matching_nothing_goes_to_triage(core: Core, case_ref: str) -> None:
    result, _ = receive(core, receive_return, police_reply(core, thread_ids=["<other@x.example>"]))
    assert result.triage == "matches no case, request or referral" and result.case is None


# --- a referral by email ----------------------------------------------------------------------

FORM = {"date of incident": "12/11/2026", "date local authority became aware": "13/11/2026",
        "outcome": "Death", "abuse or neglect": "Yes", "age band": "5-9"}


def referral(**overrides: object) -> MailIn:
    fields: dict[str, object] = {
        "message_id": "<referral@borough.example>", "from_addr": "duty@borough.example",
        "from_domain": "borough.example", "subject": "Serious incident referral",
        "referral_like": True, "fields": dict(FORM),
        "verdict": SenderVerdict("duty@borough.example", "borough.example", True, False, "dmarc=pass"),
    }
    fields.update(overrides)
    return MailIn(**fields)  # type: ignore[arg-type]


def test_a_referral_missing_a_field_is_opened_with_the_field_to_complete(
    core: Core, clock: FixedClock
) -> None:
    clock.set(WED_10)
    result, inbound = receive(core, receive_referral, referral())
    assert (result.classification, result.case, result.agency) == ("referral", "SI-2026-0001", "la-csc")
    with core.db.session() as s:
        case = get_case(s, "SI-2026-0001")
        # The legal status was not in the form: the business unit completes it (process.md 7.1).
        assert case.legal_status is None and any("legal status" in m for m in case.missing)
        assert (case.referring_agency, case.source) == ("la-csc", "email")
        assert case.referrer == "duty@borough.example"
    assert inbound.case_id == case.id and inbound.triage_status is None


def test_an_unreadable_answer_is_a_note_naming_the_field(core: Core, clock: FixedClock) -> None:
    clock.set(WED_10)
    result, _ = receive(core, receive_referral, referral(fields={**FORM, "date of incident": "31/02/2026"}))
    assert result.classification == "referral"
    with core.db.session() as s:
        case = get_case(s, "SI-2026-0001")
    assert case.incident_date is None
    assert "date of incident (could not be read as a past date)" in case.missing


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"verdict": SenderVerdict("duty@borough.example", "borough.example", False, False, "no results")},
         "a referral whose sender could not be verified"),
        ({"from_addr": "someone@mail.example", "from_domain": "mail.example"},
         "a referral from outside the partnership's agencies (mail.example); open the case by hand if "
         "it is genuine"),
    ],
)
def test_a_referral_from_a_sender_who_cannot_be_trusted_opens_no_case(
    core: Core, overrides: dict[str, object], reason: str
) -> None:
    result, inbound = receive(core, receive_referral, referral(attachments=[PDF], **overrides))
    assert result.classification == "unknown" and result.triage == reason
    with core.db.session() as s:
        assert s.exec(select(Case)).all() == []
        assert len(s.exec(select(Attachment).where(Attachment.inbound_id == inbound.id)).all()) == 1


# --- a media enquiry --------------------------------------------------------------------------


def enquiry_mail(*, forwarded: bool, verdict: SenderVerdict | None, **data: object) -> MailIn:
    fields: dict[str, object] = {"outlet": "Post", "subject": "agency", "summary": "Question"}
    fields.update(data)
    return MailIn(
        message_id="<enquiry@police.example>", from_addr="press.liaison@police.example",
        from_domain="police.example", to_press=True, verdict=verdict,
        enquiry=MailEnquiry(EnquiryInput(**fields),  # type: ignore[arg-type]
                            forwarded_by="press.liaison@police.example" if forwarded else None),
    )


@pytest.mark.parametrize(
    ("forwarded", "verdict", "raising", "subject"),
    [
        (True, PASS, "police", "agency"),  # M-2: the agency that forwarded it raised it
        (True, FAIL, None, "case"),  # not verified: not taken to speak for the police
        (False, PASS, None, "case"),  # a journalist writing in raises no agency
    ],
)
def test_who_raised_a_media_enquiry_is_the_verified_forwarding_agency(
    core: Core, clock: FixedClock, forwarded: bool, verdict: SenderVerdict, raising: str | None,
    subject: str,
) -> None:
    clock.set(WED_10)
    result, inbound = receive(core, receive_media_enquiry, enquiry_mail(forwarded=forwarded, verdict=verdict))
    assert (result.classification, result.agency) == ("media-enquiry", raising)
    with core.db.session() as s:
        enquiry = s.exec(select(MediaEnquiry)).one()
    assert (enquiry.raising_agency, enquiry.subject, enquiry.source) == (raising, subject, "email")
    assert enquiry.raised_by == "press.liaison@police.example" and inbound.agency == raising


def test_an_unknown_case_reference_still_opens_the_enquiry(core: Core, clock: FixedClock) -> None:
    clock.set(WED_10)
    mail = enquiry_mail(forwarded=False, verdict=None, subject="case", case_ref="SI-2026-0099")
    result, _ = receive(core, receive_media_enquiry, mail)
    assert result.classification == "media-enquiry" and result.case is None
    with core.db.session() as s:
        enquiry = s.exec(select(MediaEnquiry)).one()
    assert enquiry.case_id is None and "[case reference not found:" in enquiry.summary
    # The door's reading is kept as read (a batch rolled back acts on it again).
    assert mail.enquiry is not None and mail.enquiry.data.case_ref == "SI-2026-0099"


# --- mail about mail, and what a person must look at -------------------------------------------


def test_an_out_of_office_is_noted_on_the_request_it_answers(core: Core, case_ref: str) -> None:
    mail = police_reply(core, auto_marker="auto-submitted: auto-replied", out_of_office=True, verdict=None)
    result, inbound = receive(core, receive_auto_reply, mail)
    assert (result.classification, result.case, result.agency) == ("auto-reply", case_ref, "police")
    assert police_request(core).last_auto_reply_at is not None and police_request(core).status == "sent"
    assert inbound.triage_status is None


def test_automatic_mail_that_looks_like_a_referral_goes_to_a_person(core: Core) -> None:
    mail = referral(auto_marker="auto-submitted: auto-generated", verdict=None)
    result, inbound = receive(core, receive_auto_reply, mail)
    assert result.triage == ("marked as automatic mail (auto-submitted: auto-generated) but looks like "
                             "a referral; check it")
    assert inbound.triage_status == "open"
    with core.db.session() as s:
        assert s.exec(select(Case)).all() == []


def test_an_auto_reply_to_nothing_of_ours_is_recorded_not_triaged(core: Core) -> None:
    result, inbound = receive(core, receive_auto_reply, MailIn("<ooo@x.example>", auto_marker="subject",
                                                               out_of_office=True))
    assert (result.classification, result.triage, inbound.triage_status) == ("auto-reply", None, None)


def test_a_bounce_names_its_request_or_waits_in_triage(core: Core, case_ref: str) -> None:
    known = MailIn("<dsn1@mx.example>", from_addr="mailer-daemon@mx.example",
                   bounced_ids=[police_request(core).message_id or ""])
    result, _ = receive(core, receive_bounce, known)
    assert (result.classification, result.case, result.agency) == ("bounce", case_ref, "police")
    assert police_request(core).bounced_at is not None
    result, inbound = receive(core, receive_bounce, MailIn("<dsn2@mx.example>", bounced_ids=["<x@y>"]))
    assert result.triage == "a delivery failure for a message the bot cannot identify"
    assert inbound.triage_status == "open"


def test_what_cannot_be_matched_is_held_with_its_reason(core: Core) -> None:
    result, _ = receive(core, receive_unreadable, MailIn("<big@x.example>", unreadable="over a limit"))
    assert result.triage == "not read automatically: over a limit"
    result, _ = receive(core, receive_unreadable, MailIn("<junk@x.example>"))
    assert result.triage == "the message could not be parsed as email"
    result, _ = receive(core, receive_reused_id, MailIn("<again@x.example>", attachments=[PDF]), 7)
    assert result.triage == ("reuses the Message-ID of inbound message 7 with different content; "
                             "compare the two")
    result, inbound = receive(core, hold_for_triage, MailIn("<what@x.example>"))
    assert (result.classification, result.triage) == ("unknown", "matches no case, request or referral")
    assert inbound.triage_reason == result.triage


def test_the_sender_is_an_actor_resolved_from_the_protocol(core: Core) -> None:
    manager = mail_actor(core, "business.manager@partnership.example")
    assert manager.surface == "email" and manager.has(BUSINESS_UNIT)
    assert manager.key == "business.manager@partnership.example"
    stranger = mail_actor(core, "x@elsewhere.example")
    assert stranger.key == "x@elsewhere.example" and not stranger.roles
    assert mail_actor(core, "").key == UNKNOWN_SENDER and not mail_actor(core, "").roles
