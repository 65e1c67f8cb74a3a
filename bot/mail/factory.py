"""Chooses the mail gateway named by ``MAIL_BACKEND``.

Each backend's module is imported only when chosen (exchangelib and msal are slow to import), and
building a gateway never connects: the first network call is the first fetch, send or check.
``state_dir`` holds the small JSON files in which a gateway keeps its place (Graph delta link,
IMAP UIDVALIDITY and last UID).
"""

from __future__ import annotations

from pathlib import Path

from bot.mail.gateway import MailGateway
from bot.settings import Settings


def _secret(value: object) -> str | None:
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else str(value)


def build_gateway(settings: Settings, state_dir: Path) -> MailGateway:
    backend = settings.mail_backend
    if backend == "maildir":
        from bot.mail.maildir import MaildirGateway

        return MaildirGateway(settings.maildir)

    if backend == "graph":
        from bot.mail.graph import GraphMailGateway
        from bot.mail.graph_client import MsalTokenProvider

        tokens = MsalTokenProvider(
            tenant_id=settings.graph_tenant_id,
            client_id=settings.graph_client_id,
            client_secret=_secret(settings.graph_client_secret),
            certificate_path=settings.graph_certificate_path,
            certificate_thumbprint=settings.graph_certificate_thumbprint,
            authority_url=settings.graph_authority_url,
            graph_base_url=settings.graph_base_url,
        )
        return GraphMailGateway(
            mailbox=settings.graph_mailbox or settings.mail_from,
            token_provider=tokens,
            state_path=state_dir / "graph-delta.json",
            base_url=settings.graph_base_url,
            processed_folder=settings.graph_processed_folder,
        )

    if backend == "ews":
        from bot.mail.ews import EwsMailGateway

        return EwsMailGateway(
            service_endpoint=settings.ews_service_endpoint,
            username=settings.ews_username,
            password=_secret(settings.ews_password),
            auth_type=settings.ews_auth_type,
            mailbox=settings.ews_mailbox or settings.mail_from,
            processed_folder=settings.ews_processed_folder,
            autodiscover=settings.ews_autodiscover,
            oauth_tenant_id=settings.graph_tenant_id,
            oauth_client_id=settings.graph_client_id,
            oauth_client_secret=_secret(settings.graph_client_secret),
        )

    if backend == "imap":
        from bot.mail.imap import ImapSmtpGateway

        token = _secret(settings.imap_oauth_token)
        provider = (lambda: token or "") if token else None  # a static token; see docs
        return ImapSmtpGateway(
            imap_host=settings.imap_host,
            imap_port=settings.imap_port,
            imap_security=settings.imap_security,
            imap_username=settings.imap_username,
            imap_password=_secret(settings.imap_password),
            imap_oauth_token=provider,
            folder=settings.imap_folder,
            processed_folder=settings.imap_processed_folder,
            sent_folder=settings.imap_sent_folder,
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_security=settings.smtp_security,
            smtp_username=settings.smtp_username,
            smtp_password=_secret(settings.smtp_password),
            smtp_oauth_token=provider if not settings.smtp_password else None,
            mail_from=settings.mail_from,
            state_path=state_dir / "imap-uids.json",
            imap_ca_file=settings.imap_ca_file,
            smtp_ca_file=settings.smtp_ca_file,
        )

    raise ValueError(f"MAIL_BACKEND={backend} is not a known mail backend")
