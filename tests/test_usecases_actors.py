"""Actors (issue 11): resolved from the protocol's identities on every surface; the core's roles."""

from __future__ import annotations

import pytest

from bot.actors import BUSINESS_UNIT, MEDIA_TEAM, OPERATOR, require_role, resolve_actor
from bot.core import Core
from bot.errors import Refused
from tests.support.usecases import BM_EMAIL, BM_TEAMS, CHAIR_TEAMS, slack, teams
from tests.support.usecases import uc_core as uc_core  # the fixture


def test_each_surface_resolves_the_same_person_to_the_same_roles(uc_core: Core) -> None:
    on_slack, on_teams = slack(uc_core, "UBM"), teams(uc_core, BM_TEAMS)
    by_email = resolve_actor(uc_core, surface="email", email=BM_EMAIL.upper())
    assert (on_slack.key, on_teams.key, by_email.key) == ("slack:UBM", f"teams:{BM_TEAMS}", BM_EMAIL)
    for actor in (on_slack, on_teams, by_email):
        assert actor.has(BUSINESS_UNIT) and actor.has(MEDIA_TEAM) and actor.has("business_manager")
    chair = teams(uc_core, CHAIR_TEAMS)
    assert chair.has("chair") and chair.media_team and not chair.business_unit


def test_a_stranger_has_no_role_and_a_slack_usergroup_makes_the_business_unit(uc_core: Core) -> None:
    stranger = slack(uc_core, "UOTHER")
    assert stranger.roles == frozenset() and not stranger.business_unit and not stranger.media_team
    # A Slack id is not a Teams id: the same string on the other surface is nobody.
    assert teams(uc_core, "UBM").roles == frozenset()
    grouped = slack(uc_core, "UGROUP", BUSINESS_UNIT)
    assert grouped.business_unit and grouped.media_team
    with pytest.raises(Refused, match="only"):
        require_role(stranger, BUSINESS_UNIT, refusal="only the business unit")
    require_role(grouped, BUSINESS_UNIT, refusal="never raised")


def test_the_cli_is_an_operator_who_may_do_what_the_business_unit_may(uc_core: Core) -> None:
    operator = resolve_actor(uc_core, surface="cli", user_id="alice")
    assert operator.key == "cli:alice" and operator.has(OPERATOR)
    assert operator.business_unit and operator.media_team
    require_role(operator, BUSINESS_UNIT, refusal="never raised")
    by_email = resolve_actor(uc_core, surface="cli", email="chair@partnership.example")
    assert by_email.key == "chair@partnership.example" and by_email.has("chair")


def test_an_unknown_surface_or_a_nameless_actor_is_refused(uc_core: Core) -> None:
    with pytest.raises(ValueError, match="surface"):
        resolve_actor(uc_core, surface="fax", user_id="1")
    with pytest.raises(ValueError, match="user id or an email"):
        resolve_actor(uc_core, surface="teams")
    assert resolve_actor(uc_core, surface="clock").key == "clock"
