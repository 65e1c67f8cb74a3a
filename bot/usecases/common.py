"""What every use case shares: one transaction per request (``doors.once``), refusals audited,
and the answers a form sends back read into Python values (dates, lists) the same for every door.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, select

from bot import audit, doors
from bot.actors import Actor
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import Case
from bot.privacy import redact
from bot.usecases.result import FieldSpec, Result

#: The refusal a person sees when the business unit's action is not theirs (issue 3 item 7).
REFUSED = (
    "Only the safeguarding business unit can do this. If you think you should be able to, "
    "ask the business manager."
)
#: The media team's refusal (process.md 6: the press office, the business unit and the officials
#: the media protocol names).
TEAM_ONLY = (
    "Only the press office, the business unit and the officials the media protocol names can do "
    "this. If you think you should be able to, ask the business manager."
)
#: The same line for every form's free text: it stays in the record (process.md 8.4).
REASON_HINT = "Kept in the case record only; never posted in a chat. Do not type names."
NO_NAMES = (
    "Do not type names, dates of birth, addresses or a description of what happened. "
    "Send identifying details by secure email to the business unit."
)

Values = dict[str, Any]


def once(core: Core, actor: Actor, key: str | None, action: Callable[[Session], Result]) -> Result:
    """Run ``action`` in ONE transaction, once per door ``key``; a repeat gets the first answer
    back with ``repeat=True`` (the door shows it and does nothing again)."""
    fresh: list[Result] = []

    def run(session: Session) -> dict[str, Any]:
        result = action(session)
        fresh.append(result)
        return result.to_record()

    record, first = doors.once(core, key=key, surface=actor.surface, action=run)
    return fresh[-1] if first and fresh else Result.from_record(record, repeat=True)


def case_refused(core: Core, actor: Actor, action: str, ref: str | None) -> None:
    """The audit event for a refused case action (process.md 8.4 item 8), in its own transaction
    (the refused one, if any, rolled back)."""
    with core.transaction() as session:
        case_id = None
        if ref:
            case_id = session.exec(select(Case.id).where(Case.ref == ref.strip().upper())).first()
        audit.record(session, at=core.clock.now(), actor=actor.key, kind="action_refused",
                     case_id=case_id, action=action)


def require_business_unit(core: Core, actor: Actor, action: str, ref: str | None = None) -> None:
    if not actor.business_unit:
        case_refused(core, actor, action, ref)
        raise Refused(REFUSED)


def echo(typed: str, *, limit: int = 20) -> str:
    """What someone typed, said back to them: one line, identifiers removed, cut short. Not
    escaped: each door escapes for its surface (Slack mrkdwn, Adaptive Card text)."""
    one_line = " ".join(redact(typed or "").split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1].rstrip() + "…"


# --- answers: what a door sends back, as Python values ------------------------------------------


def text(values: Values, name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def choice(values: Values, name: str) -> str | None:
    value = values.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value).strip() or None if value not in (None, "") else None


def choices(values: Values, name: str) -> list[str]:
    value = values.get(name)
    if value in (None, ""):
        return []
    if isinstance(value, str):  # a door that sends "a,b" (Adaptive Cards' multi-select)
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def day(values: Values, name: str) -> date | None:
    value = values.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise Invalid({name: "Give a date (YYYY-MM-DD)."}) from None


def moment(values: Values, name: str) -> datetime | None:
    """A date and time: a datetime, an ISO string, or Unix seconds (Slack's datetimepicker)."""
    value = values.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        if isinstance(value, int | float) or str(value).isdigit():
            return datetime.fromtimestamp(int(value), UTC)
        found = datetime.fromisoformat(str(value).strip())
    except (ValueError, OverflowError, OSError):
        raise Invalid({name: "Give a date and time."}) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def missing(fields: Iterable[FieldSpec], values: Values, messages: dict[str, str]) -> dict[str, str]:
    """The required fields left empty, each with its message (checked on the server: a door's
    own check is a convenience)."""
    return {
        f.name: messages.get(f.name, f"{f.label} is required.")
        for f in fields if f.required and values.get(f.name) in (None, "", [])
    }
