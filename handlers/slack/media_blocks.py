"""Block Kit for media enquiries (issue 4): the intake form, the comms-channel alert, the
statement editor, App Home's media section and the Chair-away form.

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
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DateTimePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)

from bot.media_routing import ROLE_LABELS, SUBJECTS, Named, Routing
from bot.privacy import safe_label
from bot.protocol import MEDIA_OUTPUTS, MEDIA_ROLES, Protocol
from handlers.slack.blocks import dicts, escape, local_time, time_left
from handlers.slack.modals import _agency_pairs, _modal, _select

#: The buttons on an alert, in order, with their text.
ALERT_BUTTONS = {
    "ack": "Acknowledge",
    "draft": "Draft statement",
    "approve": "Approve",
    "release": "Release",
    "press_release": "Press release",
}
#: Which buttons make sense at each status (the services refuse the rest anyway: hiding a
#: button is a convenience, never the authorisation).
STATUS_BUTTONS = {
    "open": list(ALERT_BUTTONS),
    "acknowledged": ["draft", "approve", "release", "press_release"],
    "responded": ["draft", "approve", "release", "press_release"],
    "closed": [],
}
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
NOT_IN_SLACK = (
    ":lock: The journalist's name, contact and your summary go to the press office and the "
    "business manager by email only; they are never posted in Slack. Do not type the names of "
    "the child or family."
)
M2 = (
    "Do not respond to the journalist yourselves, not even to confirm that you have passed the "
    "enquiry on (media protocol M-2): only the partnership's spokesperson speaks (M-3)."
)
MEDIA_HELP = (
    "*/media-enquiry*: report a journalist's enquiry (the press office and the business manager "
    "are told at once)\n"
    "*/media-enquiry status ME-2026-0001*: where an enquiry is\n"
    "*/media-enquiry list*: open enquiries (press office, business unit and the officials the "
    "media protocol names)\n"
    "*/media-enquiry help*: this message\n" + M2
)
#: Slack's longest plain-text input; statements are a few paragraphs.
STATEMENT_MAX = 3000


def outlet_label(view: dict[str, Any]) -> str:
    """The outlet as typed by anyone (a form, an email to the press address): through the guard."""
    return safe_label(view.get("outlet"), field="outlet")


def _datetime(block_id: str, label: str, *, optional: bool = False,
              initial: datetime | None = None) -> InputBlock:
    return InputBlock(
        block_id=block_id, label=label, optional=optional,
        element=DateTimePickerElement(
            action_id="value", initial_date_time=int(initial.timestamp()) if initial else None,
        ),
    )


def _line(block_id: str, label: str, *, max_length: int, optional: bool = False,
          placeholder: str | None = None, hint: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=block_id, label=label, optional=optional, hint=hint,
        element=PlainTextInputElement(action_id="value", max_length=max_length, placeholder=placeholder),
    )


# --- the intake form -------------------------------------------------------------------------


def enquiry_modal(protocol: Protocol) -> dict[str, Any]:
    """/media-enquiry: what the press office needs to call the journalist back (issue 4 item 1)."""
    agencies = _agency_pairs(protocol)
    blocks: list[Block] = [
        ContextBlock(elements=[MarkdownTextObject(text=NOT_IN_SLACK)]),
        _line("outlet", "Outlet (newspaper, channel, programme)", max_length=120),
        _line("journalist", "Journalist", max_length=120),
        _line("contact", "Journalist's contact (email or phone)", max_length=200),
        _datetime("deadline", "The journalist's deadline"),
        _select("subject", "What it is about", list(SUBJECTS.items())),
        _line("case_ref", "Case reference, if known", max_length=20, optional=True,
              placeholder="SI-2026-0001"),
        _select("subject_agency", "The agency it is about (for a single agency's matter)", agencies,
                optional=True),
        _select("raising_agency", "Your agency", agencies, optional=True),
        _line("summary", "What they asked, in one line", max_length=500,
              hint="Kept in the database and sent to the press office by email; never posted."),
    ]
    return _modal("media_enquiry", "Media enquiry", blocks, {}, submit="Report")


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
    tz: ZoneInfo | None, actions: bool = True,
) -> list[dict[str, Any]]:
    """The comms-channel alert for one enquiry, posted once and updated in place."""
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
    buttons = STATUS_BUTTONS.get(view["status"], []) if actions else []
    if buttons:
        elements = []
        for name in buttons:
            style = "primary" if name in ("ack", "approve") else None
            confirm = None
            if name == "release":
                confirm = ConfirmObject(
                    title="Release the statement?",
                    text=f"Send the approved statement for {ref} to the journalist (or to the press "
                    "office to give to them). This records that the partnership has responded.",
                    confirm="Release", deny="Cancel",
                )
            elements.append(ButtonElement(text=ALERT_BUTTONS[name], action_id=f"media_{name}",
                                          value=ref, style=style, confirm=confirm))
        blocks.append(ActionsBlock(block_id=f"media:{ref}", elements=elements))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=M2)]))
    footer = f"Received {local_time(view['received_at'], tz)} by {escape(view['source'])}"
    if now is not None:
        footer += f" · updated {local_time(now.isoformat(), tz)}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    return dicts(blocks)


# --- the statement editor (a modal, not a post: the text may be shown here) ----------------


def statement_modal(ref: str, version: int, kind: str, text: str, *, approved: bool) -> dict[str, Any]:
    label = MEDIA_OUTPUTS.get(kind, kind)
    intro = (
        f"*{escape(label)}* for *{ref}*, version {version}. Saving a change makes a new version, "
        "which needs the sign-off again before it can be released."
    )
    if approved:
        intro += " This version is already approved: close the form to keep it."
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=intro)),
        ContextBlock(elements=[MarkdownTextObject(
            text=":lock: No names, ages, addresses or schools (M-7); no comment on individual staff; "
                 "nothing off the record (M-6)."
        )]),
        InputBlock(
            block_id="text", label="Statement",
            element=PlainTextInputElement(action_id="value", multiline=True, max_length=STATEMENT_MAX,
                                          initial_value=text[:STATEMENT_MAX]),
        ),
    ]
    return _modal("media_statement", f"Statement {ref}", blocks,
                  {"ref": ref, "version": version, "kind": kind}, submit="Save")


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


def delegate_pairs(protocol: Protocol) -> list[tuple[str, str]]:
    """Who may stand in for the Chair: the media roles the protocol fills, except the Chair."""
    return [
        (role, f"{ROLE_LABELS[role]} ({p.name})")
        for role in MEDIA_ROLES if role != "chair" and (p := protocol.person(role)) is not None
    ]


def absence_blocks(absences: Sequence[Any], protocol: Protocol, tz: ZoneInfo | None,
                   *, now: datetime | None) -> list[Block]:
    """The Chair's current and future absences, each with a Cancel button, and "Chair away"."""
    blocks: list[Block] = [HeaderBlock(text="The Chair's absence")]
    if not absences:
        blocks.append(SectionBlock(text="No absence recorded: the Chair speaks."))
    labels = dict(delegate_pairs(protocol))
    for absence in absences:
        standin = labels.get(absence.delegate or "", "") or "the Deputy Chair (or the protocol's fallback)"
        current = now is not None and absence.starts_at <= now
        blocks.append(SectionBlock(
            text=MarkdownTextObject(text=(
                f"{'*Now*: ' if current else ''}{local_time(absence.starts_at.isoformat(), tz)} to "
                f"{local_time(absence.ends_at.isoformat(), tz)}\n{escape(standin)} stands in"
            )),
            accessory=ButtonElement(
                text="Cancel", action_id="media_absence_cancel", value=str(absence.id),
                confirm=ConfirmObject(title="Cancel the absence?",
                                      text="New enquiries will name the Chair again for this period.",
                                      confirm="Cancel absence", deny="Keep it"),
            ),
        ))
    # A section's accessory (like the Cancel buttons), so that the row reads as a sentence.
    blocks.append(SectionBlock(
        block_id="media:chair",
        text=MarkdownTextObject(text="Record when the Chair is away and who stands in."),
        accessory=ButtonElement(text="Chair away", action_id="media_chair_away", value="new"),
    ))
    return blocks


def media_home_blocks(
    views: Sequence[dict[str, Any]], absences: Sequence[Any], protocol: Protocol,
    *, now: datetime | None, tz: ZoneInfo | None,
) -> list[dict[str, Any]]:
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text="Media enquiries")]
    blocks += enquiry_rows(views, now=now, tz=tz)
    blocks += absence_blocks(absences, protocol, tz, now=now)
    return dicts(blocks)


def chair_away_modal(protocol: Protocol, now: datetime) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=(
            "While the Chair is away, new media enquiries name the stand-in as spokesperson and "
            "sign-off (SOM l.234-236). Enquiries already received keep their routing."
        ))),
        _datetime("starts_at", "Away from", initial=now),
        _datetime("ends_at", "Back at"),
        _select("delegate", "Who stands in (empty: the Deputy Chair)", delegate_pairs(protocol),
                optional=True),
    ]
    return _modal("media_chair_away", "Chair away", blocks, {"home": True}, submit="Record")
