"""SAR and complaint cases (decision 0028) where the code was written for children's cases: the
mail intake's [REF] token, the children's commands, the board, the report and the monthly summary,
through the real entry points (the CLI, the Maildir mailbox, ``tick``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
