"""The Chair's absence (process.md 6.3; SOM l.234-236): recorded and cancelled by the media team;
meanwhile new enquiries name the Deputy Chair (or the delegate) as spokesperson and sign-off."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot import media, media_team
from bot.actors import Actor
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.media_routing import ROLE_LABELS
from bot.protocol import MEDIA_ROLES
from bot.usecases.common import TEAM_ONLY, Values, choice, moment, once
from bot.usecases.result import Choice, FieldSpec, Form, NextAction, Result

CANCEL = NextAction("absence_cancel", "Cancel", confirm_title="Cancel the absence?",
                    confirm="New enquiries will name the Chair again for this period.",
                    confirm_button="Cancel absence")
AWAY = NextAction("chair_away", "Chair away", form=True)
#: The Home tab shows this many absences (current and future).
MAX_ABSENCES = 5


def _require_team(core: Core, actor: Actor, action: str) -> None:
    if not actor.media_team:
        media.record_refusal(core, ref="", actor=actor.key, action=action, reason=TEAM_ONLY)
        raise Refused(TEAM_ONLY)


def delegate_choices(core: Core) -> tuple[Choice, ...]:
    """Who may stand in for the Chair: the media roles the protocol fills, except the Chair."""
    return tuple(
        Choice(role, f"{ROLE_LABELS[role]} ({p.name})"[:75])
        for role in MEDIA_ROLES if role != "chair" and (p := core.protocol.person(role)) is not None
    )


def absence_rows(session: Session, core: Core) -> list[dict[str, Any]]:
    labels = {c.value: c.label for c in delegate_choices(core)}
    return [
        {"id": a.id, "starts_at": a.starts_at.isoformat(), "ends_at": a.ends_at.isoformat(),
         "delegate": a.delegate, "stands_in": labels.get(a.delegate or "", "")
         or "the Deputy Chair (or the protocol's fallback)", "current": a.starts_at <= core.clock.now()}
        for a in media_team.chair_absences(session, core)[:MAX_ABSENCES]
    ]


def chair_away_form(core: Core, actor: Actor) -> Form:
    _require_team(core, actor, "chair_away")
    return Form(
        action="chair_away", title="Chair away", submit="Record",
        intro="While the Chair is away, new media enquiries name the stand-in as spokesperson and "
              "sign-off (SOM l.234-236). Enquiries already received keep their routing.",
        fields=(
            FieldSpec("starts_at", "Away from", "datetime", required=True, initial=core.clock.now()),
            FieldSpec("ends_at", "Back at", "datetime", required=True),
            FieldSpec("delegate", "Who stands in (empty: the Deputy Chair)", "choice",
                      options=delegate_choices(core)),
        ),
    )


def set_chair_away(core: Core, actor: Actor, values: Values, *, key: str | None = None) -> Result:
    """Record that the Chair is away; the Deputy (or the delegate, SOM l.234) speaks meanwhile."""
    _require_team(core, actor, "chair_away")
    starts, ends = moment(values, "starts_at"), moment(values, "ends_at")
    given = (("starts_at", starts), ("ends_at", ends))
    errors = {name: "Choose a date and time." for name, v in given if v is None}
    if errors or starts is None or ends is None:
        raise Invalid(errors)

    def run(session: Session) -> Result:
        absence = media_team.set_chair_absence(
            session, core, starts_at=starts, ends_at=ends, actor=actor.key,
            delegate=choice(values, "delegate"), team_member=actor.media_team,
        )
        return Result(message=f"#{absence.id}: the Chair is away", data={"absence_id": absence.id})

    return once(core, actor, key, run)


def cancel_chair_away(core: Core, actor: Actor, absence_id: int, *, key: str | None = None) -> Result:
    _require_team(core, actor, "cancel_chair_absence")

    def run(session: Session) -> Result:
        media_team.cancel_chair_absence(session, core, absence_id, actor=actor.key,
                                        team_member=actor.media_team)
        return Result(message=f"#{absence_id}: cancelled", data={"absence_id": absence_id})

    return once(core, actor, key, run)
