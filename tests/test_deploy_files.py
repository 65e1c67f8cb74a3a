"""The deployment files say what the code does. The image cannot be built here (no registry), so
the parts that can run do: the Dockerfile's HEALTHCHECK command against a live health endpoint,
the systemd units through ``systemd-analyze verify``, and the image's file list against the
packages pyproject.toml installs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from handlers.health import start_health

ROOT = Path(__file__).resolve().parent.parent


def healthcheck_command() -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", text, re.M)
    assert match, "no exec-form HEALTHCHECK"
    command: list[str] = json.loads(match.group(1))
    return command


def test_the_docker_healthcheck_command_reads_healthz() -> None:
    command = healthcheck_command()
    assert command[0] == "python"
    state = {"ok": True}
    server = start_health("127.0.0.1", 0, {"/healthz": lambda: (state["ok"], {})})
    try:
        env = {**os.environ, "HEALTH_PORT": str(server.port)}
        run = [sys.executable, *command[1:]]
        assert subprocess.run(run, env=env, capture_output=True, timeout=30).returncode == 0
        state["ok"] = False  # 503: the container is unhealthy
        assert subprocess.run(run, env=env, capture_output=True, timeout=30).returncode != 0
    finally:
        server.stop()


def test_the_image_holds_every_installed_package() -> None:
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    tops = {p.split(".")[0].rstrip("*") for p in find["include"]}
    dockerfile = (ROOT / "Dockerfile").read_text()
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    for top in tops:
        assert f"COPY {top} ./{top}" in dockerfile
        assert f"!{top}/" in ignore
    assert "USER 10001:10001" in dockerfile and 'VOLUME ["/data"]' in dockerfile


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_units_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this checkout's interpreter.
    venv_bin = Path(sys.executable).parent
    for unit in ("review-bot.service", "review-bot-backup.service", "review-bot-backup.timer"):
        text = (ROOT / "deploy" / unit).read_text().replace("/opt/review-bot/venv/bin", str(venv_bin))
        (tmp_path / unit).write_text(text)
    if not (venv_bin / "review-bot").exists():
        pytest.skip("review-bot is not installed in this interpreter's folder")
    done = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Unknown" not in done.stderr
