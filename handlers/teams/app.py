"""``TeamsApp``: the Teams door assembled from the settings, like handlers/slack/app.py.

Nothing happens at import (architecture rule 8). :func:`build_teams` makes the connector
client, the token check, the door and the notifier; ``start()`` opens the endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bot.core import Core
from bot.settings import Settings
from handlers.teams.auth import BotFrameworkAuth
from handlers.teams.connector import Connector
from handlers.teams.door import TeamsDoor
from handlers.teams.notifier import TeamsNotifier
from handlers.teams.server import TeamsServer


@dataclass
class TeamsApp:
    settings: Settings
    auth: BotFrameworkAuth
    connector: Connector
    door: TeamsDoor
    notifier: TeamsNotifier
    server: TeamsServer | None = None

    def start(self, *, port: int | None = None) -> TeamsServer:
        s = self.settings
        self.server = TeamsServer(s.teams_host, s.teams_port if port is None else port, s.teams_path,
                                  self.auth, self.door.dispatch).start()
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.notifier.close()


def build_connector(core: Core, settings: Settings, http: httpx.Client | None = None) -> Connector:
    if not settings.teams_enabled or settings.teams_app_password is None:
        raise ValueError("TEAMS_APP_ID, TEAMS_APP_PASSWORD and TEAMS_TENANT_ID must all be set")
    return Connector(app_id=settings.teams_app_id, password=settings.teams_app_password.get_secret_value(),
                     tenant_id=settings.teams_tenant_id, login_url=settings.teams_login_url,
                     now=core.clock.now, http=http)


def build_teams(core: Core, settings: Settings, *, background: bool = True) -> TeamsApp:
    """The door and the notifier; the caller adds ``app.notifier`` to ``core.notifiers``."""
    connector = build_connector(core, settings)
    auth = BotFrameworkAuth(app_id=settings.teams_app_id, tenant_id=settings.teams_tenant_id,
                            metadata_url=settings.teams_openid_metadata_url, now=core.clock.now)
    notifier = TeamsNotifier(core, settings, connector, background=background)
    return TeamsApp(settings=settings, auth=auth, connector=connector,
                    door=TeamsDoor(core, settings, connector), notifier=notifier)


def check_teams(settings: Settings) -> list[str]:
    """``review-bot check``: what is missing for Teams (nothing when it is off or complete)."""
    s = settings
    named = {"TEAMS_APP_ID": s.teams_app_id, "TEAMS_APP_PASSWORD": s.teams_app_password,
             "TEAMS_TENANT_ID": s.teams_tenant_id}
    given = [k for k, v in named.items() if v]
    if not given:
        return []
    problems = [f"{k} is not set (Teams needs all three)" for k, v in named.items() if not v]
    if not s.teams_business_unit_channel:
        problems.append("TEAMS_BUSINESS_UNIT_CHANNEL is not set: case cards will not be posted in Teams")
    if not s.teams_path.startswith("/"):
        problems.append("TEAMS_PATH must start with /")
    return problems


def teams_mode(settings: Settings) -> str:
    """One line for ``review-bot check`` and the start-up log."""
    if not settings.teams_enabled:
        return "off"
    return f"on: endpoint {settings.teams_host}:{settings.teams_port}{settings.teams_path}"
