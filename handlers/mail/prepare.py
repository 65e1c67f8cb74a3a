"""What the intake reads of a message before it takes the database's write lock (decision
0010): the parse, the body text, the labelled fields, the attachments and a media enquiry's
reading, each step within the time budget. Nothing here touches the database."""

from __future__ import annotations

import re
import time
from dataclasses import replace

from bot.core import Core
from handlers.mail.classify import BUDGET_SECONDS, ParsedMessage, parse
from handlers.mail.media_mail import is_to_press_address, read_enquiry


def read_before_the_lock(core: Core, raw: bytes) -> ParsedMessage:
    """``raw`` read as far as any route needs; ``unreadable`` says why not when over a limit."""
    parsed = parse(raw, deadline=time.thread_time() + BUDGET_SECONDS)
    deadline = time.thread_time() + BUDGET_SECONDS
    parsed.read_all(deadline)
    _read_enquiry(core, parsed, deadline)
    return parsed


#: What a media enquiry's reading is given of the body: an enquiry is a few paragraphs, and
#: the reading's patterns are not all linear in the text (issue 9 item 1): runs of blank lines
#: and of spaces are also made short (each pattern here is one linear pass).
MEDIA_TEXT_CHARS = 16 * 1024
_BLANK_LINES = re.compile(r"\n[ \t\r\n]*\n")
_SPACES = re.compile(r"[ \t]{2,}")


def _calm(text: str) -> str:
    return _SPACES.sub(" ", _BLANK_LINES.sub("\n\n", text[:MEDIA_TEXT_CHARS]))


def _read_enquiry(core: Core, parsed: ParsedMessage, deadline: float) -> None:
    """Read a media enquiry before the write lock, on at most MEDIA_TEXT_CHARS of its text; an
    error here leaves it to the route, which sends it to triage as before."""
    if parsed.unreadable is not None or parsed.msg is None or parsed.auto_marker or parsed.bounce:
        return
    if not is_to_press_address(parsed, core.protocol):
        return
    try:
        short = replace(parsed, _text=_calm(parsed.text))
        parsed.enquiry = read_enquiry(short, core.protocol, core.clock.now())
    except Exception:  # read again, and reported, inside the route
        parsed.enquiry = None
    if time.thread_time() > deadline:
        parsed.unreadable = f"it took longer than {BUDGET_SECONDS * 1000:.0f} ms to read"
