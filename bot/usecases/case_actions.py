"""The case actions (issue 11): for each, its label, the stages where a card offers it, who may
take it, its form and the service it calls. Adding a button to a stage touches this table only;
every door (Slack, Teams, the CLI) renders what it says.

The services check the stage again (and refuse with what the case needs first): the ``stages``
here only say where a button is worth showing (process.md 2.1 to 2.3; P0 to P2 for publication).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot import agency_requests, cases, publication, vocabulary
from bot.agency_requests import requests_of
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import Case
from bot.protocol import UnknownAgency
from bot.stages import AFTER_PUBLICATION, DECISIONS, NOT_MET_ROUTES, Stage
from bot.usecases import action_table, report_actions, review_actions
from bot.usecases import sar as sar_actions
from bot.usecases.action_table import CaseAction, Fields, Run, agency_choices
from bot.usecases.common import Values, choice, choices, day, moment, text
from bot.usecases.result import Choice, FieldSpec

ALL = action_table.ALL
RAPID_REVIEW = action_table.RAPID_REVIEW
_pairs, _reason, _fixed = action_table.pairs, action_table.reason_field, action_table.fixed


# --- the forms -----------------------------------------------------------------------------


def _accept_fields(core: Core, session: Session, case: Case) -> tuple[FieldSpec, ...]:
    return (FieldSpec("la_aware_date", "Date the local authority became aware", "date", required=True,
                      initial=case.la_aware_date),)


def _requests_fields(kind: str) -> Fields:
    def fields(core: Core, session: Session, case: Case) -> tuple[FieldSpec, ...]:
        if kind == "info-gathering":  # the statutory partners and the agencies named as involved
            chosen = [a.slug for a in core.protocol.statutory_partners()] + list(case.agencies_involved)
        else:  # a chronology is asked of the agencies that gave information
            chosen = sorted({r.agency for r in requests_of(session, case) if r.kind == "info-gathering"})
        return (FieldSpec("agencies", "Agencies", "choices", required=True, options=agency_choices(core),
                          initial=list(dict.fromkeys(chosen))),)
    return fields


def _return_fields(core: Core, session: Session, case: Case) -> tuple[FieldSpec, ...]:
    waiting = [(r.agency, r.kind) for r in requests_of(session, case) if r.status == "sent"]
    if not waiting:
        raise Refused(f"{case.ref} is not waiting for any return")
    options = tuple(
        Choice(f"{agency}|{kind}", f"{agency} ({vocabulary.REQUEST_KIND_LABELS.get(kind, kind)})")
        for agency, kind in waiting
    )
    return (FieldSpec("request", "Agency and request", "choice", required=True, options=options),)


def _publication_fields(core: Core, session: Session, case: Case) -> tuple[FieldSpec, ...]:
    current = publication.publication_of(session, case).publication_date if case.id else None
    return (FieldSpec("publication_date", "Publication date", "date", required=True, initial=current),)


def _speaker_fields(core: Core, session: Session, case: Case) -> tuple[FieldSpec, ...]:
    return (FieldSpec("agency", "Agency", "choice", required=True, options=agency_choices(core)),)


# --- the services each action calls ----------------------------------------------------------


def _send(kind: str | None) -> Run:
    def run(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
        chosen = kind or ctx.get("kind") or text(v, "kind")
        agencies = choices(v, "agencies")
        try:
            sent = agency_requests.send_requests(s, core, case, kind=chosen, agencies=agencies, actor=actor,
                                                 named_by=choice(v, "named_by"))
        except UnknownAgency as exc:
            raise Invalid({"agencies": str(exc)}) from exc
        skipped = sorted(set(agencies) - {r.agency for r in sent})
        label = vocabulary.REQUEST_KIND_LABELS.get(chosen, chosen)
        asked = ", ".join(r.agency for r in sent) or "nobody"
        return f"{case.ref}: {label} request queued for {asked}" + (
            f" (already asked: {', '.join(skipped)})" if skipped else "")
    return run


def _request_of(s: Session, core: Core, case: Case, v: Values) -> Any:
    agency, _, kind = (choice(v, "request") or "").partition("|")
    agency = agency or choice(v, "agency") or ""
    try:
        core.protocol.agency(agency)
    except UnknownAgency as exc:
        raise Invalid({"request": str(exc)}) from exc
    return agency_requests.get_request(s, case, agency, kind or choice(v, "kind"))


def _return(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> None:
    agency_requests.record_return(s, core, _request_of(s, core, case, v), actor=actor, via="other means")


def _withdraw(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> None:
    agency_requests.withdraw(s, core, _request_of(s, core, case, v), reason=text(v, "reason"), actor=actor)


def _la_aware(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> None:
    when = day(v, "la_aware_date")
    if when is None:
        raise Invalid({"la_aware_date": "Give the date the local authority became aware."})
    cases.set_la_aware(s, core, case, when, actor=actor)


def _publication_date(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
    when = day(v, "publication_date")
    if when is None:
        raise Invalid({"publication_date": "Give the publication date."})
    warning = publication.set_publication_date(s, core, case, when, actor=actor)
    said = f"{case.ref}: publication date {when:%a %d %b %Y}; the notices are due by " + (
        f"{review_actions.notice_due(s, case)}")
    return f"{said}. {warning}" if warning else said


def _authorise(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
    agency = choice(v, "agency") or ""
    publication.authorise_agency(s, core, case, agency, actor=actor)
    return (f"{case.ref}: {agency} may respond for itself; the Chair and the Council press office "
            "agree its words")


#: In the order a card shows them.
ACTIONS: tuple[CaseAction, ...] = (
    CaseAction(
        "accept", "Accept (criteria met)", stages=frozenset({Stage.REFERRAL_RECEIVED, Stage.TRIAGE}),
        fields=_accept_fields, title="Accept {ref}", submit="Accept",
        intro="The criteria are met for {ref}. The notification clock (5 working days) runs from the "
              "date the local authority became aware.",
        run=lambda s, core, case, actor, v, ctx: cases.accept(
            s, core, case, actor=actor, la_aware=day(v, "la_aware_date")),
    ),
    CaseAction(
        "sin_submitted", "Notification submitted", stages=frozenset({Stage.SIN_PENDING}), style="primary",
        confirm_title="Record the notification?", confirm_button="Record",
        confirm="Record that the local authority submitted the notification for {ref} now. This starts "
                "the 15 working day rapid review clock.",
        run=lambda s, core, case, actor, v, ctx: cases.record_sin_submitted(
            s, core, case, at=moment(v, "at"), actor=actor),
    ),
    CaseAction(
        "not_met", "Criteria not met",
        stages=frozenset({Stage.REFERRAL_RECEIVED, Stage.TRIAGE, Stage.SIN_PENDING}),
        fields=_fixed(FieldSpec("route", "Route", "choice", required=True,
                                options=_pairs(vocabulary.ROUTE_LABELS)), _reason()),
        title="Not met {ref}",
        run=lambda s, core, case, actor, v, ctx: cases.not_met(
            s, core, case, route=choice(v, "route") or "", reason=text(v, "reason"), actor=actor),
    ),
    CaseAction(
        "send_info", "Send information requests", stages=RAPID_REVIEW,
        fields=_requests_fields("info-gathering"), title="Send requests", submit="Send",
        intro="Send information gathering requests for {ref} by email to each agency's safeguarding "
              "inbox. Agencies already asked are skipped.",
        form_action="send_requests", context={"kind": "info-gathering"}, run=_send("info-gathering"),
    ),
    CaseAction(
        "send_chronology", "Send chronology requests", stages=frozenset({Stage.LCSPR}),
        fields=_requests_fields("chronology"), title="Send requests", submit="Send",
        intro="Send chronology requests for {ref} by email to each agency's safeguarding inbox. "
              "Agencies already asked are skipped.",
        form_action="send_requests", context={"kind": "chronology"}, run=_send("chronology"),
    ),
    CaseAction(
        # Not at the panel's decision: a case is there only once every return is in (bot.info_gathering)
        # and a request sent from there takes it back to information gathering.
        "return", "Return received", stages=frozenset({Stage.INFO_GATHERING, Stage.LCSPR,
                                                       Stage.COMPOSITE_CHRONOLOGY}),
        fields=_return_fields,
        title="Return received", submit="Record",
        intro="Record a return for {ref} that arrived by other means (secure upload, by hand). Its "
              "chasers stop.",
        run=_return,
    ),
    CaseAction(
        "decide", "Record panel decision", stages=RAPID_REVIEW,
        fields=_fixed(FieldSpec("option", "Panel decision", "choice", required=True, options=tuple(
            Choice(o, vocabulary.decision_label(o)) for o in DECISIONS)), _reason("rationale", "Rationale")),
        title="Decision {ref}", submit="Record",
        run=lambda s, core, case, actor, v, ctx: cases.decide(
            s, core, case, option=choice(v, "option") or "", rationale=text(v, "rationale"), actor=actor,
            at=moment(v, "at")),
    ),
    *review_actions.REVIEW_WORK_ACTIONS,
    CaseAction(
        "embargo", "Publication delayed",
        stages=frozenset({Stage.LCSPR, Stage.ENDORSEMENT, Stage.FINAL_APPROVED, Stage.PRE_PUBLICATION}),
        fields=_fixed(FieldSpec("reason", "Proceedings publication waits for", "choice", required=True,
                                options=_pairs(vocabulary.EMBARGO_LABELS)),
                      FieldSpec("expected", "Expected publication date", "date")),
        title="Delay {ref}", submit="Record",
        intro="The report on {ref} is complete but publication waits for proceedings. Tell the "
              "National Panel and the Secretary of State of the delay (review-bot case {ref} draft "
              "delay-notice).",
        run=lambda s, core, case, actor, v, ctx: publication.embargo(
            s, core, case, reason=choice(v, "reason") or "", actor=actor, expected=day(v, "expected")),
    ),
    CaseAction(
        "publication_date", "Set publication date",
        stages=frozenset({Stage.LCSPR, Stage.FINAL_APPROVED, Stage.EMBARGOED, Stage.PRE_PUBLICATION}),
        fields=_publication_fields, title="Publication {ref}", submit="Set", run=_publication_date,
        intro="The full report goes to the National Panel, the Secretary of State and Ofsted at least "
              "7 working days before this date; a date too soon is refused with the earliest valid one.",
    ),
    *review_actions.NOTICE_ACTIONS,
    CaseAction(
        "published", "Published", stages=frozenset({Stage.PRE_PUBLICATION}), style="primary",
        confirm_title="Record publication?", confirm_button="Published",
        confirm="Record that the review of {ref} is published now. The 6 month publication clock is met "
                "and a press release becomes possible (media protocol M-5).",
        run=lambda s, core, case, actor, v, ctx: publication.publish(
            s, core, case, actor=actor, at=moment(v, "at")),
    ),
    *review_actions.AFTER_ACTIONS,
    *sar_actions.SAR_ACTIONS,
    *sar_actions.COMPLAINT_ACTIONS,
    CaseAction(
        "authorise_speaker", "Agency may speak",
        stages=frozenset({Stage.PRE_PUBLICATION, *AFTER_PUBLICATION}), fields=_speaker_fields,
        title="Agency may speak", submit="Authorise",
        intro="An agency may respond for itself about {ref}; the Chair and the Council press office agree "
              "its words (media protocol M-8).",
        run=_authorise,
    ),
    *report_actions.TAG_ACTIONS,
    CaseAction(
        "close", "Close case", stages=ALL, fields=_fixed(_reason()), title="Close {ref}",
        submit="Close case", intro="Closing {ref} stops every clock and chaser.",
        run=lambda s, core, case, actor, v, ctx: cases.close(
            s, core, case, reason=text(v, "reason"), actor=actor),
    ),
    # Reached by the CLI and by forms, never a button of their own.
    CaseAction("triage", "Start triage",
               run=lambda s, core, case, actor, v, ctx: cases.start_triage(s, core, case, actor=actor)),
    CaseAction("la_aware", "Date the local authority became aware", run=_la_aware),
    CaseAction("send_requests", "Send requests", run=_send(None)),
    CaseAction("withdraw", "Withdraw a request", run=_withdraw),
    *review_actions.HIDDEN_ACTIONS,
    *report_actions.HIDDEN_ACTIONS,
)
BY_NAME = {a.name: a for a in ACTIONS}
#: The not-met routes the table offers are exactly the core's (a guard against drift).
assert set(vocabulary.ROUTE_LABELS) == set(NOT_MET_ROUTES)


def offered_at(stage: str, view: dict[str, Any] | None = None) -> list[CaseAction]:
    """The buttons a case card shows at ``stage`` (given the case's ``view``, what it holds
    allows), in the table's order."""
    return [a for a in ACTIONS if a.offered(stage, view)]


def action(name: str) -> CaseAction:
    found = BY_NAME.get(name)
    if found is None:
        raise Refused("that action is not known; the card may be out of date")
    return found
