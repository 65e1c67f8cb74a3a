"""The partnership's report (issue 14) over a generated history of three financial years: every
figure checked against the plan (tests/report_history.py), in the JSON, the HTML (parsed) and
the workbook (read back); no identifier anywhere; the shared report's suppression."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.clock import FixedClock
from bot.core import Core
from bot.report_build import partnership_report
from bot.report_html import render_html
from bot.report_xlsx import render_xlsx
from tests.report_history import CANARY, REPORT_NOW, YEARS, build, chases_in, expected, media_history

FY = list(YEARS.values())


class Tables(HTMLParser):
    """Every table of the page by id: its rows as lists of cell texts; and all the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self.svgs = 0
        self.scripts = 0
        self.svg_titles = 0
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._in_svg_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "svg":
            self.svgs += 1
            assert a.get("role") == "img" and a.get("aria-labelledby")
        elif tag == "title" and self.svgs:
            self.svg_titles += 1
        elif tag in ("script", "link", "img", "iframe", "object"):
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def row(table: list[list[str]], first: str) -> list[str]:
    return next(r for r in table if r and r[0] == first)


@pytest.fixture
def history(core: Core, clock: FixedClock) -> Core:
    built = build(core, clock)
    media_history(core, clock, built.refs[5])  # 2024-25's first embargoed review
    assert clock.now() == REPORT_NOW
    return core


def test_the_report_shows_every_figure_of_the_history(history: Core) -> None:
    want = expected()
    made = partnership_report(history)
    assert made.years == ("2023-24", "2024-25", "2025-26")
    page = render_html(made)
    parsed = Tables()
    parsed.feed(page)
    t = parsed.tables
    # Sandwell's Table 1: rapid reviews and local reviews per year.
    for year, (rrs, lcsprs) in want["rapid_reviews"].items():  # type: ignore[attr-defined]
        assert row(t["t-rapid_reviews"], year)[1:3] == [str(rrs), str(lcsprs)]
    assert row(t["t-rapid_reviews"], "All years")[1:3] == ["15", "10"]
    for clock, key in (("sin", "t-clock_sin_notification"), ("rr", "t-clock_rapid_review")):
        for i, year in enumerate(FY):
            on_time, late = want[clock][year]  # type: ignore[index]
            assert row(t[key], "Met on time")[1 + i] == str(on_time)
            assert row(t[key], "Met late")[1 + i] == str(late)
            share = f"{on_time}/{on_time + late} ({100 * on_time / (on_time + late):.0f}%)"
            assert row(t[key], "On time (of those met or overdue)")[1 + i] == share
    for i, year in enumerate(FY):
        on_time, late, overdue = want["publication"][year]  # type: ignore[index]
        table = t["t-clock_lcspr_publication"]
        assert [row(table, m)[1 + i] for m in ("Met on time", "Met late", "Not met and overdue")] == [
            str(on_time), str(late), str(overdue)]
        sent, late_notice = want["notice"][year]  # type: ignore[index]
        table = t["t-clock_prepublication_notice"]
        assert [row(table, m)[1 + i] for m in ("Met on time", "Met late")] == [str(sent), str(late_notice)]
        agrees, replies = want["concurrence"][year]  # type: ignore[index]
        assert row(t["t-concurrence"], year)[3] == str(agrees)
        assert row(t["t-concurrence"], year)[2] == str(replies)
    statuses = t["t-review_statuses"]
    for key, label in (("published_full", "Published in full"), ("embargoed", "Embargoed awaiting parallel "
                       "proceedings"), ("published_learning_only", "Published as learning only"),
                       ("not_published", "Not published"), ("pre_publication", "Publication date set"),
                       ("commissioned", "Commissioned (terms of reference, chronologies)")):
        assert row(statuses, label)[-1] == str(want["statuses"][key])  # type: ignore[index]
    assert row(statuses, "All local reviews decided")[-1] == str(want["lcspr_total"]) == "10"
    assert sum(want["statuses"].values()) == 10  # type: ignore[attr-defined]
    # The reconciliation is stated with its figures, and they add up.
    said = next(s for s in made.statements if "reconcile" in s)
    assert "4 published in full" in said and "= 10 local reviews" in said and said in " ".join(parsed.text)
    for theme, n in want["themes"].items():  # type: ignore[attr-defined]
        label = history.protocol.report.themes[theme]
        assert row(t["t-themes"], label)[-1] == f"{n}/10 ({100 * n / 10:.0f}%)"
    breaches = t["t-publication_breaches"]
    assert row(breaches, "Coroner's inquest")[-1] == str(want["breaches"]["coroner"])  # type: ignore[index]
    assert row(breaches, "Other, or no delay recorded")[-1] == str(want["breaches"]["other"])  # type: ignore[index]
    agencies = t["t-agencies"]
    for slug, (on_time, due) in want["igt"].items():  # type: ignore[attr-defined]
        name = history.protocol.agency(slug).name
        assert row(agencies, name)[1:3] == [str(due), f"{on_time}/{due} ({100 * on_time / due:.0f}%)"]
    assert row(agencies, "All agencies")[5] == str(chases_in(history)) != "0"
    media = t["t-media"]
    assert row(media, "2024-25")[1] == "2" and row(media, "2024-25")[4] == "1/2 (50%)"
    assert row(media, "2024-25")[-1] == "1" and row(media, "2025-26")[-1] == "0"  # a press release too soon
    assert row(media, "2025-26")[1] == "1" and row(media, "2025-26")[4] == "1/1 (100%)"
    # One self-contained, accessible page: charts are labelled SVG, nothing to fetch or run.
    assert parsed.scripts == 0 and "http://" not in page.replace("http://www.w3.org", "")
    assert parsed.svgs >= 5 and parsed.svg_titles >= parsed.svgs
    assert "@media print" in page and "size: A4" in page
    assert "No action data" in page


def test_no_identifier_reaches_any_output(history: Core) -> None:
    with history.db.session() as s:
        from sqlmodel import select

        from bot.models import Case
        refs = [c.ref for c in s.exec(select(Case))]
    for shared in (False, True):
        made = partnership_report(history, shared=shared)
        book = load_workbook(io.BytesIO(render_xlsx(made)))
        cells = " ".join(str(c.value) for sheet in book for line in sheet.iter_rows() for c in line)
        for output in (render_html(made), json.dumps(made.to_json()), cells):
            assert CANARY not in output and "Evening Post" not in output
            assert "partnership.example" not in output
            assert not any(ref in output for ref in refs)


def test_the_workbook_holds_every_table(history: Core) -> None:
    made = partnership_report(history)
    book = load_workbook(io.BytesIO(render_xlsx(made)))
    tables = [t for s in made.sections for t in s.tables]
    assert len(book.sheetnames) == len(tables) + 1
    sheet = book["rapid_reviews"]
    values = [[c.value for c in line] for line in sheet.iter_rows()]
    assert values[1] == ["Financial year", "Rapid reviews", "Resulting in a local review", "Share resulting"]
    assert values[2][:3] == ["2023-24", 4, 3] and values[3][:3] == ["2024-25", 8, 5]
    assert values[4][:3] == ["2025-26", 3, 2] and values[5][:3] == ["All years", 15, 10]
    assert any("reconcile" in str(c.value) for line in book["About"].iter_rows() for c in line)


def test_the_shared_report_suppresses_small_cells_and_the_totals_that_reveal_them(history: Core) -> None:
    made = partnership_report(history, shared=True)
    data = made.to_json()
    small = []
    for section in data["sections"]:
        for table in section["tables"]:
            for line in table["rows"]:
                small += [c for c in line[1:] if isinstance(c, int) and 0 < c < 5]
                small += [c for c in line[1:] if isinstance(c, dict) and "num" in c
                          and (0 < c["num"] < 5 or 0 < c["den"] - c["num"] < 5)]
    assert small == []
    by_key = {t["key"]: t for s in data["sections"] for t in s["tables"]}
    rr = {line[0]: line for line in by_key["rapid_reviews"]["rows"]}
    # 2023-24 had 4 rapid reviews, 3 local reviews: both hidden, so the total of each column too.
    assert rr["2023-24"][1:3] == [{"suppressed": "<5"}, {"suppressed": "<5"}]
    assert rr["All years"][1:3] == [{"suppressed": "<5"}, {"suppressed": "<5"}]
    assert rr["2024-25"][1:3] == [8, 5]
    assert any("suppressed" in s and "<5" in s for s in data["statements"])
    assert not any("= 10" in s for s in data["statements"])  # the figures of the reconciliation stay inside
    page = render_html(made)
    assert "&lt;5" in page and "shared outside the partnership" in page


def test_the_report_command_writes_html_xlsx_and_json(history: Core, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no stray .env
    runner = CliRunner(env={
        "DATABASE_URL": history.db.engine.url.render_as_string(hide_password=False),
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"), "STATE_DIR": str(tmp_path / "state"),
        "PROTOCOL_FILE": "", "MAIL_BACKEND": "maildir", "MAILDIR": str(tmp_path / "mail")})
    html, xlsx = tmp_path / "report.html", tmp_path / "report.xlsx"
    result = runner.invoke(main, ["--now", "2026-03-20T12:00", "report", "--from", "2024-04-01",
                                  "--html", str(html), "--xlsx", str(xlsx), "--json", "--share"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["financial_years"] == ["2024-25", "2025-26"] and data["shared"] is True
    text = runner.invoke(main, ["--now", "2026-03-20T12:00", "report"])
    assert text.exit_code == 0 and "== Local reviews by status ==" in text.output
    assert "Published in full | 2 | 2 | 0 | 4" in text.output  # 2023-24 to 2025-26, then all years
    assert html.read_text("utf-8").startswith("<!DOCTYPE html>") and xlsx.stat().st_size > 0
    bad = runner.invoke(main, ["report", "--from", "2025-04-01", "--to", "2024-04-01"])
    assert bad.exit_code == 2 and "before it starts" in bad.output


def test_an_installation_without_cases_gets_an_empty_report(core: Core) -> None:
    made = partnership_report(core)
    page = render_html(made)
    assert made.years == ("2026-27",) and "0 local reviews decided" in " ".join(made.statements)
    assert "<svg" in page and "none" in page
    assert load_workbook(io.BytesIO(render_xlsx(made))).sheetnames[0] == "About"
