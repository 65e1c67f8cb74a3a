"""The partnership's report made from the database (issue 14): the one call a door makes.

Reads the facts in one session (bot.report_facts), then computes (bot.report). The actions panel
reads the action plan's rows (bot.action_plan): status and dates only, never an action's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from bot.core import Core
from bot.errors import Invalid
from bot.models import Case, Deadline, Publication
from bot.models_actions import ReviewAction
from bot.report import Scope, build_report, fy_start
from bot.report_facts import load_facts
from bot.report_panels import ActionFact
from bot.report_tables import Report


def partnership_report(
    core: Core, *, start: date | None = None, end: date | None = None, shared: bool = False,
    actions: Sequence[ActionFact] | None = None,
) -> Report:
    """From ``start`` (default: the financial year of the earliest case) to ``end`` (default:
    today); ``shared``: for outside the partnership (small cells suppressed). ``actions``: the
    action plan's rows as facts (default: read from the database; none recorded: "no action data")."""
    now = core.clock.now()
    cal = core.calendar
    today = cal.local_date(now)
    with core.db.session() as session:
        facts = load_facts(session, core)
        if actions is None:
            actions = load_actions(session) or None
    if start is None:
        days = [cal.local_date(c.created_at) for c in facts.cases]
        days += [c.la_aware_date for c in facts.cases if c.la_aware_date is not None]
        start = fy_start(min(days, default=today))
    end = end or today
    if end < start:
        raise Invalid({"to": f"the period ends ({end}) before it starts ({start})"})
    protocol = core.protocol
    return build_report(
        facts, scope=Scope(start, end, now, cal), partnership=protocol.partnership.name,
        themes=dict(protocol.report.themes),
        media_targets=(protocol.media.notify_within, protocol.media.acknowledge_within),
        agency_names={a.slug: a.name for a in protocol.agencies}, actions=actions, shared=shared,
        suppress_below=protocol.report.suppress_below,
    )


def load_actions(session: Session) -> list[ActionFact]:
    """Every action of every children's review: its status, its clock's due time (none before
    publication), when it was verified, whether it is a larger piece of work, when its review was
    published. A SAR's (its "other learning" route may hold a plan) is not the report's (0028)."""
    # The five columns only: loading the rows would open (decrypt) every action's text and notes
    # for a report that counts them.
    rows = session.execute(
        sa_select(col(ReviewAction.status), col(Deadline.due_at), col(ReviewAction.verified_at),
                  col(ReviewAction.larger), col(Publication.published_at))
        .select_from(ReviewAction)
        .join(Case, col(Case.id) == ReviewAction.case_id).where(col(Case.kind) == "child")
        .outerjoin(Deadline, col(Deadline.id) == ReviewAction.deadline_id)
        .outerjoin(Publication, col(Publication.case_id) == ReviewAction.case_id)
        .order_by(col(ReviewAction.id))
    )
    return [ActionFact(*row) for row in rows]
