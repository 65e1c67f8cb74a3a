"""The media, Chair-away and triage use cases (issue 11), called directly with actors of each
surface: refusals audited, errors naming fields, the statement rules in the core."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.core import Core
from bot.errors import Invalid, NotFound, Refused
from bot.inbound import hold_for_triage, record_inbound
from bot.models import InboundMessage, MediaStatement
from bot.usecases import chair, media, triage
from bot.usecases.result import Form
from tests.support.usecases import BM_TEAMS, CHAIR_TEAMS, PRESS_TEAMS, events, slack, teams
from tests.support.usecases import uc_core as uc_core  # the fixture


def values(clock: FixedClock, **over: object) -> dict[str, object]:
    given: dict[str, object] = {
        "outlet": "Evening Post", "journalist": "J. Writer", "contact": "desk@news.example",
        "deadline": (clock.now() + timedelta(hours=3)).isoformat(), "subject": "general",
        "summary": "Asked about the partnership",
    }
    return {**given, **over}


def raised(core: Core, clock: FixedClock) -> str:
    result = media.raise_enquiry(core, teams(core, "aad-practitioner"), values(clock))
    assert result.ref
    return result.ref


@pytest.mark.parametrize(("over", "field"), [
    ({"deadline": "2026-11-16T09:00:00+00:00"}, "deadline"),
    ({"subject": "agency"}, "subject_agency"),
    ({"subject": "case", "case_ref": "SI-2026-0999"}, "case_ref"),
    ({"journalist": ""}, "journalist"),
    ({"raising_agency": "no-such-agency"}, "raising_agency"),
])
def test_enquiry_errors_name_their_field(uc_core: Core, clock: FixedClock, over: dict[str, object],
                                        field: str) -> None:
    with pytest.raises(Invalid) as caught:
        media.raise_enquiry(uc_core, teams(uc_core, "aad-practitioner"), values(clock, **over))
    assert list(caught.value.errors) == [field]


def test_anyone_reports_only_the_team_acts_and_each_refusal_is_audited(
    uc_core: Core, clock: FixedClock,
) -> None:
    result = media.raise_enquiry(uc_core, teams(uc_core, "aad-practitioner"), values(clock))
    assert result.ref == "ME-2026-0001" and "M-2" in result.message and result.actions == ()
    assert result.data["speaks_label"]
    assert ("press_office", "media_alert") in [(n.to, n.kind) for n in result.notify]
    ref = result.ref
    stranger = teams(uc_core, "aad-stranger")
    with pytest.raises(Refused, match="press office"):
        media.act_on_enquiry(uc_core, stranger, ref, "acknowledge")  # boundary.md's name for "ack"
    with pytest.raises(Refused):
        media.enquiries(uc_core, stranger)
    with pytest.raises(NotFound):
        media.enquiry_status(uc_core, stranger, ref)
    assert [(e.actor, e.detail["action"]) for e in events(uc_core, "media_action_refused")] == [
        ("teams:aad-stranger", "ack"), ("teams:aad-stranger", "list"), ("teams:aad-stranger", "status")]
    raiser = media.enquiry_status(uc_core, teams(uc_core, "aad-practitioner"), ref)
    assert raiser.data["team"] is False and raiser.actions == ()
    press = teams(uc_core, PRESS_TEAMS)
    assert [a.name for a in media.enquiry_status(uc_core, press, ref).actions] == [
        "ack", "draft", "approve", "release", "press_release"]
    acked = media.act_on_enquiry(uc_core, press, ref, "ack")
    assert [a.name for a in acked.actions] == ["draft", "approve", "release", "press_release"]
    again = media.act_on_enquiry(uc_core, slack(uc_core, "UBM"), ref, "ack")
    assert "already acknowledged" in again.message


def test_the_statement_is_reused_guarded_against_stale_edits_and_signed_by_the_routing(
    uc_core: Core, clock: FixedClock,
) -> None:
    ref = raised(uc_core, clock)
    press, bm, chair_ = teams(uc_core, PRESS_TEAMS), teams(uc_core, BM_TEAMS), teams(uc_core, CHAIR_TEAMS)
    first = media.press(uc_core, press, ref, "draft")
    assert isinstance(first, Form) and first.context["version"] == 1 and first.fields[0].initial
    again = media.media_form_for(uc_core, bm, ref, "draft_statement")
    assert again.context == first.context  # the draft is kept, not re-rendered
    media.act_on_enquiry(uc_core, bm, ref, "draft", {"text": "Edited by the business manager."},
                         context=first.context)
    with pytest.raises(Invalid) as stale:
        media.act_on_enquiry(uc_core, press, ref, "draft", {"text": "A stale edit."}, context=first.context)
    assert list(stale.value.errors) == ["text"] and "saved meanwhile" in stale.value.errors["text"]
    with uc_core.transaction() as session:
        assert [s.version for s in session.exec(select(MediaStatement))] == [1, 2]
    with pytest.raises(Refused, match="only the sign-off"):
        media.act_on_enquiry(uc_core, press, ref, "approve")
    approved = media.act_on_enquiry(uc_core, chair_, ref, "approve_statement")
    assert "can now be released" in approved.message
    released = media.act_on_enquiry(uc_core, press, ref, "release_statement")
    assert "released" in released.message and released.view and released.view["status"] == "responded"
    assert [e.detail["action"] for e in events(uc_core, "media_action_refused")] == ["approve"]


def test_a_press_release_before_publication_is_refused_citing_m5(uc_core: Core, clock: FixedClock) -> None:
    ref = media.raise_enquiry(uc_core, teams(uc_core, "aad-practitioner"),
                              values(clock, subject="inquest")).ref
    assert ref
    with pytest.raises(Refused, match="M-5"):
        media.press(uc_core, teams(uc_core, PRESS_TEAMS), ref, "press_release")
    [refused] = events(uc_core, "media_action_refused")
    assert refused.detail["rule"] == "M-5" and refused.detail["action"] == "press_release"


def test_chair_away_is_the_teams_with_errors_on_their_fields(uc_core: Core, clock: FixedClock) -> None:
    with pytest.raises(Refused):
        chair.chair_away_form(uc_core, teams(uc_core, "aad-stranger"))
    bm = teams(uc_core, BM_TEAMS)
    form = chair.chair_away_form(uc_core, bm)
    assert [f.name for f in form.fields] == ["starts_at", "ends_at", "delegate"]
    now = clock.now()
    with pytest.raises(Invalid) as same:
        chair.set_chair_away(uc_core, bm, {"starts_at": now, "ends_at": now})
    assert list(same.value.errors) == ["ends_at"]
    with pytest.raises(Invalid) as nobody:
        chair.set_chair_away(uc_core, bm, {"starts_at": now, "ends_at": now + timedelta(days=1),
                                           "delegate": "executive"})
    assert list(nobody.value.errors) == ["delegate"]
    done = chair.set_chair_away(uc_core, bm, {"starts_at": int(now.timestamp()),
                                              "ends_at": (now + timedelta(days=1)).isoformat()})
    rows = media.enquiries(uc_core, bm).view["absences"]  # type: ignore[index]
    assert [r["id"] for r in rows] == [done.data["absence_id"]] and rows[0]["current"]
    with pytest.raises(Refused):
        chair.cancel_chair_away(uc_core, slack(uc_core, "UOTHER"), done.data["absence_id"])
    chair.cancel_chair_away(uc_core, bm, done.data["absence_id"])
    assert [e.detail["action"] for e in events(uc_core, "media_action_refused")] == [
        "chair_away", "cancel_chair_absence"]


def test_triage_is_the_business_units(uc_core: Core) -> None:
    with uc_core.transaction() as session:
        item, _ = record_inbound(session, uc_core, message_id="<m1@police.example>", raw=b"x",
                                 mailbox="inbox", from_addr="someone@police.example")
        hold_for_triage(item, "could not match a case")
        item_id = item.id or 0
    with pytest.raises(Refused):
        triage.triage(uc_core, teams(uc_core, "aad-stranger"))
    assert [e.detail["action"] for e in events(uc_core, "action_refused")] == ["triage"]
    bm = teams(uc_core, BM_TEAMS)
    listed = triage.triage(uc_core, bm)
    assert [i["id"] for i in listed.view["items"]] == [item_id]  # type: ignore[index]
    assert [a.name for a in listed.actions] == ["triage_assign", "triage_dismiss"]
    with pytest.raises(Refused, match="no open case"):
        triage.triage_form(uc_core, bm, item_id, "triage_assign")
    with pytest.raises(Invalid) as empty:
        triage.act_on_triage(uc_core, bm, item_id, "triage_dismiss", {"reason": " "})
    assert list(empty.value.errors) == ["reason"]
    triage.act_on_triage(uc_core, bm, item_id, "triage_dismiss", {"reason": "spam"})
    with uc_core.transaction() as session:
        assert session.get(InboundMessage, item_id).triage_status == "dismissed"  # type: ignore[union-attr]
