"""A media enquiry's clocks as Deadline rows (decision 0026): one clock engine, not two.

Two clocks open when an enquiry is received (process.md 6, M-1 and M-11):

* ``media_acknowledgement``: due ``acknowledge_within`` after receipt; step ``n`` repeats the
  alert to the escalation audience (the business manager among them) ``acknowledge_within`` x
  (n + 1) after receipt, ``acknowledge_repeats`` times at most. Met when someone acknowledges.
* ``media_deadline`` (only with a journalist's deadline): due at that deadline; a reminder
  each ``deadline_reminders`` before it, then one alert when it passes unanswered. Met when the
  journalist is answered.

Closing an enquiry cancels both. The rows are stepped by the sweep over deadlines
(bot.chasers, steps in bot.media_chasers): same claim, same ``deadline:<id>:step:<n>`` key, same
reason re-checked at delivery. Their ``working_hours`` flag is False: journalists do not keep
office hours, so no step waits for a working day.

The times come from the protocol's ``[media]`` section when a step is planned, as before this
revision; this module imports nothing that renders or sends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.core import Core
from bot.models import Deadline, MediaEnquiry
from bot.protocol_media import Media

ACKNOWLEDGEMENT = "media_acknowledgement"
JOURNALIST_DEADLINE = "media_deadline"
KINDS = (ACKNOWLEDGEMENT, JOURNALIST_DEADLINE)
LABELS = {
    ACKNOWLEDGEMENT: "media alert acknowledged (M-1)",
    JOURNALIST_DEADLINE: "journalist's deadline (M-11)",
}


# --- opening and ending ---------------------------------------------------------------------------


def open_clocks(session: Session, core: Core, enquiry: MediaEnquiry) -> list[Deadline]:
    """The enquiry's clocks, from the moment it was received. A reminder whose time has already
    gone when the enquiry arrives is not sent late (it is skipped when planned)."""
    assert enquiry.id is not None
    media = core.protocol.media
    rows = [Deadline(
        media_enquiry_id=enquiry.id, kind=ACKNOWLEDGEMENT, anchor_at=enquiry.received_at,
        due_at=enquiry.received_at + media.acknowledge_within, working_hours=False,
    )]
    if enquiry.journalist_deadline is not None:
        rows.append(Deadline(
            media_enquiry_id=enquiry.id, kind=JOURNALIST_DEADLINE, anchor_at=enquiry.received_at,
            due_at=enquiry.journalist_deadline, working_hours=False,
        ))
    for row in rows:
        schedule_next(core, row)
        session.add(row)
    return rows


def clocks_of(session: Session, enquiry: MediaEnquiry) -> list[Deadline]:
    return list(session.exec(
        select(Deadline).where(Deadline.media_enquiry_id == enquiry.id).order_by(col(Deadline.id))
    ))


def meet(session: Session, enquiry: MediaEnquiry, kinds: tuple[str, ...], at: datetime) -> None:
    """The clocks of ``kinds`` are met: no further step, and a step already queued is cancelled
    at delivery (its reason names the clock, bot.reasons)."""
    for row in clocks_of(session, enquiry):
        if row.kind in kinds and row.met_at is None and row.cancelled_at is None:
            row.met_at, row.next_action_at = at, None


def cancel(session: Session, enquiry: MediaEnquiry, at: datetime) -> None:
    """Closed without an answer (or as a duplicate): the clocks stop and are not counted met."""
    for row in clocks_of(session, enquiry):
        if row.met_at is None and row.cancelled_at is None:
            row.cancelled_at, row.next_action_at = at, None


# --- when each step falls due -----------------------------------------------------------------------


def step_count(media: Media, deadline: Deadline) -> int:
    if deadline.kind == ACKNOWLEDGEMENT:
        return media.acknowledge_repeats
    return len(media.deadline_reminders) + 1  # the reminders, then the alert when it passes


def step_time(core: Core, deadline: Deadline, index: int) -> datetime | None:
    """When step ``index`` falls due, or None if it no longer makes sense."""
    media = core.protocol.media
    if index >= step_count(media, deadline):
        return None
    if deadline.kind == ACKNOWLEDGEMENT:
        at = deadline.anchor_at + media.acknowledge_within * (index + 1)
    elif index < len(media.deadline_reminders):
        at = deadline.due_at - media.deadline_reminders[index]
        if at <= deadline.anchor_at:  # its time had gone when the enquiry arrived
            return None
    else:
        at = deadline.due_at
    # The per-row flag (False for every media row today): a clock may still opt into office hours.
    return core.calendar.next_working_moment(at) if deadline.working_hours else at


def schedule_next(core: Core, deadline: Deadline) -> None:
    """Set ``step``/``next_action_at`` to the next step that still makes sense (or none)."""
    if deadline.kind == ACKNOWLEDGEMENT:
        # Derived from the protocol like the step times (a row opened by migration 0009, which
        # did not know the protocol, gets its due time on its first look).
        deadline.due_at = deadline.anchor_at + core.protocol.media.acknowledge_within
    while deadline.step < step_count(core.protocol.media, deadline):
        at = step_time(core, deadline, deadline.step)
        if at is not None:
            deadline.next_action_at = at
            return
        deadline.step += 1
    deadline.next_action_at = None


def catch_up(core: Core, deadline: Deadline, now: datetime) -> int:
    """The step to take now: after downtime, the latest one due, not a burst of stale ones."""
    index = deadline.step
    last = step_count(core.protocol.media, deadline) - 1
    while index < last:
        at = step_time(core, deadline, index + 1)
        if at is not None and at > now:
            break
        index += 1
    return index


# --- what the CLI's JSON shows ------------------------------------------------------------------------


def state(deadline: Deadline, now: datetime) -> str:
    """met | met-late | cancelled | overdue | open (no working-day "due soon": minutes count here)."""
    if deadline.met_at:
        return "met" if deadline.met_at <= deadline.due_at else "met-late"
    if deadline.cancelled_at:
        return "cancelled"
    return "overdue" if now > deadline.due_at else "open"


def views(session: Session, enquiry: MediaEnquiry, now: datetime) -> list[dict[str, Any]]:
    """The enquiry's clock rows, as ``case REF --json`` shows a case's deadlines. No free text."""
    def iso(at: datetime | None) -> str | None:
        return at.isoformat() if at else None

    return [
        {
            "kind": d.kind, "label": LABELS.get(d.kind, d.kind), "due_at": iso(d.due_at),
            "met_at": iso(d.met_at), "cancelled_at": iso(d.cancelled_at), "state": state(d, now),
            "step": d.step, "next_action_at": iso(d.next_action_at), "working_hours": d.working_hours,
        }
        for d in clocks_of(session, enquiry)
    ]
