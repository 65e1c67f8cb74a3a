"""The case use cases (issue 11) called directly with actors of each surface and role."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from bot.core import Core
from bot.errors import Invalid, NotFound, Refused
from bot.models import Case
from bot.stages import Stage
from bot.usecases import cases
from bot.usecases.result import Form
from tests.support.usecases import BM_TEAMS, events, slack, teams
from tests.support.usecases import uc_core as uc_core  # the fixture

REFERRAL = {
    "referring_agency": "police", "incident_date": "2026-11-12", "la_aware_date": date(2026, 11, 13),
    "outcome": "death", "abuse_neglect": "yes", "legal_status": "cin", "age_band": "5-10",
    "agencies_involved": "school,icb", "parallel_processes": ["coroner"],
}
#: What a card offers at every stage (written out here, independently of the table).
OFFERED = {
    Stage.REFERRAL_RECEIVED: ["accept", "not_met", "close"],
    Stage.TRIAGE: ["accept", "not_met", "close"],
    Stage.SIN_PENDING: ["sin_submitted", "not_met", "close"],
    Stage.INFO_GATHERING: ["send_info", "return", "decide", "close"],
    Stage.PANEL_DECISION: ["send_info", "decide", "close"],
    Stage.LCSPR: ["send_chronology", "return", "commission", "composite", "imr_due", "imr_received",
                  "embargo", "publication_date", "tags", "close"],
    Stage.COMPOSITE_CHRONOLOGY: ["return", "imr_due", "imr_received", "learning_event", "draft_received",
                                 "tags", "close"],
    Stage.LEARNING_EVENT: ["learning_event", "draft_received", "tags", "close"],
    Stage.FIRST_DRAFT: ["workstream_met", "tags", "close"],
    Stage.WORKSTREAM: ["minutes_sent", "to_business_group", "tags", "close"],
    Stage.BUSINESS_GROUP: ["business_group_approved", "tags", "close"],
    Stage.ENDORSEMENT: ["endorsed", "embargo", "tags", "close"],
    Stage.FINAL_APPROVED: ["embargo", "publication_date", "tags", "close"],
    Stage.EMBARGOED: ["publication_date", "tags", "close"],
    Stage.PRE_PUBLICATION: ["embargo", "publication_date", "notice_sent", "practitioners_told", "published",
                            "authorise_speaker", "tags", "close"],
    Stage.PUBLISHED: ["embedding", "website_reviewed", "actions_achieved", "recall_held", "authorise_speaker",
                      "tags", "close"],
    Stage.EMBEDDING: ["website_reviewed", "actions_achieved", "recall_held", "authorise_speaker", "tags",
                      "close"],
    Stage.RECALL: ["website_reviewed", "actions_achieved", "authorise_speaker", "tags", "close"],
    Stage.NATIONAL_REVIEW: ["tags", "close"],
    Stage.NO_FURTHER_REVIEW: ["tags", "close"],
    Stage.ALTERNATIVE_LEARNING: ["tags", "close"],
    Stage.NOTIFICATION_ONLY: ["close"],
    Stage.CLOSED_NFA: [],
    Stage.CLOSED: [],
    Stage.SAR_REFERRED: ["screening_held", "close"],
    Stage.SAR_SCREENED: ["recommendation_sent", "close"],
    Stage.SAR_RECOMMENDED: ["chair_decision", "close"],
    Stage.SAR_REVIEW: ["sar_completed", "close"],
    Stage.SAR_COMPLETED: ["sar_published", "close"],
    Stage.SAR_PUBLISHED: ["close"],
    Stage.COMPLAINT_RECEIVED: ["complaint_respond", "close"],
    Stage.COMPLAINT_RESPONDED: ["complaint_escalate", "close"],
    Stage.COMPLAINT_ESCALATED: ["complaint_respond", "close"],
    Stage.COMPLAINT_CHAIR_RESPONDED: ["close"],
}
LEARNING_EVENT_HIDES = {
    Stage.LCSPR: ("imr_due", "imr_received"),
    Stage.COMPOSITE_CHRONOLOGY: ("imr_due", "imr_received", "draft_received"),
}

#: Buttons that record a running clock (offered while it runs; tests/test_buttons_every_stage.py).
CLOCK_BUTTONS = ("notice_sent", "practitioners_told", "website_reviewed", "actions_achieved")


def refer(core: Core, user: str = "aad-practitioner") -> str:
    result = cases.refer(core, teams(core, user), dict(REFERRAL))
    assert result.ref
    return result.ref


def stage_of(core: Core, ref: str) -> str:
    with core.transaction() as session:
        return session.exec(select(Case.stage).where(Case.ref == ref)).one()


def test_a_referral_from_teams_opens_a_case_and_says_who_must_be_told(uc_core: Core) -> None:
    practitioner = teams(uc_core, "aad-practitioner")
    result = cases.refer(uc_core, practitioner, dict(REFERRAL))
    assert result.ref == "SI-2026-0001" and result.ref in result.message and "Teams" in result.message
    assert result.view and result.view["agencies_involved"] == ["school", "icb"]
    assert result.actions == ()  # a practitioner may do nothing more on the case
    assert [(n.to, n.kind) for n in result.notify] == [
        ("teams:aad-practitioner", "referral_received"), ("business_unit", "referral_alert")]
    with uc_core.transaction() as session:
        case = session.exec(select(Case)).one()
    assert (case.referrer, case.source) == ("teams:aad-practitioner", "teams")
    assert case.stage == Stage.REFERRAL_RECEIVED


def test_referral_errors_name_their_fields(uc_core: Core) -> None:
    bad = {**REFERRAL, "outcome": None, "incident_date": "2026-12-01", "legal_status": "orphan",
           "referring_agency": "no-such-agency"}
    with pytest.raises(Invalid) as caught:
        cases.refer(uc_core, slack(uc_core, "UPRACT"), bad)
    errors = caught.value.errors
    # The incident is in the future, so the local authority "became aware" before it, too.
    assert set(errors) == {"outcome", "incident_date", "la_aware_date", "legal_status", "referring_agency"}
    assert "future" in errors["incident_date"] and "valid agencies" in errors["referring_agency"]
    with pytest.raises(Invalid) as caught:
        cases.refer(uc_core, slack(uc_core, "UPRACT"), {**REFERRAL, "la_aware_date": "2026-11-01"})
    assert list(caught.value.errors) == ["la_aware_date"]
    with uc_core.transaction() as session:
        assert session.exec(select(Case)).first() is None


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_offers_its_actions_to_the_business_unit_and_none_to_others(
    uc_core: Core, stage: Stage,
) -> None:
    ref = refer(uc_core)
    with uc_core.transaction() as session:
        session.exec(select(Case).where(Case.ref == ref)).one().stage = stage
    # The case's own actions leave out what its local review's methodology (the preset's
    # learning-event model) would refuse: the IMR buttons, a first draft before the learning event;
    # and the buttons that record a clock the case does not have (its stage was set by hand).
    hidden = {*LEARNING_EVENT_HIDES.get(stage, ()), *CLOCK_BUTTONS}
    own = [a for a in OFFERED[stage] if a not in hidden]
    for unit in (slack(uc_core, "UBM"), teams(uc_core, BM_TEAMS), slack(uc_core, "UGROUP", "business_unit")):
        result = cases.case_status(uc_core, unit, ref)
        assert [a.name for a in result.actions] == own
    assert [a.name for a in cases.card_actions(stage)] == OFFERED[stage]
    assert cases.case_status(uc_core, teams(uc_core, "aad-practitioner"), ref).actions == ()
    if stage not in (Stage.CLOSED, Stage.CLOSED_NFA):
        assert OFFERED[stage], "every open stage offers at least one action"


def test_a_refusal_is_audited_and_changes_nothing(uc_core: Core) -> None:
    ref = refer(uc_core)
    stranger = teams(uc_core, "aad-stranger")
    with pytest.raises(Refused, match="business unit"):
        cases.act(uc_core, stranger, ref, "close", {"reason": "x"})
    with pytest.raises(Refused, match="business unit"):
        cases.form_for(uc_core, stranger, ref, "accept")
    assert stage_of(uc_core, ref) == Stage.REFERRAL_RECEIVED
    refused = events(uc_core, "action_refused")
    assert [(e.actor, e.detail) for e in refused] == [
        ("teams:aad-stranger", {"action": "close"}), ("teams:aad-stranger", {"action": "accept"})]
    assert all(e.case_id is not None for e in refused)


def test_status_answers_a_stranger_the_same_whether_the_case_exists_or_not(uc_core: Core) -> None:
    ref = refer(uc_core)
    stranger = slack(uc_core, "UOTHER")
    with pytest.raises(NotFound) as real:
        cases.case_status(uc_core, stranger, ref)
    with pytest.raises(NotFound) as made_up:
        cases.case_status(uc_core, stranger, "SI-2026-0999")
    assert str(real.value).replace(ref, "X") == str(made_up.value).replace("SI-2026-0999", "X")
    assert [e.detail["action"] for e in events(uc_core, "action_refused")] == ["status"]  # the real one
    referrer = cases.case_status(uc_core, teams(uc_core, "aad-practitioner"), ref.lower())
    assert referrer.view and referrer.view["ref"] == ref


def test_the_board_is_the_units_and_a_referrer_sees_their_own(uc_core: Core) -> None:
    ref = refer(uc_core)
    board = cases.case_board(uc_core, teams(uc_core, BM_TEAMS))
    assert board.view and board.view["kind"] == "board" and [r["ref"] for r in board.view["rows"]] == [ref]
    own = cases.case_board(uc_core, teams(uc_core, "aad-practitioner"))
    assert own.view and own.view["kind"] == "own" and own.view["rows"][0]["next_step"]
    assert cases.case_board(uc_core, teams(uc_core, "aad-stranger")).view == {"kind": "own", "rows": []}


def test_a_service_error_names_its_field(uc_core: Core) -> None:
    ref = refer(uc_core)
    bm = teams(uc_core, BM_TEAMS)
    for action, values, field in [
        ("accept", {"la_aware_date": "2026-12-24"}, "la_aware_date"),
        ("not_met", {"route": "no-further-action", "reason": " "}, "reason"),
        ("not_met", {"route": "elsewhere", "reason": "r"}, "route"),
        ("close", {"reason": ""}, "reason"),
        ("accept", {"la_aware_date": "yesterday"}, "la_aware_date"),
    ]:
        with pytest.raises(Invalid) as caught:
            cases.act(uc_core, bm, ref, action, values)
        assert list(caught.value.errors) == [field], action
    assert stage_of(uc_core, ref) == Stage.REFERRAL_RECEIVED


def test_from_referral_to_publication_through_the_use_cases(uc_core: Core) -> None:
    ref = refer(uc_core)
    bm = teams(uc_core, BM_TEAMS)
    form = cases.form_for(uc_core, bm, ref, "accept")
    assert [f.name for f in form.fields] == ["la_aware_date"] and form.fields[0].initial == date(2026, 11, 13)
    cases.act(uc_core, bm, ref, "accept", {"la_aware_date": "2026-11-13"})
    pressed = cases.press(uc_core, bm, ref, "sin_submitted")
    assert not isinstance(pressed, Form) and pressed.data["stage"] == Stage.INFO_GATHERING
    form = cases.form_for(uc_core, bm, ref, "send_info")
    assert form.action == "send_requests" and form.context == {"kind": "info-gathering"}
    assert {"school", "icb"} <= set(form.fields[0].initial)
    sent = cases.act(uc_core, bm, ref, form.action, {"agencies": ["police", "school"]}, context=form.context)
    assert "queued for police, school" in sent.message
    for agency in ("police", "school"):
        request = cases.form_for(uc_core, bm, ref, "return").fields[0]
        assert f"{agency}|info-gathering" in [c.value for c in request.options]
        cases.act(uc_core, bm, ref, "return", {"request": f"{agency}|info-gathering"})
    with pytest.raises(Refused, match="not waiting"):
        cases.form_for(uc_core, bm, ref, "return")
    decided = cases.act(uc_core, bm, ref, "decide", {"option": "lcspr", "rationale": "learning"})
    assert decided.data["stage"] == Stage.LCSPR and "embargo" in [a.name for a in decided.actions]
    cases.act(uc_core, bm, ref, "embargo", {"reason": "coroner"})
    with pytest.raises(Invalid) as past:
        cases.act(uc_core, bm, ref, "publication_date", {"publication_date": "2026-01-01"})
    assert list(past.value.errors) == ["publication_date"]
    cases.act(uc_core, bm, ref, "publication_date", {"publication_date": date(2027, 3, 1)})
    assert cases.form_for(uc_core, bm, ref, "publication_date").fields[0].initial == date(2027, 3, 1)
    cases.act(uc_core, bm, ref, "published")
    with pytest.raises(Invalid) as unknown:
        cases.act(uc_core, bm, ref, "authorise_speaker", {"agency": "no-such-agency"})
    assert list(unknown.value.errors) == ["agency"]
    spoke = cases.act(uc_core, bm, ref, "authorise_speaker", {"agency": "police"})
    assert "police may respond for itself" in spoke.message
    closed = cases.act(uc_core, bm, ref, "close", {"reason": "done"})
    assert closed.data["stage"] == Stage.CLOSED and closed.actions == ()


def test_the_same_door_key_acts_once(uc_core: Core) -> None:
    ref = refer(uc_core)
    bm = slack(uc_core, "UBM")
    first = cases.act(uc_core, bm, ref, "close", {"reason": "duplicate"}, key="k1")
    again = cases.act(uc_core, bm, ref, "close", {"reason": "duplicate"}, key="k1")
    assert not first.repeat and again.repeat and again.ref == ref and again.message == first.message
    assert len(events(uc_core, "stage_changed")) == 1
