"""``review-bot case REF ...``: show a case or act on it, one transaction per action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import click

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
)
from bot.stages import DECISIONS
from bot.vocabulary import EMBARGO_LABELS, ROUTE_LABELS


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
    from bot.usecases.cases import case_status

    with handled():  # the use case records the view in the access log (issue 13 item 4)
        view = case_status(ctx.core, ctx.who(), ref).view or {}
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


def case_action(fn: Callable[..., tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], dict[str, str]]]
                ) -> Callable[..., None]:
    """``fn(**options)`` names the use case's action and its answers; one transaction acts."""

    @click.pass_context
    def wrapper(click_ctx: click.Context, **options: Any) -> None:
        from bot.usecases.cases import act

        ctx: Ctx = click_ctx.obj
        ref = click_ctx.parent.meta["ref"] if click_ctx.parent else ""
        action, values, *context = fn(**options)
        with handled():
            result = act(ctx.core, ctx.who(), ref, action, values, context=context[0] if context else None)
        click.echo(result.message)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


Action = tuple[str, dict[str, Any]]


@case.command("accept")
@click.option("--la-aware", callback=_day_cb, metavar="DATE",
              help="When the local authority became aware (anchors the 5 working day clock).")
@case_action
def case_accept(la_aware: date | None) -> Action:
    """The criteria are met: the local authority is to notify the National Panel."""
    return "accept", {"la_aware_date": la_aware}


@case.command("triage")
@case_action
def case_triage() -> Action:
    """Start screening the referral against the criteria."""
    return "triage", {}


@case.command("la-aware")
@click.argument("day", callback=_day_cb, metavar="DATE")
@case_action
def case_la_aware(day: date) -> Action:
    """Record or correct when the local authority became aware."""
    return "la_aware", {"la_aware_date": day}


@case.command("not-met")
@click.argument("route", type=click.Choice(list(ROUTE_LABELS)))
@click.option("--reason", required=True, help="The rationale (kept in the case record only).")
@case_action
def case_not_met(route: str, reason: str) -> Action:
    """The serious incident criteria are not met: choose the route."""
    return "not_met", {"route": route, "reason": reason}


@case.command("sin-submitted")
@click.option("--at", callback=_when_cb, metavar="WHEN", help="When it was submitted (default now).")
@case_action
def case_sin_submitted(at: datetime | None) -> Action:
    """The local authority submitted the notification; the rapid review clock starts."""
    return "sin_submitted", {"at": at}


@case.command("request")
@click.argument("kind", type=click.Choice(["info-gathering", "chronology"]))
@click.option("--agency", "agencies", multiple=True, required=True, metavar="SLUG",
              help="An agency to ask (repeat for several).")
@click.option("--named-by", metavar="SLUG", help="The agency that named these agencies.")
@case_action
def case_request(kind: str, agencies: tuple[str, ...], named_by: str | None) -> tuple[str, dict[str, Any],
                                                                                        dict[str, str]]:
    """Send a request to agencies by email, each with its own clock."""
    return "send_requests", {"agencies": list(agencies), "named_by": named_by}, {"kind": kind}


@case.command("returned")
@click.argument("agency")
@click.option("--kind", type=click.Choice(["info-gathering", "chronology"]))
@case_action
def case_returned(agency: str, kind: str | None) -> Action:
    """Mark an agency's return received by other means (secure portal, by hand)."""
    return "return", {"agency": agency, "kind": kind}


@case.command("withdraw")
@click.argument("agency")
@click.option("--kind", type=click.Choice(["info-gathering", "chronology"]))
@click.option("--reason", required=True)
@case_action
def case_withdraw(agency: str, kind: str | None, reason: str) -> Action:
    """Stop chasing a request that will not be answered."""
    return "withdraw", {"agency": agency, "kind": kind, "reason": reason}


@case.command("decide")
@click.argument("option", type=click.Choice(list(DECISIONS)))
@click.option("--rationale", default="", help="The panel's rationale (case record only).")
@click.option("--at", callback=_when_cb, metavar="WHEN", help="When it was decided (default now).")
@case_action
def case_decide(option: str, rationale: str, at: datetime | None) -> Action:
    """Record the rapid review panel's decision, sent to the National Panel."""
    return "decide", {"option": option, "rationale": rationale, "at": at}


@case.command("close")
@click.option("--reason", required=True)
@case_action
def case_close(reason: str) -> Action:
    """Close the case; every clock and chaser stops."""
    return "close", {"reason": reason}


@case.command("embargo")
@click.option("--reason", required=True, type=click.Choice(list(EMBARGO_LABELS)),
              help="Which proceedings publication waits for.")
@click.option("--expected", callback=_day_cb, metavar="DATE", help="The expected publication date.")
@case_action
def case_embargo(reason: str, expected: date | None) -> Action:
    """The report is complete but publication waits for proceedings (P0; KIR l.316)."""
    return "embargo", {"reason": reason, "expected": expected}


@case.command("publication-date")
@click.argument("day", callback=_day_cb, metavar="DATE")
@case_action
def case_publication_date(day: date) -> Action:
    """Set (or move) the publication date of the local review (P1)."""
    return "publication_date", {"publication_date": day}


@case.command("published")
@click.option("--at", callback=_when_cb, metavar="WHEN", help="When it was published (default now).")
@case_action
def case_published(at: datetime | None) -> Action:
    """The review is published (P2): the 6 month clock is met; press releases are now allowed."""
    return "published", {"at": at}


@case.command("authorise-speaker")
@click.argument("agency")
@case_action
def case_authorise_speaker(agency: str) -> Action:
    """Authorise an agency to speak for itself about this review (M-8, SW-COMMS l.93)."""
    return "authorise_speaker", {"agency": agency}
