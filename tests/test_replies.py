"""The words of a thread reply live once in the core (bot/replies.py); each surface draws them.

The expected Slack lines are what the Slack notifier wrote before the words moved (commit
d4b06ff), so Slack's users see the same replies; the plain reading carries no sign and no markup.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot import replies
from bot.core import Core
from handlers.slack.media_notifier import media_reply_text
from handlers.slack.notifier import reply_text
from handlers.slack.posting import Happened

REF = "SI-2026-0001"
SENTINEL = "CANARY-Jo-Bloggs-07700900123"
TYPED = {"reason": SENTINEL, "rationale": SENTINEL, "via": SENTINEL, "summary": SENTINEL}

CASE_EVENTS: list[tuple[str, dict[str, Any], str]] = [
    ("return_received", {"agency": "police", "request_kind": "info-gathering", "on_time": False},
     "SI-2026-0001: information gathering return received from Example Constabulary (late)."),
    ("return_received", {"agency": "icb", "request_kind": "chronology"},
     "SI-2026-0001: chronology return received from Example Integrated Care Board."),
    ("request_sent",
     {"agency": "la-csc", "request_kind": "info-gathering", "due_at": "2026-11-20T17:00:00+00:00"},
     "SI-2026-0001: information gathering request sent to Example Borough Council Children's Social Care, "
     "due Fri 20 Nov 2026 17:00."),
    ("reminder_sent", {"agency": "police", "request_kind": "chronology"},
     "SI-2026-0001: reminder sent to Example Constabulary for the chronology return."),
    ("chase_sent", {"agency": "police", "request_kind": "info-gathering", "chase": 2},
     "SI-2026-0001: chase 2 sent to Example Constabulary for the overdue information gathering return."),
    ("request_escalated", {"agency": "icb", "request_kind": "chronology"},
     "SI-2026-0001: :warning: the overdue chronology return from Example Integrated Care Board has been "
     "escalated."),
    ("request_bounced", {"agency": "no-such <b>&", "request_kind": "info-gathering"},
     "SI-2026-0001: :warning: the information gathering request to no-such &lt;b&gt;&amp; bounced; check the "
     "agency's address."),
    ("request_withdrawn", {"agency": "police", "request_kind": "info-gathering"},
     "SI-2026-0001: the information gathering request to Example Constabulary was withdrawn."),
    ("deadline_overdue", {"deadline": "sin_notification", "due_at": "2026-11-28T17:00:00+00:00"},
     "SI-2026-0001: :red_circle: notification to the National Panel (D-01) is overdue "
     "(was due Sat 28 Nov 2026 17:00)."),
    ("deadline_overdue", {"deadline": "chronology:police", "due_at": "2026-06-28T17:00:00+00:00"},
     "SI-2026-0001: :red_circle: chronology return is overdue (was due Sun 28 Jun 2026 18:00)."),
    ("deadline_warning", {"deadline": "info:icb", "due_at": "2026-11-28T17:00:00+00:00"},
     "SI-2026-0001: :large_orange_circle: information gathering return is due Sat 28 Nov 2026 17:00."),
    ("stage_changed", {"from": "sin_pending", "to": "info_gathering"},
     "SI-2026-0001: Notification pending → Notification submitted: information gathering."),
    ("media_enquiry_received", {"media_ref": "ME-2026-0001", "row": 3},
     "SI-2026-0001: media enquiry ME-2026-0001 received (routing row 3)."),
]
VIEW = {"ref": "ME-2026-0002", "journalist_deadline": "2026-11-16T15:00:00+00:00"}
MEDIA_EVENTS: list[tuple[str, dict[str, Any], str]] = [
    ("media_alert_repeated", {"repeat": 2},
     ":rotating_light: ME-2026-0002: still not acknowledged (alert repeated 2). The business manager has "
     "been told."),
    ("media_deadline_reminder", {"minutes_before": 120},
     ":alarm_clock: ME-2026-0002: the journalist's deadline is in 120 minutes (Mon 16 Nov 2026 15:00)."),
    ("media_deadline_passed", {},
     ":red_circle: ME-2026-0002: the journalist's deadline has passed and no response is recorded."),
    ("media_chair_fallback", {"speaks": "deputy_chair"},
     ":warning: ME-2026-0002: the Chair and the Deputy Chair are not available; Deputy Chair speaks (the "
     "protocol's fallback). The business manager has been told."),
]


@pytest.mark.parametrize(("kind", "detail", "slack"), CASE_EVENTS)
def test_a_case_reply_reads_as_slack_showed_it_and_carries_no_typed_text(
    core: Core, kind: str, detail: dict[str, Any], slack: str,
) -> None:
    assert reply_text(core, REF, Happened(1, kind, {**detail, **TYPED})) == slack
    reply = replies.case_reply(core, REF, kind, {**detail, **TYPED})
    assert reply is not None and reply.plain.startswith(REF)
    assert ":" + "warning" not in reply.plain and SENTINEL not in reply.plain
    # Nothing in the core's words is markup: the sign is the only part a surface draws.
    assert all(isinstance(p, replies.Sign) or "*" not in p for p in reply.parts)


@pytest.mark.parametrize(("kind", "detail", "slack"), MEDIA_EVENTS)
def test_a_media_reply_reads_as_slack_showed_it(
    core: Core, kind: str, detail: dict[str, Any], slack: str,
) -> None:
    assert media_reply_text(core, VIEW, Happened(1, kind, {**detail, **TYPED})) == slack
    reply = replies.media_reply(core, VIEW, kind, {**detail, **TYPED})
    assert reply is not None and reply.plain.startswith(VIEW["ref"]) and SENTINEL not in reply.plain
    assert sum(isinstance(p, replies.Sign) for p in reply.parts) == 1


def test_events_the_card_or_alert_already_show_get_no_reply(core: Core) -> None:
    assert replies.case_reply(core, REF, "case_opened", {}) is None
    assert replies.case_reply(core, REF, "stage_changed", {"from": "x", "to": "y"}) is None
    assert replies.media_reply(core, VIEW, "media_acknowledged", {}) is None


def test_a_detail_that_is_not_a_number_is_not_shown(core: Core) -> None:
    reply = replies.case_reply(core, REF, "chase_sent", {"agency": "police", "request_kind": "chronology",
                                                         "chase": SENTINEL})
    assert reply is not None and SENTINEL not in reply.plain
    reply = replies.media_reply(core, VIEW, "media_deadline_reminder", {"minutes_before": SENTINEL})
    assert reply is not None and "in ? minutes" in reply.plain
