"""Themes and review outcomes tagged on a case (issue 14 item 4): what the report tallies.

Themes are a multi-select from the protocol's ``[report.themes]`` (Sandwell's eight by default,
seed 002 l.172-183); the outcomes are one value per kind (bot.report_vocabulary.OUTCOMES). Each
change is one event with the slugs added and removed: vocabulary only, never typed text, so the
event may be shown anywhere (process.md 8.4).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from bot import audit
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import Case
from bot.models_report import CaseTag
from bot.report_vocabulary import OUTCOMES, THEME


def tags_of(session: Session, case: Case) -> list[CaseTag]:
    return list(session.exec(
        select(CaseTag).where(CaseTag.case_id == case.id).order_by(col(CaseTag.kind), col(CaseTag.value))
    ))


def themes_of(session: Session, case: Case) -> list[str]:
    return [t.value for t in tags_of(session, case) if t.kind == THEME]


def outcome_of(session: Session, case: Case, kind: str) -> str | None:
    return next((t.value for t in tags_of(session, case) if t.kind == kind), None)


def _check_themes(core: Core, themes: Iterable[str]) -> list[str]:
    known = core.protocol.report.themes
    wanted = list(dict.fromkeys(t.strip() for t in themes if t.strip()))
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise Invalid({"themes": f"not a theme of the protocol: {', '.join(unknown)[:200]}; the themes "
                                 f"are: {', '.join(known)}"})
    return wanted


def _require_child(case: Case) -> None:
    """The report tallies children's reviews (decision 0031); a SAR's or a complaint's tags would
    be counted nowhere (decision 0028)."""
    if case.kind != "child":
        raise Refused(f"{case.ref}: themes and outcomes are tagged on children's cases, for the "
                      "partnership's report")


def set_themes(
    session: Session, core: Core, case: Case, *, add: Iterable[str] = (), remove: Iterable[str] = (),
    exactly: Iterable[str] | None = None, actor: str,
) -> tuple[list[str], list[str]]:
    """Add and remove themes (or set ``exactly`` these, a form's multi-select). Returns what was
    added and removed; nothing changed records nothing."""
    _require_child(case)
    current = set(themes_of(session, case))
    if exactly is not None:
        target = set(_check_themes(core, exactly))
    else:
        target = (current | set(_check_themes(core, add))) - set(_check_themes(core, remove))
    added, removed = sorted(target - current), sorted(current - target)
    if not added and not removed:
        return [], []
    now = core.clock.now()
    assert case.id is not None
    for tag in tags_of(session, case):
        if tag.kind == THEME and tag.value in removed:
            session.delete(tag)
    for value in added:
        session.add(CaseTag(case_id=case.id, kind=THEME, value=value, tagged_at=now, tagged_by=actor))
    audit.record(session, at=now, actor=actor, kind="themes_tagged", case_id=case.id,
                 added=added, removed=removed)
    return added, removed


def set_outcome(
    session: Session, core: Core, case: Case, kind: str, value: str | None, *, actor: str,
) -> bool:
    """Record (or with None, clear) one review outcome. Returns whether anything changed."""
    _require_child(case)
    if kind not in OUTCOMES:
        raise Invalid({"kind": f"an outcome is one of: {', '.join(OUTCOMES)}"})
    if value is not None and value not in OUTCOMES[kind]:
        raise Invalid({kind: f"{kind} is one of: {', '.join(OUTCOMES[kind])}"})
    found = [t for t in tags_of(session, case) if t.kind == kind]
    if [t.value for t in found] == ([value] if value else []):
        return False
    for tag in found:
        session.delete(tag)
    now = core.clock.now()
    assert case.id is not None
    if value is not None:
        session.add(CaseTag(case_id=case.id, kind=kind, value=value, tagged_at=now, tagged_by=actor))
    audit.record(session, at=now, actor=actor, kind="outcome_tagged", case_id=case.id,
                 outcome=kind, value=value)
    return True
