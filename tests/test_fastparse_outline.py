"""The fast parse's cheaper looks at a message (issue 9, the rate restored) find what the slower
ones they replace found: the caps and the blank-run search, the stripping of a run's ends, and
the token check. Each is compared with the code it replaced, on generated inputs built to hit
the edges (mixed case, spaces before "=", runs just under and over the length that counts)."""

from __future__ import annotations

import base64
import random
import re

import pytest

from handlers.mail import fastparse
from handlers.mail.classify import parse
from handlers.mail.fastparse import (
    _MIN_RUN,
    Limits,
    _base64_runs,
    _blank_runs,
    _Run,
    _without_breaks,
    gaps_between,
    outline,
    over_limits,
)
from tests.test_parse_equivalence import same

# --- what the code did before, kept here to compare with ---------------------------------------

OLD_CONTAINER = re.compile(rb"boundary[ \t]*=|message/(?:rfc822|global)", re.IGNORECASE)
OLD_ATTACHED_MESSAGE = re.compile(rb"message/", re.IGNORECASE)
OLD_BOUNDARY = re.compile(rb"boundary", re.IGNORECASE)
OLD_BLANK_RUN = re.compile(rb"\n\r?\n([ \t\r\n]+)")
OLD_ANY_BLANK_RUN = re.compile(rb"\n([ \t\r\n]+)")


def old_containers(raw: bytes, gaps: fastparse.Gaps) -> int:
    return sum(1 for s, e in gaps for _ in OLD_CONTAINER.finditer(raw, s, e))


def old_too_long_header(raw: bytes, block: int) -> bool:
    end = raw.find(b"\n\n", 0, block + 2)
    crlf_end = raw.find(b"\r\n\r\n", 0, block + 4)
    return end < 0 and crlf_end < 0 and len(raw) > block


def old_blank_runs(raw: bytes, gaps: fastparse.Gaps) -> list[_Run]:
    if len(raw) < _MIN_RUN or any(OLD_ATTACHED_MESSAGE.search(raw, s, e) for s, e in gaps):
        return []
    pattern, start_at = OLD_BLANK_RUN, 0
    if not any(OLD_BOUNDARY.search(raw, s, e) for s, e in gaps):
        ends = [i for i in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if i >= 0]
        if ends:
            pattern, start_at = OLD_ANY_BLANK_RUN, min(ends) + 1
    runs = []
    for gap_start, gap_end in gaps:
        for match in pattern.finditer(raw, max(gap_start, start_at), gap_end):
            start, end = match.span(1)
            end = raw.rfind(b"\n", start, end) + 1
            if end - start >= _MIN_RUN:
                runs.append(_Run(start, end, 0, blank=True))
    return runs


def mixed_case(rng: random.Random, word: bytes) -> bytes:
    return bytes(c ^ 0x20 if chr(c).isalpha() and rng.random() < 0.4 else c for c in word)


FRAGMENTS = [
    b"boundary", b"boundary=", b"boundary \t =", b"boundary\n=", b"message/rfc822", b"message/global",
    b"message/delivery-status", b"message/", b"messag", b"bound", b"Content-Type: multipart/mixed; ",
    b"\n", b"\r\n", b"\n\n", b"\r\n\r\n", b"\n\r\n", b" ", b"\t", b"x", b"--b\n", b"text ", b"=",
]


def generated(rng: random.Random, n: int) -> bytes:
    return b"".join(mixed_case(rng, rng.choice(FRAGMENTS)) for _ in range(n))


# --- the outline: containers, "boundary", "message/" --------------------------------------------


@pytest.mark.parametrize("seed", range(30))
def test_the_outline_counts_and_finds_what_the_case_insensitive_patterns_did(seed: int) -> None:
    rng = random.Random(seed)
    raw = generated(rng, rng.randint(0, 400))
    cut = sorted(rng.sample(range(len(raw) + 1), k=min(4, len(raw) + 1)))
    gaps = [(cut[i], cut[i + 1]) for i in range(0, len(cut) - 1, 2)] or [(0, len(raw))]
    found = outline(raw, gaps, most_containers=10_000)
    assert found.containers == old_containers(raw, gaps)
    assert found.boundary == any(OLD_BOUNDARY.search(raw, s, e) for s, e in gaps)
    assert found.attached_message == any(OLD_ATTACHED_MESSAGE.search(raw, s, e) for s, e in gaps)


def test_the_count_stops_just_past_the_cap_on_a_hostile_message() -> None:
    raw = b"Subject: x\n\n" + b"Boundary=" * 200_000  # 1.8 MB of declarations
    found = outline(raw, [(0, len(raw))], most_containers=64)
    assert found.containers == 65
    assert over_limits(raw, found, Limits(header_block=128 * 1024, containers=64)) == (
        "it has more than 64 nested MIME parts"
    )


@pytest.mark.parametrize("seed", range(30))
def test_the_header_block_limit_is_the_one_the_two_searches_gave(seed: int) -> None:
    rng = random.Random(seed)
    block = rng.choice([8, 16, 40])
    raw = b"".join(rng.choice([b"a", b"\n", b"\r\n", b"\r", b" ", b"\n\n", b"\r\n\r\n"])
                   for _ in range(rng.randint(0, 60)))
    limits = Limits(header_block=block, containers=64)
    why = over_limits(raw, outline(raw, [(0, len(raw))], 64), limits)
    assert (why is not None) == old_too_long_header(raw, block), raw


# --- blank runs ---------------------------------------------------------------------------------


def _blank_message(rng: random.Random) -> bytes:
    head = b"From: a@police.example\nSubject: x\n"
    if rng.random() < 0.5:
        head += b'Content-Type: multipart/mixed; boundary="z"\n'
    pieces = [head, b"\n"]
    for _ in range(rng.randint(1, 6)):
        filler = rng.choice([b"\n", b"\r\n", b" \n", b"\t", b" ", b"\n\n \n"])
        length = rng.choice([10, _MIN_RUN - 3, _MIN_RUN - 1, _MIN_RUN, _MIN_RUN + 1, 3 * _MIN_RUN])
        pieces += [rng.choice([b"text\n", b"text\n\n", b"--z\n\n", b"a"]), filler * (length // len(filler)),
                   rng.choice([b"more", b"\nmore", b" more\n"])]
    return b"".join(pieces)


@pytest.mark.parametrize("seed", range(40))
def test_blank_runs_are_the_ones_the_old_patterns_found(seed: int) -> None:
    raw = _blank_message(random.Random(seed))
    gaps = gaps_between(raw, _base64_runs(raw))
    assert _blank_runs(raw, gaps) == old_blank_runs(raw, gaps)


# --- a run's ends -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_a_stretch_without_its_line_breaks_is_what_strip_gives(seed: int) -> None:
    rng = random.Random(seed)
    breaks = [b"\r", b"\n", b"\r\n"]
    raw = (b"x" * rng.randint(0, 3) + b"".join(rng.choice(breaks) for _ in range(rng.choice([0, 3, 300])))
           + b"AB" * rng.randint(0, 3) + b"".join(rng.choice(breaks) for _ in range(rng.choice([0, 5, 700])))
           + b"y" * rng.randint(0, 3))
    start, end = sorted(rng.sample(range(len(raw) + 1), 2)) if len(raw) > 1 else (0, len(raw))
    segment = raw[start:end]
    want = (start + len(segment) - len(segment.lstrip(b"\r\n")), start + len(segment.rstrip(b"\r\n")))
    got = _without_breaks(raw, start, end)
    if want[0] <= want[1]:
        assert got == want
    else:  # nothing but breaks: both leave nothing to read
        assert got[0] >= got[1]


# --- the token check ----------------------------------------------------------------------------


def _attachment_message(encoded: bytes) -> bytes:
    lines = b"\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
    return (
        b"From: a@police.example\nTo: reviews@partnership.example\nSubject: tokens\n"
        b"Message-ID: <tokens@police.example>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\nhi\n'
        b'--b1\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="x.pdf"\n'
        b"Content-Transfer-Encoding: base64\n\n" + lines + b"\n--b1\n"
        b'Content-Type: application/pdf\nContent-Disposition: attachment; filename="y.pdf"\n'
        b"Content-Transfer-Encoding: base64\n\n" + lines + b"\n--b1--\n"
    )


def test_a_known_salt_in_the_text_or_in_a_run_still_parses_as_the_standard_library_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The salt is random; with it known (os.urandom fixed here) a sender could write a token
    into the message. Outside the runs it is seen before the parse; inside a run it is put back
    twice and counted twice. Either way the message is parsed the ordinary way."""
    monkeypatch.setattr(fastparse.os, "urandom", lambda n: b"\x01" * n)
    salt = (b"\x01" * 8).hex().encode()
    data = random.Random(9).randbytes(30_000)
    plain = _attachment_message(base64.b64encode(data))
    assert parse(plain)._whole_runs  # the fast path, with the fixed salt
    # the second run's token, written into the first run (as base64 text)
    token_in_run = b"ReviewBotRun1x" + salt
    encoded = base64.b64encode(data)
    at = 400  # a whole number of quantums: the run stays valid base64 of the same length
    planted = _attachment_message(encoded[:at] + token_in_run + b"AA" + encoded[at + len(token_in_run) + 2:])
    same(planted)
    assert not parse(planted)._whole_runs  # the ordinary parse
    in_text = plain.replace(b"hi\n", b"hi ReviewBotRun0x" + salt + b"\n")
    same(in_text)
    assert not parse(in_text)._whole_runs
