"""Runs of lines that play no part in how the standard library's feed parser reads a message's
structure, which the fast parse swaps for one token line each (decision 0009; see
handlers/mail/fastparse.py): long runs of base64, of blank lines and of plain body text.

The feed parser walks a message one line at a time: a 400 KB attachment is about 5,400 base64
lines and 5 ms, an ordinary 7 KB letter 140 lines and about 70 us (docs/benchmarks.md). What a
run may hold, and where it may start, is said with each kind below; every run is whole lines.
"""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

from handlers.mail.outline import Gaps, Outline, outline


class Run(NamedTuple):
    """``raw[start:end]``, of which ``breaks`` bytes are line breaks (for a base64 run)."""

    start: int
    end: int
    breaks: int
    #: a run of whitespace-only lines (see blank_runs), never decoded as base64
    blank: bool = False
    #: ``raw[start:end]`` of a base64 run: the one copy made to check it, kept for the parse
    data: bytes = b""
    #: a run of body text (see text_runs), never decoded as base64
    text: bool = False


def gaps_between(raw: bytes, runs: list[Run]) -> Gaps:
    """[start, end) of what is not in a run (``runs`` in order of ``start``)."""
    gaps, last = [], 0
    for run in runs:
        gaps.append((last, run.start))
        last = run.end
    gaps.append((last, len(raw)))
    return gaps


# --- base64 --------------------------------------------------------------------------------------
#
# A run of lines made only of the base64 alphabet cannot be a boundary (those start with "--"),
# a header or a continuation line (no ":", no leading blank), or a blank line.

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
#: Base64 and blank runs shorter than this (about 50 lines) are left to the feed parser.
MIN_RUN = 4096
_NEWLINE_DASH = re.compile(rb"\n-")


#: Lines starting with "-" that cut a message into stretches to look for base64 in: past them,
#: the rest is one stretch (a run found there is still checked line by line; text made of
#: hyphen lines, 150,000 of them, took 30 ms to cut).
_MOST_CUTS = 1024


def _dash_lines(raw: bytes) -> list[int]:
    """Where each line that starts with "-" starts (every boundary line is one of them), at
    most ``_MOST_CUTS``."""
    found: list[int] = []
    i = raw.find(b"-")  # a byte search skips a base64 run at memory speed: it has no "-"
    for _ in range(256):
        if i < 0:
            return found
        if i > 0 and raw[i - 1] == 0x0A:
            found.append(i)
        i = raw.find(b"-", i + 1)
    if i >= 0:  # text full of hyphens: let the regex engine find the rest, not stop at each one
        matches = _NEWLINE_DASH.finditer(raw, max(i - 1, 0))
        found += [m.start() + 1 for m in itertools.islice(matches, _MOST_CUTS)]
    return found[:_MOST_CUTS]


#: The line breaks at the start of a stretch (the regex engine steps over them without a copy).
_LEADING_BREAKS = re.compile(rb"[\r\n]*")
#: How far back from its end a stretch is first looked at for trailing line breaks.
_TAIL = 256


def without_breaks(raw: bytes, start: int, end: int) -> tuple[int, int]:
    """``raw[start:end]`` without the line breaks at either end, as offsets: what
    ``lstrip(b"\\r\\n")`` and ``rstrip(b"\\r\\n")`` of the slice give, without copying a stretch
    that may be a whole attachment (each copy of half a megabyte is a fresh allocation)."""
    match = _LEADING_BREAKS.match(raw, start, end)
    start = match.end() if match else start
    probe = max(start, end - _TAIL)
    kept = len(raw[probe:end].rstrip(b"\r\n"))
    if not kept and probe > start:  # more breaks than the probe holds: strip the whole stretch
        probe, kept = start, len(raw[start:end].rstrip(b"\r\n"))
    return start, probe + kept


def _whole_base64_lines(raw: bytes, start: int, end: int) -> Run | None:
    """The part of ``raw[start:end]`` that is a run of non-empty base64 lines of one length
    (the last may be shorter), each ending in the same LF or CRLF; ``None`` if it is not one.

    Blank lines around the run are left out. Encoders write fixed-length lines; a run that is
    not written that way is simply left to the feed parser.
    """
    start, end = without_breaks(raw, start, end)
    if end - start < MIN_RUN or raw[start - 1] != 0x0A:
        return None
    eol = b"\r\n" if raw[end:end + 2] == b"\r\n" else b"\n" if raw[end:end + 1] == b"\n" else None
    if eol is None:
        return None
    end += len(eol)
    width = raw.find(b"\n", start, end) + 1 - start  # one line, its line break included
    if width <= len(eol) or raw[start + width - len(eol):start + width] != eol:
        return None
    run = raw[start:end]
    full, tail = divmod(len(run), width)
    lines = full + (1 if tail else 0)
    if (
        run.translate(None, _B64_ALPHABET) != eol * lines  # nothing but the alphabet and breaks
        or run[width - 1::width] != b"\n" * full  # every line break where a line ends
        or (eol == b"\r\n" and run[width - 2::width] != b"\r" * full)  # no bare CR
        or (tail and tail <= len(eol))  # a last, shorter line that is not empty
    ):
        return None
    return Run(start, end, lines * len(eol), data=run)


def base64_runs(raw: bytes) -> list[Run]:
    """[start, end) of each long run of whole lines that only hold base64 characters.

    Looked for where an encoded body sits: after the first blank line of a stretch of the
    message between two lines that start with "-" (boundaries). Where a run starts is only a
    guess; :func:`_whole_base64_lines` checks that what is swapped out is such a run.
    """
    if len(raw) < 2 * MIN_RUN:
        return []
    crlf = raw[max(raw.find(b"\n"), 1) - 1] == 0x0D
    seps = (b"\r\n\r\n", b"\n\n") if crlf else (b"\n\n", b"\r\n\r\n")
    cuts = [0, *_dash_lines(raw), len(raw)]
    runs: list[Run] = []
    for seg_start, seg_end in itertools.pairwise(cuts):
        if seg_end - seg_start < MIN_RUN:
            continue
        blank = raw.find(seps[0], seg_start, seg_end)
        sep = seps[0]
        other = raw.find(seps[1], seg_start, blank if blank >= 0 else seg_end)
        if other >= 0:
            blank, sep = other, seps[1]
        if blank < 0:
            continue
        found = _whole_base64_lines(raw, blank + len(sep), seg_end)
        if found is not None:
            runs.append(found)
    return runs


# --- after an empty line: blank lines and body text ----------------------------------------------
#
# A line that is exactly empty ends any header block, so what follows it is body text (a part's,
# a preamble or an epilogue), where the parser only looks for boundary lines, which start with
# "--". Except where a body is read as a message, headers first: message/* parts and the parts of
# a multipart/digest; a message that may have one (``Outline.nested_headers``) has no such runs.
# In a message with no MIME parts at all (no "boundary"), every line after the header block is
# body text, however it starts (blank runs use this; text runs do not need it).

#: The first empty line: the end of the header block (either line ending, as the parser reads it).
_EMPTY_LINE = re.compile(rb"\n\r?\n")
#: Blank (whitespace-only) lines: 300,000 newlines are 60 ms or more for the parser (issue 9
#: item 1). One pass: each match takes its whole run; only runs of MIN_RUN bytes or more match (a
#: shorter one is no use, and a match inside it would be shorter still).
_BLANK_RUN = re.compile(rb"\n\r?\n([ \t\r\n]{%d,})" % MIN_RUN)
_ANY_BLANK_RUN = re.compile(rb"\n([ \t\r\n]{%d,})" % MIN_RUN)


def blank_runs(raw: bytes, gaps: Gaps, found: Outline | None = None) -> list[Run]:
    if len(raw) < MIN_RUN:
        return []
    found = found or outline(raw, gaps)
    if found.nested_headers:
        return []
    pattern, start_at = _BLANK_RUN, 0
    if not found.boundary:
        empty = _EMPTY_LINE.search(raw)
        if empty is not None:
            pattern, start_at = _ANY_BLANK_RUN, empty.start() + 1  # the header block's last line
    runs: list[Run] = []
    for gap_start, gap_end in gaps:
        for match in pattern.finditer(raw, max(gap_start, start_at), gap_end):
            start, end = match.span(1)
            end = raw.rfind(b"\n", start, end) + 1  # whole lines: a last line may go on with text
            if end - start >= MIN_RUN:
                runs.append(Run(start, end, 0, blank=True))
    return runs


#: Body text worth a token: each line costs the parser about half a microsecond.
MIN_TEXT_RUN = 1024
#: "--" at the start of a line (after LF, or after CR, which is a line break to the parser too):
#: only such a line can be a boundary ("--" and the boundary, RFC 2046 section 5.1.1).
_BREAK_DASHES = re.compile(rb"[\r\n]--")
#: Double hyphens looked at one by one before the regex engine takes over.
_HYPHENS = 64
#: Lines starting with "--" taken in one stretch: past them, the rest of the stretch is left to
#: the parser (bounded work on text made of such lines).
_MOST_DASH_LINES = 256


def _dash_dash_lines(raw: bytes, start: int, end: int) -> list[int]:
    """Where each line that starts with "--" in ``raw[start:end]`` starts (every boundary line
    is one), at most ``_MOST_DASH_LINES + 1``: a byte search (an ordinary letter has a few),
    then the regex engine."""
    found: list[int] = []
    i = raw.find(b"--", start, end)
    for _ in range(_HYPHENS):
        if i < 0:
            return found
        if i == 0 or raw[i - 1] in (0x0A, 0x0D):
            found.append(i)
        i = raw.find(b"--", i + 1, end)
    if i >= 0:
        matches = _BREAK_DASHES.finditer(raw, i - 1, end)
        found += [m.start() + 1 for m in itertools.islice(matches, _MOST_DASH_LINES + 1)]
    return found[:_MOST_DASH_LINES + 1]


def text_runs(raw: bytes, gaps: Gaps, found: Outline) -> list[Run]:
    """Runs of body text in ``gaps`` (the stretches outside base64 runs), whole lines.

    In a message with parts: from an empty line to the next line that starts with "--" (a bare
    CR inside a run is only a line break within a body: what follows it cannot be a boundary
    unless it starts with "--"). In a message without parts: everything after the header block,
    which the parser reads as one payload; the parse checks that it found no part after all
    (``single_part`` in fastparse.message_from_raw), so a boundary declared in a way the
    outline cannot see costs a second parse, never a wrong tree."""
    first_empty = _EMPTY_LINE.search(raw)
    if found.nested_headers or first_empty is None:
        return []
    runs: list[Run] = []
    for gap_start, gap_end in gaps:
        if found.boundary:
            runs += _text_between_dash_lines(raw, max(gap_start, first_empty.start()), gap_end)
            continue
        start = max(gap_start, first_empty.end())
        # whole lines, the last one ended by LF or by a bare CR (a CRLF is never split: a gap
        # ends at a line start or at the end of the message)
        end = max(raw.rfind(b"\n", start, gap_end), raw.rfind(b"\r", start, gap_end)) + 1
        if end - start >= MIN_TEXT_RUN:
            runs.append(Run(start, end, 0, text=True))
    return runs


def _text_between_dash_lines(raw: bytes, gap_start: int, gap_end: int) -> list[Run]:
    if gap_end <= gap_start:
        return []
    dashes = _dash_dash_lines(raw, gap_start, gap_end)
    ends = [] if len(dashes) > _MOST_DASH_LINES else [gap_end]  # past the last: left as it is
    runs = []
    for piece_start, piece_end in itertools.pairwise([gap_start, *dashes, *ends]):
        empty = _EMPTY_LINE.search(raw, piece_start, piece_end)
        if empty is None:
            continue
        start = empty.end()
        end = raw.rfind(b"\n", start, piece_end) + 1
        if end - start >= MIN_TEXT_RUN:
            runs.append(Run(start, end, 0, text=True))
    return runs
