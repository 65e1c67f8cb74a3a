"""The words of a thread reply under a case card or a media alert, for every chat surface.

An event the core recorded becomes a :class:`Reply`: fixed words and whitelisted facts only
(references, stages, dates, agencies, request kinds, counts; process.md 8.4: "No names ... or
free-text incident narratives" in a channel), never a reason, a rationale, a summary or anything
else someone typed. A reply is plain text with at most one :class:`Sign`, a severity mark that
each surface draws its own way (Slack an emoji code, Teams an emoji character, a plain reader
nothing). Doors escape the text for their surface; nothing here is markup.

Which events get a reply is decided here once: the Slack and Teams notifiers post a reply for
exactly the events :func:`case_reply` and :func:`media_reply` answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import Core
from bot.deadlines import STATUTORY
from bot.media_routing import ROLE_LABELS
from bot.privacy import plain_label
from bot.stages import LABELS, Stage
from bot.vocabulary import REQUEST_KIND_LABELS


@dataclass(frozen=True)
class Sign:
    """A severity mark: ``warning``, ``overdue``, ``due_soon``, ``unacknowledged`` or ``alarm``."""

    name: str


WARNING = Sign("warning")
OVERDUE = Sign("overdue")
DUE_SOON = Sign("due_soon")
UNACKNOWLEDGED = Sign("unacknowledged")
ALARM = Sign("alarm")
SIGNS = (WARNING, OVERDUE, DUE_SOON, UNACKNOWLEDGED, ALARM)


@dataclass(frozen=True)
class Reply:
    """Plain text parts and signs, in reading order."""

    parts: tuple[str | Sign, ...]

    def render(self, signs: Mapping[str, str], text: Callable[[str], str] = str) -> str:
        """The reply for a surface: each sign as ``signs`` draws it, each text part through
        ``text`` (the surface's escaping)."""
        return "".join(signs.get(p.name, "") if isinstance(p, Sign) else text(p) for p in self.parts)

    @property
    def plain(self) -> str:
        """Without its sign: for a reader that draws none (a log-free test, the CLI)."""
        return " ".join(self.render({}).split())


def local_time(value: object, tz: ZoneInfo | None) -> str:
    """An ISO time from an event or a view, in the partnership's zone (``Mon 16 Nov 2026 10:00``)."""
    if not value:
        return "not set"
    at = datetime.fromisoformat(str(value))
    if tz is not None:
        at = at.astimezone(tz)
    return at.strftime("%a %d %b %Y %H:%M")


def _count(value: object, default: str = "") -> str:
    """A number the core wrote into an event's detail; anything else is not shown."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else default


def agency_name(core: Core, slug: object) -> str:
    """The protocol's name for an agency; an unknown slug is shown guarded (it came from a row)."""
    try:
        return core.protocol.agency(str(slug)).name
    except ValueError:
        return plain_label(str(slug), field="agency")


def deadline_label(kind: object) -> str:
    kind = str(kind)
    if kind in STATUTORY:
        return STATUTORY[kind][0]
    return "chronology return" if kind.startswith("chronology") else "information gathering return"


def case_reply(core: Core, ref: str, kind: str, detail: Mapping[str, Any]) -> Reply | None:
    """The reply under a case's card for one of its events; None: the card says enough."""
    d, tz = detail, core.calendar.tz
    request = REQUEST_KIND_LABELS.get(str(d.get("request_kind")), "")
    agency = agency_name(core, d.get("agency"))
    head = f"{ref}: "
    if kind == "return_received":
        late = "" if d.get("on_time", True) else " (late)"
        return Reply((f"{head}{request} return received from {agency}{late}.",))
    if kind == "request_sent":
        return Reply((f"{head}{request} request sent to {agency}, due {local_time(d.get('due_at'), tz)}.",))
    if kind == "reminder_sent":
        return Reply((f"{head}reminder sent to {agency} for the {request} return.",))
    if kind == "chase_sent":
        return Reply((f"{head}chase {_count(d.get('chase'))} sent to {agency} for the overdue {request} "
                      "return.",))
    if kind == "request_escalated":  # Working Together 2023 ch. 5: returns feed the rapid review
        return Reply((head, WARNING, f" the overdue {request} return from {agency} has been escalated."))
    if kind == "request_bounced":
        return Reply((head, WARNING, f" the {request} request to {agency} bounced; check the agency's "
                                     "address."))
    if kind == "request_withdrawn":
        return Reply((f"{head}the {request} request to {agency} was withdrawn.",))
    if kind == "deadline_overdue":
        return Reply((head, OVERDUE, f" {deadline_label(d.get('deadline'))} is overdue "
                                     f"(was due {local_time(d.get('due_at'), tz)})."))
    if kind == "deadline_warning":
        return Reply((head, DUE_SOON, f" {deadline_label(d.get('deadline'))} is due "
                                      f"{local_time(d.get('due_at'), tz)}."))
    if kind == "stage_changed":
        try:
            before, after = LABELS[Stage(str(d.get("from")))], LABELS[Stage(str(d.get("to")))]
        except ValueError:
            return None
        return Reply((f"{head}{before} → {after}.",))
    if kind == "media_enquiry_received":
        # A fixed line: the alert itself is in the media channel, where the media team works.
        media_ref = str(d.get("media_ref") or "")
        return Reply((f"{head}media enquiry {media_ref[:20]} received (routing row "
                      f"{_count(d.get('row'), '?')}).",))
    return None


def media_reply(core: Core, view: Mapping[str, Any], kind: str, detail: Mapping[str, Any]) -> Reply | None:
    """The reply under a media alert (``view``: bot.media_report.enquiry_view) for one of its
    events; None: the alert, updated in place, says enough. Never the journalist's words."""
    d, ref = detail, view["ref"]
    if kind == "media_alert_repeated":  # issue 4 item 3: the business manager is told too
        return Reply((UNACKNOWLEDGED, f" {ref}: still not acknowledged (alert repeated "
                                      f"{_count(d.get('repeat'))}). The business manager has been told."))
    if kind == "media_deadline_reminder":
        minutes = _count(d.get("minutes_before"), "?")
        return Reply((ALARM, f" {ref}: the journalist's deadline is in {minutes} minutes "
                             f"({local_time(view.get('journalist_deadline'), core.calendar.tz)})."))
    if kind == "media_deadline_passed":
        return Reply((OVERDUE, f" {ref}: the journalist's deadline has passed and no response is recorded."))
    if kind == "media_chair_fallback":  # process.md 6.3: the protocol's fallback speaks
        speaks = ROLE_LABELS.get(str(d.get("speaks")), plain_label(str(d.get("speaks")), field="role"))
        return Reply((WARNING, f" {ref}: the Chair and the Deputy Chair are not available; {speaks} speaks "
                               "(the protocol's fallback). The business manager has been told."))
    return None
