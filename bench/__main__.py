"""``python -m bench`` (or ``make bench``): every benchmark, then one combined table.

``--verbose`` also prints each benchmark's own detail tables. Individually:
``python -m bench.intake [--profile]``, ``python -m bench.intake_worst``, ``python -m bench.sweep`` and
``python -m bench.chat_ack``.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

from bench import chat_ack, intake, intake_worst, sweep
from bench._common import Row, machine, print_rows


def main() -> None:
    verbose = "--verbose" in sys.argv or "-v" in sys.argv
    rows = []
    for name, module in (("intake", intake), ("intake_worst", intake_worst), ("sweep", sweep)):
        print(f"running bench.{name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        rows += module.run(verbose=verbose)
        print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print("running bench.chat_ack (Slack and Teams acks side by side) ...", file=sys.stderr, flush=True)
    rows += [Row(*r) for r in chat_ack.rows()]
    print_rows(rows, title=f"Benchmarks, {datetime.now():%Y-%m-%d %H:%M} ({machine()})")
    failed = [r for r in rows if "FAIL" in r.result]
    if failed:
        print(f"\n{len(failed)} figure(s) miss their target; see docs/benchmarks.md for the profile.")


if __name__ == "__main__":
    main()
