"""Which row of the media routing table applies, and who it names (process.md 6.2, 6.3).

Pure functions over the protocol: the enquiry's subject and the case's stage choose the row; the
row's role keys become people, with the Chair replaced by the Deputy Chair (SOM l.236), the
Chair's designate (SOM l.234) or the protocol's fallback while a Chair absence is recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bot.protocol import MEDIA_OUTPUTS, MEDIA_ROUTES, Agency, Person, Protocol
from bot.stages import AFTER_PUBLICATION, REVIEW_WORK, Stage

SUBJECTS = {
    "case": "A specific incident, case or review",
    "partnership": "The partnership itself",
    "agency": "A single agency's own matter",
    "inquest": "An inquest",
    "general": "General safeguarding",
}

ROLE_LABELS = {
    "chair": "Chair",
    "deputy_chair": "Deputy Chair",
    "business_manager": "Business Manager",
    "press_office": "Press office",
    "executive": "Executive",
    "communications_lead": "Council communications lead",
    "director_of_people": "Director of People",
    "independent_scrutineer": "Independent Scrutineer",
    "agency": "The agency's press office",
}

#: Case stages and the row they select for an enquiry about a specific case or review.
_INCIDENT = frozenset({
    Stage.REFERRAL_RECEIVED, Stage.TRIAGE, Stage.SIN_PENDING, Stage.NOTIFICATION_ONLY,
    Stage.CLOSED_NFA,
})
#: The local review's work up to the final report is "a review under way" (row 2; decision 0022).
_REVIEW = frozenset({Stage.INFO_GATHERING, Stage.PANEL_DECISION, Stage.NATIONAL_REVIEW, *REVIEW_WORK,
                     Stage.FINAL_APPROVED})
#: Embedding and recall come after publication: row 6, actions or progress after a review.
_AFTER = frozenset({Stage.NO_FURTHER_REVIEW, Stage.ALTERNATIVE_LEARNING, Stage.EMBEDDING, Stage.RECALL})


def route_for(
    subject: str, stage: Stage | None, *, published: bool = False, decided: bool = False,
    agency_authorised: bool = False,
) -> str:
    """The routing row for an enquiry (process.md 6.2); ``stage`` is None when no case is named."""
    if subject not in SUBJECTS:
        raise ValueError(f"subject must be one of: {', '.join(SUBJECTS)}")
    if subject in ("partnership", "inquest", "general"):
        return subject
    if subject == "agency":
        # Row 12 only for an agency authorised for this review at P1-P2 (SW-COMMS l.93).
        if agency_authorised and stage in (Stage.PRE_PUBLICATION, *AFTER_PUBLICATION):
            return "authorised_agency"
        return "agency"
    if stage is None or stage in _INCIDENT:
        return "incident"
    if stage in _REVIEW:
        return "review"
    if stage == Stage.EMBARGOED:
        return "embargoed"
    if stage == Stage.PRE_PUBLICATION:
        return "pre_publication"
    if stage == Stage.PUBLISHED:
        return "published"
    if stage in _AFTER:
        return "after_review"
    # Closed: after a published review (row 6), after a review decision without publication
    # (row 6: statement on actions), or before any review (row 1: a holding statement).
    return "after_review" if published or decided else "incident"


@dataclass(frozen=True)
class Named:
    """A role in a routing, and who holds it now."""

    role: str
    label: str
    name: str
    email: str | None = None
    slack_user_id: str | None = None
    #: The Entra object id Teams knows them by (issue 11); routings frozen before have none.
    teams_user_id: str | None = None

    @property
    def display(self) -> str:
        return self.label if self.name == self.label else f"{self.label} ({self.name})"


@dataclass(frozen=True)
class Routing:
    route: str
    row: int
    lead: list[Named]
    spokesperson: Named
    sign_off: list[Named]
    output: str
    output_label: str
    source: str
    note: str
    #: Set while the Chair is away: who stands in, and whether it is the protocol's fallback.
    chair_standin: str | None = None
    fallback: bool = False
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Routing:
        named = lambda d: Named(**d)  # noqa: E731
        return cls(**{
            **data,
            "lead": [named(d) for d in data["lead"]],
            "spokesperson": named(data["spokesperson"]),
            "sign_off": [named(d) for d in data["sign_off"]],
        })


def _person(role: str, person: Person | None) -> Named | None:
    if person is None:
        return None
    return Named(role, ROLE_LABELS[role], person.name, person.email, person.slack_user_id,
                 person.teams_user_id)


def _agency_office(agency: Agency | None) -> Named:
    if agency is None:
        return Named("agency", ROLE_LABELS["agency"], "the agency concerned (not named)")
    person = agency.press_office or agency.escalation_contact
    label = f"{agency.name} press office"
    if person is None:
        return Named("agency", label, agency.name, agency.request_addresses[0])
    return Named("agency", label, person.name, person.email, person.slack_user_id, person.teams_user_id)


def resolve(
    protocol: Protocol, route: str, *, chair_away: bool, delegate: str | None = None,
    agency: Agency | None = None,
) -> Routing:
    """The people a routing row names now, with the Chair-availability rule applied (6.3)."""
    row = protocol.media.routes[route]
    problems: list[str] = []
    standin: Named | None = None
    fallback = False
    chair = None if chair_away else _person("chair", protocol.roles.chair)
    if chair is None and "chair" in row.roles():
        # SOM l.234-236: the Chair's designate, else the Deputy Chair; otherwise the fallback,
        # which the protocol guarantees is filled.
        for role in [*([delegate] if delegate else []), "deputy_chair"]:
            standin = _person(role, protocol.person(role))
            if standin is not None:
                break
        if standin is None:
            fallback = True
            role = protocol.media.chair_fallback
            standin = _person(role, protocol.person(role))
            problems.append(
                "The Chair is not available and there is no Deputy Chair: the protocol's fallback "
                "speaks. The business manager is alerted (process.md 6.3)."
            )

    def named(role: str) -> Named:
        if role == "chair":
            found = chair or standin
            assert found is not None
            return found
        if role == "agency":
            return _agency_office(agency)
        found = _person(role, protocol.person(role))
        if found is None:  # a role the protocol does not fill (the Deputy, when absent)
            problems.append(f"No {ROLE_LABELS[role]} is configured.")
            return Named(role, ROLE_LABELS[role], "not configured")
        return found

    lead = list({n.role: n for n in (named(r) for r in row.lead)}.values())
    sign_off = list({n.role: n for n in (named(r) for r in row.sign_off)}.values())
    return Routing(
        route=route, row=MEDIA_ROUTES[route], lead=lead, spokesperson=named(row.speaks),
        sign_off=sign_off, output=row.output, output_label=MEDIA_OUTPUTS[row.output],
        source=row.source, note=row.note, chair_standin=standin.role if standin else None,
        fallback=fallback, problems=problems,
    )
