"""A local review end to end through the CLI (Kirklees' protocol, 2025 calendar): commissioning,
chronologies, the clocks' owners reminded and chased through the outbox within working hours,
the approvals, a publication date refused as too soon and then set, the drafts, publication and
recall; ``case REF --json`` lists every clock with its kind and owner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_e2e import Bot

BM = "business.manager@partnership.example"
REVIEWER = "reviewer@reviews.example"
CHAIR = "workstream.chair@partnership.example"
GROUP = "business.group@partnership.example"
PROTOCOL = f"""
preset = "kirklees"

[roles.workstream_chair]
name = "LCSPR Workstream Chair (example)"
email = "{CHAIR}"

[roles.business_group]
name = "Business Group members (example)"
email = "{GROUP}"
"""


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    made = Bot(tmp_path, database_url)
    (tmp_path / "protocol.toml").write_text(PROTOCOL)
    made.env["PROTOCOL_FILE"] = str(tmp_path / "protocol.toml")
    return made


def at(now: str, bot: Bot, *args: str, code: int = 0) -> str:
    return bot("--now", now, "--actor", BM, *args, code=code).output


def tick(bot: Bot, now: str) -> list[tuple[str, str, str]]:
    """Run the clock; the mail it sent as (to, cc, subject)."""
    before = len(bot.sent())
    bot("tick", "--now", now)
    return [(str(m["To"]), str(m["Cc"] or ""), str(m["Subject"])) for m in bot.sent()[before:]]


def deadlines(bot: Bot, ref: str, now: str) -> dict[str, dict[str, str]]:
    view = json.loads(at(now, bot, "case", ref, "--json"))
    return {d["kind"] + (f":{d['owner']}" if d["kind"] == "imr_due" else ""): d for d in view["deadlines"]}


def test_a_kirklees_review_from_decision_to_recall(bot: Bot, tmp_path: Path) -> None:
    out = at("2025-01-20T10:00", bot, "open", "--referring-agency", "la-csc", "--incident-date", "2025-01-15",
             "--la-aware", "2025-01-16", "--outcome", "death", "--abuse-neglect", "yes",
             "--legal-status", "cp-plan")
    ref = out.split()[1].rstrip(";")
    at("2025-01-20T10:05", bot, "case", ref, "accept")
    at("2025-01-20T10:10", bot, "case", ref, "sin-submitted")
    at("2025-01-31T10:00", bot, "case", ref, "decide", "lcspr")
    said = at("2025-01-31T10:30", bot, "case", ref, "commission", "--reviewer-name", "Lead Reviewer",
              "--reviewer-email", REVIEWER, "--tor-agreed", "2025-01-31")
    assert "methodology learning-event" in said
    at("2025-02-04T10:00", bot, "case", ref, "request", "chronology", "--agency", "police", "--agency", "icb")
    for agency in ("police", "icb"):
        at("2025-02-18T15:00", bot, "case", ref, "returned", agency, "--kind", "chronology")
    at("2025-02-19T10:00", bot, "case", ref, "composite")
    tick(bot, "2025-02-19T10:01")  # the requests and the referral's mail

    # D-07 is due by the end of Tue 4 Mar; the reviewer is reminded 2 working days before, in
    # working hours (Mon 3 Mar 09:00), chased once it is overdue, with the business manager copied.
    assert deadlines(bot, ref, "2025-02-19T10:02")["learning_event"]["due_at"] == "2025-03-04T23:59:59+00:00"
    assert tick(bot, "2025-03-03T08:59") == []
    [reminder] = tick(bot, "2025-03-03T09:00")
    assert reminder[0] == REVIEWER and "Reminder: practitioner learning event (D-07)" in reminder[2]
    assert tick(bot, "2025-03-04T16:00") == []
    [chase] = tick(bot, "2025-03-05T09:00")
    assert chase[:2] == (REVIEWER, BM) and "Overdue: practitioner learning event" in chase[2]
    at("2025-03-05T11:00", bot, "case", ref, "learning-event-held", "--at", "2025-03-04T14:00")
    assert tick(bot, "2025-03-07T09:00") == []  # met: no escalation
    view = deadlines(bot, ref, "2025-03-05T11:01")
    assert view["learning_event"]["state"] == "met" and view["learning_event"]["owner"] == "reviewer"
    assert view["first_draft"]["due_at"] == "2025-04-01T22:59:59+00:00"  # 28 days; BST from 30 Mar

    at("2025-04-01T10:00", bot, "case", ref, "draft-received")
    # The workstream chair owes the meeting (by the end of Tue 15 Apr): reminded 2 working days
    # before that moment (Fri 11 Apr, 23:59), in working hours: Mon 14 Apr, 09:00.
    assert tick(bot, "2025-04-11T16:00") == []
    [reminder] = tick(bot, "2025-04-14T09:00")
    assert reminder[0] == CHAIR and "workstream meeting on the draft (D-09a)" in reminder[2]
    at("2025-04-15T10:00", bot, "case", ref, "workstream-met")
    at("2025-04-16T10:00", bot, "case", ref, "minutes-sent")
    # The reviewer's 48 hours end on Good Friday, 10:00: the chaser waits for Tuesday after Easter.
    assert tick(bot, "2025-04-18T10:00") == [] and tick(bot, "2025-04-21T12:00") == []
    [chase] = tick(bot, "2025-04-22T09:00")
    assert chase[0] == REVIEWER and "Overdue: reviewer's amended draft (D-09c)" in chase[2]
    at("2025-04-22T11:00", bot, "case", ref, "to-business-group")
    # Due by the end of Tue 6 May: 2 working days back skips the bank holiday (Mon 5 May) to
    # Thu 1 May, 23:59; the reminder goes at the next working moment, Fri 2 May, 09:00.
    [reminder] = tick(bot, "2025-05-02T09:00")
    assert reminder[0] == GROUP and "business group" in reminder[2]
    at("2025-05-06T10:00", bot, "case", ref, "business-group-approved")
    at("2025-06-02T10:00", bot, "case", ref, "endorsed")

    said = at("2025-07-01T10:00", bot, "case", ref, "publication-date", "2025-07-31")
    assert "the notices are due by 22 Jul 2025" in said
    view = deadlines(bot, ref, "2025-07-01T10:01")
    for kind in ("prepublication_notice", "practitioner_notice"):
        assert view[kind]["due_at"] == "2025-07-22T22:59:59+00:00"
        assert view[kind]["owner"] == "business_unit"
    notice = tmp_path / "notice.txt"
    at("2025-07-01T10:02", bot, "case", ref, "draft", "prepublication-notice", "--out", str(notice))
    text = notice.read_text()
    assert "Thursday 31 July 2025" in text and "Secretary of State" in text and "Ofsted" in text
    assert "at least 7 working days" in text and "by Tuesday 22 July 2025" in text
    letter = at("2025-07-01T10:03", bot, "case", ref, "draft", "family-letter")
    assert "never contacts a family" in letter and "[Name]" in letter
    at("2025-07-15T10:00", bot, "case", ref, "notice-sent")
    at("2025-07-15T10:00", bot, "case", ref, "practitioners-told")
    at("2025-07-31T09:00", bot, "case", ref, "published")
    view = deadlines(bot, ref, "2025-07-31T09:01")
    assert {k: view[k]["due_at"][:10] for k in ("website_review", "actions_due", "recall_event")} == {
        "website_review": "2026-01-31", "actions_due": "2025-10-23", "recall_event": "2026-01-31"}
    assert view["lcspr_publication"]["state"] == "met"
    at("2025-08-01T10:00", bot, "case", ref, "embedding")
    at("2026-01-29T10:00", bot, "case", ref, "recall-held")
    shown = json.loads(at("2026-01-29T10:01", bot, "case", ref, "--json"))
    assert shown["stage"] == "recall" and shown["review"]["learning_events"] == 1
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds.count("draft_made") == 2 and "review_commissioned" in kinds
    assert REVIEWER not in json.dumps(shown)  # the reviewer's address is in the record only


def test_a_date_too_soon_names_the_earliest_valid_one(bot: Bot) -> None:
    out = at("2025-01-20T10:00", bot, "open", "--referring-agency", "la-csc", "--incident-date", "2025-01-15",
             "--la-aware", "2025-01-16", "--outcome", "death")
    ref = out.split()[1].rstrip(";")
    at("2025-01-20T10:05", bot, "case", ref, "accept")
    at("2025-01-20T10:10", bot, "case", ref, "sin-submitted")
    at("2025-01-31T10:00", bot, "case", ref, "decide", "lcspr")
    refused = at("2025-12-22T10:00", bot, "case", ref, "publication-date", "2026-01-02", code=2)
    assert "it was due by Fri 19 Dec 2025" in refused
    assert ("earliest valid publication date is Sat 03 Jan 2026 (the first working day: Mon 05 Jan 2026)"
            in refused)
    shown = json.loads(at("2025-12-22T10:01", bot, "case", ref, "--json"))
    assert shown["stage"] == "lcspr"  # nothing changed
    assert "prepublication_notice" not in {d["kind"] for d in shown["deadlines"]}
