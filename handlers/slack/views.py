"""Modal submissions of the case side: read the answers, call ONE use case, answer the form.

The use case runs before ``ack()`` so that a refusal appears in the form
(``response_action="errors"``, on the field the core names); it is quick database work. Slack
calls (the thank-you DM, App Home) happen after the ``ack()``; the case card is the notifier's.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.actors import Actor
from bot.core import Core
from bot.errors import Invalid, ServiceError
from bot.settings import Settings
from bot.usecases import cases, triage
from bot.usecases.result import Result
from handlers.slack.access import Access, dm
from handlers.slack.blocks import message_text
from handlers.slack.home import publish_home
from handlers.slack.modals import action_of, answers, field_errors
from handlers.slack.replay import view_key

log = logging.getLogger(__name__)
#: What the door itself adds to a form's metadata (not the core's context).
DOOR_META = ("ref", "home")


def submit(core: Core, actor: Actor, action: str, values: dict[str, Any], meta: dict[str, Any],
           key: str | None) -> Result:
    if action == "refer":
        return cases.refer(core, actor, values, key=key)
    if action in ("triage_assign", "triage_dismiss"):
        return triage.act_on_triage(core, actor, int(meta.get("item") or 0), action, values, key=key)
    context = {k: v for k, v in meta.items() if k not in DOOR_META}
    return cases.act(core, actor, str(meta.get("ref") or ""), action, values, key=key, context=context)


def register(app: App, core: Core, settings: Settings, access: Access | None = None) -> None:
    access = access or Access(core, settings, app.client)

    @app.view(re.compile(r"^si_[a-z_]+$"))
    def submitted(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        meta = json.loads(view.get("private_metadata") or "{}")
        values = answers(view)
        action = action_of(view["callback_id"])
        try:
            result = submit(core, access.actor(user_id), action, values, meta, view_key(body))
        except Invalid as exc:
            ack(response_action="errors", errors=field_errors(exc.errors, list(values)))
            return
        except ServiceError as exc:  # a refusal: shown on the form's first field
            ack(response_action="errors", errors=field_errors({"": str(exc)}, list(values)))
            return
        ack()
        if result.repeat:
            return  # the same submission again: everything it did is done already
        if any(n.to == f"slack:{user_id}" and n.kind == "referral_received" for n in result.notify):
            try:
                dm(client, user_id, f"{message_text(result.message)}\nSee where it is with "
                                    f"`/serious-incident status {result.ref}`.")
            except SlackApiError:
                log.exception("could not tell %s about %s", user_id, result.ref)
        if meta.get("home"):
            publish_home(core, client, access, user_id)
