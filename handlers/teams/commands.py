"""What a person types to the bot: ``refer``, ``media``, ``status REF``, ``board``, ``triage``,
``enquiries``, ``help``. Each is one use case, rendered as a card in the same conversation.

Teams has no message only one person sees in a channel (Slack's ephemeral), so in a channel the
bot only offers the forms (a dialog is private) and says to ask anything else in a personal chat:
a case's status or the board is never answered where the whole channel would read it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from microsoft_teams.cards import AdaptiveCard

from bot.actors import Actor
from bot.errors import ServiceError
from bot.privacy import plain_label
from bot.usecases import cases, media, triage
from bot.usecases.result import Result, plain_text
from handlers.teams.cards import card_message, dialog_button, envelope, text_message
from handlers.teams.text import dump, fixed, heading
from handlers.teams.views import (
    NO_NAMES,
    board_card,
    case_card,
    enquiries_card,
    media_card,
    own_card,
    triage_card,
)

if TYPE_CHECKING:
    from handlers.teams.door import TeamsDoor

#: A mention of the bot in a channel message ("<at>review-bot</at> refer"); bounded, linear.
_MENTION = re.compile(r"<at>[^<]{0,200}</at>")
HELP = (
    "refer: refer a serious incident (a form without names)\n"
    "media: report a journalist's enquiry\n"
    "status SI-2026-0001 or status ME-2026-0001: where a case or an enquiry is\n"
    "board: open cases (business unit) or the referrals you raised\n"
    "triage: mail to look at (business unit)\n"
    "enquiries: open media enquiries (the media team)\n"
    "Identifying details go by secure email to the business unit, never in Teams."
)
IN_PRIVATE = "Ask me that in a personal chat with the bot: a channel would show the answer to everyone."


def words_of(text: str) -> tuple[str, str]:
    text = _MENTION.sub(" ", text[:2000]).strip()
    word, _, rest = text.partition(" ")
    return word.lower(), rest.strip()


def handle(door: TeamsDoor, actor: Actor, activity: dict[str, Any], text: str) -> dict[str, Any] | None:
    word, rest = words_of(text)
    personal = (activity.get("conversation") or {}).get("conversationType", "personal") == "personal"
    if word in ("", "refer", "new", "serious-incident"):
        return form_offer("Refer a serious incident", "Open the referral form", "refer", NO_NAMES)
    if word in ("media", "media-enquiry"):
        return form_offer("Report a media enquiry", "Open the media enquiry form", "enquiry",
                          "The journalist's name, contact and your summary go to the press office by "
                          "email only; they are never posted in Teams.")
    if word == "help":
        return text_message(HELP)
    if word not in ("status", "board", "list", "triage", "enquiries"):
        return text_message("I do not know that command.\n" + HELP)
    if not personal:
        return text_message(IN_PRIVATE)
    try:
        return answer(door, actor, word, rest)
    except ServiceError as exc:
        return text_message(str(exc))


def answer(door: TeamsDoor, actor: Actor, word: str, rest: str) -> dict[str, Any]:
    core, tz, now = door.core, door.core.calendar.tz, door.core.clock.now()
    if word == "status":
        ref = rest.split(" ", 1)[0].upper()
        if not ref:
            return text_message("Say which: status SI-2026-0001, or status ME-2026-0001")
        if ref.startswith("ME-"):
            result = media.enquiry_status(core, actor, ref)
            return _card(result, media_card(result.view or {}, result.actions, now=now, tz=tz))
        if not ref.startswith("SI-"):
            return text_message(f"There is no case '{plain_label(ref, field='reference', limit=20)}' "
                                "among the referrals you can see.")
        result = cases.case_status(core, actor, ref)
        return _card(result, case_card(result.view or {}, result.actions, now=now, tz=tz))
    if word in ("board", "list"):
        result = cases.case_board(core, actor)
        view = result.view or {}
        rows = view.get("rows", [])
        return _card(result, board_card(rows, tz=tz) if view.get("kind") == "board" else own_card(rows))
    if word == "triage":
        result = triage.triage(core, actor)
        return _card(result, triage_card((result.view or {}).get("items", []), result.actions, tz=tz))
    return media_list(door, actor)[0]


def media_list(door: TeamsDoor, actor: Actor) -> tuple[dict[str, Any], dict[str, Any]]:
    """The media team's list as a message and as its card (the card replaces itself after a
    Cancel: the Universal Actions answer, handlers/teams/door.py)."""
    result = media.enquiries(door.core, actor)
    view = result.view or {}
    built = enquiries_card(view.get("enquiries", []), tz=door.core.calendar.tz,
                           absences=view.get("absences", []))
    return _card(result, built), built


def _card(result: Result, card: dict[str, Any]) -> dict[str, Any]:
    return card_message(card, plain_text(result.message))


def form_offer(title: str, button: str, use: str, notice: str) -> dict[str, Any]:
    """A message cannot open a dialog by itself: a card with the button that does."""
    card = AdaptiveCard(body=[heading(title), fixed(notice, subtle=True)],
                        actions=[dialog_button(button, envelope(use), "positive")])
    return card_message(dump(card), title)
