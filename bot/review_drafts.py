"""Documents drafted for a person to check and send (process.md 7.10, 7.11; issue 12 item 6):
the pre-publication notice (D-11) with progress against the recommendations from the action plan
(SW-COMMS l.79), the practitioners' notice and the family letter (D-12), the notice of delay
(KIR l.316) and the notice of non-publication with its reasons (KIR l.312, l.316, l.320; Working
Together 2023 ch. 5). Rendered from ``templates/drafts``.

The bot sends none of them: the notice goes with the full report, which the bot does not hold, and
a family is only ever contacted by a person (KIR l.263; STK l.461; process.md 8.4 item 6). The
drafts carry references, dates and roles only; the family's names and address are left for the
person who sends the letter. The notices to the National Panel carry the actions' text (the
published action plan's words): a draft goes to the business unit's own screen or file, never to
a chat.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlmodel import Session

from bot import action_plan, audit, review_clocks
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import Case
from bot.models_actions import NonPublication, ReviewAction
from bot.publication import publication_of
from bot.stages import AFTER_PUBLICATION, LABELS, Stage
from bot.vocabulary import EMBARGO_LABELS

KINDS = {
    "prepublication-notice": "prepublication_notice",
    "practitioner-notice": "practitioner_notice",
    "family-letter": "family_letter",
    "delay-notice": "delay_notice",
    "non-publication-notice": "nonpublication_notice",
}
#: The report is approved and not yet published: the decision not to publish is taken here
#: (process.md L3 to P1; STK l.398: the screening panel's Chair with the Independent Chair).
NOT_PUBLISHING_STAGES = frozenset({Stage.FINAL_APPROVED, Stage.EMBARGOED, Stage.PRE_PUBLICATION})
STATUS_WORDS = {
    "open": "open, no progress reported yet",
    "in_progress": "in progress",
    "evidence_submitted": "completed; evidence with the QA group for verification",
    "verified": "completed and verified by the QA group",
    "not_achieved": "closed, not achieved",
    "superseded": "superseded",
}


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("templates", "drafts"), undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, autoescape=False,
    )
    env.filters["day"] = lambda d: f"{d:%A} {d.day} {d:%B %Y}"
    return env


def draft(session: Session, core: Core, case: Case, kind: str) -> str:
    """The text of the draft ``kind`` (a key of :data:`KINDS`) for the case."""
    if kind not in KINDS:
        raise Invalid({"kind": f"draft must be one of: {', '.join(KINDS)}"})
    template = _env().get_template(f"{KINDS[kind]}.txt.j2")
    return template.render(**_facts(session, core, case, kind)).strip() + "\n"


def _facts(session: Session, core: Core, case: Case, kind: str) -> dict[str, Any]:
    pub = publication_of(session, case)
    roles = core.protocol.roles
    facts: dict[str, Any] = {
        "ref": case.ref, "partnership": core.protocol.partnership.name,
        "business_manager": roles.business_manager, "chair": roles.chair,
        "decision_day": core.calendar.local_date(case.decision_at) if case.decision_at else None,
        "publication_date": pub.publication_date,
        "target": None, "period": str(review_clocks.duration(core, case, "prepub_notice")),
        "embargo_reason": EMBARGO_LABELS.get(pub.embargo_reason or "", None),
        "expected": pub.expected_publication_date, "unpublished": False,
    }
    target = review_clocks.find(session, case, "lcspr_publication")
    if target is not None:
        facts["target"] = core.calendar.local_date(target.due_at)
    notice = review_clocks.find(session, case, "prepublication_notice")
    facts["notice_by"] = core.calendar.local_date(notice.due_at) if notice else None
    if kind == "non-publication-notice":
        decision = _nonpublication(session, case)
        facts.update(decided_on=decision.decided_on, reasons=decision.reasons, instead=decision.instead,
                     unpublished=True)
    elif kind == "delay-notice":
        if pub.embargo_reason is None:
            raise Refused(f"{case.ref}: record the delay first (case {case.ref} embargo --reason ...)")
    elif pub.publication_date is None:
        raise Refused(f"{case.ref} has no publication date yet (case {case.ref} publication-date DATE)")
    facts["late"] = bool(facts["target"] and pub.publication_date and pub.publication_date > facts["target"])
    facts.update(_plan(session, core, case))
    return facts


def _nonpublication(session: Session, case: Case) -> NonPublication:
    if case.stage in AFTER_PUBLICATION:
        raise Refused(f"{case.ref} is published: there is no non-publication to notify")
    if case.stage not in NOT_PUBLISHING_STAGES:
        raise Refused(f"{case.ref} is at '{LABELS[Stage(case.stage)]}': the decision not to publish follows "
                      f"the final report's approval (case {case.ref} endorsed)")
    found = session.get(NonPublication, case.id)
    if found is None:
        raise Refused(f"{case.ref}: record the decision not to publish first (case {case.ref} not-publishing "
                      "--reasons ...)")
    return found


def _plan(session: Session, core: Core, case: Case) -> dict[str, Any]:
    """The recommendations and progress against them (SW-COMMS l.79), from the action plan."""
    found = action_plan.actions_of(session, case)
    end = action_plan.twelve_weeks_end(session, core, case)
    groups: dict[int | None, list[dict[str, Any]]] = {}
    for a in found:
        groups.setdefault(a.recommendation, []).append(_action(core, a, end))
    numbered = sorted(k for k in groups if k is not None)
    return {
        "recommendations": [{"number": n, "actions": groups[n]} for n in numbered],
        "other_actions": groups.get(None, []),
        "plan_counts": action_plan.counts(session, core, case) if found else None,
        "twelve_weeks_end": core.calendar.local_date(end) if end else None,
    }


def _action(core: Core, a: ReviewAction, end: Any) -> dict[str, Any]:
    agency = next((x.name for x in core.protocol.agencies if x.slug == a.agency), a.agency)
    due: date | None = a.due_on or (core.calendar.local_date(end) if end else None)
    return {"number": a.number, "agency": agency, "text": " ".join(a.text.split()), "larger": a.larger,
            "status": STATUS_WORDS[a.status], "due": due, "from_publication": not a.due_set,
            "verified_on": core.calendar.local_date(a.verified_at) if a.verified_at else None}


def record_not_publishing(
    session: Session, core: Core, case: Case, *, decided_on: date | None, reasons: str, instead: str | None,
    actor: str,
) -> NonPublication:
    """Record the partners' decision not to publish the report, with its reasons (KIR l.316,
    l.320). Recorded again, it replaces the earlier record. Learning and actions carry on."""
    if case.stage not in NOT_PUBLISHING_STAGES:
        raise Refused(f"{case.ref} is at '{LABELS[Stage(case.stage)]}': the decision not to publish is taken "
                      "once the final report is approved and before it is published")
    now = core.clock.now()
    decided_on = decided_on or core.calendar.local_date(now)
    if decided_on > core.calendar.local_date(now):
        raise Invalid({"decided_on": "the decision cannot have been taken in the future"})
    reasons = (reasons or "").strip()
    if not reasons:
        raise Invalid({"reasons": "Give the reasons not to publish: the National Panel and the Secretary of "
                                  "State are told them (KIR l.312)."})
    if len(reasons) > action_plan.MAX_TEXT or len(instead or "") > action_plan.MAX_TEXT:
        raise Invalid({"reasons": f"Keep the reasons and what is published instead under "
                                  f"{action_plan.MAX_TEXT} characters each."})
    found = session.get(NonPublication, case.id)
    if found is None:
        found = NonPublication(case_id=case.id or 0, decided_on=decided_on, reasons=reasons,
                               recorded_at=now, recorded_by=actor)
        session.add(found)
    found.decided_on, found.reasons, found.instead = decided_on, reasons, (instead or "").strip() or None
    found.recorded_at, found.recorded_by = now, actor
    audit.record(session, at=now, actor=actor, kind="not_publishing_recorded", case_id=case.id,
                 decided_on=decided_on.isoformat(), instead=found.instead is not None)
    return found
