"""Chooses the mail gateway named by ``MAIL_BACKEND``."""

from __future__ import annotations

from pathlib import Path

from bot.mail.gateway import MailGateway
from bot.settings import Settings


def build_gateway(settings: Settings, state_dir: Path) -> MailGateway:
    from bot.mail.maildir import MaildirGateway

    if settings.mail_backend == "maildir":
        return MaildirGateway(settings.maildir)
    raise ValueError(f"MAIL_BACKEND={settings.mail_backend} is not available")
