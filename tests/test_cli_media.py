"""The media protocol through the CLI: enquiries, statements, the Chair's absence, the figures,
and the unacknowledged alert repeated by ``tick --now`` (not held to working hours)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_e2e import Bot

BM = "business.manager@partnership.example"
CHAIR = "chair@partnership.example"
PRESS = "press.office@borough.example"
NOW = "2026-11-18T10:00"


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    return Bot(tmp_path, database_url)


def new_enquiry(bot: Bot, *extra: str, now: str = NOW, deadline: str = "2026-11-18T16:00") -> str:
    out = bot("--now", now, "--actor", BM, "media", "new", "--outlet", "Evening Post",
              "--subject", "case", "--journalist", "Sam Writer", "--contact", "sam@post.example",
              "--deadline", deadline, "--summary", "asked about a death", *extra)
    return out.output.split(":")[0]


def test_an_enquiry_from_the_cli_is_routed_told_and_answered_by_the_book(bot: Bot) -> None:
    ref = new_enquiry(bot)
    assert ref == "ME-2026-0001"
    shown = bot("--now", NOW, "media", "show", ref).output
    assert "speaks: Chair" in shown and "Holding statement" in shown and "Sam Writer" in shown

    refused = bot("--now", NOW, "--actor", PRESS, "media", "draft", ref, "--kind", "press_release",
                  code=2)
    assert "M-5" in refused.output and "SW-COMMS l.95" in refused.output
    draft = bot("--now", NOW, "--actor", PRESS, "media", "draft", ref).output
    assert "Holding statement version 1 drafted" in draft and "Press Office" in draft

    not_signer = bot("--now", NOW, "--actor", PRESS, "media", "approve", ref, code=2)
    assert "only the sign-off the routing names" in not_signer.output
    early = bot("--now", NOW, "--actor", PRESS, "media", "release", ref, code=2)
    assert "waiting for: Chair" in early.output
    bot("--now", "2026-11-18T10:05", "--actor", CHAIR, "media", "approve", ref)
    out = bot("--now", "2026-11-18T10:10", "--actor", PRESS, "media", "release", ref)
    assert "released to sam@post.example" in out.output

    tick = json.loads(bot("tick", "--now", "2026-11-18T10:11", "--json").output)
    assert tick["sent"] == 2  # the alert to the press office and BM, then the statement
    [statement] = [m for m in bot.sent() if str(m["To"]) == "sam@post.example"]
    assert "Holding statement" in str(statement["Subject"]) and PRESS in str(statement["Cc"])

    [row] = json.loads(bot("--now", "2026-11-18T10:12", "media", "--json").output)
    assert row["spoke"] == "chair" and row["refused_actions"] == 3
    assert row["seconds_to_notify"] == 11 * 60  # the alert left at the 10:11 tick
    shown = bot("--now", NOW, "media", "show", ref, "--json").output
    kinds = [e["kind"] for e in json.loads(shown)["events"]]
    assert kinds[:1] == ["media_enquiry_received"] and "media_statement_released" in kinds
    assert kinds.count("media_action_refused") == 3


def test_an_unacknowledged_alert_repeats_on_the_tick_at_night(bot: Bot) -> None:
    # Saturday night: outside working hours, which media alerts do not wait for.
    ref = new_enquiry(bot, now="2026-11-21T22:00", deadline="2026-11-22T12:00")
    first = json.loads(bot("tick", "--now", "2026-11-21T22:01", "--json").output)
    assert first["sent"] == 1 and first["media_steps"] == 0
    later = json.loads(bot("tick", "--now", "2026-11-21T22:16", "--json").output)
    assert later["media_steps"] == 1 and later["sent"] == 1
    [repeat] = [m for m in bot.sent() if "NOT ACKNOWLEDGED" in str(m["Subject"])]
    assert BM in str(repeat["To"])
    bot("--now", "2026-11-21T22:20", "--actor", PRESS, "media", "ack", ref)
    again = json.loads(bot("tick", "--now", "2026-11-21T23:00", "--json").output)
    assert again["media_steps"] == 0
    listing = bot("--now", "2026-11-21T23:00", "media").output
    assert ref in listing and "acknowledged 20m00s" in listing and "NOT followed" in listing
    # The clocks are deadline rows (decision 0026), shown with the enquiry.
    [row] = json.loads(bot("--now", "2026-11-21T23:00", "media", "--json").output)
    ack, deadline = row["deadlines"]
    assert (ack["kind"], ack["state"], ack["step"], ack["next_action_at"]) == (
        "media_acknowledgement", "met-late", 1, None)
    assert (deadline["kind"], deadline["state"], deadline["working_hours"]) == (
        "media_deadline", "open", False)
    assert deadline["next_action_at"] == "2026-11-22T10:00:00+00:00"  # 2 hours before, on a Sunday
    shown = bot("--now", "2026-11-21T23:00", "media", "show", ref).output
    assert "clock: journalist's deadline (M-11): open; next step Sun 22 Nov 2026 10:00" in shown


def test_chair_away_from_the_cli_the_deputy_speaks(bot: Bot) -> None:
    out = bot("--now", NOW, "--actor", BM, "chair-away", "set", "--from", "2026-11-18T09:00",
              "--until", "2026-11-20T17:00")
    assert out.output.startswith("#1:")
    assert "Deputy Chair" in bot("--now", NOW, "chair-away").output
    ref = new_enquiry(bot)
    assert "speaks: Deputy Chair" in bot("--now", NOW, "media", "show", ref).output
    bot("--now", NOW, "--actor", BM, "chair-away", "cancel", "1")
    ref = new_enquiry(bot)
    assert "speaks: Chair (" in bot("--now", NOW, "media", "show", ref).output
    bad = bot("--now", NOW, "chair-away", "set", "--from", "2026-11-19T09:00", "--until",
              "2026-11-18T09:00", code=2)
    assert "end after it starts" in bad.output


def test_publication_through_the_cli_allows_the_press_release(bot: Bot) -> None:
    a = ["--now", NOW, "--actor", BM]
    bot(*a, "open", "--la-aware", "2026-11-16", "--incident-date", "2026-11-15",
        "--referring-agency", "la-csc", "--outcome", "serious-harm")
    bot(*a, "case", "SI-2026-0001", "accept")
    bot(*a, "case", "SI-2026-0001", "sin-submitted")
    bot(*a, "case", "SI-2026-0001", "decide", "lcspr", "--rationale", "criteria met")
    bot(*a, "case", "SI-2026-0001", "embargo", "--reason", "criminal")
    ref = new_enquiry(bot, "--case", "SI-2026-0001")
    assert "row 3" in bot(*a, "media", "show", ref).output
    bot(*a, "case", "SI-2026-0001", "publication-date", "2026-12-10")
    bot(*a, "case", "SI-2026-0001", "authorise-speaker", "police")
    bot("--now", "2026-12-10T09:00", "--actor", BM, "case", "SI-2026-0001", "published")
    ref = new_enquiry(bot, "--case", "SI-2026-0001", now="2026-12-10T09:30",
                      deadline="2026-12-10T16:00")
    out = bot("--now", "2026-12-10T09:31", "--actor", PRESS, "media", "draft", ref)
    assert "Press release version 1 drafted" in out.output
    out = bot("--now", "2026-12-10T09:31", "--actor", BM, "media", "new", "--outlet", "Radio",
              "--subject", "agency", "--about-agency", "police", "--case", "SI-2026-0001")
    assert "row 12" in out.output
    bad = bot(*a, "media", "new", "--outlet", "Radio", "--subject", "agency", "--about-agency",
              "nowhere", code=2)
    assert "unknown agency 'nowhere'" in bad.output
