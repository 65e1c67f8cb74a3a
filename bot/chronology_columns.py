"""The chronology template's columns and how a return's headings are matched to them.

The default template (process.md 7.6; issue 12 item 3): Date, Time, Source of information, Event,
Outcome / action taken. Chronolator (E16) makes the start date and the source of information
mandatory; the protocol may name more (``[templates] chronology_mandatory``). Agencies retype,
reword and re-punctuate headings, so a heading is matched after folding case, punctuation,
bracketed hints ("Date (dd/mm/yyyy)") and little words, against a list of synonyms. A heading that
matches nothing is kept as the template's own column (e.g. "Analysis / comment") and carried into
the composite under its own name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: canonical key -> the heading the default template and the composite use
HEADINGS = {
    "date": "Date",
    "time": "Time",
    "source": "Source of information",
    "event": "Event",
    "outcome": "Outcome / action taken",
}
DEFAULT_COLUMNS = tuple(HEADINGS)
DEFAULT_MANDATORY = ("date", "source", "event")

_SYNONYMS = {
    "date": ["date", "start date", "date of event", "event date", "date of contact", "contact date",
             "dates", "date of entry", "date event", "date started", "incident date"],
    "time": ["time", "start time", "time of event", "event time", "time of contact"],
    "source": ["source of information", "source", "sources", "information source", "source of info",
               "info source", "source record", "source of record", "record", "records",
               "information from", "source of the information", "source document", "record source",
               "source of information record", "where recorded", "source of data"],
    "event": ["event", "events", "event details", "details of event", "event contact details",
              "contact details", "details of contact", "description", "description of event",
              "event description", "details", "what happened", "summary", "event summary",
              "contact event", "event contact", "incident", "details of incident",
              "event or contact", "nature of contact", "key event"],
    "outcome": ["outcome action taken", "outcome", "outcomes", "action taken", "actions taken",
                "action", "actions", "outcome actions", "action outcome", "actions outcome",
                "outcome action", "response action taken", "decision action taken",
                "outcome actions taken", "action taken outcome", "outcome of contact",
                "decision outcome", "result", "response"],
}
_LITTLE = {"and", "or", "the", "of", "a", "an", "to", "any", "if"}
_BRACKETS = re.compile(r"\([^()]{0,80}\)|\[[^\[\]]{0,80}\]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
MAX_HEADING = 120


def fold(heading: str) -> str:
    """A heading reduced to its words: "Outcome / Action taken:" -> "outcome action taken"."""
    text = _BRACKETS.sub(" ", heading[:MAX_HEADING].lower().replace("&", " and "))
    words = [w for w in _NON_WORD.split(text) if w and w not in _LITTLE]
    return " ".join(words)


_BY_FOLDED = {fold(s): key for key, synonyms in _SYNONYMS.items() for s in synonyms}


def match_heading(heading: str) -> str | None:
    """The canonical column a heading names, or None for a column of the template's own."""
    folded = fold(heading)
    if folded in _BY_FOLDED:
        return _BY_FOLDED[folded]
    # "Outcome/action taken by agency", "Date of event (if known)": the longest synonym the
    # heading starts with, whole words only.
    best: tuple[int, str] | None = None
    for synonym, key in _BY_FOLDED.items():
        if folded.startswith(synonym + " ") and (best is None or len(synonym) > best[0]):
            best = (len(synonym), key)
    return best[1] if best else None


@dataclass(frozen=True)
class Header:
    """A grid's heading row: column index -> canonical key, and its other columns by heading."""

    row_number: int
    columns: dict[str, int]
    extra: dict[int, str]


def read_header(cells: Sequence[object], row_number: int) -> Header | None:
    """``cells`` as the template's heading row, or None: it must name the Date column and at
    least one other of the template's columns."""
    columns: dict[str, int] = {}
    extra: dict[int, str] = {}
    for index, cell in enumerate(cells):
        if not isinstance(cell, str) or not cell.strip():
            continue
        key = match_heading(cell)
        if key is not None and key not in columns:
            columns[key] = index
        else:
            extra[index] = " ".join(cell.split())[:MAX_HEADING]
    if "date" not in columns or len(columns) < 2:
        return None
    return Header(row_number, columns, extra)


def heading_of(key: str) -> str:
    return HEADINGS.get(key, key)
