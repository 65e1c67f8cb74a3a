"""Hostile returns stay bounded: a zip bomb, XML with entities, damaged files, a huge sheet, a
sheet that claims a million rows, a Word table of vertical merges, formulas, a spent budget.
Figures (how long the worst of these takes) are printed by ``python -m bench.chronology_worst``."""

from __future__ import annotations

import io
import zipfile

import pytest

from bot.chronology_read import MAX_ROWS, Budget, Unreadable, kind_of, read_file
from bot.chronology_validate import check_grids
from tests.support.chronology_files import HEADINGS, docx, xlsx
from tests.test_chronology_reading import TODAY


def _rezip(data: bytes, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, replace.get(item.filename, source.read(item.filename)))
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def _unreadable(data: bytes, kind: str) -> str:
    with pytest.raises(Unreadable) as caught:
        read_file(data, kind)
    return str(caught.value)


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    bomb = _rezip(docx([[HEADINGS]]), {}, {"word/media/padding.bin": b"\0" * (64 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024  # 64 MB packed into well under 1 MB
    assert "unpacks to more than" in _unreadable(bomb, "docx")


def test_xml_with_entities_is_refused() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
              b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
              b"<w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>")
    assert "XML that Word and Excel never write" in _unreadable(
        _rezip(docx([[HEADINGS]]), {"word/document.xml": laughs}), "docx")
    sheet = xlsx({"S": [HEADINGS]})
    assert "never write" in _unreadable(_rezip(sheet, {"xl/worksheets/sheet1.xml": laughs}), "xlsx")


def test_damaged_files_are_named_not_raised() -> None:
    broken = _rezip(docx([[HEADINGS]]), {"word/document.xml": b"<w:document><w:body><w:tbl>"})
    assert "damaged" in _unreadable(broken, "docx")
    assert "not a readable" in _unreadable(b"PK\x03\x04 not really a zip", "docx")
    assert kind_of(b"PK\x03\x04 not really a zip") is None
    assert kind_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old .xls") == "old"


def test_a_huge_sheet_is_read_to_the_cap_and_the_rest_named() -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Chronology")
    sheet.append(HEADINGS)
    for n in range(MAX_ROWS + 500):
        sheet.append([f"{1 + n % 28:02d}/01/2019", "", "GP", "e", ""])
    out = io.BytesIO()
    book.save(out)
    grids = read_file(out.getvalue(), "xlsx")
    assert grids[0].cut and grids[0].rows[-1][0] == MAX_ROWS
    checked = check_grids(grids, file_label="f", today=TODAY)
    assert any(f"more than {MAX_ROWS} rows" in p.problem for p in checked.problems)


def test_a_sheet_claiming_a_million_rows_and_every_column() -> None:
    data = xlsx({"S": [HEADINGS, ["01/01/2019", "", "GP", "e", ""]]})
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = package.read("xl/worksheets/sheet1.xml")
    far = (b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')
    xml = xml.replace(b"</sheetData>", far)
    xml = xml.replace(b'<dimension ref="A1:E2"/>', b'<dimension ref="A1:XFD1048576"/>')
    grids = read_file(_rezip(data, {"xl/worksheets/sheet1.xml": xml}), "xlsx")
    assert len(grids[0].rows) == 2 and len(grids[0].rows[0][1]) <= 40  # nothing padded out


def test_a_table_of_vertical_merges_is_linear() -> None:
    rows = [["01/01/2019", "", "GP", f"e{n}", ""] for n in range(3000)]
    data = docx([[HEADINGS, *rows]])
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = package.read("word/document.xml")
    # Every date cell after the first continues a vertical merge (python-docx's own cell lookup
    # recurses up such a column: 3,000 deep).
    first = xml.index(b"01/01/2019")
    head, tail = xml[:first + 10], xml[first + 10:]
    tail = tail.replace(b"<w:tr><w:tc><w:tcPr>", b"<w:tr><w:tc><w:tcPr><w:vMerge/>")
    tail = tail.replace(b"<w:t>01/01/2019</w:t>", b"")
    assert tail.count(b"<w:vMerge/>") == 2999
    merged = _rezip(data, {"word/document.xml": head + tail})
    checked = check_grids(read_file(merged, "docx"), file_label="f", today=TODAY)
    assert not checked.problems and len(checked.rows) == 3000
    assert {r.date.label for r in checked.rows} == {"01/01/2019"}


def test_formulas_are_values_only_and_never_run() -> None:
    data = xlsx({"S": [HEADINGS, ["=TODAY()", "", "GP", "=HYPERLINK(\"http://x.example\",\"click\")", ""]]})
    checked = check_grids(read_file(data, "xlsx"), file_label="f", today=TODAY)
    # A formula has no value until Excel computes it; the reader never does.
    assert [(p.column, p.problem.split(":")[0]) for p in checked.problems] == [
        ("Date", "is empty"), ("Event", "is empty")]


def test_the_budget_stops_a_slow_file() -> None:
    with pytest.raises(Unreadable, match="took longer than"):
        read_file(docx([[HEADINGS, *[["01/01/2019", "", "GP", "e", ""]] * 100]]), "docx", Budget(0.0))
