"""The README as a newcomer uses it: its walkthrough run as written, its TOML examples checked.

The walkthrough's fenced shell blocks are taken from README.md itself and run by bash in a
temporary folder, with the real ``review-bot`` from this virtualenv and the repository's
fixtures linked in, so a README edit that breaks a step fails here. The walkthrough pretends the
moments of its fixture (``--now``), so it passes on any day the suite runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


@pytest.fixture
def newcomer_folder(tmp_path: Path) -> Path:
    """A checkout as the walkthrough sees it: .venv and the fixtures, nothing else (no .env)."""
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    (tmp_path / "tests" / "support").mkdir(parents=True)
    (tmp_path / "tests" / "support" / "eml").symlink_to(ROOT / "tests" / "support" / "eml")
    return tmp_path


def test_the_walkthrough_runs_as_written_on_any_day(newcomer_folder: Path) -> None:
    blocks = fenced(section("Try the whole loop by hand"), "sh")
    assert len(blocks) == 2, "the case walkthrough and the media walkthrough"
    script = newcomer_folder / "walkthrough.sh"
    script.write_text("set -eu -o pipefail\n" + "\n".join(blocks))
    # Only what a fresh shell has: no settings from the developer's environment leak in.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "TZ")}
    done = subprocess.run(["bash", str(script)], cwd=newcomer_folder, env=env, capture_output=True,
                          text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Traceback" not in out
    # Each step did what its comment says.
    assert "SI-2026-0001  Referral received" in out
    assert "next: notification to the National Panel (D-01) due Tue 24 Nov 2026 23:59 [open]" in out
    assert "SI-2026-0001: information gathering request queued for police, icb" in out
    assert "return received  agency police" in out
    assert "chase sent  agency icb" in out
    assert "request escalated  agency icb" in out
    assert "read '17/11/2026 17:00' as Tue 17 Nov 2026 17:00" in out
    assert "refused, as it should be" in out and "M-5" in out
    assert "version 1 released to sam@post.example" in out
    assert re.search(r"ME-2026-0001 .*protocol NOT followed", out)
    sent = list((newcomer_folder / "var" / "walkthrough" / "mail" / "sent" / "cur").iterdir())
    assert len(sent) >= 9  # alert, acknowledgement, 2 requests, chase, escalation, media mail


def test_the_readme_toml_examples_combined_pass_check(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = fenced(section("Configuration"), "toml")
    assert len(blocks) == 2, "the protocol example and the media example"
    protocol = tmp_path / "anytown.toml"
    protocol.write_text("\n".join(blocks))
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}", "MAILDIR": str(tmp_path / "mail"),
           "MAIL_BACKEND": "maildir", "PROTOCOL_FILE": str(protocol)}
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "protocol: ok (Anytown Safeguarding Children Partnership, preset kirklees, 1 agency)"
    )
