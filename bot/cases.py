"""Cases and their lifecycle (process.md 2.1 to 2.3): open, accept, notify, decide, close.

Every function here is one transition: it checks the case can make it (refusing with a message
that says what the case needs first), changes the rows, starts or stops the clocks, records an
event with its actor, and queues any email, all in the caller's transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, select

from bot import audit, deadlines, vocabulary
from bot.core import Core
from bot.errors import Invalid, NotFound, Refused
from bot.mailer import render
from bot.models import AgencyRequest, Case
from bot.outbox import enqueue
from bot.protocol import UnknownAgency
from bot.refs import next_ref
from bot.stages import (
    BEFORE_NOTIFICATION,
    CLOSED_STAGES,
    DECISIONS,
    KIND_NAMES,
    KIND_STAGES,
    LABELS,
    NOT_MET_ROUTES,
    Stage,
)

OUTCOMES = vocabulary.values(vocabulary.OUTCOMES)
ANSWERS = vocabulary.values(vocabulary.ANSWERS)
#: process.md 5.5 item 6.
LEGAL_STATUSES = vocabulary.values(vocabulary.LEGAL_STATUSES)
#: The only ages a chat may show (process.md 7.1; 8.4 item 1): (value, label).
AGE_BANDS = tuple(vocabulary.AGE_BANDS)
AGE_BAND_NOTE = "age band: not one of the protocol's bands; please set it"
_BAND_WORDS = {
    **{v: v for v, _ in AGE_BANDS}, **{label.lower(): v for v, label in AGE_BANDS},
    "under 1": "0-1", "under one": "0-1", "0 to 1": "0-1", "1 - 4": "1-4", "5 - 10": "5-10",
    "11 - 15": "11-15", "16 - 17": "16-17", "edd": "unborn", "pre-birth": "unborn",
}
#: "13", "13 years", "13 yrs old", "8 months": an age, read as its band (never stored as given).
_AGE = re.compile(r"(\d{1,2})\s*(y|yrs?|years?|m|months?)?(?:\s+old)?")


def age_band(text: str | None) -> str | None:
    """The protocol's band for ``text`` (a band, its label, or an age in years or months), else
    None. A date of birth is never a band: it is refused, not converted (process.md 8.4)."""
    if text is None:
        return None
    words = " ".join(text.strip().lower().split())[:40]
    if words in _BAND_WORDS:
        return _BAND_WORDS[words]
    match = _AGE.fullmatch(words)
    if match is None:
        return None
    number, unit = int(match.group(1)), match.group(2) or "y"
    years = number // 12 if unit.startswith("m") else number
    if years >= 18:
        return None
    bands = ((0, "0-1"), (4, "1-4"), (10, "5-10"), (15, "11-15"), (17, "16-17"))
    return next(band for top, band in bands if years <= top)


@dataclass
class Referral:
    """The non-identifying facts of a referral (process.md 7.1; Slack and email alike)."""

    referring_agency: str | None = None
    incident_date: date | None = None
    la_aware_date: date | None = None
    outcome: str | None = None
    abuse_neglect: str | None = None
    legal_status: str | None = None
    age_band: str | None = None
    agencies_involved: list[str] = field(default_factory=list)
    parallel_processes: list[str] = field(default_factory=list)
    media_interest: str | None = None

    def missing(self) -> list[str]:
        """What the business unit must still complete, in the words a person uses."""
        labels = {
            "referring_agency": "referring agency",
            "incident_date": "date of incident",
            "la_aware_date": "date the local authority became aware",
            "outcome": "outcome (death or serious harm)",
            "abuse_neglect": "whether abuse or neglect is known or suspected",
            "legal_status": "child's legal status",
        }
        return [label for attr, label in labels.items() if getattr(self, attr) in (None, "")]


def get_case(session: Session, ref: str) -> Case:
    case = session.exec(select(Case).where(Case.ref == ref.strip().upper())).first()
    if case is None:
        raise NotFound(f"no case {ref!r}; 'review-bot cases' lists them")
    return case


def referral_errors(core: Core, referral: Referral, today: date) -> dict[str, str]:
    """What is wrong with a referral, by field (the form's field names; every door the same)."""
    errors: dict[str, str] = {}
    for name in ("incident_date", "la_aware_date"):
        value = getattr(referral, name)
        if value is not None and value > today:
            errors[name] = f"{name.replace('_', ' ')} {value} is in the future"
    if (
        referral.incident_date and referral.la_aware_date
        and referral.la_aware_date < referral.incident_date and "la_aware_date" not in errors
    ):
        errors["la_aware_date"] = "the local authority cannot have become aware before the incident"
    for name, allowed, words in (
        ("outcome", OUTCOMES, "outcome"), ("abuse_neglect", ANSWERS, "abuse or neglect"),
        ("legal_status", LEGAL_STATUSES, "legal status"),
    ):
        if getattr(referral, name) not in (None, "", *allowed):
            errors[name] = f"{words} must be one of: {', '.join(allowed)}"
    for name, slugs in (("referring_agency", [referral.referring_agency]),
                        ("agencies_involved", referral.agencies_involved)):
        for slug in slugs:
            if slug and name not in errors:
                try:
                    core.protocol.agency(slug)
                except UnknownAgency as exc:
                    errors[name] = str(exc)
    return errors


def _validate_referral(core: Core, referral: Referral, today: date) -> None:
    errors = referral_errors(core, referral, today)
    if errors:
        raise Invalid(errors)


def open_case(
    session: Session, core: Core, referral: Referral, *, actor: str, source: str,
    acknowledge_to: str | None = None, notes: list[str] | None = None,
) -> Case:
    """R0: a referral becomes a case. The notification clock starts if the LA's date is known.

    ``notes`` add to what the business unit must complete (e.g. a field an email had unreadable).
    """
    now = core.clock.now()
    _validate_referral(core, referral, core.calendar.local_date(now))
    band = age_band(referral.age_band)
    notes = list(notes or [])
    if referral.age_band not in (None, "") and band is None:
        # Not a band (a date of birth, a typo): not stored, not echoed; the business unit sets it.
        notes.append(AGE_BAND_NOTE)
    missing = list(dict.fromkeys([*referral.missing(), *notes]))
    case = Case(
        ref=next_ref(session, "SI", core.calendar.local_date(now).year),
        stage=Stage.REFERRAL_RECEIVED, created_at=now, updated_at=now, source=source,
        referrer=actor, referring_agency=referral.referring_agency,
        incident_date=referral.incident_date, la_aware_date=referral.la_aware_date,
        outcome=referral.outcome, abuse_neglect=referral.abuse_neglect,
        legal_status=referral.legal_status, age_band=band,
        agencies_involved=list(dict.fromkeys(referral.agencies_involved)),
        parallel_processes=referral.parallel_processes, media_interest=referral.media_interest,
        missing=missing, terms=core.protocol.terms(),
    )
    session.add(case)
    session.flush()
    sin = None
    if referral.la_aware_date:
        sin = deadlines.open_statutory(
            session, core.calendar, case, "sin_notification", referral.la_aware_date, now
        )
    audit.record(
        session, at=now, actor=actor, kind="case_opened", case_id=case.id, source=source,
        stage=case.stage, missing=missing,
    )
    if AGE_BAND_NOTE in notes:
        # The value itself is never audited: it may be a date of birth.
        audit.record(session, at=now, actor=actor, kind="age_band_refused", case_id=case.id, source=source)
    alert = render(
        "referral_alert", ref=case.ref, partnership=core.protocol.partnership.name,
        source=source, la_aware_date=referral.la_aware_date,
        sin_due=sin.due_at if sin else None, missing=missing,
    )
    enqueue(
        session, core, key=f"case:{case.id}:referral-alert", kind="referral_alert",
        to=core.protocol.roles.business_unit_emails(), rendered=alert, case_id=case.id,
        reason=f"case:{case.id}",  # not for a case closed before it went (issue 9 item 6)
    )
    if acknowledge_to:
        ack = render(
            "referral_ack", ref=case.ref, partnership=core.protocol.partnership.name,
            missing=missing,
        )
        enqueue(
            session, core, key=f"case:{case.id}:referral-ack", kind="referral_ack",
            to=[acknowledge_to], rendered=ack, case_id=case.id,
        )
    return case


def move_stage(session: Session, core: Core, case: Case, to: Stage, actor: str, **detail: object) -> None:
    now = core.clock.now()
    before = case.stage
    case.stage = to
    case.updated_at = now
    audit.record(
        session, at=now, actor=actor, kind="stage_changed", case_id=case.id,
        **{"from": before, "to": str(to)}, **detail,
    )


def require_stage(case: Case, allowed: set[Stage] | frozenset[Stage], needs: str) -> None:
    if case.stage in CLOSED_STAGES:
        raise Refused(f"{case.ref} is closed ({LABELS[Stage(case.stage)]}); nothing more can happen")
    if case.stage not in allowed and not set(allowed) & KIND_STAGES.get(case.kind, set(allowed)):
        raise Refused(f"{case.ref} is {KIND_NAMES[case.kind]}: that is not one of its steps")
    if case.stage not in allowed:
        raise Refused(f"{case.ref} is at '{LABELS[Stage(case.stage)]}': {needs}")


def start_triage(session: Session, core: Core, case: Case, *, actor: str) -> None:
    """R0 -> R1: the business unit starts screening the referral against the criteria."""
    require_stage(case, {Stage.REFERRAL_RECEIVED}, "triage has already started")
    move_stage(session, core, case, Stage.TRIAGE, actor)


def set_la_aware(session: Session, core: Core, case: Case, la_aware: date, *, actor: str) -> None:
    """Record (or correct) when the LA became aware: the anchor of the notification clock."""
    now = core.clock.now()
    if case.kind != "child":  # a child's notification clock's anchor (decision 0028)
        raise Refused(f"{case.ref} is {KIND_NAMES[case.kind]}: that is not one of its steps")
    if la_aware > core.calendar.local_date(now):
        raise Invalid({"la_aware_date": f"date the local authority became aware {la_aware} is in the future"})
    if case.incident_date and la_aware < case.incident_date:
        raise Invalid({"la_aware_date": "the local authority cannot have become aware before the incident"})
    if case.la_aware_date == la_aware:
        return
    case.la_aware_date = la_aware
    case.missing = [m for m in case.missing if m != "date the local authority became aware"]
    if case.stage in BEFORE_NOTIFICATION:
        deadlines.open_statutory(session, core.calendar, case, "sin_notification", la_aware, now)
    audit.record(
        session, at=now, actor=actor, kind="la_aware_recorded", case_id=case.id,
        la_aware_date=la_aware.isoformat(),
    )


def accept(
    session: Session, core: Core, case: Case, *, actor: str, la_aware: date | None = None
) -> None:
    """R0/R1 -> R2: the criteria are met and the LA is to notify the National Panel."""
    require_stage(
        case, {Stage.REFERRAL_RECEIVED, Stage.TRIAGE},
        "only a referral that is received or in triage can be accepted",
    )
    if la_aware is not None:
        set_la_aware(session, core, case, la_aware, actor=actor)
    if case.la_aware_date is None:
        raise Refused(
            f"{case.ref} needs the date the local authority became aware before it can be "
            "accepted: it starts the 5 working day notification clock (accept --la-aware DATE)"
        )
    move_stage(session, core, case, Stage.SIN_PENDING, actor, criteria="met")


def not_met(
    session: Session, core: Core, case: Case, *, route: str, reason: str, actor: str
) -> None:
    """R1 -> X1 / N1 / A1: the serious incident criteria are not met (process.md R1, 5.5)."""
    if route not in NOT_MET_ROUTES:
        raise Invalid({"route": f"route must be one of: {', '.join(NOT_MET_ROUTES)}"})
    if not reason.strip():
        raise Invalid({"reason": "a reason is required: the rationale must be recorded (process.md 2.3)"})
    require_stage(
        case, {Stage.REFERRAL_RECEIVED, Stage.TRIAGE, Stage.SIN_PENDING},
        "the criteria decision has already been made",
    )
    now = core.clock.now()
    sin = deadlines.find(session, case, "sin_notification")
    if sin is not None:
        deadlines.cancel(sin, now)
    if route == "notification-only":
        # A looked-after child's death without suspected abuse or neglect, or a care leaver's
        # death: the LA still notifies the Secretary of State and Ofsted within 5 working days,
        # but no rapid review clock starts (process.md 5.5; 10.15).
        if case.la_aware_date is None:
            raise Refused(
                f"{case.ref} needs the date the local authority became aware: the notification "
                "still has a 5 working day clock (case REF la-aware DATE)"
            )
        deadlines.open_statutory(
            session, core.calendar, case, "lac_notification", case.la_aware_date, now
        )
    case.route = route
    case.decision_rationale = reason.strip()
    move_stage(session, core, case, NOT_MET_ROUTES[route], actor, criteria="not met", route=route)


def record_sin_submitted(
    session: Session, core: Core, case: Case, *, at: datetime | None, actor: str
) -> None:
    """R2 -> R3/RR1: the LA submitted the notification; the 15 working day rapid review starts."""
    require_stage(case, BEFORE_NOTIFICATION, "the notification has already been recorded")
    now = core.clock.now()
    at = at or now
    if at > now:
        raise Invalid({"at": "the notification cannot have been submitted in the future"})
    if case.la_aware_date is None:
        raise Refused(
            f"{case.ref} needs the date the local authority became aware first "
            "(case REF accept --la-aware DATE): it is what the notification is measured against"
        )
    if core.calendar.local_date(at) < case.la_aware_date:
        raise Invalid({"at": "the notification cannot precede the local authority becoming aware"})
    sin = deadlines.find(session, case, "sin_notification") or deadlines.open_statutory(
        session, core.calendar, case, "sin_notification", case.la_aware_date, now
    )
    deadlines.meet(sin, at)
    case.sin_submitted_at = at
    # D-04 runs from the notification (SW-SCR 4.9; Cambridgeshire E7), not from the referral.
    deadlines.open_statutory(session, core.calendar, case, "rapid_review", at, now)
    late = at > sin.due_at
    move_stage(
        session, core, case, Stage.INFO_GATHERING, actor,
        sin_submitted_at=at.isoformat(), sin_on_time=not late,
    )


def outstanding_requests(session: Session, case: Case, kind: str) -> list[AgencyRequest]:
    return list(
        session.exec(
            select(AgencyRequest).where(
                AgencyRequest.case_id == case.id, AgencyRequest.kind == kind,
                AgencyRequest.status == "sent",
            )
        )
    )


def decide(
    session: Session, core: Core, case: Case, *, option: str, rationale: str, actor: str,
    at: datetime | None = None,
) -> None:
    """RR2 -> RR3 and on: the panel's decision (process.md 5.4), sent to the National Panel."""
    if option not in DECISIONS:
        raise Invalid({"option": f"decision must be one of: {', '.join(DECISIONS)}"})
    require_stage(
        case, {Stage.INFO_GATHERING, Stage.PANEL_DECISION},
        "the panel decides after the notification is submitted and information is gathered",
    )
    waiting = outstanding_requests(session, case, "info-gathering")
    if waiting:
        names = ", ".join(sorted(r.agency for r in waiting))
        raise Refused(
            f"{case.ref} is still waiting for information gathering returns from: {names}. "
            "Record them ('case REF returned AGENCY') or withdraw them with a reason "
            "('case REF withdraw AGENCY --reason ...') first"
        )
    now = core.clock.now()
    at = at or now
    if at > now:
        raise Invalid({"at": "the decision cannot be in the future"})
    deadlines.meet_statutory(session, case, "rapid_review", at)
    case.decision = option
    case.decision_at = at
    case.decision_rationale = rationale.strip() or None
    target = DECISIONS[option]
    if target is Stage.LCSPR:
        # D-10: published within 6 months of the decision (SW-SCR 4.12; STK l.141).
        deadlines.open_statutory(session, core.calendar, case, "lcspr_publication", at, now)
    move_stage(session, core, case, target, actor, decision=option, decided_at=at.isoformat())


def close(session: Session, core: Core, case: Case, *, reason: str, actor: str) -> None:
    """Close the case: every clock and chaser stops."""
    if not reason.strip():
        raise Invalid({"reason": "a reason is required to close a case"})
    if case.stage in CLOSED_STAGES:
        raise Refused(f"{case.ref} is already closed")
    now = core.clock.now()
    for deadline in deadlines.open_deadlines(session, case):
        deadlines.cancel(deadline, now)
    for request in session.exec(
        select(AgencyRequest).where(AgencyRequest.case_id == case.id, AgencyRequest.status == "sent")
    ):
        request.status = "closed"
        request.closed_reason = "case closed"
    case.closed_reason = reason.strip()
    move_stage(session, core, case, Stage.CLOSED, actor)
