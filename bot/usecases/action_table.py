"""The shape of a case action (a row of bot/usecases/case_actions.py) and the small helpers
its rows share; kept apart so the table's neighbours (bot/usecases/review_actions.py) can build
rows without importing the table itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from bot.actors import BUSINESS_UNIT
from bot.core import Core
from bot.models import Case
from bot.stages import CLOSED_STAGES, Stage
from bot.usecases.common import REASON_HINT, Values
from bot.usecases.result import Choice, FieldSpec

Run = Callable[[Session, Core, Case, str, Values, dict[str, str]], "str | None"]
Fields = Callable[[Core, Session, Case], tuple[FieldSpec, ...]]

ALL = frozenset(Stage) - CLOSED_STAGES
RAPID_REVIEW = frozenset({Stage.INFO_GATHERING, Stage.PANEL_DECISION})


@dataclass(frozen=True)
class CaseAction:
    name: str
    label: str
    run: Run
    #: Where a card offers it; empty: never a button (the CLI and forms still reach it).
    stages: frozenset[Stage] = frozenset()
    roles: frozenset[str] = frozenset({BUSINESS_UNIT})
    fields: Fields | None = None  # None: no form (a confirmation, or nothing to ask)
    style: str | None = None
    confirm: str | None = None  # "{ref}" is replaced
    confirm_title: str | None = None
    confirm_button: str | None = None
    title: str = ""  # the form's title; "{ref}" is replaced
    submit: str = "Submit"
    intro: str | None = None  # one fixed sentence above the form; "{ref}" is replaced
    #: The action the form's answers go to, and what it must send back (e.g. the request kind).
    form_action: str | None = None
    context: dict[str, str] = field(default_factory=dict)
    #: Offered only where this says yes, given the stage and the case's view (bot.views; None when
    #: the caller has none): a button the core would refuse for what the case holds (its local
    #: review's methodology, a clock already met) is not offered. None: wherever ``stages`` say.
    offered_if: Callable[[str, dict[str, Any] | None], bool] | None = None

    def offered(self, stage: str, view: dict[str, Any] | None) -> bool:
        return stage in self.stages and (self.offered_if is None or self.offered_if(stage, view))


def methodology_of(view: dict[str, Any] | None) -> str | None:
    """The local review's methodology in a case view, if the case is at one."""
    return ((view or {}).get("review") or {}).get("methodology")


def clock_running(kind: str) -> Callable[[str, dict[str, Any] | None], bool]:
    """Offered while the case's clock ``kind`` runs (recording it meets it; a second press was
    refused as already recorded). Without a view: offered."""
    def running(stage: str, view: dict[str, Any] | None) -> bool:
        return view is None or any(d["kind"] == kind and not d["met_at"] and not d["cancelled_at"]
                                   for d in view.get("deadlines", ()))
    return running


def pairs(pairs: Any) -> tuple[Choice, ...]:
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return tuple(Choice(v, label[:75]) for v, label in items)


def agency_choices(core: Core) -> tuple[Choice, ...]:
    return tuple(Choice(a.slug, a.name[:75]) for a in core.protocol.agencies)


def reason_field(name: str = "reason", label: str = "Reason") -> FieldSpec:
    return FieldSpec(name, label, "longtext", required=True, hint=REASON_HINT, max_length=2000)




def fixed(*specs: FieldSpec) -> Fields:
    return lambda core, session, case: specs
