"""The media protocol in the core: routing, fan-out, acknowledgement, reminders, statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot import media, media_team, publication
from bot import media_report as report
from bot import media_statements as statements
from bot.cases import close, decide, get_case
from bot.chasers import chase_overdue
from bot.clock import FixedClock
from bot.core import Core
from bot.errors import Refused, ServiceError
from bot.media import EnquiryInput
from bot.models import Event, MediaEnquiry, MediaStatement, OutboxMessage
from tests.conftest import MONDAY_10, new_case, notified_case

BM = "business.manager@partnership.example"
CHAIR = "chair@partnership.example"
DEPUTY = "deputy.chair@partnership.example"
PRESS = "press.office@borough.example"


def receive(core: Core, **fields: object) -> str:
    data: dict[str, object] = {"outlet": "Evening Post", "subject": "case"}
    data.update(fields)
    with core.transaction() as s:
        return media.receive_enquiry(
            s, core, EnquiryInput(**data), actor="slack:UREPORTER", source="slack",  # type: ignore[arg-type]
        ).ref


def enquiry(core: Core, ref: str) -> MediaEnquiry:
    with core.transaction() as s:
        return media.get_enquiry(s, ref)


def outbox(core: Core, kind: str | None = None) -> list[OutboxMessage]:
    with core.transaction() as s:
        rows = list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
    return [r for r in rows if kind is None or r.kind == kind]


def events(core: Core, kind: str) -> list[Event]:
    with core.transaction() as s:
        return list(s.exec(select(Event).where(Event.kind == kind).order_by(Event.id)))


def case_at(core: Core, stage: str) -> str:
    """A case brought to ``stage`` through the services."""
    if stage == "referral":
        return new_case(core)
    ref = notified_case(core)
    if stage == "info_gathering":
        return ref
    with core.transaction() as s:
        case = get_case(s, ref)
        if stage == "no_further_review":
            decide(s, core, case, option="no-further-review", rationale="r", actor=BM)
            return ref
        decide(s, core, case, option="lcspr", rationale="r", actor=BM)
        if stage == "embargoed":
            publication.embargo(s, core, case, reason="criminal", actor=BM)
        if stage in ("pre_publication", "published", "closed_after_publication"):
            publication.set_publication_date(s, core, case, MONDAY_10.date() + timedelta(days=30),
                                             actor=BM)
        if stage in ("published", "closed_after_publication"):
            publication.publish(s, core, case, actor=BM)
        if stage == "closed_after_publication":
            close(s, core, case, reason="actions embedded", actor=BM)
    return ref


# --- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "row", "output"),
    [
        ("referral", 1, "holding_statement"),
        ("info_gathering", 2, "holding_statement"),
        ("lcspr", 2, "holding_statement"),
        ("embargoed", 3, "holding_statement"),
        ("pre_publication", 4, "partnership_statement"),
        ("published", 5, "press_release"),
        ("no_further_review", 6, "statement_on_actions"),
        ("closed_after_publication", 6, "statement_on_actions"),
    ],
)
def test_a_case_enquiry_routes_by_the_case_stage(core: Core, stage: str, row: int, output: str) -> None:
    ref = receive(core, case_ref=case_at(core, stage))
    found = enquiry(core, ref)
    assert found.routing["row"] == row
    assert found.routing["output"] == output
    assert found.routing["spokesperson"]["role"] == "chair"


def test_an_enquiry_opens_with_a_reference_and_tells_the_press_office_and_business_manager(
    core: Core,
) -> None:
    deadline = MONDAY_10 + timedelta(hours=5)
    ref = receive(core, journalist="A. Reporter", contact="a.reporter@news.example",
                  journalist_deadline=deadline, summary="Asked about a case")
    assert ref == "ME-2026-0001"
    assert receive(core) == "ME-2026-0002"
    [alert, _] = outbox(core, "media_alert")
    assert PRESS in alert.to and BM in alert.to and CHAIR in alert.to
    assert "[ME-2026-0001]" in alert.subject and "Evening Post" in alert.subject
    assert "A. Reporter" in alert.body_text and "Asked about a case" in alert.body_text
    assert "row 1" in alert.body_text
    [received, _] = events(core, "media_enquiry_received")
    # The event (which Slack may echo) holds facts only: none of the typed text.
    assert "A. Reporter" not in str(received.detail) and "Asked" not in str(received.detail)


def test_bad_input_is_refused_with_a_message(core: Core) -> None:
    for fields, message in [
        ({"subject": "gossip"}, "subject must be one of"),
        ({"outlet": "  "}, "outlet is required"),
        ({"case_ref": "SI-2026-0999"}, "no case"),
        ({"subject": "agency"}, "which agency"),
        ({"subject": "agency", "subject_agency": "nowhere"}, "unknown agency"),
        ({"journalist_deadline": MONDAY_10 - timedelta(minutes=1)}, "in the past"),
    ]:
        with pytest.raises(ServiceError, match=message):
            receive(core, **fields)
    assert outbox(core) == []


def test_chair_away_the_deputy_speaks_and_signs(core: Core, clock: FixedClock) -> None:
    with core.transaction() as s:
        media_team.set_chair_absence(s, core, starts_at=MONDAY_10 - timedelta(hours=1),
                                ends_at=MONDAY_10 + timedelta(days=2), actor=BM)
    ref = receive(core)
    routing = enquiry(core, ref).routing
    assert routing["spokesperson"]["role"] == "deputy_chair"
    assert [n["role"] for n in routing["sign_off"]] == ["deputy_chair"]
    assert routing["chair_standin"] == "deputy_chair" and not routing["fallback"]
    clock.advance(timedelta(days=3))  # the absence is over
    assert enquiry(core, receive(core)).routing["spokesperson"]["role"] == "chair"


def test_chair_away_and_no_deputy_the_fallback_speaks_and_the_business_manager_is_alerted(
    core: Core,
) -> None:
    roles = core.protocol.roles.model_copy(update={"deputy_chair": None})
    core.protocol = core.protocol.model_copy(update={"roles": roles})
    with core.transaction() as s:
        media_team.set_chair_absence(s, core, starts_at=MONDAY_10, ends_at=MONDAY_10 + timedelta(days=1),
                                actor=BM)
    ref = receive(core)
    routing = enquiry(core, ref).routing
    assert routing["spokesperson"]["role"] == "independent_scrutineer"
    assert routing["fallback"] is True
    assert events(core, "media_chair_fallback")
    [alert] = outbox(core, "media_alert")
    assert BM in alert.to and "fallback" in alert.body_text


def test_a_designate_stands_in_when_the_chair_names_one(core: Core) -> None:
    with core.transaction() as s:
        media_team.set_chair_absence(s, core, starts_at=MONDAY_10, ends_at=MONDAY_10 + timedelta(days=1),
                                actor=BM, delegate="independent_scrutineer")
    assert enquiry(core, receive(core)).routing["spokesperson"]["role"] == "independent_scrutineer"


def test_chair_absence_input_is_checked(core: Core) -> None:
    with core.transaction() as s, pytest.raises(ServiceError, match="end after it starts"):
        media_team.set_chair_absence(s, core, starts_at=MONDAY_10, ends_at=MONDAY_10, actor=BM)
    with core.transaction() as s, pytest.raises(ServiceError, match="delegate must be"):
        media_team.set_chair_absence(s, core, starts_at=MONDAY_10, ends_at=MONDAY_10 + timedelta(hours=1),
                                actor=BM, delegate="chair")
    with core.transaction() as s, pytest.raises(Refused):
        media_team.set_chair_absence(s, core, starts_at=MONDAY_10, ends_at=MONDAY_10 + timedelta(hours=1),
                                actor="someone@elsewhere.example")


# --- the clock -------------------------------------------------------------------------------


def test_an_unacknowledged_alert_repeats_to_the_business_manager_until_acknowledged(
    core: Core, clock: FixedClock,
) -> None:
    ref = receive(core)
    assert chase_overdue(core).media_steps == 0
    clock.advance(timedelta(minutes=15))
    assert chase_overdue(core).media_steps == 1
    [repeat] = outbox(core, "media_alert_repeat")
    assert BM in repeat.to and "NOT ACKNOWLEDGED" in repeat.subject
    assert chase_overdue(core).media_steps == 0  # nothing doubled
    clock.advance(timedelta(minutes=10))
    with core.transaction() as s:
        assert media.acknowledge(s, core, media.get_enquiry(s, ref), actor=PRESS)
    clock.advance(timedelta(hours=3))
    assert chase_overdue(core).media_steps == 0
    assert len(outbox(core, "media_alert_repeat")) == 1
    [ack] = events(core, "media_acknowledged")
    assert ack.detail["seconds"] == 25 * 60


def test_repeats_stop_after_the_protocol_s_count_and_ignore_working_hours(
    core: Core, clock: FixedClock,
) -> None:
    clock.set(datetime(2026, 11, 21, 23, 0, tzinfo=UTC))  # Saturday night
    receive(core)
    for _ in range(10):
        clock.advance(timedelta(minutes=15))
        chase_overdue(core)
    assert len(outbox(core, "media_alert_repeat")) == core.protocol.media.acknowledge_repeats


def test_after_downtime_one_repeat_not_a_burst(core: Core, clock: FixedClock) -> None:
    receive(core)
    clock.advance(timedelta(minutes=50))
    assert chase_overdue(core).media_steps == 1
    # The third repeat (50 minutes is three 15-minute intervals): step 2 of the clock's row.
    [repeat] = outbox(core, "media_alert_repeat")
    assert repeat.idempotency_key.endswith(":step:2")
    assert [e.detail["repeat"] for e in events(core, "media_alert_repeated")] == [3]


def test_reminders_before_the_journalist_s_deadline_then_one_alert_when_it_passes(
    core: Core, clock: FixedClock,
) -> None:
    ref = receive(core, journalist_deadline=MONDAY_10 + timedelta(hours=3))
    with core.transaction() as s:
        media.acknowledge(s, core, media.get_enquiry(s, ref), actor=PRESS)
    clock.advance(timedelta(hours=1))  # 2 hours before
    assert chase_overdue(core).media_steps == 1
    clock.advance(timedelta(minutes=90))  # 30 minutes before
    assert chase_overdue(core).media_steps == 1
    clock.advance(timedelta(minutes=30))
    assert chase_overdue(core).media_steps == 1
    clock.advance(timedelta(hours=5))
    assert chase_overdue(core).media_steps == 0
    kinds = [r.kind for r in outbox(core) if r.kind.startswith("media_deadline")]
    assert kinds == ["media_deadline_reminder", "media_deadline_reminder", "media_deadline_passed"]
    assert [e.detail["minutes_before"] for e in events(core, "media_deadline_reminder")] == [120, 30]


def test_a_reminder_already_past_when_the_enquiry_arrives_is_not_sent(
    core: Core, clock: FixedClock,
) -> None:
    ref = receive(core, journalist_deadline=MONDAY_10 + timedelta(minutes=45))
    with core.transaction() as s:
        media.acknowledge(s, core, media.get_enquiry(s, ref), actor=PRESS)
        media.record_response(s, core, media.get_enquiry(s, ref), spoke="chair", actor=PRESS)
    clock.advance(timedelta(hours=2))
    assert chase_overdue(core).media_steps == 0
    ref = receive(core, journalist_deadline=MONDAY_10 + timedelta(hours=2, minutes=45))
    with core.transaction() as s:
        media.acknowledge(s, core, media.get_enquiry(s, ref), actor=PRESS)
    clock.advance(timedelta(minutes=20))
    assert chase_overdue(core).media_steps == 1  # only the 30-minute reminder remains
    assert [e.detail["minutes_before"] for e in events(core, "media_deadline_reminder")] == [30]


# --- statements --------------------------------------------------------------------------------


def test_holding_statement_drafted_approved_by_the_chair_then_released(core: Core) -> None:
    ref = receive(core, case_ref=case_at(core, "info_gathering"), contact="reporter@news.example",
                  journalist_deadline=MONDAY_10 + timedelta(hours=4))
    with core.transaction() as s:
        found = media.get_enquiry(s, ref)
        draft = statements.draft_statement(s, core, found, actor=PRESS)
        assert draft.kind == "holding_statement" and draft.version == 1
        assert "Press Office" in draft.text
        with pytest.raises(Refused, match="not approved yet"):
            statements.release_statement(s, core, found, actor=PRESS)
    with core.transaction() as s, pytest.raises(Refused, match="only the sign-off"):
        statements.approve_statement(s, core, media.get_enquiry(s, ref), actor=PRESS)
    with core.transaction() as s:
        found = media.get_enquiry(s, ref)
        approved = statements.approve_statement(s, core, found, actor=CHAIR)
        assert approved.status == "approved"
        assert approved.approvals[0]["role"] == "chair" and approved.approvals[0]["actor"] == CHAIR
        released = statements.release_statement(s, core, found, actor=PRESS)
        assert released.released_to == "reporter@news.example"
        assert found.status == "responded" and found.spoke == "chair"
    [mail] = outbox(core, "media_statement")
    assert mail.to == ["reporter@news.example"] and PRESS in mail.cc and BM in mail.cc


def test_an_edit_needs_a_new_approval(core: Core) -> None:
    ref = receive(core)
    with core.transaction() as s:
        found = media.get_enquiry(s, ref)
        statements.draft_statement(s, core, found, actor=PRESS)
        statements.approve_statement(s, core, found, actor=CHAIR)
        edited = statements.draft_statement(s, core, found, actor=PRESS, text="Our thoughts are with all.")
        assert edited.version == 2 and edited.status == "draft"
        with pytest.raises(Refused, match="not approved yet"):
            statements.release_statement(s, core, found, actor=PRESS)


def test_proceedings_mean_no_comment_in_the_holding_statement(core: Core) -> None:
    ref = receive(core, case_ref=case_at(core, "embargoed"))
    with core.transaction() as s:
        text = statements.draft_statement(s, core, media.get_enquiry(s, ref), actor=PRESS).text
    assert "legal proceedings are active" in text
    ref = receive(core)
    with core.transaction() as s:
        text = statements.draft_statement(s, core, media.get_enquiry(s, ref), actor=PRESS).text
    assert "legal proceedings" not in text


@pytest.mark.parametrize("stage", ["referral", "info_gathering", "embargoed", "pre_publication"])
def test_a_press_release_before_publication_is_refused_citing_the_rule(core: Core, stage: str) -> None:
    ref = receive(core, case_ref=case_at(core, stage))
    with core.transaction() as s, pytest.raises(Refused, match="M-5") as refused:
        statements.draft_statement(s, core, media.get_enquiry(s, ref), actor=PRESS, kind="press_release")
    assert "SW-COMMS l.95" in str(refused.value)
    media.record_refusal(core, ref=ref, actor=PRESS, action="draft press_release",
                         reason=str(refused.value))
    [event] = events(core, "media_action_refused")
    assert event.detail["rule"] == "M-5"
    with core.transaction() as s:
        assert s.exec(select(MediaStatement)).first() is None


def test_m5_is_about_reviews_a_partnership_press_release_is_not_refused(core: Core) -> None:
    ref = receive(core, subject="partnership")
    with core.transaction() as s:
        found = media.get_enquiry(s, ref)
        draft = statements.draft_statement(s, core, found, actor=PRESS, kind="press_release")
        assert draft.kind == "press_release"
    ref = receive(core, subject="case")  # a case the bot does not know yet: not published
    with core.transaction() as s, pytest.raises(Refused, match="M-5"):
        statements.draft_statement(s, core, media.get_enquiry(s, ref), actor=PRESS, kind="press_release")


def test_a_press_release_after_publication_is_allowed(core: Core) -> None:
    ref = receive(core, case_ref=case_at(core, "published"))
    with core.transaction() as s:
        found = media.get_enquiry(s, ref)
        draft = statements.draft_statement(s, core, found, actor=PRESS)
        assert draft.kind == "press_release" and "PRESS RELEASE" in draft.text


def test_the_figures_say_whether_the_protocol_was_followed(core: Core, clock: FixedClock) -> None:
    good = receive(core)
    with core.transaction() as s:
        media.acknowledge(s, core, media.get_enquiry(s, good), actor=PRESS)
    late = receive(core)
    clock.advance(timedelta(minutes=40))
    with core.transaction() as s:
        found = media.get_enquiry(s, late)
        media.record_response(s, core, found, spoke="business_manager", actor=BM)
    with core.transaction() as s:
        rows = {r["ref"]: r for r in report.media_report(s, core)}
    assert rows[good]["seconds_to_acknowledge"] == 0
    assert rows[late]["seconds_to_acknowledge"] == 40 * 60
    assert not rows[late]["protocol_followed"]
    assert any("Business Manager spoke" in d for d in rows[late]["deviations"])
    assert any("not acknowledged within" in d for d in rows[late]["deviations"])
