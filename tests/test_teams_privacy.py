"""What Teams sees (process.md 8.4): a canary typed into a Teams form never reaches any post the
fake connector records, and text from outside is never Adaptive Card markup."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.usecases.result import NextAction
from handlers.teams.views import board_card, case_card
from tests.support.teams_connector import (
    BU_CHANNEL,
    TeamsHarness,
    buttons_of,
    card_of,
    dialog_card,
    submit_data,
)
from tests.test_teams_referral import REFERRAL, cases

CANARY = "CANARY-7Q2X-Jayden-Smith-12-Acacia-Road"


def test_a_canary_typed_into_teams_forms_never_reaches_a_post(teams: TeamsHarness) -> None:
    # Typed where a choice belongs (a forged dialog), and into the reason of "criteria not met".
    card = dialog_card(teams.fetch({"rb": {"use": "refer"}}))
    refused = teams.submit({**submit_data(card), **REFERRAL, "referring_agency": CANARY,
                            "media_interest": CANARY})
    assert refused["task"]["type"] == "continue" and cases(teams) == []
    teams.submit({**submit_data(card), **REFERRAL})
    [case] = cases(teams)
    posted = card_of(teams.fake.of("create", BU_CHANNEL)[0])
    [not_met] = [b for b in buttons_of(posted) if b["title"] == "Criteria not met"]
    form = dialog_card(teams.fetch(not_met["data"]))
    answer = teams.submit({**submit_data(form), "route": "no-further-action", "reason": CANARY})
    assert answer["task"]["type"] == "message"
    assert cases(teams)[0].stage != case.stage  # it happened, and the card was updated
    assert teams.fake.of("update", BU_CHANNEL)
    everything = teams.fake.everything()
    assert CANARY not in everything and "Jayden" not in everything
    # It is kept where it belongs: the case record.
    assert cases(teams)[0].decision_rationale == CANARY


HOSTILE = "[click](https://evil.example) **bold** <at>everyone</at> _x_ # h"


def _texts(element: Any, kind: str) -> list[str]:
    """Every ``text`` of elements of one type, anywhere in a card."""
    found: list[str] = []
    if isinstance(element, dict):
        if element.get("type") == kind and "text" in element:
            found.append(element["text"])
        for value in element.values():
            found += _texts(value, kind)
    elif isinstance(element, list):
        for value in element:
            found += _texts(value, kind)
    return found


def test_text_from_outside_is_only_ever_a_plain_text_run() -> None:
    now = datetime(2026, 11, 16, 10, tzinfo=UTC)
    view = {
        "ref": "SI-2026-0001", "stage": "triage", "stage_label": HOSTILE, "referring_agency": HOSTILE,
        "outcome": HOSTILE, "incident_date": HOSTILE, "la_aware_date": None, "age_band": HOSTILE,
        "legal_status": HOSTILE, "decision": HOSTILE, "route": HOSTILE, "missing": [HOSTILE],
        "deadlines": [{"label": HOSTILE, "state": "open", "met_at": None, "due_at": now.isoformat()}],
        "requests": [{"agency": HOSTILE, "kind": HOSTILE, "status": "sent", "due_at": now.isoformat(),
                      "chases": 0}],
    }
    action = NextAction("close", HOSTILE, confirm=HOSTILE + " {ref}")
    for card in (case_card(view, (action,), now=now, tz=None),
                 board_card([{"ref": HOSTILE, "stage_label": HOSTILE, "returns_outstanding": [HOSTILE],
                              "next_deadline": None}], tz=None)):
        assert HOSTILE in json.dumps(card)
        assert not any(HOSTILE in t for t in _texts(card, "TextBlock"))  # markdown-rendering blocks
        assert any(HOSTILE in t for t in _texts(card, "TextRun"))  # plain text


def test_control_and_direction_characters_are_stripped() -> None:
    from handlers.teams.text import plain

    assert plain("a\u202eb\x00c\u200bd") == "abcd"
    assert len(plain("x" * 5000, 300)) == 300
