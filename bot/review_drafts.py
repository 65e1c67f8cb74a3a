"""Documents drafted for a person to check and send (process.md 7.10, 7.11; issue 12 item 6):
the pre-publication notice (D-11), the practitioners' notice and the family letter (D-12), and the
notice of delay or non-publication (KIR l.316). Rendered from ``templates/drafts``.

The bot sends none of them: the notice goes with the full report, which the bot does not hold, and
a family is only ever contacted by a person (KIR l.263; STK l.461; process.md 8.4 item 6). The
drafts carry references, dates and roles only; the family's names and address are left for the
person who sends the letter.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlmodel import Session

from bot import review_clocks
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import Case
from bot.publication import publication_of
from bot.vocabulary import EMBARGO_LABELS

KINDS = {
    "prepublication-notice": "prepublication_notice",
    "practitioner-notice": "practitioner_notice",
    "family-letter": "family_letter",
    "delay-notice": "delay_notice",
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
        "expected": pub.expected_publication_date,
    }
    target = review_clocks.find(session, case, "lcspr_publication")
    if target is not None:
        facts["target"] = core.calendar.local_date(target.due_at)
    notice = review_clocks.find(session, case, "prepublication_notice")
    facts["notice_by"] = core.calendar.local_date(notice.due_at) if notice else None
    if kind == "delay-notice":
        if pub.embargo_reason is None:
            raise Refused(f"{case.ref}: record the delay first (case {case.ref} embargo --reason ...)")
    elif pub.publication_date is None:
        raise Refused(f"{case.ref} has no publication date yet (case {case.ref} publication-date DATE)")
    facts["late"] = bool(facts["target"] and pub.publication_date and pub.publication_date > facts["target"])
    return facts
