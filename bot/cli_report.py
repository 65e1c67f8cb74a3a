"""``review-bot report``: the partnership's report (issue 14; decision 0031), and the themes and
outcomes tagged on a case (``review-bot case REF themes add|remove``, ``case REF outcome``).

The report reads the database once and writes what is asked: text on the terminal (default),
JSON, a self-contained HTML file, a workbook. ``--share`` makes the report for outside the
partnership: counts under 5 suppressed (process.md 8.4 item 9).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from bot.cli_case import Action, case, case_action
from bot.cli_common import Ctx, _day_cb, emit, handled, pass_ctx
from bot.report_vocabulary import OUTCOMES

_FILE = click.Path(dir_okay=False, writable=True, path_type=Path)


@click.command("report")
@click.option("--from", "start", callback=_day_cb, metavar="DATE",
              help="First day (default: 1 April of the earliest case's financial year).")
@click.option("--to", "end", callback=_day_cb, metavar="DATE", help="Last day (default: today).")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON on standard output.")
@click.option("--html", "html_file", type=_FILE, metavar="FILE", help="Write the HTML report here.")
@click.option("--xlsx", "xlsx_file", type=_FILE, metavar="FILE", help="Write every table to this workbook.")
@click.option("--share", is_flag=True, help="For outside the partnership: counts under 5 suppressed.")
@pass_ctx
def report(ctx: Ctx, start: date | None, end: date | None, as_json: bool, html_file: Path | None,
           xlsx_file: Path | None, share: bool) -> None:
    """The partnership's report by financial year: timeliness, decisions, local reviews, pipeline,
    agencies, media, themes and actions."""
    from bot.report_build import partnership_report

    with handled():
        made = partnership_report(ctx.core, start=start, end=end, shared=share)
    if html_file is not None:
        from bot.report_html import render_html

        html_file.write_text(render_html(made), encoding="utf-8")
        click.echo(f"wrote {html_file}", err=as_json)
    if xlsx_file is not None:
        from bot.report_xlsx import render_xlsx

        xlsx_file.write_bytes(render_xlsx(made))
        click.echo(f"wrote {xlsx_file}", err=as_json)
    if as_json:
        emit(made.to_json())
    elif html_file is None and xlsx_file is None:
        click.echo(f"{made.partnership}: {made.period_from} to {made.period_to} "
                   f"({', '.join(made.years)})" + (" - shared" if made.shared else ""))
        for line in made.statements:
            click.echo(f"* {line}")
        for section in made.sections:
            click.echo(f"\n== {section.title} ==")
            if not section.tables:
                click.echo(section.intro)
            for table in section.tables:
                click.echo(f"-- {table.title}")
                click.echo("   " + " | ".join(table.columns))
                for row in table.rows:
                    click.echo("   " + " | ".join(made.cell_text(c) for c in row))


@case.group("themes")
def case_themes() -> None:
    """Tag the themes of case REF (the protocol's [report.themes]; Sandwell's eight by default)."""


@case_themes.command("add")
@click.argument("themes", nargs=-1, required=True)
@case_action
def case_themes_add(themes: tuple[str, ...]) -> Action:
    """Add themes to the case."""
    return "themes_add", {"themes": list(themes)}


@case_themes.command("remove")
@click.argument("themes", nargs=-1, required=True)
@case_action
def case_themes_remove(themes: tuple[str, ...]) -> Action:
    """Remove themes from the case."""
    return "themes_remove", {"themes": list(themes)}


@case.command("outcome")
@click.option("--panel", type=click.Choice([*OUTCOMES["panel"], "none"]),
              help="The National Panel's reply to the rapid review (none: clear it).")
@click.option("--publication", type=click.Choice([*OUTCOMES["publication"], "none"]),
              help="How the local review was published (none: clear it).")
@case_action
def case_outcome(panel: str | None, publication: str | None) -> Action:
    """Record the review's outcomes the report counts."""
    if panel is None and publication is None:
        raise click.UsageError("give --panel or --publication")
    return "outcome", {"panel": panel, "publication": publication}
