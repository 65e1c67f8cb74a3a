"""Every row of the routing table (process.md 6.2) for every preset, and the Chair rule (6.3).

The expected table below is written from process.md 6.2 and 6.5, not read from the presets, so
a preset that drifts from the seeds fails here.
"""

from __future__ import annotations

import pytest

from bot.media_routing import resolve, route_for
from bot.protocol import MEDIA_ROUTES, Protocol, parse_protocol
from bot.stages import Stage

Row = tuple[set[str], str, set[str], str]  # lead, speaks, sign-off, output

DEFAULT: dict[str, Row] = {
    "incident": ({"press_office", "business_manager"}, "chair", {"chair"}, "holding_statement"),
    "review": ({"business_manager", "press_office"}, "chair", {"chair"}, "holding_statement"),
    "embargoed": ({"business_manager", "press_office"}, "chair", {"chair"}, "holding_statement"),
    "pre_publication": ({"business_manager", "chair", "press_office"}, "chair",
                        {"chair", "press_office"}, "partnership_statement"),
    "published": ({"chair", "business_manager", "press_office"}, "chair", {"chair"}, "press_release"),
    "after_review": ({"business_manager", "press_office"}, "chair", {"chair"}, "statement_on_actions"),
    "partnership": ({"business_manager"}, "chair", {"chair"}, "response"),
    "inquest": ({"business_manager", "press_office"}, "chair", {"chair"}, "holding_statement"),
    "agency": ({"agency"}, "agency", {"agency"}, "agency_statement"),
    "general": ({"press_office"}, "chair", {"chair"}, "joint_communications"),
    "authorised_agency": ({"agency"}, "agency", {"chair", "press_office"}, "agency_statement"),
}

DIFFERENCES: dict[str, dict[str, Row]] = {
    "working-together-2023": {},
    "kirklees": {},  # KIR l.326: Business Manager + Chair with the media officer (the default row 4)
    "sandwell": {
        # SW-COMMS l.73-75: the Council Communication Lead is the central point in publication.
        "pre_publication": ({"communications_lead"}, "chair", {"chair", "press_office"},
                            "partnership_statement"),
        "published": ({"communications_lead", "business_manager", "press_office"}, "chair",
                      {"chair"}, "press_release"),
        # SW-COMMS l.91: the Chair and the press office agree a partnership response.
        "partnership": ({"business_manager"}, "chair", {"chair", "press_office"}, "response"),
    },
    "somerset": {
        # SOM l.222, l.228-230: the Executive signs off.
        "incident": ({"press_office", "business_manager"}, "chair", {"chair", "executive"},
                     "holding_statement"),
        "partnership": ({"business_manager"}, "chair", {"executive"}, "response"),
        "general": ({"press_office"}, "chair", {"executive"}, "joint_communications"),
    },
    "stockport": {
        # STK l.400, l.468: Council Communications co-ordinates and assesses risk first.
        "pre_publication": ({"communications_lead"}, "chair", {"chair", "press_office"},
                            "partnership_statement"),
        "published": ({"communications_lead", "business_manager"}, "chair", {"chair"}, "press_release"),
        "partnership": ({"communications_lead", "business_manager"}, "chair", {"chair"}, "response"),
        # STK l.449-451: the Director of People speaks for the Council at an inquest.
        "inquest": ({"business_manager", "communications_lead"}, "director_of_people",
                    {"communications_lead"}, "inquest_statement"),
        "agency": ({"agency"}, "agency", {"agency", "communications_lead"}, "agency_statement"),
    },
}

CASES = [(preset, route) for preset in DIFFERENCES for route in MEDIA_ROUTES]


def preset(name: str) -> Protocol:
    return parse_protocol({"preset": name}, name)


@pytest.mark.parametrize(("name", "route"), CASES)
def test_every_row_of_every_preset(name: str, route: str) -> None:
    protocol = preset(name)
    lead, speaks, sign_off, output = DIFFERENCES[name].get(route, DEFAULT[route])
    routing = resolve(protocol, route, chair_away=False, agency=protocol.agency("police"))
    assert {n.role for n in routing.lead} == lead
    assert routing.spokesperson.role == speaks
    assert {n.role for n in routing.sign_off} == sign_off
    assert routing.output == output
    assert routing.row == MEDIA_ROUTES[route]
    assert routing.source, "every row cites its source"
    # Everyone the row names is a real person with an address to alert.
    for named in (*routing.lead, routing.spokesperson, *routing.sign_off):
        assert named.email and "@" in named.email
    assert not routing.problems and routing.chair_standin is None


#: Presets whose seed names a Deputy Chair (SOM l.236), and the national one (an example Deputy);
#: the others say `deputy_chair = false`, so their seed's silence is not filled with a fiction.
WITH_A_DEPUTY = ("working-together-2023", "somerset")


@pytest.mark.parametrize("name", list(DIFFERENCES))
def test_with_the_chair_away_the_deputy_or_the_fallback_takes_every_chair_role(name: str) -> None:
    protocol = preset(name)
    assert (protocol.roles.deputy_chair is not None) is (name in WITH_A_DEPUTY)
    standin = "deputy_chair" if name in WITH_A_DEPUTY else "independent_scrutineer"
    for route in MEDIA_ROUTES:
        routing = resolve(protocol, route, chair_away=True, agency=protocol.agency("police"))
        roles = {n.role for n in (*routing.lead, routing.spokesperson, *routing.sign_off)}
        assert "chair" not in roles
        expected = DIFFERENCES[name].get(route, DEFAULT[route])
        if expected[1] == "chair":
            assert routing.spokesperson.role == standin
            assert routing.chair_standin == standin
            assert routing.fallback is (name not in WITH_A_DEPUTY)


def test_without_a_deputy_the_fallback_speaks_and_says_so() -> None:
    protocol = parse_protocol({"roles": {"deputy_chair": False}}, "test")
    assert protocol.roles.deputy_chair is None
    routing = resolve(protocol, "review", chair_away=True)
    assert routing.spokesperson.role == "independent_scrutineer"
    assert routing.fallback and "business manager is alerted" in routing.problems[0]
    # A row that does not involve the Chair is untouched by the absence.
    agency = resolve(protocol, "agency", chair_away=True, agency=protocol.agency("police"))
    assert not agency.fallback and not agency.problems


def test_a_designate_named_by_the_chair_comes_before_the_deputy() -> None:
    routing = resolve(preset("somerset"), "partnership", chair_away=True, delegate="executive")
    assert routing.spokesperson.role == "executive"


@pytest.mark.parametrize(
    ("subject", "stage", "kw", "route"),
    [
        ("case", None, {}, "incident"),
        ("case", Stage.REFERRAL_RECEIVED, {}, "incident"),
        ("case", Stage.TRIAGE, {}, "incident"),
        ("case", Stage.SIN_PENDING, {}, "incident"),
        ("case", Stage.NOTIFICATION_ONLY, {}, "incident"),
        ("case", Stage.CLOSED_NFA, {}, "incident"),
        ("case", Stage.INFO_GATHERING, {}, "review"),
        ("case", Stage.PANEL_DECISION, {}, "review"),
        ("case", Stage.LCSPR, {}, "review"),
        ("case", Stage.NATIONAL_REVIEW, {}, "review"),
        ("case", Stage.EMBARGOED, {}, "embargoed"),
        ("case", Stage.PRE_PUBLICATION, {}, "pre_publication"),
        ("case", Stage.PUBLISHED, {}, "published"),
        ("case", Stage.NO_FURTHER_REVIEW, {}, "after_review"),
        ("case", Stage.ALTERNATIVE_LEARNING, {}, "after_review"),
        ("case", Stage.CLOSED, {"published": True}, "after_review"),
        ("case", Stage.CLOSED, {"decided": True}, "after_review"),
        ("case", Stage.CLOSED, {}, "incident"),
        ("partnership", Stage.LCSPR, {}, "partnership"),
        ("inquest", Stage.EMBARGOED, {}, "inquest"),
        ("general", None, {}, "general"),
        ("agency", Stage.LCSPR, {"agency_authorised": True}, "agency"),
        ("agency", Stage.PRE_PUBLICATION, {"agency_authorised": True}, "authorised_agency"),
        ("agency", Stage.PUBLISHED, {"agency_authorised": True}, "authorised_agency"),
        ("agency", Stage.PUBLISHED, {}, "agency"),
    ],
)
def test_subject_and_stage_choose_the_row(
    subject: str, stage: Stage | None, kw: dict[str, bool], route: str
) -> None:
    assert route_for(subject, stage, **kw) == route


def test_every_stage_has_a_row() -> None:
    for stage in Stage:
        assert route_for("case", stage) in MEDIA_ROUTES
