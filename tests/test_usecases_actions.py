"""Who may do what to the action plan (bot/usecases/actions.py), the same for every door: the
business unit adds and records; only the QA group verifies (the business manager when the
protocol names none); an operator on the server or another member of the business unit may not
verify; every refusal is audited with the action's name and no text."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from bot import review
from bot.actors import BUSINESS_UNIT, resolve_actor
from bot.cases import Referral, accept, decide, open_case, record_sin_submitted
from bot.core import Core
from bot.errors import Refused
from bot.protocol import parse_protocol
from bot.usecases.actions import act_on, add_action, list_actions
from tests.support.usecases import BM_EMAIL, BM_TEAMS, events, slack, teams
from tests.support.usecases import uc_core as uc_core  # the fixture

TEXT = "Review the Hollybank team's supervision records"


def drafted(core: Core) -> str:
    """A local review whose first draft is in: the action plan is drafted with it (KIR l.274)."""
    with core.transaction() as s:
        case = open_case(s, core, Referral(
            referring_agency="la-csc", incident_date=date(2026, 11, 10), la_aware_date=date(2026, 11, 11),
            outcome="death", abuse_neglect="yes", legal_status="cp-plan"), actor=BM_EMAIL, source="cli")
        accept(s, core, case, actor=BM_EMAIL)
        record_sin_submitted(s, core, case, at=None, actor=BM_EMAIL)
        decide(s, core, case, option="lcspr", rationale="", actor=BM_EMAIL)
        review.composite_ready(s, core, case, actor=BM_EMAIL)
        review.learning_event_held(s, core, case, actor=BM_EMAIL)
        review.draft_received(s, core, case, actor=BM_EMAIL)
        return case.ref


def submitted(core: Core, ref: str) -> int:
    bm = teams(core, BM_TEAMS)
    number = int(add_action(core, bm, ref, agency="police", text=TEXT, recommendation=1).data["number"])
    act_on(core, bm, ref, number, "evidence", note="Supervision audit report")
    act_on(core, bm, ref, number, "submit")
    return number


def test_the_business_unit_records_and_the_business_manager_verifies_without_a_qa_group(
    uc_core: Core
) -> None:
    ref = drafted(uc_core)
    stranger = slack(uc_core, "UOTHER")
    with pytest.raises(Refused, match="Only the safeguarding business unit"):
        add_action(uc_core, stranger, ref, agency="police", text=TEXT)
    with pytest.raises(Refused, match="Only the safeguarding business unit"):
        list_actions(uc_core, stranger, ref)
    number = submitted(uc_core, ref)
    member = slack(uc_core, "UMEMBER", BUSINESS_UNIT)  # the business unit, but not the verifier
    operator = resolve_actor(uc_core, surface="cli", user_id="alice")
    for actor in (member, operator, stranger):
        with pytest.raises(Refused, match=r"Only the business manager \(the protocol names no QA group\)"):
            act_on(uc_core, actor, ref, number, "verify")
    refused = [e.detail["action"] for e in events(uc_core, "action_refused")]
    assert refused == ["action_add", "actions", "action_verify", "action_verify", "action_verify"]
    said = act_on(uc_core, slack(uc_core, "UBM"), ref, number, "verify")  # the same person on Slack
    assert said.message == f"{ref}: action {number} verified" and TEXT not in said.message
    plan = list_actions(uc_core, teams(uc_core, BM_TEAMS), ref).data
    assert plan["actions"][0]["verified_by"] == "slack:UBM" and plan["counts"]["verified"] == 1
    trail = [e.detail for kind in ("action_added", "action_verified") for e in events(uc_core, kind)]
    assert trail and all(TEXT not in str(detail) for detail in trail)


def test_a_qa_group_named_in_the_protocol_verifies_and_may_read_the_plan(uc_core: Core) -> None:
    core = dataclasses.replace(uc_core, protocol=parse_protocol({"preset": "working-together-2023", "roles": {
        "business_manager": {"name": "BM", "email": BM_EMAIL, "slack_user_id": "UBM",
                             "teams_user_id": BM_TEAMS},
        "qa_group": {"name": "QA Partnership", "email": "qa@partnership.example", "slack_user_id": "UQA"},
    }}, "test"))
    ref = drafted(core)
    number = submitted(core, ref)
    with pytest.raises(Refused, match="Only the QA group, QA Partnership, verifies"):
        act_on(core, slack(core, "UBM"), ref, number, "verify")
    qa = slack(core, "UQA")
    assert not qa.business_unit
    assert list_actions(core, qa, ref).data["counts"]["awaiting_verification"] == 1
    with pytest.raises(Refused, match="Only the safeguarding business unit"):
        act_on(core, qa, ref, number, "close", reason="not the QA group's to close")
    assert act_on(core, qa, ref, number, "verify").data == {"number": number, "status": "verified"}
    by_email = resolve_actor(core, surface="cli", email="QA@partnership.example")
    with pytest.raises(Refused, match="action 1 is verified"):
        act_on(core, by_email, ref, number, "verify")
