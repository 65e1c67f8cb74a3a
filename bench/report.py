"""``python -m bench.report``: the partnership's report (issue 14) on about 200 cases.

Builds 210 cases through the core's services (the tests' generated history, repeated), then makes
the report twice and prints the time to read and compute it, to draw the HTML (matplotlib's SVG
backend; the first draw pays for importing matplotlib) and to write the workbook. Measured on
the development machine (2 shared cores): compute 0.09 s, HTML 1.2 s cold / 0.3 s warm, XLSX 0.2 s.
Not a timed test: it prints figures (DEVELOPERS.md).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.protocol import load_protocol
from bot.report_build import partnership_report
from bot.report_html import render_html
from bot.report_xlsx import render_xlsx
from tests.report_history import REPORT_NOW, add_case, plans


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{folder / 'bench.sqlite3'}")
    db.create_schema()
    clock = FixedClock(REPORT_NOW)
    core = Core(db=db, protocol=load_protocol(None), clock=clock, attachments_dir=folder / "attachments")
    count = 0
    for repeat in range(14):
        for plan in plans():
            add_case(core, clock, replace(plan, n=(plan.n + repeat * 8) % 9))
            count += 1
    clock.set(REPORT_NOW)
    print(f"{count} cases")
    for attempt in ("cold", "warm"):
        t0 = time.perf_counter()
        made = partnership_report(core)
        t1 = time.perf_counter()
        page = render_html(made)
        t2 = time.perf_counter()
        render_xlsx(made)
        t3 = time.perf_counter()
        print(f"{attempt}: read and compute {t1 - t0:.3f} s; HTML {t2 - t1:.3f} s ({len(page) // 1024} KB); "
              f"XLSX {t3 - t2:.3f} s")
    db.engine.dispose()


if __name__ == "__main__":
    main()
