"""``/serious-incident``: open the referral form, or ``status REF``, ``list``, ``help``.

Translation only (issue 11): parse the sub-command, call one use case, render its result.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.core import Core
from bot.errors import ServiceError
from bot.privacy import safe_message
from bot.settings import Settings
from bot.usecases import cases
from handlers.slack.access import Access
from handlers.slack.blocks import (
    HELP,
    board_blocks,
    card_text,
    case_card,
    dicts,
    message_text,
    my_referrals_blocks,
)
from handlers.slack.modals import form_modal

COMMAND = "/serious-incident"


def register(app: App, core: Core, settings: Settings, access: Access | None = None) -> None:
    access = access or Access(core, settings, app.client)

    @app.command(COMMAND)
    def serious_incident(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        word, _, rest = (body.get("text") or "").strip().partition(" ")
        actor = access.actor(body["user_id"])
        if word.lower() in ("", "new", "refer"):
            form = cases.referral_form(core, actor)
            client.views_open(trigger_id=body["trigger_id"], view=form_modal(form))
        elif word.lower() == "help":
            respond(text=HELP)
        elif word.lower() == "status":
            respond(**status(core, access, body["user_id"], rest.strip()))
        elif word.lower() == "list":
            respond(**listing(core, access, body["user_id"]))
        else:
            respond(text="I do not know that sub-command.\n" + HELP)


def status(core: Core, access: Access, user_id: str, ref: str) -> dict[str, Any]:
    if not ref:
        return {"text": "Say which case: /serious-incident status SI-2026-0001"}
    try:
        result = cases.case_status(core, access.actor(user_id), ref)
    except ServiceError as exc:
        return {"text": safe_message(str(exc))}
    assert result.view is not None
    blocks = case_card(result.view, now=core.clock.now(), tz=core.calendar.tz, actions=False)
    return {"text": card_text(result.view), "blocks": blocks}


def listing(core: Core, access: Access, user_id: str) -> dict[str, Any]:
    result = cases.case_board(core, access.actor(user_id))
    assert result.view is not None
    rows = result.view["rows"]
    if result.view["kind"] == "board":
        built = board_blocks(rows, core.calendar.tz)
    else:
        built = my_referrals_blocks(rows)
    return {"text": message_text(result.message), "blocks": dicts(built)[:50]}
