"""/healthz and /readyz over real HTTP with the bot running (Slack off), and `review-bot run` as an
operator starts it: from another folder, paths from DATA_DIR, the database password never printed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import BotApp, create_app
from bot.clock import FixedClock
from bot.settings import Settings
from tests.conftest import MONDAY_10
from tests.support.postgres import PostgresServer


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    yield server
    server.stop()


def get(app: BotApp, path: str) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{app.health_server.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_ready(app: BotApp) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, body = get(app, "/readyz")
        if status == 200:
            return body
        time.sleep(0.1)
    raise AssertionError(f"never ready: {body}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start a bot with Slack off and the health endpoint on an ephemeral port."""
    monkeypatch.chdir(tmp_path)
    apps: list[BotApp] = []

    def start(**values: Any) -> tuple[BotApp, FixedClock]:
        clock = FixedClock(MONDAY_10)
        settings = Settings(_env_file=None, data_dir=tmp_path / "data", health_port=0, **values)
        app = create_app(settings, clock=clock)
        apps.append(app)
        app.start()
        return app, clock

    yield start
    for app in apps:
        app.stop()


def test_live_and_ready_then_not_ready_when_the_tick_is_stale(running: Any) -> None:
    app, clock = running()
    assert app.slack_mode() == "off"
    body = wait_ready(app)
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "schema", "tick", "mailbox"}
    assert body["checks"]["tick"]["last_tick"] == MONDAY_10.isoformat()
    assert get(app, "/healthz") == (200, {"status": "ok"})
    # An hour with no tick (the scheduler's next run is a wall-clock minute away).
    clock.advance(timedelta(hours=1))
    status, body = get(app, "/readyz")
    assert status == 503 and body["status"] == "fail"
    assert body["checks"]["tick"]["ok"] is False and body["checks"]["tick"]["age_seconds"] == 3600
    assert body["checks"]["database"] == {"ok": True}
    assert get(app, "/healthz")[0] == 200  # stale is not dead: liveness is about this process
    assert get(app, "/nothing-here")[0] == 404


def test_not_ready_while_the_mailbox_is_unreachable(running: Any) -> None:
    app, _ = running(mail_backend="imap", imap_host="127.0.0.1", imap_port=free_port(),
                     imap_security="none", imap_username="bot", imap_password="pw-for-imap",
                     smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none")
    deadline = time.monotonic() + 20
    while app.ticks.finished_at is None and time.monotonic() < deadline:
        time.sleep(0.1)
    status, body = get(app, "/readyz")
    assert status == 503
    mailbox = body["checks"]["mailbox"]
    assert mailbox["ok"] is False and mailbox["failures"] == 1
    assert mailbox["unreachable_since"] == MONDAY_10.isoformat()
    assert body["checks"]["tick"]["ok"] is True
    assert "127.0.0.1" not in json.dumps(body) and "pw-for-imap" not in json.dumps(body)


def test_not_ready_when_the_database_is_gone(running: Any, postgres: PostgresServer) -> None:
    url = postgres.create_database("health_gone")
    app, clock = running(database_url=url)
    wait_ready(app)
    postgres.drop_database("health_gone")
    status, body = get(app, "/readyz")
    assert status == 503
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"] == "OperationalError"
    assert get(app, "/healthz")[0] == 200
    # Ten minutes on, a tick runs and fails on the missing database: it does not count as a tick.
    clock.advance(timedelta(minutes=10))
    app._safe_tick()
    tick = get(app, "/readyz")[1]["checks"]["tick"]
    assert tick["ok"] is False and tick["last_attempt"] == (MONDAY_10 + timedelta(minutes=10)).isoformat()
    assert tick["last_tick"] == MONDAY_10.isoformat() and tick["age_seconds"] == 600


def test_review_bot_run_from_another_folder(tmp_path: Path, postgres: PostgresServer) -> None:
    """The real command, as a service manager starts it: DATA_DIR decides where files go, the
    start-up lines say where everything is, the password is masked, SIGTERM stops it cleanly."""
    url = postgres.create_database("run_cmd").replace("reviewbot@", "reviewbot:pg-secret-42@")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data = tmp_path / "data"
    health = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "DATA_"))}
    env.update(DATA_DIR=str(data), DATABASE_URL=url, HEALTH_PORT=str(health), LOG_FORMAT="json",
               PROTOCOL_FILE="", MAIL_BACKEND="maildir")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=elsewhere, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, ready = time.monotonic() + 30, False
        while not ready and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/readyz", timeout=2) as r:
                    ready = r.status == 200
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        assert ready
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "pg-secret-42" not in out + err
    events = [json.loads(line) for line in err.splitlines()]
    messages = [e["message"] for e in events]
    assert f"data directory: {data}" in messages
    assert "database: " + url.replace("pg-secret-42", "***") in messages
    assert f"attachments: {data / 'attachments'}" in messages
    assert f"maildir: {data / 'mail'}" in messages
    assert "review-bot stopped" in messages
    assert (data / "mail").is_dir() and not any(elsewhere.iterdir())


def test_a_busy_health_port_is_named(running: Any) -> None:
    app, _ = running()
    with pytest.raises(OSError, match="set HEALTH_PORT to a free port"):
        create_app(Settings(_env_file=None, data_dir=app.settings.data_dir / "second",
                            health_port=app.health_server.port)).start()


def test_a_stopped_instance_gives_the_mailbox_up_at_once(running: Any) -> None:
    """After Ctrl-C, a one-shot `review-bot tick` (another process) reads the mail at once instead
    of finding the mailbox leased for a tick interval to an instance that has gone; while it is
    held, the tick says so rather than "0 messages read"."""
    from bot.cli_common import tick_line
    from bot.leases import acquire
    from schedules.sweep import MAILBOX_LEASE, TickReport

    def another_instance_takes_it() -> bool:
        with app.core.db.transaction() as s:
            return acquire(s, MAILBOX_LEASE, "elsewhere:1:abcd", clock.now(), timedelta(seconds=1))

    app, clock = running()
    wait_ready(app)  # the first tick has run: the mailbox lease is this instance's
    assert not another_instance_takes_it()
    report = TickReport(mailbox_elsewhere="vm:4242:0f0f")
    assert ("mailbox not read: another instance reads it (vm:4242:0f0f)"
            in tick_line(report.summary(), clock.now()))
    app.stop()
    assert another_instance_takes_it()
