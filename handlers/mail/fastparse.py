"""Parsing a message's bytes the way ``message_from_bytes`` does, only faster (decision 0009).

Pure functions over bytes: the policy that caches header objects, and the parse that skips long
runs of lines (see below). The tree built is the one the standard library builds.
"""

from __future__ import annotations

import os
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import EmailPolicy
from functools import lru_cache
from typing import Any

from handlers.mail.line_runs import Run, base64_runs, blank_runs, gaps_between, text_runs
from handlers.mail.outline import Limits, outline, over_limits

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


# --- parsing without reading long runs line by line ----------------------------------------------
#
# A run of lines that plays no part in how the parser reads the structure (handlers/mail/
# line_runs.py: base64, blank lines, body text) is swapped for one line holding a unique token,
# the much shorter skeleton is parsed, and the token is swapped back in the payload (or preamble,
# epilogue) that holds it. The tree is the one ``message_from_bytes(raw)`` builds; when a token
# does not come back exactly once, the whole message is parsed again the ordinary way.


class TooMuch(Exception):
    """The message is over one of the caller's limits (see ``message_from_raw``)."""


def message_from_raw(
    raw: bytes, limits: Limits | None = None
) -> tuple[EmailMessage, dict[int, bytes]]:
    """``message_from_bytes(raw, policy=READ_POLICY)``, without feeding long runs of base64,
    blank lines or body text through the line-by-line parser (see above); and, by ``id(part)``,
    the base64 bytes of each part whose whole payload is one canonical run, to decode in one
    call.

    ``limits``, when given, are checked first (containers outside base64 runs, where the
    structure is) and what is over them raised as :class:`TooMuch`."""
    try:
        encoded = base64_runs(raw)
    except Exception:  # whatever goes wrong here, the ordinary parse decides
        encoded = []
    found = outline(raw, gaps_between(raw, encoded), limits.containers if limits else 0)
    if limits is not None and (why := over_limits(raw, found, limits)):
        raise TooMuch(why)
    try:
        # Text first: it covers most of a body, and the blank runs are then looked for in less.
        runs = _in_order([*encoded, *text_runs(raw, found.gaps, found)])
        runs = _in_order([*runs, *blank_runs(raw, gaps_between(raw, runs), found)])
        parsed = _parse_skeleton(raw, runs, single_part=not found.boundary) if runs else None
    except Exception:
        parsed = None
    if parsed is not None:
        return parsed
    msg = message_from_bytes(raw, policy=READ_POLICY)
    assert isinstance(msg, EmailMessage)
    return msg, {}


def _in_order(runs: list[Run]) -> list[Run]:
    return sorted(runs, key=lambda run: run.start)


def _parse_skeleton(
    raw: bytes, runs: list[Run], *, single_part: bool = False
) -> tuple[EmailMessage, dict[int, bytes]] | None:
    """The parse of ``raw`` with ``runs`` swapped out, or None when it cannot be trusted.
    ``single_part``: the runs were taken for a message without parts (line_runs.text_runs)."""
    pieces: list[bytes] = []
    tokens: dict[str, tuple[str, bytes | None]] = {}
    last = 0
    salt = os.urandom(8).hex()
    for n, run in enumerate(runs):
        # The run's last line break stays: the parser gives it to the boundary that follows.
        eol = 2 if raw[run.end - 2:run.end] == b"\r\n" else 1
        stop = run.end - eol
        token = f"ReviewBotRun{n}x{salt}"
        if run.blank or run.text:
            # as message_from_bytes decodes the whole message before it parses it
            tokens[token] = (raw[run.start:stop].decode("ascii", "surrogateescape"), None)
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
    parts = list(msg.walk())
    if single_part and any(part.get_content_maintype() in ("multipart", "message") for part in parts):
        return None  # it has parts after all: a run may have held their boundaries or headers
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

    for part in parts:
        # The undecoded text, as the parser stored it: no public accessor gives it back unchanged.
        payload = part._payload  # type: ignore[attr-defined]
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
