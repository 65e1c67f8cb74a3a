"""The Teams door: one authenticated activity in, one use case, one answer out (issue 11).

Parse the activity (the SDK's models), name the person (``resolve_actor`` with their Entra
object id), call one use case, render what it returns. Nothing here decides who may do what:
a refusal comes from the core, which audits it. Kinds of activity:

- ``message``: a command typed to the bot (handlers/teams/commands.py);
- ``invoke`` ``task/fetch``: a button asking for a dialog; the core's :class:`Form` is rendered;
- ``invoke`` ``task/submit``: the dialog's values go to the use case; errors naming a field
  come back beside it;
- ``invoke`` ``adaptiveCard/action``: a card button without a form (``Action.Execute``).

Teams may deliver an activity twice; its id is the idempotency key (bot/doors.py).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from microsoft_teams.api import ActivityTypeAdapter
from pydantic import ValidationError

from bot.actors import Actor, resolve_actor
from bot.core import Core
from bot.errors import Invalid, ServiceError
from bot.settings import Settings
from bot.usecases.result import FIELD_KINDS, Result, plain_text
from handlers.teams import commands, offers
from handlers.teams.cards import CARD, ENVELOPE, dialog, dialog_closed, form_card, text_message, values_of
from handlers.teams.connector import Connector

log = logging.getLogger(__name__)

Answer = tuple[int, dict[str, Any] | None]
MESSAGE = "application/vnd.microsoft.activity.message"


class TeamsDoor:
    def __init__(self, core: Core, settings: Settings, connector: Connector) -> None:
        self.core = core
        self.settings = settings
        self.connector = connector

    # --- one activity ---------------------------------------------------------------------
    def dispatch(self, activity: dict[str, Any]) -> Answer:
        try:
            parsed = ActivityTypeAdapter.validate_python(activity)
        except ValidationError:
            return 400, {"error": "not an activity"}
        kind, name = activity.get("type"), activity.get("name")
        if kind not in ("message", "invoke"):
            return 200, None  # conversationUpdate, installationUpdate, typing: nothing to do
        actor = self.actor(activity)
        if actor is None:
            return 200, None if kind == "message" else dialog_closed("Teams did not say who you are.")
        if kind == "message":
            reply = commands.handle(self, actor, activity, getattr(parsed, "text", None) or "")
            if reply is not None:
                self.reply(activity, reply)
            return 200, None
        raw = activity.get("value")
        value: dict[str, Any] = raw if isinstance(raw, dict) else {}
        key = f"teams:{activity.get('id')}" if activity.get("id") else None
        if name == "task/fetch":
            return 200, self.fetch(actor, _data(value))
        if name == "task/submit":
            return 200, self.submit(actor, _data(value), key)
        if name == "adaptiveCard/action":
            found = value.get("action")
            action: dict[str, Any] = found if isinstance(found, dict) else {}
            given = action.get("data")
            data: dict[str, Any] = given if isinstance(given, dict) else {}
            return 200, self.execute(actor, str(action.get("verb") or ""), data, key)
        return 200, None

    def actor(self, activity: dict[str, Any]) -> Actor | None:
        given = activity.get("from")
        sender: dict[str, Any] = given if isinstance(given, dict) else {}
        aad = str(sender.get("aadObjectId") or "").strip()
        if not aad or len(aad) > 64:
            return None
        return resolve_actor(self.core, surface="teams", user_id=aad)

    # --- dialogs --------------------------------------------------------------------------
    def fetch(self, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        env = _envelope(data)
        try:
            form = offers.form_of(self.core, actor, env)
        except ServiceError as exc:
            return dialog_closed(str(exc))
        return dialog(form.title, form_card(form, env, tz=self.core.calendar.tz))

    def submit(self, actor: Actor, data: dict[str, Any], key: str | None) -> dict[str, Any]:
        env = _envelope(data)
        try:
            values = values_of(env.get("kinds", {}), data, self.core.calendar.tz)
            result = offers.submit(self.core, actor, env, values, key)
        except Invalid as exc:
            return self._again(actor, env, data, exc)
        except ServiceError as exc:
            return dialog_closed(str(exc))
        self.acknowledge(actor, env, result)
        return dialog_closed(plain_text(result.message))

    def _again(self, actor: Actor, env: dict[str, Any], data: dict[str, Any], exc: Invalid) -> dict[str, Any]:
        """The form again with each error beside its field, and what was typed (a dialog is not a
        post: only the person typing sees it). It keeps the context it was submitted with (a
        statement's version: a save over a newer one stays refused)."""
        try:
            form = replace(offers.form_of(self.core, actor, env), context=env.get("context", {}))
        except ServiceError as again:
            return dialog_closed(str(again))
        errors = dict(getattr(exc, "errors", {}) or {"": str(exc)})
        card = form_card(form, env, tz=self.core.calendar.tz, errors=errors, typed=data)
        return dialog(form.title, card)

    # --- card buttons ---------------------------------------------------------------------
    def execute(self, actor: Actor, verb: str, data: dict[str, Any], key: str | None) -> dict[str, Any]:
        env = _envelope(data)
        env.setdefault("action", verb)
        try:
            result = offers.press(self.core, actor, env, key)
        except ServiceError as exc:
            return {"statusCode": 200, "type": MESSAGE, "value": _short(str(exc))}
        if env["use"] == "chair":  # the personal list replaces itself, without the cancelled row
            return {"statusCode": 200, "type": CARD, "value": commands.media_list(self, actor)[1]}
        return {"statusCode": 200, "type": MESSAGE, "value": _short(plain_text(result.message))}

    # --- answers outside the HTTP response ------------------------------------------------
    def reply(self, activity: dict[str, Any], message: dict[str, Any]) -> None:
        conversation = (activity.get("conversation") or {}).get("id")
        try:
            self.connector.send(str(activity["serviceUrl"]), str(conversation), message)
        except Exception:
            log.exception("could not answer a Teams message")

    def acknowledge(self, actor: Actor, env: dict[str, Any], result: Result) -> None:
        """A new referral or media enquiry: its reference in the person's 1:1 chat, as Slack DMs it
        (the dialog's closing message disappears; the chat keeps it)."""
        if env["use"] not in ("refer", "enquiry") or result.repeat:
            return
        aad = actor.key.removeprefix("teams:")
        try:
            chat = self.connector.open_personal_chat(self.settings.teams_service_url, aad,
                                                     self.settings.teams_tenant_id)
            thanks = text_message(plain_text(result.message))
            self.connector.send(self.settings.teams_service_url, chat, thanks)
        except Exception:
            log.exception("could not send the acknowledgement to %s", actor.key)


def _data(value: dict[str, Any]) -> dict[str, Any]:
    data = value.get("data")
    return data if isinstance(data, dict) else {}


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    """The door's own routing data on a button or a dialog (handlers/teams/cards.py)."""
    env = data.get(ENVELOPE)
    if not isinstance(env, dict):
        return {"use": ""}
    out: dict[str, Any] = {"use": str(env.get("use") or "")[:20]}
    for name in ("ref", "action", "submit"):
        if isinstance(env.get(name), str):
            out[name] = env[name][:60]
    if isinstance(env.get("item"), int):
        out["item"] = env["item"]
    context = env.get("context")
    if isinstance(context, dict):  # JSON scalars as the core gave them (a version is a number)
        out["context"] = {str(k)[:40]: v if isinstance(v, int | float | bool) or v is None else str(v)[:200]
                          for k, v in list(context.items())[:10]}
    kinds = env.get("kinds")
    if isinstance(kinds, dict):
        out["kinds"] = {str(k)[:60]: str(v) for k, v in list(kinds.items())[:40] if v in FIELD_KINDS}
    return out


def _short(text: str) -> str:
    return text if len(text) <= 500 else text[:499] + "…"
