"""``review-bot case REF ...``: show a case or act on it, one transaction per action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import click
from sqlmodel import Session

from bot.cli_common import (
    Ctx,
    _day_cb,
    _local,
    _when_cb,
    deadline_kind_label,
    emit,
    handled,
    human_day,
    human_detail,
    human_value,
    stage_label,
)


class _CaseGroup(click.Group):
    """``case REF --json`` reads naturally; click wants group options before the argument."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if len(args) >= 2 and args[1] == "--json":
            args = ["--json", args[0], *args[2:]]
        return super().parse_args(ctx, args)


@click.group(cls=_CaseGroup, invoke_without_command=True)
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


_DAYS = ("incident_date", "la_aware_date")
_CASE_FIELDS = {"referring_agency": "referring agency", "incident_date": "date of incident",
                "la_aware_date": "local authority aware", "outcome": "outcome",
                "abuse_neglect": "abuse or neglect", "legal_status": "legal status",
                "age_band": "age band", "sin_submitted_at": "notification submitted",
                "decision": "panel decision"}


def _print_case(v: dict[str, Any]) -> None:
    click.echo(f"{v['ref']}  {v['stage_label']}")
    for key, label in _CASE_FIELDS.items():
        if v.get(key):
            value = human_day(v[key]) if key in _DAYS else human_value(key, v[key])
            click.echo(f"  {label}: {value}")
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
        click.echo(f"  {r['agency']:14} {deadline_kind_label(r['kind']):22} {r['status']:9} "
                   f"due {_local(r['due_at'])}" + (f"  ({', '.join(extra)})" if extra else ""))
    click.echo("timeline:")
    for e in v["events"]:
        click.echo(f"  {_local(e['at'])}  {e['actor']:32} {e['kind'].replace('_', ' ')}  "
                   f"{human_detail(e['detail'])}")


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
        click.echo(message or f"{ref}: now {stage_label(stage)}")

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
@click.option("--at", callback=_when_cb, metavar="WHEN", help="When it was submitted (default now).")
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
    asked = ", ".join(r.agency for r in sent) or "nobody"
    msg = f"{c.ref}: {deadline_kind_label(kind)} request queued for {asked}"
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
@click.option("--at", callback=_when_cb, metavar="WHEN", help="When it was decided (default now).")
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
@click.option("--at", callback=_when_cb, metavar="WHEN", help="When it was published (default now).")
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
