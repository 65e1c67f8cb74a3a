"""The fixed choices of the referral and the case forms, with the words people see (process.md 7.1).

One list per question, used by every door's form and by the core's validation: a value outside
the list is refused naming its field (issue 11: vocabulary and validation once, in the core).
"""

from __future__ import annotations

from collections.abc import Sequence

Pairs = Sequence[tuple[str, str]]

#: The serious incident criteria turn on death or serious harm (Working Together 2023, ch. 5).
OUTCOMES: Pairs = (("death", "Death"), ("serious-harm", "Serious harm"))
ANSWERS: Pairs = (("yes", "Yes"), ("no", "No"), ("unclear", "Unclear"))
#: process.md 5.5 item 6.
LEGAL_STATUSES: Pairs = (
    ("lac", "Looked after child"),
    ("cp-plan", "Child protection plan (current or previous)"),
    ("cin", "Child in need"),
    ("care-leaver", "Care leaver"),
    ("previously-known", "Previously known to children's social care"),
    ("not-known", "Not known"),
)
#: The only ages a chat may show (process.md 7.1 "age band only"; 8.4 item 1 "Ages in bands"):
#: children's services age groups, 0 to 17 (Children Act 1989 s.105).
AGE_BANDS: Pairs = (
    ("unborn", "Unborn"), ("0-1", "Under 1"), ("1-4", "1 to 4"), ("5-10", "5 to 10"),
    ("11-15", "11 to 15"), ("16-17", "16 to 17"),
)
PARALLEL: Pairs = (
    ("police-investigation", "Police investigation"),
    ("coroner", "Coroner"),
    ("other-reviews", "Other reviews (DHR, SAR, MAPPA, NHS serious incident)"),
)
MEDIA_INTEREST: Pairs = (("known", "Known"), ("likely", "Likely"), ("none-known", "None known"))
REQUEST_KIND_LABELS = {"info-gathering": "information gathering", "chronology": "chronology"}
#: process.md R1, 5.5: the routes when the criteria are not met.
ROUTE_LABELS = {
    "no-further-action": "No further action",
    "notification-only": "Notification only (looked-after child or care leaver)",
    "alternative-learning": "Alternative learning",
}
#: Which proceedings a local review's publication waits for (KIR l.316; SW-COMMS l.57).
EMBARGO_LABELS = {"criminal": "Criminal proceedings", "coroner": "Coroner's inquest"}


def values(pairs: Pairs) -> tuple[str, ...]:
    return tuple(v for v, _ in pairs)


def label(pairs: Pairs, value: str | None) -> str:
    return dict(pairs).get(value or "", value or "not given")


def decision_label(option: str) -> str:
    return option.replace("-", " ").capitalize()
