"""The report's rows of the case actions table (issue 14 item 4; bot/usecases/case_actions.py):
themes and review outcomes tagged on a case, from a card (a form with a multi-select) or the CLI
(``review-bot case REF themes add|remove``, ``case REF outcome``)."""

from __future__ import annotations

from sqlmodel import Session

from bot import report_tags
from bot.core import Core
from bot.models import Case
from bot.report_vocabulary import OUTCOMES
from bot.stages import LOCAL_REVIEW, Stage
from bot.usecases.action_table import CaseAction, Run, pairs
from bot.usecases.common import Values, choice, choices
from bot.usecases.result import FieldSpec

#: A rapid review decided, and every local review stage: where a theme is worth tagging (process.md
#: 9.1: "multi-select theme tags on each LCSPR (and optionally each RR)").
TAGGED_AT = frozenset({*LOCAL_REVIEW, Stage.NATIONAL_REVIEW, Stage.NO_FURTHER_REVIEW,
                       Stage.ALTERNATIVE_LEARNING})
_CLEAR = "none"


def _fields(core: Core, session: Session, case: Case) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("themes", "Themes", "choices", options=pairs(core.protocol.report.themes),
                  initial=report_tags.themes_of(session, case)),
        FieldSpec("panel", "The National Panel's reply", "choice",
                  options=pairs({**OUTCOMES["panel"], _CLEAR: "Not recorded"}),
                  initial=report_tags.outcome_of(session, case, "panel") or _CLEAR),
        FieldSpec("publication", "How the review was published", "choice",
                  options=pairs({**OUTCOMES["publication"], _CLEAR: "Not recorded"}),
                  initial=report_tags.outcome_of(session, case, "publication") or _CLEAR),
    )


def _outcomes(s: Session, core: Core, case: Case, actor: str, v: Values) -> list[str]:
    said = []
    for kind in OUTCOMES:
        value = choice(v, kind)
        if value is None:
            continue
        if report_tags.set_outcome(s, core, case, kind, None if value == _CLEAR else value, actor=actor):
            said.append(f"{kind} {value}")
    return said


def _tags(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
    added, removed = report_tags.set_themes(s, core, case, exactly=choices(v, "themes"), actor=actor)
    return _said(case, added, removed, _outcomes(s, core, case, actor, v))


def _themes(add: bool) -> Run:
    def run(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
        wanted = choices(v, "themes")
        added, removed = report_tags.set_themes(
            s, core, case, add=wanted if add else (), remove=() if add else wanted, actor=actor)
        return _said(case, added, removed, [])
    return run


def _outcome(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
    return _said(case, [], [], _outcomes(s, core, case, actor, v))


def _said(case: Case, added: list[str], removed: list[str], outcomes: list[str]) -> str:
    parts = ([f"themes added: {', '.join(added)}"] if added else []) + (
        [f"themes removed: {', '.join(removed)}"] if removed else []) + outcomes
    return f"{case.ref}: " + ("; ".join(parts) if parts else "nothing changed")


TAG_ACTIONS: tuple[CaseAction, ...] = (
    CaseAction(
        "tags", "Themes and outcome", stages=TAGGED_AT, fields=_fields, title="Themes {ref}", submit="Save",
        # A SAR's "other learning" is ALTERNATIVE_LEARNING too; report_tags refuses its tags.
        offered_if=lambda stage, view: view is None or view.get("kind") == "child",
        intro="The themes of {ref} and the outcomes the partnership's report counts (the National Panel's "
              "reply; how the review was published).",
        run=_tags,
    ),
)
HIDDEN_ACTIONS: tuple[CaseAction, ...] = (
    CaseAction("themes_add", "Add themes", run=_themes(True)),
    CaseAction("themes_remove", "Remove themes", run=_themes(False)),
    CaseAction("outcome", "Review outcome", run=_outcome),
)
