"""Reading the labelled fields of a referral email (process.md 7.1), in linear time.

The text is the sender's: each line is split at its first colon by hand (no pattern with
overlapping quantifiers), only the first lines and characters are looked at, and an error
reading one field leaves that field unread with a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from bot.cases import Referral
from bot.dates import read_day
from bot.protocol import Protocol, UnknownAgency

#: What a label may be (the seed's referral form labels: "Date of incident", "Child's legal
#: status"...). Only ever matched against a stripped label of at most 61 characters.
_LABEL_TEXT = re.compile(r"[A-Za-z][A-Za-z '()/-]{2,60}")
#: How much of a body is looked at for labels: a referral form is a few dozen short lines.
MAX_SCAN_CHARS = 64 * 1024
MAX_SCAN_LINES = 500
MAX_LINE_CHARS = 1000


def labelled_fields(text: str) -> dict[str, str]:
    """``label (lowercased) -> value`` for each "Label: value" line, the first of each label.

    Linear in the text: each line is cut at its first colon by hand; only the first
    ``MAX_SCAN_LINES`` lines of the first ``MAX_SCAN_CHARS`` characters are read, and a line
    longer than ``MAX_LINE_CHARS`` is no form line.
    """
    fields: dict[str, str] = {}
    for line in text[:MAX_SCAN_CHARS].splitlines()[:MAX_SCAN_LINES]:
        if len(line) > MAX_LINE_CHARS:
            continue
        head, colon, rest = line.partition(":")
        label, value = head.strip(), rest.strip()
        if colon and value and len(label) <= 61 and _LABEL_TEXT.fullmatch(label):
            fields.setdefault(label.lower(), value)
    return fields


def looks_like_a_referral_form(subject: str, fields: dict[str, str]) -> bool:
    """A subject naming a referral, or the form's "Date of incident" line (process.md 7.1)."""
    return "referral" in subject.lower() or "date of incident" in fields


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
    text: str, protocol: Protocol, today: date, fields: dict[str, str] | None = None
) -> tuple[Referral, list[str]]:
    """The labelled fields of a referral email (process.md 7.1), and notes on what was unusable.

    Notes never quote the sender's text: they name the field only. An error reading one field
    leaves that field unread with a note: the case is still opened and people still alerted
    (a late alert is worse than an imperfect referral).
    """
    fields = labelled_fields(text) if fields is None else fields
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
