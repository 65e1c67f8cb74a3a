"""Real Word and Excel chronology returns made in the tests (python-docx, openpyxl), and the
emails that carry them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid

HEADINGS = ["Date", "Time", "Source of information", "Event", "Outcome / action taken"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def xlsx(sheets: dict[str, Sequence[Sequence[object]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def docx(tables: Sequence[Sequence[Sequence[str]]], *, intro: str = "Agency chronology") -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.add_paragraph(intro)
    for rows in tables:
        table = document.add_table(rows=0, cols=max(len(r) for r in rows))
        for row in rows:
            cells = table.add_row().cells
            for cell, value in zip(cells, row, strict=False):
                cell.text = value
        document.add_paragraph("")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def return_email(
    *, from_addr: str, ref: str, in_reply_to: str | None, files: Sequence[tuple[str, bytes]],
    body: str = "Please find our chronology attached.", message_id: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = from_addr
    msg["To"] = "reviews@partnership.example"
    msg["Subject"] = f"RE: [{ref}] Chronology request"
    msg["Message-ID"] = message_id or make_msgid(domain=from_addr.rsplit("@", 1)[1])
    msg["Date"] = "Wed, 18 Nov 2026 12:00:00 +0000"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    for name, data in files:
        kind = {".xlsx": XLSX, ".docx": DOCX}.get(name[-5:], "application/octet-stream")
        maintype, subtype = kind.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()
