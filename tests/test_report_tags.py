"""Themes and review outcomes (issue 14 item 4): the card's form (a multi-select from the
protocol's themes), the CLI's add/remove, refusals that name the field, events without free text."""

from __future__ import annotations

import pytest

from bot import cases as case_service
from bot.core import Core
from bot.errors import Invalid
from bot.protocol import parse_protocol
from bot.report_tags import outcome_of, themes_of
from bot.usecases import cases
from bot.usecases.result import Form
from tests.conftest import notified_case
from tests.support.usecases import BM_TEAMS, events, teams
from tests.support.usecases import uc_core as uc_core  # the fixture


def decided(core: Core) -> str:
    ref = notified_case(core)
    with core.transaction() as s:
        case_service.decide(s, core, case_service.get_case(s, ref), option="lcspr", rationale="",
                            actor="bm@partnership.example")
    return ref


def test_the_card_form_offers_the_protocols_themes_and_saves_exactly_the_selection(uc_core: Core) -> None:
    ref, bm = decided(uc_core), teams(uc_core, BM_TEAMS)
    form = cases.form_for(uc_core, bm, ref, "tags")
    assert isinstance(form, Form)
    themes, panel, publication = form.fields
    assert [c.value for c in panel.options] == ["agrees", "disagrees", "none"] and panel.initial == "none"
    assert [c.value for c in publication.options] == ["full", "learning-only", "not-published", "none"]
    assert themes.kind == "choices" and [c.value for c in themes.options] == list(
        uc_core.protocol.report.themes) and themes.initial == []
    assert "Neglect" in [c.label for c in themes.options]
    cases.act(uc_core, bm, ref, "tags", {"themes": ["neglect", "under-1s"], "panel": "agrees",
                                          "publication": "none"})
    result = cases.act(uc_core, bm, ref, "tags", {"themes": ["neglect", "domestic-abuse"], "panel": "agrees"})
    assert "themes added: domestic-abuse" in result.message and "themes removed: under-1s" in result.message
    with uc_core.transaction() as s:
        case = case_service.get_case(s, ref)
        assert themes_of(s, case) == ["domestic-abuse", "neglect"]
        assert outcome_of(s, case, "panel") == "agrees" and outcome_of(s, case, "publication") is None
    tagged = events(uc_core, "themes_tagged")
    assert [e.detail for e in tagged] == [{"added": ["neglect", "under-1s"], "removed": []},
                                          {"added": ["domestic-abuse"], "removed": ["under-1s"]}]
    assert [e.detail for e in events(uc_core, "outcome_tagged")] == [{"outcome": "panel", "value": "agrees"}]
    form = cases.form_for(uc_core, bm, ref, "tags")
    assert form.fields[0].initial == ["domestic-abuse", "neglect"] and form.fields[1].initial == "agrees"


def test_add_and_remove_and_refusals(uc_core: Core) -> None:
    ref, bm = decided(uc_core), teams(uc_core, BM_TEAMS)
    cases.act(uc_core, bm, ref, "themes_add", {"themes": ["neglect"]})
    assert "nothing changed" in cases.act(uc_core, bm, ref, "themes_add", {"themes": ["neglect"]}).message
    with pytest.raises(Invalid) as refused:
        cases.act(uc_core, bm, ref, "themes_add", {"themes": ["<script>"]})
    assert "themes" in refused.value.errors and "not a theme of the protocol" in str(refused.value)
    with pytest.raises(Invalid) as refused:
        cases.act(uc_core, bm, ref, "outcome", {"publication": "shredded"})
    assert "publication" in refused.value.errors
    cases.act(uc_core, bm, ref, "themes_remove", {"themes": ["neglect"]})
    with uc_core.transaction() as s:
        assert themes_of(s, case_service.get_case(s, ref)) == []


def test_a_partnership_names_its_own_themes() -> None:
    protocol = parse_protocol({"preset": "sandwell", "report": {"themes": {"exploitation": "Exploitation"},
                                                                 "suppress_below": 10}}, "test")
    assert protocol.report.themes == {"exploitation": "Exploitation"} and protocol.report.suppress_below == 10
    with pytest.raises(Exception, match="slugs"):
        parse_protocol({"preset": "sandwell", "report": {"themes": {"Bad Key": "x"}}}, "test")
