"""``review-bot complaint ...``: complaints about the partnership's handling (STK l.418-427;
decision 0028). ``complaint REF draft-response`` and ``complaint draft-response REF`` both work.

The complainant's name and contact are printed only by ``complaint show`` and in the draft, on the
operator's own terminal or in the file they name; never in a log line.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from bot.cli_common import Ctx, _day_cb, _local, emit, handled, pass_ctx
from bot.complaints import ABOUT


class _ComplaintGroup(click.Group):
    """``complaint REF draft-response`` reads naturally: a reference first moves after the command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if len(args) >= 2 and args[0] not in self.commands and args[1] in self.commands:
            args = [args[1], args[0], *args[2:]]
        return super().parse_args(ctx, args)


@click.group(cls=_ComplaintGroup)
def complaint() -> None:
    """Complaints: a written response within 28 days, escalation to the Independent Chair."""


_ON = {"callback": _day_cb, "metavar": "DATE", "help": "The day it happened (default today)."}


@complaint.command("open")
@click.option("--received", callback=_day_cb, metavar="DATE", help="When it was received (default today).")
@click.option("--name", "complainant_name", required=True, help="The complainant (kept in the record only).")
@click.option("--contact", "complainant_contact", default="", help="Their address or email (record only).")
@click.option("--about", type=click.Choice(list(ABOUT)), default="general", show_default=True)
@click.option("--case", "about_ref", metavar="REF", help="The case the complaint is about.")
@pass_ctx
def complaint_open(ctx: Ctx, received: date | None, complainant_name: str, complainant_contact: str,
                   about: str, about_ref: str | None) -> None:
    """Record a complaint received by the business unit (STK l.420)."""
    from bot.usecases.sar_complaints import open_complaint

    with handled():
        result = open_complaint(ctx.core, ctx.who(), received_on=received, complainant_name=complainant_name,
                                complainant_contact=complainant_contact, about=about, about_ref=about_ref)
    click.echo(result.message)


@complaint.command("respond")
@click.argument("ref")
@click.option("--on", **_ON)  # type: ignore[arg-type]
@pass_ctx
def complaint_respond(ctx: Ctx, ref: str, on: date | None) -> None:
    """The written response went (or, once escalated, the Independent Chair's)."""
    from bot.usecases.sar_complaints import respond

    with handled():
        click.echo(respond(ctx.core, ctx.who(), ref, on=on).message)


@complaint.command("escalate")
@click.argument("ref")
@click.option("--on", **_ON)  # type: ignore[arg-type]
@pass_ctx
def complaint_escalate(ctx: Ctx, ref: str, on: date | None) -> None:
    """The complainant, not satisfied, contacted the Board Business Manager (STK l.423)."""
    from bot.usecases.sar_complaints import escalate

    with handled():
        click.echo(escalate(ctx.core, ctx.who(), ref, on=on).message)


@complaint.command("close")
@click.argument("ref")
@click.option("--reason", required=True)
@click.option("--ombudsman", is_flag=True, help="The complainant went on to the Ombudsman.")
@pass_ctx
def complaint_close(ctx: Ctx, ref: str, reason: str, ombudsman: bool) -> None:
    """Close the complaint; its clocks stop."""
    from bot.usecases.sar_complaints import close

    with handled():
        click.echo(close(ctx.core, ctx.who(), ref, reason=reason, ombudsman=ombudsman).message)


@complaint.command("list")
@click.option("--all", "include_closed", is_flag=True, help="Closed complaints too.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def complaint_list(ctx: Ctx, include_closed: bool, as_json: bool) -> None:
    """The complaints log: references, dates and stages (no complainants)."""
    from bot.usecases.sar_complaints import listing

    with handled():
        result = listing(ctx.core, ctx.who(), include_closed=include_closed)
    rows: list[dict[str, Any]] = (result.view or {}).get("rows", [])
    if as_json:
        emit(rows)
        return
    for row in rows:
        due = _local(row["due_at"]) if row["due_at"] else "-"
        click.echo(f"{row['ref']:14} {row['stage']:26} received {row['received_on']}  due {due}"
                   + (f"  about {row['about_ref']}" if row["about_ref"] else ""))
    click.echo(result.message)


@complaint.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def complaint_show(ctx: Ctx, ref: str, as_json: bool) -> None:
    """One complaint with its complainant (the business unit's record; viewing is audited)."""
    from bot.usecases.sar_complaints import show

    with handled():
        result = show(ctx.core, ctx.who(), ref)
    if as_json:
        emit(result.view)
        return
    click.echo(result.message)
    for key, value in (result.view or {}).items():
        if value not in (None, "", False):
            click.echo(f"  {key.replace('_', ' ')}: {value}")


@complaint.command("draft-response")
@click.argument("ref")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write it to FILE.")
@pass_ctx
def complaint_draft(ctx: Ctx, ref: str, out: Path | None) -> None:
    """Draft the written response due now, with the Ombudsman's details (STK l.425)."""
    from bot.usecases.sar_complaints import draft_response

    with handled():
        result = draft_response(ctx.core, ctx.who(), ref)
    if out is None:
        click.echo(result.data["text"], nl=False)
        return
    out.write_text(result.data["text"], encoding="utf-8")
    click.echo(f"{result.message}: written to {out}")
