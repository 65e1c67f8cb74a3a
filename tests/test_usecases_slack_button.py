"""Adding a button to a stage touches one place in the core (issue 11, "Numbers"): a new row of
the case actions table shows on the Slack card and acts through the real bolt App."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session, select

from bot import audit
from bot.core import Core
from bot.models import Case, Event
from bot.stages import Stage
from bot.usecases import case_actions
from bot.usecases.case_actions import CaseAction
from bot.usecases.result import FieldSpec
from tests.support.slack_api import SlackHarness, typed
from tests.support.slack_api import slack as slack  # the fixture
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_slack_referral import PRACTITIONER, referral_values


def _note(s: Session, core: Core, case: Case, actor: str, values: dict[str, Any], ctx: dict[str, str]) -> str:
    audit.record(s, at=core.clock.now(), actor=actor, kind="case_noted", case_id=case.id,
                 words=len(str(values.get("note", "")).split()))
    return f"{case.ref}: noted"


NOTE = CaseAction(
    "note", "Add a note", stages=frozenset({Stage.REFERRAL_RECEIVED}), title="Note {ref}", submit="Save",
    fields=lambda core, session, case: (FieldSpec("note", "Note", "longtext", required=True),), run=_note,
)


@pytest.fixture
def with_note(monkeypatch: pytest.MonkeyPatch) -> None:
    # The one place a new action is declared: the table (and its index by name).
    monkeypatch.setattr(case_actions, "ACTIONS", (*case_actions.ACTIONS, NOTE))
    monkeypatch.setattr(case_actions, "BY_NAME", {**case_actions.BY_NAME, "note": NOTE})


def card_buttons(slack: SlackHarness) -> list[str]:
    card = [c.body for c in slack.api.of("chat.postMessage") if c.body["channel"] == "CBU"][-1]
    blocks = json.loads(card["blocks"]) if isinstance(card["blocks"], str) else card["blocks"]
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_a_new_action_in_the_table_is_a_button_a_modal_and_a_service_call(
    slack: SlackHarness, with_note: None,
) -> None:
    slack.submit("si_referral", referral_values(), user=PRACTITIONER)
    assert card_buttons(slack) == ["case_accept", "case_not_met", "case_close", "case_note"]
    with slack.core.transaction() as session:
        ref = session.exec(select(Case.ref)).one()
    slack.press("case_note", ref)
    view = slack.api.of("views.open")[-1].body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "si_note" and [b["block_id"] for b in view["blocks"]] == ["note"]
    response = slack.submit("si_note", {"note": typed("three short words")},
                            meta=json.loads(view["private_metadata"]))
    assert response.status == 200 and response.body == ""
    with slack.core.transaction() as session:
        [noted] = session.exec(select(Event).where(Event.kind == "case_noted")).all()
    assert noted.actor == "slack:UBM" and noted.detail == {"words": 3}
    # Authorised in the core like every other action: a practitioner is refused and audited.
    slack.press("case_note", ref, user=PRACTITIONER)
    with slack.core.transaction() as session:
        refused = session.exec(select(Event).where(Event.kind == "action_refused")).all()
    assert [e.detail for e in refused] == [{"action": "note"}]
