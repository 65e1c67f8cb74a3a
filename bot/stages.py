"""The stages a case moves through (process.md 2.1 to 2.3, as far as the rapid review)."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    REFERRAL_RECEIVED = "referral_received"  # R0
    TRIAGE = "triage"  # R1: criteria screen
    SIN_PENDING = "sin_pending"  # R2: the LA is to notify the National Panel
    INFO_GATHERING = "info_gathering"  # R3/RR1: notified; information gathering
    PANEL_DECISION = "panel_decision"  # RR2: returns in, the panel decides
    LCSPR = "lcspr"  # L1/L2a: local review commissioned, chronology stage
    EMBARGOED = "embargoed"  # P0: report complete, publication waits for proceedings
    PRE_PUBLICATION = "pre_publication"  # P1: publication date set
    PUBLISHED = "published"  # P2
    NATIONAL_REVIEW = "national_review"  # NR1
    NO_FURTHER_REVIEW = "no_further_review"  # X2: rapid review learning only
    ALTERNATIVE_LEARNING = "alternative_learning"  # A1
    NOTIFICATION_ONLY = "notification_only"  # N1
    CLOSED_NFA = "closed_nfa"  # X1
    CLOSED = "closed"


LABELS: dict[Stage, str] = {
    Stage.REFERRAL_RECEIVED: "Referral received",
    Stage.TRIAGE: "Triage",
    Stage.SIN_PENDING: "Notification pending",
    Stage.INFO_GATHERING: "Notification submitted: information gathering",
    Stage.PANEL_DECISION: "Rapid review panel decision",
    Stage.LCSPR: "Local review: chronology stage",
    Stage.EMBARGOED: "Local review complete: publication delayed by proceedings",
    Stage.PRE_PUBLICATION: "Local review: publication date set",
    Stage.PUBLISHED: "Local review published",
    Stage.NATIONAL_REVIEW: "National review",
    Stage.NO_FURTHER_REVIEW: "No further review (rapid review learning)",
    Stage.ALTERNATIVE_LEARNING: "Alternative learning",
    Stage.NOTIFICATION_ONLY: "Notification only",
    Stage.CLOSED_NFA: "Closed: no further action",
    Stage.CLOSED: "Closed",
}

CLOSED_STAGES = frozenset({Stage.CLOSED, Stage.CLOSED_NFA})
BEFORE_NOTIFICATION = frozenset({Stage.REFERRAL_RECEIVED, Stage.TRIAGE, Stage.SIN_PENDING})

#: Routes out of triage when the serious incident criteria are not met (process.md R1, 5.5).
NOT_MET_ROUTES: dict[str, Stage] = {
    "no-further-action": Stage.CLOSED_NFA,
    "notification-only": Stage.NOTIFICATION_ONLY,
    "alternative-learning": Stage.ALTERNATIVE_LEARNING,
}

#: The panel's decision options (process.md 5.4) and where each leads.
DECISIONS: dict[str, Stage] = {
    "national-review": Stage.NATIONAL_REVIEW,
    "lcspr": Stage.LCSPR,
    "single-agency-review": Stage.ALTERNATIVE_LEARNING,
    "audit": Stage.ALTERNATIVE_LEARNING,
    "practice-review": Stage.ALTERNATIVE_LEARNING,
    "reflective-session": Stage.ALTERNATIVE_LEARNING,
    "escalation": Stage.ALTERNATIVE_LEARNING,
    "no-further-review": Stage.NO_FURTHER_REVIEW,
}
