"""Themes from the Slack card (issue 14 item 4): the "Themes and outcome" button opens a modal with
a multi-select of the protocol's themes; its submission tags the case, through the real bolt app."""

from __future__ import annotations

import json

from bot.cases import get_case
from bot.report_tags import outcome_of, themes_of
from tests.support.slack_api import SlackHarness, picked, picked_many
from tests.support.slack_api import slack as slack  # the fixture
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_review_slack import decided, last_card
from tests.test_slack_case_card import opened_view


def test_themes_and_outcome_from_the_card(slack: SlackHarness) -> None:
    case = decided(slack)
    _, buttons = last_card(slack, case)
    assert "case_tags" in buttons
    slack.press("case_tags", case.ref)
    view = opened_view(slack)
    assert view["callback_id"] == "si_tags"
    blocks = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    themes = blocks["themes"]["element"]
    assert themes["type"] == "multi_static_select" and len(themes["options"]) == 8
    assert "Domestic abuse" in json.dumps(themes["options"])
    slack.submit("si_tags", {"themes": picked_many(["neglect", "domestic-abuse"]),
                             "panel": picked("disagrees"), "publication": picked("none")},
                 meta={"ref": case.ref})
    with slack.core.transaction() as s:
        found = get_case(s, case.ref)
        assert themes_of(s, found) == ["domestic-abuse", "neglect"]
        assert outcome_of(s, found, "panel") == "disagrees"
