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
from datetime import date, datetime
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from bot.clock import Clock, FixedClock, SystemClock, as_utc
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
            from bot.settings import Settings

            settings = Settings()
            # Commands print their own results; only `run` logs at the configured level.
            configure_logging(settings.log_level if self.verbose else "WARNING")
            self._app = create_app(settings, clock=self.clock)
        return self._app

    @property
    def core(self) -> Any:
        return self.app.core


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@contextmanager
def handled() -> Iterator[None]:
    """Turn the core's refusals into a clear message and exit code 2, never a traceback."""
    try:
        yield
    except (ServiceError, ProtocolError, UnknownAgency) as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(str(exc))


def parse_when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date-time (2026-11-23T09:30)") from None
    if parsed.tzinfo is None:
        from zoneinfo import ZoneInfo

        parsed = parsed.replace(tzinfo=ZoneInfo("Europe/London"))  # what a person means
    return as_utc(parsed)


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _when_cb(_c: click.Context, _p: click.Parameter, v: str | None) -> datetime | None:
    return parse_when(v)


def _day_cb(_c: click.Context, _p: click.Parameter, v: str | None) -> date | None:
    return parse_day(v)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


pass_ctx = click.make_pass_decorator(Ctx)


def _local(iso: str | None) -> str:
    if not iso:
        return "-"
    from bot.mailer import local_time

    return local_time(datetime.fromisoformat(iso))

