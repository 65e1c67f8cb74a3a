"""The case card's buttons: each press is one use case (issue 11), authorised in the core.

A button whose action needs answers opens the core's form as a modal (the submission is handled
in :mod:`handlers.slack.views`); one that needs none (after Slack's confirmation) is done.
The card itself is updated by the Slack notifier after the commit, never from here.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core import Core
from bot.errors import ServiceError
from bot.settings import Settings
from bot.usecases import cases
from bot.usecases.result import Form
from handlers.slack.access import Access, tell
from handlers.slack.modals import form_modal
from handlers.slack.replay import action_key, first_time


def register(app: App, core: Core, settings: Settings, access: Access | None = None) -> None:
    access = access or Access(core, settings, app.client)

    @app.action(re.compile(r"^case_[a-z_]+$"))
    def case_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        pressed = body["actions"][0]
        name, ref = pressed["action_id"].removeprefix("case_"), str(pressed.get("value", ""))
        key = action_key(body)  # the press acts once however often its body arrives (0018)
        try:
            got = cases.press(core, access.actor(body["user"]["id"]), ref, name, key=key)
        except ServiceError as exc:
            if first_time(core, key):  # the refusal is audited and told once
                tell(client, body, str(exc))
            return
        if isinstance(got, Form) and first_time(core, key):
            client.views_open(trigger_id=body["trigger_id"], view=form_modal(got))
