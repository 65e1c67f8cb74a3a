"""Round trip of `/serious-incident` over HTTP: signed request in, acknowledgement out.

Issue 3 target: p99 at most 100 ms over 500 requests (Slack's own limit is 3 s). The real bolt
App runs behind its HTTP server exactly as `review-bot run` starts it in HTTP mode (acknowledge
first, open the modal after), against the local Slack Web API server from tests/support.

Run: .venv/bin/python -m bench.slack_command
"""

from __future__ import annotations

import http.client
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from slack_bolt.app.app import SlackAppDevelopmentServer
from slack_sdk.signature import SignatureVerifier

from bench._common import bench_kek
from bot.clock import SystemClock
from bot.core import Core
from bot.db import Database
from bot.protocol import parse_protocol
from bot.settings import Settings
from handlers.slack.app import build_client, create_slack_app
from tests.support.slack_api import start_slack_api

REQUESTS = 500
TARGET_P99_MS = 100.0
SECRET = "bench-signing-secret"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(requests: int = REQUESTS) -> dict[str, object]:
    from http.server import BaseHTTPRequestHandler

    # The development server logs every request to stderr; the table is what we want to read.
    BaseHTTPRequestHandler.log_message = lambda *_a, **_k: None  # type: ignore[method-assign]
    api, api_server = start_slack_api()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", kek=bench_kek())
        db.create_schema()
        protocol = parse_protocol({"roles": {"business_manager": {
            "name": "BM", "email": "bm@partnership.example", "slack_user_id": "UBM"}}}, "bench")
        core = Core(db=db, protocol=protocol, clock=SystemClock(), attachments_dir=Path(tmp) / "a")
        settings = Settings(_env_file=None, slack_bot_token="xoxb-bench", slack_signing_secret=SECRET,
                            slack_api_url=api.url, slack_business_unit_channel="CBU")
        app = create_slack_app(core, settings, client=build_client(settings))
        port = _free_port()
        server = SlackAppDevelopmentServer(port=port, path="/slack/events", app=app)
        threading.Thread(target=server.start, daemon=True).start()
        time.sleep(0.3)
        verifier = SignatureVerifier(SECRET)
        timings: list[float] = []
        statuses: dict[int, int] = {}
        try:
            for i in range(requests):
                body = urlencode({
                    "team_id": "T1", "channel_id": "C1", "user_id": "UPRACT", "user_name": "p",
                    "command": "/serious-incident", "text": "", "api_app_id": "A1",
                    "trigger_id": f"trigger-{i}", "response_url": api.url + "response",
                })
                ts = str(int(time.time()))
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
                }
                start = time.perf_counter()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("POST", "/slack/events", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                timings.append((time.perf_counter() - start) * 1000)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                conn.close()
            time.sleep(0.5)  # let the last modals open before counting them
        finally:
            server._server.shutdown()  # bolt's dev server keeps it private
            server._server.server_close()
            api_server.shutdown()
            api_server.server_close()
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return {
        "requests": requests, "statuses": statuses, "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2), "max_ms": round(timings[-1], 2),
        "modals_opened": len(api.of("views.open")), "target_p99_ms": TARGET_P99_MS,
        "result": "PASS" if p99 <= TARGET_P99_MS and statuses == {200: requests} else "FAIL",
    }


def rows() -> list[tuple[str, str, str, str, str]]:
    r = run()
    return [(
        "slack /serious-incident ack", f"{r['requests']} signed requests over HTTP",
        f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms (modals opened {r['modals_opened']})",
        f"p99 <= {TARGET_P99_MS:.0f} ms", str(r["result"]),
    )]


if __name__ == "__main__":
    for row in rows():
        print(" | ".join(row))
