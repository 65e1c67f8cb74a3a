"""Teams switched on and off by settings: `review-bot check` reports it, the app starts its
endpoint beside the rest and stops it (issue 11 item 5)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bot.app import create_app
from bot.cli import main
from bot.settings import Settings
from tests.support.teams_connector import APP_ID, APP_PASSWORD, TENANT


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path), "PROTOCOL_FILE": "",
            "MAIL_BACKEND": "maildir", "HEALTH_PORT": ""}


def test_check_says_teams_is_off_by_default_and_names_what_is_missing(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 0, result.output
    assert "teams: off" in result.stdout.splitlines()
    result = CliRunner().invoke(main, ["check"], env={**env, "TEAMS_APP_ID": APP_ID})
    assert result.exit_code == 2
    assert "teams: TEAMS_APP_PASSWORD is not set (Teams needs all three)" in result.stderr
    assert "teams: TEAMS_TENANT_ID is not set (Teams needs all three)" in result.stderr


def test_check_reports_teams_on_with_its_endpoint(env: dict[str, str]) -> None:
    on = {**env, "TEAMS_APP_ID": APP_ID, "TEAMS_APP_PASSWORD": APP_PASSWORD, "TEAMS_TENANT_ID": TENANT,
          "TEAMS_BUSINESS_UNIT_CHANNEL": "19:bu@thread.tacv2", "TEAMS_PORT": "3999"}
    result = CliRunner().invoke(main, ["check"], env=on)
    assert result.exit_code == 0, result.output
    assert "teams: on: endpoint 127.0.0.1:3999/api/messages" in result.stdout.splitlines()
    result = CliRunner().invoke(main, ["check"], env={**on, "TEAMS_BUSINESS_UNIT_CHANNEL": ""})
    assert result.exit_code == 2 and "TEAMS_BUSINESS_UNIT_CHANNEL is not set" in result.stderr


def test_the_app_starts_the_teams_endpoint_beside_the_rest(tmp_path: Path, database_url: str) -> None:
    settings = Settings(_env_file=None, database_url=database_url, data_dir=tmp_path, health_port=None,
                        teams_app_id=APP_ID, teams_app_password=APP_PASSWORD, teams_tenant_id=TENANT,
                        teams_port=0)
    app = create_app(settings)
    assert [n.surface for n in app.core.notifiers] == ["teams"]
    app.start()
    try:
        port = app.teams.server.port
        # Up, and refusing what is not signed before anything runs.
        answer = httpx.post(f"http://127.0.0.1:{port}/api/messages", json={"type": "message"})
        assert answer.status_code == 401
    finally:
        app.stop()
    assert app.teams.server is None


def test_without_teams_settings_there_is_no_teams_door(tmp_path: Path, database_url: str) -> None:
    app = create_app(Settings(_env_file=None, database_url=database_url, data_dir=tmp_path, health_port=None))
    assert app.teams is None and all(n.surface != "teams" for n in app.core.notifiers)


def test_the_manifest_names_the_bot_its_scopes_commands_and_icons() -> None:
    import json
    import struct

    from handlers.teams.commands import HELP

    folder = Path(__file__).resolve().parent.parent / "teams"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["manifestVersion"] == manifest["$schema"].split("/v")[-1].split("/")[0]
    [bot] = manifest["bots"]
    assert bot["botId"] == manifest["id"] and set(bot["scopes"]) == {"personal", "team"}
    for commands in bot["commandLists"]:
        for command in commands["commands"]:
            assert command["title"] in HELP or command["title"] == "help"
    sizes = {"color": 192, "outline": 32}
    for kind, size in sizes.items():
        data = (folder / manifest["icons"][kind]).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size)
