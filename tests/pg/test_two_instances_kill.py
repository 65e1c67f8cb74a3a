"""The short version of bench/two_instances.py: two real instances (processes running the real
tick) share one PostgreSQL and one Maildir while one of them is killed with SIGKILL at random
moments; nothing is lost and nothing is sent or stepped twice (issue 10 item 3)."""

from __future__ import annotations

from bench.two_instances import run_trials
from tests.support.postgres import PostgresServer


def test_two_instances_killed_at_random_lose_nothing_and_double_nothing(pg: PostgresServer) -> None:
    outcome = run_trials(pg, pg.url("").rstrip("/"), trials=5, cases=10, referrals=2, kills=2,
                         seed_value=7)
    assert (outcome.trials, outcome.kills) == (5, 10)
    assert (outcome.lost, outcome.doubled) == (0, 0), outcome.notes
