"""Text in Adaptive Cards that cannot carry markup, and local times.

A ``TextBlock`` renders a Markdown subset in Teams (links, emphasis, lists), so anything not
written by us goes into a ``TextRun`` of a ``RichTextBlock``, which the Adaptive Card schema
renders as plain text, and is bounded and stripped of control characters on the way. Fixed
sentences from this package may use a ``TextBlock``. This is the Teams counterpart of the Slack
door's escaping (process.md 8.4; the canary test in tests/test_teams_privacy.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from microsoft_teams.cards import CardElement, RichTextBlock, TextBlock, TextRun

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def plain(value: object, limit: int = 300) -> str:
    """A value as plain, bounded text: no control or direction characters."""
    text = _CONTROL.sub("", "" if value is None else str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line(*parts: tuple[str, bool] | str, subtle: bool = False, separator: bool = False) -> RichTextBlock:
    """One paragraph of plain runs; a ``(text, True)`` part is bold (a label)."""
    runs: list[CardElement] = []
    for part in parts:
        text, bold = (part, False) if isinstance(part, str) else part
        runs.append(TextRun(text=plain(text, 1000), weight="Bolder" if bold else None,
                            is_subtle=subtle or None))
    return RichTextBlock(inlines=runs, separator=separator or None)


def fact(label: str, value: object) -> RichTextBlock:
    return line((f"{label}: ", True), plain(value))


def heading(text: str) -> RichTextBlock:
    return RichTextBlock(inlines=[TextRun(text=plain(text, 150), weight="Bolder", size="Medium")])


def fixed(text: str, *, subtle: bool = False) -> TextBlock:
    """A sentence written in this package (never a value from outside)."""
    return TextBlock(text=text, wrap=True, is_subtle=subtle or None)


def local_time(value: str | None, tz: ZoneInfo | None) -> str:
    if not value:
        return "not set"
    at = datetime.fromisoformat(value)
    if tz is not None:
        at = at.astimezone(tz)
    return at.strftime("%a %d %b %Y %H:%M")


def time_left(due: str | None, now: datetime | None) -> str:
    if not due or now is None:
        return ""
    seconds = int((datetime.fromisoformat(due) - now).total_seconds())
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        span = f"{days} day{'s' * (days != 1)} {hours} h"
    elif hours:
        span = f"{hours} h {rest // 60} min"
    else:
        span = f"{rest // 60} min"
    return f"overdue by {span}" if seconds < 0 else f"{span} left"


def dump(element: Any) -> dict[str, Any]:
    """An SDK card model as the JSON Teams expects (camelCase, nothing empty)."""
    return dict(element.model_dump(by_alias=True, exclude_none=True))
