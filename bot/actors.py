"""Who is asking (issue 11): one ``Actor`` for every door, resolved from the protocol's people.

A door (Slack, Teams, the CLI, the mail intake, the clock) names the person by the identity its
surface knows (a Slack user id, a Teams AAD object id, an email address, a login) and passes any
roles its platform told it (``groups``: Slack's business-unit usergroup). The core decides what
each role may do (:func:`require_role`); a refusal is audited by the use case that refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import Refused
from bot.protocol import MEDIA_ROLES, Person

if TYPE_CHECKING:
    from bot.core import Core

SURFACES = ("slack", "teams", "email", "cli", "clock")
#: The roles whose holders may work cases: the business manager and the unit's members
#: (process.md 2: the business unit screens, accepts, requests and records).
BUSINESS_UNIT = "business_unit"
#: Someone on the server (the CLI): may do what the business unit may (decision 0016).
OPERATOR = "operator"
#: The press office, the business unit and the officials the media protocol names (process.md 6).
MEDIA_TEAM = "media_team"


@dataclass(frozen=True)
class Actor:
    #: The audit identity, unchanged format: "slack:U123", "teams:<aad object id>", an email
    #: address, "cli:<login>", "clock".
    key: str
    surface: str
    roles: frozenset[str]
    email: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def business_unit(self) -> bool:
        """May work cases: the business unit, or an operator on the server."""
        return self.has(BUSINESS_UNIT) or self.has(OPERATOR)

    @property
    def media_team(self) -> bool:
        return self.has(MEDIA_TEAM)


def actor_key(surface: str, user_id: str | None, email: str | None) -> str:
    """The audit identity of a person on ``surface`` (the formats the audit log has always had)."""
    if surface in ("slack", "teams", "cli") and user_id:
        return f"{surface}:{user_id}"
    if surface == "clock":
        return "clock"
    if email:
        return email.strip().lower()
    raise ValueError(f"an actor on {surface} needs a user id or an email address")


def _matches(person: Person, surface: str, user_id: str | None, email: str | None) -> bool:
    if user_id and surface == "slack" and person.slack_user_id == user_id:
        return True
    if user_id and surface == "teams" and person.teams_user_id == user_id:
        return True
    return bool(email) and person.email.lower() == (email or "").strip().lower()


def protocol_roles(core: Core, *, surface: str, user_id: str | None, email: str | None) -> set[str]:
    """The roles the protocol gives the person a door names (by its surface's id, then email)."""
    roles = core.protocol.roles
    found: set[str] = set()
    if any(_matches(p, surface, user_id, email) for p in [roles.business_manager, *roles.business_unit]):
        found.add(BUSINESS_UNIT)
    for role in MEDIA_ROLES:
        person = core.protocol.person(role)
        if person is not None and _matches(person, surface, user_id, email):
            found.add(role)
    return found


def resolve_actor(
    core: Core, *, surface: str, user_id: str | None = None, email: str | None = None,
    groups: Iterable[str] = (),
) -> Actor:
    """The actor a door names. ``groups``: roles the door learned from its platform."""
    if surface not in SURFACES:
        raise ValueError(f"surface must be one of: {', '.join(SURFACES)}")
    roles = protocol_roles(core, surface=surface, user_id=user_id, email=email) | set(groups)
    if surface == "cli":
        roles.add(OPERATOR)
    if roles & {BUSINESS_UNIT, OPERATOR, *MEDIA_ROLES}:
        # The media team as bot/media_team.py has always derived it: everyone the media protocol
        # names, the business unit, and someone on the server.
        roles.add(MEDIA_TEAM)
    return Actor(
        key=actor_key(surface, user_id, email), surface=surface, roles=frozenset(roles),
        email=email.strip().lower() if email else None,
    )


def require_role(actor: Actor, *roles: str, refusal: str) -> None:
    """Refuse unless the actor holds one of ``roles`` (the operator may do what the business
    unit may). The caller audits the refusal (``action_refused`` / ``media_action_refused``)."""
    held = set(actor.roles)
    if OPERATOR in held:
        held |= {BUSINESS_UNIT, MEDIA_TEAM}
    if not held & set(roles):
        raise Refused(refusal)
