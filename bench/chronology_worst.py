"""How long reading a chronology return takes, ordinary and hostile (decision 0023).

Each file is read and checked as the tick does it (``read_file`` then ``check_grids``, outside any
transaction), and the worst of three runs is printed with the file's size. Target: every file
within the reader's budget (``BUDGET_SECONDS``, CPU time), and a hostile file refused in well
under it. Run with ``python -m bench.chronology_worst``.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from datetime import date

from bot.chronology_read import BUDGET_SECONDS, MAX_ROWS, Unreadable, kind_of, read_file
from bot.chronology_validate import check_grids
from tests.support.chronology_files import HEADINGS, docx, xlsx

TODAY = date(2026, 11, 16)


def _rows(n: int) -> list[list[object]]:
    return [[f"{1 + i % 28:02d}/{1 + (i // 28) % 12:02d}/{2000 + i // 336}", "10:00", "GP record",
             "Seen at the surgery; advice given " * 4, "Follow-up booked"] for i in range(n)]


def _text_rows(n: int) -> list[list[str]]:
    return [[str(v) for v in row] for row in _rows(n)]


def _long_rows(n: int) -> list[list[object]]:
    return [[*row[:3], f"{i} " + "narrative " * 500, row[4]] for i, row in enumerate(_rows(n))]


def _zip(data: bytes, add: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, add.pop(item.filename, src.read(item.filename)))
        for name, content in add.items():
            dst.writestr(name, content)
    return out.getvalue()


def cases() -> list[tuple[str, Callable[[], bytes]]]:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "' + b"a" * 1000 + b'">]><d>&a;</d>')
    return [
        ("xlsx, 500 rows (typical)", lambda: xlsx({"Chronology": [HEADINGS, *_rows(500)]})),
        (f"xlsx, {MAX_ROWS} rows (the cap)", lambda: xlsx({"Chronology": [HEADINGS, *_rows(MAX_ROWS)]})),
        (f"xlsx, {MAX_ROWS * 2} rows (over the cap)", lambda: xlsx({"C": [HEADINGS, *_rows(MAX_ROWS * 2)]})),
        ("xlsx, 4000 rows of 5 KB (near 24 MB)", lambda: xlsx({"C": [HEADINGS, *_long_rows(4000)]})),
        ("docx, 500 rows (typical)", lambda: docx([[HEADINGS, *_text_rows(500)]])),
        ("docx, 3000 rows", lambda: docx([[HEADINGS, *_text_rows(3000)]])),
        ("docx, zip bomb (64 MB of zeros)",
         lambda: _zip(docx([[HEADINGS]]), {"word/media/x.bin": b"\0" * (64 << 20)})),
        ("docx, entity expansion", lambda: _zip(docx([[HEADINGS]]), {"word/document.xml": laughs})),
    ]


def main() -> None:
    print(f"{'file':40} {'size':>10} {'worst cpu':>10} {'worst wall':>11}  result")
    for name, make in cases():
        data = make()
        kind = kind_of(data) or "docx"
        cpu = wall = 0.0
        result = ""
        for _ in range(3):
            c0, w0 = time.thread_time(), time.perf_counter()
            try:
                checked = check_grids(read_file(data, kind), file_label="f", today=TODAY)
                result = f"{len(checked.rows)} rows, {len(checked.problems)} problems"
            except Unreadable as exc:
                result = f"refused: {exc}"
            cpu, wall = max(cpu, time.thread_time() - c0), max(wall, time.perf_counter() - w0)
        verdict = "ok" if cpu <= BUDGET_SECONDS else "OVER BUDGET"
        print(f"{name:40} {len(data):>10,} {cpu * 1000:>8.0f}ms {wall * 1000:>9.0f}ms  "
              f"{verdict}: {result[:60]}")


if __name__ == "__main__":
    main()
