"""The canary (issue 13 item 1): a name that arrives in a referral email (its text and a text
attachment), in the case's decision rationale and in an agency's chronology return, through the
real Maildir intake and the CLI, is then nowhere in the SQLite file or its WAL, in a pg_dump of the
PostgreSQL database, or in any file of the attachment store; and the CLI still shows it where it
showed it before a key rotation, and after."""

from __future__ import annotations

import email
import json
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from tests.support.at_rest import database_files
from tests.support.chronology_files import return_email, xlsx
from tests.support.postgres import PostgresServer

CANARY = "Quillon Vantablack"
REF = "SI-2026-0001"
BM = ["--actor", "business.manager@partnership.example"]
REFERRAL = Path(__file__).parent / "support" / "eml" / "referral.eml"


class Bot:
    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.env = {"DATABASE_URL": database_url, "MAILDIR": str(root / "mail"),
                    "ATTACHMENTS_DIR": str(root / "attachments"), "STATE_DIR": str(root / "state"),
                    "PROTOCOL_FILE": "", "MAIL_BACKEND": "maildir"}
        self.dropped = 0

    def __call__(self, *args: str) -> Result:
        result = CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    def drop(self, raw: bytes) -> None:
        self.dropped += 1
        new = self.root / "mail" / "inbox" / "new"
        new.mkdir(parents=True, exist_ok=True)
        (new / f"{self.dropped}.eml").write_bytes(raw)

    def sent(self) -> list[EmailMessage]:
        folder = self.root / "mail" / "sent"
        files = sorted(p for sub in ("new", "cur") for p in (folder / sub).glob("*"))
        messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]
        return [m for m in messages if isinstance(m, EmailMessage)]


def referral_with_canary() -> bytes:
    """The sample referral, naming the canary in its text and in a plain-text attachment."""
    original = email.message_from_bytes(REFERRAL.read_bytes(), policy=policy.default)
    assert isinstance(original, EmailMessage)
    msg = EmailMessage()
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        msg[name] = str(original[name])
    body = original.get_body(("plain",))
    assert body is not None
    msg.set_content(str(body.get_content()).replace("Poppy Placeholder", CANARY), cte="8bit")
    msg.add_attachment(f"Family notes: {CANARY}, 7 months.\n".encode(), maintype="text", subtype="plain",
                       filename=f"notes {CANARY}.txt")
    raw = msg.as_bytes()
    assert raw.count(CANARY.encode()) >= 2  # in the clear as it arrives
    return raw


def run_the_case(bot: Bot) -> None:
    bot.drop(referral_with_canary())
    bot("tick", "--now", "2026-11-17T17:00")
    now = ["--now", "2026-11-17T17:05", *BM]
    bot(*now, "case", REF, "accept")
    bot(*now, "case", REF, "sin-submitted")
    bot(*now, "case", REF, "decide", "lcspr", "--rationale", f"criteria met: {CANARY} died")
    bot(*now, "case", REF, "request", "chronology", "--agency", "police")
    bot("tick", "--now", "2026-11-17T17:10")
    (request,) = [m for m in bot.sent() if "Chronology request" in str(m["Subject"])]
    rows = [["Date", "Time", "Source", "Event details", "Action taken"],
            ["01/06/2026", "09:30", "Police log", f"{CANARY} reported missing", "Found"]]
    bot.drop(return_email(from_addr="reviews@police.example", ref=REF, in_reply_to=str(request["Message-ID"]),
                          files=[("police.xlsx", xlsx({"Chronology": rows}))]))
    bot("tick", "--now", "2026-11-18T12:00")


def what_the_cli_shows(bot: Bot) -> dict[str, str]:
    now = ["--now", "2026-11-18T12:05", *BM]
    return {"case": bot(*now, "case", REF).output,
            "chronology": bot(*now, "case", REF, "chronology", "--json").output}


def stored_files(bot: Bot, database_url: str, pg_server: PostgresServer | None) -> dict[str, bytes]:
    """Every place the data rests: the database (its file and WAL, or a pg_dump) and the store."""
    files = {f"attachments/{p.name}": p.read_bytes() for p in (bot.root / "attachments").iterdir()}
    assert any(not name.startswith("attachments/.") for name in files)  # the notes were stored
    return {**files, **database_files(database_url, pg_server)}


@pytest.mark.parametrize("spelling", [CANARY, CANARY.upper(), CANARY.lower()])
def test_the_canary_is_nowhere_at_rest_and_the_cli_still_shows_it(
    tmp_path: Path, database_url: str, pg_server: PostgresServer | None, spelling: str,
) -> None:
    bot = Bot(tmp_path, database_url)
    run_the_case(bot)
    shown = what_the_cli_shows(bot)
    chronology = json.loads(shown["chronology"])
    assert [e["event"] for e in chronology["events"]] == [f"{CANARY} reported missing"]
    assert "criteria met" in shown["case"]

    files = stored_files(bot, database_url, pg_server)
    # The scan sees the rows: the case's reference (not identifying, kept plain) is there.
    assert any(REF.encode() in data for name, data in files.items() if not name.startswith("attachments/"))
    for name, data in files.items():
        assert spelling.encode() not in data, f"{spelling!r} found in {name}"
        assert spelling.encode("utf-16-le") not in data, f"{spelling!r} (UTF-16) found in {name}"

    # A rotation re-seals everything under a new data key; the CLI shows the same.
    rotated = bot("keys", "rotate", "--settle", "0", "--batch", "2")
    assert "re-sealed" in rotated.output
    status = json.loads(bot("keys", "status", "--json").output)
    current = status["current_data_key"]
    assert all(set(counts) <= {str(current)} for counts in status["columns"].values())
    assert set(status["attachment_files"]) == {str(current)}
    assert what_the_cli_shows(bot) == shown
    for name, data in stored_files(bot, database_url, pg_server).items():
        assert spelling.encode() not in data, f"{spelling!r} found in {name} after rotation"
