"""``/serious-incident``: open the referral form, or ``status REF``, ``list``, ``help``."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import col, select

from bot.cases import get_case
from bot.core import Core
from bot.errors import NotFound
from bot.models import Case
from bot.privacy import safe_label
from bot.settings import Settings
from bot.stages import LABELS, Stage
from bot.views import case_list, case_view
from handlers.slack.access import Access, actor
from handlers.slack.blocks import (
    HELP,
    board_blocks,
    card_text,
    case_card,
    dicts,
    my_referrals_blocks,
)
from handlers.slack.modals import referral_modal

COMMAND = "/serious-incident"


def own_referrals(core: Core, user_id: str) -> list[dict[str, Any]]:
    with core.transaction() as session:
        cases = session.exec(select(Case).where(Case.referrer == actor(user_id)).order_by(col(Case.id)))
        return [
            {"ref": c.ref, "stage": c.stage, "stage_label": LABELS[Stage(c.stage)]} for c in cases
        ]


def register(app: App, core: Core, settings: Settings, access: Access | None = None) -> None:
    access = access or Access(core, settings, app.client)
    @app.command(COMMAND)
    def serious_incident(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        word, _, rest = (body.get("text") or "").strip().partition(" ")
        word = word.lower()
        user_id = body["user_id"]
        if word in ("", "new", "refer"):
            ack()
            client.views_open(trigger_id=body["trigger_id"], view=referral_modal(core.protocol))
            return
        ack()
        if word == "help":
            respond(text=HELP)
        elif word == "status":
            respond(**status(core, access, user_id, rest.strip()))
        elif word == "list":
            respond(**listing(core, access, user_id))
        else:
            respond(text="I do not know that sub-command.\n" + HELP)


def status(core: Core, access: Access, user_id: str, ref: str) -> dict[str, Any]:
    if not ref:
        return {"text": "Say which case: /serious-incident status SI-2026-0001"}
    business_unit = access.is_business_unit(user_id)
    with core.transaction() as session:
        try:
            case = get_case(session, ref)
        except NotFound:
            case = None
        if case is not None and (business_unit or case.referrer == actor(user_id)):
            view = case_view(session, core, case)
        else:
            view = None
    if view is None:
        if case is not None:
            access.record_refusal(user_id, "status", case.ref)
        # The same answer whether the case exists or not: no probing for references.
        asked = safe_label(ref, field="reference", limit=20)
        return {"text": f"There is no case '{asked}' among the referrals you can see."}
    blocks = case_card(view, now=core.clock.now(), tz=core.calendar.tz, actions=False)
    return {"text": card_text(view), "blocks": blocks}


def listing(core: Core, access: Access, user_id: str) -> dict[str, Any]:
    tz = core.calendar.tz
    if access.is_business_unit(user_id):
        with core.transaction() as session:
            rows = case_list(session, core)
        return {"text": f"{len(rows)} open case(s)", "blocks": dicts(board_blocks(rows, tz))[:50]}
    rows = own_referrals(core, user_id)
    return {"text": f"{len(rows)} referral(s) you raised", "blocks": dicts(my_referrals_blocks(rows))[:50]}
