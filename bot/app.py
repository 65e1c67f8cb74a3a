"""Assembles the bot from its settings: ``create_app(settings)``. Nothing happens at import."""

from __future__ import annotations

import logging
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot.at_rest_files import seal_stored_files
from bot.at_rest_keys import load_kek
from bot.clock import Clock, SystemClock
from bot.core import Core, Notifier
from bot.db import Database
from bot.health import (
    Check,
    TickTimes,
    alive,
    database_reachable,
    mailbox_state,
    run_checks,
    schema_current,
    tick_recent,
)
from bot.leases import sqlite_single_instance
from bot.logs import configure_logging as _configure_logging
from bot.logs import mask_url, settings_secrets
from bot.mail.factory import build_gateway
from bot.mail.gateway import MailGateway
from bot.privacy import log_message
from bot.protocol import Protocol, load_protocol
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class BotApp:
    settings: Settings
    core: Core
    gateway: MailGateway
    ticks: TickTimes = field(default_factory=TickTimes)
    #: True when create_app found no SQLite file and created one (said loudly at start).
    new_database: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _scheduler: Any = None
    _stop_slack: Callable[[], None] | None = None
    #: The Teams door and notifier (handlers.teams.app.TeamsApp) when TEAMS_* are set.
    teams: Any = None
    health_server: Any = None
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
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self._stop.set())
        self.start()
        try:
            self._stop.wait()
        finally:
            self.stop()

    def start(self) -> None:
        """Start the health endpoint, Slack and the clock; returns at once (``run`` waits)."""
        from apscheduler.schedulers.background import BackgroundScheduler

        for line in startup_lines(self.settings):
            log.info("%s", line)
        for name in self.settings.old_rule_paths:
            log.warning("%s is relative, so it is now inside DATA_DIR (%s): it starts with that folder's "
                        "name, which looks written for the old rule; see docs/deploying.md, Upgrading",
                        name, self.settings.data_dir)
        if self.new_database:
            # Never quietly (issue 10): usually a wrong DATA_DIR or DATABASE_URL, and cases
            # recorded there would be missing from the real database.
            log.warning("started on a new, empty database; if the bot has run before, check "
                        "DATA_DIR and DATABASE_URL")
        # SQLite: one instance only; a second run is refused (decision 0013). Kept open until exit.
        self._instance_lock = sqlite_single_instance(self.settings.database_url)
        if self._instance_lock is not None:  # the only instance: any claim left is a dead one's
            from bot.outbox import release_dead_claims

            if released := release_dead_claims(self.core):
                log.warning("%s outgoing message(s) were mid-send when the bot last stopped; "
                            "taken over now", released)
        self._lease_for = timedelta(seconds=self.settings.tick_seconds)
        scheduler = BackgroundScheduler(timezone="UTC")
        # One job, never overlapping; after downtime it simply runs (the rows know what is due).
        scheduler.add_job(
            self._safe_tick, "interval", seconds=self.settings.tick_seconds, id="tick",
            max_instances=1, coalesce=True, misfire_grace_time=None,
            next_run_time=self.core.clock.now(),
        )
        # Health first: in Socket Mode nothing else listens, and a probe may come at once.
        if self.settings.health_port is not None:
            from handlers.health import start_health

            self.health_server = start_health(self.settings.health_host, self.settings.health_port, {
                "/healthz": self.liveness, "/readyz": self.readiness,
            })
        if self.slack_mode() != "off":
            from handlers.slack.runner import start_slack

            self._stop_slack = start_slack(self.core, self.settings)
        if self.teams is not None:
            server = self.teams.start()
            log.info("teams endpoint listening on %s:%s%s", self.settings.teams_host, server.port,
                     self.settings.teams_path)
        scheduler.start()
        self._scheduler = scheduler
        log.info("review-bot running: tick every %ss, mailbox %s", self.settings.tick_seconds,
                 self.gateway.name)

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)  # no tick runs after this
            self._scheduler = None  # a second stop (a signal during shutdown) is a no-op
            from schedules.sweep import release_mailbox

            try:
                release_mailbox(self.core)
            except Exception:  # the database gone at shutdown: the lease simply runs out
                log.warning("the mailbox lease could not be given up; it ends within one tick interval")
        if self._stop_slack is not None:
            self._stop_slack()
        if self.teams is not None:
            self.teams.stop()
        if self.health_server is not None:
            self.health_server.stop()
        for notifier in self.core.notifiers:
            close = getattr(notifier, "close", None)
            if close is not None:
                close()
        if self._instance_lock is not None:  # the SQLite single-instance lock (decision 0013)
            self._instance_lock.close()
            self._instance_lock = None
        log.info("review-bot stopped")

    # --- health (bot/health.py holds the checks; handlers/health.py serves them) -----------
    def readiness_checks(self) -> list[tuple[str, Check]]:
        """Named readiness checks; a new one is one line here."""
        return [
            ("database", database_reachable(self.core)),
            ("schema", schema_current(self.core)),
            ("tick", tick_recent(self.core, self.ticks, self.settings.tick_seconds)),
            ("mailbox", mailbox_state(self.core)),
        ]

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        ok, checks = run_checks(self.readiness_checks())
        return ok, {"checks": checks}

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        result = alive(self.core, self.ticks)
        return result.ok, result.detail

    def _safe_tick(self) -> None:
        self.ticks.started(self.core.clock.now())
        ok = False
        try:
            report = self.tick()
            log.info("tick %s", report.summary(), extra={"event": "tick"})
            # A tick whose phases met database errors (logged one line each) did not do its work.
            ok = not report.database_errors
        except Exception as exc:  # the next tick tries again; the rows still say what is due
            # The message may quote mail or typed text: its redacted form and the frames only.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("tick failed: %s\n%s", log_message(exc), frames, extra={"event": "tick"})
        finally:
            # Readiness counts only ticks that finished without an error (bot/health.py).
            self.ticks.finished(self.core.clock.now(), ok=ok)
        # A card or alert that could not be posted (a surface down, rate limited) is posted now:
        # a failed post never loses the case. Each notifier that can re-post does (decision 0019).
        for notifier in self.core.notifiers:
            repost = getattr(notifier, "repost_missing", None)
            if repost is None:
                continue
            try:
                repost()
            except Exception:
                log.exception("re-posting on %s failed", notifier.surface)


def build_core(settings: Settings, protocol: Protocol, clock: Clock) -> Core:
    # The key first: a missing or wrong one stops start-up by name (docs/encryption.md).
    key = load_kek(settings)
    db = Database(settings.database_url, kek=key.kek, key_setting=key.setting)
    db.ensure_schema(upgrade=settings.db_auto_upgrade)  # refuses an older schema: decision 0014
    assert db.keyring is not None  # given above
    seal_stored_files(settings.attachments_dir, db.keyring)  # those from before encryption, once
    return Core(
        db=db, protocol=protocol, clock=clock, mail_from=settings.mail_from,
        attachments_dir=settings.attachments_dir,
        attachment_max_bytes=settings.attachment_max_bytes,
    )


def build_teams_app(core: Core, settings: Settings) -> Any:
    """The Teams door and notifier when TEAMS_APP_ID, TEAMS_APP_PASSWORD and TEAMS_TENANT_ID are
    set (docs/teams.md); its notifier joins the core's."""
    if not settings.teams_enabled:
        return None
    from handlers.teams.app import build_teams

    teams = build_teams(core, settings)
    core.notifiers.append(teams.notifier)
    return teams


def build_notifiers(core: Core, settings: Settings) -> list[Notifier]:
    """One notifier per chat surface the settings switch on; the core tells each after a commit.
    Adapters depend on the core, never the reverse: the core only knows a Notifier."""
    notifiers: list[Notifier] = []
    if settings.slack_bot_token is not None:
        from handlers.slack.app import build_client
        from handlers.slack.notifier import SlackNotifier

        notifiers.append(SlackNotifier(build_client(settings), core, settings))
    return notifiers


def create_app(settings: Settings, *, clock: Clock | None = None) -> BotApp:
    protocol = load_protocol(settings.protocol_file)
    new_database = is_new_sqlite_database(settings)
    core = build_core(settings, protocol, clock or SystemClock())
    core.notifiers = build_notifiers(core, settings)
    teams = build_teams_app(core, settings)
    gateway = build_gateway(settings, state_dir=settings.state_dir)
    return BotApp(settings=settings, core=core, gateway=gateway, new_database=new_database, teams=teams)


def configure_logging(level: str, settings: Settings | None = None) -> None:
    """Logging as the settings say (bot/logs.py), with the settings' secrets masked everywhere."""
    fmt = settings.log_format if settings is not None else "text"
    secrets = settings_secrets(settings) if settings is not None else []
    _configure_logging(level, fmt=fmt, secrets=secrets)


def startup_lines(settings: Settings) -> list[str]:
    """Where everything is, resolved, for the start-up log (issue 10): secrets never printed."""
    lines = [
        f"data directory: {settings.data_dir}",
        f"database: {mask_url(settings.database_url)}",
        f"attachments: {settings.attachments_dir}",
        f"mail gateway state: {settings.state_dir}",
    ]
    if settings.mail_backend == "maildir":
        lines.append(f"maildir: {settings.maildir}")
    protocol = settings.protocol_file.resolve() if settings.protocol_file else "built-in preset"
    lines.append(f"protocol: {protocol}")
    health = ("off" if settings.health_port is None
              else f"{settings.health_host}:{settings.health_port} (/healthz, /readyz)")
    lines.append(f"health endpoint: {health}; log format: {settings.log_format}")
    return lines


def is_new_sqlite_database(settings: Settings) -> bool:
    url = make_url(settings.database_url)
    path = url.database or ""
    return url.get_backend_name() == "sqlite" and path not in ("", ":memory:") and not Path(path).exists()
