"""Renders outbound email from the Jinja2 templates in ``templates/email``.

``StrictUndefined``: a missing variable fails loudly (in the tests) instead of sending "Dear ,".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

LONDON = ZoneInfo("Europe/London")


def local_time(value: datetime, tz: str = "Europe/London") -> str:
    """How a deadline reads to a person: 'Tue 24 Nov 2026, 16:00'."""
    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y, %H:%M")


def local_day(value: datetime, tz: str = "Europe/London") -> str:
    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y")


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("templates", "email"),
        # "x.html.j2" does not end in ".html": without "html.j2" no HTML email was ever escaped.
        autoescape=select_autoescape(["html", "html.j2"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = local_time
    env.filters["day"] = local_day
    return env


@dataclass(frozen=True)
class OutboundFile:
    """A file sent with a message (a template a request carries)."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(name: str, **context: Any) -> Rendered:
    """Render ``email/<name>.txt.j2`` and ``<name>.html.j2``; the subject is the text's first line.

    The text template's first line is ``Subject: ...`` so that subject and body live together.
    """
    env = _env()
    text = env.get_template(f"{name}.txt.j2").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {name}.txt.j2 must start with a 'Subject: ' line")
    html = env.get_template(f"{name}.html.j2").render(**context)
    return Rendered(subject=first.removeprefix("Subject: ").strip(), text=body.lstrip("\n"), html=html)


def compose(
    *, sender: str, to: list[str], cc: list[str], subject: str, text: str, html: str | None,
    message_id: str, in_reply_to: str | None, references: str | None, date: datetime,
    attachments: Sequence[OutboundFile] = (),
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    # RFC 3834: the bot's chasers are automatic; this also stops agencies' auto-replies looping.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for file in attachments:
        maintype, _, subtype = file.content_type.partition("/")
        msg.add_attachment(file.content, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=file.filename)
    return msg
