"""Infrastructure settings: where things are and the secrets to reach them (environment / `.env`).

The partnership's process (people, agencies, durations, chase policy) is *not* here: it lives in
the protocol file (see :mod:`bot.protocol`). Every variable is documented in `.env.example`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal, get_args, get_origin

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

MailBackend = Literal["maildir", "graph", "ews", "imap"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- storage -------------------------------------------------------------------------
    #: The one folder every path below hangs from (issue 10: a relative path followed the current
    #: directory, so `review-bot run` started elsewhere created a new, empty database there). A
    #: relative DATA_DIR is made absolute once, at start, and printed; relative SQLite paths,
    #: ATTACHMENTS_DIR, STATE_DIR and MAILDIR are taken inside it (see :meth:`_resolve_paths`).
    data_dir: Path = Path("var")
    database_url: str = "sqlite:///review-bot.sqlite3"
    #: Start-up migrates an older schema (under a lock) instead of refusing (decision 0014).
    db_auto_upgrade: bool = False
    attachments_dir: Path = Path("attachments")
    #: Where mail gateways keep their sync state (Graph delta links, IMAP UIDs).
    state_dir: Path = Path("state")
    #: Attachments above this size are not stored; the message stays in the mailbox and the
    #: business unit is told (20 MiB is Exchange Online's default message size limit region).
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    #: The key-encryption key of identifying data at rest (docs/encryption.md): base64 of 32
    #: bytes, here or in DATA_KEY_FILE (made, 0600, on the first start of a new database). Never
    #: stored in the database; without it the data cannot be read.
    data_key: SecretStr | None = None
    data_key_file: Path = Path("data.key")

    # --- process -------------------------------------------------------------------------
    #: Path to the partnership's protocol TOML. Empty: the built-in Working Together 2023 preset.
    protocol_file: Path | None = None
    tick_seconds: int = Field(default=60, ge=1)

    @field_validator("protocol_file", "imap_ca_file", "smtp_ca_file", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value in ("", None) else value

    log_level: str = "INFO"
    #: text (one line per event, for a terminal) | json (one JSON object per line, for a collector).
    log_format: Literal["text", "json"] = "text"
    #: The health endpoint (/healthz, /readyz); empty or "off" switches it off, 0 takes any free
    #: port (logged). HEALTH_HOST: where it listens (loopback by default; 0.0.0.0 in a container
    #: so the orchestrator reaches it).
    health_port: int | None = Field(default=8080, ge=0, le=65535)
    health_host: str = "127.0.0.1"

    @field_validator("health_port", mode="before")
    @classmethod
    def _empty_port_is_off(cls, value: object) -> object:
        return None if value in ("", "off", None) else value

    # --- mail ----------------------------------------------------------------------------
    mail_backend: MailBackend = "maildir"
    maildir: Path = Path("mail")
    #: The address the bot sends from and agencies reply to.
    mail_from: str = "reviews@partnership.example"

    # Microsoft Graph (Exchange Online)
    graph_tenant_id: str = ""
    graph_client_id: str = ""
    graph_client_secret: SecretStr | None = None
    graph_certificate_path: Path | None = None
    graph_certificate_thumbprint: str = ""
    graph_mailbox: str = ""
    graph_processed_folder: str = "Processed"
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    graph_authority_url: str = "https://login.microsoftonline.com"

    # Exchange Web Services (on-premises Exchange Server)
    ews_service_endpoint: str = ""
    ews_username: str = ""
    ews_password: SecretStr | None = None
    ews_auth_type: Literal["ntlm", "oauth", "basic"] = "ntlm"
    ews_mailbox: str = ""
    ews_autodiscover: bool = False
    ews_processed_folder: str = "Processed"

    # IMAP (intake) and SMTP (sending)
    imap_host: str = ""
    imap_port: int = 993
    imap_security: Literal["tls", "starttls", "none"] = "tls"
    imap_username: str = ""
    imap_password: SecretStr | None = None
    imap_oauth_token: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_processed_folder: str = "Processed"
    #: The folder the SMTP server files sent mail in, if it does (Exchange Online, Gmail): read
    #: after a send whose answer was lost. Empty: such a send is made again.
    imap_sent_folder: str = ""
    #: PEM CA bundle to verify the IMAP server's certificate with, instead of the system store.
    imap_ca_file: Path | None = None
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: Literal["tls", "starttls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    #: PEM CA bundle to verify the SMTP server's certificate with, instead of the system store.
    smtp_ca_file: Path | None = None

    # --- Slack ---------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_business_unit_channel: str = ""
    #: Channel ID for media enquiry alerts (the private comms channel, process.md 6.4); empty:
    #: the business unit channel.
    slack_comms_channel: str = ""
    slack_business_unit_usergroup: str = ""
    port: int = 3000

    # --- Microsoft Teams (docs/teams.md, decision 0020) ----------------------------------------
    #: The bot's Entra app registration (single tenant): its application (client) id, a client
    #: secret, and the tenant. Teams is off unless all three are set.
    teams_app_id: str = ""
    teams_app_password: SecretStr | None = None
    teams_tenant_id: str = ""
    #: Conversation ids of the two channels (``19:...@thread.tacv2``): case cards, media alerts.
    teams_business_unit_channel: str = ""
    #: Empty: the business unit channel (as SLACK_COMMS_CHANNEL).
    teams_media_channel: str = ""
    #: Where the messaging endpoint listens (behind the TLS reverse proxy Azure Bot points at).
    teams_host: str = "127.0.0.1"
    teams_port: int = Field(default=3978, ge=0, le=65535)
    teams_path: str = "/api/messages"
    #: The Bot Connector base URL for messages the bot starts (cards, DMs); replies to an
    #: activity use that activity's (token-checked) serviceUrl.
    teams_service_url: str = "https://smba.trafficmanager.net/teams/"
    #: Only for tests: where the Bot Framework's OpenID metadata and the token issuer are.
    teams_openid_metadata_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    teams_login_url: str = "https://login.microsoftonline.com"

    @property
    def teams_enabled(self) -> bool:
        return bool(self.teams_app_id and self.teams_app_password and self.teams_tenant_id)

    @field_validator("database_url", "attachments_dir", "state_dir", "maildir", "data_dir", "data_key_file",
                     mode="before")
    @classmethod
    def _empty_is_field_default(cls, value: object, info: ValidationInfo) -> object:
        if value in ("", None) and info.field_name is not None:
            return cls.model_fields[info.field_name].default
        return value

    #: Settings that look written for the old rule (relative to the current folder), for start-up.
    _path_doubts: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        """Every path absolute, from DATA_DIR: the same files whichever folder the bot starts in."""
        self.data_dir = self.data_dir.expanduser().resolve()
        # Before DATA_DIR, .env.example said ATTACHMENTS_DIR=var/attachments (relative to the
        # current folder); inside DATA_DIR=var that would be var/var/attachments. Say so at start.
        url = make_url(self.database_url)
        sqlite_path = Path(url.database or "/") if url.get_backend_name() == "sqlite" else Path("/")
        raw = {"ATTACHMENTS_DIR": self.attachments_dir, "STATE_DIR": self.state_dir, "MAILDIR": self.maildir,
               "DATABASE_URL": sqlite_path}
        self._path_doubts = [name for name, path in raw.items()
                             if not path.is_absolute() and path.parts[:1] == (self.data_dir.name,)]
        self.attachments_dir = self.data_dir / self.attachments_dir.expanduser()
        self.state_dir = self.data_dir / self.state_dir.expanduser()
        self.maildir = self.data_dir / self.maildir.expanduser()
        self.data_key_file = self.data_dir / self.data_key_file.expanduser()
        self.database_url = _sqlite_in(self.data_dir, self.database_url)
        return self

    @property
    def old_rule_paths(self) -> list[str]:
        """Settings whose relative value starts with DATA_DIR's own name (``var/attachments``)."""
        return list(self._path_doubts)


def _sqlite_in(data_dir: Path, url: str) -> str:
    """A relative SQLite file path taken inside ``data_dir``; other databases are left alone."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return url
    if Path(database).is_absolute():
        return url
    return parsed.set(database=str(data_dir / database)).render_as_string(hide_password=False)


def settings_problems(exc: ValidationError) -> list[str]:
    """One line per bad setting, named as it is set (``MAIL_BACKEND``), with the nearest valid
    value for a misspelt choice; no pydantic wording or links (a newcomer reads these)."""
    problems = []
    for err in exc.errors(include_url=False):
        field = str(err["loc"][0]) if err["loc"] else ""
        name = field.upper() or "settings"
        value = err.get("input")
        choices = _choices(field)
        if choices and isinstance(value, str):
            message = f"{value!r} is not one of: {', '.join(choices)}"
            close = difflib.get_close_matches(value.strip().lower(), choices, n=1, cutoff=0.5)
            if close:
                message += f"; did you mean {close[0]!r}?"
        else:
            message = err["msg"].removeprefix("Value error, ").replace("Input should be", "should be")
        problems.append(f"{name}: {message}")
    return problems


def _choices(field: str) -> list[str]:
    info = Settings.model_fields.get(field)
    if info is None or get_origin(info.annotation) is not Literal:
        return []
    return [str(a) for a in get_args(info.annotation)]
