"""What a use case gives back to a door (issue 11): forms to ask, actions to offer, results.

Surface-neutral: a door renders a :class:`Form` as a Slack modal or an Adaptive Card, a
:class:`NextAction` as a button, and a :class:`Result` as its reply. Nothing here is typed text
from a person: messages carry references, stages and dates only (process.md 8.4).

**Messages are plain text** (decision 0020, "Surface-neutral messages"). ``Result.message`` may
carry ONE kind of mark, emphasis, written only with :func:`strong` (``*SI-2026-0001*``), and a
door reads it only through :func:`spans`: Slack draws it as mrkdwn bold (escaping the rest),
Teams and the CLI show :func:`plain_text` (the marks dropped). Any other character is text:
a door escapes it for its surface, never interprets it. Form texts (titles, labels, intros,
warnings), refusals and field errors carry no mark at all: they may echo what someone typed
(``common.echo``), so no door reads them for markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.errors import Invalid

__all__ = ["Choice", "FieldSpec", "Form", "Invalid", "NextAction", "Notice", "Result", "plain_text", "spans",
           "strong"]

#: Emphasis in a message: a run of one line between asterisks, bounded (linear to read).
_STRONG = re.compile(r"\*([^*\n]{1,200})\*")


def strong(text: str) -> str:
    """``text`` emphasised in a message (a reference); an asterisk inside it is dropped, so the
    mark always closes where it should."""
    return f"*{text.replace('*', '')}*"


def spans(message: str) -> list[tuple[str, bool]]:
    """A message as (text, emphasised) runs, in order; runs are plain text."""
    out: list[tuple[str, bool]] = []
    at = 0
    for found in _STRONG.finditer(message):
        if found.start() > at:
            out.append((message[at:found.start()], False))
        out.append((found.group(1), True))
        at = found.end()
    if at < len(message):
        out.append((message[at:], False))
    return out


def plain_text(message: str) -> str:
    """A message for a surface that draws no emphasis: the marks dropped."""
    return "".join(text for text, _ in spans(message))

FIELD_KINDS = ("text", "longtext", "date", "datetime", "choice", "choices")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str  # "text" | "longtext" | "date" | "datetime" | "choice" | "choices"
    required: bool = False
    options: tuple[Choice, ...] = ()
    initial: Any = None  # str | date | datetime | list[str] | None
    hint: str | None = None
    max_length: int | None = None
    placeholder: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"field kind must be one of: {', '.join(FIELD_KINDS)}")


@dataclass(frozen=True)
class Form:
    action: str  # e.g. "refer", "accept", "decide", "media_enquiry", "draft_statement"
    title: str
    submit: str
    fields: tuple[FieldSpec, ...]
    ref: str | None = None  # the case or enquiry the form acts on
    #: Opaque values the door must send back (e.g. the request kind, the triage item).
    context: dict[str, Any] = field(default_factory=dict)  # JSON scalars
    warning: str | None = None  # e.g. the "do not type names" notice
    intro: str | None = None  # one fixed sentence above the fields (no typed text)


@dataclass(frozen=True)
class NextAction:
    name: str
    label: str
    style: str | None = None  # "primary" | "danger" | None
    form: bool = False  # True: the door asks for the Form first (use case ``form_for``)
    confirm: str | None = None  # a confirmation question for actions without a form
    confirm_title: str | None = None
    confirm_button: str | None = None


@dataclass(frozen=True)
class Notice:
    """Who must be told, decided by the core (the fan-out rules)."""

    to: str  # an Actor key or a role name ("business_unit", "press_office", ...)
    kind: str  # "referral_received", "media_alert", "refused", ...
    ref: str | None = None


@dataclass
class Result:
    message: str  # a chat-safe one-line answer (references, stages, dates only)
    view: dict[str, Any] | None = None  # bot.views.case_view / media_report.enquiry_view / lists
    actions: tuple[NextAction, ...] = ()  # what THIS actor may do next on the object
    changed: tuple[tuple[str, int], ...] = ()  # ("case", id) / ("media", id)
    notify: tuple[Notice, ...] = ()
    repeat: bool = False  # the same request again (doors.once): the door shows, does not redo
    ref: str | None = None  # the case or enquiry acted on (kept with the door's key)
    #: Small chat-safe facts a door may show (e.g. who speaks); kept with the door's key.
    data: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """What :func:`bot.doors.once` keeps under the door's key (no view: a repeat re-reads)."""
        return {
            "message": self.message, "ref": self.ref, "data": self.data,
            "changed": [list(c) for c in self.changed],
            "notify": [[n.to, n.kind, n.ref] for n in self.notify],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], *, repeat: bool) -> Result:
        return cls(
            message=str(record.get("message") or ""), ref=record.get("ref"),
            data=dict(record.get("data") or {}), repeat=repeat,
            changed=tuple((str(k), int(i)) for k, i in record.get("changed") or []),
            notify=tuple(Notice(str(t), str(k), r) for t, k, r in record.get("notify") or []),
        )
