"""``review-bot``: the command line. Each command calls the same services Slack uses.

Exit codes: 0 done; 2 bad input or a refused action (the message says what to do instead).
The shared parts (context, refusals, dates, output) are in bot.cli_common; the ``case``,
``triage`` and media commands in their own modules, registered at the end.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from bot.at_rest import fingerprint
from bot.cli_common import (
    Ctx,
    _day_cb,
    _local,
    _when_cb,
    emit,
    fail,
    handled,
    load_settings,
    pass_ctx,
    received_line,
    tick_line,
)
from bot.clock import FixedClock
from bot.logs import mask_url
from bot.protocol import ProtocolError


class _Main(click.Group):
    """Usage mistakes (a bad date, a missing option) read like every other refusal: one
    ``error:`` line and exit 2, with where to look, instead of click's usage block."""

    def main(
        self, args: Sequence[str] | None = None, prog_name: str | None = None,
        complete_var: str | None = None, standalone_mode: bool = True, **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "review-bot"
            fail(f"{exc.format_message()} (see '{where} --help')")
        except click.ClickException as exc:
            fail(exc.format_message())
        except click.Abort:
            click.echo("stopped", err=True)
            sys.exit(1)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--now", callback=_when_cb, metavar="WHEN",
              help="Pretend it is this moment (rehearsals and tests): 2026-11-23T10:00, "
                   "\"23/11/2026 10:00\" (day first), \"tomorrow 10:30\"; London time if no offset.")
@click.option("--actor", metavar="WHO", help="Who is acting, for the audit trail.")
@click.pass_context
def main(ctx: click.Context, now: datetime | None, actor: str | None) -> None:
    """Runs a safeguarding partnership's serious incident case work from Slack and email."""
    ctx.obj = Ctx(now, actor)


@main.command()
@pass_ctx
def run(ctx: Ctx) -> None:
    """Run the bot: poll the mailbox, chase deadlines and send mail every TICK_SECONDS."""
    ctx.verbose = True
    with handled():
        app = ctx.app
    mode = app.slack_mode()
    if mode == "off":
        click.echo("Slack is off (set SLACK_BOT_TOKEN with SLACK_APP_TOKEN or "
                   "SLACK_SIGNING_SECRET); mail and clock loops are running.")
    click.echo(run_banner(app.settings, app.gateway.name))
    app.run()


def run_banner(settings: Any, mailbox: str) -> str:
    """What a newcomer does next, printed once when the bot starts (``make run``)."""
    lines = [
        f"review-bot is running: a tick every {settings.tick_seconds}s reads the mailbox, chases "
        "deadlines and sends mail.",
        f"  data:     database {mask_url(settings.database_url)}; mailbox {mailbox}",
    ]
    if settings.mail_backend == "maildir":
        inbox = Path(settings.maildir) / "inbox" / "new"
        lines += [
            f"  try it:   cp tests/support/eml/referral.eml {inbox}/   (a referral by email)",
            "            then, in another terminal: . .venv/bin/activate && review-bot cases",
            f"  sent mail is written to {Path(settings.maildir) / 'sent'}; "
            "README.md, 'Try the whole loop by hand', goes further.",
        ]
    lines.append("  stop:     Ctrl-C (nothing is lost: the next start carries on)")
    return "\n".join(lines)


@main.command()
@pass_ctx
def check(ctx: Ctx) -> None:
    """Check the settings, the protocol, the database and the mailbox; one line per problem."""
    from bot.protocol import load_protocol

    problems: list[str] = []
    settings = load_settings()
    try:
        protocol = load_protocol(settings.protocol_file)
        click.echo(f"protocol: ok ({protocol.partnership.name}, preset {protocol.preset}, "
                   f"{len(protocol.agencies)} agenc{'y' if len(protocol.agencies) == 1 else 'ies'})")
        click.echo(f"sender verification: {describe_verification(protocol.partnership)}")
    except ProtocolError as exc:
        fail(str(exc))
    try:
        app = ctx.app
        with app.core.db.session() as s:
            s.connection()
        click.echo(f"database: ok ({mask_url(settings.database_url)})")
        keyring = app.core.db.keyring  # a missing or wrong key already stopped create_app, by name
        click.echo(f"data key: ok ({keyring.setting}, key id {fingerprint(keyring.kek)})")
    except Exception as exc:
        fail(f"database: {exc.__class__.__name__}: {exc}")
    click.echo(f"slack: {app.slack_mode()}")
    from handlers.teams.app import check_teams, teams_mode  # the CLI sits above the doors

    click.echo(f"teams: {teams_mode(settings)}")
    problems += [f"teams: {p}" for p in check_teams(settings)]
    checker: Callable[[], list[str]] | None = getattr(app.gateway, "check", None)
    mailbox = [f"mailbox: {p}" for p in checker()] if checker is not None else []
    problems += mailbox
    if not mailbox:
        click.echo(f"mailbox: ok ({app.gateway.name})")
    for p in problems:
        click.echo(p, err=True)
    sys.exit(2 if problems else 0)


@main.command("protocol")
@click.option("--json", "as_json", is_flag=True, help="The effective protocol as JSON.")
@pass_ctx
def protocol_cmd(ctx: Ctx, as_json: bool) -> None:
    """Show the effective protocol (preset plus the partnership's file)."""
    from bot.protocol import load_protocol

    with handled():
        protocol = load_protocol(load_settings().protocol_file)
    data = protocol.to_json()
    if as_json:
        emit(data)
        return
    click.echo(f"{protocol.partnership.name} (preset {protocol.preset})")
    click.echo(f"working hours {protocol.working_hours.start:%H:%M}-{protocol.working_hours.end:%H:%M}, "
               f"holidays {protocol.partnership.holiday_region}")
    click.echo("durations:")
    for k, v in data["durations"].items():
        click.echo(f"  {k:26} {v}")
    click.echo("chase policy:")
    for kind, policy in data["chase"].items():
        click.echo(f"  {kind}: " + ", ".join(f"{k}={v}" for k, v in policy.items()))
    click.echo("agencies:")
    for a in protocol.agencies:
        flag = " (statutory partner)" if a.statutory_partner else ""
        click.echo(f"  {a.slug:14} {a.name}{flag}")
    m = data["media"]
    click.echo(f"media: enquiries to {m['press_address'] or '(no press address)'}; acknowledge within "
               f"{m['acknowledge_within']} (repeats {m['acknowledge_repeats']}); reminders "
               f"{', '.join(m['deadline_reminders'])} before the deadline; Chair fallback "
               f"{m['chair_fallback']}")
    for name, row in m["routes"].items():
        click.echo(f"  {name:18} lead {'+'.join(row['lead'])}; speaks {row['speaks']}; "
                   f"signs off {'+'.join(row['sign_off'])}; {row['output']}  ({row['source']})")


@main.command()
@click.option("--now", "tick_now", callback=_when_cb, metavar="WHEN", help="Tick as if at this moment.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def tick(ctx: Ctx, tick_now: datetime | None, as_json: bool) -> None:
    """Run one tick now: read the mailbox, take due deadline steps, deliver the outbox."""
    if tick_now is not None:
        ctx.clock = FixedClock(tick_now)
    with handled():
        report = ctx.app.tick()
    summary = report.summary()
    summary["messages"] = [r.as_json() for r in report.received]
    if as_json:
        emit(summary)
    else:
        for r in report.received:
            click.echo(received_line(r.as_json()))
        click.echo(tick_line(summary, ctx.clock.now()))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False,
                                                                    path_type=Path))
@pass_ctx
def ingest(ctx: Ctx, files: tuple[Path, ...]) -> None:
    """Feed .eml files through the intake; prints one JSON line per message."""
    from handlers.mail.intake import IntakeDeferred
    from handlers.mail.intake import ingest as ingest_message

    for path in files:
        try:
            result = ingest_message(ctx.core, path.read_bytes(), mailbox=f"file:{path.parent}")
        except IntakeDeferred as exc:  # nothing recorded: the same file can simply be fed again
            fail(f"{path.name} not ingested: {exc}; try again")
        click.echo(json.dumps(result.as_json()))


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "include_closed", is_flag=True, help="Include closed cases.")
@pass_ctx
def cases(ctx: Ctx, as_json: bool, include_closed: bool) -> None:
    """List open cases with their next deadline and outstanding returns."""
    from bot.views import case_list

    with ctx.core.db.session() as s:
        rows = case_list(s, ctx.core, include_closed=include_closed)
    if as_json:
        emit(rows)
        return
    if not rows:
        click.echo("no open cases")
    for r in rows:
        nd = r["next_deadline"]
        nxt = f"{nd['label']} due {_local(nd['due_at'])} [{nd['state']}]" if nd else "no open deadline"
        waiting = ", ".join(r["returns_outstanding"]) or "-"
        click.echo(f"{r['ref']}  {r['stage_label']:45}  next: {nxt}; waiting on: {waiting}")


#: What a business manager needs before a case is worth opening by hand (process.md 7.1, the
#: "Referrer" and "Incident" sections of the referral form, KIR App 2): who refers, when it
#: happened and whether a child died or was seriously harmed (the SIN criteria, Working Together
#: 2023 ch. 5). The rest may follow; the case lists it under "to complete".
OPEN_MINIMUM = {"referring_agency": "--referring-agency SLUG", "incident_date": "--incident-date DATE",
                "outcome": "--outcome death|serious-harm"}


def refuse_thin_referral(**given: object) -> None:
    missing = [option for name, option in OPEN_MINIMUM.items() if given.get(name) in (None, "")]
    if missing:
        fail(f"a case needs at least the referring agency, the date of the incident and the outcome; "
             f"add {' '.join(missing)} (nothing was opened)")


@main.command("open")
@click.option("--referring-agency", metavar="SLUG")
@click.option("--incident-date", callback=_day_cb, metavar="DATE")
@click.option("--la-aware", callback=_day_cb, metavar="DATE",
              help="When the local authority became aware (starts the 5 working day clock).")
@click.option("--outcome", type=click.Choice(["death", "serious-harm"]))
@click.option("--abuse-neglect", type=click.Choice(["yes", "no", "unclear"]))
@click.option("--legal-status", metavar="STATUS")
@click.option("--age-band", metavar="BAND")
@click.option("--agency", "agencies", multiple=True, metavar="SLUG", help="Agency involved (repeat).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--idempotency-key", metavar="KEY", help="Repeating the command with this key prints "
              "the first result and opens nothing.")
@pass_ctx
def open_cmd(ctx: Ctx, referring_agency: str | None, incident_date: date | None,
             la_aware: date | None, outcome: str | None, abuse_neglect: str | None,
             legal_status: str | None, age_band: str | None, agencies: tuple[str, ...],
             as_json: bool, idempotency_key: str | None) -> None:
    """Open a case from a referral received by other means (phone, secure form).

    Needs at least --referring-agency, --incident-date and --outcome."""
    from bot.usecases.cases import refer

    refuse_thin_referral(referring_agency=referring_agency, incident_date=incident_date,
                         outcome=outcome)
    values = {
        "referring_agency": referring_agency, "incident_date": incident_date, "la_aware_date": la_aware,
        "outcome": outcome, "abuse_neglect": abuse_neglect, "legal_status": legal_status,
        "age_band": age_band, "agencies_involved": list(agencies),
    }
    with handled():
        opened = refer(ctx.core, ctx.who(), values, complete=False,
                       key=idempotency_key and f"cli-open:{idempotency_key}")
    ref, missing = opened.ref, opened.data.get("missing", [])
    if as_json:
        emit({"ref": ref, "missing": missing})
    else:
        click.echo(f"opened {ref}" + (f"; to complete: {', '.join(missing)}" if missing else ""))


def describe_verification(partnership: Any) -> str:
    """One line for ``review-bot check``: what sender verification trusts."""
    boundary = partnership.boundary()
    headers = f"X-MS-Exchange-Organization-* headers {'trusted' if boundary == 'exchange' else 'ignored'}"
    authserv = partnership.authserv_id.strip()
    if not authserv:
        return f"off (partnership.authserv_id is empty: every sender counts); boundary {boundary}"
    return (f"Authentication-Results from {authserv!r}; boundary {boundary} ({headers}); "
            f"the top {partnership.authres_headers} such header(s) counted")



# The case, triage and media commands live in their own modules.
from bot.cli_case import case  # noqa: E402
from bot.cli_chronology import case_chronology  # noqa: E402, F401  (registers `case REF chronology`)
from bot.cli_media import chair_away, media  # noqa: E402
from bot.cli_triage import triage  # noqa: E402

main.add_command(case)
main.add_command(triage)
main.add_command(media)
main.add_command(chair_away)
import bot.cli_actions  # noqa: E402  (registers `case REF actions ...`; decision 0027)
import bot.cli_db  # noqa: E402  (registers `review-bot db`; decision 0014)
import bot.cli_keys  # noqa: E402  (registers `review-bot keys`; decision 0029)
import bot.cli_review  # noqa: E402, F401  (registers the local review's `case REF ...` commands)
from bot.cli_complaints import complaint  # noqa: E402  (decision 0028)
from bot.cli_report import report  # noqa: E402  (also registers `case REF themes` and `outcome`)
from bot.cli_retention import access_log_cmd, retention_cmd  # noqa: E402  (and `case REF hold`)
from bot.cli_sar import sar  # noqa: E402  (also registers the SAR's `case REF ...` steps)

main.add_command(retention_cmd)
main.add_command(access_log_cmd)
main.add_command(report)
main.add_command(sar)
main.add_command(complaint)

if __name__ == "__main__":  # pragma: no cover
    main()
