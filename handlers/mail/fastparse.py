"""Parsing a message's bytes the way ``message_from_bytes`` does, only faster (decision 0009).

Pure functions over bytes: the policy that caches header objects, and the parse that skips long
base64 runs (see below). The tree built is the one the standard library builds.
"""

from __future__ import annotations

import itertools
import os
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import EmailPolicy
from functools import lru_cache
from typing import Any, NamedTuple

#: A header value longer than this is cut here before anything parses it (RFC 5322 section
#: 2.1.1: lines are at most 998 characters; the References of a long thread, or a To of fifty
#: people, stays within).
MAX_HEADER_CHARS = 4096
#: The standard library's parser of MIME parameters and of addresses rescans the rest of the
#: value for each token (quadratic): those headers get a tighter cut. One sender, and a
#: Content-Type or Content-Disposition with a long file name, fit in it.
MAX_STRUCTURED_CHARS = 1024
_STRUCTURED = frozenset({"from", "sender", "reply-to", "content-type", "content-disposition"})


def cut_header(name: str, value: str) -> str:
    if len(value) <= MAX_STRUCTURED_CHARS:  # nearly every header: no need to look at its name
        return value
    limit = MAX_STRUCTURED_CHARS if name.lower() in _STRUCTURED else MAX_HEADER_CHARS
    if len(value) <= limit:
        return value
    cut = value[:limit]
    space = cut.rfind(" ")  # not inside an encoded word, when there is a space to cut at
    return cut[:space] if space > limit // 2 else cut


class _ReadPolicy(EmailPolicy):
    """``email.policy.default`` that parses each distinct header value once.

    The default policy builds a new header object on every read: ``get_content_type()`` alone
    re-parses Content-Type a dozen times per message while walking the MIME tree. Header objects
    are immutable, so one cache serves every message (docs/benchmarks.md).
    """

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        """Each header as the parser reads it, cut at :data:`MAX_HEADER_CHARS`: the parser
        itself reads Content-Type while it builds the tree, and the standard library's header
        parser is far from linear on long values (issue 9 item 1; decision 0010)."""
        name, value = super().header_source_parse(sourcelines)
        return name, cut_header(name, value)

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or not isinstance(value, str):
            return super().header_fetch_parse(name, value)
        return _parse_header(self, name, value)


@lru_cache(maxsize=8192)
def _parse_header(read_policy: EmailPolicy, name: str, value: str) -> Any:
    return EmailPolicy.header_fetch_parse(read_policy, name, value)


READ_POLICY = _ReadPolicy()


# --- parsing without reading base64 line by line ------------------------------------------------
#
# The stdlib feed parser walks a message one line at a time: a 400 KB attachment is about 5,400
# base64 lines and 5 ms, most of the cost of a return (docs/benchmarks.md). A run of lines made
# only of the base64 alphabet plays no part in how the parser reads the structure: it cannot be a
# boundary (those start with "--"), a header or a continuation line (no ":", no leading blank),
# or a blank line. So each long run is swapped for one line holding a unique token of the same
# alphabet, the much shorter skeleton is parsed, and the token is swapped back in the payload that
# holds it. The tree is the one ``message_from_bytes(raw)`` builds; when a token does not come
# back exactly once, the whole message is parsed again the ordinary way.

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
#: Runs shorter than this (about 50 lines) are left to the feed parser: not worth a token.
_MIN_RUN = 4096


def _dash_lines(raw: bytes) -> list[int]:
    """Where each line that starts with "-" starts (every boundary line is one of them)."""
    found: list[int] = []
    i = raw.find(b"-")  # a byte search skips a base64 run at memory speed: it has no "-"
    for _ in range(256):
        if i < 0:
            return found
        if i > 0 and raw[i - 1] == 0x0A:
            found.append(i)
        i = raw.find(b"-", i + 1)
    if i >= 0:  # text full of hyphens: let the regex engine find the rest, not stop at each one
        found += [m.start() + 1 for m in _NEWLINE_DASH.finditer(raw, max(i - 1, 0))]
    return found


_NEWLINE_DASH = re.compile(rb"\n-")


class _Run(NamedTuple):
    """A run of base64 lines: ``raw[start:end]``, of which ``breaks`` bytes are line breaks."""

    start: int
    end: int
    breaks: int
    #: a run of whitespace-only lines (see _blank_runs), never decoded as base64
    blank: bool = False
    #: ``raw[start:end]`` of a base64 run: the one copy made to check it, kept for the parse
    data: bytes = b""


#: The line breaks at the start of a stretch (the regex engine steps over them without a copy).
_LEADING_BREAKS = re.compile(rb"[\r\n]*")
#: How far back from its end a stretch is first looked at for trailing line breaks.
_TAIL = 256


def _without_breaks(raw: bytes, start: int, end: int) -> tuple[int, int]:
    """``raw[start:end]`` without the line breaks at either end, as offsets: what
    ``lstrip(b"\r\n")`` and ``rstrip(b"\r\n")`` of the slice give, without copying a stretch
    that may be a whole attachment (each copy of half a megabyte is a fresh allocation)."""
    match = _LEADING_BREAKS.match(raw, start, end)
    start = match.end() if match else start
    probe = max(start, end - _TAIL)
    kept = len(raw[probe:end].rstrip(b"\r\n"))
    if not kept and probe > start:  # more breaks than the probe holds: strip the whole stretch
        probe, kept = start, len(raw[start:end].rstrip(b"\r\n"))
    return start, probe + kept


def _whole_base64_lines(raw: bytes, start: int, end: int) -> _Run | None:
    """The part of ``raw[start:end]`` that is a run of non-empty base64 lines of one length
    (the last may be shorter), each ending in the same LF or CRLF; ``None`` if it is not one.

    Blank lines around the run are left out. Encoders write fixed-length lines; a run that is
    not written that way is simply left to the feed parser.
    """
    start, end = _without_breaks(raw, start, end)
    if end - start < _MIN_RUN or raw[start - 1] != 0x0A:
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
    return _Run(start, end, lines * len(eol), data=run)


def _base64_runs(raw: bytes) -> list[_Run]:
    """[start, end) of each long run of whole lines that only hold base64 characters.

    Looked for where an encoded body sits: after the first blank line of a stretch of the
    message between two lines that start with "-" (boundaries). Where a run starts is only a
    guess; :func:`_whole_base64_lines` checks that what is swapped out is such a run.
    """
    if len(raw) < 2 * _MIN_RUN:
        return []
    crlf = raw[max(raw.find(b"\n"), 1) - 1] == 0x0D
    seps = (b"\r\n\r\n", b"\n\n") if crlf else (b"\n\n", b"\r\n\r\n")
    cuts = [0, *_dash_lines(raw), len(raw)]
    runs: list[_Run] = []
    for seg_start, seg_end in itertools.pairwise(cuts):
        if seg_end - seg_start < _MIN_RUN:
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


#: A long run of blank (whitespace-only) lines costs the feed parser one step per line: 300,000
#: newlines are 60 ms or more (issue 9 item 1). Such a run is swapped for a token like a base64
#: run, but only after a line that is exactly empty: that line ends any header block, so what
#: follows is body text, where whitespace lines are neither boundaries nor headers. An attached
#: message (message/rfc822) starts with its own headers after that line, so a message that has
#: one is left to the ordinary parse.
#: One pass: each match takes its whole run. Only runs of _MIN_RUN bytes or more match (a shorter
#: one is no use, and a match inside it would be shorter still), so the search stays in the
#: regex engine through the blank lines of an ordinary letter.
_BLANK_RUN = re.compile(rb"\n\r?\n([ \t\r\n]{%d,})" % _MIN_RUN)


#: In a message with no MIME parts at all, every line after the header block is body text, so a
#: run may start after any line.
_ANY_BLANK_RUN = re.compile(rb"\n([ \t\r\n]{%d,})" % _MIN_RUN)
#: The first empty line: the end of the header block (either line ending, as the parser reads it).
_EMPTY_LINE = re.compile(rb"\n\r?\n")


Gaps = list[tuple[int, int]]


def gaps_between(raw: bytes, runs: list[_Run]) -> Gaps:
    """[start, end) of what is not in a base64 run: where the structure of the message is, and
    all a structural search needs to scan (a 20 MB attachment is skipped, not searched)."""
    gaps, last = [], 0
    for run in runs:
        gaps.append((last, run.start))
        last = run.end
    gaps.append((last, len(raw)))
    return gaps


# --- one look at the structure: what the limits and the blank-run search ask ------------------
#
# The caps of decision 0010 and the blank-run search all ask about the same few words outside
# the base64 runs, case-insensitively. A case-insensitive pattern gets no literal search from
# the regex engine (it tries every position: 65 us for a 5 KB message), so each stretch is
# lowered once (ASCII only, as ``re.IGNORECASE`` on bytes is) and searched with plain ``find``
# and a pattern that starts with a literal: a few microseconds, linear, no quantifier over the
# sender's text wider than ``[ \t]*``.

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
    #: "message/" anywhere: it may have an attached message (see _blank_runs)
    attached_message: bool


def outline(raw: bytes, gaps: Gaps, most_containers: int = 0) -> Outline:
    containers, boundary, attached = 0, False, False
    for start, end in gaps:
        low = raw[start:end].lower()
        if b"message/" in low:
            attached = True
            containers += low.count(b"message/rfc822") + low.count(b"message/global")
        if b"boundary" in low:
            boundary = True
            for _match in _BOUNDARY_PARAM.finditer(low):
                if containers > most_containers:
                    break  # enough to refuse: the loop stays short on a hostile message
                containers += 1
    return Outline(gaps, containers, boundary, attached)


def over_limits(raw: bytes, found: Outline, limits: Limits) -> str | None:
    """Why the message is too much to read at all (decision 0010), or None."""
    end = _HEADER_END.search(raw, 0, limits.header_block + 4)
    if (end is None or end.start() > limits.header_block) and len(raw) > limits.header_block:
        return f"its header is longer than {limits.header_block // 1024} KB"
    if found.containers > limits.containers:
        return f"it has more than {limits.containers} nested MIME parts"
    return None


def _blank_runs(raw: bytes, gaps: Gaps, found: Outline | None = None) -> list[_Run]:
    if len(raw) < _MIN_RUN:
        return []
    found = found or outline(raw, gaps)
    if found.attached_message:
        return []
    pattern, start_at = _BLANK_RUN, 0
    if not found.boundary:
        empty = _EMPTY_LINE.search(raw)
        if empty is not None:
            pattern, start_at = _ANY_BLANK_RUN, empty.start() + 1  # the header block's last line
    runs: list[_Run] = []
    for gap_start, gap_end in gaps:
        for match in pattern.finditer(raw, max(gap_start, start_at), gap_end):
            start, end = match.span(1)
            end = raw.rfind(b"\n", start, end) + 1  # whole lines: a last line may go on with text
            if end - start >= _MIN_RUN:
                runs.append(_Run(start, end, 0, blank=True))
    return runs


class TooMuch(Exception):
    """The message is over one of the caller's limits (see ``message_from_raw``)."""


def message_from_raw(
    raw: bytes, limits: Limits | None = None
) -> tuple[EmailMessage, dict[int, bytes]]:
    """``message_from_bytes(raw, policy=READ_POLICY)``, without feeding long base64 or blank
    runs through the line-by-line parser (see above); and, by ``id(part)``, the base64 bytes of
    each part whose whole payload is one canonical run, to decode in one call.

    ``limits``, when given, are checked first (containers outside base64 runs, where the
    structure is) and what is over them raised as :class:`TooMuch`."""
    try:
        base64_runs = _base64_runs(raw)
    except Exception:  # whatever goes wrong here, the ordinary parse decides
        base64_runs = []
    found = outline(raw, gaps_between(raw, base64_runs), limits.containers if limits else 0)
    if limits is not None and (why := over_limits(raw, found, limits)):
        raise TooMuch(why)
    try:
        runs = sorted([*base64_runs, *_blank_runs(raw, found.gaps, found)], key=lambda run: run.start)
        parsed = _parse_skeleton(raw, runs) if runs else None
    except Exception:
        parsed = None
    if parsed is not None:
        return parsed
    msg = message_from_bytes(raw, policy=READ_POLICY)
    assert isinstance(msg, EmailMessage)
    return msg, {}


def _parse_skeleton(
    raw: bytes, runs: list[_Run]
) -> tuple[EmailMessage, dict[int, bytes]] | None:
    pieces: list[bytes] = []
    tokens: dict[str, tuple[str, bytes | None]] = {}
    last = 0
    salt = os.urandom(8).hex()
    for n, run in enumerate(runs):
        # The run's last line break stays: the parser gives it to the boundary that follows.
        eol = 2 if raw[run.end - 2:run.end] == b"\r\n" else 1
        stop = run.end - eol
        token = f"ReviewBotRun{n}x{salt}"
        if run.blank:
            tokens[token] = (raw[run.start:stop].decode("ascii"), None)
        else:
            # The bytes copied to check the run serve as they are: its text is decoded from them
            # and its base64 decoded from them later (line breaks, the last one too, are skipped
            # by the decoder either way).
            text = str(memoryview(run.data)[:stop - run.start], "ascii")
            canonical = _canonical_base64(run.data, run.end - run.start - run.breaks)
            tokens[token] = (text, run.data if canonical else None)
        pieces += (raw[last:run.start], token.encode())
        last = stop
    pieces.append(raw[last:])
    skeleton = b"".join(pieces)
    # The salt only where a token was put (it is random, so this is all but certain). Only the
    # skeleton is searched, not the runs (a 500 KB search per run): a token that a run's text
    # holds is either left as written or put back a second time, and then counted twice, which
    # fails the check at the end.
    if skeleton.count(salt.encode()) != len(tokens):
        return None
    msg = message_from_bytes(skeleton, policy=READ_POLICY)
    assert isinstance(msg, EmailMessage)
    restored = 0
    whole: dict[int, bytes] = {}

    def put_back(value: str, part: EmailMessage | None = None) -> str:
        nonlocal restored
        for token, (text, encoded) in tokens.items():
            if token in value:
                if part is not None and encoded is not None and value.rstrip("\r\n") == token:
                    whole[id(part)] = encoded
                restored += value.count(token)
                # nearly always the whole payload: no second copy of half a megabyte of text
                value = text if value == token else value.replace(token, text)
        return value

    for part in msg.walk():
        payload = part._payload  # the undecoded text, as the parser stored it
        if isinstance(payload, str) and "ReviewBotRun" in payload:
            part.set_payload(put_back(payload, part))  # a str without a charset is kept as is
        if part.preamble and "ReviewBotRun" in part.preamble:
            part.preamble = put_back(part.preamble)
        if part.epilogue and "ReviewBotRun" in part.epilogue:
            part.epilogue = put_back(part.epilogue)
    # Each token exactly once, or the skeleton was not read as expected: parse the real thing.
    return (msg, whole) if restored == len(tokens) else None


def _canonical_base64(encoded: bytes, digits: int) -> bool:
    """Whether the run (``digits`` alphabet characters, the rest line breaks) is base64 that
    the stdlib decodes without a defect: whole quantums, "=" padding only at the very end.
    ``binascii.a2b_base64`` then gives the same bytes as ``get_payload(decode=True)``."""
    if digits % 4:
        return False
    pad = encoded.find(b"=")
    return pad < 0 or encoded[pad:].translate(None, b"\r\n") in (b"=", b"==")
