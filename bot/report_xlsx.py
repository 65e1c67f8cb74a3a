"""The partnership's report as a workbook (issue 14 item 2): every table on its own sheet, and an
"About" sheet with the period and the report's statements (reconciliation, suppression).

A count is a number cell; a share, a median or a suppressed cell is its text as the HTML shows
it. A text cell a spreadsheet would read as a formula ("=...") is stored as text, so a label from
the protocol file can never become one.
"""

from __future__ import annotations

import io
from typing import Any

from bot.report_tables import Count, Report


def render_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook  # lazily: only the report writes a workbook
    from openpyxl.styles import Font

    book = Workbook()
    about = book.active
    about.title = "About"
    for line in [[f"{report.partnership}: serious child safeguarding incidents report"],
                 [f"Period {report.period_from} to {report.period_to}"],
                 [f"Financial years {', '.join(report.years)}"], [f"Made {report.generated_at}"],
                 ["Shared outside the partnership" if report.shared else "Internal to the partnership"],
                 [], *([s] for s in report.statements), [], ["Sheet", "Table"]]:
        _append(about, line)
    about.column_dimensions["A"].width = 30
    used: set[str] = {"About"}
    for section in report.sections:
        for table in section.tables:
            name = _sheet_name(table.key, used)
            _append(about, [name, f"{section.title}: {table.title}"])
            sheet = book.create_sheet(name)
            _append(sheet, [table.title])
            sheet["A1"].font = Font(bold=True)
            _append(sheet, list(table.columns))
            for row in table.rows:
                _append(sheet, [c.n if isinstance(c, Count) and not c.suppressed else report.cell_text(c)
                                for c in row])
            if table.note:
                _append(sheet, [])
                _append(sheet, [table.note])
            sheet.column_dimensions["A"].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _append(sheet: Any, values: list[Any]) -> None:
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"  # text, never a formula


def _sheet_name(key: str, used: set[str]) -> str:
    base = key[:28] or "table"
    name, n = base, 2
    while name in used:
        name, n = f"{base[:26]}-{n}", n + 1
    used.add(name)
    return name
