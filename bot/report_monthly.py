"""The monthly summary for the business unit's channel (issue 14 item 3; decision 0031).

On the first working day of each month, from the start of working hours, the tick writes one
``monthlysummary`` row for the month and one ``monthly_summary`` event (case_id NULL) in the same
transaction. The row's primary key is the month: a second tick, or a second instance, fails to
insert it and posts nothing. After the commit the chat notifiers (Slack, Teams; decision 0019)
post the event's words, once per surface (a chat post row keyed by the month).

Aggregate counts only, about the month just ended and the cases open now: never a reference,
a name, a date of birth or typed text (process.md 8.4 items 1 and 9).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import audit
from bot.calendar import Calendar
from bot.core import Core
from bot.models_report import MonthlySummary
from bot.report import clock_state
from bot.report_facts import CLOCK_KINDS, load_facts
from bot.report_statuses import review_status
from bot.stages import CLOSED_STAGES

EVENT = "monthly_summary"


def first_working_day(cal: Calendar, year: int, month: int) -> date:
    day = date(year, month, 1)
    return day if cal.is_working_day(day) else cal.add_working_days(day, 1)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def post_id(month: str) -> int:
    """The chat post's object id for a month: 202612."""
    return int(month.replace("-", ""))


def _previous(day: date) -> tuple[date, date]:
    """The first and the last day of the month before ``day``'s."""
    last = date(day.year, day.month, 1) - timedelta(days=1)
    return last.replace(day=1), last


def summary_counts(session: Session, core: Core, today: date, now: datetime) -> dict[str, Any]:
    """The counts: referrals, decisions and statutory clocks of last month; what is open now."""
    cal = core.calendar
    start, end = _previous(today)
    facts = load_facts(session, core)
    within = lambda at: at is not None and start <= cal.local_date(at) <= end  # noqa: E731
    due = [k for c in facts.cases for kind in CLOCK_KINDS if (k := c.clock(kind)) is not None
           and k.cancelled_at is None and within(k.due_at)]
    states = [clock_state(k, now) for k in due]
    open_cases = [c for c in facts.cases if c.stage not in CLOSED_STAGES]
    reviews = [review_status(c) for c in open_cases if c.decision == "lcspr"]
    overdue_now = sum(1 for c in open_cases for kind in CLOCK_KINDS
                      if (k := c.clock(kind)) is not None and k.cancelled_at is None and k.met_at is None
                      and k.due_at < now)
    returns = [r for r in facts.requests if within(r.due_at) and r.status != "closed"]
    return {
        "month": month_key(start),
        "referrals": sum(1 for c in facts.cases if within(c.created_at)),
        "decisions": sum(1 for c in facts.cases if within(c.decision_at)),
        "local_reviews_decided": sum(1 for c in facts.cases
                                     if c.decision == "lcspr" and within(c.decision_at)),
        "clocks_due": len(due), "clocks_on_time": states.count("on_time"),
        "clocks_late": states.count("late"), "clocks_overdue": states.count("overdue"),
        "returns_due": len(returns),
        "returns_on_time": sum(1 for r in returns if r.returned_at is not None and r.returned_at <= r.due_at),
        "open_cases": len(open_cases), "open_local_reviews": len(reviews),
        "embargoed": reviews.count("embargoed"), "overdue_clocks_now": overdue_now,
    }


def post_monthly_summary(core: Core) -> bool:
    """The tick's phase: write this month's summary if it is due and not yet written. True when
    this call wrote it (and the notifiers will post it)."""
    now = core.clock.now()
    cal = core.calendar
    today = cal.local_date(now)
    first = first_working_day(cal, today.year, today.month)
    if today < first or now < cal.next_working_moment(cal.start_of_day(first)):
        return False
    key = month_key(today)
    if core.summary_month_done == key:
        return False  # the usual case, every tick after the first of the month: no query
    with core.db.session() as session:
        if session.get(MonthlySummary, key) is not None:
            core.summary_month_done = key
            return False
    try:
        with core.transaction() as session:
            counts = summary_counts(session, core, today, now)
            session.add(MonthlySummary(month=key, created_at=now, counts=counts))
            session.flush()  # another instance's row for the month fails here: it posts, not us
            audit.record(session, at=now, actor=audit.SYSTEM, kind=EVENT, **{**counts, "posted_for": key})
    except IntegrityError:  # another instance wrote it (and posts it)
        core.summary_month_done = key
        return False
    core.summary_month_done = key
    return True


def summary_lines(detail: dict[str, Any]) -> list[str]:
    """The summary's words, the same on every surface (each escapes them its own way)."""
    n = lambda key: int(detail.get(key) or 0)  # noqa: E731
    return [
        f"Monthly summary for {detail.get('month', '')} (aggregate counts only)",
        f"Referrals received: {n('referrals')}. Rapid review decisions: {n('decisions')}, of which local "
        f"reviews: {n('local_reviews_decided')}.",
        f"Statutory clocks due: {n('clocks_due')}: {n('clocks_on_time')} on time, {n('clocks_late')} late, "
        f"{n('clocks_overdue')} overdue.",
        f"Agency returns due: {n('returns_due')}, {n('returns_on_time')} on time.",
        f"Now: {n('open_cases')} open cases, {n('open_local_reviews')} local reviews open "
        f"({n('embargoed')} embargoed), {n('overdue_clocks_now')} statutory clocks overdue.",
        "The full report: review-bot report --html FILE.",
    ]


def unposted_summary(session: Session, surface: str) -> MonthlySummary | None:
    """The latest month's summary when ``surface`` has not posted it (the tick's re-post)."""
    from sqlmodel import col, select

    from bot import chat_posts

    latest = session.exec(select(MonthlySummary).order_by(col(MonthlySummary.month).desc())).first()
    if latest is None or chat_posts.first_post(session, surface, chat_posts.SUMMARY, post_id(latest.month)):
        return None
    return latest


def summary_detail(session: Session, month: str) -> dict[str, Any] | None:
    found = session.get(MonthlySummary, month)
    return None if found is None else {**found.counts, "posted_for": found.month}
