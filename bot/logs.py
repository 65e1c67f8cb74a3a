"""Logging that never leaks: secrets masked, third-party bodies never written, text or JSON lines.

Issue 9 item 4: with ``LOG_LEVEL=DEBUG`` Slack's client libraries logged request and response
bodies (statement text, the case card, typed values), and ``review-bot run`` printed the
DATABASE_URL with its password. Two lines of defence, both here:

1. Third-party loggers that can log bodies are capped at WARNING whatever LOG_LEVEL says
   (:data:`QUIET_LIBRARIES`); below WARNING they carry wire traffic, nothing an operator needs.
2. Every handler we install carries :class:`RedactingFilter`: a third-party record below WARNING
   is dropped even if someone lowers that logger's level again, a third-party message is cut to
   its first line, and every message has passwords in URLs, Slack tokens, bearer tokens and the
   configured secret values masked.

Our own log lines are format strings with facts as arguments (references, counts, states): the
privacy rule (DEVELOPERS.md) forbids child/family identifiers and free text in any log line.
Structured fields (case reference, actor, event) go in ``extra=`` and become JSON fields.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

#: Loggers that log request/response bodies at DEBUG or INFO (slack_sdk's "Received the following
#: response", httpcore's trace, exchangelib's SOAP XML, msal's token exchange, urllib3's wire log).
QUIET_LIBRARIES = (
    "slack_sdk", "slack_bolt", "httpx", "httpcore", "exchangelib", "msal", "urllib3", "requests",
    "requests_oauthlib", "websocket", "aiohttp",
    # Not a leak, but two INFO lines on every readiness probe; start-up says what it migrated.
    "alembic",
)
#: Lines longer than this are cut before masking: bounded work per record whatever it holds.
MAX_MESSAGE = 4000
MASK = "***"

# Linear-time patterns (bounded repeats, a literal anchor each): see "Trust nothing from outside".
_URL_PASSWORD = re.compile(r"(://[^:/@\s]{0,256}:)[^@\s/]{1,256}@")
_SLACK_TOKEN = re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]{1,250}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s{1,4})[A-Za-z0-9._~+/=-]{1,4096}")
#: ``password=...``, ``"access_token": "..."``, ``SLACK_SIGNING_SECRET=...`` (any prefix of the key).
_KEY_VALUE = re.compile(
    r"(?i)([a-z_]{0,40}(?:password|passwd|pwd|secret|token|api_key))"
    r"(['\"]?\s{0,3}[=:]\s{0,3}['\"]?)[^\s&,;'\"]{1,512}"
)


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret we can recognise replaced by ``***``."""
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + " [cut]"
    for value in secrets:
        if value:
            text = text.replace(value, MASK)
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    text = _SLACK_TOKEN.sub(rf"\g<1>-{MASK}", text)
    text = _BEARER.sub(rf"\g<1>\g<2>{MASK}", text)
    return _KEY_VALUE.sub(rf"\g<1>\g<2>{MASK}", text)


def mask_url(url: str) -> str:
    """A database (or any) URL fit to print: the password replaced by ``***``."""
    return _URL_PASSWORD.sub(rf"\g<1>{MASK}@", url)


def is_third_party(name: str) -> bool:
    return any(name == lib or name.startswith(lib + ".") for lib in QUIET_LIBRARIES)


def safe_exception_text(error: BaseException | None) -> str:
    """A traceback for a log line: the frames (our source lines) and each exception's type and
    message with quoted values, identifiers and a database statement's parameters removed
    (bot.privacy.log_message). Python's own text would print SQLAlchemy's parameters: raw mail,
    names. Chained causes are kept, the same way, a few deep."""
    from bot.privacy import log_message

    parts: list[str] = []
    depth = 0
    while error is not None and depth < 5:
        frames = "".join(traceback.format_tb(error.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{log_message(error)}")
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        depth += 1
    return "\n\nwhich was raised while handling:\n".join(parts)


class RedactingFilter(logging.Filter):
    """Second line of defence, on every handler we install (see the module docstring)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Short values would mask ordinary words; real secrets are long.
        self.secrets = tuple(s for s in secrets if s and len(s) >= 8)

    def filter(self, record: logging.LogRecord) -> bool:
        third_party = is_third_party(record.name)
        if third_party and record.levelno < logging.WARNING:
            return False
        message = record.getMessage()
        if third_party:
            # A library's warning may quote what it was sending after the first line.
            message = message.split("\n", 1)[0][:300]
        record.msg, record.args = mask_secrets(message, self.secrets), None
        if record.exc_info:
            # Always ours: another handler may already have cached Python's own text on the record.
            record.exc_text = safe_exception_text(record.exc_info[1])
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text, self.secrets)
        return True


#: Attributes every LogRecord has; anything else came in through ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key in _STANDARD or key.startswith("_"):
            continue
        fields[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            # The log line's own timestamp, not a domain time (those come from the injected clock).
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            # Always ours: another handler may already have cached Python's own text on the record.
            record.exc_text = safe_exception_text(record.exc_info[1])
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message key=value ...``: the ``extra=`` fields follow the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatException(self, ei: Any) -> str:
        return safe_exception_text(ei[1])

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in extra_fields(record).items() if v is not None}
        if not fields:
            return line
        head, sep, tail = line.partition("\n")
        return head + "".join(f" {k}={v}" for k, v in fields.items()) + sep + tail


def configure_logging(level: str, *, fmt: str = "text", secrets: Iterable[str] = (),
                      stream: TextIO | None = None) -> logging.Handler:
    """Install one handler on the root logger (replacing earlier ones we installed) and cap the
    loud libraries. Returns the handler (tests read what it wrote)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_review_bot", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler._review_bot = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Every tick would otherwise log three scheduler lines; our own tick summary says enough.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler


def settings_secrets(settings: Any) -> list[str]:
    """The secret values in ``settings`` (SecretStr fields and the database password), to mask."""
    from pydantic import SecretStr
    from sqlalchemy.engine import make_url

    values = [v.get_secret_value() for v in settings.__dict__.values() if isinstance(v, SecretStr)]
    try:
        password = make_url(settings.database_url).password
    except Exception:  # an unparsable URL fails later, with its own message
        password = None
    if password:
        values.append(str(password))
    return values
