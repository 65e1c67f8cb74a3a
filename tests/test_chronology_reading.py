"""Reading and checking returns: dates as people type them, headings matched tolerantly, the
template's mandatory columns, events in order either way, every sheet and table."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.chronology_columns import match_heading, read_header
from bot.chronology_dates import parse_date, parse_time
from bot.chronology_read import read_file
from bot.chronology_validate import Checked, check_grids
from tests.support.chronology_files import HEADINGS, docx, xlsx

TODAY = date(2026, 11, 16)


@pytest.mark.parametrize(("typed", "first", "last", "approximate", "label"), [
    ("03/03/2019", date(2019, 3, 3), date(2019, 3, 3), False, "03/03/2019"),
    ("3.3.19", date(2019, 3, 3), date(2019, 3, 3), False, "03/03/2019"),
    ("3 March 2019", date(2019, 3, 3), date(2019, 3, 3), False, "03/03/2019"),
    ("Tue 3rd of March 2019", date(2019, 3, 3), date(2019, 3, 3), False, "03/03/2019"),
    ("March 3, 2019", date(2019, 3, 3), date(2019, 3, 3), False, "03/03/2019"),
    ("2019-03-03", date(2019, 3, 3), date(2019, 3, 3), False, "03/03/2019"),
    ("3-Mar-19", date(2019, 3, 3), date(2019, 3, 3), False, "03/03/2019"),
    ("1/2/30", date(1930, 2, 1), date(1930, 2, 1), False, "01/02/1930"),  # "30" is not yet to come
    ("?03/03/2019", date(2019, 3, 3), date(2019, 3, 3), True, "c. 03/03/2019"),
    ("?05/2019", date(2019, 5, 1), date(2019, 5, 31), True, "May 2019"),
    ("05/2019", date(2019, 5, 1), date(2019, 5, 31), True, "May 2019"),
    ("May 2019", date(2019, 5, 1), date(2019, 5, 31), True, "May 2019"),
    ("Spring 2019", date(2019, 3, 1), date(2019, 5, 31), True, "Spring 2019"),
    ("winter 2019", date(2019, 12, 1), date(2020, 2, 29), True, "Winter 2019"),
    ("early 2019", date(2019, 1, 1), date(2019, 4, 30), True, "Early 2019"),
    ("c. 2018", date(2018, 1, 1), date(2018, 12, 31), True, "2018"),
    ("circa 2018", date(2018, 1, 1), date(2018, 12, 31), True, "2018"),
])
def test_dates_people_type(typed: str, first: date, last: date, approximate: bool, label: str) -> None:
    read = parse_date(typed, today=TODAY)
    assert read is not None
    assert (read.date_from, read.date_to, read.approximate, read.label) == (first, last, approximate, label)


def test_spreadsheet_dates_and_refusals() -> None:
    assert parse_date(datetime(2019, 3, 3, 14, 0), today=TODAY).label == "03/03/2019"  # type: ignore[union-attr]
    assert parse_date(43527, today=TODAY).label == "03/03/2019"  # type: ignore[union-attr]  # a serial
    assert parse_date(2018, today=TODAY).approximate  # type: ignore[union-attr]  # a year typed as a number
    for refused in ("04/15/2019", "05/19", "31/02/2019", "yesterday", "03/03/2019 GP", "", "1/1/1850",
                    "x" * 500, True, None, 3.5):
        assert parse_date(refused, today=TODAY) is None, refused


def test_times() -> None:
    assert [parse_time(v) for v in ("14:30", "1430", "2.30pm", "9am", time(8, 5), None, "n/a")] == [
        "14:30", "14:30", "14:30", "09:00", "08:05", "", ""]
    assert [parse_time(v) for v in ("14", "25:00", "13pm", "noonish")] == [None] * 4


@pytest.mark.parametrize(("heading", "key"), [
    ("Date", "date"), ("DATE (dd/mm/yyyy)", "date"), ("Start date", "date"), ("Date of event:", "date"),
    ("Source of Information", "source"), ("Source", "source"), ("Information source", "source"),
    ("source-of-information", "source"), ("Event", "event"), ("Event / contact details", "event"),
    ("Outcome / action taken", "outcome"), ("Action taken", "outcome"), ("Outcome & action taken", "outcome"),
    ("Outcome/action taken by agency", "outcome"), ("Time", "time"), ("Analysis / comment", None),
])
def test_headings_are_matched_tolerantly(heading: str, key: str | None) -> None:
    assert match_heading(heading) == key


def test_a_heading_row_needs_a_date_and_another_column() -> None:
    assert read_header(["Date", "Source"], 1) is not None
    assert read_header(["Agency", "School"], 1) is None
    assert read_header(["Date", "Notes"], 1) is None


def _check(data: bytes, kind: str) -> Checked:
    return check_grids(read_file(data, kind), file_label="f", today=TODAY)


def test_missing_mandatory_columns_are_named() -> None:
    checked = _check(xlsx({"Sheet": [["Date", "Event"], ["03/03/2019", "x"]]}), "xlsx")
    problems = [(p.where, p.column) for p in checked.problems]
    assert problems == [("f, sheet 1", "Source of information")]
    assert "missing" in checked.problems[0].problem


def test_every_sheet_is_read_and_a_title_row_is_skipped() -> None:
    data = xlsx({
        "2018": [["Agency chronology"], HEADINGS, ["01/01/2018", "", "GP", "a", ""]],
        "2019": [HEADINGS, ["01/01/2019", "", "GP", "b", ""], ["02/01/2019", "", "GP", "c", ""]],
        "Guidance": [["Please fill in every row"]],
    })
    checked = _check(data, "xlsx")
    assert not checked.problems and checked.tables == 2
    assert [(r.place, r.event) for r in checked.rows] == [
        ("f, sheet 1 row 3", "a"), ("f, sheet 2 row 2", "b"), ("f, sheet 2 row 3", "c")]


def test_newest_first_is_in_order_and_one_misplaced_row_is_named() -> None:
    rows = [["10/05/2019"], ["01/05/2019"], ["20/05/2019"], ["?04/2019"], ["03/03/2019"], ["2017"]]
    data = docx([[HEADINGS, *[[d[0], "", "GP", "e", ""] for d in rows]]])
    checked = _check(data, "docx")
    # Newest first: 20/05 goes forward in time among entries going back; April and 2017 fit.
    assert [(p.where, p.column) for p in checked.problems] == [("f, table 1 row 4", "Date")]
    assert "newest first" in checked.problems[0].problem


def test_an_approximate_date_out_of_its_place_is_named() -> None:
    rows = ["01/01/2019", "Summer 2019", "02/02/2019", "2018", "03/03/2019"]
    checked = _check(docx([[HEADINGS, *[[d, "", "GP", "e", ""] for d in rows]]]), "docx")
    assert [p.where for p in checked.problems] == ["f, table 1 row 3", "f, table 1 row 5"]


def test_times_order_entries_of_one_day() -> None:
    rows = [["01/01/2019", "10:00"], ["01/01/2019", ""], ["01/01/2019", "09:00"], ["02/01/2019", "08:00"]]
    checked = _check(docx([[HEADINGS, *[[d, t, "GP", "e", ""] for d, t in rows]]]), "docx")
    assert [p.where for p in checked.problems] == ["f, table 1 row 4"]


def test_a_protocol_can_make_more_columns_mandatory() -> None:
    data = docx([[HEADINGS, ["01/01/2019", "", "GP", "seen", ""]]])
    checked = check_grids(read_file(data, "docx"), file_label="f", today=TODAY,
                          mandatory=["date", "source", "event", "outcome"])
    assert [(p.where, p.column) for p in checked.problems] == [("f, table 1 row 2", "Outcome / action taken")]


def test_word_merged_cells_take_the_date_above() -> None:
    import io

    import docx as python_docx

    document = python_docx.Document(io.BytesIO(docx([[HEADINGS, ["01/01/2019", "", "GP", "a", ""],
                                                      ["", "", "GP", "b", ""]]])))
    table = document.tables[0]
    table.cell(1, 0).merge(table.cell(2, 0))  # one date written once for two events
    out = io.BytesIO()
    document.save(out)
    checked = _check(out.getvalue(), "docx")
    assert not checked.problems
    assert [(r.date.label, r.event) for r in checked.rows] == [("01/01/2019", "a"), ("01/01/2019", "b")]
