"""The case lifecycle (process.md 2.1 to 2.3): transitions, refusals, clocks and the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot import agency_requests as ar
from bot.cases import (
    Referral,
    accept,
    close,
    decide,
    get_case,
    not_met,
    open_case,
    record_sin_submitted,
    set_la_aware,
    start_triage,
)
from bot.clock import FixedClock
from bot.core import Core
from bot.errors import Refused, ServiceError
from bot.models import Deadline, Event, OutboxMessage
from bot.views import case_view
from tests.conftest import new_case, notified_case

BM = "bm@partnership.example"


def view(core: Core, ref: str) -> dict:  # type: ignore[type-arg]
    with core.db.session() as s:
        return case_view(s, core, get_case(s, ref))


def test_open_case_numbers_cases_and_starts_the_notification_clock(core: Core) -> None:
    first, second = new_case(core), new_case(core)
    assert (first, second) == ("SI-2026-0001", "SI-2026-0002")
    v = view(core, first)
    assert v["stage"] == "referral_received"
    (sin,) = v["deadlines"]
    assert sin["kind"] == "sin_notification"
    # Aware Fri 13 Nov 2026 -> 5 working days -> end of Fri 20 Nov (GMT, so 23:59:59Z).
    assert sin["due_at"] == "2026-11-20T23:59:59+00:00"
    assert [e["kind"] for e in v["events"]] == ["case_opened"]
    with core.db.session() as s:
        kinds = {o.kind for o in s.exec(select(OutboxMessage))}
    assert kinds == {"referral_alert"}


def test_a_referral_without_the_la_date_waits_for_it(core: Core) -> None:
    ref = new_case(core, la_aware_date=None, legal_status=None)
    v = view(core, ref)
    assert v["deadlines"] == []
    assert "date the local authority became aware" in v["missing"]
    with core.transaction() as s, pytest.raises(Refused, match="la-aware"):
        accept(s, core, get_case(s, ref), actor=BM)
    with core.transaction() as s:
        accept(s, core, get_case(s, ref), actor=BM, la_aware=date(2026, 11, 16))
    v = view(core, ref)
    assert v["stage"] == "sin_pending"
    assert v["deadlines"][0]["due_at"] == "2026-11-23T23:59:59+00:00"
    assert "date the local authority became aware" not in v["missing"]


def test_correcting_the_la_date_restarts_the_clock(core: Core) -> None:
    ref = new_case(core)
    with core.transaction() as s:
        set_la_aware(s, core, get_case(s, ref), date(2026, 11, 16), actor=BM)
    states = [(d["state"], d["due_at"]) for d in view(core, ref)["deadlines"]]
    assert states == [("cancelled", "2026-11-20T23:59:59+00:00"),
                      ("open", "2026-11-23T23:59:59+00:00")]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("incident_date", date(2026, 11, 17), "in the future"),
        ("la_aware_date", date(2026, 11, 11), "before the incident"),
        ("outcome", "injury", "outcome must be one of"),
        ("referring_agency", "fire", "unknown agency 'fire'; valid agencies"),
    ],
)
def test_open_case_refuses_bad_referrals(core: Core, field: str, value: object, message: str) -> None:
    referral = Referral(incident_date=date(2026, 11, 12), la_aware_date=date(2026, 11, 13))
    setattr(referral, field, value)
    with core.transaction() as s, pytest.raises(ServiceError, match=message):
        open_case(s, core, referral, actor=BM, source="cli")


def test_the_statutory_path_to_a_local_review(core: Core, clock: FixedClock) -> None:
    ref = new_case(core)
    with core.transaction() as s:
        case = get_case(s, ref)
        start_triage(s, core, case, actor=BM)
        accept(s, core, case, actor=BM)
    clock.set(datetime(2026, 11, 18, 15, 0, tzinfo=UTC))
    with core.transaction() as s:
        case = get_case(s, ref)
        record_sin_submitted(s, core, case, at=None, actor=BM)
        ar.send_requests(s, core, case, kind="info-gathering", agencies=["police", "icb"], actor=BM)
    v = view(core, ref)
    assert v["stage"] == "info_gathering"
    sin, rr, *_ = v["deadlines"]
    assert sin["state"] == "met" and sin["met_at"] == "2026-11-18T15:00:00+00:00"
    # 15 working days from Wed 18 Nov 2026 -> Wed 9 Dec 2026.
    assert rr["kind"] == "rapid_review" and rr["due_at"] == "2026-12-09T23:59:59+00:00"
    assert {(r["agency"], r["due_at"]) for r in v["requests"]} == {
        ("police", "2026-11-20T15:00:00+00:00"), ("icb", "2026-11-20T15:00:00+00:00")}

    # The panel cannot decide while returns are outstanding.
    with core.transaction() as s, pytest.raises(Refused, match="icb, police"):
        decide(s, core, get_case(s, ref), option="lcspr", rationale="", actor=BM)
    with core.transaction() as s:
        case = get_case(s, ref)
        ar.record_return(s, core, ar.get_request(s, case, "police", None), actor=BM, via="other means")
        assert case.stage == "info_gathering"
        ar.withdraw(s, core, ar.get_request(s, case, "icb", None), reason="no involvement", actor=BM)
        assert case.stage == "panel_decision"  # all in: RR1 -> RR2
    clock.set(datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    with core.transaction() as s:
        case = get_case(s, ref)
        with pytest.raises(Refused, match="panel has decided on a local review"):
            ar.send_requests(s, core, case, kind="chronology", agencies=["police"], actor=BM)
        decide(s, core, case, option="lcspr", rationale="criteria (a) and (c)", actor=BM)
        ar.send_requests(s, core, case, kind="chronology", agencies=["police"], actor=BM)
    v = view(core, ref)
    assert v["stage"] == "lcspr"
    by_kind = {d["kind"]: d for d in v["deadlines"]}
    assert by_kind["rapid_review"]["state"] == "met"
    assert by_kind["lcspr_publication"]["due_at"] == "2027-06-01T22:59:59+00:00"  # 6 months, BST
    assert by_kind["chronology_return"]["due_at"] == "2026-12-15T23:59:59+00:00"  # 14 days
    kinds = [e["kind"] for e in v["events"]]
    assert kinds.count("stage_changed") == 5 and "request_withdrawn" in kinds


def test_requests_before_the_notification_are_refused_with_what_is_needed(core: Core) -> None:
    ref = new_case(core)
    with core.transaction() as s, pytest.raises(Refused, match="sin-submitted"):
        ar.send_requests(s, core, get_case(s, ref), kind="info-gathering", agencies=["police"],
                         actor=BM)


def test_an_unknown_agency_is_refused_listing_the_valid_ones(core: Core) -> None:
    ref = notified_case(core)
    with core.transaction() as s, pytest.raises(ServiceError, match="valid agencies: la-csc"):
        ar.send_requests(s, core, get_case(s, ref), kind="info-gathering", agencies=["fire"],
                         actor=BM)


def test_a_named_agency_reopens_information_gathering_with_its_own_clock(
    core: Core, clock: FixedClock
) -> None:
    ref = notified_case(core)
    with core.transaction() as s:
        case = get_case(s, ref)
        ar.send_requests(s, core, case, kind="info-gathering", agencies=["police"], actor=BM)
        ar.record_return(s, core, ar.get_request(s, case, "police", None), actor=BM, via="email")
        assert case.stage == "panel_decision"
    clock.advance(timedelta(hours=5))
    with core.transaction() as s:
        case = get_case(s, ref)
        (school,) = ar.send_requests(s, core, case, kind="info-gathering", agencies=["school"],
                                     actor=BM, named_by="police")
        assert case.stage == "info_gathering"
        assert school.due_at == clock.now() + timedelta(hours=48)
        assert school.named_by == "police"


def test_not_met_routes(core: Core) -> None:
    nfa, lac = new_case(core), new_case(core, legal_status="lac", abuse_neglect="no")
    with core.transaction() as s, pytest.raises(ServiceError, match="reason is required"):
        not_met(s, core, get_case(s, nfa), route="no-further-action", reason=" ", actor=BM)
    with core.transaction() as s:
        not_met(s, core, get_case(s, nfa), route="no-further-action", reason="not serious harm",
                actor=BM)
        not_met(s, core, get_case(s, lac), route="notification-only", reason="LAC death", actor=BM)
    assert view(core, nfa)["stage"] == "closed_nfa"
    assert [d["state"] for d in view(core, nfa)["deadlines"]] == ["cancelled"]
    lac_view = view(core, lac)
    assert lac_view["stage"] == "notification_only"
    # A looked-after child's death: the notification clock runs, no rapid review (process.md 5.5).
    assert {d["kind"]: d["state"] for d in lac_view["deadlines"]} == {
        "sin_notification": "cancelled", "lac_notification": "open"}
    with core.transaction() as s, pytest.raises(Refused, match="is closed"):
        accept(s, core, get_case(s, nfa), actor=BM)


def test_close_stops_every_clock_and_chaser(core: Core) -> None:
    ref = notified_case(core)
    with core.transaction() as s:
        case = get_case(s, ref)
        ar.send_requests(s, core, case, kind="info-gathering", agencies=["police"], actor=BM)
        close(s, core, case, reason="duplicate referral", actor=BM)
    with core.db.session() as s:
        assert all(d.next_action_at is None for d in s.exec(select(Deadline)))
    v = view(core, ref)
    assert v["stage"] == "closed" and v["requests"][0]["status"] == "closed"
    with core.transaction() as s, pytest.raises(Refused, match="already closed"):
        close(s, core, get_case(s, ref), reason="again", actor=BM)


def test_sin_submission_is_checked(core: Core, clock: FixedClock) -> None:
    ref = new_case(core)
    with core.transaction() as s, pytest.raises(ServiceError, match="future"):
        record_sin_submitted(s, core, get_case(s, ref), at=clock.now() + timedelta(days=1),
                             actor=BM)
    with core.transaction() as s, pytest.raises(ServiceError, match="precede"):
        record_sin_submitted(s, core, get_case(s, ref),
                             at=datetime(2026, 11, 12, 9, tzinfo=UTC), actor=BM)


def test_a_case_keeps_the_durations_it_opened_under(core: Core) -> None:
    ref = notified_case(core)
    core.protocol = core.protocol.model_copy(update={
        "durations": core.protocol.durations.model_copy(update={
            "info_gathering_return": core.protocol.durations.chronology_return})})
    with core.transaction() as s:
        (req,) = ar.send_requests(s, core, get_case(s, ref), kind="info-gathering",
                                  agencies=["police"], actor=BM)
        assert req.due_at == core.clock.now() + timedelta(hours=48)


def test_every_change_is_an_event_with_its_actor_and_the_notifier_hears_it(core: Core) -> None:
    ref = notified_case(core)
    with core.db.session() as s:
        events = list(s.exec(select(Event).order_by(Event.id)))
    assert [(e.kind, e.actor) for e in events] == [
        ("case_opened", BM), ("stage_changed", BM), ("stage_changed", BM)]
    assert all(e.case_id == 1 for e in events)
    calls = core.notifiers[0].calls  # type: ignore[attr-defined]
    assert calls[0] == ({1}, ["case_opened"])
    assert ref == "SI-2026-0001"
