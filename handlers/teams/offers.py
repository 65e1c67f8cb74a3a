"""Which use case a Teams button or dialog is for: the door's one table of translation.

An envelope (handlers/teams/cards.py) names a use (``refer``, ``enquiry``, ``case``, ``media``,
``triage``, ``chair``), the object and the action; this maps it to the core's use case with the same
arguments every door passes. No rule lives here: the core authorises, validates and decides.
"""

from __future__ import annotations

from typing import Any

from bot.actors import Actor
from bot.core import Core
from bot.errors import Refused
from bot.usecases import cases, chair, media, triage
from bot.usecases.result import Form, NextAction, Result

UNKNOWN = "That button is not known (the card may be out of date)."


def form_of(core: Core, actor: Actor, env: dict[str, Any]) -> Form:
    use = env["use"]
    if use == "refer":
        return cases.referral_form(core, actor)
    if use == "enquiry":
        return media.enquiry_form(core, actor)
    if use == "case" and env.get("ref") and env.get("action"):
        return cases.form_for(core, actor, env["ref"], env["action"])
    if use == "media" and env.get("ref") and env.get("action"):
        return media.media_form_for(core, actor, env["ref"], env["action"])
    if use == "triage" and "item" in env and env.get("action"):
        return triage.triage_form(core, actor, int(env["item"]), env["action"])
    if use == "chair" and env.get("action") == chair.AWAY.name:
        return chair.chair_away_form(core, actor)
    raise Refused(UNKNOWN)


def submit(core: Core, actor: Actor, env: dict[str, Any], values: dict[str, Any], key: str | None) -> Result:
    use, context = env["use"], env.get("context")
    if use == "refer":
        return cases.refer(core, actor, values, key=key)
    if use == "enquiry":
        return media.raise_enquiry(core, actor, values, key=key)
    if use == "case":
        return cases.act(core, actor, env["ref"], env.get("submit") or env["action"], values, key=key,
                         context=context)
    if use == "media":
        return media.act_on_enquiry(core, actor, env["ref"], env.get("submit") or env["action"], values,
                                    key=key, context=context)
    if use == "triage":
        return triage.act_on_triage(core, actor, int(env["item"]), env["action"], values, key=key)
    if use == "chair" and env.get("action") == chair.AWAY.name:
        return chair.set_chair_away(core, actor, values, key=key)
    raise Refused(UNKNOWN)


def press(core: Core, actor: Actor, env: dict[str, Any], key: str | None) -> Result:
    """A button without a form."""
    if env["use"] == "case" and env.get("ref"):
        return cases.act(core, actor, env["ref"], env["action"], key=key)
    if env["use"] == "media" and env.get("ref"):
        return media.act_on_enquiry(core, actor, env["ref"], env["action"], key=key)
    if env["use"] == "chair" and env.get("action") == chair.CANCEL.name and "item" in env:
        return chair.cancel_chair_away(core, actor, int(env["item"]), key=key)
    raise Refused(UNKNOWN)


def case_card_actions(stage: str, view: dict[str, Any] | None = None) -> tuple[NextAction, ...]:
    """The buttons on the channel's case card: what the business unit may do at this stage (and,
    given the case's view, for its local review's methodology)."""
    return cases.card_actions(stage, view)


def media_card_actions(status: str) -> tuple[NextAction, ...]:
    """The buttons on the media alert: what the media team may do at this status."""
    return media.alert_actions(status)
