"""Infrastructure settings: where things are and the secrets to reach them (environment / `.env`).

The partnership's process (people, agencies, durations, chase policy) is *not* here: it lives in
the protocol file (see :mod:`bot.protocol`). Every variable is documented in `.env.example`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MailBackend = Literal["maildir", "graph", "ews", "imap"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- storage -------------------------------------------------------------------------
    database_url: str = "sqlite:///var/review-bot.sqlite3"
    #: Start-up migrates an older schema (under a lock) instead of refusing (decision 0014).
    db_auto_upgrade: bool = False
    attachments_dir: Path = Path("var/attachments")
    #: Where mail gateways keep their sync state (Graph delta links, IMAP UIDs).
    state_dir: Path = Path("var/state")
    #: Attachments above this size are not stored; the message stays in the mailbox and the
    #: business unit is told (20 MiB is Exchange Online's default message size limit region).
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)

    # --- process -------------------------------------------------------------------------
    #: Path to the partnership's protocol TOML. Empty: the built-in Working Together 2023 preset.
    protocol_file: Path | None = None
    tick_seconds: int = Field(default=60, ge=1)

    @field_validator("protocol_file", "imap_ca_file", "smtp_ca_file", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value in ("", None) else value

    log_level: str = "INFO"

    # --- mail ----------------------------------------------------------------------------
    mail_backend: MailBackend = "maildir"
    maildir: Path = Path("var/mail")
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
