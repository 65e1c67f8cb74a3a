"""Drafting a document for a case (issue 12 item 6; bot.review_drafts): the business unit only,
and who drafted what is recorded (process.md 8.4 item 8). The text is for a person to complete and
send; a door shows it to the business unit or writes it to a file, never to a shared channel."""

from __future__ import annotations

from bot import access_log, audit, review_drafts
from bot.actors import Actor
from bot.cases import get_case
from bot.core import Core
from bot.usecases.common import require_business_unit
from bot.usecases.result import Result


def draft_document(core: Core, actor: Actor, ref: str, kind: str) -> Result:
    require_business_unit(core, actor, "draft", ref)
    with core.transaction() as session:
        case = get_case(session, ref)
        text = review_drafts.draft(session, core, case, kind)
        audit.record(session, at=core.clock.now(), actor=actor.key, kind="draft_made", case_id=case.id,
                     draft=kind)
        access_log.record(session, at=core.clock.now(), actor=actor.key, surface=actor.surface,
                          case_id=case.id, what=access_log.DRAFT, detail=kind)
        return Result(message=f"{case.ref}: {kind} drafted", ref=case.ref, data={"kind": kind, "text": text})
