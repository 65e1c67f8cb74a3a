"""No stale messages (issue 9 item 6), through the CLI and `tick --now`: a queued message whose
reason has gone by the time it would be delivered is cancelled with an audit event, not sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_e2e import Bot

BM = ["--actor", "business.manager@partnership.example"]


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    return Bot(tmp_path, database_url)


def tick(bot: Bot, at: str) -> dict[str, object]:
    return json.loads(bot("tick", "--now", at, "--json").output)  # type: ignore[no-any-return]


def cancelled(bot: Bot, ref: str) -> list[dict[str, object]]:
    view = json.loads(bot("case", ref, "--json").output)
    return [e for e in view["events"] if e["kind"] == "outbox_cancelled"]


def subjects(bot: Bot) -> list[str]:
    return [str(m["Subject"]).strip() for m in bot.sent()]


def open_case(bot: Bot) -> None:
    bot("--now", "2026-11-16T10:00", *BM, "open", "--referring-agency", "police",
        "--incident-date", "2026-11-12", "--la-aware", "2026-11-13", "--outcome", "death")


def test_the_overdue_notification_alert_held_overnight_is_cancelled_once_the_notification_is_recorded(
    bot: Bot,
) -> None:
    open_case(bot)
    assert tick(bot, "2026-11-16T10:01")["sent"] == 1  # the new-referral alert
    assert tick(bot, "2026-11-20T09:01")["sent"] == 1  # the warning on the day it is due
    # Due Fri 20 Nov 23:59:59, overdue from Monday 09:00; the bot was down on Monday, so its
    # evening tick queues the overdue alert and the outbox holds it for working hours.
    night = tick(bot, "2026-11-23T19:00")
    assert (night["deadline_steps"], night["sent"], night["held_for_working_hours"]) == (1, 0, 1)
    # Tuesday before nine the business manager records the notification (it went on Friday).
    bot("--now", "2026-11-24T08:40", *BM, "case", "SI-2026-0001", "sin-submitted",
        "--at", "2026-11-20T16:00")
    morning = tick(bot, "2026-11-24T09:05")
    assert (morning["sent"], morning["cancelled_reason_gone"]) == (0, 1)
    assert not [s for s in subjects(bot) if "Overdue" in s]
    (event,) = cancelled(bot, "SI-2026-0001")
    assert event["actor"] == "system"
    assert event["detail"]["message_kind"] == "statutory_overdue"  # type: ignore[index]
    assert str(event["detail"]["reason"]).startswith("deadline:")  # type: ignore[index]
    assert tick(bot, "2026-11-25T09:05")["sent"] == 0  # and it stays cancelled


def test_the_new_referral_alert_is_cancelled_when_the_case_was_closed_as_opened_by_mistake(
    bot: Bot,
) -> None:
    open_case(bot)
    bot("--now", "2026-11-16T10:02", *BM, "case", "SI-2026-0001", "close", "--reason",
        "opened by mistake")
    report = tick(bot, "2026-11-16T10:03")
    assert (report["sent"], report["cancelled_reason_gone"]) == (0, 1)
    assert bot.sent() == []
    (event,) = cancelled(bot, "SI-2026-0001")
    assert event["detail"]["message_kind"] == "referral_alert"  # type: ignore[index]
    assert event["detail"]["reason"] == "case:1"  # type: ignore[index]


def test_a_chase_whose_request_was_returned_between_queueing_and_delivery_is_cancelled(
    bot: Bot,
) -> None:
    open_case(bot)
    now = ["--now", "2026-11-18T10:00", *BM]
    bot(*now, "case", "SI-2026-0001", "accept")
    bot(*now, "case", "SI-2026-0001", "sin-submitted")
    bot(*now, "case", "SI-2026-0001", "request", "info-gathering", "--agency", "icb")
    tick(bot, "2026-11-18T10:01")  # the alert and the request go
    before = len(bot.sent())
    # The bot was down on Friday; its evening tick takes the overdue chase, held until Monday.
    evening = tick(bot, "2026-11-20T19:00")
    assert (evening["deadline_steps"], evening["held_for_working_hours"]) == (1, 1)
    bot("--now", "2026-11-23T08:30", *BM, "case", "SI-2026-0001", "returned", "icb")
    monday = tick(bot, "2026-11-23T09:00")
    assert (monday["sent"], monday["cancelled_reason_gone"]) == (0, 1)
    assert len(bot.sent()) == before
    (event,) = cancelled(bot, "SI-2026-0001")
    assert event["detail"]["message_kind"] == "overdue_chase"  # type: ignore[index]


def test_a_chase_whose_request_is_still_open_is_sent_after_the_hold(bot: Bot) -> None:
    """The control for the test above: the reason holds, so the held chase goes on Monday."""
    open_case(bot)
    now = ["--now", "2026-11-18T10:00", *BM]
    bot(*now, "case", "SI-2026-0001", "accept")
    bot(*now, "case", "SI-2026-0001", "sin-submitted")
    bot(*now, "case", "SI-2026-0001", "request", "info-gathering", "--agency", "icb")
    tick(bot, "2026-11-18T10:01")
    tick(bot, "2026-11-20T19:00")
    monday = tick(bot, "2026-11-23T09:00")
    assert monday["cancelled_reason_gone"] == 0
    assert [s for s in subjects(bot) if "Overdue" in s]
    assert cancelled(bot, "SI-2026-0001") == []
