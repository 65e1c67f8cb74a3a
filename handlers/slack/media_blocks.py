"""Block Kit for media enquiries (issue 4): the comms-channel alert and App Home's media section
(the forms are the core's, rendered by :func:`handlers.slack.modals.form_modal`).

Everything posted renders :func:`bot.media.enquiry_view`, which has no journalist, contact or
summary: a post or a DM carries the reference, outlet, subject, case reference, deadline, the
officials the routing names and the status only (process.md 8.4; M-7). Modals are not posts,
so the statement editor may show the statement's text to the person editing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.media_routing import ROLE_LABELS, Named, Routing
from bot.privacy import safe_label
from bot.protocol import MEDIA_OUTPUTS, Protocol
from bot.usecases import chair
from bot.usecases import media as usecase
from bot.usecases.result import NextAction
from handlers.slack.blocks import action_block, button, dicts, escape, local_time, time_left

STATUS_LABELS = {
    "open": ":red_circle: Waiting for someone to acknowledge",
    "acknowledged": ":large_orange_circle: Acknowledged",
    "responded": ":white_check_mark: Responded",
    "closed": ":heavy_minus_sign: Closed",
}
STATEMENT_STATUS = {
    "draft": "draft", "approved": "approved, ready to release", "released": "released",
    "superseded": "superseded",
}
M2 = usecase.M2
MEDIA_HELP = (
    "*/media-enquiry*: report a journalist's enquiry (the press office and the business manager "
    "are told at once)\n"
    "*/media-enquiry status ME-2026-0001*: where an enquiry is\n"
    "*/media-enquiry list*: open enquiries (press office, business unit and the officials the "
    "media protocol names)\n"
    "*/media-enquiry help*: this message\n" + M2
)


def outlet_label(view: dict[str, Any]) -> str:
    """The outlet as typed by anyone (a form, an email to the press address): through the guard."""
    return safe_label(view.get("outlet"), field="outlet")


# --- the alert -------------------------------------------------------------------------------


def person(named: Named) -> str:
    """An official as the routing names them, mentioned when they are in Slack."""
    text = escape(named.display)
    return f"{text} <@{named.slack_user_id}>" if named.slack_user_id else text


def actor_label(actor: str | None, people: Sequence[Named]) -> str:
    """Who did something: a Slack mention, the official an email address belongs to, or the actor."""
    if not actor:
        return "someone"
    if actor.startswith("slack:"):
        return f"<@{actor.removeprefix('slack:')}>"
    if actor == "system":
        return "the bot"
    for p in people:
        if p.email and p.email.lower() == actor.lower():
            return escape(p.display)
    return escape(actor)


def _statement_line(statement: dict[str, Any] | None, people: Sequence[Named], tz: ZoneInfo | None) -> str:
    if statement is None:
        return "No statement drafted yet."
    kind = MEDIA_OUTPUTS.get(statement["kind"], statement["kind"])
    status = STATEMENT_STATUS.get(statement["status"], statement["status"])
    line = f"{kind}, version {statement['version']}: {status}"
    approvals = [
        f"{ROLE_LABELS.get(a['role'], a['role'])} ({actor_label(a.get('actor'), people)}, "
        f"{local_time(a.get('at'), tz)})"
        for a in statement.get("approvals", [])
    ]
    if approvals:
        line += "\nApproved by " + "; ".join(approvals)
    if statement.get("waiting_for"):
        line += "\nWaiting for approval from " + ", ".join(escape(w) for w in statement["waiting_for"])
    if statement.get("released_at"):
        line += f"\nReleased {local_time(statement['released_at'], tz)}"
    return line


def status_line(view: dict[str, Any], people: Sequence[Named], tz: ZoneInfo | None) -> str:
    status = view["status"]
    line = STATUS_LABELS.get(status, status)
    if view.get("acknowledged_at"):
        line += (f"\nAcknowledged by {actor_label(view.get('acknowledged_by'), people)} "
                 f"at {local_time(view['acknowledged_at'], tz)}")
    elif view.get("alerts_repeated"):
        line += (f"\n:rotating_light: Alert repeated {view['alerts_repeated']} time(s); "
                 "the business manager has been told")
    if view.get("responded_at"):
        spoke = ROLE_LABELS.get(view.get("spoke") or "", view.get("spoke") or "someone")
        line += f"\nResponded {local_time(view['responded_at'], tz)} ({escape(spoke)} spoke)"
    return line


def deadline_text(view: dict[str, Any], now: datetime | None, tz: ZoneInfo | None) -> str:
    deadline = view.get("journalist_deadline")
    if not deadline:
        return "not given: ask the journalist"
    left = time_left(deadline, now) if view["status"] in ("open", "acknowledged") else ""
    return f"{local_time(deadline, tz)}" + (f" ({left})" if left else "")


def about_text(view: dict[str, Any], protocol: Protocol) -> str:
    about = escape(view["subject_label"])
    if view.get("subject_agency"):
        try:
            about += f": {escape(protocol.agency(view['subject_agency']).name)}"
        except ValueError:
            about += f": {safe_label(view['subject_agency'], field='agency')}"
    return about


#: The status in the notification text (what a phone's lock screen shows).
STATUS_WORDS = {
    "open": "not acknowledged yet", "acknowledged": "acknowledged", "responded": "responded",
    "closed": "closed",
}


def alert_text(view: dict[str, Any]) -> str:
    """The notification text: reference, outlet and status only."""
    status = STATUS_WORDS.get(view["status"], view["status"])
    return f"Media enquiry {view['ref']} from {outlet_label(view)}: {status}"


def alert_blocks(
    view: dict[str, Any], protocol: Protocol, people: Sequence[Named], *, now: datetime | None,
    tz: ZoneInfo | None, actions: bool | Sequence[NextAction] = True,
) -> list[dict[str, Any]]:
    """The comms-channel alert for one enquiry, posted once and updated in place. ``actions``:
    True, the media team's buttons for its status; False, none; or one person's actions."""
    ref = view["ref"]
    routing = Routing.from_json(view["routing"])
    blocks: list[Block] = [
        HeaderBlock(text=f":newspaper: Media enquiry {ref}"[:150]),
        SectionBlock(fields=[
            MarkdownTextObject(text=f"*Outlet*\n{outlet_label(view)}"),
            MarkdownTextObject(text=f"*Journalist's deadline*\n{deadline_text(view, now, tz)}"),
            MarkdownTextObject(text=f"*About*\n{about_text(view, protocol)}"),
            MarkdownTextObject(text=f"*Case*\n{view.get('case_ref') or 'none named'}"),
        ]),
    ]
    standin = " (the Chair is not available)" if routing.chair_standin else ""
    blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join([
        f"*Routing* (media protocol row {routing.row})",
        "Lead: " + ", ".join(person(n) for n in routing.lead),
        f"Speaks: {person(routing.spokesperson)}{standin}",
        "Signs off: " + ", ".join(person(n) for n in routing.sign_off),
        f"Output: {escape(routing.output_label)}",
    ])[:3000])))
    notes = [escape(x) for x in (routing.note, f"Source: {routing.source}" if routing.source else "") if x]
    if notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="\n".join(notes)[:3000])]))
    if routing.problems:
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text="\n".join(f":warning: {escape(p)}" for p in routing.problems)[:3000]
        )))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=(
        f"*Status*\n{status_line(view, people, tz)}\n"
        f"*Statement*\n{_statement_line(view.get('statement'), people, tz)}"
    )[:3000])))
    shown = (usecase.alert_actions(view["status"]) if actions is True else actions) if actions else ()
    if shown:
        blocks.append(action_block(f"media:{ref}", "media_", ref, shown))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=M2)]))
    footer = f"Received {local_time(view['received_at'], tz)} by {escape(view['source'])}"
    if now is not None:
        footer += f" · updated {local_time(now.isoformat(), tz)}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    return dicts(blocks)


# --- lists: /media-enquiry list and App Home -------------------------------------------------


def enquiry_rows(views: Sequence[dict[str, Any]], *, now: datetime | None,
                 tz: ZoneInfo | None) -> list[Block]:
    blocks: list[Block] = []
    if not views:
        blocks.append(SectionBlock(text="No open media enquiries."))
    for view in views:
        status = STATUS_LABELS.get(view["status"], view["status"])
        blocks.append(SectionBlock(text=MarkdownTextObject(text=(
            f"*{view['ref']}*: {outlet_label(view)} ({escape(view['subject_label'])}"
            f"{', case ' + view['case_ref'] if view.get('case_ref') else ''})\n"
            f"{status}\nDeadline: {deadline_text(view, now, tz)}"
        )[:3000])))
    return blocks


def absence_blocks(absences: Sequence[dict[str, Any]], tz: ZoneInfo | None) -> list[Block]:
    """The Chair's current and future absences (:func:`bot.usecases.chair.absence_rows`), each
    with the core's Cancel action, and the "Chair away" action."""
    blocks: list[Block] = [HeaderBlock(text="The Chair's absence")]
    if not absences:
        blocks.append(SectionBlock(text="No absence recorded: the Chair speaks."))
    for absence in absences:
        blocks.append(SectionBlock(
            text=MarkdownTextObject(text=(
                f"{'*Now*: ' if absence['current'] else ''}{local_time(absence['starts_at'], tz)} to "
                f"{local_time(absence['ends_at'], tz)}\n{escape(absence['stands_in'])} stands in"
            )),
            accessory=button("media_", str(absence["id"]), chair.CANCEL),
        ))
    # A section's accessory (like the Cancel buttons), so that the row reads as a sentence.
    blocks.append(SectionBlock(
        block_id="media:chair",
        text=MarkdownTextObject(text="Record when the Chair is away and who stands in."),
        accessory=button("media_", "new", chair.AWAY),
    ))
    return blocks


def media_home_blocks(
    views: Sequence[dict[str, Any]], absences: Sequence[dict[str, Any]], *, now: datetime | None,
    tz: ZoneInfo | None,
) -> list[dict[str, Any]]:
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text="Media enquiries")]
    blocks += enquiry_rows(views, now=now, tz=tz)
    blocks += absence_blocks(absences, tz)
    return dicts(blocks)
