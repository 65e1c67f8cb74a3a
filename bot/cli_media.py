"""``review-bot media ...`` and ``review-bot chair-away ...``: the media protocol from the CLI.

The same services as the Slack app (bot.media). Approving a statement checks that the actor is
a signer the routing names: give ``--actor`` the signer's email address.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bot.cli_common import Ctx, _deadline_cb, _local, _when_cb, emit, handled, human_detail, pass_ctx
from bot.media_routing import SUBJECTS
from bot.protocol import MEDIA_OUTPUTS, MEDIA_ROLES


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Every enquiry with its figures, as JSON.")
@click.option("--open", "only_open", is_flag=True, help="Only enquiries still open.")
@click.pass_context
def media(click_ctx: click.Context, as_json: bool, only_open: bool) -> None:
    """List media enquiries: time to notify, time to acknowledge, who spoke, protocol followed."""
    if click_ctx.invoked_subcommand is not None:
        return
    from bot.media_report import media_report

    ctx: Ctx = click_ctx.obj
    with ctx.core.db.session() as s:
        rows = media_report(s, ctx.core, include_closed=not only_open)
    if as_json:
        emit(rows)
        return
    if not rows:
        click.echo("no media enquiries")
    for r in rows:
        notify = _duration(r["seconds_to_notify"])
        ack = _duration(r["seconds_to_acknowledge"])
        spoke = r["spoke"] or "-"
        followed = "followed" if r["protocol_followed"] else "NOT followed: " + "; ".join(r["deviations"])
        click.echo(
            f"{r['ref']}  {r['status']:12} row {r['routing']['row']:<2} {r['outlet'][:24]:24} "
            f"deadline {_local(r['journalist_deadline'])}  notified {notify}  acknowledged {ack}  "
            f"spoke {spoke}  protocol {followed}"
        )


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s"


@media.command("new")
@click.option("--outlet", required=True, help="Newspaper, channel or programme.")
@click.option("--subject", required=True, type=click.Choice(list(SUBJECTS)))
@click.option("--journalist", default="")
@click.option("--contact", default="", help="The journalist's email or telephone.")
@click.option("--deadline", callback=_deadline_cb, metavar="WHEN",
              help="The journalist's deadline (e.g. \"4pm today\", 23/11/2026 16:00; 17:00 if no time).")
@click.option("--case", "case_ref", metavar="REF", help="The case it concerns, if known.")
@click.option("--about-agency", metavar="SLUG", help="The agency it concerns (subject agency).")
@click.option("--raised-by-agency", metavar="SLUG", help="The agency that received it.")
@click.option("--summary", default="", help="One line; kept out of Slack.")
@click.option("--ack-to", metavar="EMAIL", help="Acknowledge to this address (M-2 reminder).")
@click.option("--idempotency-key", metavar="KEY", help="Repeating the command with this key prints "
              "the first result and records nothing.")
@pass_ctx
def media_new(ctx: Ctx, outlet: str, subject: str, journalist: str, contact: str,
              deadline: datetime | None, case_ref: str | None, about_agency: str | None,
              raised_by_agency: str | None, summary: str, ack_to: str | None,
              idempotency_key: str | None) -> None:
    """Record a media enquiry received by telephone or in person; everyone is told at once."""
    from bot.usecases.media import raise_enquiry

    values = {
        "outlet": outlet, "subject": subject, "journalist": journalist, "contact": contact,
        "deadline": deadline, "case_ref": case_ref, "subject_agency": about_agency,
        "raising_agency": raised_by_agency, "summary": summary,
    }
    with handled():
        got = raise_enquiry(ctx.core, ctx.who(), values, complete=False, acknowledge_to=ack_to,
                            key=idempotency_key and f"cli-media-new:{idempotency_key}")
    click.echo(f"{got.ref}: row {got.data['row']}; {got.data['speaks_label']} speaks; output "
               f"{got.data['output_label']}")


def enquiry_action(fn: Callable[..., tuple[str, dict[str, Any]]]) -> Callable[..., None]:
    """``fn(**options)`` names the use case's action and its answers; one transaction acts (a
    refusal is audited by the core and exits 2). What was done is said from the statement."""

    @click.argument("ref")
    @pass_ctx
    def wrapper(ctx: Ctx, ref: str, **options: Any) -> None:
        from bot.usecases.media import act_on_enquiry

        action, values = fn(**options)
        with handled():
            result = act_on_enquiry(ctx.core, ctx.who(), ref, action, values)
        click.echo(said(ctx, action, result.ref or ref, result.message))

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def said(ctx: Ctx, action: str, ref: str, message: str) -> str:
    """The CLI's line for an action on a statement: the whole text or where it went (the
    operator's own terminal, not a chat)."""
    if action not in ("draft", "approve", "release"):
        return message
    from bot.media import get_enquiry
    from bot.media_statements import latest_statement, pending_signers

    with ctx.core.db.session() as s:
        enquiry = get_enquiry(s, ref)
        st = latest_statement(s, enquiry)
        assert st is not None
        if action == "draft":
            return f"{ref}: {MEDIA_OUTPUTS.get(st.kind, st.kind)} version {st.version} drafted\n\n{st.text}"
        if action == "release":
            return f"{ref}: version {st.version} released to {st.released_to}"
        waiting = [n.display for n in pending_signers(enquiry, st)]
    if waiting:
        return f"{ref}: version {st.version} approved by you; still waiting for {', '.join(waiting)}"
    return f"{ref}: version {st.version} approved; it can be released"


@media.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def media_show(ctx: Ctx, ref: str, as_json: bool) -> None:
    """Show one enquiry in full (journalist, contact, summary and question: not for Slack)."""
    from bot import access_log
    from bot.media import get_enquiry
    from bot.media_report import enquiry_view, media_timeline
    from bot.media_statements import latest_statement

    with handled(), ctx.core.transaction() as s:
        enquiry = get_enquiry(s, ref)
        # An enquiry about a case: who saw what the journalist asked about it (issue 13 item 4).
        access_log.record(s, at=ctx.core.clock.now(), actor=ctx.actor, surface="cli", case_id=enquiry.case_id,
                          what=access_log.VIEW, detail="media")
        view = enquiry_view(s, ctx.core, enquiry)
        view.update(journalist=enquiry.journalist, contact=enquiry.contact, summary=enquiry.summary,
                    question=enquiry.question or "")
        statement = latest_statement(s, enquiry)
        view["statement_text"] = statement.text if statement else None
        view["events"] = [
            {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "detail": e.detail}
            for e in media_timeline(s, enquiry)
        ]
    if as_json:
        emit(view)
        return
    r = view["routing"]
    click.echo(f"{view['ref']}  {view['status']}  ({view['source']})")
    click.echo(f"  outlet: {view['outlet']}; journalist: {view['journalist'] or '-'}; "
               f"contact: {view['contact'] or '-'}")
    click.echo(f"  about: {view['subject_label']}" + (f" ({view['case_ref']})" if view["case_ref"] else ""))
    click.echo(f"  deadline: {_local(view['journalist_deadline'])}")
    for d in view["deadlines"]:  # the enquiry's clocks (decision 0026)
        click.echo(f"  clock: {d['label']}: {d['state']}; next step {_local(d['next_action_at'])}")
    if view["summary"]:
        click.echo(f"  summary: {view['summary']}")
    if view["question"]:
        click.echo("  question:")
        click.echo("\n".join(f"    {line}" if line else "" for line in view["question"].splitlines()))
    click.echo(f"routing: row {r['row']} ({r['source']})")
    click.echo("  lead: " + ", ".join(n["label"] + f" ({n['name']})" for n in r["lead"]))
    click.echo(f"  speaks: {r['spokesperson']['label']} ({r['spokesperson']['name']})")
    click.echo("  signs off: " + ", ".join(n["label"] + f" ({n['name']})" for n in r["sign_off"]))
    click.echo(f"  output: {r['output_label']}")
    if r["note"]:
        click.echo(f"  note: {r['note']}")
    for p in r["problems"]:
        click.echo(f"  ! {p}")
    st = view["statement"]
    if st:
        waiting = f"; waiting for {', '.join(st['waiting_for'])}" if st["waiting_for"] else ""
        click.echo(f"statement v{st['version']} ({MEDIA_OUTPUTS.get(st['kind'], st['kind'])}): "
                   f"{st['status']}{waiting}")
        click.echo("  " + (view["statement_text"] or "").replace("\n", "\n  "))
    click.echo("timeline:")
    for e in view["events"]:
        detail = human_detail(e["detail"], skip=("media_id", "media_ref"))
        click.echo(f"  {_local(e['at'])}  {e['actor']:32} {e['kind'].replace('_', ' ')}  {detail}")


@media.command("ack")
@enquiry_action
def media_ack() -> tuple[str, dict[str, Any]]:
    """Acknowledge the alert: it stops repeating."""
    return "ack", {}


@media.command("draft")
@click.option("--kind", type=click.Choice(list(MEDIA_OUTPUTS)),
              help="Default: the output the routing allows.")
@click.option("--text-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The edited statement (a new version); default: the template.")
@enquiry_action
def media_draft(kind: str | None, text_file: Path | None) -> tuple[str, dict[str, Any]]:
    """Draft (or redraft) the statement. A press release is refused before publication (M-5)."""
    return "draft", {"kind": kind, "text": text_file.read_text("utf-8") if text_file else None}


@media.command("approve")
@enquiry_action
def media_approve() -> tuple[str, dict[str, Any]]:
    """Approve the current draft as a signer the routing names (--actor EMAIL)."""
    return "approve", {}


@media.command("release")
@enquiry_action
def media_release() -> tuple[str, dict[str, Any]]:
    """Release the approved statement (to the journalist by email when the contact is an address)."""
    return "release", {}


@media.command("responded")
@click.option("--spoke", required=True, type=click.Choice([*MEDIA_ROLES, "agency"]),
              help="Who answered the journalist.")
@click.option("--at", callback=_when_cb, metavar="WHEN", help="When (default now).")
@enquiry_action
def media_responded(spoke: str, at: datetime | None) -> tuple[str, dict[str, Any]]:
    """Record a response given outside the bot (e.g. by telephone) and who gave it."""
    return "respond", {"spoke": spoke, "at": at}


@media.command("close")
@click.option("--reason", required=True)
@enquiry_action
def media_close(reason: str) -> tuple[str, dict[str, Any]]:
    """Close the enquiry: no more alerts or reminders."""
    return "close", {"reason": reason}


# --- the Chair's absence -------------------------------------------------------------------


@click.group("chair-away", invoke_without_command=True)
@click.pass_context
def chair_away(click_ctx: click.Context) -> None:
    """List the Chair's current and future absences (the Deputy Chair speaks meanwhile)."""
    if click_ctx.invoked_subcommand is not None:
        return
    from bot.media_team import chair_absences

    ctx: Ctx = click_ctx.obj
    with ctx.core.db.session() as s:
        rows = chair_absences(s, ctx.core)
    if not rows:
        click.echo("the Chair is not recorded as away")
    for a in rows:
        click.echo(f"#{a.id}  {_local(a.starts_at.isoformat())} to {_local(a.ends_at.isoformat())}"
                   f"  stands in: {a.delegate or 'Deputy Chair (or the fallback)'}")


@chair_away.command("set")
@click.option("--from", "starts", required=True, callback=_when_cb, metavar="WHEN")
@click.option("--until", "ends", required=True, callback=_when_cb, metavar="WHEN")
@click.option("--delegate", type=click.Choice([r for r in MEDIA_ROLES if r != "chair"]),
              help="Who the Chair designates (default: the Deputy Chair).")
@pass_ctx
def chair_away_set(ctx: Ctx, starts: datetime, ends: datetime, delegate: str | None) -> None:
    """Record that the Chair is away from --from until --until."""
    from bot.usecases.chair import set_chair_away

    with handled():
        result = set_chair_away(ctx.core, ctx.who(), {"starts_at": starts, "ends_at": ends,
                                                      "delegate": delegate})
    absence_id = result.data["absence_id"]
    click.echo(f"#{absence_id}: the Chair is away {_local(starts.isoformat())} to {_local(ends.isoformat())}")


@chair_away.command("cancel")
@click.argument("absence_id", type=int)
@pass_ctx
def chair_away_cancel(ctx: Ctx, absence_id: int) -> None:
    """Cancel a recorded absence (the Chair is back)."""
    from bot.usecases.chair import cancel_chair_away

    with handled():
        result = cancel_chair_away(ctx.core, ctx.who(), absence_id)
    click.echo(result.message)
