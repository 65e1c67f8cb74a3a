"""Logs never leak (issue 9 item 4): no request/response body from the client libraries at any
LOG_LEVEL, secrets masked in every record, LOG_FORMAT=json one parseable object per line.

The libraries are the real ones (slack_sdk's WebClient, bolt, httpx) talking to local servers.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient

from bot.app import startup_lines
from bot.core import Core
from bot.logs import QUIET_LIBRARIES, configure_logging, mask_secrets, mask_url, settings_secrets
from bot.settings import Settings
from handlers.mail.intake import ingest
from tests.support.slack_api import SlackAPI, SlackHarness
from tests.support.slack_api import slack as slack  # the fixture
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_slack_referral import PRACTITIONER, referral_values

EML = Path(__file__).parent / "support" / "eml"
#: Stands for statement text or a narrative: must never reach a log line.
NARRATIVE = "Statement draft about the family at 12 Example Road"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers),
             {n: logging.getLogger(n).level for n in (*QUIET_LIBRARIES, "apscheduler")})
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


class Everything(logging.Handler):
    """A second handler on the root logger at DEBUG: sees every record that is created."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(r.getMessage() for r in self.records)


def debug_logging(fmt: str = "text", secrets: tuple[str, ...] = ()) -> tuple[io.StringIO, Everything]:
    out = io.StringIO()
    configure_logging("DEBUG", fmt=fmt, secrets=secrets, stream=out)
    everything = Everything()
    logging.getLogger().addHandler(everything)
    return out, everything


def test_slack_web_client_bodies_never_logged_at_debug(slack_api: SlackAPI, restore_logging: None) -> None:
    out, everything = debug_logging()
    logging.getLogger("bot.test").debug("our own debug line")
    client = WebClient(token="xoxb-1234-5678-abcdefgh", base_url=slack_api.url)
    client.chat_postMessage(channel="C1", text=NARRATIVE)
    assert slack_api.of("chat.postMessage")[0].body["text"] == NARRATIVE  # it was really sent
    written = out.getvalue()
    assert "our own debug line" in written  # DEBUG is on for us
    for leak in (NARRATIVE, "12 Example Road", "xoxb-1234"):
        assert leak not in written and leak not in everything.text()
    assert not [r for r in everything.records if r.name.startswith("slack_sdk")]


def test_the_cap_is_what_stops_the_body(slack_api: SlackAPI, restore_logging: None) -> None:
    """Control: with slack_sdk's logger lowered again, the library does log the body, and the
    handler's filter still keeps it out of what we write."""
    out, everything = debug_logging()
    logging.getLogger("slack_sdk").setLevel(logging.DEBUG)
    WebClient(token="xoxb-1", base_url=slack_api.url).chat_postMessage(channel="C1", text=NARRATIVE)
    assert NARRATIVE in everything.text()  # the library would leak it
    assert NARRATIVE not in out.getvalue()  # our handler drops it


def test_httpx_request_lines_not_logged(restore_logging: None) -> None:
    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out, everything = debug_logging()
        url = f"http://127.0.0.1:{server.server_address[1]}/token?client_secret=hunter22hunter"
        with httpx.Client(trust_env=False) as http:
            assert http.post(url, content=NARRATIVE).text == NARRATIVE
    finally:
        server.shutdown()
        server.server_close()
    assert not [r for r in everything.records if r.name.startswith(("httpx", "httpcore"))]
    assert "hunter22" not in out.getvalue() and NARRATIVE not in out.getvalue()


def test_a_referral_through_bolt_leaves_no_values_in_the_log(slack: SlackHarness,
                                                            restore_logging: None) -> None:
    out, everything = debug_logging()
    slack.submit("si_referral", referral_values(), user=PRACTITIONER)
    [card] = [c for c in slack.api.of("chat.postMessage") if c.body["channel"] == "CBU"]
    written = out.getvalue() + everything.text()
    assert card.body["text"] not in written
    for value in ("serious-harm", "police-investigation", "si_referral", PRACTITIONER):
        assert value not in written
    assert not [r for r in everything.records if r.name.startswith(("slack_bolt", "slack_sdk"))]


def test_secrets_masked_in_every_record(restore_logging: None) -> None:
    settings = Settings(_env_file=None, slack_bot_token="xoxb-real-token-value",
                        imap_password="correct horse battery",
                        database_url="postgresql+psycopg://bot:pg-pass-99@db:5432/reviews")
    out, _ = debug_logging(secrets=tuple(settings_secrets(settings)))
    log = logging.getLogger("bot.test")
    log.info("connecting to %s", settings.database_url)
    log.info("login with %s", "correct horse battery")
    log.warning("slack said no to %s and Authorization: Bearer abc.def-ghi", "xoxb-99-other")
    try:
        raise RuntimeError("password=swordfish rejected")
    except RuntimeError:
        log.exception("mailbox failed")
    written = out.getvalue()
    for secret in ("pg-pass-99", "correct horse battery", "xoxb-99-other", "abc.def-ghi", "swordfish"):
        assert secret not in written
    assert "postgresql+psycopg://bot:***@db:5432/reviews" in written
    assert "Bearer ***" in written and "xoxb-***" in written and "password=***" in written


def test_mask_functions() -> None:
    assert mask_url("postgresql+psycopg://u:p%40ss@h:5432/d") == "postgresql+psycopg://u:***@h:5432/d"
    assert mask_url("sqlite:////srv/review-bot/review-bot.sqlite3") == "sqlite:////srv/review-bot/review-bot.sqlite3"
    assert mask_secrets("token xapp-1-A0-123 sent") == "token xapp-*** sent"
    assert mask_secrets('{"access_token": "eyJ0eXAi"}') == '{"access_token": "***"}'
    assert mask_secrets("SLACK_SIGNING_SECRET=8f14e45fceea") == "SLACK_SIGNING_SECRET=***"
    assert mask_secrets("tick {'received': 2, 'sent': 1}") == "tick {'received': 2, 'sent': 1}"
    # Bounded work on hostile input: a long line is cut, not scanned forever.
    assert len(mask_secrets("a://" + "x:" * 100_000)) < 5000


def test_json_lines_parse_with_fields(restore_logging: None) -> None:
    out, _ = debug_logging(fmt="json", secrets=("s3cret-value",))
    log = logging.getLogger("bot.cases")
    log.info("case %s accepted", "SI-2026-0001", extra={"case": "SI-2026-0001", "actor": "UBM",
                                                        "event": "accepted"})
    log.warning("multi\nline with s3cret-value")
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.exception("tick failed", extra={"event": "tick"})
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert first["message"] == "case SI-2026-0001 accepted" and first["level"] == "INFO"
    assert first["logger"] == "bot.cases" and first["time"].endswith("+00:00")
    assert (first["case"], first["actor"], first["event"]) == ("SI-2026-0001", "UBM", "accepted")
    assert second["message"] == "multi\nline with ***"
    assert third["event"] == "tick" and "ZeroDivisionError" in third["exception"]


def test_text_lines_carry_fields(restore_logging: None) -> None:
    out, _ = debug_logging()
    logging.getLogger("bot.cases").info("case accepted", extra={"case": "SI-2026-0002", "actor": "UBM"})
    assert out.getvalue().rstrip().endswith("INFO bot.cases case accepted case=SI-2026-0002 actor=UBM")


def test_start_up_lines_mask_the_database_password(tmp_path: Any) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path,
                        database_url="postgresql+psycopg://bot:pg-pass-99@db:5432/reviews")
    lines = "\n".join(startup_lines(settings))
    assert "pg-pass-99" not in lines
    assert "database: postgresql+psycopg://bot:***@db:5432/reviews" in lines
    assert f"attachments: {tmp_path / 'attachments'}" in lines


def test_an_inbound_referral_logs_its_case_as_a_field_and_nothing_of_its_text(
    core: Core, restore_logging: None,
) -> None:
    out, _ = debug_logging(fmt="json")
    raw = (EML / "referral.eml").read_bytes()
    result = ingest(core, raw, mailbox="test")
    assert result.case
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    [inbound] = [e for e in events if e.get("event") == "inbound"]
    assert inbound["case"] == result.case and inbound["actor"] == "mail"
    body = raw.decode("utf-8", "replace").split("\n\n", 1)[1]
    sentences = [line.strip() for line in body.splitlines() if len(line.strip()) > 20]
    assert sentences
    for sentence in sentences:
        assert sentence not in out.getvalue()


def test_a_logged_traceback_carries_no_statement_parameters_or_quoted_values() -> None:
    """log.exception anywhere (a notifier, a handler) goes through the same guard: the frames are
    kept, the exception's text loses the SQL parameters (raw mail, a name) and quoted values."""
    import io
    import logging
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    from bot.logs import configure_logging

    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream=stream)
    # Outside text arrives in variables (the frames show source lines, never values).
    name, raw = "Jo Bloggs", b"Jo Bloggs, born 13/03/2019"
    try:
        try:
            try:
                raise ValueError(f"agency '{name}' unknown")
            except ValueError as inner:
                raise IntegrityError("INSERT INTO inboundmessage (raw) VALUES (?)", (raw,),
                                     sqlite3.IntegrityError("UNIQUE constraint failed")) from inner
        except IntegrityError:
            logging.getLogger("handlers.slack.notifier").exception("could not post the card for case %s", 7)
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    assert "could not post the card for case 7" in out and "Traceback" in out
    assert "IntegrityError: UNIQUE constraint failed" in out and "ValueError: agency <value> unknown" in out
    assert "Jo Bloggs" not in out and "13/03/2019" not in out and "[parameters" not in out
