"""The stages a case moves through (process.md 2.1 to 2.3): the rapid review, then the local review
to publication, embedding and recall (issue 12; decision 0022).

A local review's stages are named after the last milestone reached; its clocks are rows
(bot.review_clocks). Values are stored: never rename one (old cases keep theirs).
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    REFERRAL_RECEIVED = "referral_received"  # R0
    TRIAGE = "triage"  # R1: criteria screen
    SIN_PENDING = "sin_pending"  # R2: the LA is to notify the National Panel
    INFO_GATHERING = "info_gathering"  # R3/RR1: notified; information gathering
    PANEL_DECISION = "panel_decision"  # RR2: returns in, the panel decides
    LCSPR = "lcspr"  # L1/L2a: local review commissioned, chronology requests
    COMPOSITE_CHRONOLOGY = "composite_chronology"  # L2b/L2c: composite made, learning event planned
    LEARNING_EVENT = "learning_event"  # L2e: learning event(s) held, the first draft is written
    FIRST_DRAFT = "first_draft"  # L2g/L2h: first draft in, to the workstream
    WORKSTREAM = "workstream"  # L2i: workstream met: minutes, then the reviewer's amendments
    BUSINESS_GROUP = "business_group"  # L2j: with the business group for approval
    ENDORSEMENT = "endorsement"  # L2k: approved, awaiting the partnership's endorsement
    FINAL_APPROVED = "final_approved"  # L3: final report approved; publication planning
    EMBARGOED = "embargoed"  # P0: report complete, publication waits for proceedings
    PRE_PUBLICATION = "pre_publication"  # P1: publication date set
    PUBLISHED = "published"  # P2
    EMBEDDING = "embedding"  # E1: actions and learning being embedded
    RECALL = "recall"  # E2: the recall event held; closed once the actions are verified
    NATIONAL_REVIEW = "national_review"  # NR1
    NO_FURTHER_REVIEW = "no_further_review"  # X2: rapid review learning only
    ALTERNATIVE_LEARNING = "alternative_learning"  # A1
    NOTIFICATION_ONLY = "notification_only"  # N1
    CLOSED_NFA = "closed_nfa"  # X1
    CLOSED = "closed"
    # A safeguarding adults review (Care Act 2014 s.44; process.md 2.5; decision 0028). Its
    # "other learning" decision goes to ALTERNATIVE_LEARNING, "no SAR" to CLOSED_NFA.
    SAR_REFERRED = "sar_referred"  # S0: referral received; screening meeting within 15 WD (STK l.256)
    SAR_SCREENED = "sar_screened"  # screening meeting held; recommendation in writing within 5 WD
    SAR_RECOMMENDED = "sar_recommended"  # with the Independent Chair, who decides within 5 WD (STK l.260)
    SAR_REVIEW = "sar_review"  # the Chair decided on a SAR: completed within 6 months (STK l.141, l.266)
    SAR_COMPLETED = "sar_completed"  # report and learning available; publication considered (STK l.398)
    SAR_PUBLISHED = "sar_published"
    # A complaint about the partnership's handling (process.md 2.6; STK l.418-427; decision 0028).
    COMPLAINT_RECEIVED = "complaint_received"  # written response within 28 days (STK l.420)
    COMPLAINT_RESPONDED = "complaint_responded"  # answered; the complainant may escalate (STK l.423)
    COMPLAINT_ESCALATED = "complaint_escalated"  # the Independent Chair responds within 28 days (l.425)
    COMPLAINT_CHAIR_RESPONDED = "complaint_chair_responded"  # the Chair answered; next: the Ombudsman


LABELS: dict[Stage, str] = {
    Stage.REFERRAL_RECEIVED: "Referral received",
    Stage.TRIAGE: "Triage",
    Stage.SIN_PENDING: "Notification pending",
    Stage.INFO_GATHERING: "Notification submitted: information gathering",
    Stage.PANEL_DECISION: "Rapid review panel decision",
    Stage.LCSPR: "Local review: commissioned, chronology requests",
    Stage.COMPOSITE_CHRONOLOGY: "Local review: composite chronology, learning event planning",
    Stage.LEARNING_EVENT: "Local review: learning event held, first draft being written",
    Stage.FIRST_DRAFT: "Local review: first draft in, to the workstream",
    Stage.WORKSTREAM: "Local review: workstream met, minutes and amendments",
    Stage.BUSINESS_GROUP: "Local review: with the business group for approval",
    Stage.ENDORSEMENT: "Local review: approved, awaiting partnership endorsement",
    Stage.FINAL_APPROVED: "Local review: final report approved, publication planning",
    Stage.EMBARGOED: "Local review complete: publication delayed by proceedings",
    Stage.PRE_PUBLICATION: "Local review: publication date set",
    Stage.PUBLISHED: "Local review published",
    Stage.EMBEDDING: "Local review published: learning being embedded",
    Stage.RECALL: "Local review: recall event held",
    Stage.NATIONAL_REVIEW: "National review",
    Stage.NO_FURTHER_REVIEW: "No further review (rapid review learning)",
    Stage.ALTERNATIVE_LEARNING: "Alternative learning",
    Stage.NOTIFICATION_ONLY: "Notification only",
    Stage.CLOSED_NFA: "Closed: no further action",
    Stage.CLOSED: "Closed",
    Stage.SAR_REFERRED: "SAR: referral received, screening meeting to hold",
    Stage.SAR_SCREENED: "SAR: screening meeting held, recommendation to write",
    Stage.SAR_RECOMMENDED: "SAR: recommendation with the Independent Chair",
    Stage.SAR_REVIEW: "SAR: review in progress",
    Stage.SAR_COMPLETED: "SAR: review completed, publication being considered",
    Stage.SAR_PUBLISHED: "SAR: published",
    Stage.COMPLAINT_RECEIVED: "Complaint: received, response due",
    Stage.COMPLAINT_RESPONDED: "Complaint: responded",
    Stage.COMPLAINT_ESCALATED: "Complaint: escalated to the Independent Chair",
    Stage.COMPLAINT_CHAIR_RESPONDED: "Complaint: the Independent Chair has responded",
}

CLOSED_STAGES = frozenset({Stage.CLOSED, Stage.CLOSED_NFA})
BEFORE_NOTIFICATION = frozenset({Stage.REFERRAL_RECEIVED, Stage.TRIAGE, Stage.SIN_PENDING})
#: A local review before its final report is approved (process.md L1 to L2k), in order.
REVIEW_WORK = (
    Stage.LCSPR, Stage.COMPOSITE_CHRONOLOGY, Stage.LEARNING_EVENT, Stage.FIRST_DRAFT,
    Stage.WORKSTREAM, Stage.BUSINESS_GROUP, Stage.ENDORSEMENT,
)
#: Every stage of a local review, from commissioning to recall (L1 to E2).
LOCAL_REVIEW = frozenset({
    *REVIEW_WORK, Stage.FINAL_APPROVED, Stage.EMBARGOED, Stage.PRE_PUBLICATION, Stage.PUBLISHED,
    Stage.EMBEDDING, Stage.RECALL,
})
AFTER_PUBLICATION = frozenset({Stage.PUBLISHED, Stage.EMBEDDING, Stage.RECALL})
#: A safeguarding adults review, referral to publication (process.md 2.5), in order.
SAR = (Stage.SAR_REFERRED, Stage.SAR_SCREENED, Stage.SAR_RECOMMENDED, Stage.SAR_REVIEW, Stage.SAR_COMPLETED,
       Stage.SAR_PUBLISHED)
#: A complaint's stages (process.md 2.6), in order.
COMPLAINT = (Stage.COMPLAINT_RECEIVED, Stage.COMPLAINT_RESPONDED, Stage.COMPLAINT_ESCALATED,
             Stage.COMPLAINT_CHAIR_RESPONDED)
#: The stages each kind of case (case.kind; decision 0028) can be at: a step none of whose stages
#: its kind reaches is refused as another kind's step (bot.cases.require_stage), not by stage.
KIND_STAGES: dict[str, frozenset[Stage]] = {
    "child": frozenset(Stage) - set(SAR) - set(COMPLAINT),
    "sar": frozenset({*SAR, Stage.ALTERNATIVE_LEARNING, *CLOSED_STAGES}),
    "complaint": frozenset({*COMPLAINT, *CLOSED_STAGES}),
}
KIND_NAMES = {"child": "a children's case", "sar": "a safeguarding adults review", "complaint": "a complaint"}

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

#: What the business unit does next at each stage (the case card's "Next step"; issue 12 item 7).
NEXT_STEP: dict[Stage, str] = {
    Stage.REFERRAL_RECEIVED: "Screen the referral against the criteria: accept it or record why not.",
    Stage.TRIAGE: "Decide whether the criteria are met.",
    Stage.SIN_PENDING: "The local authority notifies the National Panel; record the notification.",
    Stage.INFO_GATHERING: "Send the information gathering requests; the panel decides on the returns.",
    Stage.PANEL_DECISION: "Record the rapid review panel's decision.",
    Stage.LCSPR: "Record the terms of reference and the reviewer; request chronologies (or set IMR dates); "
                 "mark the composite chronology ready.",
    Stage.COMPOSITE_CHRONOLOGY: "The reviewer plans the practitioner learning event; record it when held.",
    Stage.LEARNING_EVENT: "The reviewer writes the first draft; record it when received.",
    Stage.FIRST_DRAFT: "The workstream meets on the draft; record the meeting.",
    Stage.WORKSTREAM: "Send the minutes to the reviewer, then the amended review to the business group.",
    Stage.BUSINESS_GROUP: "The business group approves or amends; record its approval.",
    Stage.ENDORSEMENT: "The partnership endorses the review; record the endorsement.",
    Stage.FINAL_APPROVED: "Set the publication date (or record a delay for proceedings).",
    Stage.EMBARGOED: "Send the delay notice; set the publication date when proceedings allow.",
    Stage.PRE_PUBLICATION: "Send the notice to the National Panel, the Secretary of State and Ofsted; tell "
                           "the practitioners and the family (drafts: review-bot case REF draft ...).",
    Stage.PUBLISHED: "Track the actions (12 weeks) and plan the recall event.",
    Stage.EMBEDDING: "Track the actions and hold the recall event.",
    Stage.RECALL: "Close the case once the actions are verified.",
    Stage.NATIONAL_REVIEW: "Support the National Panel's review.",
    Stage.NO_FURTHER_REVIEW: "Share the rapid review's learning; close the case.",
    Stage.ALTERNATIVE_LEARNING: "Run the learning route chosen; close the case when done.",
    Stage.NOTIFICATION_ONLY: "Close the case once the notification is recorded.",
    Stage.CLOSED_NFA: "Nothing: the case is closed.",
    Stage.CLOSED: "Nothing: the case is closed.",
    Stage.SAR_REFERRED: "Check the referral shows the s.44 criteria and hold the screening meeting; record "
                        "it (review-bot case REF screening-held).",
    Stage.SAR_SCREENED: "The screening panel's conclusions and recommendation go to the Independent Chair "
                        "in writing; record it (review-bot case REF recommendation-sent).",
    Stage.SAR_RECOMMENDED: "The Independent Chair decides whether there is a SAR; record the decision "
                           "(review-bot case REF chair-decision sar|no-sar|other-learning).",
    Stage.SAR_REVIEW: "Run the review; record it when the report and learning are available "
                      "(review-bot case REF sar-completed).",
    Stage.SAR_COMPLETED: "Consider publication (review-bot case REF sar-published) or close the case.",
    Stage.SAR_PUBLISHED: "Follow up the learning with the partners; close the case when done.",
    Stage.COMPLAINT_RECEIVED: "The business unit manager sends a written response "
                              "(review-bot complaint REF draft-response; then complaint respond).",
    Stage.COMPLAINT_RESPONDED: "Close it, or record the complainant's escalation to the Independent Chair.",
    Stage.COMPLAINT_ESCALATED: "The Independent Chair sends a further written response "
                               "(review-bot complaint REF draft-response; then complaint respond).",
    Stage.COMPLAINT_CHAIR_RESPONDED: "Close the complaint; the complainant may go to the Ombudsman.",
}
assert set(NEXT_STEP) == set(Stage)
