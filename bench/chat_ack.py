"""Ack time of the two chat surfaces side by side (issue 11, "Numbers"): a Slack slash command
through the real bolt App and a Teams invoke through the Teams endpoint, both over HTTP.

Slack: `/serious-incident` signed with the signing secret, acknowledged before the modal opens
(bench/slack_command.py). Teams: a ``task/fetch`` invoke asking for the referral dialog, with a
real RS256 Bot Framework token from the local fake issuer (tests/support/teams_connector.py);
the answer carries the dialog, so the figure includes the token check, the use case
(``referral_form``) and rendering the Adaptive Card. Both surfaces answer within their platform's
limits (Slack 3 s, Teams about 5 s for an invoke); the target here is the same 100 ms p99.

Run: .venv/bin/python -m bench.chat_ack [--requests N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import slack_command
from bot.clock import SystemClock
from tests.support.teams_connector import TeamsConnector, TeamsHarness, invoke, user

REQUESTS = 500
TARGET_P99_MS = 100.0


def teams_run(requests: int = REQUESTS) -> dict[str, object]:
    clock = SystemClock()
    fake = TeamsConnector(now=clock.now).start()
    with tempfile.TemporaryDirectory() as tmp:
        harness = TeamsHarness(fake, clock, Path(tmp), f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        token = fake.inbound_token()  # Teams reuses a token for many activities
        timings: list[float] = []
        statuses: dict[int, int] = {}
        dialogs = 0
        try:
            with httpx.Client(timeout=5) as client:
                for _ in range(requests):
                    ask = {"data": {"rb": {"use": "refer"}}}
                    activity = invoke(fake, user("aad-practitioner"), "task/fetch", ask)
                    start = time.perf_counter()
                    response = fake.post_activity(harness.url, activity, token=token, client=client)
                    timings.append((time.perf_counter() - start) * 1000)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    dialogs += response.status_code == 200 and response.json()["task"]["type"] == "continue"
        finally:
            harness.close()
            fake.stop()
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return {"requests": requests, "statuses": statuses, "p50_ms": round(statistics.median(timings), 2),
            "p99_ms": round(p99, 2), "max_ms": round(timings[-1], 2), "dialogs": dialogs,
            "result": "PASS" if p99 <= TARGET_P99_MS and statuses == {200: requests} else "FAIL"}


def rows(requests: int = REQUESTS) -> list[tuple[str, str, str, str, str]]:
    slack = slack_command.run(requests)
    teams = teams_run(requests)
    return [
        ("chat ack: slack slash command", f"{requests} signed requests over HTTP",
         f"p50 {slack['p50_ms']} ms, p99 {slack['p99_ms']} ms", f"p99 <= {TARGET_P99_MS:.0f} ms",
         str(slack["result"])),
        ("chat ack: teams task/fetch invoke", f"{requests} JWT-signed activities over HTTP",
         f"p50 {teams['p50_ms']} ms, p99 {teams['p99_ms']} ms (dialogs {teams['dialogs']})",
         f"p99 <= {TARGET_P99_MS:.0f} ms", str(teams["result"])),
    ]


if __name__ == "__main__":
    n = int(sys.argv[sys.argv.index("--requests") + 1]) if "--requests" in sys.argv else REQUESTS
    for row in rows(n):
        print(" | ".join(row))
