"""The mail intake over the .eml corpus (tests/support/eml/README.md says what each one is)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot import agency_requests as ar
from bot.cases import get_case
from bot.clock import FixedClock
from bot.core import Core
from bot.models import AgencyRequest, Attachment, Event, InboundMessage, OutboxMessage
from bot.views import case_view, triage_list
from handlers.mail.intake import ingest
from tests.conftest import notified_case
from tests.support.eml.build import load, oversized_attachment

BM = "bm@partnership.example"
AGENCIES = ["police", "icb", "school", "charity", "acute-trust"]


@pytest.fixture
def case_ref(core: Core) -> str:
    """SI-2026-0001 with information gathering requests out to five agencies."""
    ref = notified_case(core)
    with core.transaction() as s:
        ar.send_requests(s, core, get_case(s, ref), kind="info-gathering", agencies=AGENCIES,
                         actor=BM)
    return ref


def request_id_for(core: Core, agency: str) -> str:
    with core.db.session() as s:
        req = s.exec(select(AgencyRequest).where(AgencyRequest.agency == agency)).one()
        assert req.message_id
        return req.message_id


def feed(core: Core, name: str, agency: str = "police", ref: str = "SI-2026-0001") -> dict:  # type: ignore[type-arg]
    raw = load(name, request_message_id=request_id_for(core, agency), case_ref=ref)
    return ingest(core, raw, mailbox="test").as_json()


def request(core: Core, agency: str) -> AgencyRequest:
    with core.db.session() as s:
        return s.exec(select(AgencyRequest).where(AgencyRequest.agency == agency)).one()


@pytest.mark.parametrize(
    ("fixture", "agency"),
    [
        ("reply_in_reply_to", "police"),
        ("reply_subject_token_only", "icb"),
        ("reply_forwarded_colleague", "police"),
        ("html_only", "acute-trust"),
        ("non_utf8", "school"),
        ("attachment_path_name", "charity"),
    ],
)
def test_agency_returns_are_matched_and_stop_the_chasers(
    core: Core, case_ref: str, fixture: str, agency: str
) -> None:
    result = feed(core, fixture, agency)
    assert result["classification"] == "agency-return", result
    assert (result["case"], result["agency"], result["triage"]) == (case_ref, agency, None)
    req = request(core, agency)
    assert req.status == "returned" and req.returned_via == "email"
    with core.db.session() as s:
        from bot.models import Deadline

        deadline = s.exec(select(Deadline).where(Deadline.request_id == req.id)).one()
    assert deadline.met_at is not None and deadline.next_action_at is None


def test_the_last_information_gathering_return_moves_the_case_to_panel_decision(
    core: Core, case_ref: str
) -> None:
    """RR1 -> RR2 once every request is returned or closed (process.md RR1), by thread and by
    [REF] token; the statuses are read with the request (bot.agency_requests)."""
    with core.transaction() as s:
        case = get_case(s, case_ref)
        for agency in ("school", "charity", "acute-trust"):
            ar.withdraw(s, core, ar.get_request(s, case, agency, "info-gathering"),
                        reason="no involvement", actor=BM)
    assert feed(core, "reply_in_reply_to", "police")["classification"] == "agency-return"
    with core.db.session() as s:
        assert get_case(s, case_ref).stage == "info_gathering"  # the ICB's is still out
    assert feed(core, "reply_subject_token_only", "icb")["classification"] == "agency-return"
    with core.db.session() as s:
        assert get_case(s, case_ref).stage == "panel_decision"
        moves = [e.detail for e in s.exec(select(Event).where(Event.kind == "stage_changed"))]
    assert moves[-1] == {"from": "info_gathering", "to": "panel_decision",
                         "because": "all information gathering returns are in"}


def test_a_reply_from_outside_the_agency_goes_to_triage_with_the_reason(
    core: Core, case_ref: str
) -> None:
    result = feed(core, "reply_wrong_domain", "police")
    assert result["classification"] == "unknown"
    assert "gmail.example is not one of police's" in result["triage"]
    assert request(core, "police").status == "sent"  # not counted
    with core.db.session() as s:
        (item,) = triage_list(s)
    assert item["case"] == case_ref and item["agency"] == "police"
    assert item["sender_domain"] == "gmail.example"


def test_an_out_of_office_is_recorded_on_the_request_never_as_a_return(
    core: Core, case_ref: str
) -> None:
    result = feed(core, "out_of_office", "police")
    assert (result["classification"], result["agency"]) == ("auto-reply", "police")
    req = request(core, "police")
    assert req.status == "sent" and req.last_auto_reply_at is not None


def test_a_bounce_is_recorded_and_the_business_manager_told(core: Core, case_ref: str) -> None:
    result = feed(core, "bounce", "school")
    assert (result["classification"], result["agency"]) == ("bounce", "school")
    assert request(core, "school").bounced_at is not None
    with core.db.session() as s:
        alert = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "bounce_alert")).one()
    assert alert.to == ["business.manager@partnership.example"]
    assert alert.subject.startswith(f"[{case_ref}] Undeliverable")


def test_the_same_message_twice_is_recorded_and_acted_on_once(core: Core, case_ref: str) -> None:
    first = feed(core, "duplicate_a", "school")
    second = feed(core, "duplicate_b", "school")
    assert first["classification"] == "agency-return"
    assert (second["classification"], second["case"]) == ("duplicate", case_ref)
    with core.db.session() as s:
        assert len(list(s.exec(select(InboundMessage)))) == 1
        returns = [e for e in s.exec(select(Event)) if e.kind == "return_received"]
    assert len(returns) == 1


def test_a_second_return_is_a_supplement_not_a_new_return(core: Core, case_ref: str) -> None:
    feed(core, "reply_in_reply_to", "police")
    result = feed(core, "reply_forwarded_colleague", "police")
    assert result["classification"] == "agency-return"
    with core.db.session() as s:
        kinds = [e.kind for e in s.exec(select(Event))]
    assert kinds.count("return_received") == 1 and kinds.count("return_supplement") == 1


def test_attachment_names_are_never_paths(core: Core, case_ref: str) -> None:
    feed(core, "attachment_path_name", "charity")
    with core.db.session() as s:
        attachments = list(s.exec(select(Attachment)))
    assert sorted(a.display_name for a in attachments) == ["evil.bat", "passwd"]
    folder = Path(core.attachments_dir)
    for a in attachments:
        assert a.stored_name and len(a.stored_name) == 32 and "/" not in a.stored_name
        assert (folder / a.stored_name).is_file()
    assert sorted(p.name for p in folder.iterdir()) == sorted(a.stored_name for a in attachments)


def test_an_oversized_attachment_is_not_stored_but_the_return_counts(
    core: Core, case_ref: str
) -> None:
    core.attachment_max_bytes = 100_000
    raw = oversized_attachment(case_ref, 150_000)
    result = ingest(core, raw, mailbox="test").as_json()
    assert result["classification"] == "agency-return"
    with core.db.session() as s:
        (att,) = s.exec(select(Attachment))
        assert att.stored_name is None and "limit" in (att.rejected_reason or "")
        assert "attachment_rejected" in [e.kind for e in s.exec(select(Event))]
    assert not Path(core.attachments_dir).exists() or not any(Path(core.attachments_dir).iterdir())


def test_a_referral_email_opens_a_case_and_reads_its_fields(core: Core, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 18, 9, 30, tzinfo=UTC))
    result = ingest(core, load("referral"), mailbox="test").as_json()
    assert result == {"message_id": result["message_id"], "classification": "referral",
                      "case": "SI-2026-0001", "agency": "la-csc", "triage": None}
    with core.db.session() as s:
        v = case_view(s, core, get_case(s, "SI-2026-0001"))
        outbox = list(s.exec(select(OutboxMessage)))
    assert v["incident_date"] == "2026-11-16" and v["la_aware_date"] == "2026-11-17"
    assert (v["outcome"], v["abuse_neglect"], v["legal_status"]) == ("death", "yes", "cp-plan")
    assert v["agencies_involved"] == ["police", "icb", "acute-trust"]
    assert v["parallel_processes"] == ["police investigation", "coroner"]
    assert v["missing"] == []
    assert v["deadlines"][0]["due_at"] == "2026-11-24T23:59:59+00:00"  # 5 working days from 17 Nov
    assert v["deadlines"][0]["kind"] == "sin_notification"
    ack = next(o for o in outbox if o.kind == "referral_ack")
    assert ack.to == ["duty.manager@borough.example"]
    # The narrative (with a fictional child's name) is never echoed in any outbound message.
    for o in outbox:
        assert "Poppy" not in o.subject + o.body_text + (o.body_html or "")


def test_a_referral_with_missing_fields_opens_a_case_with_a_note(
    core: Core, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 18, 9, 30, tzinfo=UTC))
    result = ingest(core, load("referral_missing_fields"), mailbox="test").as_json()
    assert (result["classification"], result["agency"]) == ("referral", "police")
    with core.db.session() as s:
        v = case_view(s, core, get_case(s, result["case"]))
    assert "date the local authority became aware" in v["missing"]
    assert v["deadlines"] == []  # no clock until the business unit records the date


def test_a_reply_never_opens_a_case(core: Core) -> None:
    raw = load("referral").replace(b"Subject: ", b"In-Reply-To: <x@elsewhere.example>\nSubject: RE: ", 1)
    result = ingest(core, raw, mailbox="test").as_json()
    assert result["classification"] == "unknown" and result["triage"]
    with core.db.session() as s:
        assert list(s.exec(select(Event).where(Event.kind == "case_opened"))) == []


def test_a_referral_from_outside_the_agencies_waits_in_triage(core: Core) -> None:
    raw = load("referral").replace(b"duty.manager@borough.example", b"someone@elsewhere.example")
    result = ingest(core, raw, mailbox="test").as_json()
    assert result["classification"] == "unknown"
    assert "outside the partnership's agencies" in result["triage"]


@pytest.mark.parametrize("fixture", ["unknown", "malformed"])
def test_unmatched_and_broken_mail_goes_to_triage_without_a_crash(
    core: Core, case_ref: str, fixture: str
) -> None:
    result = feed(core, fixture)
    assert result["classification"] == "unknown" and result["triage"]
    with core.db.session() as s:
        assert len(triage_list(s)) == 1


def test_a_token_for_a_case_that_does_not_exist_goes_to_triage(core: Core, case_ref: str) -> None:
    result = feed(core, "reply_subject_token_only", "icb", ref="SI-2026-0999")
    assert "SI-2026-0999, which does not exist" in result["triage"]


def test_a_message_without_message_id_is_still_recorded_once(core: Core, case_ref: str) -> None:
    raw = load("unknown")
    raw = b"\n".join(line for line in raw.split(b"\n") if not line.lower().startswith(b"message-id"))
    first, second = (ingest(core, raw, mailbox="t").as_json() for _ in range(2))
    assert first["message_id"].endswith("@review-bot.invalid>")
    assert second["classification"] == "duplicate"


def test_triage_assign_and_dismiss(core: Core, case_ref: str) -> None:
    from bot.inbound import assign_triage, dismiss_triage

    feed(core, "reply_wrong_domain", "police")
    feed(core, "unknown")
    with core.db.session() as s:
        wrong, unknown = (i["id"] for i in triage_list(s))
    with core.transaction() as s:
        assign_triage(s, core, wrong, ref=case_ref, agency="police", kind=None, actor=BM)
        dismiss_triage(s, core, unknown, reason="newsletter", actor=BM)
    assert request(core, "police").status == "returned"
    with core.db.session() as s:
        assert triage_list(s) == []


def test_intake_logs_ids_never_content(
    core: Core, case_ref: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ingest(core, load("referral"), mailbox="test")
    feed(core, "reply_in_reply_to", "police")
    feed(core, "malformed")
    text = caplog.text
    assert "inbound id=" in text
    for secret in ("Poppy", "Placeholder", "duty.manager", "Serious incident referral",
                   "Information gathering"):
        assert secret not in text


def test_a_crash_after_recording_does_not_lose_the_message(core: Core, case_ref: str) -> None:
    """A row left 'pending' by a run that died is acted on when the message is seen again."""
    raw = load("reply_in_reply_to", request_message_id=request_id_for(core, "police"),
               case_ref=case_ref)
    from bot.inbound import record_inbound
    from handlers.mail.classify import parse

    with core.transaction() as s:
        record_inbound(s, core, message_id=parse(raw).message_id, raw=raw, mailbox="t",
                       from_addr="x")
    result = ingest(core, raw, mailbox="t").as_json()
    assert result["classification"] == "agency-return"


def test_with_an_authserv_id_only_authenticated_returns_count(core: Core, case_ref: str) -> None:
    partnership = core.protocol.partnership.model_copy(update={"authserv_id": "mx.partnership.example"})
    core.protocol = core.protocol.model_copy(update={"partnership": partnership})
    raw = load("reply_in_reply_to", request_message_id=request_id_for(core, "police"),
               case_ref=case_ref)
    unauthenticated = ingest(core, raw, mailbox="t").as_json()
    assert unauthenticated["classification"] == "unknown"
    assert "no Authentication-Results from mx.partnership.example" in unauthenticated["triage"]
    ours = b"Authentication-Results: mx.partnership.example; dmarc=pass header.from=police.example\n"
    passing = ours + raw.replace(b"Message-ID: <", b"Message-ID: <authenticated.", 1)
    assert ingest(core, passing, mailbox="t").as_json()["classification"] == "agency-return"
