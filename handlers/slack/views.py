"""Modal submissions: validate, authorise, call ONE service in one transaction, answer.

Validation and the service call happen before ``ack()`` so that a refusal appears in the form
(``response_action="errors"``); both are quick database work. Slack calls (the card, the DM)
happen after the ``ack()``. Free text (reasons, rationales) goes to the database only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import agency_requests, cases, doors, inbound
from bot.cases import Referral, get_case, open_case
from bot.core import Core
from bot.errors import ServiceError
from bot.models import Case
from bot.protocol import UnknownAgency
from bot.settings import Settings
from handlers.slack.access import REFUSED, Access, actor
from handlers.slack.blocks import next_step
from handlers.slack.home import publish_home
from handlers.slack.notifier import SlackNotifier, post_or_update_card
from handlers.slack.replay import view_key

log = logging.getLogger(__name__)

Values = dict[str, dict[str, dict[str, Any]]]
#: (session, case or None, form values, actor, private metadata) -> anything
Run = Callable[[Session, Case, Values, str, dict[str, Any]], Any]


def value(values: Values, block_id: str) -> Any:
    """The answer in one input block (``action_id`` is always ``value``), or None."""
    element = (values.get(block_id) or {}).get("value") or {}
    kind = element.get("type")
    if kind == "datepicker":
        raw = element.get("selected_date")
        return date.fromisoformat(raw) if raw else None
    if kind in ("static_select", "radio_buttons"):
        option = element.get("selected_option")
        return option["value"] if option else None
    if kind in ("multi_static_select", "checkboxes"):
        return [o["value"] for o in element.get("selected_options") or []]
    text = element.get("value")
    return text.strip() if isinstance(text, str) else text


REQUIRED = {
    "referring_agency": "Choose the referring agency.",
    "incident_date": "Give the date of the incident.",
    "outcome": "Choose the outcome.",
    "abuse_neglect": "Say whether abuse or neglect is known or suspected.",
    "legal_status": "Choose the child's legal status (or 'Not known').",
    "age_band": "Choose the age band.",
}


def parse_referral(values: Values, today: date) -> tuple[Referral, dict[str, str]]:
    referral = Referral(
        referring_agency=value(values, "referring_agency"),
        incident_date=value(values, "incident_date"),
        la_aware_date=value(values, "la_aware_date"),
        outcome=value(values, "outcome"),
        abuse_neglect=value(values, "abuse_neglect"),
        legal_status=value(values, "legal_status"),
        age_band=value(values, "age_band"),
        agencies_involved=value(values, "agencies_involved") or [],
        parallel_processes=value(values, "parallel_processes") or [],
        media_interest=value(values, "media_interest"),
    )
    errors = {block: msg for block, msg in REQUIRED.items() if not getattr(referral, block)}
    for block in ("incident_date", "la_aware_date"):
        when = getattr(referral, block)
        if when is not None and when > today:
            errors[block] = "This date is in the future."
    if (referral.incident_date and referral.la_aware_date
            and referral.la_aware_date < referral.incident_date and "la_aware_date" not in errors):
        errors["la_aware_date"] = "The local authority cannot have become aware before the incident."
    return referral, errors


def _error_block(message: str, default: str) -> str:
    lowered = message.lower()
    if "aware" in lowered:
        return "la_aware_date"
    if "incident" in lowered:
        return "incident_date"
    return default


def refresh_card(core: Core, client: WebClient, settings: Settings, case_id: int | None) -> None:
    """Without the Slack notifier wired in, the handler updates the card itself."""
    if case_id is None or isinstance(core.notifier_for("slack"), SlackNotifier):
        return
    try:
        post_or_update_card(core, client, settings, case_id)
    except SlackApiError:
        log.exception("could not update the card of case %s", case_id)


def register(app: App, core: Core, settings: Settings, access: Access | None = None) -> None:
    access = access or Access(core, settings, app.client)
    @app.view("si_referral")
    def referral_submitted(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        today = core.calendar.local_date(core.clock.now())
        referral, errors = parse_referral(view["state"]["values"], today)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        def refer(session: Session) -> dict[str, Any]:
            case = open_case(session, core, referral, actor=actor(user_id), source="slack")
            return {"ref": case.ref, "case_id": case.id, "stage": case.stage}

        try:
            opened, first = doors.once(core, key=view_key(body), surface="slack-view", action=refer)
        except (ServiceError, UnknownAgency) as exc:
            ack(response_action="errors", errors={_error_block(str(exc), "referring_agency"): str(exc)})
            return
        ack()
        if not first:
            return  # the same submission again: the case, the DM and the card exist already
        ref, case_id, stage = opened["ref"], opened["case_id"], opened["stage"]
        try:
            dm = client.conversations_open(users=user_id)["channel"]["id"]
            bu = core.protocol.roles.business_manager.email
            client.chat_postMessage(channel=dm, text=(
                f"Thank you. Your serious incident referral is *{ref}*. {next_step(stage)}\n"
                f"Send the identifying details (names, dates of birth, address, what happened) by "
                f"secure email to {bu}, quoting {ref}. Never put them in Slack.\n"
                f"See where it is with `/serious-incident status {ref}`."
            ))
        except SlackApiError:
            log.exception("could not tell %s about %s", user_id, ref)
        try:
            post_or_update_card(core, client, settings, case_id or 0)
        except SlackApiError:
            log.exception("could not post the card for %s; the sweep will repost it", ref)

    def business_unit_form(
        callback_id: str, action: str, block: str, run: Run) -> None:
        @app.view(callback_id)
        def submitted(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
            user_id = body["user"]["id"]
            meta = json.loads(view.get("private_metadata") or "{}")
            ref = meta.get("ref")
            if not access.is_business_unit(user_id):
                access.record_refusal(user_id, action, ref)
                ack(response_action="errors", errors={block: REFUSED})
                return
            def act(session: Session) -> dict[str, Any]:
                case = get_case(session, ref) if ref else None
                run(session, case, view["state"]["values"], actor(user_id), meta)  # type: ignore[arg-type]
                return {"case_id": case.id if case else None}

            try:
                done, first = doors.once(core, key=view_key(body), surface="slack-view", action=act)
            except (ServiceError, UnknownAgency) as exc:
                ack(response_action="errors", errors={_error_block(str(exc), block): str(exc)[:300]})
                return
            ack()
            if not first:
                return
            case_id = done["case_id"]
            refresh_card(core, client, settings, case_id)
            if meta.get("home"):
                publish_home(core, client, access, user_id)

    business_unit_form("si_accept", "accept", "la_aware_date", lambda s, case, v, who, meta: cases.accept(
        s, core, case, actor=who, la_aware=value(v, "la_aware_date")))
    business_unit_form("si_not_met", "not_met", "reason", lambda s, case, v, who, meta: cases.not_met(
        s, core, case, route=value(v, "route") or "", reason=value(v, "reason") or "", actor=who))
    business_unit_form("si_decide", "decide", "rationale", lambda s, case, v, who, meta: cases.decide(
        s, core, case, option=value(v, "option") or "", rationale=value(v, "rationale") or "", actor=who))
    business_unit_form("si_close", "close", "reason", lambda s, case, v, who, meta: cases.close(
        s, core, case, reason=value(v, "reason") or "", actor=who))
    business_unit_form("si_requests", "send_requests", "agencies", lambda s, case, v, who, meta: (
        agency_requests.send_requests(
            s, core, case, kind=meta.get("kind", ""), agencies=value(v, "agencies") or [], actor=who)))

    def _return(s: Session, case: Case, v: Values, who: str, meta: dict[str, Any]) -> None:
        agency, _, kind = (value(v, "request") or "|").partition("|")
        request = agency_requests.get_request(s, case, agency, kind or None)
        agency_requests.record_return(s, core, request, actor=who, via="other means")

    business_unit_form("si_return", "record_return", "request", _return)
    business_unit_form("si_triage_assign", "triage_assign", "ref", lambda s, case, v, who, meta: (
        inbound.assign_triage(s, core, int(meta["item"]), ref=value(v, "ref") or "",
                              agency=value(v, "agency") or "", kind=value(v, "kind"), actor=who)))
    business_unit_form("si_triage_dismiss", "triage_dismiss", "reason", lambda s, case, v, who, meta: (
        inbound.dismiss_triage(s, core, int(meta["item"]), reason=value(v, "reason") or "", actor=who)))
