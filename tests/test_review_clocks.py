"""The local review's clocks against dates worked out by hand (process.md 2.2's worked example,
Kirklees defaults, 2025 calendar) and the pre-publication notice counted back from the
publication date across Easter and Christmas (England and Wales bank holidays)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import agency_requests as ar
from bot import publication, review, review_after, review_clocks
from bot.calendar import Calendar
from bot.cases import Referral, accept, decide, get_case, open_case, record_sin_submitted
from bot.clock import FixedClock
from bot.core import Core
from bot.deadlines import open_deadlines
from bot.duration import Duration
from bot.errors import Invalid, Refused
from bot.protocol import ProtocolError, parse_protocol
from bot.stages import Stage

BM = "bm@partnership.example"
LONDON = ZoneInfo("Europe/London")


def local(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=LONDON)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=LONDON)


def core_for(core: Core, preset: str, **tables: object) -> Core:
    return dataclasses.replace(core, protocol=parse_protocol({"preset": preset, **tables}, preset))


def decided_case(core: Core, clock: FixedClock) -> str:
    """An LCSPR decided on Fri 31 Jan 2025 (process.md 2.2's worked example)."""
    clock.set(local(2025, 1, 20))
    with core.transaction() as s:
        case = open_case(s, core, Referral(
            referring_agency="la-csc", incident_date=date(2025, 1, 15), la_aware_date=date(2025, 1, 16),
            outcome="death", abuse_neglect="yes", legal_status="cp-plan"), actor=BM, source="cli")
        accept(s, core, case, actor=BM)
        record_sin_submitted(s, core, case, at=None, actor=BM)
        ref = case.ref
    clock.set(local(2025, 1, 31))
    with core.transaction() as s:
        decide(s, core, get_case(s, ref), option="lcspr", rationale="", actor=BM)
    return ref


def due(core: Core, ref: str, kind: str) -> datetime:
    with core.db.session() as s:
        found = review_clocks.find(s, get_case(s, ref), kind)
        assert found is not None, kind
        return found.due_at


def act(core: Core, clock: FixedClock, ref: str, moment: datetime, fn, **kw: object) -> None:  # type: ignore[no-untyped-def]
    clock.set(moment)
    with core.transaction() as s:
        fn(s, core, get_case(s, ref), actor=BM, **kw)


def test_the_worked_example_kirklees_2025(core: Core, clock: FixedClock) -> None:
    core = core_for(core, "kirklees")
    ref = decided_case(core, clock)
    assert due(core, ref, "lcspr_publication") == end_of(2025, 7, 31)  # D-10: 6 months
    act(core, clock, ref, local(2025, 1, 31), review.commission, reviewer_name="Lead Reviewer",
        reviewer_email="reviewer@reviews.example", tor_agreed_on=date(2025, 1, 31))
    # Chronology requests Tue 4 Feb: due Tue 18 Feb (14 CD, D-06); learning event Tue 4 Mar (D-07).
    act(core, clock, ref, local(2025, 2, 4), ar.send_requests, kind="chronology", agencies=["police", "icb"])
    assert due(core, ref, "learning_event") == end_of(2025, 3, 4)
    with core.db.session() as s:
        assert {r.due_at for r in ar.requests_of(s, get_case(s, ref))} == {end_of(2025, 2, 18)}
    clock.set(local(2025, 2, 18, 15))
    with core.transaction() as s:
        case = get_case(s, ref)
        for agency in ("police", "icb"):
            ar.record_return(s, core, ar.get_request(s, case, agency, "chronology"), actor=BM, via="email")
        review.composite_ready(s, core, case, actor="chronology")
        assert case.stage == Stage.COMPOSITE_CHRONOLOGY
    act(core, clock, ref, local(2025, 3, 4), review.learning_event_held)
    assert due(core, ref, "first_draft") == end_of(2025, 4, 1)  # D-08: 28 CD
    act(core, clock, ref, local(2025, 4, 1), review.draft_received)
    assert due(core, ref, "workstream_meeting") == end_of(2025, 4, 15)  # D-09a: 14 CD
    act(core, clock, ref, local(2025, 4, 15), review.workstream_met)
    assert due(core, ref, "minutes") == local(2025, 4, 17)  # D-09b: 48 H, Maundy Thursday
    act(core, clock, ref, local(2025, 4, 17), review.minutes_sent)
    assert due(core, ref, "amendments") == local(2025, 4, 19)  # D-09c: 48 H, Easter Saturday
    act(core, clock, ref, local(2025, 4, 19), review.to_business_group)
    # D-09d: 14 CD from issue: Sat 3 May, a non-working day (flagged, not moved: decision 0002).
    assert due(core, ref, "business_group") == end_of(2025, 5, 3)
    assert not core.calendar.is_working_day(date(2025, 5, 3))
    act(core, clock, ref, local(2025, 5, 2), review.business_group_approved)
    act(core, clock, ref, local(2025, 6, 2), review.endorsed)
    # Publishing on Thu 31 Jul: the Panel, SoS and Ofsted notice is due by Tue 22 Jul (7 WD).
    act(core, clock, ref, local(2025, 6, 2), publication.set_publication_date, when=date(2025, 7, 31))
    assert due(core, ref, "prepublication_notice") == end_of(2025, 7, 22)
    assert due(core, ref, "practitioner_notice") == end_of(2025, 7, 22)  # D-12 with D-11
    act(core, clock, ref, local(2025, 7, 22), publication.notice_sent)
    act(core, clock, ref, local(2025, 7, 22), publication.practitioners_told)
    act(core, clock, ref, local(2025, 7, 31), publication.publish)
    assert due(core, ref, "website_review") == end_of(2026, 1, 31)  # D-13: Kirklees' 6 months
    assert due(core, ref, "actions_due") == end_of(2025, 10, 23)  # D-14: 12 weeks
    assert due(core, ref, "recall_event") == end_of(2026, 1, 31)  # D-15: 6 months
    with core.db.session() as s:
        case = get_case(s, ref)
        assert case.stage == Stage.PUBLISHED
        running = {d.kind: d.owner for d in open_deadlines(s, case)}
    assert running == {"website_review": "business_unit", "actions_due": "business_unit",
                       "recall_event": "business_unit"}
    act(core, clock, ref, local(2025, 8, 1), review_after.embedding)
    act(core, clock, ref, local(2026, 1, 30), review_after.recall_held)
    with core.db.session() as s:
        assert get_case(s, ref).stage == Stage.RECALL


def test_each_clock_has_the_owner_who_owes_it(core: Core, clock: FixedClock) -> None:
    ref = decided_case(core, clock)
    act(core, clock, ref, local(2025, 2, 4), ar.send_requests, kind="chronology", agencies=["police"])
    act(core, clock, ref, local(2025, 2, 19), review.composite_ready)
    act(core, clock, ref, local(2025, 3, 4), review.learning_event_held)
    act(core, clock, ref, local(2025, 3, 5), review.learning_event_held)  # the managers' event
    assert due(core, ref, "first_draft") == end_of(2025, 4, 2)  # from the LAST event (KIR l.267)
    act(core, clock, ref, local(2025, 4, 1), review.draft_received)
    act(core, clock, ref, local(2025, 4, 2), review.workstream_met)
    act(core, clock, ref, local(2025, 4, 3), review.minutes_sent)
    act(core, clock, ref, local(2025, 4, 4), review.to_business_group)
    with core.db.session() as s:
        case = get_case(s, ref)
        owners = {(d.kind, d.owner) for d in s.exec(
            review_clocks.select(review_clocks.Deadline).where(review_clocks.Deadline.case_id == case.id))
            if d.owner}
        assert review.review_of(s, core, case).learning_events == 2
    assert owners == {
        ("learning_event", "reviewer"), ("first_draft", "reviewer"),
        ("workstream_meeting", "workstream_chair"),
        ("minutes", "business_unit"), ("amendments", "reviewer"), ("business_group", "business_group"),
    }


def test_the_imr_model_sets_due_dates_per_agency_and_no_kirklees_timers(
    core: Core, clock: FixedClock,
) -> None:
    core = core_for(core, "stockport")
    ref = decided_case(core, clock)
    act(core, clock, ref, local(2025, 2, 3), review.commission, reviewer_name="Report Author",
        reviewer_email="author@reviews.example")
    act(core, clock, ref, local(2025, 2, 4), ar.send_requests, kind="chronology", agencies=["police"])
    act(core, clock, ref, local(2025, 2, 10), review.imr_due, agency="police", due=date(2025, 3, 14))
    act(core, clock, ref, local(2025, 2, 10), review.imr_due, agency="icb", due=date(2025, 3, 21))
    with core.db.session() as s:
        case = get_case(s, ref)
        got = {(d.kind, d.owner, d.due_at) for d in open_deadlines(s, case) if d.owner}
    assert got == {("imr_due", "agency:police", end_of(2025, 3, 14)),
                   ("imr_due", "agency:icb", end_of(2025, 3, 21))}
    act(core, clock, ref, local(2025, 3, 13), review.imr_received, agency="police")
    act(core, clock, ref, local(2025, 3, 20), review.draft_received)  # no learning event needed
    with core.db.session() as s:
        case = get_case(s, ref)
        assert case.stage == Stage.FIRST_DRAFT
        assert {(d.kind, d.owner) for d in open_deadlines(s, case) if d.owner} == {("imr_due", "agency:icb")}


def test_other_methodologies_have_a_target_date_and_no_fixed_timers(core: Core, clock: FixedClock) -> None:
    ref = decided_case(core, clock)
    act(core, clock, ref, local(2025, 2, 3), review.commission, reviewer_name="Peer Reviewer",
        reviewer_email="peer@reviews.example", methodology="other", target=date(2025, 6, 30))
    act(core, clock, ref, local(2025, 2, 4), ar.send_requests, kind="chronology", agencies=["police"])
    act(core, clock, ref, local(2025, 4, 1), review.draft_received)
    with core.db.session() as s:
        kinds = {d.kind: d.due_at for d in open_deadlines(s, get_case(s, ref)) if d.owner}
    assert kinds == {"review_target": end_of(2025, 6, 30)}
    with core.transaction() as s, pytest.raises(Refused, match="IMR model"):
        review.imr_due(s, core, get_case(s, ref), "police", date(2025, 5, 1), actor=BM)


# --- D-11 counted back from the publication date ---------------------------------------------


@pytest.mark.parametrize(("published", "notice_by"), [
    (date(2025, 7, 31), date(2025, 7, 22)),  # the worked example: Thu -> Tue 7 WD before
    (date(2025, 4, 24), date(2025, 4, 11)),  # over Good Friday 18 Apr and Easter Monday 21 Apr
    (date(2025, 4, 22), date(2025, 4, 9)),  # the Tuesday after Easter Monday
    (date(2026, 1, 2), date(2025, 12, 19)),  # over Christmas, Boxing Day and New Year's Day
    (date(2025, 12, 29), date(2025, 12, 16)),  # the Monday after Christmas and Boxing Day
])
def test_the_notice_is_due_seven_working_days_before(published: date, notice_by: date) -> None:
    cal = Calendar()
    assert review_clocks.notice_day(cal, published, Duration(7, "working_days")) == notice_by
    assert cal.working_days_between(notice_by, published) == 7


def test_stockport_two_weeks_counts_calendar_days() -> None:
    assert review_clocks.notice_day(Calendar(), date(2025, 7, 31), Duration(2, "weeks")) == date(2025, 7, 17)


def test_a_protocol_cannot_shorten_the_notice() -> None:
    with pytest.raises(ProtocolError, match="7 working days"):
        parse_protocol({"preset": "kirklees", "durations": {"prepub_notice": "7 days"}}, "k.toml")


def approved_case(core: Core, clock: FixedClock) -> str:
    ref = decided_case(core, clock)
    with core.transaction() as s:
        case = get_case(s, ref)
        case.stage = Stage.FINAL_APPROVED  # the approvals are tested above
    return ref


@pytest.mark.parametrize(("today", "asked", "said"), [
    # Mon 22 Dec 2025, asking for Fri 2 Jan: its notice was due Fri 19 Dec. Sat 3 Jan is the first
    # date whose 7th working day back (skipping 25, 26 Dec and 1 Jan) is today.
    (date(2025, 12, 22), date(2026, 1, 2),
     "the earliest valid publication date is Sat 03 Jan 2026 (the first working day: Mon 05 Jan 2026)"),
    # Tue 15 Apr 2025, asking for Wed 23 Apr: Good Friday and Easter Monday do not count.
    (date(2025, 4, 15), date(2025, 4, 23),
     "the earliest valid publication date is Sat 26 Apr 2025 (the first working day: Mon 28 Apr 2025)"),
    # Wed 23 Jul, asking for Thu 31 Jul: Fri 1 Aug counts back to today, a working day.
    (date(2025, 7, 23), date(2025, 7, 31), "the earliest valid publication date is Fri 01 Aug 2025"),
])
def test_a_date_too_soon_is_refused_naming_the_earliest(
    core: Core, clock: FixedClock, today: date, asked: date, said: str,
) -> None:
    ref = approved_case(core, clock)
    clock.set(local(today.year, today.month, today.day))
    with core.transaction() as s, pytest.raises(Invalid) as refused:
        publication.set_publication_date(s, core, get_case(s, ref), asked, actor=BM)
    assert said in refused.value.errors["publication_date"]
    earliest = datetime.strptime(said.split("date is ")[1][:15], "%a %d %b %Y").date()
    with core.transaction() as s:  # and the date it names is accepted, its notice due today
        publication.set_publication_date(s, core, get_case(s, ref), earliest, actor=BM)
    assert due(core, ref, "prepublication_notice") == end_of(today.year, today.month, today.day)


def test_a_protocol_may_accept_a_short_notice_with_a_warning(core: Core, clock: FixedClock) -> None:
    core = core_for(core, "working-together-2023", review={"short_notice": "warn"})
    ref = approved_case(core, clock)
    clock.set(local(2025, 7, 28))
    with core.transaction() as s:
        said = publication.set_publication_date(s, core, get_case(s, ref), date(2025, 7, 31), actor=BM)
    assert said is not None and "earliest date with full notice is Wed 06 Aug 2025" in said
    assert due(core, ref, "prepublication_notice") == end_of(2025, 7, 22)  # overdue from the start


def test_moving_the_date_moves_both_notices_and_an_embargo_stops_them(core: Core, clock: FixedClock) -> None:
    ref = approved_case(core, clock)
    act(core, clock, ref, local(2025, 6, 2), publication.set_publication_date, when=date(2025, 7, 31))
    act(core, clock, ref, local(2025, 6, 3), publication.notice_sent)
    act(core, clock, ref, local(2025, 6, 4), publication.set_publication_date, when=date(2025, 9, 4))
    # Thu 4 Sep: 7 WD back is Tue 26 Aug (the Summer bank holiday, Mon 25 Aug, is not reached).
    assert due(core, ref, "prepublication_notice") == end_of(2025, 8, 26)
    assert due(core, ref, "practitioner_notice") == end_of(2025, 8, 26)
    with core.db.session() as s:
        case = get_case(s, ref)
        assert {d.kind for d in open_deadlines(s, case) if d.owner} == {
            "prepublication_notice", "practitioner_notice"}  # a new date needs a new notice
    act(core, clock, ref, local(2025, 6, 5), publication.embargo, reason="criminal",
        expected=date(2025, 11, 3))
    with core.db.session() as s:
        case = get_case(s, ref)
        assert case.stage == Stage.EMBARGOED
        assert not [d for d in open_deadlines(s, case) if d.owner]
        assert publication.publication_of(s, case).expected_publication_date == date(2025, 11, 3)


def test_the_drafts_say_what_the_case_holds_and_need_what_they_describe(
    core: Core, clock: FixedClock,
) -> None:
    from bot import review_drafts

    ref = approved_case(core, clock)
    clock.set(local(2025, 6, 2))
    with core.transaction() as s, pytest.raises(Refused, match="no publication date yet"):
        review_drafts.draft(s, core, get_case(s, ref), "practitioner-notice")
    with core.transaction() as s, pytest.raises(Refused, match="record the delay first"):
        review_drafts.draft(s, core, get_case(s, ref), "delay-notice")
    act(core, clock, ref, local(2025, 6, 2), publication.embargo, reason="coroner",
        expected=date(2025, 11, 3))
    with core.transaction() as s:
        delay = review_drafts.draft(s, core, get_case(s, ref), "delay-notice")
    assert "delayed because of coroner's inquest" in delay and "Monday 3 November 2025" in delay
    assert "publication was due by Thursday 31 July 2025" in delay  # D-10, 6 months from the decision
    act(core, clock, ref, local(2025, 10, 1), publication.set_publication_date, when=date(2025, 11, 3))
    with core.transaction() as s:
        notice = review_drafts.draft(s, core, get_case(s, ref), "prepublication-notice")
        practitioners = review_drafts.draft(s, core, get_case(s, ref), "practitioner-notice")
    assert "Reasons for the delay" in notice and "waited for coroner's inquest" in notice
    assert "by Thursday 23 October 2025" in notice  # 7 WD before Mon 3 Nov
    assert "Monday 3 November 2025" in practitioners and "does not include the report" in practitioners
