"""Who the media protocol involves (process.md 6): the team that may act on enquiries, and the
Chair's absence (process.md 6.3), during which the Deputy or a delegate speaks.

The enquiry lifecycle is in :mod:`bot.media`; routing uses :func:`chair_absence_at`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot import audit
from bot.core import Core
from bot.errors import Invalid, NotFound, Refused
from bot.media_routing import ROLE_LABELS, Named
from bot.models import ChairAbsence
from bot.protocol import MEDIA_ROLES

# --- who is who --------------------------------------------------------------------------------


def actor_is(named: Named, actor: str) -> bool:
    """Whether ``actor`` (an email address, ``slack:U...`` or ``teams:<id>``) is the person ``named``."""
    actor = actor.strip().lower()
    if named.email and actor == named.email.lower():
        return True
    if named.teams_user_id and actor == f"teams:{named.teams_user_id}".lower():
        return True
    return bool(named.slack_user_id) and actor == f"slack:{named.slack_user_id}".lower()


def media_people(core: Core) -> list[Named]:
    """Everyone the media protocol involves: may acknowledge and see enquiries."""
    roles = core.protocol.roles
    people = [
        Named(role, ROLE_LABELS[role], p.name, p.email, p.slack_user_id, p.teams_user_id)
        for role in MEDIA_ROLES if (p := core.protocol.person(role)) is not None
    ]
    people += [Named("business_unit", "Business unit", p.name, p.email, p.slack_user_id, p.teams_user_id)
               for p in roles.business_unit]
    return people


def is_media_team(core: Core, actor: str) -> bool:
    return actor.startswith("cli:") or any(actor_is(p, actor) for p in media_people(core))


def require_team(core: Core, actor: str, team_member: bool, action: str) -> None:
    if not (team_member or is_media_team(core, actor)):
        raise Refused(
            f"Only the press office, the business unit and the people the media protocol names "
            f"can {action}."
        )


# --- the Chair's absence (process.md 6.3) -------------------------------------------------------


def chair_absence_at(session: Session, at: datetime) -> ChairAbsence | None:
    return session.exec(
        select(ChairAbsence)
        .where(ChairAbsence.starts_at <= at, ChairAbsence.ends_at > at,
               col(ChairAbsence.cancelled_at).is_(None))
        .order_by(col(ChairAbsence.id).desc())
    ).first()


def set_chair_absence(
    session: Session, core: Core, *, starts_at: datetime, ends_at: datetime, actor: str,
    delegate: str | None = None, team_member: bool = False,
) -> ChairAbsence:
    """Record that the Chair is away; the Deputy (or ``delegate``, SOM l.234) speaks meanwhile."""
    require_team(core, actor, team_member, "record the Chair's absence")
    if ends_at <= starts_at:
        raise Invalid({"ends_at": "the absence must end after it starts"})
    if ends_at <= core.clock.now():
        raise Invalid({"ends_at": "the absence has already ended"})
    if delegate is not None:
        if delegate not in MEDIA_ROLES or delegate == "chair":
            raise Invalid({
                "delegate": f"delegate must be a role: {', '.join(r for r in MEDIA_ROLES if r != 'chair')}"
            })
        if core.protocol.person(delegate) is None:
            raise Invalid({"delegate": f"nobody holds the role {delegate} in the protocol "
                                       f"(roles.{delegate})"})
    absence = ChairAbsence(
        starts_at=starts_at, ends_at=ends_at, delegate=delegate, created_by=actor,
        created_at=core.clock.now(),
    )
    session.add(absence)
    session.flush()
    audit.record(
        session, at=core.clock.now(), actor=actor, kind="chair_absence_set",
        absence_id=absence.id, starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(),
        delegate=delegate or "",
    )
    return absence


def cancel_chair_absence(
    session: Session, core: Core, absence_id: int, *, actor: str, team_member: bool = False
) -> None:
    require_team(core, actor, team_member, "change the Chair's absence")
    absence = session.get(ChairAbsence, absence_id)
    if absence is None or absence.cancelled_at is not None:
        raise NotFound(f"no current Chair absence {absence_id}")
    absence.cancelled_at, absence.cancelled_by = core.clock.now(), actor
    audit.record(
        session, at=core.clock.now(), actor=actor, kind="chair_absence_cancelled",
        absence_id=absence_id,
    )


def chair_absences(session: Session, core: Core) -> list[ChairAbsence]:
    """Current and future absences, soonest first."""
    return list(session.exec(
        select(ChairAbsence)
        .where(ChairAbsence.ends_at > core.clock.now(), col(ChairAbsence.cancelled_at).is_(None))
        .order_by(ChairAbsence.starts_at)
    ))
