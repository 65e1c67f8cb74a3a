"""The intake's worst case: pathological messages of each class (issue 9 item 1), one at a time
through ``ingest`` on SQLite, and the slowest of each class. Target: every message <= 50 ms.

The classes are the hostile corpus of tests/support/hostile.py (long runs of blank lines,
spaces after a label, thousands of encoded words, huge headers, deep nesting, S/MIME, attached
messages, automatic mail, bad dates, noise), ``hyphen lines`` (300 KB of lines that start with
"-", each of which could be a boundary in a message with parts) and ``generated``: random
mutations of those messages (byte flips, spliced hostile fragments, truncation, CRLF) from a
fixed seed.
Run with ``python -m bench.intake_worst``; ``--repeat N`` times each message N times (best of
N is not taken: the worst is what blocks a tick).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from sqlmodel import select

from bench._common import Row, make_core, print_rows, print_table
from bot import agency_requests
from bot.cases import Referral, accept, get_case, open_case, record_sin_submitted
from bot.core import Core
from bot.models import AgencyRequest
from handlers.mail.classify import parse
from handlers.mail.intake import ingest
from tests.support.hostile import CORPUS

TARGET_MS = 50.0
SEED = 20261130
N_GENERATED = 200
FRAGMENTS = [
    b"\n" * 50_000, b" " * 50_000, b"=?utf-8?b?YWJj?= " * 2_000, b"\r\n\r\n", b"--outer\n",
    b'Content-Type: multipart/mixed; boundary="q"\n\n--q\n' * 30, b"Date of incident:" + b" " * 20_000,
    b"Auto-Submitted: auto-generated\n", b"<p>" * 20_000, b"\x00\xff" * 100,
]


def _setup(folder: Path) -> tuple[Core, str, str]:
    core = make_core(folder)
    bm = "bm@partnership.example"
    with core.transaction() as s:
        case = open_case(s, core, Referral(
            referring_agency="la-csc", incident_date=date(2026, 11, 12), la_aware_date=date(2026, 11, 13),
            outcome="death", abuse_neglect="yes", legal_status="cp-plan", agencies_involved=["police"],
        ), actor=bm,
                         source="cli")
        accept(s, core, case, actor=bm)
        record_sin_submitted(s, core, case, at=None, actor=bm)
        agency_requests.send_requests(s, core, get_case(s, case.ref), kind="info-gathering",
                                      agencies=["police", "icb"], actor=bm)
        ref = case.ref
    with core.db.session() as s:
        req = s.exec(select(AgencyRequest).where(AgencyRequest.agency == "police")).one()
        assert req.message_id
        return core, req.message_id, ref


def _mutate(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(data))
        op = rng.choice(["flip", "insert", "insert", "truncate", "crlf"])
        if op == "flip" and data:
            data[min(at, len(data) - 1)] ^= rng.randint(1, 255)
        elif op == "insert":
            data[at:at] = rng.choice(FRAGMENTS)
        elif op == "truncate":
            del data[max(at, len(data) // 2):]
        else:
            data = bytearray(bytes(data).replace(b"\n", b"\r\n"))
    return bytes(data)


def _hyphen_lines(request_id: str, ref: str) -> list[tuple[str, str, bytes]]:
    """Text made of lines that start with "-" (in a message with parts each could be a boundary,
    so the parser reads them one by one), about 300 KB, as a threaded return."""
    head = (f"From: dsl@police.example\nTo: reviews@partnership.example\nSubject: RE: [{ref}]\n"
            f"Message-ID: <hyphens.{{n}}@police.example>\nIn-Reply-To: {request_id}\n").encode()
    out = []
    for n, (lines, parts) in enumerate([(b"-\n", False), (b"-\n", True), (b"a\r-", False),
                                        (b"text\n-- \n", True), (b"\n\n-x", False), (b"--\n", True)]):
        body = lines * (300_000 // len(lines))
        raw = head.replace(b"{n}", str(n).encode()) + (
            b'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n\n' + body + b"\n--b1--\n"
            if parts else b"\n" + body)
        out.append(("hyphen lines", f"hyphen-lines-{n}", raw))
    return out


def corpus(request_id: str, ref: str) -> list[tuple[str, str, bytes]]:
    """(class, name, bytes) for every message measured."""
    messages = [(h.kind, h.name, h.build(request_id, ref)) for h in CORPUS]
    messages += _hyphen_lines(request_id, ref)
    rng = random.Random(SEED)
    seeds = [raw for _kind, _name, raw in messages if len(raw) < 100_000]
    messages += [("generated", f"generated-{i}", _mutate(rng, rng.choice(seeds)))
                 for i in range(N_GENERATED)]
    return messages


def run(verbose: bool = True, repeat: int = 1) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up on a throwaway database: the first alert of each kind compiles its template
        # (about 60 ms once per process), which is not what a message costs.
        warm, warm_id, warm_ref = _setup(Path(tmp) / "warm")
        for _kind, _name, raw in corpus(warm_id, warm_ref):
            ingest(warm, raw, mailbox="warm-up")
        core, request_id, ref = _setup(Path(tmp) / "run")
        messages = corpus(request_id, ref)
        worst: dict[str, tuple[float, str, float]] = {}
        sizes: dict[str, int] = defaultdict(int)
        for _ in range(repeat):
            for n, (kind, name, raw) in enumerate(messages):
                # The read alone (parse and every reading a route may need), then the whole
                # ingest, which reads again and records; a repeat is then a duplicate.
                t0 = time.perf_counter()
                parse(raw).read_all(float("inf"))
                t1 = time.perf_counter()
                ingest(core, raw, mailbox=f"worst-{n}")
                t2 = time.perf_counter()
                total_ms, parse_ms = (t2 - t1) * 1000, (t1 - t0) * 1000  # ingest parses again
                if kind not in worst or total_ms > worst[kind][0]:
                    worst[kind] = (total_ms, name, parse_ms)
                sizes[kind] = max(sizes[kind], len(raw))
    table = [
        (kind, name, f"{sizes[kind] // 1024} KB", f"{parse_ms:.1f}", f"{total_ms:.1f}",
         "PASS" if total_ms <= TARGET_MS else "FAIL")
        for kind, (total_ms, name, parse_ms) in sorted(worst.items(), key=lambda kv: -kv[1][0])
    ]
    if verbose:
        print_table(["class", "slowest message", "largest", "read ms", "ingest ms", "result"],
                    table, title=f"Intake worst case per class ({len(messages)} messages, target "
                    f"<= {TARGET_MS:.0f} ms each)")
    overall = max(worst.values())
    return [Row("intake worst case (per message)", f"{len(messages)} hostile msgs",
                f"{overall[0]:.1f} ms ({overall[1]})", f"<= {TARGET_MS:.0f} ms",
                "PASS" if overall[0] <= TARGET_MS else "FAIL")]


def main() -> None:
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    print_rows(run(repeat=repeat))


if __name__ == "__main__":
    main()
