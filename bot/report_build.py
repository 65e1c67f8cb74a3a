"""The partnership's report made from the database (issue 14): the one call a door makes.

Reads the facts in one session (bot.report_facts), then computes (bot.report). ``actions`` is the
action plan's rows when that exists (bot.report_panels.ActionFact); None: "no action data".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.core import Core
from bot.errors import Invalid
from bot.report import Scope, build_report, fy_start
from bot.report_facts import load_facts
from bot.report_panels import ActionFact
from bot.report_tables import Report


def partnership_report(
    core: Core, *, start: date | None = None, end: date | None = None, shared: bool = False,
    actions: Sequence[ActionFact] | None = None,
) -> Report:
    """From ``start`` (default: the financial year of the earliest case) to ``end`` (default:
    today); ``shared``: for outside the partnership (small cells suppressed)."""
    now = core.clock.now()
    cal = core.calendar
    today = cal.local_date(now)
    with core.db.session() as session:
        facts = load_facts(session, core)
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
