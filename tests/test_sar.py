"""The SAR pathway's clocks (Care Act 2014 s.44; Stockport's timescales, STK l.254-266) against
dates worked out by hand on the England and Wales calendar, Easter and the early May bank holiday
included; the owners reminded and chased through the outbox within working hours; a clock met
between queueing and delivery not chased; refusals that name what comes first."""

from __future__ import annotations

import dataclasses
import email
from datetime import datetime
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot import review_clocks, sar
from bot.cases import close, get_case
from bot.chasers import chase_overdue
from bot.clock import FixedClock
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.mail.maildir import MaildirGateway
from bot.models import Event, OutboxMessage
from bot.outbox import deliver
from bot.protocol import ProtocolError, parse_protocol
from bot.stages import Stage
from bot.views import case_view
from schedules.sweep import tick

BM = "business.manager@partnership.example"
CHAIR = "chair@partnership.example"
LONDON = ZoneInfo("Europe/London")


def local(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=LONDON)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=LONDON)


def open_referral(core: Core, clock: FixedClock, received: datetime) -> str:
    clock.set(received)
    with core.transaction() as s:
        return sar.open_sar(s, core, received_at=received, referring_agency="police", outcome="death",
                            actor=BM, source="cli").ref


def step(core: Core, clock: FixedClock, ref: str, moment: datetime, fn, **kw: object) -> None:  # type: ignore[no-untyped-def]
    clock.set(moment)
    with core.transaction() as s:
        fn(s, core, get_case(s, ref), actor=BM, **kw)


def clock_of(core: Core, ref: str, kind: str) -> tuple[datetime, datetime | None, str | None]:
    with core.db.session() as s:
        found = review_clocks.find(s, get_case(s, ref), kind)
        assert found is not None, kind
        return found.due_at, found.met_at, found.owner


def test_every_sar_clock_across_easter_and_the_may_bank_holiday(core: Core, clock: FixedClock) -> None:
    # Received Tue 1 Apr 2025. 15 working days (day 0 = 1 Apr), skipping Good Friday 18 Apr and
    # Easter Monday 21 Apr: 2,3,4,7,8,9,10,11,14,15,16,17,22,23,24 -> Thu 24 Apr (STK l.256).
    ref = open_referral(core, clock, local(2025, 4, 1))
    assert clock_of(core, ref, "sar_screening") == (end_of(2025, 4, 24), None, "business_unit")
    # Meeting Wed 23 Apr: 5 working days 24,25,28,29,30 -> Wed 30 Apr (STK l.258).
    step(core, clock, ref, local(2025, 4, 23, 14), sar.screening_held, basis="mandatory")
    assert clock_of(core, ref, "sar_screening")[1] == local(2025, 4, 23, 14)
    assert clock_of(core, ref, "sar_recommendation") == (end_of(2025, 4, 30), None, "sar_panel_chair")
    # Sent Wed 30 Apr: 5 working days 1,2,(5 May bank holiday),6,7,8 -> Thu 8 May (STK l.260).
    step(core, clock, ref, local(2025, 4, 30, 11), sar.recommendation_sent, recommendation="sar")
    assert clock_of(core, ref, "sar_decision") == (end_of(2025, 5, 8), None, "chair")
    # Decided Thu 8 May: the review within 6 months -> Sat 8 Nov 2025 (STK l.141, l.266).
    step(core, clock, ref, local(2025, 5, 8, 15), sar.chair_decision, decision="sar")
    assert clock_of(core, ref, "sar_review") == (end_of(2025, 11, 8), None, "business_unit")
    step(core, clock, ref, local(2025, 10, 30), sar.completed)
    step(core, clock, ref, local(2025, 11, 20), sar.published)
    with core.db.session() as s:
        case = get_case(s, ref)
        view = case_view(s, core, case)
    assert case.stage == Stage.SAR_PUBLISHED and case.kind == "sar" and ref.startswith("SAR-2025-")
    assert [d["state"] for d in view["deadlines"]] == ["met"] * 4
    assert view["sar"]["decision"] == "sar" and view["sar"]["basis"] == "mandatory"
    assert view["kind"] == "sar"


def test_a_protocol_sets_other_timescales_and_refuses_a_broken_one(core: Core, clock: FixedClock) -> None:
    other = dataclasses.replace(core, protocol=parse_protocol(
        {"sar": {"screening_meeting": "10 working days", "review": "9 months"}}, "test"))
    # Mon 22 Dec 2025 + 10 working days, skipping 25, 26 Dec and 1 Jan: 23,24,29,30,31,2,5,6,7,8.
    ref = open_referral(other, clock, local(2025, 12, 22))
    assert clock_of(other, ref, "sar_screening")[0] == end_of(2026, 1, 8)
    # The case froze its terms: a protocol changed afterwards does not move its next clocks.
    step(core, clock, ref, local(2026, 1, 7), sar.screening_held)
    step(core, clock, ref, local(2026, 1, 8), sar.recommendation_sent, recommendation="sar")
    step(core, clock, ref, local(2026, 1, 9), sar.chair_decision, decision="sar")
    assert clock_of(core, ref, "sar_review")[0] == end_of(2026, 10, 9)  # 9 months, frozen
    with pytest.raises(ProtocolError, match="sar"):
        parse_protocol({"sar": {"recommendation": "five days"}}, "test")
    stockport = parse_protocol({"preset": "stockport"}, "test")
    assert str(stockport.sar.screening_meeting) == "15 working days"
    assert str(stockport.complaints.response) == "28 days"


@pytest.mark.parametrize(("decision", "stage"), [("no-sar", Stage.CLOSED_NFA),
                                                 ("other-learning", Stage.ALTERNATIVE_LEARNING)])
def test_no_sar_closes_and_other_learning_moves_on(
    core: Core, clock: FixedClock, decision: str, stage: Stage,
) -> None:
    ref = open_referral(core, clock, local(2025, 6, 2))
    step(core, clock, ref, local(2025, 6, 3), sar.screening_held)
    step(core, clock, ref, local(2025, 6, 4), sar.recommendation_sent, recommendation=decision)
    step(core, clock, ref, local(2025, 6, 5), sar.chair_decision, decision=decision)
    with core.db.session() as s:
        case = get_case(s, ref)
        running = [d.kind for d in review_clocks.deadlines.open_deadlines(s, case)]
    assert case.stage == stage and running == []


def test_refusals_name_what_comes_first(core: Core, clock: FixedClock) -> None:
    ref = open_referral(core, clock, local(2025, 6, 2))
    with pytest.raises(Refused, match=rf"record the screening meeting first \(review-bot case {ref} "
                                      "screening-held\\)"):
        step(core, clock, ref, local(2025, 6, 3), sar.chair_decision, decision="sar")
    step(core, clock, ref, local(2025, 6, 3), sar.screening_held)
    with pytest.raises(Refused, match="recommendation-sent"):
        step(core, clock, ref, local(2025, 6, 3), sar.chair_decision, decision="sar")
    with pytest.raises(Refused, match="chair-decision sar"):
        step(core, clock, ref, local(2025, 6, 3), sar.completed)
    with pytest.raises(Invalid, match="recommendation must be one of"):
        step(core, clock, ref, local(2025, 6, 3), sar.recommendation_sent, recommendation="maybe")
    with pytest.raises(Invalid, match="future"):
        step(core, clock, ref, local(2025, 6, 3), sar.recommendation_sent, recommendation="sar",
             at=local(2025, 6, 4))
    with pytest.raises(Invalid) as caught, core.transaction() as s:
        sar.open_sar(s, core, received_at=local(2025, 7, 1), referring_agency="nobody", outcome="x",
                     actor=BM, source="cli")
    assert set(caught.value.errors) == {"received_at", "referring_agency", "outcome"}
    # A children's case is not a SAR, and a SAR refuses the children's steps.
    from tests.conftest import new_case

    clock.set(local(2026, 11, 16))
    child = new_case(core)
    with pytest.raises(Refused, match="not a safeguarding adults review"):
        step(core, clock, child, local(2026, 11, 16), sar.screening_held)
    from bot.cases import accept

    with pytest.raises(Refused, match="is a safeguarding adults review: that is not one of its steps"):
        step(core, clock, ref, local(2026, 11, 16), accept)


def sent(maildir: MaildirGateway) -> list[email.message.EmailMessage]:
    root = Path(maildir.name.removeprefix("maildir:")) / "sent"
    files = [p for sub in ("new", "cur") for p in (root / sub).glob("*")]
    messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]
    return sorted(messages, key=lambda m: m["Date"].datetime)


def test_owners_are_reminded_and_chased_within_working_hours(
    core: Core, clock: FixedClock, maildir: MaildirGateway,
) -> None:
    ref = open_referral(core, clock, local(2025, 4, 1))
    seen = 0

    def mail_at(moment: datetime) -> list[tuple[str, str]]:
        nonlocal seen
        clock.set(moment)
        tick(core, maildir)
        new = sent(maildir)[seen:]
        seen += len(new)
        return [(str(m["To"]), str(m["Subject"]).split("] ", 1)[1]) for m in new]

    # D-S1 due Thu 24 Apr: the reminder 2 working days before (Tue 22 Apr 23:59 -> the next working
    # moment, Wed 23 Apr 09:00), the chase at the first working moment after it (Fri 25 Apr 09:00),
    # the escalation 2 working days on (Tue 29 Apr 09:00), each to the business unit.
    assert mail_at(local(2025, 4, 23, 8, 59)) == []
    [(to, subject)] = mail_at(local(2025, 4, 23, 9))
    assert BM in to and subject.startswith("Reminder: SAR screening meeting (D-S1)")
    assert mail_at(local(2025, 4, 24, 23)) == []
    [(to, subject)] = mail_at(local(2025, 4, 25, 9))
    assert BM in to and subject.startswith("Overdue: SAR screening meeting (D-S1)")
    assert mail_at(local(2025, 4, 28, 16)) == []
    [(to, subject)] = mail_at(local(2025, 4, 29, 9))
    assert to == BM and "SAR screening meeting (D-S1)" in subject
    # D-S2 (due Wed 7 May: 30 Apr, 1, 2, 6, 7 May; the 5th a bank holiday) is the screening panel
    # chair's; the protocol names nobody, so the business manager is reminded in their place and told
    # why, 2 working days before (Fri 2 May 23:59 -> Tue 6 May 09:00, after the bank holiday).
    step(core, clock, ref, local(2025, 4, 29, 10), sar.screening_held)
    assert mail_at(local(2025, 5, 2, 16)) == []
    [(to, subject)] = mail_at(local(2025, 5, 6, 9))
    assert to == BM and subject.startswith("Reminder: SAR recommendation in writing")
    body = sent(maildir)[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "the protocol names no SAR screening panel chair" in body
    # D-S3 from Tue 6 May 10:00: 7, 8, 9, 12, 13 -> Tue 13 May, the Independent Chair's: reminded
    # Mon 12 May 09:00 (2 working days before: Fri 9 May 23:59, then the next working moment).
    step(core, clock, ref, local(2025, 5, 6, 10), sar.recommendation_sent, recommendation="sar")
    assert clock_of(core, ref, "sar_decision")[0] == end_of(2025, 5, 13)
    assert mail_at(local(2025, 5, 9, 16)) == []
    [(to, subject)] = mail_at(local(2025, 5, 12, 9))
    assert to == CHAIR and subject.startswith("Reminder: Independent Chair's SAR decision (D-S3)")
    body = sent(maildir)[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"For safeguarding adults review {ref}" in body and "Decide whether there should be a SAR" in body
    with core.db.session() as s:
        kinds = [e.kind for e in s.exec(select(Event).where(Event.case_id == get_case(s, ref).id))]
    assert {"deadline_warning", "deadline_overdue", "deadline_escalated"} <= set(kinds)


def test_a_clock_met_between_queueing_and_delivery_is_not_chased(
    core: Core, clock: FixedClock, maildir: MaildirGateway,
) -> None:
    ref = open_referral(core, clock, local(2025, 4, 1))
    clock.set(local(2025, 4, 23, 9))
    assert chase_overdue(core).steps == 1  # the reminder is queued...
    step(core, clock, ref, local(2025, 4, 23, 9, 1), sar.screening_held)  # ...and the meeting recorded
    deliver(core, maildir)
    assert sent(maildir) == []
    with core.db.session() as s:
        (message,) = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "owner_reminder")).all()
    assert message.status == "cancelled"


def test_closing_a_sar_stops_its_clocks(core: Core, clock: FixedClock) -> None:
    ref = open_referral(core, clock, local(2025, 4, 1))
    step(core, clock, ref, local(2025, 4, 2), close, reason="referred in error")
    _, met, _ = clock_of(core, ref, "sar_screening")
    with core.db.session() as s:
        found = review_clocks.find(s, get_case(s, ref), "sar_screening")
    assert found is not None and found.cancelled_at is not None and met is None
