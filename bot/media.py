"""Media enquiries (process.md 6): received, routed, told at once, acknowledged, answered.

An enquiry arrives through Slack, email to the press address or the CLI and becomes a row
(ME-2026-0001) whose routing (lead, spokesperson, sign-off, permitted output) is resolved from the
protocol's table and frozen. The press office, the business manager and the people the routing
names are told at once (D-M1, M-1); an alert nobody acknowledges repeats, to the business manager
too; reminders run before the journalist's deadline (M-11). Unlike agency chasers, none of this
waits for working hours: journalists do not.

The repeats and reminders are the enquiry's Deadline rows (:mod:`bot.media_clock`, opened, met
and cancelled here), taken by the one sweep over deadlines (:mod:`bot.media_chasers`); who may act
and the Chair's absence are in :mod:`bot.media_team`. Statements (drafts, sign-off, release, the M-5
refusal) are in :mod:`bot.media_statements`; what Slack may show and the figures are in
:mod:`bot.media_report`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot import audit, chat_posts, media_clock
from bot.core import Core
from bot.errors import Invalid, NotFound, Refused
from bot.mailer import render
from bot.media_routing import SUBJECTS, Routing, resolve, route_for
from bot.media_team import chair_absence_at, require_team
from bot.models import (
    Case,
    MediaEnquiry,
    Publication,
)
from bot.outbox import enqueue
from bot.protocol import MEDIA_ROLES, UnknownAgency
from bot.refs import next_ref
from bot.stages import Stage

OPEN = ("open", "acknowledged")
#: The most of a journalist's emailed question that is kept (issue 9 item 7): a few paragraphs.
QUESTION_LIMIT = 4000
_ONE_LINE = re.compile(r"[\r\n\t]+")


@dataclass
class EnquiryInput:
    """What someone reports about an enquiry. Free text (journalist, contact, summary) stays in
    the database and in email to the press office and business manager; never in Slack."""

    outlet: str
    subject: str
    journalist: str = ""
    contact: str = ""
    journalist_deadline: datetime | None = None
    case_ref: str | None = None
    subject_agency: str | None = None
    raising_agency: str | None = None
    summary: str = ""
    #: What the journalist asked, when the enquiry came by email (never shown in Slack).
    question: str = ""


def _line(value: str, limit: int) -> str:
    return _ONE_LINE.sub(" ", value or "").strip()[:limit]


# --- receiving an enquiry -----------------------------------------------------------------------


def current_routing(
    session: Session, core: Core, subject: str, case: Case | None, subject_agency: str | None
) -> Routing:
    """The routing row and people for an enquiry arriving now."""
    publication = session.get(Publication, case.id) if case is not None else None
    route = route_for(
        subject, Stage(case.stage) if case is not None else None,
        published=bool(publication and publication.published_at),
        decided=bool(case and case.decision),
        agency_authorised=bool(
            publication and subject_agency and subject_agency in publication.authorised_agencies
        ),
    )
    absence = chair_absence_at(session, core.clock.now())
    agency = core.protocol.agency(subject_agency) if subject_agency else None
    return resolve(
        core.protocol, route, chair_away=absence is not None or core.protocol.roles.chair is None,
        delegate=absence.delegate if absence else None, agency=agency,
    )


def _validate(session: Session, core: Core, data: EnquiryInput) -> Case | None:
    """What is wrong, by the form's field names (issue 11): every door shows it on its field."""
    errors: dict[str, str] = {}
    if data.subject not in SUBJECTS:
        errors["subject"] = f"subject must be one of: {', '.join(SUBJECTS)}"
    if not _line(data.outlet, 120):
        errors["outlet"] = "the outlet is required (the newspaper, channel or programme)"
    for name, slug in (("subject_agency", data.subject_agency), ("raising_agency", data.raising_agency)):
        if slug:
            try:
                core.protocol.agency(slug)
            except UnknownAgency as exc:
                errors[name] = str(exc)
    if data.subject == "agency" and not data.subject_agency:
        errors.setdefault("subject_agency", "say which agency the enquiry is about")
    if data.journalist_deadline is not None and data.journalist_deadline <= core.clock.now():
        errors["deadline"] = "the journalist's deadline is in the past"
    case = None
    if data.case_ref:
        case = session.exec(select(Case).where(Case.ref == data.case_ref.strip().upper())).first()
        if case is None:
            errors["case_ref"] = f"no case {data.case_ref!r}; leave it empty if the case is not known"
    if errors:
        raise Invalid(errors)
    return case


def receive_enquiry(
    session: Session, core: Core, data: EnquiryInput, *, actor: str, source: str,
    acknowledge_to: str | None = None, inbound_id: int | None = None,
) -> MediaEnquiry:
    """A media enquiry becomes a row; the people who must know are told at once (D-M1, M-1)."""
    case = _validate(session, core, data)
    now = core.clock.now()
    routing = current_routing(session, core, data.subject, case, data.subject_agency)
    enquiry = MediaEnquiry(
        ref=next_ref(session, "ME", core.calendar.local_date(now).year), received_at=now,
        source=source, raised_by=actor, raising_agency=data.raising_agency,
        outlet=_line(data.outlet, 120), journalist=_line(data.journalist, 120),
        contact=_line(data.contact, 200), journalist_deadline=data.journalist_deadline,
        subject=data.subject, case_id=case.id if case else None,
        subject_agency=data.subject_agency, summary=(data.summary or "").strip()[:2000],
        question=(data.question or "").strip()[:QUESTION_LIMIT] or None,
        route=routing.route, routing=routing.to_json(), inbound_id=inbound_id,
    )
    session.add(enquiry)
    session.flush()
    media_clock.open_clocks(session, core, enquiry)
    audit.record(
        session, at=now, actor=actor, kind="media_enquiry_received", case_id=enquiry.case_id,
        media_id=enquiry.id, media_ref=enquiry.ref, route=routing.route, row=routing.row,
        source=source, subject=data.subject,
        deadline=enquiry.journalist_deadline.isoformat() if enquiry.journalist_deadline else None,
    )
    _notify(session, core, enquiry, routing)
    if routing.fallback:
        audit.record(
            session, at=now, actor=audit.SYSTEM, kind="media_chair_fallback", case_id=enquiry.case_id,
            media_id=enquiry.id, media_ref=enquiry.ref, speaks=routing.spokesperson.role,
        )
    if acknowledge_to:
        ack = render("media_agency_ack", **mail_context(session, core, enquiry, routing))
        enqueue(
            session, core, key=f"media:{enquiry.id}:agency-ack", kind="media_agency_ack",
            to=[acknowledge_to], rendered=ack,
        )
        audit.record(
            session, at=now, actor=audit.SYSTEM, kind="media_agency_acknowledged",
            case_id=enquiry.case_id, media_id=enquiry.id, media_ref=enquiry.ref,
        )
    return enquiry


def routing_of(enquiry: MediaEnquiry) -> Routing:
    return Routing.from_json(enquiry.routing)


def recipients(core: Core, routing: Routing) -> list[str]:
    """The press office and the business manager (M-1), and everyone the routing names."""
    roles = core.protocol.roles
    emails = [roles.press_office.email if roles.press_office else None, roles.business_manager.email]
    emails += [n.email for n in (*routing.lead, routing.spokesperson, *routing.sign_off)]
    return list(dict.fromkeys(e for e in emails if e))


def case_ref_of(session: Session, enquiry: MediaEnquiry) -> str | None:
    if enquiry.case_id is None:
        return None
    case = session.get(Case, enquiry.case_id)
    return case.ref if case else None


def mail_context(session: Session, core: Core, enquiry: MediaEnquiry, routing: Routing) -> dict[str, Any]:
    press = core.protocol.roles.press_office
    return {
        "ref": enquiry.ref, "enquiry": enquiry, "routing": routing, "case_ref": case_ref_of(session, enquiry),
        "subject_label": SUBJECTS[enquiry.subject], "partnership": core.protocol.partnership.name,
        "press_office": press, "business_manager": core.protocol.roles.business_manager,
        "tz": core.protocol.partnership.timezone,
    }


def _notify(session: Session, core: Core, enquiry: MediaEnquiry, routing: Routing) -> None:
    alert = render("media_alert", **mail_context(session, core, enquiry, routing))
    enqueue(
        session, core, key=f"media:{enquiry.id}:alert", kind="media_alert",
        to=recipients(core, routing), rendered=alert, case_id=enquiry.case_id,
    )  # no reason: the press office and BM are told of every enquiry, even one already answered (M-1)


def get_enquiry(session: Session, ref: str) -> MediaEnquiry:
    enquiry = session.exec(select(MediaEnquiry).where(MediaEnquiry.ref == ref.strip().upper())).first()
    if enquiry is None:
        raise NotFound(f"no media enquiry {ref!r}; 'review-bot media' lists them")
    return enquiry


def record_refusal(core: Core, *, ref: str, actor: str, action: str, reason: str) -> None:
    """Audit a refused media action in its own transaction (the refused one rolled back)."""
    with core.transaction() as session:
        found = session.exec(select(MediaEnquiry).where(MediaEnquiry.ref == ref.strip().upper())).first()
        audit.record(
            session, at=core.clock.now(), actor=actor, kind="media_action_refused",
            case_id=found.case_id if found else None, media_id=found.id if found else None,
            media_ref=found.ref if found else None, action=action,
            rule="M-5" if "(media protocol M-5" in reason else "",
        )


# --- acknowledging, answering, closing ----------------------------------------------------------


def require_open(enquiry: MediaEnquiry) -> None:
    if enquiry.status == "closed":
        raise Refused(f"{enquiry.ref} is closed")


def acknowledge(
    session: Session, core: Core, enquiry: MediaEnquiry, *, actor: str, team_member: bool = False
) -> bool:
    """Someone has picked the enquiry up: the alert stops repeating. False if already done."""
    require_team(core, actor, team_member, "acknowledge a media alert")
    require_open(enquiry)
    if enquiry.acknowledged_at is not None:
        return False
    now = core.clock.now()
    enquiry.acknowledged_at, enquiry.acknowledged_by = now, actor
    if enquiry.status == "open":
        enquiry.status = "acknowledged"
    media_clock.meet(session, enquiry, (media_clock.ACKNOWLEDGEMENT,), now)  # no more repeats
    audit.record(
        session, at=now, actor=actor, kind="media_acknowledged", case_id=enquiry.case_id,
        media_id=enquiry.id, media_ref=enquiry.ref,
        seconds=int((now - enquiry.received_at).total_seconds()),
    )
    return True


def record_response(
    session: Session, core: Core, enquiry: MediaEnquiry, *, spoke: str, actor: str,
    at: datetime | None = None, team_member: bool = False,
) -> None:
    """The journalist was answered outside the bot (e.g. by telephone): record who spoke."""
    require_team(core, actor, team_member, "record a response")
    require_open(enquiry)
    if spoke not in (*MEDIA_ROLES, "agency"):
        raise Invalid({"spoke": f"spoke must be one of: {', '.join((*MEDIA_ROLES, 'agency'))}"})
    now = core.clock.now()
    at = at or now
    if at > now:
        raise Invalid({"at": "the response cannot be in the future"})
    mark_responded(session, core, enquiry, spoke=spoke, at=at, actor=actor, via="recorded")


def mark_responded(
    session: Session, core: Core, enquiry: MediaEnquiry, *, spoke: str, at: datetime, actor: str,
    via: str,
) -> None:
    if enquiry.acknowledged_at is None:
        enquiry.acknowledged_at, enquiry.acknowledged_by = at, actor
    enquiry.responded_at, enquiry.spoke, enquiry.status = at, spoke, "responded"
    # Answered: no more repeats or deadline reminders; any already queued are cancelled.
    media_clock.meet(session, enquiry, media_clock.KINDS, at)
    routing = routing_of(enquiry)
    audit.record(
        session, at=core.clock.now(), actor=actor, kind="media_responded", case_id=enquiry.case_id,
        media_id=enquiry.id, media_ref=enquiry.ref, spoke=spoke, via=via,
        as_routed=spoke == routing.spokesperson.role,
    )


def close_enquiry(
    session: Session, core: Core, enquiry: MediaEnquiry, *, reason: str, actor: str,
    team_member: bool = False,
) -> None:
    require_team(core, actor, team_member, "close a media enquiry")
    if not reason.strip():
        raise Invalid({"reason": "a reason is required to close an enquiry"})
    require_open(enquiry)
    enquiry.status, enquiry.closed_at, enquiry.closed_reason = "closed", core.clock.now(), reason.strip()
    media_clock.cancel(session, enquiry, core.clock.now())
    audit.record(
        session, at=core.clock.now(), actor=actor, kind="media_closed", case_id=enquiry.case_id,
        media_id=enquiry.id, media_ref=enquiry.ref,
    )


def mark_posted(session: Session, core: Core, enquiry_id: int, channel: str, ts: str, *,
                surface: str = "slack") -> None:
    """A chat surface posted the alert: remember where, and when (time to notify)."""
    if session.get(MediaEnquiry, enquiry_id) is not None:
        chat_posts.record_post(session, core, surface, chat_posts.MEDIA, enquiry_id, channel, ts)


def open_enquiries(session: Session) -> list[MediaEnquiry]:
    return list(session.exec(
        select(MediaEnquiry).where(col(MediaEnquiry.status).in_(OPEN)).order_by(col(MediaEnquiry.id))
    ))
