"""Triage (issue 5; process.md 8.3): mail the bot could not match, for the business unit to
assign to an agency's request or dismiss. Items show sender domains and counts, never subjects."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot import inbound
from bot.actors import Actor
from bot.core import Core
from bot.errors import Invalid, NotFound, Refused
from bot.models import Case
from bot.protocol import REQUEST_KINDS, UnknownAgency
from bot.stages import CLOSED_STAGES
from bot.usecases import case_actions
from bot.usecases.common import REASON_HINT, Values, choice, once, require_business_unit, text
from bot.usecases.result import Choice, FieldSpec, Form, NextAction, Result
from bot.views import triage_list
from bot.vocabulary import REQUEST_KIND_LABELS

ACTIONS = (NextAction("triage_assign", "Assign to a request", form=True),
           NextAction("triage_dismiss", "Dismiss", form=True))
#: The newest open cases a form offers (a select holds 100 choices).
MAX_CASES = 100


def triage(core: Core, actor: Actor) -> Result:
    require_business_unit(core, actor, "triage")
    with core.transaction() as session:
        items = triage_list(session)
    return Result(message=f"{len(items)} item(s) to look at", view={"kind": "triage", "items": items},
                  actions=ACTIONS)


def triage_form(core: Core, actor: Actor, item: int, action: str) -> Form:
    require_business_unit(core, actor, action)
    context = {"item": str(item)}
    if action == "triage_dismiss":
        return Form(action=action, title="Dismiss triage item", submit="Dismiss", context=context,
                    fields=(FieldSpec("reason", "Reason", "longtext", required=True, hint=REASON_HINT,
                                      max_length=2000),))
    if action != "triage_assign":
        raise Refused("that action is not known; the list may be out of date")
    with core.transaction() as session:
        refs = list(session.exec(
            # Only a children's case asks agencies for returns: a SAR or a complaint has no request
            # to assign one to (decision 0028), and would crowd children's cases out of the list.
            select(Case.ref).where(col(Case.stage).not_in([s.value for s in CLOSED_STAGES]),
                                   Case.kind == "child")
            .order_by(col(Case.id))
        ))
    if not refs:
        raise Refused("There is no open case to assign it to.")
    return Form(
        action=action, title="Assign triage item", submit="Assign", context=context,
        intro=f"Triage item {item} is an agency's return for:",
        fields=(
            FieldSpec("ref", "Case", "choice", required=True,
                      options=tuple(Choice(r, r) for r in refs[-MAX_CASES:])),
            FieldSpec("agency", "Agency", "choice", required=True, options=case_actions.agency_choices(core)),
            FieldSpec("kind", "Request", "choice",
                      options=tuple(Choice(k, REQUEST_KIND_LABELS[k]) for k in REQUEST_KINDS)),
        ),
    )


def act_on_triage(
    core: Core, actor: Actor, item: int, action: str, values: Values | None = None, *,
    key: str | None = None,
) -> Result:
    require_business_unit(core, actor, action)
    values = dict(values or {})
    if action not in ("triage_assign", "triage_dismiss"):
        raise Refused("that action is not known; the list may be out of date")

    def assign(session: Session) -> Result:
        ref, agency = text(values, "ref") or choice(values, "ref") or "", choice(values, "agency") or ""
        try:
            inbound.assign_triage(session, core, item, ref=ref, agency=agency, kind=choice(values, "kind"),
                                  actor=actor.key)
        except UnknownAgency as exc:
            raise Invalid({"agency": str(exc)}) from exc
        except NotFound as exc:
            raise Invalid({"ref": str(exc)}) from exc
        return Result(message=f"#{item}: recorded as {agency}'s return on {ref.upper()}", ref=ref.upper(),
                      view={"kind": "triage", "items": triage_list(session)})

    def dismiss(session: Session) -> Result:
        if not text(values, "reason"):
            raise Invalid({"reason": "a reason is required to dismiss a triage item"})
        inbound.dismiss_triage(session, core, item, reason=text(values, "reason"), actor=actor.key)
        return Result(message=f"#{item}: dismissed", view={"kind": "triage", "items": triage_list(session)})

    return once(core, actor, key, assign if action == "triage_assign" else dismiss)
