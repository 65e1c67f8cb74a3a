"""``/media-enquiry``, the media alert's buttons and the statement editor (issue 4), as a door
(issue 11): parse, call one use case of :mod:`bot.usecases.media`, render. Who may do what, the
statement-reuse and version-conflict rules and every refusal's audit are in the core.

The journalist's name, contact and the summary typed into the form go to the database (and, from
the core, by email to the press office and business manager) and nowhere else: not into a post,
a DM, an ephemeral message or a log line. The alert is the Slack notifier's to post and update.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import media_team
from bot.core import Core
from bot.errors import Invalid, ServiceError
from bot.privacy import safe_message
from bot.settings import Settings
from bot.usecases import media
from bot.usecases.result import Form
from handlers.slack.access import Access, dm, tell
from handlers.slack.blocks import dicts, message_text
from handlers.slack.media_blocks import (
    MEDIA_HELP,
    alert_blocks,
    alert_text,
    deadline_text,
    enquiry_rows,
    outlet_label,
)
from handlers.slack.modals import answers, field_errors, form_modal
from handlers.slack.replay import action_key, first_time, view_key

log = logging.getLogger(__name__)

COMMAND = "/media-enquiry"


def status(core: Core, access: Access, user_id: str, ref: str) -> dict[str, Any]:
    if not ref:
        return {"text": f"Say which enquiry: {COMMAND} status ME-2026-0001"}
    try:
        result = media.enquiry_status(core, access.actor(user_id), ref)
    except ServiceError as exc:
        return {"text": safe_message(str(exc))}
    view, now, tz = result.view or {}, core.clock.now(), core.calendar.tz
    if not result.data.get("team"):  # the raiser sees that it is being handled, nothing more
        return {"text": f"{view['ref']} ({outlet_label(view)}): {view['status']}; journalist's "
                        f"deadline {deadline_text(view, now, tz)}.\n{media.M2}"}
    blocks = alert_blocks(view, core.protocol, media_team.media_people(core), now=now, tz=tz, actions=False)
    return {"text": alert_text(view), "blocks": blocks}


def listing(core: Core, access: Access, user_id: str) -> dict[str, Any]:
    try:
        result = media.enquiries(core, access.actor(user_id))
    except ServiceError as exc:
        return {"text": safe_message(str(exc))}
    views = (result.view or {}).get("enquiries", [])
    blocks = dicts(enquiry_rows(views, now=core.clock.now(), tz=core.calendar.tz))
    return {"text": message_text(result.message), "blocks": blocks[:50]}


def register(app: App, core: Core, settings: Settings, access: Access | None = None) -> None:
    access = access or Access(core, settings, app.client)

    @app.command(COMMAND)
    def media_enquiry(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        word, _, rest = (body.get("text") or "").strip().partition(" ")
        if word.lower() in ("", "new", "report"):
            form = media.enquiry_form(core, access.actor(body["user_id"]))
            client.views_open(trigger_id=body["trigger_id"], view=form_modal(form))
        elif word.lower() == "help":
            respond(text=MEDIA_HELP)
        elif word.lower() == "status":
            respond(**status(core, access, body["user_id"], rest.strip()))
        elif word.lower() == "list":
            respond(**listing(core, access, body["user_id"]))
        else:
            respond(text="I do not know that sub-command.\n" + MEDIA_HELP)

    @app.view("media_enquiry")
    def enquiry_submitted(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user_id, values = body["user"]["id"], answers(view)
        try:
            result = media.raise_enquiry(core, access.actor(user_id), values, key=view_key(body))
        except Invalid as exc:
            ack(response_action="errors", errors=field_errors(exc.errors, list(values)))
            return
        except ServiceError as exc:
            ack(response_action="errors", errors=field_errors({"": str(exc)}, list(values)))
            return
        ack()
        if result.repeat:
            return  # the same submission again: one enquiry, one alert, one thank-you
        try:
            dm(client, user_id,
               f"{message_text(result.message)} See where it is with `{COMMAND} status {result.ref}`.")
        except SlackApiError:
            log.exception("could not tell %s about %s", user_id, result.ref)

    @app.action(re.compile(r"^media_(ack|draft|approve|release|press_release)$"))
    def alert_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        pressed = body["actions"][0]
        name, ref = pressed["action_id"].removeprefix("media_"), str(pressed.get("value", ""))
        key = action_key(body)  # acknowledge, approve, release: once per press (0018)
        try:
            got = media.press(core, access.actor(body["user"]["id"]), ref, name, key=key)
        except ServiceError as exc:
            if first_time(core, key):  # the refusal is audited and told once
                tell(client, body, str(exc))
            return
        if isinstance(got, Form):
            if first_time(core, key):
                client.views_open(trigger_id=body["trigger_id"], view=form_modal(got))
        elif not got.repeat:
            tell(client, body, got.message)

    @app.view("media_statement")
    def statement_saved(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        meta, values = json.loads(view.get("private_metadata") or "{}"), answers(view)
        ref = str(meta.pop("ref", "") or "")
        try:
            media.act_on_enquiry(core, access.actor(body["user"]["id"]), ref, "draft", values,
                                 key=view_key(body), context=meta)
        except Invalid as exc:
            ack(response_action="errors", errors=field_errors(exc.errors, list(values)))
            return
        except ServiceError as exc:
            ack(response_action="errors", errors=field_errors({"": str(exc)}, list(values)))
            return
        ack()
