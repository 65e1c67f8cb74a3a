"""The case card's buttons: business unit only, checked here on the server for every press.

Each button opens the modal that asks what the service needs (the submission is handled in
:mod:`handlers.slack.views`), except "Notification submitted", which calls the service directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import cases
from bot.agency_requests import requests_of
from bot.cases import get_case
from bot.core import Core
from bot.errors import ServiceError
from bot.models import Case
from bot.privacy import safe_message
from bot.settings import Settings
from handlers.slack import modals
from handlers.slack.access import Access, actor, tell
from handlers.slack.views import refresh_card


def _requests_modal(kind: str) -> Callable[[Core, Any, Case], dict[str, Any]]:
    def build(core: Core, session: Any, case: Case) -> dict[str, Any]:
        if kind == "info-gathering":
            chosen = [a.slug for a in core.protocol.statutory_partners()] + list(case.agencies_involved)
        else:
            chosen = sorted({r.agency for r in requests_of(session, case) if r.kind == "info-gathering"})
        return modals.requests_modal(case.ref, kind, core.protocol, chosen)

    return build


def _return_modal(core: Core, session: Any, case: Case) -> dict[str, Any]:
    waiting = [(r.agency, r.kind) for r in requests_of(session, case) if r.status == "sent"]
    if not waiting:
        raise ServiceError(f"{case.ref} is not waiting for any return")
    return modals.return_modal(case.ref, waiting)


MODALS: dict[str, Callable[[Core, Any, Case], dict[str, Any]]] = {
    "accept": lambda core, s, case: modals.accept_modal(case.ref, case.la_aware_date),
    "not_met": lambda core, s, case: modals.not_met_modal(case.ref),
    "send_info": _requests_modal("info-gathering"),
    "send_chronology": _requests_modal("chronology"),
    "decide": lambda core, s, case: modals.decide_modal(case.ref),
    "return": _return_modal,
    "close": lambda core, s, case: modals.close_modal(case.ref),
}


def register(app: App, core: Core, settings: Settings, access: Access | None = None) -> None:
    access = access or Access(core, settings, app.client)
    @app.action(re.compile(r"^case_[a-z_]+$"))
    def case_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action = body["actions"][0]
        name, ref = action["action_id"].removeprefix("case_"), action.get("value", "")
        user_id = body["user"]["id"]
        if not access.is_business_unit(user_id):
            access.refuse(client, body, action=name, ref=ref)
            return
        try:
            with core.transaction() as session:
                case = get_case(session, ref)
                case_id = case.id
                if name == "sin_submitted":
                    cases.record_sin_submitted(session, core, case, at=None, actor=actor(user_id))
                    modal = None
                elif name in MODALS:
                    modal = MODALS[name](core, session, case)
                else:
                    raise ServiceError("that button is not known; the card may be out of date")
        except ServiceError as exc:
            tell(client, body, safe_message(str(exc)))
            return
        if modal is None:
            refresh_card(core, client, settings, case_id)
        else:
            client.views_open(trigger_id=body["trigger_id"], view=modal)
