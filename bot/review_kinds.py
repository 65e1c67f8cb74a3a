"""The local review's clocks (process.md section 3, D-07 to D-15; issue 12): what each is called,
who owes it, the protocol duration that sets it and what recording it takes.

Plain data with no imports, so the deadline labels (bot.deadlines.STATUTORY), the chasers and
the views all read one table. A clock with ``duration`` None is due on a date set on the case
(an IMR due date, a target date).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReviewClock:
    label: str
    #: Who owes it by default: a role key, or "agency" (the clock names its agency).
    owner: str
    #: The [durations] name; None: a date the business unit sets on the case.
    duration: str | None
    #: What the owner is asked to do (their reminder and chaser).
    owed: str
    #: How the business unit records it done (the CLI; the card has the same action).
    record: str


CLOCKS: dict[str, ReviewClock] = {
    "learning_event": ReviewClock(
        "practitioner learning event (D-07)", "reviewer", "learning_event",
        "Hold the practitioner learning event 14 days after the chronology deadline (KIR l.253) and "
        "tell the business unit when it has taken place.",
        "review-bot case REF learning-event-held"),
    "first_draft": ReviewClock(
        "first draft of the review (D-08)", "reviewer", "first_draft",
        "Send the first draft of the review and the draft action plan to the business unit (KIR l.267).",
        "review-bot case REF draft-received"),
    "workstream_meeting": ReviewClock(
        "workstream meeting on the draft (D-09a)", "workstream_chair", "workstream_meeting",
        "The workstream meets on the draft within 14 days, or an extraordinary meeting is held (KIR l.294).",
        "review-bot case REF workstream-met"),
    "minutes": ReviewClock(
        "workstream minutes and amendments to the reviewer (D-09b)", "business_unit", "minutes",
        "Send the workstream's minutes and agreed amendments to the reviewer (KIR l.300).",
        "review-bot case REF minutes-sent"),
    "amendments": ReviewClock(
        "reviewer's amended draft (D-09c)", "reviewer", "amendments",
        "Return the amended review to the business unit (KIR l.302).",
        "review-bot case REF to-business-group"),
    "business_group": ReviewClock(
        "business group amendments or approval (D-09d)", "business_group", "business_group",
        "Send your amendments or written approval of the review; without comments by the due date "
        "the business group is taken to have none (KIR l.306).",
        "review-bot case REF business-group-approved"),
    "prepublication_notice": ReviewClock(
        "pre-publication notice to the National Panel, Secretary of State and Ofsted (D-11)",
        "business_unit", "prepub_notice",
        "Send the full report to the National Panel, the Secretary of State and Ofsted, with what is "
        "published and when and progress on the recommendations (draft: 'review-bot case REF draft "
        "prepublication-notice'; SW-COMMS l.79).",
        "review-bot case REF notice-sent"),
    "practitioner_notice": ReviewClock(
        "practitioners and family told the publication date (D-12)", "business_unit", "prepub_notice",
        "Tell the practitioners involved the publication date, and have a person send the family "
        "letter (drafts: 'review-bot case REF draft practitioner-notice' and 'draft family-letter'; "
        "KIR l.314).",
        "review-bot case REF practitioners-told"),
    "website_review": ReviewClock(
        "website review of the published report (D-13)", "business_unit", "website_retention",
        "Review whether the report stays on the website (KIR l.330; SW-COMMS l.83).",
        "review-bot case REF website-reviewed"),
    "actions_due": ReviewClock(
        "review actions achieved (D-14)", "business_unit", "actions_due",
        "The action plan's actions should be achieved 12 weeks after publication; anything larger "
        "goes to the partnership as a separate piece of work (KIR l.276).",
        "review-bot case REF actions-achieved"),
    "action_due": ReviewClock(
        "review action (D-14)", "agency", None,
        "Complete the action your agency owns in the review's action plan and send the business unit "
        "the evidence that it is done and how its impact is measured; the QA group verifies it (STK "
        "App 3). If it will not be achieved in time, tell the business unit now (KIR l.334).",
        "review-bot case REF actions N submit"),
    "recall_event": ReviewClock(
        "recall event (D-15)", "business_unit", "recall_event",
        "Hold the recall event, inviting the publication workshop's attendees (SW-COMMS l.118).",
        "review-bot case REF recall-held"),
    "imr_due": ReviewClock(
        "individual management review (IMR)", "agency", None,
        "Send your agency's individual management review and chronology, signed off through your "
        "agency's governance (STK l.317, l.321).",
        "review-bot case REF imr-received AGENCY"),
    "review_target": ReviewClock(
        "local review target date", "business_unit", None,
        "The local review's target date, set when it was commissioned (STK l.325-331).",
        "review-bot case REF target DATE"),
    # A safeguarding adults review (Care Act 2014 s.44; Stockport, STK l.254-266; decision 0028).
    "sar_screening": ReviewClock(
        "SAR screening meeting (D-S1)", "business_unit", "sar_screening_meeting",
        "Hold the SAR screening meeting within 15 working days of the referral being received, with "
        "agency information forms in beforehand (STK l.256, l.172).",
        "review-bot case REF screening-held"),
    "sar_recommendation": ReviewClock(
        "SAR recommendation in writing to the Independent Chair (D-S2)", "sar_panel_chair",
        "sar_recommendation",
        "Send the screening meeting's conclusions and recommendation in writing to the Independent "
        "Chair within 5 working days of the meeting (STK l.258).",
        "review-bot case REF recommendation-sent"),
    "sar_decision": ReviewClock(
        "Independent Chair's SAR decision (D-S3)", "chair", "sar_chair_decision",
        "Decide whether there should be a SAR and forward the decision to the business unit within "
        "5 working days (STK l.260, l.183).",
        "review-bot case REF chair-decision"),
    "sar_review": ReviewClock(
        "SAR completed: report and learning available (D-S4)", "business_unit", "sar_review",
        "The review's report and learning should be available within 6 months of the decision "
        "(STK l.141, l.266).",
        "review-bot case REF sar-completed"),
    # A complaint (STK l.418-427): who answers it and by when.
    "complaint_response": ReviewClock(
        "written response to the complaint (D-C1)", "business_manager", "complaint_response",
        "The manager of the business unit, with the relevant Head of Service, sends a written "
        "response within 28 days of receipt (STK l.420).",
        "review-bot complaint REF respond"),
    "complaint_escalation": ReviewClock(
        "Independent Chair's response to the escalated complaint (D-C2)", "chair",
        "complaint_escalated_response",
        "Consider the escalated complaint and send a further written response within 28 days of the "
        "complainant contacting the Board Business Manager (STK l.423-425).",
        "review-bot complaint REF respond"),
}

#: Owners a person reads in a view or an email (the role keys of bot.protocol.Roles).
OWNER_LABELS = {
    "reviewer": "the reviewer",
    "workstream_chair": "the workstream chair",
    "business_group": "the business group",
    "business_unit": "the business unit",
    "business_manager": "the business manager",
    "chair": "the Independent Chair",
    "sar_panel_chair": "the SAR screening panel chair",
}


def owner_label(owner: str | None) -> str:
    if owner is None:
        return "the business unit"
    if owner.startswith("agency:"):
        return owner.removeprefix("agency:")
    return OWNER_LABELS.get(owner, owner.replace("_", " "))
