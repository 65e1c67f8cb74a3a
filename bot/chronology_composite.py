"""The composite chronology: every agency's valid return merged in date order (process.md 7.6;
KIR l.209: "combined into a colour-coded multi-agency chronology" for the reviewer).

Order: by the first day an entry's date can mean; an approximate date ("May 2019", "Spring 2019",
"c. 2018") comes after the exact entries of that first day and is marked; ties go by agency, then
by the entry's place in its agency's return (in time order). The agency is a column and a colour.
Written as XLSX and DOCX (for the panel and the reviewer) and as one self-contained HTML page,
everything escaped. The content is identifying: these files are for secure channels only.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from bot.chronology import chronology_requests, latest_returns
from bot.chronology_columns import HEADINGS
from bot.core import Core
from bot.models import Case
from bot.models_chronology import ChronologyEvent, ChronologyReturn

#: Light fills that keep black text readable (WCAG AA against #000), one per agency in turn.
PALETTE = ("DCEBFA", "FCE4D6", "E2F0D9", "FFF2CC", "EADCF4", "D9F2F2", "F8DCE6", "E7E6E6",
           "DDEBC8", "FBE5C8", "D6DCF0", "F2E1D9")


@dataclass(frozen=True)
class Entry:
    date_from: date
    date_to: date
    approximate: bool
    label: str
    time: str
    agency: str
    agency_name: str
    source: str
    event: str
    outcome: str
    extra: dict[str, str]
    position: int

    def sort_key(self) -> tuple[date, bool, str, int]:
        return (self.date_from, self.approximate, self.agency, self.position)


@dataclass
class Composite:
    ref: str
    entries: list[Entry]
    agencies: list[str]
    colours: dict[str, str]
    extra_columns: list[str]
    problems: list[dict[str, Any]]
    complete: bool


def build(session: Session, core: Core, case: Case) -> Composite:
    """The case's composite from the agencies' standing valid returns, and each return's state."""
    latest = latest_returns(session, case)
    valid_ids = [r.id for r in latest.values() if r.status == "valid"]
    rows = list(session.exec(
        select(ChronologyEvent).where(col(ChronologyEvent.return_id).in_(valid_ids))
    )) if valid_ids else []
    names = {a.slug: a.name for a in core.protocol.agencies}
    entries = sorted(
        (Entry(r.date_from, r.date_to, r.approximate, r.date_label, r.time or "", r.agency,
               names.get(r.agency, r.agency), r.source, r.event, r.outcome, dict(r.extra or {}),
               r.position) for r in rows),
        key=Entry.sort_key,
    )
    agencies = sorted({e.agency for e in entries})
    extra: dict[str, None] = {}
    for entry in entries:
        extra.update(dict.fromkeys(entry.extra))
    states = _states(session, case, latest)
    return Composite(
        ref=case.ref, entries=entries, agencies=agencies,
        colours={a: PALETTE[i % len(PALETTE)] for i, a in enumerate(agencies)},
        extra_columns=list(extra), problems=states,
        complete=bool(entries) and all(p["status"] in ("valid", "withdrawn") for p in states),
    )


def _states(session: Session, case: Case, latest: dict[str, ChronologyReturn]) -> list[dict[str, Any]]:
    """One line per chronology request: awaited, withdrawn, or its latest return's state."""
    states = []
    for request in chronology_requests(session, case):
        standing = latest.get(request.agency)
        if request.status == "closed":
            status = "withdrawn"
        elif standing is None:
            status = "awaited"
        else:
            status = standing.status if standing.status in ("valid", "invalid") else "being read"
        states.append({
            "agency": request.agency, "status": status,
            "received_at": standing.received_at.isoformat() if standing else None,
            "events": standing.events if standing else 0,
            "problems": list(standing.problems) if standing and status == "invalid" else [],
        })
    return states


def columns(composite: Composite) -> list[str]:
    return ["Date", "Approximate", "Time", "Agency", HEADINGS["source"], HEADINGS["event"],
            HEADINGS["outcome"], *composite.extra_columns]


#: Characters XML 1.0 cannot hold (Word and Excel files are XML): control characters but tab,
#: line feed and carriage return. A value from one agency's sheet can carry them.
_NOT_XML = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF])


def _clean(value: str) -> str:
    return value.translate(_NOT_XML)


def _cells(entry: Entry, composite: Composite) -> list[str]:
    return [_clean(v) for v in _cells_raw(entry, composite)]


def _cells_raw(entry: Entry, composite: Composite) -> list[str]:
    return [entry.label, "yes" if entry.approximate else "", entry.time, entry.agency_name,
            entry.source, entry.event, entry.outcome,
            *(entry.extra.get(c, "") for c in composite.extra_columns)]


def as_json(composite: Composite) -> dict[str, Any]:
    return {
        "ref": composite.ref,
        "complete": composite.complete,
        "events": [{
            "date": e.label, "date_from": e.date_from.isoformat(), "date_to": e.date_to.isoformat(),
            "approximate": e.approximate, "time": e.time or None, "agency": e.agency,
            "source": e.source, "event": e.event, "outcome": e.outcome, "extra": e.extra,
        } for e in composite.entries],
        "problems": composite.problems,
    }


def to_xlsx(composite: Composite) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "Composite chronology"
    heads = columns(composite)
    sheet.append(heads)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for entry in composite.entries:
        sheet.append(_cells(entry, composite))
        fill = PatternFill("solid", fgColor=composite.colours[entry.agency])
        for cell in sheet[sheet.max_row]:
            # openpyxl stores a string starting "=" as a formula: an agency's text stays text.
            cell.data_type = "s"
            cell.fill = fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if entry.approximate and cell.column == 1:
                cell.font = Font(italic=True)
    widths = [14, 12, 8, 24, 30, 60, 40] + [30] * len(composite.extra_columns)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    sheet.freeze_panes = "A2"
    key = book.create_sheet("Agencies")
    key.append(["Agency", "Colour"])
    for agency in composite.agencies:
        key.append([_name(composite, agency), ""])
        key.cell(row=key.max_row, column=2).fill = PatternFill("solid", fgColor=composite.colours[agency])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _name(composite: Composite, agency: str) -> str:
    return next((e.agency_name for e in composite.entries if e.agency == agency), agency)


def to_docx(composite: Composite) -> bytes:
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    document.add_heading(f"Multi-agency chronology: {composite.ref}", level=1)
    document.add_paragraph("Approximate dates are marked \"yes\" and placed at the first day they "
                           "can mean. OFFICIAL-SENSITIVE: share by secure email only.")
    heads = columns(composite)
    table = document.add_table(rows=1, cols=len(heads))
    table.style = "Table Grid"
    for cell, head in zip(table.rows[0].cells, heads, strict=True):
        cell.text = head
        cell.paragraphs[0].runs[0].bold = True
    header_row = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_row.append(repeat)  # the headings again on every page
    for entry in composite.entries:
        cells = table.add_row().cells
        for cell, value in zip(cells, _cells(entry, composite), strict=True):
            cell.text = value  # python-docx escapes text; control characters are dropped below
            shade = OxmlElement("w:shd")
            shade.set(qn("w:val"), "clear")
            shade.set(qn("w:fill"), composite.colours[entry.agency])
            cell._tc.get_or_add_tcPr().append(shade)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def to_html(composite: Composite) -> str:
    """One self-contained page: no script, no outside resource, every value escaped."""
    esc = html.escape
    heads = "".join(f"<th>{esc(h)}</th>" for h in columns(composite))
    body = []
    for entry in composite.entries:
        cells = "".join(f"<td>{esc(v)}</td>" for v in _cells(entry, composite))
        mark = " class=\"approx\"" if entry.approximate else ""
        body.append(f"<tr style=\"background:#{composite.colours[entry.agency]}\"{mark}>{cells}</tr>")
    key = "".join(
        f"<li><span style=\"background:#{composite.colours[a]}\">&nbsp;&nbsp;&nbsp;&nbsp;</span> "
        f"{esc(_name(composite, a))}</li>" for a in composite.agencies
    )
    waiting = [p for p in composite.problems if p["status"] != "valid"]
    note = "".join(f"<li>{esc(p['agency'])}: {esc(p['status'])}</li>" for p in waiting)
    return (
        "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" "
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>Chronology {esc(composite.ref)}</title><style>"
        "body{font-family:Arial,sans-serif;font-size:14px}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px;vertical-align:top;white-space:pre-wrap;text-align:left}"
        "tr.approx td:first-child{font-style:italic}</style></head><body>"
        f"<h1>Multi-agency chronology: {esc(composite.ref)}</h1>"
        "<p>OFFICIAL-SENSITIVE: share by secure email only. Approximate dates are in italics, "
        "placed at the first day they can mean.</p>"
        f"<ul>{key}</ul>" + (f"<p>Not yet in the composite:</p><ul>{note}</ul>" if note else "")
        + f"<table><thead><tr>{heads}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>\n"
    )
