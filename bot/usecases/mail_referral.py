"""A referral by email (process.md 7.1; issue 11 item 1): the form's labelled answers read into
a :class:`~bot.cases.Referral` in the protocol's vocabulary, and the case opened when the sender
is one of the partnership's agencies and our boundary authenticated it (decision 0011).

The door gives the body's "Label: value" lines (handlers/mail/referral_form.labelled_fields, a
linear read of the sender's text); what each answer means is decided here, once. An answer that
cannot be read leaves its field empty with a note naming the field (never quoting the sender):
the case is still opened and people still alerted, because a late alert is worse than an
imperfect referral, and the business unit completes what is missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from sqlmodel import Session

from bot.actors import Actor
from bot.cases import Referral, open_case
from bot.core import Core
from bot.dates import read_day
from bot.errors import ServiceError
from bot.models import InboundMessage
from bot.protocol import Protocol, UnknownAgency
from bot.usecases.mail import IntakeResult, MailIn, hold_for_triage, keep_attachments, sender_problem


def receive_referral(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, mail: MailIn
) -> IntakeResult:
    """Open the case a referral email describes (R0), or say why a person must look at it."""
    agencies = core.protocol.agencies_for_domain(mail.from_domain) if mail.from_domain else []
    if not agencies:
        return hold_for_triage(
            session, core, actor, inbound, mail, "a referral from outside the partnership's agencies "
            f"({mail.from_domain or 'unreadable sender'}); open the case by hand if it is genuine",
        )
    today = core.calendar.local_date(core.clock.now())
    referral, notes = read_referral(mail.fields, core.protocol, today)
    if referral.referring_agency is None and len(agencies) == 1:
        referral.referring_agency = agencies[0].slug
    if sender_problem(core, mail, agencies[0].slug):
        return hold_for_triage(session, core, actor, inbound, mail,
                               "a referral whose sender could not be verified")
    try:
        case = open_case(
            session, core, referral, actor=actor.key, source="email", acknowledge_to=mail.from_addr,
            notes=notes,
        )
    except ServiceError as exc:
        return hold_for_triage(session, core, actor, inbound, mail,
                               f"a referral that could not be opened: {exc}")
    inbound.case_id, inbound.agency = case.id, referral.referring_agency
    keep_attachments(session, core, inbound, mail)
    return IntakeResult(mail.message_id, "referral", case.ref, referral.referring_agency)


# --- the form's answers -------------------------------------------------------------------------


def _date(value: str) -> date | None:
    # One reader of the dates people type, shared with the CLI (bot/dates.py): an email and a
    # command agree on what "03/04/2026" means (day first, as in the UK).
    return read_day(value)


def _agency(protocol: Protocol, value: str) -> str | None:
    value = value.strip()
    try:
        return protocol.agency(value.lower()).slug
    except UnknownAgency:
        pass
    for a in protocol.agencies:
        if a.name.lower() == value.lower():
            return a.slug
    return None


_OUTCOME = {"death": "death", "died": "death", "serious harm": "serious-harm",
            "serious-harm": "serious-harm", "seriously harmed": "serious-harm"}
_LEGAL = {"lac": "lac", "looked after": "lac", "looked-after": "lac", "looked after child": "lac",
          "cp plan": "cp-plan", "cp-plan": "cp-plan", "child protection plan": "cp-plan",
          "cin": "cin", "child in need": "cin", "care leaver": "care-leaver",
          "care-leaver": "care-leaver", "previously known": "previously-known",
          "previously known to csc": "previously-known", "not known": "not-known",
          "not-known": "not-known"}
_PARALLEL = ("police investigation", "coroner", "dhr", "sar", "mappa", "nhs serious incident",
             "court proceedings", "other reviews")


def _answer(value: str) -> str | None:
    v = value.strip().lower()
    if v in ("yes", "known", "suspected", "known or suspected", "y"):
        return "yes"
    if v in ("no", "n", "not suspected"):
        return "no"
    if v in ("unclear", "unknown", "not known", "don't know"):
        return "unclear"
    return None


def read_referral(
    fields: dict[str, str], protocol: Protocol, today: date
) -> tuple[Referral, list[str]]:
    """The labelled fields of a referral email (process.md 7.1), and notes on what was unusable.

    Notes never quote the sender's text: they name the field only. An error reading one field
    leaves that field unread with a note: the case is still opened and people still alerted
    (a late alert is worse than an imperfect referral).
    """
    referral = Referral()
    notes: list[str] = []
    for name, labels, reader in _READERS:
        value = next((fields[label] for label in labels if label in fields), None)
        if value is None:
            continue
        try:
            reader(referral, value, notes, protocol, today)
        except Exception:
            notes.append(f"{name} (could not be read)")
    if (
        referral.incident_date and referral.la_aware_date
        and referral.la_aware_date < referral.incident_date
    ):
        notes.append("date local authority became aware (earlier than the incident)")
        referral.la_aware_date = None
    return referral, notes


_Reader = Callable[[Referral, str, list[str], Protocol, date], None]


def _referring_agency(referral: Referral, v: str, notes: list[str], protocol: Protocol, _: date) -> None:
    referral.referring_agency = _agency(protocol, v)
    if referral.referring_agency is None:
        notes.append("referring agency (not one of the protocol's agencies)")


def _past_date(attr: str, name: str) -> _Reader:
    def read(referral: Referral, v: str, notes: list[str], _p: Protocol, today: date) -> None:
        d = _date(v)
        if d is None or d > today:
            notes.append(f"{name} (could not be read as a past date)")
        else:
            setattr(referral, attr, d)
    return read


def _outcome(referral: Referral, v: str, _n: list[str], _p: Protocol, _d: date) -> None:
    referral.outcome = _OUTCOME.get(v.strip().lower())


def _abuse_neglect(referral: Referral, v: str, _n: list[str], _p: Protocol, _d: date) -> None:
    referral.abuse_neglect = _answer(v)


def _legal_status(referral: Referral, v: str, _n: list[str], _p: Protocol, _d: date) -> None:
    referral.legal_status = _LEGAL.get(v.strip().lower())


def _age_band(referral: Referral, v: str, _n: list[str], _p: Protocol, _d: date) -> None:
    if len(v) <= 20:
        referral.age_band = v.strip()


def _agencies_involved(referral: Referral, v: str, notes: list[str], protocol: Protocol, _: date) -> None:
    slugs, unknown = [], 0
    for item in re.split(r"[,;]", v):
        if item.strip():
            slug = _agency(protocol, item)
            if slug:
                slugs.append(slug)
            else:
                unknown += 1
    referral.agencies_involved = slugs
    if unknown:
        notes.append(f"agencies involved ({unknown} not recognised)")


def _parallel(referral: Referral, v: str, _n: list[str], _p: Protocol, _d: date) -> None:
    found = [p for p in _PARALLEL if p in v.lower()]
    referral.parallel_processes = found or (
        ["other"] if v.strip().lower() not in ("none", "no", "n/a") else []
    )


def _media_interest(referral: Referral, v: str, _n: list[str], _p: Protocol, _d: date) -> None:
    mi = v.strip().lower()
    referral.media_interest = mi if mi in ("known", "likely", "no", "none", "yes") else None


_DATE_AWARE = "date local authority became aware"
#: (field named in notes, labels in the order they are preferred, reader)
_READERS: tuple[tuple[str, tuple[str, ...], _Reader], ...] = (
    ("referring agency", ("referring agency", "agency"), _referring_agency),
    ("date of incident", ("date of incident", "incident date"),
     _past_date("incident_date", "date of incident")),
    (_DATE_AWARE, (_DATE_AWARE, "date the local authority became aware", "date la became aware",
                   "la aware date"), _past_date("la_aware_date", _DATE_AWARE)),
    ("outcome", ("outcome",), _outcome),
    ("abuse or neglect", ("abuse or neglect", "abuse or neglect known or suspected"),
     _abuse_neglect),
    ("legal status", ("legal status", "child's legal status"), _legal_status),
    ("age band", ("age band", "age"), _age_band),
    ("agencies involved", ("agencies involved", "agencies"), _agencies_involved),
    ("parallel processes", ("parallel processes",), _parallel),
    ("media interest", ("media interest",), _media_interest),
)
