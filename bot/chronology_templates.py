"""The partnership's documents a request carries, and the default chronology template.

Kirklees' chronology request (KIR l.207; process.md 7.6) sends the guidance, the chronology
template (not to be altered, so the returns can be merged) and the key lines of enquiry; the
information gathering request sends the information gathering tool (KIR App 10). The protocol
names the files::

    [templates]
    information_gathering = "templates/information-gathering-tool.docx"
    chronology = ["templates/chronology.xlsx", "templates/chronology.docx"]
    guidance = "templates/chronology-guidance.pdf"
    chronology_mandatory = ["date", "source", "event"]

Paths are relative to the protocol file. Without ``chronology`` the project's own template is
sent, as a workbook and as a Word document (templates/chronology.xlsx, .docx, made by
:func:`write_default_templates`).
"""

from __future__ import annotations

import io
import mimetypes
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from bot.chronology_columns import DEFAULT_COLUMNS, DEFAULT_MANDATORY, HEADINGS
from bot.errors import ServiceError
from bot.mailer import OutboundFile
from bot.protocol_fields import _Strict

#: Files a request may carry, each (the largest mail servers take 25 MB a message).
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
DEFAULT_FILES = ("chronology.xlsx", "chronology.docx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _paths(value: Any) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return list(value)
    raise ValueError("a file path, or a list of file paths")


class Templates(_Strict):
    information_gathering: list[str] = Field(default_factory=list)
    chronology: list[str] = Field(default_factory=list)
    guidance: list[str] = Field(default_factory=list)
    #: Columns every entry must fill (the date is always required; Chronolator, E16).
    chronology_mandatory: list[str] = Field(default_factory=lambda: list(DEFAULT_MANDATORY))
    #: The folder relative paths are read from: the protocol file's (set when it is loaded).
    base_dir: str = ""

    @field_validator("information_gathering", "chronology", "guidance", mode="before")
    @classmethod
    def _files(cls, value: Any) -> list[str]:
        return _paths(value)

    @field_validator("chronology_mandatory")
    @classmethod
    def _known(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in HEADINGS]
        if unknown:
            raise ValueError(f"unknown column {unknown[0]!r}; columns: {', '.join(DEFAULT_COLUMNS)}")
        return list(dict.fromkeys(["date", *values]))

    def files_for(self, kind: str) -> list[Path]:
        """The files a request of ``kind`` carries, as paths (the default template: packaged)."""
        names = {"info-gathering": self.information_gathering,
                 "chronology": [*self.chronology, *self.guidance]}.get(kind, [])
        base = Path(self.base_dir or ".")
        paths = [p if p.is_absolute() else base / p for p in map(Path, names)]
        if kind == "chronology" and not self.chronology:
            folder = resources.files("templates")
            paths = [Path(str(folder / name)) for name in DEFAULT_FILES] + paths
        return paths

    def missing_files(self) -> list[str]:
        """Named files that cannot be read (checked when the protocol loads)."""
        return [str(p) for kind in ("info-gathering", "chronology") for p in self.files_for(kind)
                if not p.is_file()]


def with_base(templates: Templates, base_dir: Path) -> Templates:
    """The templates of a protocol read from ``base_dir``; names a file that is not there."""
    placed = templates.model_copy(update={"base_dir": str(base_dir)})
    missing = placed.missing_files()
    if missing:
        raise ValueError(f"file not found: {missing[0]}")
    return placed


def request_files(templates: Templates, kind: str) -> list[OutboundFile]:
    """The files to attach to a request of ``kind``, read now (the outbox keeps the bytes)."""
    files: list[OutboundFile] = []
    for path in templates.files_for(kind):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ServiceError(f"the protocol's template {path} cannot be read ({exc.strerror})") from None
        if len(data) > MAX_TEMPLATE_BYTES:
            raise ServiceError(f"the protocol's template {path.name} is over {MAX_TEMPLATE_BYTES} bytes")
        content_type = {".xlsx": XLSX, ".docx": DOCX}.get(path.suffix.lower()) or (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        files.append(OutboundFile(path.name, content_type, data))
    return files


# --- the default template ------------------------------------------------------------------

GUIDANCE = (
    "One row per event, oldest first (or newest first throughout).",
    "Date is required: dd/mm/yyyy. For an uncertain date write ?dd/mm/yyyy, mm/yyyy, a season "
    "and year (Spring 2019) or c. yyyy.",
    "Time is optional (hh:mm, 24-hour).",
    "Source of information is required: the record or the practitioner's role, not your agency "
    "(the business unit adds the agency when the chronologies are merged).",
    "Please do not rename, reorder or remove the columns.",
)


def default_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "Chronology"
    sheet.append([HEADINGS[k] for k in DEFAULT_COLUMNS])
    widths = {"date": 14, "time": 9, "source": 30, "event": 60, "outcome": 40}
    for column, key in enumerate(DEFAULT_COLUMNS, start=1):
        cell = sheet.cell(row=1, column=column)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E2F3")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[cell.column_letter].width = widths[key]
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("Guidance")
    for line in GUIDANCE:
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def default_docx() -> bytes:
    import docx
    from docx.enum.section import WD_ORIENT

    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    document.add_heading("Agency chronology", level=1)
    for line in GUIDANCE:
        document.add_paragraph(line, style="List Bullet")
    table = document.add_table(rows=2, cols=len(DEFAULT_COLUMNS))
    table.style = "Table Grid"
    for cell, key in zip(table.rows[0].cells, DEFAULT_COLUMNS, strict=True):
        cell.text = HEADINGS[key]
        for run in cell.paragraphs[0].runs:
            run.bold = True
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def write_default_templates(folder: Path) -> list[Path]:
    """(Re)make templates/chronology.xlsx and .docx: ``python -m bot.chronology_templates``."""
    written = []
    for name, data in (("chronology.xlsx", default_xlsx()), ("chronology.docx", default_docx())):
        (folder / name).write_bytes(data)
        written.append(folder / name)
    return written


if __name__ == "__main__":  # pragma: no cover - run by hand when the default columns change
    for path in write_default_templates(Path(str(resources.files("templates")))):
        print(path)
