"""Fails when a Python module is over the size the project allows (DEVELOPERS.md: modules <= 400
lines; decision 0021). Run by `make lint` and `make test`:

    python scripts/module_size.py [FOLDER ...]

With no folder it checks bot/, handlers/, schedules/, tests/ and bench/ under the repository root.
Each module over the limit is named with its line count; the exit status is 1 if there is any.
A module that grows past the limit is split by what it holds, not trimmed to fit.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

LIMIT = 400
ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("bot", "handlers", "schedules", "tests", "bench")


def modules(folders: Iterable[Path]) -> Iterator[Path]:
    for folder in folders:
        yield from sorted(path for path in folder.rglob("*.py") if ".venv" not in path.parts)


def line_count(path: Path) -> int:
    # As an editor numbers them: a last line without its newline still counts.
    data = path.read_bytes()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def oversized(folders: Iterable[Path], limit: int = LIMIT) -> list[tuple[Path, int]]:
    return [(path, n) for path in modules(folders) if (n := line_count(path)) > limit]


def main(argv: list[str]) -> int:
    folders = [Path(arg) for arg in argv] or [ROOT / name for name in FOLDERS]
    missing = [folder for folder in folders if not folder.is_dir()]
    if missing:
        print(f"module size: no such folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    found = oversized(folders)
    for path, n in found:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown}: {n} lines, over the limit of {LIMIT}; split it by what it holds")
    checked = sum(1 for _ in modules(folders))
    print(f"module size: {checked} modules checked, {len(found)} over {LIMIT} lines")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
