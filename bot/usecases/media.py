"""The media use cases (issue 4, issue 11): report an enquiry, see it, act on its alert.

Anyone may report an enquiry (process.md 6.4 item 1). Everything after that is for the media
team (the press office, the business unit, the officials the media protocol names), except
Approve, which is for the signers the routing names, whoever they are. Every refusal is audited
as ``media_action_refused`` (with M-5 when that is the rule). The statement-reuse and
version-conflict rules live here, not in a door.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot import media
from bot import media_report as report
from bot import media_statements as statements
from bot.actors import Actor
from bot.core import Core
from bot.errors import Invalid, NotFound, Refused
from bot.media import EnquiryInput
from bot.media_routing import SUBJECTS
from bot.media_team import actor_is
from bot.models import MediaEnquiry
from bot.protocol import MEDIA_OUTPUTS
from bot.usecases import case_actions
from bot.usecases.chair import absence_rows
from bot.usecases.common import TEAM_ONLY, Values, choice, echo, missing, moment, once, text
from bot.usecases.result import Choice, FieldSpec, Form, NextAction, Notice, Result, strong

NOT_IN_CHAT = (
    "The journalist's name, contact and your summary go to the press office and the business "
    "manager by email only; they are never posted in a chat. Do not type the names of the child "
    "or family."
)
M2 = (
    "Do not respond to the journalist yourselves, not even to confirm that you have passed the "
    "enquiry on (media protocol M-2): only the partnership's spokesperson speaks (M-3)."
)
REQUIRED = {
    "outlet": "Say which newspaper, channel or programme.",
    "journalist": "Give the journalist's name (it is emailed to the press office, never posted).",
    "contact": "Give a way to reach the journalist (it is emailed to the press office, never posted).",
    "deadline": "Give the journalist's deadline.",
    "subject": "Choose what the enquiry is about.",
    "summary": "Say in one line what they asked.",
}
#: The alert's actions, in order (the names its buttons and the audit have always used).
ALERT_ACTIONS = (
    NextAction("ack", "Acknowledge", style="primary"),
    NextAction("draft", "Draft statement", form=True),
    NextAction("approve", "Approve", style="primary"),
    NextAction("release", "Release", confirm_title="Release the statement?", confirm_button="Release",
               confirm="Send the approved statement to the journalist (or to the press office to give "
                       "to them). This records that the partnership has responded."),
    NextAction("press_release", "Press release", form=True),
)
#: Which actions make sense at each status (the services refuse the rest anyway: hiding a
#: button is a convenience, never the authorisation).
STATUS_ACTIONS = {
    "open": ("ack", "draft", "approve", "release", "press_release"),
    "acknowledged": ("draft", "approve", "release", "press_release"),
    "responded": ("draft", "approve", "release", "press_release"),
    "closed": (),
}
#: The names boundary.md gives these actions, read as the alert's.
ALIASES = {"acknowledge": "ack", "draft_statement": "draft", "approve_statement": "approve",
           "release_statement": "release"}
#: A statement editor holds at most this much (a few paragraphs; Slack's longest input).
STATEMENT_MAX = 3000


def alert_actions(status: str) -> tuple[NextAction, ...]:
    """The buttons of an alert posted in the comms channel (the media team's actions)."""
    wanted = STATUS_ACTIONS.get(status, ())
    return tuple(a for a in ALERT_ACTIONS if a.name in wanted)


def _actions_for(actor: Actor, enquiry: MediaEnquiry) -> tuple[NextAction, ...]:
    if actor.media_team:
        return alert_actions(enquiry.status)
    signer = any(actor_is(n, actor.key) for n in media.routing_of(enquiry).sign_off)
    return tuple(a for a in alert_actions(enquiry.status) if a.name == "approve" and signer)


def refused(core: Core, actor: Actor, ref: str, action: str, reason: str) -> None:
    media.record_refusal(core, ref=ref, actor=actor.key, action=action, reason=reason)


def require_team(core: Core, actor: Actor, ref: str, action: str) -> None:
    if not actor.media_team:
        refused(core, actor, ref, action, TEAM_ONLY)
        raise Refused(TEAM_ONLY)


# --- reporting an enquiry ----------------------------------------------------------------------


def enquiry_form(core: Core, actor: Actor) -> Form:
    """What the press office needs to call the journalist back (issue 4 item 1)."""
    agencies = case_actions.agency_choices(core)
    return Form(action="media_enquiry", title="Media enquiry", submit="Report", warning=NOT_IN_CHAT, fields=(
        FieldSpec("outlet", "Outlet (newspaper, channel, programme)", "text", required=True, max_length=120),
        FieldSpec("journalist", "Journalist", "text", required=True, max_length=120),
        FieldSpec("contact", "Journalist's contact (email or phone)", "text", required=True, max_length=200),
        FieldSpec("deadline", "The journalist's deadline", "datetime", required=True),
        FieldSpec("subject", "What it is about", "choice", required=True,
                  options=tuple(Choice(k, v) for k, v in SUBJECTS.items())),
        FieldSpec("case_ref", "Case reference, if known", "text", max_length=20, placeholder="SI-2026-0001"),
        FieldSpec("subject_agency", "The agency it is about (for a single agency's matter)", "choice",
                  options=agencies),
        FieldSpec("raising_agency", "Your agency", "choice", options=agencies),
        FieldSpec("summary", "What they asked, in one line", "text", required=True, max_length=500,
                  hint="Kept in the database and sent to the press office by email; never posted."),
    ))


def read_enquiry(values: Values) -> EnquiryInput:
    return EnquiryInput(
        outlet=text(values, "outlet"), subject=choice(values, "subject") or "",
        journalist=text(values, "journalist"), contact=text(values, "contact"),
        journalist_deadline=moment(values, "deadline"), case_ref=text(values, "case_ref") or None,
        subject_agency=choice(values, "subject_agency"), raising_agency=choice(values, "raising_agency"),
        summary=text(values, "summary"),
    )


def thanks(core: Core, ref: str, speaks: str) -> str:
    """The raiser's acknowledgement (issue 4 item 5): the reference and the M-2 reminder."""
    press = core.protocol.roles.press_office
    to = press.email if press else core.protocol.roles.business_manager.email
    return (
        f"Thank you. Your media enquiry is {strong(ref)}. The press office and the business manager have "
        f"been told; {speaks} speaks for the partnership.\n{M2}\nTell the journalist only that the "
        f"partnership's press office will respond. Send anything more to {to}, quoting {ref}."
    )


def raise_enquiry(
    core: Core, actor: Actor, values: Values, *, key: str | None = None, complete: bool = True,
    acknowledge_to: str | None = None,
) -> Result:
    """Record an enquiry; everyone who must know is told at once (D-M1, M-1). ``complete``: the
    chat form's answers are all required (the CLI records what a telephone call gave)."""
    data = read_enquiry(values)
    errors = missing(enquiry_form(core, actor).fields, values, REQUIRED) if complete else {}
    if data.journalist_deadline is not None and data.journalist_deadline <= core.clock.now():
        errors["deadline"] = "This deadline has passed. Give the time they now need a response by."
    if data.subject == "agency" and not data.subject_agency:
        errors["subject_agency"] = "Choose the agency the enquiry is about."
    if errors:
        raise Invalid(errors)

    def run(session: Session) -> Result:
        enquiry = media.receive_enquiry(session, core, data, actor=actor.key, source=actor.surface,
                                        acknowledge_to=acknowledge_to)
        routing = media.routing_of(enquiry)
        assert enquiry.id is not None
        return Result(
            message=thanks(core, enquiry.ref, routing.spokesperson.display), ref=enquiry.ref,
            view=report.enquiry_view(session, core, enquiry), changed=(("media", enquiry.id),),
            actions=_actions_for(actor, enquiry),
            notify=(Notice(actor.key, "media_raised", enquiry.ref),
                    Notice("press_office", "media_alert", enquiry.ref)),
            data={"media_id": enquiry.id, "row": routing.row, "speaks": routing.spokesperson.display,
                  "speaks_label": routing.spokesperson.label, "output_label": routing.output_label},
        )

    return once(core, actor, key, run)


# --- seeing enquiries --------------------------------------------------------------------------


def enquiry_status(core: Core, actor: Actor, ref: str) -> Result:
    """The team sees the alert; the raiser sees that it is being handled; anyone else hears the
    same answer whether it exists or not (no probing for references)."""
    with core.transaction() as session:
        try:
            enquiry: MediaEnquiry | None = media.get_enquiry(session, ref)
        except NotFound:
            enquiry = None
        if enquiry is not None and (actor.media_team or enquiry.raised_by == actor.key):
            return Result(
                message=f"{enquiry.ref}: {enquiry.status}", ref=enquiry.ref,
                view=report.enquiry_view(session, core, enquiry), actions=_actions_for(actor, enquiry),
                data={"team": actor.media_team, "reminder": M2},
            )
        found = enquiry.ref if enquiry is not None else None
    if found is not None:
        refused(core, actor, found, "status", TEAM_ONLY)
    asked = echo(ref)
    raise NotFound(f"There is no media enquiry '{asked}' among those you can see.")


def enquiries(core: Core, actor: Actor) -> Result:
    """Open enquiries and the Chair's absences, for the media team."""
    require_team(core, actor, "", "list")
    with core.transaction() as session:
        views = [report.enquiry_view(session, core, e) for e in media.open_enquiries(session)]
        absences = absence_rows(session, core)
    return Result(message=f"{len(views)} open media enquiry(ies)",
                  view={"kind": "media", "enquiries": views, "absences": absences})


# --- acting on an enquiry ----------------------------------------------------------------------


def media_form_for(core: Core, actor: Actor, ref: str, action: str) -> Form:
    """The statement editor for Draft (or Press release): the current draft when there is one to
    keep editing, else a fresh render from the template (M-5 refuses an early press release)."""
    action = ALIASES.get(action, action)
    if action not in ("draft", "press_release"):
        raise Refused("that action needs no form")
    require_team(core, actor, ref, action)
    kind = "press_release" if action == "press_release" else None
    try:
        with core.transaction() as session:
            enquiry = media.get_enquiry(session, ref)
            statement = statements.latest_statement(session, enquiry)
            reusable = statement is not None and statement.status in ("draft", "approved") and (
                kind is None or statement.kind == kind)
            if statement is None or not reusable:
                statement = statements.draft_statement(session, core, enquiry, actor=actor.key, kind=kind,
                                                       team_member=actor.media_team)
            form = statement_form(enquiry.ref, statement.version, statement.kind, statement.text,
                                  approved=statement.status == "approved")
    except Refused as exc:
        refused(core, actor, ref, action, str(exc))
        raise
    return form


def statement_form(ref: str, version: int | None, kind: str, text: str, *, approved: bool) -> Form:
    label = MEDIA_OUTPUTS.get(kind, kind)
    intro = (f"{label} for {ref}, version {version}. Saving a change makes a new version, which needs "
             "the sign-off again before it can be released.")
    if approved:
        intro += " This version is already approved: close the form to keep it."
    return Form(
        action="draft_statement", title=f"Statement {ref}", submit="Save", ref=ref, intro=intro,
        context={"version": version, "kind": kind},
        warning="No names, ages, addresses or schools (M-7); no comment on individual staff; nothing "
                "off the record (M-6).",
        fields=(FieldSpec("text", "Statement", "longtext", required=True, initial=text[:STATEMENT_MAX],
                          max_length=STATEMENT_MAX),),
    )


def press(core: Core, actor: Actor, ref: str, action: str, *, key: str | None = None) -> Form | Result:
    """A button pressed on an alert: the editor for a draft, or the action done (once per door
    ``key``: a replayed press gets the first answer back with ``repeat=True``)."""
    if ALIASES.get(action, action) in ("draft", "press_release"):
        return media_form_for(core, actor, ref, action)
    return act_on_enquiry(core, actor, ref, action, key=key)


def _save(session: Session, core: Core, actor: Actor, enquiry: MediaEnquiry, values: Values,
          context: dict[str, Any]) -> str:
    """The editor saved: a changed text is a new version (it needs the sign-off again); a save
    over a version someone saved meanwhile is refused, so that nobody's changes are lost."""
    latest = statements.latest_statement(session, enquiry)
    if latest is not None and latest.version != context.get("version"):
        raise Invalid({"text": f"version {latest.version} was saved meanwhile; close this form and press "
                               "Draft statement again so that nobody's changes are lost"})
    said = text(values, "text")
    if latest is None or latest.text.strip() != said:
        latest = statements.draft_statement(session, core, enquiry, actor=actor.key, kind=context.get("kind"),
                                            text=said, team_member=actor.media_team)
    return f"{enquiry.ref}: version {latest.version} saved"


def _approve(session: Session, core: Core, actor: Actor, enquiry: MediaEnquiry) -> str:
    statement = statements.approve_statement(session, core, enquiry, actor=actor.key)
    waiting = statements.pending_signers(enquiry, statement)
    then = "Waiting for: " + ", ".join(n.display for n in waiting) if waiting else "It can now be released."
    return f"You approved version {statement.version} for {enquiry.ref}. {then}"


def _one(session: Session, core: Core, actor: Actor, enquiry: MediaEnquiry, action: str, values: Values,
         context: dict[str, Any]) -> str:
    team = actor.media_team
    if action == "ack":
        done = media.acknowledge(session, core, enquiry, actor=actor.key, team_member=team)
        return f"{enquiry.ref}: acknowledged" if done else f"{enquiry.ref} was already acknowledged."
    if action == "approve":
        return _approve(session, core, actor, enquiry)
    if action == "release":
        statement = statements.release_statement(session, core, enquiry, actor=actor.key, team_member=team)
        return f"Version {statement.version} of the statement for {enquiry.ref} is released."
    if action == "draft" and "version" in context:  # the editor saved
        return _save(session, core, actor, enquiry, values, context)
    if action == "draft":  # a new version: from the template, or a text given whole (the CLI)
        statement = statements.draft_statement(
            session, core, enquiry, actor=actor.key, kind=choice(values, "kind"),
            text=values.get("text") or None, team_member=team)
        return f"{enquiry.ref}: version {statement.version} drafted"
    if action == "respond":
        media.record_response(session, core, enquiry, spoke=choice(values, "spoke") or "", actor=actor.key,
                              at=moment(values, "at"), team_member=team)
        return f"{enquiry.ref}: response by {choice(values, 'spoke')} recorded"
    if action == "close":
        media.close_enquiry(session, core, enquiry, reason=text(values, "reason"), actor=actor.key,
                            team_member=team)
        return f"{enquiry.ref}: closed"
    raise Refused("that action is not known; the alert may be out of date")


def act_on_enquiry(
    core: Core, actor: Actor, ref: str, action: str, values: Values | None = None, *,
    key: str | None = None, context: dict[str, Any] | None = None,
) -> Result:
    """Acknowledge, save a draft, approve, release, record a response, close: one service each."""
    action = ALIASES.get(action, action)
    if action != "approve":  # Approve is for the signers the routing names (the core checks it)
        require_team(core, actor, ref, action)

    def run(session: Session) -> Result:
        enquiry = media.get_enquiry(session, ref)
        said = _one(session, core, actor, enquiry, action, dict(values or {}), dict(context or {}))
        assert enquiry.id is not None
        return Result(message=said, ref=enquiry.ref, view=report.enquiry_view(session, core, enquiry),
                      actions=_actions_for(actor, enquiry), changed=(("media", enquiry.id),),
                      data={"media_id": enquiry.id})

    try:
        return once(core, actor, key, run)
    except Refused as exc:
        refused(core, actor, ref, action, str(exc))
        raise

