"""Block Kit for the bot: the case card, the modals and App Home, built with slack_sdk's models.

Everything here renders the read models of :mod:`bot.views` or the protocol's fixed lists.
Nothing typed into a modal is ever rendered: cards carry references, stages, dates, agencies
and deadlines only (process.md 8.4).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.protocol import REQUEST_KINDS, Protocol
from bot.stages import DECISIONS, Stage

# --- fixed choices (process.md 7.1) ----------------------------------------------------------

OUTCOMES = [("death", "Death"), ("serious-harm", "Serious harm")]
ANSWERS = [("yes", "Yes"), ("no", "No"), ("unclear", "Unclear")]
LEGAL_STATUSES = [
    ("lac", "Looked after child"),
    ("cp-plan", "Child protection plan (current or previous)"),
    ("cin", "Child in need"),
    ("care-leaver", "Care leaver"),
    ("previously-known", "Previously known to children's social care"),
    ("not-known", "Not known"),
]
AGE_BANDS = [
    ("unborn", "Unborn"), ("0-1", "Under 1"), ("1-4", "1 to 4"), ("5-10", "5 to 10"),
    ("11-15", "11 to 15"), ("16-17", "16 to 17"),
]
PARALLEL = [
    ("police-investigation", "Police investigation"),
    ("coroner", "Coroner"),
    ("other-reviews", "Other reviews (DHR, SAR, MAPPA, NHS serious incident)"),
]
MEDIA = [("known", "Known"), ("likely", "Likely"), ("none-known", "None known")]
KIND_LABELS = {"info-gathering": "information gathering", "chronology": "chronology"}
ROUTE_LABELS = {
    "no-further-action": "No further action",
    "notification-only": "Notification only (looked-after child or care leaver)",
    "alternative-learning": "Alternative learning",
}
STATE_MARK = {
    "overdue": ":red_circle:", "due-soon": ":large_orange_circle:", "open": ":white_circle:",
    "met": ":white_check_mark:", "met-late": ":heavy_check_mark:", "cancelled": ":heavy_minus_sign:",
}
NO_NAMES = (
    ":lock: Do not type names, dates of birth, addresses or a description of what happened. "
    "Send identifying details by secure email to the business unit."
)

#: Which business-unit buttons a card shows at each stage (the services refuse the rest anyway).
STAGE_ACTIONS: dict[str, list[str]] = {
    Stage.REFERRAL_RECEIVED: ["accept", "not_met", "close"],
    Stage.TRIAGE: ["accept", "not_met", "close"],
    Stage.SIN_PENDING: ["sin_submitted", "not_met", "close"],
    Stage.INFO_GATHERING: ["send_info", "return", "decide", "close"],
    Stage.PANEL_DECISION: ["send_info", "return", "decide", "close"],
    Stage.LCSPR: ["send_chronology", "return", "close"],
    Stage.NATIONAL_REVIEW: ["close"],
    Stage.NO_FURTHER_REVIEW: ["close"],
    Stage.ALTERNATIVE_LEARNING: ["close"],
    Stage.NOTIFICATION_ONLY: ["close"],
}
BUTTON_TEXT = {
    "accept": "Accept (criteria met)",
    "not_met": "Criteria not met",
    "sin_submitted": "Notification submitted",
    "send_info": "Send information requests",
    "return": "Return received",
    "decide": "Record panel decision",
    "send_chronology": "Send chronology requests",
    "close": "Close case",
}


def escape(text: object) -> str:
    """Slack mrkdwn control characters (https://docs.slack.dev/messaging/formatting-message-text)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _opts(pairs: Iterable[tuple[str, str]]) -> list[Option]:
    return [Option(value=v, label=label[:75]) for v, label in pairs]


def _label(pairs: Sequence[tuple[str, str]], value: str | None) -> str:
    return dict(pairs).get(value or "", value or "not given")


def dicts(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


# --- times -----------------------------------------------------------------------------------


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def local_time(value: str | None, tz: ZoneInfo | None) -> str:
    at = _parse(value)
    if at is None:
        return "not set"
    if tz is not None:
        at = at.astimezone(tz)
    return at.strftime("%a %d %b %Y %H:%M")


def time_left(due: str | None, now: datetime | None) -> str:
    at = _parse(due)
    if at is None or now is None:
        return ""
    seconds = int((at - now).total_seconds())
    span = abs(seconds)
    days, rest = divmod(span, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        text = f"{days} day{'s' * (days != 1)} {hours} h"
    elif hours:
        text = f"{hours} h {rest // 60} min"
    else:
        text = f"{rest // 60} min"
    return f"overdue by {text}" if seconds < 0 else f"{text} left"


# --- the case card ---------------------------------------------------------------------------


def case_card(
    view: dict[str, Any], *, now: datetime | None = None, tz: ZoneInfo | None = None,
    actions: bool = True,
) -> list[dict[str, Any]]:
    """The card for one case (from :func:`bot.views.case_view`): posted once, updated in place."""
    ref = view["ref"]
    blocks: list[Block] = [
        HeaderBlock(text=f"{ref}: {view['stage_label']}"[:150]),
        SectionBlock(fields=[
            MarkdownTextObject(text=f"*Referring agency*\n{escape(view['referring_agency'] or 'not given')}"),
            MarkdownTextObject(text=f"*Outcome*\n{escape(_label(OUTCOMES, view['outcome']))}"),
            MarkdownTextObject(text=f"*Date of incident*\n{view['incident_date'] or 'not given'}"),
            MarkdownTextObject(text=f"*LA became aware*\n{view['la_aware_date'] or 'not yet recorded'}"),
            MarkdownTextObject(text=f"*Age band*\n{escape(_label(AGE_BANDS, view['age_band']))}"),
            MarkdownTextObject(
                text=f"*Legal status*\n{escape(_label(LEGAL_STATUSES, view['legal_status']))}"
            ),
        ]),
    ]
    facts = []
    if view.get("sin_submitted_at"):
        facts.append(f"Notification submitted {local_time(view['sin_submitted_at'], tz)}")
    if view.get("decision"):
        facts.append(f"Panel decision: {escape(view['decision'])}")
    if view.get("route"):
        facts.append(f"Route: {escape(_label(list(ROUTE_LABELS.items()), view['route']))}")
    if view.get("media_interest") in ("known", "likely"):
        facts.append(f"Media interest: {view['media_interest']}")
    if view.get("parallel_processes"):
        facts.append("Parallel processes: " + ", ".join(
            escape(_label(PARALLEL, p)) for p in view["parallel_processes"]
        ))
    known_missing = {
        "referring agency", "date of incident", "date the local authority became aware",
        "outcome (death or serious harm)", "whether abuse or neglect is known or suspected",
        "child's legal status",
    }
    missing = [m for m in view.get("missing", []) if m in known_missing]
    others = len(view.get("missing", [])) - len(missing)
    if missing or others:
        extra = [f"{others} more item(s) in the case record"] if others else []
        facts.append("Still to complete: " + ", ".join(missing + extra))
    if facts:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(facts))))

    lines = []
    for d in view.get("deadlines", []):
        if d["state"] == "cancelled":
            continue
        mark = STATE_MARK.get(d["state"], "")
        if d["met_at"]:
            when = f"met {local_time(d['met_at'], tz)}"
        else:
            when = f"due {local_time(d['due_at'], tz)} ({time_left(d['due_at'], now) or d['state']})"
        lines.append(f"{mark} {escape(d['label'])}: {when}")
    if lines:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*Deadlines*\n" + "\n".join(lines))))

    returns = []
    for r in view.get("requests", []):
        kind = KIND_LABELS.get(r["kind"], r["kind"])
        if r["status"] == "returned":
            state = f":white_check_mark: returned {local_time(r['returned_at'], tz)}"
        elif r["status"] == "closed":
            state = ":heavy_minus_sign: withdrawn"
        else:
            state = f":hourglass: due {local_time(r['due_at'], tz)}"
            if r["chases"]:
                state += f", chased {r['chases']}x"
            if r["escalated_at"]:
                state += ", escalated"
            if r["bounced_at"]:
                state += ", :warning: bounced"
        returns.append(f"{escape(r['agency'])} ({kind}): {state}")
    if returns:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*Agency returns*\n" + "\n".join(returns))))

    buttons = STAGE_ACTIONS.get(view["stage"], []) if actions else []
    if buttons:
        elements = []
        for name in buttons:
            button = ButtonElement(text=BUTTON_TEXT[name], action_id=f"case_{name}", value=ref)
            if name == "sin_submitted":
                button = ButtonElement(
                    text=BUTTON_TEXT[name], action_id=f"case_{name}", value=ref, style="primary",
                    confirm=ConfirmObject(
                        title="Record the notification?",
                        text=f"Record that the local authority submitted the notification for {ref} "
                        "now. This starts the 15 working day rapid review clock.",
                        confirm="Record", deny="Cancel",
                    ),
                )
            elements.append(button)
        blocks.append(ActionsBlock(block_id=f"card:{ref}", elements=elements))
    if now is not None:
        blocks.append(ContextBlock(elements=[
            MarkdownTextObject(text=f"Updated {local_time(now.isoformat(), tz)}")
        ]))
    return dicts(blocks)


def card_text(view: dict[str, Any]) -> str:
    return f"{view['ref']}: {view['stage_label']}"


# --- modals ----------------------------------------------------------------------------------


def _modal(
    callback_id: str, title: str, blocks: list[Block], meta: dict[str, Any], submit: str = "Submit"
) -> dict[str, Any]:
    return View(
        type="modal", callback_id=callback_id, title=PlainTextObject(text=title[:24]),
        submit=PlainTextObject(text=submit), close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps(meta), blocks=blocks,
    ).to_dict()


def _select(block_id: str, label: str, pairs: Sequence[tuple[str, str]], *, optional: bool = False,
            initial: str | None = None) -> InputBlock:
    options = _opts(pairs)
    chosen = next((o for o in options if o.value == initial), None)
    return InputBlock(
        block_id=block_id, label=label, optional=optional,
        element=StaticSelectElement(action_id="value", options=options, initial_option=chosen,
                                    placeholder="Choose"),
    )


def _multi(block_id: str, label: str, pairs: Sequence[tuple[str, str]], *, optional: bool = True,
           initial: Sequence[str] = ()) -> InputBlock:
    options = _opts(pairs)
    chosen = [o for o in options if o.value in initial]
    return InputBlock(
        block_id=block_id, label=label, optional=optional,
        element=StaticMultiSelectElement(action_id="value", options=options,
                                         initial_options=chosen or None, placeholder="Choose"),
    )


def _date(block_id: str, label: str, *, optional: bool = False, initial: date | None = None) -> InputBlock:
    return InputBlock(
        block_id=block_id, label=label, optional=optional,
        element=DatePickerElement(action_id="value",
                                  initial_date=initial.isoformat() if initial else None),
    )


def _text(block_id: str, label: str, hint: str) -> InputBlock:
    return InputBlock(
        block_id=block_id, label=label, hint=hint,
        element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
    )


def _agency_pairs(protocol: Protocol) -> list[tuple[str, str]]:
    return [(a.slug, a.name) for a in protocol.agencies]


def referral_modal(protocol: Protocol) -> dict[str, Any]:
    """/serious-incident: the referral form without identifying fields (process.md 7.1)."""
    agencies = _agency_pairs(protocol)
    blocks: list[Block] = [
        ContextBlock(elements=[MarkdownTextObject(text=NO_NAMES)]),
        _select("referring_agency", "Referring agency", agencies),
        _date("incident_date", "Date of incident"),
        _date("la_aware_date", "Date the local authority became aware", optional=True),
        _select("outcome", "Outcome", OUTCOMES),
        _select("abuse_neglect", "Abuse or neglect known or suspected", ANSWERS),
        _select("legal_status", "Child's legal status", LEGAL_STATUSES),
        _select("age_band", "Age band", AGE_BANDS),
        _multi("agencies_involved", "Agencies known to be involved", agencies),
        InputBlock(
            block_id="parallel_processes", label="Parallel processes", optional=True,
            element=CheckboxesElement(action_id="value", options=_opts(PARALLEL)),
        ),
        _select("media_interest", "Known or likely media interest", MEDIA, optional=True),
    ]
    return _modal("si_referral", "Serious incident", blocks, {}, submit="Refer")


def reason_hint() -> str:
    return "Kept in the case record only; never posted in Slack. Do not type names."


def accept_modal(ref: str, la_aware: date | None) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=f"The criteria are met for *{ref}*. The notification clock "
                          "(5 working days) runs from the date the local authority became aware."),
        _date("la_aware_date", "Date the local authority became aware", initial=la_aware),
    ]
    return _modal("si_accept", f"Accept {ref}", blocks, {"ref": ref}, submit="Accept")


def not_met_modal(ref: str) -> dict[str, Any]:
    blocks: list[Block] = [
        _select("route", "Route", list(ROUTE_LABELS.items())),
        _text("reason", "Reason", reason_hint()),
    ]
    return _modal("si_not_met", f"Not met {ref}", blocks, {"ref": ref})


def requests_modal(ref: str, kind: str, protocol: Protocol, preselected: Sequence[str]) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=f"Send {KIND_LABELS[kind]} requests for *{ref}* by email to each agency's "
                          "safeguarding inbox. Agencies already asked are skipped."),
        _multi("agencies", "Agencies", _agency_pairs(protocol), optional=False, initial=preselected),
    ]
    return _modal("si_requests", "Send requests", blocks, {"ref": ref, "kind": kind}, submit="Send")


def decide_modal(ref: str) -> dict[str, Any]:
    options = [(o, o.replace("-", " ").capitalize()) for o in DECISIONS]
    blocks: list[Block] = [
        _select("option", "Panel decision", options),
        _text("rationale", "Rationale", reason_hint()),
    ]
    return _modal("si_decide", f"Decision {ref}", blocks, {"ref": ref}, submit="Record")


def return_modal(ref: str, outstanding: Sequence[tuple[str, str]]) -> dict[str, Any]:
    pairs = [
        (f"{agency}|{kind}", f"{agency} ({KIND_LABELS.get(kind, kind)})") for agency, kind in outstanding
    ]
    blocks: list[Block] = [
        SectionBlock(text=f"Record a return for *{ref}* that arrived by other means "
                          "(secure upload, by hand). Its chasers stop."),
        _select("request", "Agency and request", pairs),
    ]
    return _modal("si_return", "Return received", blocks, {"ref": ref}, submit="Record")


def close_modal(ref: str) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=f"Closing *{ref}* stops every clock and chaser."),
        _text("reason", "Reason", reason_hint()),
    ]
    return _modal("si_close", f"Close {ref}", blocks, {"ref": ref}, submit="Close case")


def assign_modal(item_id: int, refs: Sequence[str], protocol: Protocol) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=f"Triage item {item_id} is an agency's return for:"),
        _select("ref", "Case", [(r, r) for r in refs]),
        _select("agency", "Agency", _agency_pairs(protocol)),
        _select("kind", "Request", [(k, KIND_LABELS[k]) for k in REQUEST_KINDS], optional=True),
    ]
    return _modal("si_triage_assign", "Assign triage item", blocks, {"item": item_id, "home": True},
                  submit="Assign")


def dismiss_modal(item_id: int) -> dict[str, Any]:
    blocks: list[Block] = [_text("reason", "Reason", reason_hint())]
    return _modal("si_triage_dismiss", "Dismiss triage item", blocks, {"item": item_id, "home": True},
                  submit="Dismiss")


# --- App Home and short messages -------------------------------------------------------------


def board_blocks(rows: list[dict[str, Any]], tz: ZoneInfo | None) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text="Open cases")]
    if not rows:
        blocks.append(SectionBlock(text="No open cases."))
    for row in rows:
        nxt = row["next_deadline"]
        if nxt:
            mark = STATE_MARK.get(nxt["state"], "")
            deadline = f"{mark} next deadline {local_time(nxt['due_at'], tz)}"
        else:
            deadline = "no open deadline"
        waiting = ", ".join(escape(a) for a in row["returns_outstanding"]) or "none"
        blocks.append(SectionBlock(
            text=MarkdownTextObject(
                text=f"*{row['ref']}*: {escape(row['stage_label'])}\n{deadline}\n"
                     f"Returns outstanding: {waiting}"
            ),
        ))
    return blocks


def triage_blocks(items: list[dict[str, Any]], tz: ZoneInfo | None) -> list[Block]:
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text="Triage: mail to look at")]
    if not items:
        blocks.append(SectionBlock(text="Nothing waiting."))
    for item in items:
        # Sender domain, case, agency and counts only; subjects and bodies stay in the database.
        about = ", ".join(x for x in [
            f"from {escape(item['sender_domain'])}" if item["sender_domain"] else "",
            f"case {item['case']}" if item["case"] else "",
            f"agency {escape(item['agency'])}" if item["agency"] else "",
            f"{item['attachments']} attachment(s)",
        ] if x)
        blocks.append(SectionBlock(
            text=MarkdownTextObject(
                text=f"*Item {item['id']}* received {local_time(item['received_at'], tz)}\n{about}"
            ),
        ))
        blocks.append(ActionsBlock(block_id=f"triage:{item['id']}", elements=[
            ButtonElement(text="Assign to a request", action_id="triage_assign", value=str(item["id"])),
            ButtonElement(text="Dismiss", action_id="triage_dismiss", value=str(item["id"])),
        ]))
    return blocks


def next_step(stage: str) -> str:
    return {
        Stage.REFERRAL_RECEIVED: "The business unit will screen it against the serious incident "
        "criteria and may contact you by secure email for the identifying details.",
        Stage.TRIAGE: "The business unit is screening it against the criteria.",
        Stage.SIN_PENDING: "The criteria are met; the local authority is notifying the National Panel.",
        Stage.INFO_GATHERING: "Agencies are being asked for information for the rapid review.",
        Stage.PANEL_DECISION: "The rapid review panel will decide on the next steps.",
    }.get(stage, "The business unit will keep you informed.")


def my_referrals_blocks(rows: list[dict[str, Any]]) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text="Your serious incident referrals"),
        ContextBlock(elements=[MarkdownTextObject(text=NO_NAMES)]),
    ]
    if not rows:
        blocks.append(SectionBlock(text="You have not raised a referral. Use /serious-incident to make one."))
    for row in rows:
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text=f"*{row['ref']}*: {escape(row['stage_label'])}\n{next_step(row['stage'])}"
        )))
    return blocks


def home_view(blocks: list[Block]) -> dict[str, Any]:
    return View(type="home", blocks=blocks).to_dict()


HELP = (
    "*/serious-incident*: refer a serious incident (a form without names)\n"
    "*/serious-incident status REF*: where a case is\n"
    "*/serious-incident list*: open cases (business unit) or the referrals you raised\n"
    "*/serious-incident help*: this message\n"
    "Identifying details go by secure email to the business unit, never in Slack."
)


def check_modal(view: dict[str, Any]) -> None:
    """Validate a modal against slack_sdk's model rules (used by tests)."""
    View(**view).validate_json()
