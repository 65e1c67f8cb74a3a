"""One look at a message's structure before it is parsed (decisions 0009 and 0010): how many
MIME containers it declares, whether it may have parts or an attached message, and whether it is
over the caps the intake sets. Pure functions over bytes.

The caps and the search for runs to skip (handlers/mail/line_runs.py) all ask about the same few
words, case-insensitively, and only outside the base64 runs (``gaps``), where the structure is:
a 20 MB attachment is skipped, not searched. A case-insensitive pattern gets no literal search
from the regex engine (it tries every position: 65 us for a 5 KB message), so each stretch is
lowered once (ASCII only, as ``re.IGNORECASE`` on bytes is) and searched with plain ``in`` and a
pattern that starts with a literal: a few microseconds, linear, and no quantifier over the
sender's text wider than ``[ \\t]*``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

#: [start, end) of the stretches of a message outside its base64 runs.
Gaps = list[tuple[int, int]]

#: A multipart's boundary parameter, in lowered text.
_BOUNDARY_PARAM = re.compile(rb"boundary[ \t]*=")
#: The header block ends within ``Limits.header_block`` bytes with one of these.
_HEADER_END = re.compile(rb"\n\n|\r\n\r\n")


class Limits(NamedTuple):
    """What a message may have before it is not read at all (the caller's caps)."""

    #: bytes before the first empty line
    header_block: int
    #: MIME containers declared outside base64 runs
    containers: int


class Outline(NamedTuple):
    """What one look at the stretches outside the base64 runs (``gaps``) found."""

    gaps: Gaps
    #: "boundary=" parameters and attached-message types (message/rfc822, message/global),
    #: counted up to one more than the caller's cap
    containers: int
    #: "boundary" anywhere: the message may have MIME parts
    boundary: bool
    #: "message/" or "digest" anywhere: a part's body may be read as a message, headers first
    #: (message/*, or a part of a multipart/digest, whose default type is message/rfc822)
    nested_headers: bool


def outline(raw: bytes, gaps: Gaps, most_containers: int = 0) -> Outline:
    containers, boundary, nested = 0, False, False
    for start, end in gaps:
        low = raw[start:end].lower()
        if b"message/" in low:
            nested = True
            containers += low.count(b"message/rfc822") + low.count(b"message/global")
        nested = nested or b"digest" in low
        if b"boundary" in low:
            boundary = True
            for _match in _BOUNDARY_PARAM.finditer(low):
                if containers > most_containers:
                    break  # enough to refuse: the loop stays short on a hostile message
                containers += 1
    return Outline(gaps, containers, boundary, nested)


def over_limits(raw: bytes, found: Outline, limits: Limits) -> str | None:
    """Why the message is too much to read at all (decision 0010), or None."""
    end = _HEADER_END.search(raw, 0, limits.header_block + 4)
    if (end is None or end.start() > limits.header_block) and len(raw) > limits.header_block:
        return f"its header is longer than {limits.header_block // 1024} KB"
    if found.containers > limits.containers:
        return f"it has more than {limits.containers} nested MIME parts"
    return None
