"""The action plan end to end through the CLI (Kirklees' protocol, 2025 calendar, a QA group
named): actions added with the first draft and before publication, the 12 weeks counted from the
publication date by hand, refusals (a date past the 12 weeks, a larger piece of work without a
date, an unknown agency, a verifier who is not the QA group, submitting without evidence,
``actions-achieved`` while actions are open), each agency reminded and chased within working
hours through the outbox, the QA group's verification, the JSON shape, the pre-publication notice
filled from the plan, and the action's text kept out of the case view, the audit trail and every
email."""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pytest

from tests.test_e2e import Bot

BM = "business.manager@partnership.example"
QA = "qa.partnership@partnership.example"
POLICE = "reviews@police.example"
LA = "safeguarding.reviews@borough.example"
PROTOCOL = f"""
preset = "kirklees"

[roles.qa_group]
name = "Quality Assurance Partnership (example)"
email = "{QA}"
"""
TEXT_1 = "Constabulary to retrain Smithfield custody officers on referral pathway"
TEXT_2 = "ICB audit of GP safeguarding leads across Marsden practices"
TEXT_3 = "Children's social care supervision audit at Hollybank team"


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    made = Bot(tmp_path, database_url)
    (tmp_path / "protocol.toml").write_text(PROTOCOL)
    made.env["PROTOCOL_FILE"] = str(tmp_path / "protocol.toml")
    return made


def at(now: str, bot: Bot, *args: str, code: int = 0, actor: str = BM) -> str:
    return bot("--now", now, "--actor", actor, *args, code=code).output


def tick(bot: Bot, now: str) -> list[tuple[str, str, str]]:
    before = len(bot.sent())
    bot("tick", "--now", now)
    return [(str(m["To"]), str(m["Cc"] or ""), " ".join(str(m["Subject"]).split()))
            for m in bot.sent()[before:]]


def all_mail(tmp_path: Path) -> str:
    files = [p for p in (tmp_path / "mail").rglob("*") if p.is_file()]
    return "\n".join(str(email.message_from_bytes(p.read_bytes(), policy=policy.default)) for p in files)


def endorsed_case(bot: Bot) -> str:
    """A Kirklees review decided on Fri 31 Jan 2025, its first draft in on 1 Apr, endorsed 2 Jun."""
    out = at("2025-01-20T10:00", bot, "open", "--referring-agency", "la-csc", "--incident-date", "2025-01-15",
             "--la-aware", "2025-01-16", "--outcome", "death", "--abuse-neglect", "yes",
             "--legal-status", "cp-plan")
    ref = out.split()[1].rstrip(";")
    for now, *command in (
        ("2025-01-20T10:05", "accept"), ("2025-01-20T10:10", "sin-submitted"),
        ("2025-01-31T10:00", "decide", "lcspr"), ("2025-02-19T10:00", "composite"),
        ("2025-03-04T10:00", "learning-event-held"), ("2025-04-01T10:00", "draft-received"),
    ):
        at(now, bot, "case", ref, *command)
    # The reviewer drafts the action plan with the report (KIR l.274).
    said = at("2025-04-01T11:00", bot, "case", ref, "actions", "add", "--agency", "police", "--text", TEXT_1,
              "--recommendation", "1")
    assert said.strip() == f"{ref}: action 1 added for police, due 12 weeks after publication"
    for now, command in (("2025-04-15T10:00", "workstream-met"), ("2025-04-16T10:00", "minutes-sent"),
                         ("2025-04-22T10:00", "to-business-group"),
                         ("2025-05-06T10:00", "business-group-approved"),
                         ("2025-06-02T10:00", "endorsed")):
        at(now, bot, "case", ref, command)
    return ref


def test_an_action_plan_from_the_draft_to_verification(bot: Bot, tmp_path: Path) -> None:
    ref = endorsed_case(bot)
    at("2025-07-01T10:00", bot, "case", ref, "publication-date", "2025-07-31")
    # 12 weeks after Thu 31 Jul 2025 is Thu 23 Oct 2025 (31 Jul + 84 days: 31 in Aug, 30 in Sep,
    # 23 in Oct = 84). A date after that needs the larger-piece-of-work flag (KIR l.276).
    refused = at("2025-07-01T10:01", bot, "case", ref, "actions", "add", "--agency", "icb", "--text", TEXT_2,
                 "--due", "2025-12-01", code=2)
    assert "more than 12 weeks after publication (by Thu 23 Oct 2025)" in refused and "--larger" in refused
    refused = at("2025-07-01T10:01", bot, "case", ref, "actions", "add", "--agency", "icb", "--text", TEXT_2,
                 "--larger", code=2)
    assert "needs its own due date" in refused
    refused = at("2025-07-01T10:01", bot, "case", ref, "actions", "add", "--agency", "nobody",
                 "--text", TEXT_2, code=2)
    assert "nobody" in refused and "police" in refused  # the valid slugs are listed
    said = at("2025-07-01T10:02", bot, "case", ref, "actions", "add", "--agency", "icb", "--text", TEXT_2,
              "--due", "2025-12-01", "--larger", "--recommendation", "2")
    assert "larger piece of work 2 added for icb, due 01 Dec 2025" in said
    at("2025-07-01T10:03", bot, "case", ref, "actions", "add", "--agency", "la-csc", "--text", TEXT_3,
       "--recommendation", "1")

    notice = at("2025-07-01T10:04", bot, "case", ref, "draft", "prepublication-notice")
    progress = notice.split("The recommendations and progress against them")[1]
    assert ("3 action(s): 3 open (0 awaiting verification), 0 verified, 0 closed; 1 larger piece(s) of work"
            in progress)
    rec_1, rec_2 = progress.split("Recommendation 1")[1].split("Recommendation 2")
    assert f"Action 1 (Example Constabulary): {TEXT_1}" in rec_1 and TEXT_3 in rec_1
    assert "Due Thursday 23 October 2025 (12 weeks after publication)." in rec_1
    assert TEXT_2 in rec_2 and "Due Monday 1 December 2025. A larger piece of work" in rec_2
    assert "[Complete: each recommendation" not in notice

    at("2025-07-31T09:00", bot, "case", ref, "published")
    plan = json.loads(at("2025-07-31T09:01", bot, "case", ref, "actions", "--json"))
    assert set(plan) == {"ref", "counts", "twelve_weeks_end", "actions"}
    assert plan["twelve_weeks_end"] == "2025-10-23"
    assert plan["counts"] == {"total": 3, "open": 3, "overdue": 0, "awaiting_verification": 0, "verified": 0,
                              "closed": 0, "larger": 1}
    first = plan["actions"][0]
    assert set(first) == {"number", "recommendation", "agency", "text", "status", "larger", "due_on",
                          "due_from_publication", "overdue", "deadline_id", "notes", "submitted_at",
                          "verified_at", "verified_by", "closed_at", "close_reason"}
    assert (first["number"], first["agency"], first["text"], first["status"]) == (1, "police", TEXT_1, "open")
    assert first["due_on"] == "2025-10-23" and first["due_from_publication"] is True
    view = json.loads(at("2025-07-31T09:02", bot, "case", ref, "--json"))
    clocks = {d["owner"]: d["due_at"] for d in view["deadlines"] if d["kind"] == "action_due"}
    assert clocks == {"agency:police": "2025-10-23T22:59:59+00:00",  # end of the day, BST
                      "agency:icb": "2025-12-01T23:59:59+00:00", "agency:la-csc": "2025-10-23T22:59:59+00:00"}
    assert view["actions"] == plan["counts"]

    # Each agency is reminded 2 working days before its date, at the next working moment (Wed
    # 22 Oct, 09:00), and chased once overdue (Fri 24 Oct, 09:00) with the business manager copied.
    assert [m for m in tick(bot, "2025-10-21T16:00") if "action" in m[2]] == []
    reminders = sorted(m for m in tick(bot, "2025-10-22T09:00") if "action plan" in m[2])
    assert [(to, subject.split(": ", 1)[0]) for to, _, subject in reminders] == [
        (POLICE, f"[{ref}] Reminder"), (LA, f"[{ref}] Reminder")]
    assert "action 1 of the review's action plan, recommendation 1 (D-14)" in reminders[0][2]
    at("2025-10-23T15:00", bot, "case", ref, "actions", "3", "progress", "--note",
       "Audit booked for Hollybank")
    chases = sorted(m for m in tick(bot, "2025-10-24T09:00") if "action plan" in m[2])
    assert [(to, cc) for to, cc, _ in chases] == [(POLICE, BM), (LA, BM)] and "Overdue" in chases[0][2]
    assert json.loads(at("2025-10-24T09:01", bot, "case", ref, "actions", "--json"))["counts"]["overdue"] == 2

    refused = at("2025-10-24T10:00", bot, "case", ref, "actions-achieved", code=2)
    assert "2 action(s) not yet verified or closed (1, 3)" in refused
    refused = at("2025-10-24T10:01", bot, "case", ref, "actions", "1", "submit", code=2)
    assert "no evidence yet" in refused
    at("2025-10-24T10:02", bot, "case", ref, "actions", "1", "evidence", "--note",
       "Training records for 40 officers")
    assert "evidence submitted" in at("2025-10-24T10:03", bot, "case", ref, "actions", "1", "submit")
    # Verification is the QA group's (STK App 3 stage 4), not the business unit's.
    refused = at("2025-10-24T10:04", bot, "case", ref, "actions", "1", "verify", code=2)
    assert "Only the QA group, Quality Assurance Partnership (example), verifies" in refused
    # The QA group sends the evidence back: in progress again, and its agency is chased at once
    # (its date has passed); then better evidence is verified.
    said = at("2025-10-24T10:05", bot, "case", ref, "actions", "1", "return", "--reason",
              "Custody audit missing", actor=QA)
    assert said.strip() == f"{ref}: action 1 in progress"
    [chase] = [m for m in tick(bot, "2025-10-24T10:06") if "action plan" in m[2]]
    assert chase[:2] == (POLICE, BM) and "Overdue: action 1" in chase[2]
    at("2025-10-24T10:07", bot, "case", ref, "actions", "1", "evidence", "--note", "Custody audit attached")
    at("2025-10-24T10:08", bot, "case", ref, "actions", "1", "submit")
    assert "verified" in at("2025-10-24T10:09", bot, "case", ref, "actions", "1", "verify", actor=QA)
    assert "superseded" in at("2025-10-24T10:10", bot, "case", ref, "actions", "3", "close", "--reason",
                              "Replaced by the regional audit", "--outcome", "superseded")
    # Submitted and closed: no agency is chased again (the business unit's D-14 clock runs on).
    assert [m for m in tick(bot, "2025-10-28T09:00") if "action plan" in m[2]] == []
    at("2025-10-24T10:11", bot, "case", ref, "actions-achieved")  # the larger piece of work runs on

    plan = json.loads(at("2025-10-24T10:12", bot, "case", ref, "actions", "--json"))
    one, two, three = plan["actions"]
    assert (one["status"], one["verified_by"]) == ("verified", QA)
    assert [n["kind"] for n in one["notes"]] == ["evidence", "returned", "evidence"]
    assert (two["status"], three["status"], three["close_reason"]) == ("open", "superseded",
                                                                       "Replaced by the regional audit")
    counts = plan["counts"]
    assert counts["open"] + counts["verified"] + counts["closed"] == counts["total"]
    view = json.loads(at("2025-10-24T10:13", bot, "case", ref, "--json"))
    states = {d["owner"]: d["state"] for d in view["deadlines"] if d["kind"] == "action_due"}
    assert states == {"agency:police": "met-late", "agency:icb": "open", "agency:la-csc": "cancelled"}
    kinds = [e["kind"] for e in view["events"]]
    for kind in ("action_added", "action_progress", "action_evidence", "action_submitted", "action_returned",
                 "action_verified", "action_closed"):
        assert kind in kinds
    # Free text stays in the plan: not in the case view (its events included) nor in any email.
    shown = json.dumps(view) + all_mail(tmp_path)
    for private in (TEXT_1, TEXT_2, TEXT_3, "Smithfield", "Hollybank", "Training records", "regional audit",
                    "Custody audit"):
        assert private not in shown


def test_an_alternative_learning_route_needs_dates_and_a_stage_for_a_plan(bot: Bot) -> None:
    out = at("2025-01-20T10:00", bot, "open", "--referring-agency", "la-csc", "--incident-date", "2025-01-15",
             "--la-aware", "2025-01-16", "--outcome", "death")
    ref = out.split()[1].rstrip(";")
    refused = at("2025-01-20T10:01", bot, "case", ref, "actions", "add", "--agency", "police", "--text", "x",
                 code=2)
    assert "the action plan is drafted with the first draft" in refused
    assert "no action 4" in at("2025-01-20T10:02", bot, "case", ref, "actions", "4", "submit", code=2)


def test_the_non_publication_notice_needs_the_decision_first(bot: Bot, tmp_path: Path) -> None:
    ref = endorsed_case(bot)
    refused = at("2025-06-03T10:00", bot, "case", ref, "draft", "non-publication-notice", code=2)
    assert f"record the decision not to publish first (case {ref} not-publishing --reasons ...)" in refused
    refused = at("2025-06-03T10:01", bot, "case", ref, "not-publishing", "--reasons", " ", code=2)
    assert "Give the reasons not to publish" in refused
    said = at("2025-06-03T10:02", bot, "case", ref, "not-publishing", "--reasons",
              "Publication would identify the surviving siblings in a small community",
              "--instead", "A learning briefing and the improvement plan", "--decided", "2025-06-02")
    assert "draft non-publication-notice" in said
    out = tmp_path / "notice.txt"
    at("2025-06-03T10:03", bot, "case", ref, "draft", "non-publication-notice", "--out", str(out))
    notice = out.read_text()
    assert "Subject: Local child safeguarding practice review " + ref + ": decision not to publish" in notice
    assert "Child Safeguarding Practice Review Panel" in notice and "Secretary of State" in notice
    assert "On Monday 2 June 2025 the partners decided that it is not appropriate to publish" in notice
    assert "Publication would identify the surviving siblings in a small community" in notice
    assert "What we will publish instead\nA learning briefing and the improvement plan" in notice
    assert f"- Action 1 (Example Constabulary): {TEXT_1}" in notice
    assert "[Complete: its due date; the report is not published" in notice
    assert "Not sent by the bot" in notice
    # Without publication the 12 weeks have no start: a new action needs its own date.
    refused = at("2025-06-03T10:04", bot, "case", ref, "actions", "add", "--agency", "icb", "--text", TEXT_2,
                 code=2)
    assert "will not be published, so the 12 weeks have no start" in refused
    view = json.loads(at("2025-06-03T10:05", bot, "case", ref, "--json"))
    [event] = [e for e in view["events"] if e["kind"] == "not_publishing_recorded"]
    assert event["detail"] == {"decided_on": "2025-06-02", "instead": True}  # no reasons in the trail
    assert "siblings" not in json.dumps(view)
    at("2025-07-01T10:00", bot, "case", ref, "publication-date", "2025-07-31")
    at("2025-07-31T09:00", bot, "case", ref, "published")
    refused = at("2025-07-31T09:01", bot, "case", ref, "draft", "non-publication-notice", code=2)
    assert "is published: there is no non-publication to notify" in refused
