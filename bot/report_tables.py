"""The shape of the partnership's report (issue 14): sections of tables of typed cells.

A cell knows what it is (a count, a share of a count, a median over some cases, words), so the
renderers (HTML, XLSX, JSON) draw it and the sharing rule (process.md 8.4 item 9: cells under 5
suppressed in a report for outside the partnership) can judge it without knowing the panel.
Plain data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Count:
    n: int
    suppressed: bool = False

    def text(self, below: int) -> str:
        return f"<{below}" if self.suppressed else str(self.n)


@dataclass(frozen=True)
class Share:
    """``num`` of ``den`` (e.g. on time of those due), shown "7/13 (54%)"."""

    num: int
    den: int
    suppressed: bool = False

    @property
    def percent(self) -> float | None:
        return None if self.den == 0 else round(100 * self.num / self.den, 1)

    def text(self, below: int) -> str:
        if self.suppressed:
            return "suppressed"
        if self.den == 0:
            return "none"
        return f"{self.num}/{self.den} ({self.percent:.0f}%)"


@dataclass(frozen=True)
class Median:
    """A median over ``n`` values, in ``unit``; None when there is none."""

    value: float | None
    n: int
    unit: str
    suppressed: bool = False

    def text(self, below: int) -> str:
        if self.suppressed:
            return "suppressed"
        if self.value is None:
            return "none"
        return f"{self.value:g} {self.unit}"


Cell = Count | Share | Median | str


@dataclass(frozen=True)
class Chart:
    """A bar chart of a table: one bar group per row, one series per listed column."""

    series: tuple[int, ...]  # column indexes holding Count or Share cells
    ylabel: str
    #: "percent": plot a Share's percentage; "count": a Count's number.
    measure: str = "count"


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[str, ...]
    #: Cells (Count, Share, Median or words); Any so rows built from mixed tuples type-check.
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""
    #: The last row totals the rows above it (count columns).
    total_row: bool = False
    #: The index of a column totalling the count columns before it, if any.
    total_col: int | None = None
    #: A row (index) totalling other rows (indexes), when it is not simply the last one.
    row_sum: tuple[int, tuple[int, ...]] | None = None
    chart: Chart | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    tables: tuple[Table, ...]


@dataclass
class Report:
    partnership: str
    period_from: str
    period_to: str
    generated_at: str
    years: tuple[str, ...]
    sections: list[Section] = field(default_factory=list)
    #: Statements the report makes about itself (the reconciliation, what is suppressed).
    statements: list[str] = field(default_factory=list)
    shared: bool = False
    suppress_below: int = 5

    def cell_text(self, cell: Cell) -> str:
        return cell if isinstance(cell, str) else cell.text(self.suppress_below)

    def to_json(self) -> dict[str, Any]:
        return {
            "partnership": self.partnership, "from": self.period_from, "to": self.period_to,
            "generated_at": self.generated_at, "financial_years": list(self.years),
            "shared": self.shared, "suppress_below": self.suppress_below if self.shared else None,
            "statements": list(self.statements),
            "sections": [{
                "key": s.key, "title": s.title, "intro": s.intro,
                "tables": [{
                    "key": t.key, "title": t.title, "note": t.note, "columns": list(t.columns),
                    "rows": [[_cell_json(c, self.suppress_below) for c in row] for row in t.rows],
                } for t in s.tables],
            } for s in self.sections],
        }


def _cell_json(cell: Cell, below: int) -> Any:
    if isinstance(cell, str):
        return cell
    if cell.suppressed:
        return {"suppressed": f"<{below}"}
    if isinstance(cell, Count):
        return cell.n
    if isinstance(cell, Share):
        return {"num": cell.num, "den": cell.den, "percent": cell.percent}
    return {"median": cell.value, "n": cell.n, "unit": cell.unit}


def suppress_table(table: Table, below: int) -> Table:
    """The table as shared outside the partnership (process.md 8.4 item 9): a count from 1 to
    ``below - 1`` becomes "<below"; a share whose part, rest or whole is such a count, and a
    median over fewer than ``below`` cases, are suppressed; a total (row, column, or a share of
    totals) with a suppressed part is suppressed too, so the hidden count cannot be worked back
    from it within the table. Zero is shown: it describes nobody."""
    small = lambda n: 0 < n < below  # noqa: E731
    rows: list[list[Any]] = []
    for row in table.rows:
        out: list[Any] = []
        for cell in row:
            share_small = isinstance(cell, Share) and any(
                small(n) for n in (cell.num, cell.den - cell.num, cell.den))
            if (isinstance(cell, Count) and small(cell.n)) or share_small or (
                    isinstance(cell, Median) and cell.n < below and cell.value is not None):
                cell = replace(cell, suppressed=True)
            out.append(cell)
        rows.append(out)
    groups = ([(len(rows) - 1, tuple(range(len(rows) - 1)))] if table.total_row and rows else [])
    groups += [table.row_sum] if table.row_sum else []
    for _ in range(2):  # a total row's own total cell depends on both passes
        if table.total_col is not None:
            tc = table.total_col
            for line in rows:
                if any(_hidden(c) for c in line[:tc]):
                    line[tc] = _hide(line[tc])
        for total, parts in groups:
            for i in range(1, len(rows[total])):
                if any(i < len(rows[r]) and _hidden(rows[r][i]) for r in parts):
                    rows[total][i] = _hide(rows[total][i])
    return replace(table, rows=tuple(tuple(r) for r in rows))


def _hidden(cell: Any) -> bool:
    return isinstance(cell, Count | Share) and cell.suppressed


def _hide(cell: Any) -> Any:
    """A total (a count, or a share of counts) with a hidden part is hidden too."""
    return replace(cell, suppressed=True) if isinstance(cell, Count | Share) else cell


def suppressed_cells(table: Table) -> int:
    return sum(1 for row in table.rows for c in row if not isinstance(c, str) and c.suppressed)
