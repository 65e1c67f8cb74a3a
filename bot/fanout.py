"""Who is told, decided once in the core for every chat surface (issue 11; decision 0019).

Each function returns protocol people (:class:`Recipient`, a :class:`bot.media_routing.Named` with
the surfaces' user ids and why the person is told), each person once even when they hold several
of the roles. A surface's notifier delivers to those it can reach (``recipient.user_id("slack")``)
and drops the others: it never decides who. Email has its own recipients (bot.media.recipients).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.core import Core
from bot.media import routing_of
from bot.media_routing import ROLE_LABELS, Named
from bot.models import Case, MediaEnquiry
from bot.protocol import Person

#: The surfaces whose user ids a person in the protocol (or an actor key) may carry.
CHAT_SURFACES = ("slack", "teams")


@dataclass(frozen=True)
class Recipient(Named):
    """A person to tell, and why ("the press office", "the spokesperson (Chair)")."""

    #: The Entra object id Teams gives the person (Person.teams_user_id), when known.
    teams_user_id: str | None = None
    reasons: tuple[str, ...] = ()

    def user_id(self, surface: str) -> str | None:
        """The person's id on a chat surface; None: that surface cannot reach them."""
        if surface == "slack":
            return self.slack_user_id
        if surface == "teams":
            return self.teams_user_id
        return None

    @property
    def told_as(self) -> str:
        return " and ".join(self.reasons)


def _teams_id(person: Any) -> str | None:
    # Person.teams_user_id arrives with the Actor (issue 11); read softly until then.
    value = getattr(person, "teams_user_id", None)
    return str(value) if value else None


def _of_person(role: str, person: Person, reason: str) -> Recipient:
    return Recipient(role, ROLE_LABELS.get(role, role), person.name, person.email, person.slack_user_id,
                     teams_user_id=_teams_id(person), reasons=(reason,))


def _of_named(core: Core, named: Named, reason: str) -> Recipient:
    """A person a routing named when the enquiry arrived; the Teams id comes from the protocol's
    holder of the role now, when that is still the same person (same email)."""
    person = core.protocol.person(named.role)
    teams = _teams_id(person) if person is not None and named.email and person.email == named.email else None
    return Recipient(named.role, named.label, named.name, named.email, named.slack_user_id,
                     teams_user_id=teams, reasons=(reason,))


def _identity(recipient: Recipient) -> str:
    if recipient.email:
        return f"email:{recipient.email.lower()}"
    return f"{recipient.role}:{recipient.slack_user_id}:{recipient.teams_user_id}"


def merged(recipients: list[Recipient]) -> list[Recipient]:
    """Each person once, in the order first named, with every reason they are told for; people
    no surface and no email can reach are left out."""
    by_person: dict[str, Recipient] = {}
    for r in recipients:
        if not (r.email or any(r.user_id(s) for s in CHAT_SURFACES)):
            continue
        key = _identity(r)
        found = by_person.get(key)
        if found is None:
            by_person[key] = r
        else:
            by_person[key] = replace(
                found, slack_user_id=found.slack_user_id or r.slack_user_id,
                teams_user_id=found.teams_user_id or r.teams_user_id,
                reasons=found.reasons + tuple(x for x in r.reasons if x not in found.reasons),
            )
    return list(by_person.values())


def media_audience(core: Core, enquiry: MediaEnquiry) -> list[Recipient]:
    """Told of a new media enquiry (process.md D-M1, M-1; SOM l.220): the spokesperson the routing names,
    the press office and the business manager."""
    routing = routing_of(enquiry)
    roles = core.protocol.roles
    found = [_of_named(core, routing.spokesperson, f"the spokesperson ({routing.spokesperson.label})")]
    if roles.press_office is not None:
        found.append(_of_person("press_office", roles.press_office, "the press office"))
    found.append(_of_person("business_manager", roles.business_manager, "the business manager"))
    return merged(found)


def unacknowledged_audience(core: Core, enquiry: MediaEnquiry) -> list[Recipient]:
    """Told when an alert is repeated unacknowledged (issue 4 item 3; process.md 6.3): the
    business manager."""
    bm = core.protocol.roles.business_manager
    return merged([_of_person("business_manager", bm, "the business manager")])


def business_unit(core: Core) -> list[Recipient]:
    """The business unit (the business manager and the protocol's business unit people)."""
    roles = core.protocol.roles
    found = [_of_person("business_manager", roles.business_manager, "the business unit")]
    found += [_of_person("business_unit", p, "the business unit") for p in roles.business_unit]
    return merged(found)


def referrer(core: Core, key: str) -> Recipient | None:
    """The person an actor key names ("slack:U123", "teams:<object id>", an email address): the
    protocol's person when they are in it, else someone reachable only where they referred from."""
    surface, _, user_id = key.partition(":")
    everyone = [p for p in (core.protocol.roles.business_manager, *core.protocol.roles.business_unit)]
    everyone += [p for r in ROLE_LABELS if (p := core.protocol.person(r)) is not None]
    for person in everyone:
        ids = {"slack": person.slack_user_id, "teams": _teams_id(person)}
        if (surface in ids and user_id and ids[surface] == user_id) or person.email.lower() == key.lower():
            return _of_person("referrer", person, "the referrer")
    if surface in CHAT_SURFACES and user_id:
        ids = {"slack_user_id": user_id} if surface == "slack" else {"teams_user_id": user_id}
        return Recipient("referrer", "Referrer", "the referrer", reasons=("the referrer",), **ids)
    if "@" in key and ":" not in key:
        return Recipient("referrer", "Referrer", "the referrer", key, reasons=("the referrer",))
    return None  # "cli:<login>", "clock": nobody to tell in chat


def case_audience(core: Core, case: Case, kind: str = "case_opened") -> list[Recipient]:
    """Who is told of a case event in person (the card itself goes to the business unit's
    channel): on a new referral, the referrer's acknowledgement with the case reference
    (process.md 2.2 R0: "send an acknowledgement")."""
    if kind != "case_opened":
        return []
    found = referrer(core, case.referrer)
    return merged([found]) if found is not None else []
