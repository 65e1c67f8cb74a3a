"""What every ``review-bot`` command shares: the context, clean refusals, dates, output.

Exit codes: 0 done; 2 bad input or a refused action (the message says what to do instead).
The CLI is for the business unit's operators, who already hold the database: it records the
actor (``--actor``, default ``cli:<login name>``) on every event.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click
from pydantic import ValidationError

from bot.clock import Clock, FixedClock, SystemClock, as_utc
from bot.dates import DAY_EXAMPLES, LONDON, is_iso, read_day, read_moment, uk_day, uk_time
from bot.errors import ServiceError
from bot.protocol import ProtocolError, UnknownAgency


class Ctx:
    def __init__(self, now: datetime | None, actor: str | None) -> None:
        self.clock: Clock = FixedClock(now) if now else SystemClock()
        self.actor = actor or f"cli:{_login()}"
        self.verbose = False
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            from bot.app import configure_logging, create_app
            from bot.mail.gateway import MailboxError

            settings = load_settings()
            # Commands print their own results; only `run` logs at the configured level.
            configure_logging(settings.log_level if self.verbose else "WARNING", settings)
            try:
                self._app = create_app(settings, clock=self.clock)
            except ProtocolError as exc:
                fail(str(exc))
            except MailboxError as exc:
                fail(f"mailbox: {exc}")
            except ServiceError as exc:  # e.g. a schema refusal (decision 0014)
                fail(str(exc))
        return self._app

    @property
    def core(self) -> Any:
        return self.app.core

    def who(self) -> Any:
        """The core's actor for ``--actor`` (default ``cli:<login>``): an operator on the server,
        with the roles the protocol gives an email address (e.g. a signer for ``media approve``)."""
        from dataclasses import replace

        from bot.actors import resolve_actor

        if self.actor.startswith("cli:"):
            return resolve_actor(self.core, surface="cli", user_id=self.actor.removeprefix("cli:"))
        if "@" in self.actor:
            return resolve_actor(self.core, surface="cli", email=self.actor)
        return replace(resolve_actor(self.core, surface="cli", user_id=self.actor), key=self.actor)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def fail(message: str) -> NoReturn:
    """One ``error:`` line per problem on stderr, exit 2: never a traceback for bad input."""
    for line in message.splitlines() or [""]:
        click.echo(f"error: {line}", err=True)
    sys.exit(2)


def load_settings() -> Any:
    """The settings, or one clean line per bad setting (``MAIL_BACKEND: 'grahp' ...``)."""
    from bot.settings import Settings, settings_problems

    try:
        return Settings()
    except ValidationError as exc:
        fail("\n".join(f"setting {p}" for p in settings_problems(exc)))


@contextmanager
def handled() -> Iterator[None]:
    """Turn the core's refusals into a clear message and exit code 2, never a traceback."""
    try:
        yield
    except (ServiceError, ProtocolError, UnknownAgency) as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors(include_url=False)))


def _said(value: str, understood: str, *, explain_iso_day: bool = False) -> None:
    """Say how a date that is not ISO 8601 was read (day first, as in the UK), or which time of
    day a bare ISO day became: on stderr, so stdout stays the command's output."""
    if not is_iso(value) or (explain_iso_day and len(value.strip()) <= 10):
        click.echo(f"read {value!r} as {understood}", err=True)


def parse_when(value: str | None, now: datetime | None = None,
               default_time: time = time(9)) -> datetime | None:
    """A moment as the mail intake reads one (bot.dates); London time unless an offset is given.
    Without a time of day: ``default_time`` (the start of the working day for ``--now``)."""
    if value is None:
        return None
    parsed = read_moment(value, now or SystemClock().now(), default_time=default_time)
    if parsed is None:
        raise click.BadParameter(
            f"{value!r} is not a date and time; write e.g. 2026-11-23T09:30, \"2026-11-23 09:30\", "
            f"\"23/11/2026 09:30\" (day first), \"tomorrow 10:30\" or \"4pm today\""
        )
    _said(value, uk_time(parsed), explain_iso_day=True)
    return as_utc(parsed)


def parse_day(value: str | None, today: date | None = None) -> date | None:
    if value is None:
        return None
    parsed = read_day(value, today)
    if parsed is None:
        raise click.BadParameter(f"{value!r} is not a date; write e.g. {DAY_EXAMPLES}")
    _said(value, uk_day(parsed))
    return parsed


def _clock_of(c: click.Context) -> Clock | None:
    ctx = c.find_object(Ctx)
    return ctx.clock if ctx is not None else None


def _when_cb(c: click.Context, _p: click.Parameter, v: str | None) -> datetime | None:
    clock = _clock_of(c)
    return parse_when(v, clock.now() if clock else None)


def _deadline_cb(c: click.Context, _p: click.Parameter, v: str | None) -> datetime | None:
    """A deadline without a time of day is 17:00, as the intake reads a journalist's."""
    clock = _clock_of(c)
    return parse_when(v, clock.now() if clock else None, default_time=time(17))


def _day_cb(c: click.Context, _p: click.Parameter, v: str | None) -> date | None:
    clock = _clock_of(c)
    return parse_day(v, clock.now().astimezone(ZoneInfo(LONDON)).date() if clock else None)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


pass_ctx = click.make_pass_decorator(Ctx)


def _local(iso: str | None) -> str:
    """An ISO moment from a view as people read it: Mon 23 Nov 2026 10:00 (London time)."""
    if not iso:
        return "-"
    return uk_time(datetime.fromisoformat(iso))


# --- human output: the labels people see, UK dates; JSON output keeps keys and ISO ---------


def stage_label(stage: str) -> str:
    from bot.stages import LABELS, Stage

    try:
        return LABELS[Stage(stage)]
    except ValueError:
        return stage


def deadline_kind_label(kind: str) -> str:
    from bot.deadlines import KIND_LABEL, STATUTORY

    if kind in STATUTORY:
        return STATUTORY[kind][0]
    return KIND_LABEL.get(kind, kind.replace("_", " "))


def human_value(key: str, value: Any) -> str:
    """One timeline detail as a person reads it: stage and deadline names as labels, moments in
    UK time without microseconds, lists joined."""
    if isinstance(value, str) and len(value) > 10 and value[:4].isdigit() and "T" in value:
        try:
            return uk_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    if key in ("from", "to", "stage"):
        return stage_label(str(value))
    if key == "deadline":
        return deadline_kind_label(str(value))
    if key in ("request_kind", "kind"):
        return deadline_kind_label(str(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


#: Timeline keys that would read as internal names.
_KEY_LABELS = {"sin_submitted_at": "notification submitted", "sin_on_time": "on time",
               "request_kind": "request", "due_at": "due"}


def human_detail(detail: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    return ", ".join(f"{_KEY_LABELS.get(k, k.replace('_', ' '))} {human_value(k, v)}"
                     for k, v in detail.items() if v not in (None, [], "") and k not in skip)


def human_day(iso: str | None) -> str:
    from bot.dates import uk_date

    return uk_date(date.fromisoformat(iso)) if iso else "-"


def _count(n: Any, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def received_line(r: dict[str, Any]) -> str:
    """One message a tick read, without its sender or subject (privacy: no free text)."""
    kind = str(r.get("classification") or "message").replace("_", " ")
    parts = [f"  {kind}"]
    if r.get("case"):
        parts.append(f"on {r['case']}")
    if r.get("agency"):
        parts.append(f"from {r['agency']}")
    if r.get("triage"):
        parts.append(f"(held for triage: {str(r['triage']).replace('_', ' ')})")
    return " ".join(parts)


def tick_line(s: dict[str, Any], at: datetime) -> str:
    line = (f"tick at {uk_time(at)}: {_count(s['received'], 'message', 'messages')} read, "
            f"{_count(s['deadline_steps'], 'deadline step', 'deadline steps')}, "
            f"{_count(s['media_steps'], 'media step', 'media steps')}, "
            f"{_count(s['sent'], 'mail', 'mails')} sent")
    if s.get("held_for_working_hours"):
        line += f", {s['held_for_working_hours']} held until working hours"
    if s.get("send_failures"):
        line += f", {s['send_failures']} failed to send (retried next tick)"
    if s.get("sends_unconfirmed"):
        line += (f", {s['sends_unconfirmed']} may have gone (looked for in the mailbox's sent "
                 "mail before any resend)")
    if s.get("mailbox_error"):
        line += f"; mailbox unreachable: {s['mailbox_error']}"
    if s.get("mailbox_read_by"):
        # Otherwise "0 messages read" looks like an empty mailbox (decision 0013: one reader).
        line += (f"; mailbox not read: another instance reads it ({s['mailbox_read_by']}); its "
                 "lease ends within one tick interval if it has stopped")
    return line
