"""``review-bot``: the command line. Each command calls the same services Slack uses.

Exit codes: 0 done; 2 bad input or a refused action (the message says what to do instead).
The CLI is for the business unit's operators, who already hold the database: it records the
actor (``--actor``, default ``cli:<login name>``) on every event.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError
from sqlmodel import Session

from bot.clock import Clock, FixedClock, SystemClock, as_utc
from bot.errors import ServiceError
from bot.protocol import ProtocolError, UnknownAgency


class Ctx:
    def __init__(self, now: datetime | None, actor: str | None) -> None:
        self.clock: Clock = FixedClock(now) if now else SystemClock()
        self.actor = actor or f"cli:{_login()}"
        self.verbose = False
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            from bot.app import configure_logging, create_app
            from bot.settings import Settings

            settings = Settings()
            # Commands print their own results; only `run` logs at the configured level.
            configure_logging(settings.log_level if self.verbose else "WARNING")
            self._app = create_app(settings, clock=self.clock)
        return self._app

    @property
    def core(self) -> Any:
        return self.app.core


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@contextmanager
def handled() -> Iterator[None]:
    """Turn the core's refusals into a clear message and exit code 2, never a traceback."""
    try:
        yield
    except (ServiceError, ProtocolError, UnknownAgency) as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(str(exc))


def parse_when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date-time (2026-11-23T09:30)") from None
    if parsed.tzinfo is None:
        from zoneinfo import ZoneInfo

        parsed = parsed.replace(tzinfo=ZoneInfo("Europe/London"))  # what a person means
    return as_utc(parsed)


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _when_cb(_c: click.Context, _p: click.Parameter, v: str | None) -> datetime | None:
    return parse_when(v)


def _day_cb(_c: click.Context, _p: click.Parameter, v: str | None) -> date | None:
    return parse_day(v)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--now", callback=_when_cb, metavar="ISO",
              help="Pretend it is this moment (rehearsals and tests). Local time if no offset.")
@click.option("--actor", metavar="WHO", help="Who is acting, for the audit trail.")
@click.pass_context
def main(ctx: click.Context, now: datetime | None, actor: str | None) -> None:
    """Runs a safeguarding partnership's serious incident case work from Slack and email."""
    ctx.obj = Ctx(now, actor)


pass_ctx = click.make_pass_decorator(Ctx)


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
    click.echo(f"review-bot: mailbox {app.gateway.name}, database {app.settings.database_url}, "
               f"tick every {app.settings.tick_seconds}s. Ctrl-C stops.")
    app.run()


@main.command()
@pass_ctx
def check(ctx: Ctx) -> None:
    """Check the settings, the protocol, the database and the mailbox; one line per problem."""
    from bot.protocol import load_protocol
    from bot.settings import Settings

    problems: list[str] = []
    try:
        settings = Settings()
    except ValidationError as exc:
        fail(f"settings: {exc}")
    try:
        protocol = load_protocol(settings.protocol_file)
        click.echo(f"protocol: ok ({protocol.partnership.name}, preset {protocol.preset}, "
                   f"{len(protocol.agencies)} agencies)")
    except ProtocolError as exc:
        fail(str(exc))
    try:
        app = ctx.app
        with app.core.db.session() as s:
            s.connection()
        click.echo(f"database: ok ({settings.database_url})")
    except Exception as exc:
        fail(f"database: {exc.__class__.__name__}: {exc}")
    checker: Callable[[], list[str]] | None = getattr(app.gateway, "check", None)
    if checker is not None:
        problems += [f"mailbox: {p}" for p in checker()]
    if not problems:
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
    from bot.settings import Settings

    with handled():
        protocol = load_protocol(Settings().protocol_file)
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
@click.option("--now", "tick_now", callback=_when_cb, metavar="ISO", help="Tick as if at this moment.")
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
            click.echo(json.dumps(r.as_json()))
        click.echo(" ".join(f"{k}={v}" for k, v in summary.items() if k != "messages"))


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
        nxt = f"{nd['kind']} due {_local(nd['due_at'])} [{nd['state']}]" if nd else "no open deadline"
        waiting = ", ".join(r["returns_outstanding"]) or "-"
        click.echo(f"{r['ref']}  {r['stage_label']:45} {nxt}; waiting on: {waiting}")


def _local(iso: str | None) -> str:
    if not iso:
        return "-"
    from bot.mailer import local_time

    return local_time(datetime.fromisoformat(iso))


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
@pass_ctx
def open_cmd(ctx: Ctx, referring_agency: str | None, incident_date: date | None,
             la_aware: date | None, outcome: str | None, abuse_neglect: str | None,
             legal_status: str | None, age_band: str | None, agencies: tuple[str, ...],
             as_json: bool) -> None:
    """Open a case from a referral received by other means (phone, secure form)."""
    from bot.cases import Referral, open_case

    referral = Referral(
        referring_agency=referring_agency, incident_date=incident_date, la_aware_date=la_aware,
        outcome=outcome, abuse_neglect=abuse_neglect, legal_status=legal_status,
        age_band=age_band, agencies_involved=list(agencies),
    )
    with handled(), ctx.core.transaction() as s:
        case = open_case(s, ctx.core, referral, actor=ctx.actor, source="cli")
        ref, missing = case.ref, case.missing
    if as_json:
        emit({"ref": ref, "missing": missing})
    else:
        click.echo(f"opened {ref}" + (f"; to complete: {', '.join(missing)}" if missing else ""))


# --- case REF ... --------------------------------------------------------------------------


class _CaseGroup(click.Group):
    """``case REF --json`` reads naturally; click wants group options before the argument."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if len(args) >= 2 and args[1] == "--json":
            args = ["--json", args[0], *args[2:]]
        return super().parse_args(ctx, args)


@main.group(cls=_CaseGroup, invoke_without_command=True)
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def case(click_ctx: click.Context, ref: str, as_json: bool) -> None:
    """Show case REF, or act on it (see the commands below)."""
    ctx: Ctx = click_ctx.obj
    click_ctx.meta["ref"] = ref
    if click_ctx.invoked_subcommand is not None:
        return
    from bot.cases import get_case
    from bot.views import case_view

    with handled(), ctx.core.db.session() as s:
        view = case_view(s, ctx.core, get_case(s, ref))
    if as_json:
        emit(view)
    else:
        _print_case(view)


def _print_case(v: dict[str, Any]) -> None:
    click.echo(f"{v['ref']}  {v['stage_label']}")
    for key in ("referring_agency", "incident_date", "la_aware_date", "outcome", "abuse_neglect",
                "legal_status", "age_band", "sin_submitted_at", "decision"):
        if v.get(key):
            click.echo(f"  {key.replace('_', ' ')}: {v[key]}")
    if v["missing"]:
        click.echo(f"  to complete: {', '.join(v['missing'])}")
    click.echo("deadlines:")
    for d in v["deadlines"]:
        click.echo(f"  {d['label']:60} due {_local(d['due_at'])}  [{d['state']}]")
    if v["requests"]:
        click.echo("requests:")
    for r in v["requests"]:
        extra = [f"chased {r['chases']}x"] if r["chases"] else []
        if r["escalated_at"]:
            extra.append("escalated")
        if r["bounced_at"]:
            extra.append("BOUNCED")
        if r["last_auto_reply_at"]:
            extra.append("auto-reply received")
        click.echo(f"  {r['agency']:14} {r['kind']:15} {r['status']:9} due {_local(r['due_at'])}"
                   + (f"  ({', '.join(extra)})" if extra else ""))
    click.echo("timeline:")
    for e in v["events"]:
        detail = ", ".join(f"{k}={val}" for k, val in e["detail"].items() if val not in (None, []))
        click.echo(f"  {_local(e['at'])}  {e['actor']:32} {e['kind']}  {detail}")


def case_action(fn: Callable[..., str | None]) -> Callable[..., None]:
    """Run ``fn(session, core, case, actor, **options)`` in one transaction and say what changed."""

    @click.pass_context
    def wrapper(click_ctx: click.Context, **options: Any) -> None:
        from bot.cases import get_case

        ctx: Ctx = click_ctx.obj
        ref = click_ctx.parent.meta["ref"] if click_ctx.parent else ""
        with handled(), ctx.core.transaction() as s:
            c = get_case(s, ref)
            message = fn(s, ctx.core, c, ctx.actor, **options)
            ref, stage = c.ref, c.stage
        click.echo(message or f"{ref}: now {stage}")

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@case.command("accept")
@click.option("--la-aware", callback=_day_cb, metavar="DATE",
              help="When the local authority became aware (anchors the 5 working day clock).")
@case_action
def case_accept(s: Session, core: Any, c: Any, actor: str, la_aware: date | None) -> None:
    """The criteria are met: the local authority is to notify the National Panel."""
    from bot.cases import accept

    accept(s, core, c, actor=actor, la_aware=la_aware)


@case.command("triage")
@case_action
def case_triage(s: Session, core: Any, c: Any, actor: str) -> None:
    """Start screening the referral against the criteria."""
    from bot.cases import start_triage

    start_triage(s, core, c, actor=actor)


@case.command("la-aware")
@click.argument("day", callback=_day_cb, metavar="DATE")
@case_action
def case_la_aware(s: Session, core: Any, c: Any, actor: str, day: date) -> None:
    """Record or correct when the local authority became aware."""
    from bot.cases import set_la_aware

    set_la_aware(s, core, c, day, actor=actor)


@case.command("not-met")
@click.argument("route", type=click.Choice(["no-further-action", "notification-only",
                                            "alternative-learning"]))
@click.option("--reason", required=True, help="The rationale (kept in the case record only).")
@case_action
def case_not_met(s: Session, core: Any, c: Any, actor: str, route: str, reason: str) -> None:
    """The serious incident criteria are not met: choose the route."""
    from bot.cases import not_met

    not_met(s, core, c, route=route, reason=reason, actor=actor)


@case.command("sin-submitted")
@click.option("--at", callback=_when_cb, metavar="ISO", help="When it was submitted (default now).")
@case_action
def case_sin_submitted(s: Session, core: Any, c: Any, actor: str, at: datetime | None) -> None:
    """The local authority submitted the notification; the rapid review clock starts."""
    from bot.cases import record_sin_submitted

    record_sin_submitted(s, core, c, at=at, actor=actor)


@case.command("request")
@click.argument("kind", type=click.Choice(["info-gathering", "chronology"]))
@click.option("--agency", "agencies", multiple=True, required=True, metavar="SLUG",
              help="An agency to ask (repeat for several).")
@click.option("--named-by", metavar="SLUG", help="The agency that named these agencies.")
@case_action
def case_request(s: Session, core: Any, c: Any, actor: str, kind: str, agencies: tuple[str, ...],
                 named_by: str | None) -> str:
    """Send a request to agencies by email, each with its own clock."""
    from bot.agency_requests import send_requests

    sent = send_requests(s, core, c, kind=kind, agencies=list(agencies), actor=actor,
                         named_by=named_by)
    skipped = sorted(set(agencies) - {r.agency for r in sent})
    msg = f"{c.ref}: {kind} request queued for {', '.join(r.agency for r in sent) or 'nobody'}"
    return msg + (f" (already asked: {', '.join(skipped)})" if skipped else "")


@case.command("returned")
@click.argument("agency")
@click.option("--kind", type=click.Choice(["info-gathering", "chronology"]))
@case_action
def case_returned(s: Session, core: Any, c: Any, actor: str, agency: str, kind: str | None) -> None:
    """Mark an agency's return received by other means (secure portal, by hand)."""
    from bot.agency_requests import get_request, record_return

    core.protocol.agency(agency)
    record_return(s, core, get_request(s, c, agency, kind), actor=actor, via="other means")


@case.command("withdraw")
@click.argument("agency")
@click.option("--kind", type=click.Choice(["info-gathering", "chronology"]))
@click.option("--reason", required=True)
@case_action
def case_withdraw(s: Session, core: Any, c: Any, actor: str, agency: str, kind: str | None,
                  reason: str) -> None:
    """Stop chasing a request that will not be answered."""
    from bot.agency_requests import get_request, withdraw

    core.protocol.agency(agency)
    withdraw(s, core, get_request(s, c, agency, kind), reason=reason, actor=actor)


@case.command("decide")
@click.argument("option", type=click.Choice(["national-review", "lcspr", "single-agency-review",
                                             "audit", "practice-review", "reflective-session",
                                             "escalation", "no-further-review"]))
@click.option("--rationale", default="", help="The panel's rationale (case record only).")
@click.option("--at", callback=_when_cb, metavar="ISO", help="When it was decided (default now).")
@case_action
def case_decide(s: Session, core: Any, c: Any, actor: str, option: str, rationale: str,
                at: datetime | None) -> None:
    """Record the rapid review panel's decision, sent to the National Panel."""
    from bot.cases import decide

    decide(s, core, c, option=option, rationale=rationale, actor=actor, at=at)


@case.command("close")
@click.option("--reason", required=True)
@case_action
def case_close(s: Session, core: Any, c: Any, actor: str, reason: str) -> None:
    """Close the case; every clock and chaser stops."""
    from bot.cases import close

    close(s, core, c, reason=reason, actor=actor)


@case.command("embargo")
@click.option("--reason", required=True, type=click.Choice(["criminal", "coroner"]),
              help="Which proceedings publication waits for.")
@case_action
def case_embargo(s: Session, core: Any, c: Any, actor: str, reason: str) -> None:
    """The report is complete but publication waits for proceedings (P0; KIR l.316)."""
    from bot.publication import embargo

    embargo(s, core, c, reason=reason, actor=actor)


@case.command("publication-date")
@click.argument("day", callback=_day_cb, metavar="DATE")
@case_action
def case_publication_date(s: Session, core: Any, c: Any, actor: str, day: date) -> None:
    """Set (or move) the publication date of the local review (P1)."""
    from bot.publication import set_publication_date

    set_publication_date(s, core, c, day, actor=actor)


@case.command("published")
@click.option("--at", callback=_when_cb, metavar="ISO", help="When it was published (default now).")
@case_action
def case_published(s: Session, core: Any, c: Any, actor: str, at: datetime | None) -> None:
    """The review is published (P2): the 6 month clock is met; press releases are now allowed."""
    from bot.publication import publish

    publish(s, core, c, actor=actor, at=at)


@case.command("authorise-speaker")
@click.argument("agency")
@case_action
def case_authorise_speaker(s: Session, core: Any, c: Any, actor: str, agency: str) -> str:
    """Authorise an agency to speak for itself about this review (M-8, SW-COMMS l.93)."""
    from bot.publication import authorise_agency

    authorise_agency(s, core, c, agency, actor=actor)
    return f"{c.ref}: {agency} may respond for itself; the Chair and the Council press office agree its words"


# --- triage ----------------------------------------------------------------------------------


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def triage(click_ctx: click.Context, as_json: bool) -> None:
    """List mail that needs a person: unmatched, unverified or undeliverable."""
    if click_ctx.invoked_subcommand is not None:
        return
    from bot.views import triage_list

    ctx: Ctx = click_ctx.obj
    with ctx.core.db.session() as s:
        items = triage_list(s)
    if as_json:
        emit(items)
        return
    if not items:
        click.echo("the triage list is empty")
    for i in items:
        where = " ".join(x for x in (i["case"], i["agency"]) if x)
        click.echo(f"#{i['id']:<5} {_local(i['received_at'])}  from {i['sender_domain'] or '?'}"
                   f"  {where}  {i['reason']}")


@triage.command("assign")
@click.argument("item_id", type=int)
@click.option("--case", "ref", required=True)
@click.option("--agency", required=True)
@click.option("--kind", type=click.Choice(["info-gathering", "chronology"]))
@pass_ctx
def triage_assign(ctx: Ctx, item_id: int, ref: str, agency: str, kind: str | None) -> None:
    """Confirm a held message as an agency's return."""
    from bot.inbound import assign_triage

    with handled(), ctx.core.transaction() as s:
        assign_triage(s, ctx.core, item_id, ref=ref, agency=agency, kind=kind, actor=ctx.actor)
    click.echo(f"#{item_id}: recorded as {agency}'s return on {ref.upper()}")


@triage.command("dismiss")
@click.argument("item_id", type=int)
@click.option("--reason", required=True)
@pass_ctx
def triage_dismiss(ctx: Ctx, item_id: int, reason: str) -> None:
    """Take a message off the triage list."""
    from bot.inbound import dismiss_triage

    with handled(), ctx.core.transaction() as s:
        dismiss_triage(s, ctx.core, item_id, reason=reason, actor=ctx.actor)
    click.echo(f"#{item_id}: dismissed")


# The media protocol's commands live in their own module; registered last (they import from here).
from bot.cli_media import chair_away, media  # noqa: E402

main.add_command(media)
main.add_command(chair_away)

if __name__ == "__main__":  # pragma: no cover
    main()
