"""Age bands (process.md 7.1 "age band only in Slack"): the core keeps only the protocol's bands,
whatever door the referral came through; anything else is refused with a note, never stored."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from bot.cases import AGE_BAND_NOTE, AGE_BANDS, age_band, get_case
from bot.core import Core
from bot.models import Case, Event, OutboxMessage
from tests.conftest import new_case


@pytest.mark.parametrize(("given", "band"), [
    *[(value, value) for value, _ in AGE_BANDS], *[(label, value) for value, label in AGE_BANDS],
    ("  11 TO 15 ", "11-15"), ("13", "11-15"), ("13 years", "11-15"), ("4 yrs old", "1-4"),
    ("8 months", "0-1"), ("18 months", "1-4"), ("0", "0-1"), ("17", "16-17"), ("10", "5-10"),
])
def test_bands_labels_and_ages_read_as_a_band(given: str, band: str) -> None:
    assert age_band(given) == band


@pytest.mark.parametrize("given", [
    "13/03/2019", "2019-03-13", "13 March 2019", "18", "42 years", "teenager", "11-16", "", "DOB 1/1/20",
])
def test_anything_else_is_not_a_band(given: str) -> None:
    assert age_band(given) is None


def test_a_date_of_birth_is_not_stored_but_noted_for_the_business_unit(core: Core) -> None:
    ref = new_case(core, age_band="13/03/2019")
    with core.transaction() as s:
        case = get_case(s, ref)
        assert case.age_band is None
        assert AGE_BAND_NOTE in case.missing
        events = list(s.exec(select(Event).where(Event.case_id == case.id)))
        outbox = list(s.exec(select(OutboxMessage)))
    assert "age_band_refused" in [e.kind for e in events]
    # Audited and emailed WITHOUT the value: it appears in no event and no message.
    everything = json.dumps([e.detail for e in events]) + "".join(m.body_text + m.subject for m in outbox)
    assert "13/03/2019" not in everything and "2019" not in json.dumps([e.detail for e in events])
    assert AGE_BAND_NOTE in "".join(m.body_text for m in outbox)  # the business unit is told


def test_a_band_or_an_age_is_stored_as_the_band(core: Core) -> None:
    first = new_case(core, age_band="Under 1")
    second = new_case(core, age_band="13")
    third = new_case(core)
    with core.transaction() as s:
        rows = {c.ref: c for c in s.exec(select(Case))}
        kinds = [e.kind for e in s.exec(select(Event))]
    assert (rows[first].age_band, rows[second].age_band, rows[third].age_band) == ("0-1", "11-15", None)
    assert all(AGE_BAND_NOTE not in c.missing for c in rows.values())
    assert "age_band_refused" not in kinds
