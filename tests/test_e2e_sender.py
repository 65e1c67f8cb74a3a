"""Sender verification end to end: a reply lands in the Maildir, `tick` ingests it (issue 9 item 2).

A lookalike sender carrying a forged ``Authentication-Results`` naming our boundary, or a forged
``X-MS-Exchange-Organization-AuthAs: Internal`` while the boundary is not Exchange, waits in triage
with the reason; a reply our boundary authenticated is the agency's return.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.eml.build import load
from tests.test_e2e import Bot

OURS = "mx.partnership.example"
OUR_PASS = f"Authentication-Results: {OURS}; dmarc=pass (p=reject) header.from=police.example\n"
OUR_FAIL = f"Authentication-Results: {OURS}; dmarc=fail (p=reject) header.from=police.example\n"
FOREIGN = "Authentication-Results: relay.lookalike.example; dmarc=pass header.from=police.example\n"
AUTH_AS = "X-MS-Exchange-Organization-AuthAs: Internal\n"
BM = ["--actor", "business.manager@partnership.example"]


@pytest.fixture
def bot(tmp_path: Path) -> Bot:
    bot = Bot(tmp_path)
    protocol = tmp_path / "protocol.toml"
    protocol.write_text(f'[partnership]\nname = "Anytown"\nauthserv_id = "{OURS}"\nmail_boundary = "other"\n')
    bot.env["PROTOCOL_FILE"] = str(protocol)
    return bot


def request_sent_to_police(bot: Bot) -> str:
    # The referral is authenticated too, or it would wait in triage.
    ours = f"Authentication-Results: {OURS}; dmarc=pass header.from=borough.example\n"
    bot.drop(ours.encode() + load("referral"), "1.referral")
    out = bot("tick", "--now", "2026-11-18T09:30", "--json")
    assert json.loads(out.output)["messages"][0]["case"] == "SI-2026-0001"
    now = ["--now", "2026-11-18T10:00", *BM]
    bot(*now, "case", "SI-2026-0001", "accept")
    bot(*now, "case", "SI-2026-0001", "sin-submitted")
    bot(*now, "case", "SI-2026-0001", "request", "info-gathering", "--agency", "police")
    bot("tick", "--now", "2026-11-18T10:01")
    (request,) = [m for m in bot.sent() if str(m["To"]) == "reviews@police.example"]
    return str(request["Message-ID"])


def reply(request_id: str, headers: str, tag: str) -> bytes:
    raw = load("reply_in_reply_to", request_message_id=request_id, case_ref="SI-2026-0001")
    return headers.encode() + raw.replace(b"Message-ID: <", f"Message-ID: <{tag}.".encode(), 1)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param(OUR_FAIL + OUR_PASS, "dmarc=fail (header.from=police.example) at " + OURS,
                     id="our-fail-with-a-forged-pass-below"),
        pytest.param(FOREIGN + OUR_PASS, "1 header(s) naming " + OURS + " below another server's",
                     id="forged-pass-below-a-foreign-header"),
        pytest.param(AUTH_AS, "no Authentication-Results from " + OURS, id="forged-exchange-internal"),
    ],
)
def test_a_forged_return_waits_in_triage_with_the_reason(bot: Bot, headers: str, reason: str) -> None:
    request_id = request_sent_to_police(bot)
    bot.drop(reply(request_id, headers, "forged"), "2.forged")
    out = bot("tick", "--now", "2026-11-18T12:00", "--json")
    (msg,) = json.loads(out.output)["messages"]
    assert msg["classification"] == "unknown"
    assert "but the sender could not be verified" in msg["triage"] and reason in msg["triage"]
    listed = bot("triage").output
    assert reason in listed and "SI-2026-0001" in listed
    requests = json.loads(bot("case", "SI-2026-0001", "--json").output)["requests"]
    assert [r["status"] for r in requests if r["agency"] == "police"] == ["sent"]


def test_a_genuine_return_counts(bot: Bot) -> None:
    request_id = request_sent_to_police(bot)
    bot.drop(reply(request_id, OUR_PASS + FOREIGN, "genuine"), "2.genuine")
    out = bot("tick", "--now", "2026-11-18T12:00", "--json")
    (msg,) = json.loads(out.output)["messages"]
    assert msg["classification"] == "agency-return" and msg["agency"] == "police"
    requests = json.loads(bot("case", "SI-2026-0001", "--json").output)["requests"]
    assert [r["status"] for r in requests if r["agency"] == "police"] == ["returned"]
