"""A SAR end to end through the CLI (default protocol: Stockport's timescales, 2025 calendar):
opened, refused out of order with the command that comes first, the screening panel and the
Independent Chair chased by email within working hours, and ``case REF --json`` listing every
clock with its kind, owner and state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_e2e import Bot

BM = "business.manager@partnership.example"
CHAIR = "chair@partnership.example"


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    return Bot(tmp_path, database_url)


def test_a_sar_from_referral_to_publication(bot: Bot) -> None:
    def at(now: str, *args: str, code: int = 0) -> str:
        return bot("--now", now, "--actor", BM, *args, code=code).output

    def tick(now: str) -> list[tuple[str, str]]:
        before = len(bot.sent())
        bot("tick", "--now", now)
        return [(str(m["To"]), str(m["Subject"])) for m in bot.sent()[before:]]

    out = at("2025-04-01T10:30", "sar", "open", "--agency", "police", "--outcome", "death",
             "--received", "2025-04-01T10:00")
    # 15 working days over Easter (18 and 21 April are bank holidays): Thu 24 Apr (STK l.256).
    assert out.strip() == ("SAR-2025-0001: SAR: referral received, screening meeting to hold; "
                           "screening meeting due by Thu 24 Apr 2025")
    ref = "SAR-2025-0001"
    said = at("2025-04-02T10:00", "case", ref, "chair-decision", "sar", code=2)
    assert f"record the screening meeting first (review-bot case {ref} screening-held)" in said
    assert "outcome" in at("2025-04-02T10:00", "sar", "open", "--agency", "police", "--outcome", "alive",
                           code=2)
    assert tick("2025-04-23T08:59") == []
    [(to, subject)] = tick("2025-04-23T09:00")
    assert BM in to and "Reminder: SAR screening meeting (D-S1)" in subject
    at("2025-04-23T14:00", "case", ref, "screening-held", "--basis", "mandatory")
    at("2025-04-30T11:00", "case", ref, "recommendation-sent", "sar")
    # The Chair decides within 5 working days: 1, 2, (5 May bank holiday), 6, 7, 8 May.
    assert tick("2025-05-06T16:00") == []
    [(to, subject)] = tick("2025-05-07T09:00")
    assert to == CHAIR and "Reminder: Independent Chair's SAR decision (D-S3)" in subject
    said = at("2025-05-08T15:00", "case", ref, "chair-decision", "sar")
    assert said.strip() == f"{ref}: the Independent Chair decided: a safeguarding adults review"
    view = json.loads(at("2025-05-08T15:05", "case", ref, "--json"))
    assert view["kind"] == "sar" and view["stage"] == "sar_review"
    assert [(d["kind"], d["owner"], d["state"], d["due_at"]) for d in view["deadlines"]] == [
        ("sar_screening", "business_unit", "met", "2025-04-24T22:59:59+00:00"),
        ("sar_recommendation", "sar_panel_chair", "met", "2025-04-30T22:59:59+00:00"),
        ("sar_decision", "chair", "met", "2025-05-08T22:59:59+00:00"),
        ("sar_review", "business_unit", "open", "2025-11-08T23:59:59+00:00"),  # 6 months (STK l.141)
    ]
    assert view["next_deadline"]["label"] == "SAR completed: report and learning available (D-S4)"
    assert view["sar"]["recommendation"] == "sar" and view["sar"]["basis"] == "mandatory"
    at("2025-10-30T10:00", "case", ref, "sar-completed")
    at("2025-11-20T10:00", "case", ref, "sar-published")
    at("2025-12-01T10:00", "case", ref, "close", "--reason", "action plan with the board")
    view = json.loads(at("2025-12-01T10:05", "case", ref, "--json"))
    assert view["stage"] == "closed" and [d["state"] for d in view["deadlines"]] == ["met"] * 4
    assert tick("2025-12-02T09:00") == []
