"""Checking a return against the template's rules (process.md 7.6; Chronolator, E16).

Each table or sheet with the template's headings is read row by row: the mandatory columns
filled, the date one this reads (exact or approximate), the time (optional) one too, and the
events in order, oldest first or newest first as the table itself runs. A problem names the
place (table/sheet and row) and the column, and says what to do; it never quotes the cell, so
it can be stored, listed and mailed back without repeating what the agency wrote.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Any

from bot.chronology_columns import DEFAULT_MANDATORY, Header, heading_of, read_header
from bot.chronology_dates import BLANKS, ChronoDate, parse_date, parse_time
from bot.chronology_read import MAX_CELL_CHARS, MAX_ROWS, Grid

#: A row's headings are looked for in the first rows of a table (a title row may come first).
HEADER_WITHIN = 10
DATE_HELP = ("use dd/mm/yyyy; for an uncertain date ?dd/mm/yyyy, mm/yyyy, a season and year "
             "(Spring 2019) or c. yyyy")


@dataclass(frozen=True)
class Problem:
    where: str
    column: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "column": self.column, "problem": self.problem}


@dataclass
class Row:
    place: str
    date: ChronoDate
    time: str
    source: str
    event: str
    outcome: str
    extra: dict[str, str]
    #: index of the row in its grid, and the grid's index in the file
    grid: int = 0
    index: int = 0


@dataclass
class Checked:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: tables/sheets with the template's headings
    tables: int = 0


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return str(value).strip()


def check_grids(
    grids: Sequence[Grid], *, file_label: str, mandatory: Sequence[str] = DEFAULT_MANDATORY,
    today: date, checked: Checked | None = None,
) -> Checked:
    """Rows and problems of one file's grids, added to ``checked``."""
    checked = checked or Checked()
    previous: Header | None = None
    for grid_index, grid in enumerate(grids):
        header, body = _header_of(grid, previous, today)
        if header is None:
            continue
        previous = header
        checked.tables += 1
        where = f"{file_label}, {grid.label}"
        missing = [k for k in ("date", *mandatory) if k not in header.columns]
        for key in dict.fromkeys(missing):
            checked.problems.append(Problem(where, heading_of(key), "the column is missing: "
                                            "please use the partnership's template unaltered"))
        if grid.cut:
            checked.problems.append(Problem(where, "", f"has more than {MAX_ROWS} rows; only the first "
                                            f"{MAX_ROWS} were read: please split it"))
        rows = [r for r in (_row(grid_index, i, where, n, cells, header, mandatory, today, checked)
                            for i, (n, cells) in enumerate(body)) if r is not None]
        _check_order(rows, checked)
        checked.rows.extend(rows)
    return checked


def _header_of(grid: Grid, previous: Header | None, today: date) -> tuple[Header | None, list[Any]]:
    for position, (row_number, cells) in enumerate(grid.rows[:HEADER_WITHIN]):
        header = read_header(cells, row_number)
        if header is not None:
            return header, grid.rows[position + 1:]
    # A table Word split in two, a second sheet carrying on: no headings, and a date where the
    # table before had its dates.
    if previous is not None and grid.rows:
        cells = grid.rows[0][1]
        date_cell = cells[previous.columns["date"]] if previous.columns["date"] < len(cells) else None
        if parse_date(date_cell, today=today) is not None:
            return previous, grid.rows
    return None, []


def _row(
    grid_index: int, index: int, where: str, row_number: int, cells: list[Any], header: Header,
    mandatory: Sequence[str], today: date, checked: Checked,
) -> Row | None:
    def cell(key: str) -> Any:
        column = header.columns.get(key)
        return cells[column] if column is not None and column < len(cells) else None

    if read_header(cells, row_number) is not None:
        return None  # the headings again (a repeated heading row)
    place = f"{where} row {row_number}"
    problems: list[Problem] = []
    for column, value in enumerate(cells):
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            name = next((heading_of(k) for k, c in header.columns.items() if c == column),
                        header.extra.get(column, f"column {column + 1}"))
            problems.append(Problem(place, name, f"is longer than {MAX_CELL_CHARS} characters"))
    raw_date = cell("date")
    day = parse_date(raw_date, today=today)
    if _text(raw_date).lower() in BLANKS and not isinstance(raw_date, int | float):
        problems.append(Problem(place, "Date", f"is empty: every entry needs a date ({DATE_HELP})"))
    elif day is None:
        problems.append(Problem(place, "Date", f"is not a date this can read: {DATE_HELP}"))
    elif day.date_from > today:
        problems.append(Problem(place, "Date", "is after today"))
    at = parse_time(cell("time"))
    if at is None:
        problems.append(Problem(place, "Time", "is not a time this can read: use hh:mm (24-hour)"))
    for key in mandatory:
        if key not in ("date", "time") and key in header.columns and _text(cell(key)).lower() in BLANKS:
            problems.append(Problem(place, heading_of(key), "is empty: it is required for every entry"))
    checked.problems.extend(problems)
    if problems or day is None:
        return None
    extra = {name: _text(cells[c])[:MAX_CELL_CHARS] for c, name in header.extra.items()
             if c < len(cells) and _text(cells[c])}
    return Row(place, day, at or "", _text(cell("source")), _text(cell("event")),
               _text(cell("outcome")), extra, grid_index, index)


def _check_order(rows: list[Row], checked: Checked) -> None:
    """Name the rows out of date order. The table runs oldest first unless more of its steps go
    back in time than forward; the rows kept in order are the longest run that is (a longest
    non-decreasing subsequence of the exact dates), so one misplaced row is named, not every row
    after it. An approximate date is out of order only if none of its days fits between its
    neighbours in order; two timed entries of one day are compared by time."""
    if len(rows) < 2:
        return
    steps = list(pairwise(rows))
    forward = sum(1 for a, b in steps if b.date.date_from > a.date.date_from)
    backward = sum(1 for a, b in steps if b.date.date_from < a.date.date_from)
    newest_first = backward > forward
    ordered = list(reversed(rows)) if newest_first else rows
    exact = [i for i, r in enumerate(ordered) if r.date.exact]
    kept = _longest_in_order([ordered[i].date.date_from for i in exact])
    in_order = [exact[k] for k in sorted(kept)]
    kept_rows = set(in_order)
    wrong = {i for i in exact if i not in kept_rows}
    last_timed: tuple[date, str] | None = None  # entries of one day with times, by time
    for i in in_order:
        entry = ordered[i]
        if not entry.time:
            continue
        if last_timed and last_timed[0] == entry.date.date_from and entry.time < last_timed[1]:
            wrong.add(i)
        else:
            last_timed = (entry.date.date_from, entry.time)
    for i, row in enumerate(ordered):
        if row.date.exact:
            continue
        at = bisect_left(in_order, i)
        before = ordered[in_order[at - 1]] if at > 0 else None
        after = ordered[in_order[at]] if at < len(in_order) else None
        if (before and row.date.date_to < before.date.date_from) or (
                after and row.date.date_from > after.date.date_from):
            wrong.add(i)
    direction = "newest first" if newest_first else "oldest first"
    for i in sorted(wrong, key=lambda j: (ordered[j].grid, abs(ordered[j].index))):
        checked.problems.append(Problem(ordered[i].place, "Date", f"is out of date order (the table "
                                        f"runs {direction}): move the entry to its place"))
    if newest_first:
        for row in rows:
            row.index = -row.index  # counted in time order within the table


def _longest_in_order(days: list[date]) -> set[int]:
    """Indexes of a longest non-decreasing subsequence of ``days`` (patience sorting, n log n).

    Built from the end, so of two equally long runs the one keeping the earlier rows wins: in
    10/02, 01/01, 20/02 the row going back in time (01/01) is the one named."""
    tails: list[int] = []  # per run length: the largest first day (negated) of such a run so far
    tail_at: list[int] = []
    parent: dict[int, int | None] = {}
    for i in range(len(days) - 1, -1, -1):
        value = -days[i].toordinal()
        j = bisect_right(tails, value)
        parent[i] = tail_at[j - 1] if j > 0 else None
        if j == len(tails):
            tails.append(value)
            tail_at.append(i)
        else:
            tails[j], tail_at[j] = value, i
    kept: set[int] = set()
    node = tail_at[-1] if tail_at else None
    while node is not None:
        kept.add(node)
        node = parent[node]
    return kept
