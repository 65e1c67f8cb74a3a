"""The fast parse's cheaper looks at a message (issue 9, the rate restored) find what the slower
ones they replace found: the caps and the blank-run search, the stripping of a run's ends, and
the token check. Each is compared with the code it replaced, on generated inputs built to hit
the edges (mixed case, spaces before "=", runs just under and over the length that counts)."""

from __future__ import annotations

import base64
import binascii
import random
import re
from email import message_from_bytes
from email.message import Message

import pybase64
import pytest

from handlers.mail import fastparse
from handlers.mail.classify import parse
from handlers.mail.fastparse import READ_POLICY, _parse_skeleton, message_from_raw
from handlers.mail.line_runs import (
    MIN_RUN,
    Run,
    base64_runs,
    blank_runs,
    gaps_between,
    text_runs,
    without_breaks,
)
from handlers.mail.outline import Gaps, Limits, outline, over_limits
from tests.test_parse_equivalence import same

# --- what the code did before, kept here to compare with ---------------------------------------

OLD_CONTAINER = re.compile(rb"boundary[ \t]*=|message/(?:rfc822|global)", re.IGNORECASE)
#: the old exclusion of blank runs, with multipart/digest (whose parts are messages) added
OLD_NESTED = re.compile(rb"message/|digest", re.IGNORECASE)
OLD_BOUNDARY = re.compile(rb"boundary", re.IGNORECASE)
OLD_BLANK_RUN = re.compile(rb"\n\r?\n([ \t\r\n]+)")
OLD_ANY_BLANK_RUN = re.compile(rb"\n([ \t\r\n]+)")


def old_containers(raw: bytes, gaps: Gaps) -> int:
    return sum(1 for s, e in gaps for _ in OLD_CONTAINER.finditer(raw, s, e))


def old_too_long_header(raw: bytes, block: int) -> bool:
    end = raw.find(b"\n\n", 0, block + 2)
    crlf_end = raw.find(b"\r\n\r\n", 0, block + 4)
    return end < 0 and crlf_end < 0 and len(raw) > block


def oldblank_runs(raw: bytes, gaps: Gaps) -> list[Run]:
    if len(raw) < MIN_RUN or any(OLD_NESTED.search(raw, s, e) for s, e in gaps):
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
            if end - start >= MIN_RUN:
                runs.append(Run(start, end, 0, blank=True))
    return runs


def mixed_case(rng: random.Random, word: bytes) -> bytes:
    return bytes(c ^ 0x20 if chr(c).isalpha() and rng.random() < 0.4 else c for c in word)


FRAGMENTS = [
    b"boundary", b"boundary=", b"boundary \t =", b"boundary\n=", b"message/rfc822", b"message/global",
    b"message/delivery-status", b"message/", b"messag", b"bound", b"multipart/digest", b"diges",
    b"Content-Type: multipart/mixed; ",
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
    assert found.nested_headers == any(OLD_NESTED.search(raw, s, e) for s, e in gaps)


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
        length = rng.choice([10, MIN_RUN - 3, MIN_RUN - 1, MIN_RUN, MIN_RUN + 1, 3 * MIN_RUN])
        pieces += [rng.choice([b"text\n", b"text\n\n", b"--z\n\n", b"a"]), filler * (length // len(filler)),
                   rng.choice([b"more", b"\nmore", b" more\n"])]
    return b"".join(pieces)


@pytest.mark.parametrize("seed", range(40))
def test_blank_runs_are_the_ones_the_old_patterns_found(seed: int) -> None:
    raw = _blank_message(random.Random(seed))
    gaps = gaps_between(raw, base64_runs(raw))
    assert blank_runs(raw, gaps) == oldblank_runs(raw, gaps)


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
    got = without_breaks(raw, start, end)
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


# --- runs of body text: the whole tree, not only what the intake reads -------------------------


def tree(msg: Message) -> list[tuple[object, ...]]:
    """Everything the parser decided, part by part."""
    return [
        (list(part._headers), part._payload if isinstance(part._payload, str) else None,
         part.preamble, part.epilogue, [type(d).__name__ for d in part.defects],
         part.get_default_type())
        for part in msg.walk()
    ]


LINES = [
    b"Our return for the rapid review is below.", b"- a bullet that starts with a hyphen",
    b"-- ", b"--b1", b"--b1--", b"--inner", b"text\r-after a bare CR", b"a bare CR\rthen text",
    b"caf\xc3\xa9 and \xff bytes", b"Subject: not a header here", b"", b"   ", b"From the desk of",
    b"=?utf-8?q?not_a_header?=", b"x" * 300,
]
ORDINARY = [line for line in LINES if not line.startswith(b"-") and b"\r-" not in line]


def _body(rng: random.Random, eol: bytes) -> bytes:
    lines = [rng.choice(ORDINARY) if rng.random() < 0.93 else rng.choice(LINES)
             for _ in range(rng.randint(5, 80))]
    return eol.join(lines) + eol


def _text_message(rng: random.Random) -> bytes:
    eol = rng.choice([b"\n", b"\r\n", b"\n", b"\r\n", b"\r"])
    head = eol.join([b"From: a@police.example", b"To: reviews@partnership.example", b"Subject: t",
                     b"Message-ID: <t@police.example>", b"MIME-Version: 1.0"]) + eol
    shape = rng.choice(["plain", "mixed", "nested", "digest", "attached", "preamble", "mentions"])
    if shape == "mentions":  # only says "message/rfc822" in its text: no runs either
        return head + eol + _body(rng, eol) + b"Content-Type: message/rfc822" + eol + _body(rng, eol)
    if shape == "plain":
        return head + b"Content-Type: text/plain; charset=utf-8" + eol + eol + _body(rng, eol)
    if shape == "attached":
        inner = head.replace(b"Subject: t", b"Subject: inner") + eol + _body(rng, eol)
        return (head + b'Content-Type: multipart/mixed; boundary="b1"' + eol + eol + b"--b1" + eol
                + b"Content-Type: message/rfc822" + eol + eol + inner + b"--b1--" + eol)
    subtype = b"digest" if shape == "digest" else b"mixed"
    parts = []
    for _ in range(rng.randint(1, 3)):
        part_head = b"" if shape == "digest" else b"Content-Type: text/plain" + eol
        if shape == "nested" and rng.random() < 0.5:
            part = (b'Content-Type: multipart/alternative; boundary="inner"' + eol + eol
                    + b"--inner" + eol + eol + _body(rng, eol) + b"--inner--" + eol + _body(rng, eol))
        else:
            part = part_head + eol + _body(rng, eol)
        parts.append(b"--b1" + eol + part)
    preamble = _body(rng, eol) if shape == "preamble" else b""
    epilogue = eol + _body(rng, eol) if rng.random() < 0.3 else b""
    return (head + b'Content-Type: multipart/' + subtype + b'; boundary="b1"' + eol + eol + preamble
            + b"".join(parts) + b"--b1--" + eol + epilogue)


@pytest.mark.parametrize("seed", range(120))
def test_runs_of_body_text_give_the_standard_library_s_whole_tree(seed: int) -> None:
    raw = _text_message(random.Random(seed))
    want = tree(message_from_bytes(raw, policy=READ_POLICY))
    assert tree(message_from_raw(raw)[0]) == want
    runs = runs_of(raw)
    skeleton = _parse_skeleton(raw, runs) if runs else None
    # The skeleton itself, not only the fallback, gives the same tree (None: it saw it could
    # not, e.g. a close boundary in the preamble, after which the parser drops every line).
    assert skeleton is None or tree(skeleton[0]) == want


def test_runs_of_body_text_are_taken_where_they_can_be_and_never_in_a_nested_message() -> None:
    shapes = {"with": 0, "skeleton": 0, "nested": 0}
    for seed in range(120):
        raw = _text_message(random.Random(seed))
        nested = b"message/rfc822" in raw.lower() or b"digest" in raw.lower()
        runs = runs_of(raw)
        has_text_runs = any(run.text for run in runs)
        assert not (nested and has_text_runs)
        shapes["with"] += has_text_runs
        shapes["skeleton"] += has_text_runs and _parse_skeleton(raw, runs) is not None
        shapes["nested"] += nested
    assert shapes["skeleton"] >= 40 and shapes["nested"] >= 20, shapes


def runs_of(raw: bytes) -> list[Run]:
    encoded = base64_runs(raw)
    found = outline(raw, gaps_between(raw, encoded))
    runs = sorted([*encoded, *text_runs(raw, found.gaps, found)], key=lambda r: r.start)
    return sorted([*runs, *blank_runs(raw, gaps_between(raw, runs), found)], key=lambda r: r.start)


def test_a_multipart_digest_is_left_to_the_ordinary_parse() -> None:
    """Its parts are messages (default type message/rfc822): what follows a part's empty line is
    the attached message's header block, never a run (blank runs were taken there before)."""
    raw = (b"From: a@police.example\nMessage-ID: <d@police.example>\nSubject: digest\n"
           b'Content-Type: multipart/digest; boundary="d"\n\n--d\n\n' + b" \n" * 5000
           + b"Subject: inner\n\nbody\n--d--\n")
    assert runs_of(raw) == []
    assert tree(message_from_raw(raw)[0]) == tree(message_from_bytes(raw, policy=READ_POLICY))


def test_runs_taken_for_a_message_without_parts_are_given_up_when_it_has_parts() -> None:
    """A boundary declared where the outline cannot see it (none is known; the outline is told
    so here) would hide the part lines in the run: the parse sees the parts and gives up."""
    raw = (b"From: a@police.example\nMessage-ID: <p@police.example>\nSubject: parts\n"
           b'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\n'
           + b"Our return for the rapid review is below.\n" * 60 + b"--b1--\n")
    blind = outline(raw, [(0, len(raw))])._replace(boundary=False)
    runs = text_runs(raw, [(0, len(raw))], blind)
    assert runs and runs[0].start <= raw.index(b"--b1") < runs[0].end  # part lines in the run
    assert _parse_skeleton(raw, runs, single_part=True) is None
    assert tree(message_from_raw(raw)[0]) == tree(message_from_bytes(raw, policy=READ_POLICY))


@pytest.mark.parametrize("lines", [b"-\n", b"text\n-\n", b"a\r-", b"\n\n-x", b"--\n"])
@pytest.mark.parametrize("parts", [False, True])
def test_text_made_of_lines_that_start_with_a_hyphen_parses_as_the_standard_library_does(
    lines: bytes, parts: bool,
) -> None:
    head = b"From: a@police.example\nMessage-ID: <h@police.example>\nSubject: x\n"
    body = lines * 2_000
    if parts:
        raw = (head + b'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n\n' + body
               + b"\n--b1--\n")
    else:
        raw = head + b"\n" + body
    assert tree(message_from_raw(raw)[0]) == tree(message_from_bytes(raw, policy=READ_POLICY))


# --- the decoder of canonical runs ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_pybase64_decodes_a_canonical_run_as_binascii_does(seed: int) -> None:
    """handlers/mail/mime_parts.decoded_payload decodes a canonical run (only the alphabet and
    line breaks, whole quantums, padding at the end) with pybase64: the same bytes as before."""
    rng = random.Random(seed)
    for _ in range(50):
        data = rng.randbytes(rng.choice([0, 1, 2, 3, rng.randint(4, 3000), rng.randint(50_000, 70_000)]))
        encoded = base64.b64encode(data)
        width, eol = rng.choice([60, 64, 76, 100]), rng.choice([b"\n", b"\r\n"])
        run = eol.join(encoded[i:i + width] for i in range(0, len(encoded), width)) + eol
        assert fastparse._canonical_base64(run, len(encoded))
        assert pybase64.b64decode(run) == binascii.a2b_base64(run) == data
