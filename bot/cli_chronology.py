"""``review-bot case REF chronology``: the composite chronology, and each agency's return.

The output is identifying (what happened, to whom): it goes to the terminal or to files the
business unit shares by secure email only, never to chat.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli_case import case
from bot.cli_common import Ctx, emit, handled

if TYPE_CHECKING:
    from bot.chronology_composite import Composite

_FILE = click.Path(dir_okay=False, path_type=Path)


@case.command("chronology")
@click.option("--json", "as_json", is_flag=True, help="Events and each return's problems as JSON.")
@click.option("--xlsx", type=_FILE, help="Write the composite as a workbook.")
@click.option("--docx", type=_FILE, help="Write it as a Word document.")
@click.option("--html", type=_FILE, help="Write it as one HTML page.")
@click.pass_context
def case_chronology(click_ctx: click.Context, as_json: bool, xlsx: Path | None, docx: Path | None,
                    html: Path | None) -> None:
    """The composite chronology merged from the agencies' valid returns, in date order."""
    from bot import access_log, audit
    from bot.cases import get_case
    from bot.chronology_composite import as_json as composite_json
    from bot.chronology_composite import build, to_docx, to_html, to_xlsx

    ctx: Ctx = click_ctx.obj
    ref = click_ctx.parent.meta["ref"] if click_ctx.parent else ""
    with handled(), ctx.core.transaction() as s:
        the_case = get_case(s, ref)
        composite = build(s, ctx.core, the_case)
        written = []
        for path, render in ((xlsx, to_xlsx), (docx, to_docx), (html, to_html)):
            if path is not None:
                data = render(composite)
                path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
                written.append(path.suffix.lstrip(".") or "file")
        # Who exported what (process.md 8.4 item 8): the formats and the count, not the content.
        if written:
            audit.record(s, at=ctx.core.clock.now(), actor=ctx.actor, kind="chronology_exported",
                         case_id=the_case.id, formats=written, events=len(composite.entries))
        # The access log (issue 13 item 4) in the same transaction: an export, or a view on screen.
        access_log.record(s, at=ctx.core.clock.now(), actor=ctx.actor, surface="cli", case_id=the_case.id,
                          what=access_log.CHRONOLOGY_EXPORT if written else access_log.VIEW,
                          detail=",".join(written) if written else "chronology")
    if as_json:
        emit(composite_json(composite))
        return
    _print(composite)


def _print(composite: Composite) -> None:
    state = "complete" if composite.complete else "not complete"
    click.echo(f"{composite.ref}  composite chronology ({state}): {len(composite.entries)} events")
    for p in composite.problems:
        click.echo(f"  {p['agency']:14} {p['status']:10} {p['events']} events"
                   + (f", {len(p['problems'])} problems" if p["problems"] else ""))
        for problem in p["problems"]:
            column = f", {problem['column']}" if problem["column"] else ""
            click.echo(f"      {problem['where']}{column}: {problem['problem']}")
