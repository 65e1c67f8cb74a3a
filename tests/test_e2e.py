"""The whole loop through the real entry points: the CLI, the Maildir mailbox and `tick --now`.

A referral email lands in the inbox, opens a case; the business unit records the notification
and sends requests; the police reply by email; the ICB does not and is chased, then escalated.
"""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from tests.support.eml.build import load


class Bot:
    def __init__(self, root: Path, database_url: str | None = None) -> None:
        self.root = root
        self.env = {
            # Pass the `database_url` fixture so the test runs on PostgreSQL too.
            "DATABASE_URL": database_url or f"sqlite:///{root / 'bot.sqlite3'}",
            "MAILDIR": str(root / "mail"),
            "ATTACHMENTS_DIR": str(root / "attachments"),
            "STATE_DIR": str(root / "state"),
            "PROTOCOL_FILE": "",
            "MAIL_BACKEND": "maildir",
        }

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    def drop(self, raw: bytes, name: str) -> None:
        new = self.root / "mail" / "inbox" / "new"
        new.mkdir(parents=True, exist_ok=True)
        (new / name).write_bytes(raw)

    def sent(self) -> list[email.message.EmailMessage]:
        """Sent mail in the order the bot wrote it (its Date header: the bot's clock)."""
        folder = self.root / "mail" / "sent"
        files = sorted(p for sub in ("new", "cur") for p in (folder / sub).glob("*"))
        messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]
        return sorted(messages, key=lambda m: m["Date"].datetime)


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    return Bot(tmp_path, database_url)


def test_referral_to_escalation_through_the_mailbox(bot: Bot) -> None:
    bot.drop(load("referral"), "1.referral")
    out = bot("tick", "--now", "2026-11-18T09:30", "--json")
    report = json.loads(out.output)
    assert report["messages"][0]["classification"] == "referral"
    assert report["messages"][0]["case"] == "SI-2026-0001"
    assert report["sent"] == 2  # the business unit's alert and the referrer's acknowledgement
    assert not list((bot.root / "mail" / "inbox" / "new").iterdir())  # moved once processed

    now = ["--now", "2026-11-18T10:00", "--actor", "business.manager@partnership.example"]
    bot(*now, "case", "SI-2026-0001", "accept")
    bot(*now, "case", "SI-2026-0001", "sin-submitted")
    out = bot(*now, "case", "SI-2026-0001", "request", "info-gathering", "--agency", "police",
              "--agency", "icb")
    assert "queued for police, icb" in out.output
    bot("tick", "--now", "2026-11-18T10:01")
    requests = {str(m["To"]): m for m in bot.sent() if "Information gathering request" in
                str(m["Subject"])}
    assert set(requests) == {"reviews@police.example", "safeguarding@icb.example"}
    police_id = requests["reviews@police.example"]["Message-ID"]

    bot.drop(load("reply_in_reply_to", request_message_id=police_id, case_ref="SI-2026-0001"),
             "2.reply")
    out = bot("tick", "--now", "2026-11-18T12:00", "--json")
    (msg,) = json.loads(out.output)["messages"]
    assert (msg["classification"], msg["agency"]) == ("agency-return", "police")

    for moment in ("2026-11-19T10:00", "2026-11-20T10:00", "2026-11-21T10:00",
                   "2026-11-23T09:00", "2026-11-23T12:00"):
        bot("tick", "--now", moment)
    chasers = [(str(m["To"]), str(m["Subject"]).strip().split("] ")[1].split(":")[0])
               for m in bot.sent() if str(m["Subject"]).strip().split("] ")[1].split(":")[0]
               in ("Reminder", "Overdue", "Escalation", "Escalated")]
    assert chasers[:2] == [
        ("safeguarding@icb.example", "Reminder"),  # Thu 19 Nov 10:00, 24 hours before
        ("safeguarding@icb.example", "Overdue"),  # Fri 20 Nov 10:00, at the deadline
    ]
    assert sorted(chasers[2:]) == [  # Mon 23 Nov 09:00: not at the weekend
        ("business.manager@partnership.example", "Escalated"),
        ("designated.nurse@icb.example", "Escalation"),
    ]

    view = json.loads(bot("--now", "2026-11-23T12:00", "case", "SI-2026-0001", "--json").output)
    assert view["stage"] == "info_gathering"
    reqs = {r["agency"]: r for r in view["requests"]}
    assert reqs["police"]["returned_at"] == "2026-11-18T12:00:00+00:00"
    assert reqs["icb"]["returned_at"] is None and reqs["icb"]["chases"] == 1
    assert reqs["icb"]["escalated_at"] == "2026-11-23T09:00:00+00:00"
    kinds = {d["kind"]: d for d in view["deadlines"]}
    assert kinds["sin_notification"]["met_at"] == "2026-11-18T10:00:00+00:00"
    assert kinds["rapid_review"]["due_at"] == "2026-12-09T23:59:59+00:00"
    actors = {e["actor"] for e in view["events"]}
    assert {"duty.manager@borough.example", "business.manager@partnership.example", "system",
            "reviews@police.example"} <= actors

    for m in bot.sent():  # every message is real RFC 5322 and never carries the narrative
        assert m["Message-ID"] and m["Date"] and m["From"]
        assert "Poppy" not in m.as_string()

    # The ICB replies late, by the subject token only: it counts, and the panel can now decide.
    bot.drop(load("reply_subject_token_only", case_ref="SI-2026-0001"), "3.icb")
    bot("tick", "--now", "2026-11-23T14:00")
    out = bot("--now", "2026-11-23T14:05", "cases")
    assert "SI-2026-0001  Rapid review panel decision" in out.output


def test_cli_refusals_exit_2_with_a_clear_message(bot: Bot) -> None:
    bot("--now", "2026-11-18T10:00", "open", "--referring-agency", "police", "--incident-date",
        "2026-11-16", "--la-aware", "2026-11-17", "--outcome", "death")
    out = bot("--now", "2026-11-18T10:00", "case", "SI-2026-0001", "request", "info-gathering",
              "--agency", "fire", code=2)
    assert "unknown agency 'fire'; valid agencies: la-csc, police, icb" in out.output
    out = bot("--now", "2026-11-18T10:00", "case", "SI-2026-0001", "request", "info-gathering",
              "--agency", "police", code=2)
    assert "sin-submitted" in out.output
    out = bot("case", "SI-2026-0042", code=2)
    assert "no case 'SI-2026-0042'" in out.output
    out = bot("--now", "2026-11-18T10:00", "open", "--referring-agency", "police", "--outcome", "death",
              "--incident-date", "2027-01-01", code=2)
    assert "in the future" in out.output
    out = bot("--now", "not-a-time", "cases", code=2)
    assert "error: Invalid value for '--now': 'not-a-time' is not a date and time" in out.output


def test_ingest_prints_one_json_line_per_message(bot: Bot, tmp_path: Path) -> None:
    files = []
    for name in ("referral", "unknown", "malformed"):
        path = tmp_path / f"{name}.eml"
        path.write_bytes(load(name))
        files.append(str(path))
    out = bot("--now", "2026-11-18T10:00", "ingest", *files)
    lines = [json.loads(line) for line in out.output.splitlines()]
    assert [(x["classification"], x["case"]) for x in lines] == [
        ("referral", "SI-2026-0001"), ("unknown", None), ("unknown", None)]
    assert set(lines[0]) == {"message_id", "classification", "case", "agency", "triage"}
    triage = json.loads(bot("triage", "--json").output)
    assert len(triage) == 2
    bot("triage", "dismiss", str(triage[0]["id"]), "--reason", "newsletter")
    assert len(json.loads(bot("triage", "--json").output)) == 1
