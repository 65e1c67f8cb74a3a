"""Reading an agency's chronology file: every table of a Word document, every sheet of a workbook.

The file comes from outside, so every step is bounded (decision 0010's approach, decision 0023):
the package is inspected before any library opens it (entries, total unpacked size, no DTD in
any XML part: no entity expansion, no zip bomb); sheets are read in openpyxl's streaming mode with
a row and column cap, formulas as their last computed values (never evaluated; macros are never
run, nor even loaded); Word tables are walked on the XML python-docx parsed, one pass, merged
cells taken from their grid position (python-docx's own cell lookup walks up a vertical merge
for every cell: quadratic on a hostile table). A CPU time budget is checked between rows.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_ENTRIES = 1_000
MAX_UNPACKED = 24 * 1024 * 1024
MAX_ROWS = 5_000
MAX_COLUMNS = 40
MAX_CELL_CHARS = 20_000
MAX_TABLES = 200
#: CPU seconds for one file (this thread's time: a busy machine does not fail a good file).
BUDGET_SECONDS = 3.0

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc / .xls (and encrypted .docx / .xlsx)


class Unreadable(Exception):
    """The file cannot be read; the message says why in words the agency can act on."""


@dataclass
class Grid:
    """A table or a sheet: its name as the agency sees it, and its rows with their numbers."""

    label: str
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    #: rows past MAX_ROWS were not read
    cut: bool = False


class Budget:
    def __init__(self, seconds: float = BUDGET_SECONDS) -> None:
        self.seconds = seconds
        self.deadline = time.thread_time() + seconds

    def check(self) -> None:
        if time.thread_time() > self.deadline:
            raise Unreadable(f"it took longer than {self.seconds:g} s to read; please send the "
                             "chronology alone, in the partnership's template")


def kind_of(data: bytes) -> str | None:
    """"docx", "xlsx", "old" (.doc/.xls), "pdf", or None for anything else (ignored)."""
    if data.startswith(OLE_MAGIC):
        return "old"
    if data.startswith(b"%PDF"):
        return "pdf"
    if not data.startswith(b"PK"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist()[:MAX_ENTRIES])
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def inspect_package(data: bytes, budget: Budget) -> None:
    """Refuse a package that is too big unpacked, has too many parts, or declares a DTD."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Unreadable("it is not a readable Word or Excel file") from None
    with package:
        entries = package.infolist()
        if len(entries) > MAX_ENTRIES:
            raise Unreadable(f"it has more than {MAX_ENTRIES} parts")
        # zipfile never unpacks more than an entry declares, so declared sizes bound the work.
        if sum(e.file_size for e in entries) > MAX_UNPACKED:
            raise Unreadable(f"it unpacks to more than {MAX_UNPACKED // (1024 * 1024)} MB")
        for entry in entries:
            if entry.flag_bits & 0x1:
                raise Unreadable("it is password-protected; please send it without a password "
                                 "by secure email")
            if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise Unreadable("it is not a readable Word or Excel file")
            if entry.filename.endswith((".xml", ".rels", ".vml")):
                _no_dtd(package, entry, budget)


def _no_dtd(package: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: Budget) -> None:
    """Office files never carry a DTD: one that does is refused before any XML parser sees it."""
    tail = b""
    try:
        with package.open(entry) as part:
            while chunk := part.read(256 * 1024):
                window = tail + chunk.upper()
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    raise Unreadable("it contains XML that Word and Excel never write")
                tail = window[-16:]
                budget.check()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise Unreadable("it is damaged (it could not be unpacked)") from None


def read_file(data: bytes, kind: str, budget: Budget | None = None) -> list[Grid]:
    """Every table (docx) or sheet (xlsx) of ``data`` as grids."""
    budget = budget or Budget()
    inspect_package(data, budget)
    try:
        return _read_xlsx(data, budget) if kind == "xlsx" else _read_docx(data, budget)
    except Unreadable:
        raise
    except Exception:  # a library's error on a damaged file: say so, never a traceback
        raise Unreadable("it is damaged (it could not be opened)") from None


def _cell_value(value: Any) -> Any:
    if isinstance(value, str):
        return value[:MAX_CELL_CHARS + 1]
    return value


def _read_xlsx(data: bytes, budget: Budget) -> list[Grid]:
    from openpyxl import load_workbook

    # read_only: rows streamed; data_only: a formula's cached value, never the formula;
    # keep_vba=False (the default) and keep_links=False: macros and external links not loaded.
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        grids: list[Grid] = []
        for number, sheet in enumerate(book.worksheets[:MAX_TABLES], start=1):
            budget.check()
            # By its place among the tabs: a sheet's name is the agency's text (it may name a
            # child), and a reply quotes places, never text.
            grid = Grid(f"sheet {number}")
            rows = sheet.iter_rows(min_row=1, max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS, values_only=True)
            for row_number, values in enumerate(rows, start=1):
                if row_number > MAX_ROWS:
                    grid.cut = any(v not in (None, "") for v in values)
                    break
                if any(v not in (None, "") for v in values):
                    grid.rows.append((row_number, [_cell_value(v) for v in values]))
                if row_number % 64 == 0:
                    budget.check()
            grids.append(grid)
        return grids
    finally:
        book.close()


def _read_docx(data: bytes, budget: Budget) -> list[Grid]:
    import docx
    from docx.oxml.ns import qn

    body = docx.Document(io.BytesIO(data)).element.body
    budget.check()
    grids: list[Grid] = []
    tables = (t for t in body.iter(qn("w:tbl")) if not _inside_cell(t, qn("w:tc")))
    for number, table in enumerate(tables, start=1):
        if number > MAX_TABLES:
            break
        grid = Grid(f"table {number}")
        for row_number, cells in enumerate(_table_rows(table, budget), start=1):
            if row_number > MAX_ROWS:
                grid.cut = True
                break
            if any(c for c in cells):
                grid.rows.append((row_number, cells))
        grids.append(grid)
    return grids


def _inside_cell(element: Any, tc: str) -> bool:
    parent = element.getparent()
    while parent is not None:
        if parent.tag == tc:
            return True
        parent = parent.getparent()
    return False


def _table_rows(table: Any, budget: Budget) -> Iterator[list[str]]:
    """Each row's text by grid column. A cell spanning columns gives its text to the first; a
    cell continuing a vertical merge repeats the text above (a date written once for several
    events applies to each)."""
    from docx.oxml.ns import qn

    tr, tc, t_pr, val = qn("w:tr"), qn("w:tc"), qn("w:tcPr"), qn("w:val")
    span_tag, vmerge_tag = qn("w:gridSpan"), qn("w:vMerge")
    above: dict[int, str] = {}
    for count, row in enumerate(table.iterchildren(tr), start=1):
        if count % 64 == 0:
            budget.check()
        cells = [""] * MAX_COLUMNS
        column = _grid_before(row)
        for cell in row.iterchildren(tc):
            if column >= MAX_COLUMNS:
                break
            props = cell.find(t_pr)
            span, continues = 1, False
            if props is not None:
                span_el = props.find(span_tag)
                if span_el is not None:
                    span = _small_int(span_el.get(val), 1)
                merge = props.find(vmerge_tag)
                continues = merge is not None and merge.get(val, "continue") == "continue"
            text = above.get(column, "") if continues else _cell_text(cell)
            cells[column] = text
            above[column] = text
            column += max(span, 1)
        yield cells


def _grid_before(row: Any) -> int:
    from docx.oxml.ns import qn

    props = row.find(qn("w:trPr"))
    before = props.find(qn("w:gridBefore")) if props is not None else None
    return _small_int(before.get(qn("w:val")), 0) if before is not None else 0


def _small_int(value: str | None, default: int) -> int:
    if value is None or not value.isdigit() or len(value) > 3:
        return default
    return min(int(value), MAX_COLUMNS)


def _cell_text(cell: Any) -> str:
    """The cell's paragraphs, one line each; runs of text, tabs and breaks (capped)."""
    from docx.oxml.ns import qn

    p, t, tab, br = qn("w:p"), qn("w:t"), qn("w:tab"), qn("w:br")
    lines: list[str] = []
    size = 0
    for paragraph in cell.iter(p):
        parts: list[str] = []
        for node in paragraph.iter(t, tab, br):
            if node.tag == t:
                parts.append(node.text or "")
            else:
                parts.append("\t" if node.tag == tab else "\n")
            size += len(parts[-1])
            if size > MAX_CELL_CHARS:
                break
        lines.append("".join(parts))
        if size > MAX_CELL_CHARS:
            break
    return "\n".join(lines).strip()[:MAX_CELL_CHARS + 1]
