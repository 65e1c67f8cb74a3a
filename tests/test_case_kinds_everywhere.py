"""SAR and complaint cases (decision 0028) where the code was written for children's cases: the
mail intake's [REF] token, the children's commands, the board, the report and the monthly summary,
through the real entry points (the CLI, the Maildir mailbox, ``tick``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot import action_plan, complaints, media, owner_clocks, retention, review_clocks, sar
from bot.cases import get_case
from bot.chasers import chase_overdue
from bot.clock import FixedClock
from bot.core import Core
from bot.media import EnquiryInput
from bot.models import Case, OutboxMessage
from bot.models_report import MonthlySummary
from bot.report_build import partnership_report
from bot.report_monthly import post_monthly_summary
from bot.review_kinds import CLOCKS
from bot.stages import LABELS, Stage
from bot.views import case_list, case_view
from tests.conftest import new_case
from tests.support.eml.build import load
from tests.test_e2e import Bot

BM = "business.manager@partnership.example"


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    return Bot(tmp_path, database_url)


def at(bot: Bot, now: str, *args: str, code: int = 0) -> str:
    return bot("--now", now, "--actor", BM, *args, code=code).output


def test_mail_naming_a_sar_or_a_complaint_by_its_token_is_held_on_that_case(bot: Bot) -> None:
    # An agency writes about a SAR (or a complaint) quoting its reference as the bot's emails do
    # ("[SAR-2026-0001] ..."), without replying in the thread: the person triaging it must see
    # which case it is about, as for a children's case (process.md 8.3).
    at(bot, "2026-11-18T10:00", "sar", "open", "--agency", "police", "--outcome", "death")
    at(bot, "2026-11-18T10:01", "complaint", "open", "--name", "A Complainant")
    for n, ref in enumerate(("SAR-2026-0001", "CO-2026-0001")):
        raw = load("reply_subject_token_only", case_ref=ref).replace(b"<token-only.", f"<token-{n}.".encode())
        bot.drop(raw, f"{n}.icb")
        out = bot("tick", "--now", f"2026-11-18T11:0{n}", "--json")
        (msg,) = json.loads(out.output)["messages"]
        assert msg["case"] == ref, msg
        assert ref in (msg["triage"] or "")
    triage = json.loads(bot("triage", "--json").output)
    assert [t["case"] for t in triage] == ["SAR-2026-0001", "CO-2026-0001"]


# --- every owned clock's emails, for the kind of case it runs on -----------------------------

#: The clocks of a SAR and of a complaint; every other owned clock runs on a children's case.
SAR_CLOCKS = {"sar_screening", "sar_recommendation", "sar_decision", "sar_review"}
COMPLAINT_CLOCKS = {"complaint_response", "complaint_escalation"}
WHAT = {"child": "local review", "sar": "safeguarding adults review", "complaint": "complaint"}


def _case_of_kind(core: Core, kind: str) -> Case:
    with core.transaction() as s:
        if kind == "sar":
            case = sar.open_sar(s, core, received_at=core.clock.now(), referring_agency="police",
                                outcome="death", actor=BM, source="cli")
        elif kind == "complaint":
            case = complaints.open_complaint(s, core, received_on=core.calendar.local_date(core.clock.now()),
                                             complainant_name="A Person", actor=BM, source="cli")
        else:
            case = get_case(s, new_case(core))
        s.expunge(case)
        return case


@pytest.mark.parametrize("kind", sorted(set(CLOCKS) - {action_plan.CLOCK}))
def test_every_owned_clock_says_what_it_is_owed_by_whom_on_its_kind_of_case(core: Core, kind: str) -> None:
    # The action plan's clock names its action by number (bot.action_plan.chase_words; its own tests).
    case_kind = "sar" if kind in SAR_CLOCKS else "complaint" if kind in COMPLAINT_CLOCKS else "child"
    ref = _case_of_kind(core, case_kind).ref
    with core.transaction() as s:
        case = get_case(s, ref)
        agency = "police" if CLOCKS[kind].owner == "agency" else None
        deadline = review_clocks.start(s, core, case, kind, anchor_at=core.clock.now(),
                                       due_at=core.clock.now() + timedelta(days=3), agency=agency)
        assert deadline is not None and deadline.owner is not None
        for n, step in enumerate(("reminder", "chase", "escalation")):
            owner_clocks.step(s, core, case, deadline, step, f"test:{kind}:{n}")
    with core.db.session() as s:
        sent = list(s.exec(select(OutboxMessage).where(col(OutboxMessage.idempotency_key).startswith(
            f"test:{kind}:")).order_by(col(OutboxMessage.id))))
    assert [m.kind for m in sent] == ["owner_reminder", "owner_overdue", "owner_escalation"]
    label = owner_clocks.CLOCKS[kind].label
    for m in sent:
        assert m.to and all("@" in a for a in [*m.to, *m.cc]), (m.kind, m.to)
        assert f"[{ref}]" in m.subject and label in m.subject
        assert "None" not in m.subject + m.body_text and "REF" not in m.body_text, m.body_text
        assert "Dear the " not in m.body_text  # "Dear colleagues," for the business unit
    reminder = sent[0].body_text
    assert f"For {WHAT[case_kind]} {ref}," in reminder and CLOCKS[kind].owed.split(" (")[0][:40] in reminder
    assert CLOCKS[kind].record.replace("REF", ref) in sent[2].body_text


def test_the_report_and_the_monthly_summary_count_childrens_cases_only(core: Core, clock: FixedClock) -> None:
    # A children's case, a SAR and a complaint opened in November; the summary for November is
    # written on the first working day of December (decision 0031) and the report made then: the
    # SAR and the complaint are in neither (process.md 9 counts children's cases).
    clock.set(datetime(2026, 11, 16, 10, 0, tzinfo=UTC))
    child = _case_of_kind(core, "child")
    for kind in ("sar", "complaint"):
        _case_of_kind(core, kind)
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert post_monthly_summary(core) is True
    with core.db.session() as s:
        counts = s.exec(select(MonthlySummary)).one().counts
    assert (counts["referrals"], counts["open_cases"]) == (1, 1)
    report = partnership_report(core, start=date(2026, 4, 1), end=date(2027, 3, 31)).to_json()
    pipeline = next(t for sec in report["sections"] for t in sec["tables"] if t["key"] == "pipeline")
    assert [r[0] for r in pipeline["rows"]] == [LABELS[Stage(child.stage)], "All open cases"]
    assert "SAR" not in json.dumps(report) and "CO-2026" not in json.dumps(report)


def test_a_childrens_step_on_a_sar_or_a_complaint_is_refused_as_such(bot: Bot) -> None:
    # Refused by stage alone, a SAR was told "the notification has already been recorded" or
    # "triage has already started" (neither true), and 'la-aware' wrote a child's date on it.
    at(bot, "2026-11-18T10:00", "sar", "open", "--agency", "police", "--outcome", "death")
    at(bot, "2026-11-18T10:01", "complaint", "open", "--name", "A Complainant")
    for ref, kind in (("SAR-2026-0001", "a safeguarding adults review"), ("CO-2026-0001", "a complaint")):
        for step in (["decide", "lcspr", "--rationale", "r"], ["sin-submitted"], ["triage"], ["accept"],
                     ["la-aware", "2026-11-17"], ["not-met", "no-further-action", "--reason", "r"],
                     ["composite"], ["publication-date", "2027-06-01"]):
            said = at(bot, "2026-11-18T10:02", "case", ref, *step, code=2)
            assert f"{ref} is {kind}: that is not one of its steps" in said, (step, said)
        assert json.loads(at(bot, "2026-11-18T10:03", "case", ref, "--json"))["la_aware_date"] is None
    # Its own steps still refuse by stage, naming what comes first.
    said = at(bot, "2026-11-18T10:04", "case", "SAR-2026-0001", "chair-decision", "sar", code=2)
    assert "screening-held" in said
    at(bot, "2026-11-18T10:05", "case", "SAR-2026-0001", "close", "--reason", "withdrawn")
    said = at(bot, "2026-11-18T10:06", "case", "SAR-2026-0001", "decide", "lcspr", "--rationale", "r", code=2)
    assert "is closed" in said


def test_media_clock_rows_without_a_case_stay_out_of_every_case_reading(
    core: Core, clock: FixedClock,
) -> None:
    # Two enquiries, one about a children's case and one about none (decision 0026: their clock
    # rows carry no case), both overdue; then everything that reads deadline rows.
    child = _case_of_kind(core, "child")
    with core.transaction() as s:
        for ref in (child.ref, None):
            media.receive_enquiry(s, core, EnquiryInput(
                outlet="Evening Post", subject="case" if ref else "general", case_ref=ref,
                journalist_deadline=clock.now() + timedelta(hours=3)),
                actor="slack:UREPORTER", source="slack")
    clock.advance(timedelta(days=2))
    assert chase_overdue(core).media_steps == 4  # two rows each, one catch-up step a row
    with core.db.session() as s:
        view = case_view(s, core, get_case(s, child.ref))
        board = case_list(s, core)
    assert view["deadlines"] and not [d for d in view["deadlines"] if d["kind"].startswith("media")]
    assert [r["ref"] for r in board] == [child.ref]
    assert not board[0]["next_deadline"]["kind"].startswith("media")
    partnership_report(core)  # reads every deadline row of the report's kinds
    retention.schedule(core)
    retention.purge(core)


def test_the_report_s_actions_are_the_childrens_reviews_only(core: Core, clock: FixedClock) -> None:
    # A SAR whose Independent Chair chose other learning may hold an action plan (ALTERNATIVE_LEARNING
    # is an action plan stage); the partnership's report counts children's cases (decision 0031),
    # so its actions panel leaves the SAR's actions out, as its other panels leave the SAR out.
    adult = _case_of_kind(core, "sar")
    for fn, kw in ((sar.screening_held, {}), (sar.recommendation_sent, {"recommendation": "other-learning"}),
                   (sar.chair_decision, {"decision": "other-learning"})):
        clock.advance(timedelta(minutes=5))
        with core.transaction() as s:
            fn(s, core, get_case(s, adult.ref), actor=BM, **kw)
    with core.transaction() as s:
        case = get_case(s, adult.ref)
        assert case.stage == Stage.ALTERNATIVE_LEARNING
        action_plan.add(s, core, case, agency="police", text="Adult learning briefing", actor=BM,
                        due=core.calendar.local_date(clock.now()) + timedelta(days=30))
    report = partnership_report(core, start=date(2026, 4, 1), end=date(2027, 3, 31)).to_json()
    actions = next(sec for sec in report["sections"] if sec["key"] == "actions")
    assert actions["tables"] == [], actions  # no action of any children's review: "no action data"


def test_themes_and_outcomes_are_tagged_on_childrens_cases_only(bot: Bot) -> None:
    # The report counts children's reviews only (decision 0031): a tag on a SAR or a complaint was
    # accepted and then counted nowhere.
    at(bot, "2026-11-18T10:00", "sar", "open", "--agency", "police", "--outcome", "death")
    at(bot, "2026-11-18T10:01", "complaint", "open", "--name", "A Complainant")
    for ref in ("SAR-2026-0001", "CO-2026-0001"):
        said = at(bot, "2026-11-18T10:02", "case", ref, "themes", "add", "neglect", code=2)
        assert "tagged on children's cases" in said
