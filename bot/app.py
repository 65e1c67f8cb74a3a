"""Assembles the bot from its settings: ``create_app(settings)``. Nothing happens at import."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.clock import Clock, SystemClock
from bot.core import Core
from bot.db import Database
from bot.leases import sqlite_single_instance
from bot.mail.factory import build_gateway
from bot.mail.gateway import MailGateway
from bot.protocol import Protocol, load_protocol
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class BotApp:
    settings: Settings
    core: Core
    gateway: MailGateway
    _stop: threading.Event = field(default_factory=threading.Event)
    #: Set by run(): the mailbox lease lasts one tick interval (decision 0013).
    _lease_for: timedelta | None = None
    _instance_lock: Any = None

    def tick(self) -> Any:
        from schedules.sweep import tick

        return tick(self.core, self.gateway, lease_for=self._lease_for)

    def slack_mode(self) -> str:
        s = self.settings
        if s.slack_bot_token and s.slack_app_token:
            return "socket"
        if s.slack_bot_token and s.slack_signing_secret:
            return "http"
        return "off"

    def run(self) -> None:
        """Tick every TICK_SECONDS until Ctrl-C or SIGTERM."""
        from apscheduler.schedulers.background import BackgroundScheduler

        # SQLite: one instance only; a second run is refused (decision 0013). Kept open until exit.
        self._instance_lock = sqlite_single_instance(self.settings.database_url)
        self._lease_for = timedelta(seconds=self.settings.tick_seconds)
        scheduler = BackgroundScheduler(timezone="UTC")
        # One job, never overlapping; after downtime it simply runs (the rows know what is due).
        scheduler.add_job(
            self._safe_tick, "interval", seconds=self.settings.tick_seconds, id="tick",
            max_instances=1, coalesce=True, misfire_grace_time=None,
            next_run_time=self.core.clock.now(),
        )
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        stop_slack = None
        if self.slack_mode() != "off":
            from handlers.slack.runner import start_slack

            stop_slack = start_slack(self.core, self.settings)
        scheduler.start()
        log.info("review-bot running: tick every %ss, mailbox %s", self.settings.tick_seconds,
                 self.gateway.name)
        try:
            self._stop.wait()
        finally:
            scheduler.shutdown(wait=True)
            if stop_slack is not None:
                stop_slack()
            close = getattr(self.core.notifier, "close", None)
            if close is not None:
                close()
            log.info("review-bot stopped")

    def _safe_tick(self) -> None:
        try:
            report = self.tick()
            log.info("tick %s", report.summary())
        except Exception:  # the next tick tries again; the rows still say what is due
            log.exception("tick failed")
        if self.slack_mode() != "off":
            # A card that could not be posted (Slack down, rate limited) is posted now: a failed
            # post never loses the case.
            try:
                from handlers.slack.notifier import (
                    SlackNotifier,
                    repost_missing_cards,
                    repost_missing_media_alerts,
                )

                if isinstance(self.core.notifier, SlackNotifier):
                    repost_missing_cards(self.core, self.core.notifier.client, self.settings)
                    repost_missing_media_alerts(self.core, self.core.notifier.client, self.settings)
            except Exception:
                log.exception("re-posting case cards failed")


def build_core(settings: Settings, protocol: Protocol, clock: Clock) -> Core:
    db = Database(settings.database_url)
    db.create_schema()
    return Core(
        db=db, protocol=protocol, clock=clock, mail_from=settings.mail_from,
        attachments_dir=settings.attachments_dir,
        attachment_max_bytes=settings.attachment_max_bytes,
    )


def create_app(settings: Settings, *, clock: Clock | None = None) -> BotApp:
    protocol = load_protocol(settings.protocol_file)
    core = build_core(settings, protocol, clock or SystemClock())
    if settings.slack_bot_token is not None:
        # Adapters depend on the core, never the reverse: the core only knows a Notifier.
        from handlers.slack.app import build_client
        from handlers.slack.notifier import SlackNotifier

        core.notifier = SlackNotifier(build_client(settings), core, settings)
    gateway = build_gateway(settings, state_dir=settings.state_dir)
    return BotApp(settings=settings, core=core, gateway=gateway)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # Every tick would otherwise log three scheduler lines; our own tick summary says enough.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
