"""Every path from one DATA_DIR (issue 10): the same files whichever folder the bot starts in."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.app import create_app
from bot.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_defaults_hang_from_data_dir_resolved_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = settings(data_dir="srv/bot")
    root = tmp_path / "srv" / "bot"
    assert s.data_dir == root
    assert s.database_url == f"sqlite:///{root / 'review-bot.sqlite3'}"
    assert (s.attachments_dir, s.state_dir) == (root / "attachments", root / "state")
    assert s.maildir == root / "mail"
    # Started from another folder afterwards, the resolved settings still point at the same files.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert Settings(_env_file=None, **s.model_dump()).attachments_dir == root / "attachments"


def test_relative_paths_are_inside_data_dir_absolute_ones_kept(tmp_path: Path) -> None:
    s = settings(data_dir=tmp_path, database_url="sqlite:///db/bot.sqlite3", attachments_dir="files",
                 state_dir="/var/lib/other-state", maildir="")
    assert s.database_url == f"sqlite:///{tmp_path / 'db' / 'bot.sqlite3'}"
    assert s.attachments_dir == tmp_path / "files"
    assert s.state_dir == Path("/var/lib/other-state")
    assert s.maildir == tmp_path / "mail"  # empty means the default


def test_server_databases_are_left_alone(tmp_path: Path) -> None:
    url = "postgresql+psycopg://bot:p%40ss@db:5432/reviews"
    assert settings(data_dir=tmp_path, database_url=url).database_url == url
    assert settings(data_dir=tmp_path, database_url="sqlite://").database_url == "sqlite://"


def test_health_port_settings() -> None:
    assert settings().health_port == 8080 and settings().health_host == "127.0.0.1"
    assert settings(health_port="").health_port is None
    assert settings(health_port="off").health_port is None
    assert settings(health_port="0").health_port == 0  # any free port


def test_env_variables_set_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("ATTACHMENTS_DIR", "")
    monkeypatch.setenv("LOG_FORMAT", "json")
    s = Settings(_env_file=None)
    assert s.attachments_dir == tmp_path / "d" / "attachments" and s.log_format == "json"


def test_a_new_database_is_said_loudly_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = settings(data_dir=tmp_path, health_port=None, tick_seconds=3600)
    first = create_app(s)
    assert first.new_database and (tmp_path / "review-bot.sqlite3").exists()
    caplog.set_level(logging.INFO, logger="bot.app")
    first.start()
    first.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("new, empty database" in w for w in warnings)
    assert create_app(s).new_database is False


def test_settings_written_for_the_old_rule_are_pointed_out(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    s = settings(data_dir=tmp_path / "var", database_url="sqlite:///var/review-bot.sqlite3",
                 attachments_dir="var/attachments", state_dir="state", health_port=None, tick_seconds=3600)
    assert s.attachments_dir == tmp_path / "var" / "var" / "attachments"
    app = create_app(s)
    caplog.set_level(logging.INFO, logger="bot.app")
    app.start()
    app.stop()
    doubts = [r.getMessage() for r in caplog.records if "looks written for the old rule" in r.getMessage()]
    assert [d.split(" ")[0] for d in doubts] == ["ATTACHMENTS_DIR", "DATABASE_URL"]
