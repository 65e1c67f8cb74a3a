"""``/media-enquiry``, the media alert's buttons and the statement editor (issue 4).

Anyone may report an enquiry. Everything after that is for the media team: the press office, the
business unit and the officials the media protocol names (Chair, Deputy, Executive...). Each
button and each form checks that on the server, then calls ONE service of :mod:`bot.media`,
which checks again (the signer for Approve, M-5 for a press release). A refusal is audited with
:func:`bot.media.record_refusal` and told to the person; it changes nothing on the alert.

The journalist's name, contact and the summary typed into the form go to the database (and, from
the core, by email to the press office and business manager) and nowhere else: not into a post,
a DM, an ephemeral message or a log line.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import doors, media, media_team
from bot import media_report as report
from bot import media_statements as statements
from bot.core import Core
from bot.errors import Refused, ServiceError
from bot.media import EnquiryInput
from bot.privacy import safe_label, safe_message
from bot.protocol import UnknownAgency
from bot.settings import Settings
from handlers.slack.access import Access, actor, tell
from handlers.slack.blocks import dicts, escape
from handlers.slack.media_blocks import (
    M2,
    MEDIA_HELP,
    alert_blocks,
    alert_text,
    deadline_text,
    enquiry_modal,
    enquiry_rows,
    outlet_label,
    statement_modal,
)
from handlers.slack.media_notifier import media_fan_out, post_or_update_media_alert
from handlers.slack.notifier import SlackNotifier
from handlers.slack.replay import view_key

log = logging.getLogger(__name__)

COMMAND = "/media-enquiry"
TEAM_ONLY = (
    "Only the press office, the business unit and the officials the media protocol names can do "
    "this. If you think you should be able to, ask the business manager."
)
REQUIRED = {
    "outlet": "Say which newspaper, channel or programme.",
    "journalist": "Give the journalist's name (it is emailed to the press office, never posted).",
    "contact": "Give a way to reach the journalist (it is emailed to the press office, never posted).",
    "deadline": "Give the journalist's deadline.",
    "subject": "Choose what the enquiry is about.",
    "summary": "Say in one line what they asked.",
}

Values = dict[str, dict[str, dict[str, Any]]]


def value(values: Values, block_id: str) -> Any:
    """One answer of a modal (``action_id`` is always ``value``), including datetimepickers."""
    element = (values.get(block_id) or {}).get("value") or {}
    kind = element.get("type")
    if kind == "datetimepicker":
        raw = element.get("selected_date_time")
        return datetime.fromtimestamp(int(raw), UTC) if raw not in (None, "") else None
    if kind in ("static_select", "radio_buttons"):
        option = element.get("selected_option")
        return option["value"] if option else None
    text = element.get("value")
    return text.strip() if isinstance(text, str) else text


def is_team(core: Core, access: Access, user_id: str) -> bool:
    """The media team: the business unit (usergroup included) or a person the media protocol names."""
    return access.is_business_unit(user_id) or media_team.is_media_team(core, actor(user_id))


def refuse(core: Core, client: WebClient, body: dict[str, Any], *, action: str, ref: str,
           reason: str) -> None:
    """Audit a refused media action and tell the person (ephemerally where the button was)."""
    media.record_refusal(core, ref=ref, actor=actor(body["user"]["id"]), action=action, reason=reason)
    tell(client, body, safe_message(reason))


def refresh_alert(core: Core, client: WebClient, settings: Settings, media_id: int | None) -> None:
    """Without the Slack notifier wired in, the handler posts or updates the alert itself."""
    if media_id is None or isinstance(core.notifier_for("slack"), SlackNotifier):
        return
    try:
        _, new = post_or_update_media_alert(core, client, settings, media_id)
        if new:
            media_fan_out(core, client, media_id)
    except SlackApiError:
        log.exception("could not update the alert of media enquiry %s", media_id)


# --- the intake form -------------------------------------------------------------------------


def parse_enquiry(values: Values, now: datetime) -> tuple[EnquiryInput, dict[str, str]]:
    data = EnquiryInput(
        outlet=value(values, "outlet") or "",
        subject=value(values, "subject") or "",
        journalist=value(values, "journalist") or "",
        contact=value(values, "contact") or "",
        journalist_deadline=value(values, "deadline"),
        case_ref=value(values, "case_ref") or None,
        subject_agency=value(values, "subject_agency"),
        raising_agency=value(values, "raising_agency"),
        summary=value(values, "summary") or "",
    )
    fields = {"outlet": data.outlet, "journalist": data.journalist, "contact": data.contact,
              "deadline": data.journalist_deadline, "subject": data.subject, "summary": data.summary}
    errors = {block: msg for block, msg in REQUIRED.items() if not fields[block]}
    if data.journalist_deadline is not None and data.journalist_deadline <= now:
        errors["deadline"] = "This deadline has passed. Give the time they now need a response by."
    if data.subject == "agency" and not data.subject_agency:
        errors["subject_agency"] = "Choose the agency the enquiry is about."
    return data, errors


def _error_block(exc: ServiceError, data: EnquiryInput) -> str:
    """The form field a service refusal is about, so the message appears next to it."""
    if isinstance(exc, UnknownAgency):
        return "raising_agency" if exc.slug == data.raising_agency else "subject_agency"
    message = str(exc).lower()
    # "subject must be one of: case, partnership, agency..." names an agency too: test it first.
    for words, block in ((("subject must",), "subject"), (("no case",), "case_ref"),
                         (("deadline",), "deadline"), (("agency",), "subject_agency")):
        if any(w in message for w in words):
            return block
    return "outlet"


def thank_raiser(core: Core, client: WebClient, user_id: str, ref: str, speaks: str) -> None:
    """The raiser's acknowledgement (issue 4 item 5): the reference and the M-2 reminder."""
    press = core.protocol.roles.press_office
    to = press.email if press else core.protocol.roles.business_manager.email
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.chat_postMessage(channel=channel, text=(
            f"Thank you. Your media enquiry is *{ref}*. The press office and the business manager "
            f"have been told; {escape(speaks)} speaks for the partnership.\n"
            f":no_entry: {M2}\n"
            f"Tell the journalist only that the partnership's press office will respond. Send "
            f"anything more to {to}, quoting {ref}. See where it is with `{COMMAND} status {ref}`."
        ))
    except SlackApiError:
        log.exception("could not tell %s about %s", user_id, ref)


# --- the sub-commands ------------------------------------------------------------------------


def status(core: Core, access: Access, user_id: str, ref: str) -> dict[str, Any]:
    if not ref:
        return {"text": f"Say which enquiry: {COMMAND} status ME-2026-0001"}
    team = is_team(core, access, user_id)
    with core.transaction() as session:
        try:
            enquiry = media.get_enquiry(session, ref)
        except ServiceError:
            enquiry = None
        mine = enquiry is not None and enquiry.raised_by == actor(user_id)
        view = report.enquiry_view(session, core, enquiry) if enquiry and (team or mine) else None
    if view is None:
        if enquiry is not None:
            media.record_refusal(core, ref=enquiry.ref, actor=actor(user_id), action="status",
                                 reason=TEAM_ONLY)
        # The same answer whether it exists or not: no probing for references.
        asked = safe_label(ref, field="reference", limit=20)
        return {"text": f"There is no media enquiry '{asked}' among those you can see."}
    now, tz = core.clock.now(), core.calendar.tz
    if not team:
        # The raiser sees that it is being handled, not the routing or the statement.
        return {"text": f"{view['ref']} ({outlet_label(view)}): {view['status']}; journalist's "
                        f"deadline {deadline_text(view, now, tz)}.\n{M2}"}
    blocks = alert_blocks(view, core.protocol, media_team.media_people(core), now=now, tz=tz, actions=False)
    return {"text": alert_text(view), "blocks": blocks}


def listing(core: Core, access: Access, user_id: str) -> dict[str, Any]:
    if not is_team(core, access, user_id):
        media.record_refusal(core, ref="", actor=actor(user_id), action="list", reason=TEAM_ONLY)
        return {"text": TEAM_ONLY}
    with core.transaction() as session:
        views = [report.enquiry_view(session, core, e) for e in media.open_enquiries(session)]
    blocks = dicts(enquiry_rows(views, now=core.clock.now(), tz=core.calendar.tz))
    return {"text": f"{len(views)} open media enquiry(ies)", "blocks": blocks[:50]}


# --- registering -----------------------------------------------------------------------------


def register(app: App, core: Core, settings: Settings, access: Access | None = None) -> None:
    access = access or Access(core, settings, app.client)

    @app.command(COMMAND)
    def media_enquiry(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        word, _, rest = (body.get("text") or "").strip().partition(" ")
        word = word.lower()
        ack()
        if word in ("", "new", "report"):
            client.views_open(trigger_id=body["trigger_id"], view=enquiry_modal(core.protocol))
        elif word == "help":
            respond(text=MEDIA_HELP)
        elif word == "status":
            respond(**status(core, access, body["user_id"], rest.strip()))
        elif word == "list":
            respond(**listing(core, access, body["user_id"]))
        else:
            respond(text="I do not know that sub-command.\n" + MEDIA_HELP)

    @app.view("media_enquiry")
    def enquiry_submitted(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        # Anyone may report an enquiry (process.md 6.4 item 1): no team check here.
        user_id = body["user"]["id"]
        data, errors = parse_enquiry(view["state"]["values"], core.clock.now())
        if errors:
            ack(response_action="errors", errors=errors)
            return
        def receive(session: Session) -> dict[str, Any]:
            enquiry = media.receive_enquiry(session, core, data, actor=actor(user_id), source="slack")
            return {"ref": enquiry.ref, "media_id": enquiry.id,
                    "speaks": media.routing_of(enquiry).spokesperson.display}

        try:
            got, first = doors.once(core, key=view_key(body), surface="slack-view", action=receive)
        except ServiceError as exc:  # UnknownAgency and NotFound included
            ack(response_action="errors", errors={_error_block(exc, data): str(exc)[:300]})
            return
        ack()
        if not first:
            return  # the same submission again: one enquiry, one alert, one thank-you
        ref, media_id, speaks = got["ref"], got["media_id"], got["speaks"]
        thank_raiser(core, client, user_id, ref, speaks)
        refresh_alert(core, client, settings, media_id)

    @app.action(re.compile(r"^media_(ack|draft|approve|release|press_release)$"))
    def alert_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action = body["actions"][0]
        name, ref = action["action_id"].removeprefix("media_"), str(action.get("value", ""))
        user_id = body["user"]["id"]
        who, team = actor(user_id), is_team(core, access, user_id)
        # Approve is for the signers the routing names, whoever they are (the core checks it);
        # every other button is for the media team.
        if name != "approve" and not team:
            refuse(core, client, body, action=name, ref=ref, reason=TEAM_ONLY)
            return
        modal: dict[str, Any] | None = None
        note: str | None = None
        try:
            with core.transaction() as session:
                enquiry = media.get_enquiry(session, ref)
                media_id = enquiry.id
                if name == "ack":
                    if not media.acknowledge(session, core, enquiry, actor=who, team_member=team):
                        note = f"{enquiry.ref} was already acknowledged."
                elif name == "approve":
                    statement = statements.approve_statement(session, core, enquiry, actor=who)
                    waiting = statements.pending_signers(enquiry, statement)
                    then = ("Waiting for: " + ", ".join(n.display for n in waiting) if waiting
                            else "It can now be released.")
                    note = f"You approved version {statement.version} for {enquiry.ref}. {then}"
                elif name == "release":
                    statement = statements.release_statement(
                        session, core, enquiry, actor=who, team_member=team
                    )
                    note = f"Version {statement.version} of the statement for {enquiry.ref} is released."
                else:
                    kind = "press_release" if name == "press_release" else None
                    statement = statements.latest_statement(session, enquiry)
                    reusable = statement is not None and statement.status in ("draft", "approved") and (
                        kind is None or statement.kind == kind)
                    if not reusable:
                        # A fresh render from the template (M-5 refuses an early press release).
                        statement = statements.draft_statement(session, core, enquiry, actor=who, kind=kind,
                                                               team_member=team)
                    assert statement is not None
                    modal = statement_modal(enquiry.ref, statement.version, statement.kind, statement.text,
                                            approved=statement.status == "approved")
        except Refused as exc:
            refuse(core, client, body, action=name, ref=ref, reason=str(exc))
            return
        except ServiceError as exc:
            tell(client, body, safe_message(str(exc)))
            return
        if modal is not None:
            client.views_open(trigger_id=body["trigger_id"], view=modal)
        if note:
            tell(client, body, note)
        refresh_alert(core, client, settings, media_id)

    @app.view("media_statement")
    def statement_saved(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        meta = json.loads(view.get("private_metadata") or "{}")
        ref = str(meta.get("ref") or "")
        who, team = actor(user_id), is_team(core, access, user_id)
        if not team:  # a forged submission: the form is only opened for the team
            media.record_refusal(core, ref=ref, actor=who, action="draft", reason=TEAM_ONLY)
            ack(response_action="errors", errors={"text": TEAM_ONLY})
            return
        text = value(view["state"]["values"], "text") or ""
        def save(session: Session) -> dict[str, Any]:
            enquiry = media.get_enquiry(session, ref)
            latest = statements.latest_statement(session, enquiry)
            if latest is not None and latest.version != meta.get("version"):
                raise ServiceError(
                    f"version {latest.version} was saved meanwhile; close this form and press "
                    "Draft statement again so that nobody's changes are lost"
                )
            if latest is None or latest.text.strip() != text.strip():
                # An edit is a new version and needs the sign-off again.
                statements.draft_statement(session, core, enquiry, actor=who, kind=meta.get("kind"),
                                           text=text, team_member=team)
            return {"media_id": enquiry.id}

        try:
            saved, first = doors.once(core, key=view_key(body), surface="slack-view", action=save)
        except Refused as exc:
            media.record_refusal(core, ref=ref, actor=who, action="draft", reason=str(exc))
            ack(response_action="errors", errors={"text": str(exc)[:300]})
            return
        except ServiceError as exc:
            ack(response_action="errors", errors={"text": str(exc)[:300]})
            return
        ack()
        if first:  # a replayed submission saved nothing new
            refresh_alert(core, client, settings, saved["media_id"])
