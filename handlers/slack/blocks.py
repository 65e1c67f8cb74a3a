"""Block Kit for the bot: the case card, the modals and App Home, built with slack_sdk's models.

Everything here renders the read models of :mod:`bot.views` or the protocol's fixed lists.
Nothing typed into a modal is ever rendered: cards carry references, stages, dates, agencies
and deadlines only (process.md 8.4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import action_plan, cases, vocabulary
from bot.privacy import mrkdwn_escape, safe_label
from bot.stages import CLOSED_STAGES
from bot.usecases import common
from bot.usecases.cases import card_actions
from bot.usecases.result import NextAction, spans

# --- the core's vocabulary, as Slack shows it -------------------------------------------------

OUTCOMES = vocabulary.OUTCOMES
LEGAL_STATUSES = vocabulary.LEGAL_STATUSES
AGE_BANDS = list(vocabulary.AGE_BANDS)
PARALLEL = vocabulary.PARALLEL
KIND_LABELS = vocabulary.REQUEST_KIND_LABELS
ROUTE_LABELS = vocabulary.ROUTE_LABELS
STATE_MARK = {
    "overdue": ":red_circle:", "due-soon": ":large_orange_circle:", "open": ":white_circle:",
    "met": ":white_check_mark:", "met-late": ":heavy_check_mark:", "cancelled": ":heavy_minus_sign:",
}
NO_NAMES = ":lock: " + common.NO_NAMES


escape = mrkdwn_escape  # fixed vocabulary; typed labels go through bot.privacy.safe_label


def message_text(message: str) -> str:
    """A use case's message (bot/usecases/result.py) as mrkdwn: its emphasis bold, the rest escaped."""
    return "".join(f"*{escape(text)}*" if bold else escape(text) for text, bold in spans(message))


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


def button(prefix: str, value: str, action: NextAction) -> ButtonElement:
    """One of the core's next actions as a button: ``<prefix><name>``, its confirmation if any."""
    confirm = None
    if action.confirm:
        confirm = ConfirmObject(title=(action.confirm_title or "Are you sure?")[:100],
                                text=action.confirm[:300], confirm=action.confirm_button or "Confirm",
                                deny="Cancel")
    return ButtonElement(text=action.label[:75], action_id=f"{prefix}{action.name}", value=value,
                         style=action.style if action.style in ("primary", "danger") else None,
                         confirm=confirm)


def action_block(block_id: str, prefix: str, value: str, actions: Sequence[NextAction]) -> ActionsBlock:
    """The core's next actions as a row of buttons (one renderer for every card and list)."""
    return ActionsBlock(block_id=block_id, elements=[button(prefix, value, a) for a in actions])


def case_card(
    view: dict[str, Any], *, now: datetime | None = None, tz: ZoneInfo | None = None,
    actions: bool | Sequence[NextAction] = True,
) -> list[dict[str, Any]]:
    """The card for one case (from :func:`bot.views.case_view`): posted once, updated in place.
    ``actions``: True, the business unit's buttons for the stage (the channel's card); False,
    none; or the actions a use case gave for one person."""
    ref = view["ref"]
    blocks: list[Block] = [
        HeaderBlock(text=f"{ref}: {view['stage_label']}"[:150]),
        SectionBlock(fields=[
            MarkdownTextObject(text=f"*Referring agency*\n{escape(view['referring_agency'] or 'not given')}"),
            MarkdownTextObject(text=f"*Outcome*\n{escape(_label(OUTCOMES, view['outcome']))}"),
            MarkdownTextObject(text=f"*Date of incident*\n{view['incident_date'] or 'not given'}"),
            MarkdownTextObject(text=f"*LA became aware*\n{view['la_aware_date'] or 'not yet recorded'}"),
            # Only a protocol band is ever shown (process.md 7.1), whatever an old row holds.
            MarkdownTextObject(
                text="*Age band*\n" + dict(AGE_BANDS).get(view["age_band"] or "", "not given")
            ),
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
        "child's legal status", cases.AGE_BAND_NOTE,
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
        if d["state"] == "cancelled" or d.get("kind") == action_plan.CLOCK:  # the plan's counts say it
            continue
        mark = STATE_MARK.get(d["state"], "")
        if d["met_at"]:
            when = f"met {local_time(d['met_at'], tz)}"
        else:
            when = f"due {local_time(d['due_at'], tz)} ({time_left(d['due_at'], now) or d['state']})"
        lines.append(f"{mark} {escape(d['label'])}: {when}")
    if lines:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*Deadlines*\n" + "\n".join(lines))))
    if view.get("actions"):  # counts only (decision 0027): an action's text never reaches a chat
        plan = action_plan.card_line(view["actions"]).replace("REF", ref)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Action plan*\n{escape(plan)}")))
    if view.get("next_step") and view["stage"] not in CLOSED_STAGES:  # fixed words per stage (bot.stages)
        nxt = view.get("next_deadline")
        owed = (f"\nNext deadline: {escape(nxt['label'])}, {escape(nxt['owner_label'])}, due "
                f"{local_time(nxt['due_at'], tz)}" if nxt else "")
        step = f"*Next step*\n{escape(view['next_step'])}{owed}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=step)))

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

    shown = (card_actions(view["stage"], view) if actions is True else actions) if actions else ()
    if shown:
        blocks.append(action_block(f"card:{ref}", "case_", ref, shown))
    if now is not None:
        blocks.append(ContextBlock(elements=[
            MarkdownTextObject(text=f"Updated {local_time(now.isoformat(), tz)}")
        ]))
    return dicts(blocks)


def card_text(view: dict[str, Any]) -> str:
    return f"{view['ref']}: {view['stage_label']}"


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


def triage_blocks(items: list[dict[str, Any]], tz: ZoneInfo | None,
                  actions: Sequence[NextAction] = ()) -> list[Block]:
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text="Triage: mail to look at")]
    if not items:
        blocks.append(SectionBlock(text="Nothing waiting."))
    for item in items:
        # Sender domain, case, agency and counts only; subjects and bodies stay in the database.
        about = ", ".join(x for x in [
            f"from {safe_label(item['sender_domain'], field='domain')}" if item["sender_domain"] else "",
            f"case {item['case']}" if item["case"] else "",
            f"agency {safe_label(item['agency'], field='agency')}" if item["agency"] else "",
            f"{item['attachments']} attachment(s)",
        ] if x)
        blocks.append(SectionBlock(
            text=MarkdownTextObject(
                text=f"*Item {item['id']}* received {local_time(item['received_at'], tz)}\n{about}"
            ),
        ))
        if actions:
            blocks.append(action_block(f"triage:{item['id']}", "", str(item["id"]), actions))
    return blocks


def my_referrals_blocks(rows: list[dict[str, Any]]) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text="Your serious incident referrals"),
        ContextBlock(elements=[MarkdownTextObject(text=NO_NAMES)]),
    ]
    if not rows:
        blocks.append(SectionBlock(text="You have not raised a referral. Use /serious-incident to make one."))
    for row in rows:
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text=f"*{row['ref']}*: {escape(row['stage_label'])}\n{escape(row['next_step'])}"
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

