"""The import contracts in pyproject.toml catch what they promise (decision 0021).

`make test` runs `lint-imports` on the real tree; these tests show that each contract would fail on
a planted violation, so a contract that silently stopped matching anything (a renamed module, a
wildcard that no longer expands) is noticed. Each case copies the three root packages and
pyproject.toml into a temporary folder, adds one import, and runs the real `lint-imports` there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _tree(tmp_path: Path) -> Path:
    for package in ("bot", "handlers", "schedules"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    # cwd first on sys.path (lint-imports puts it there), so the copy is analysed, not the checkout.
    only = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *only], cwd=tree, capture_output=True, text=True, timeout=120
    )


def test_the_tree_as_committed_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        # A core service reaching a chat SDK directly, and through a door.
        ("bot/cases.py", "import slack_sdk", "core-imports-no-adapter"),
        ("bot/cases.py", "import handlers.slack.blocks", "core-imports-no-adapter"),
        ("bot/outbox.py", "import httpx", "core-imports-no-adapter"),
        ("bot/deadlines.py", "import schedules.sweep", "core-imports-no-adapter"),
        # The mail use cases judging the email message themselves (decision 0025).
        ("bot/usecases/mail.py", "import handlers.mail.classify", "core-imports-no-adapter"),
        # Through the outer ring: the assembly's and the gateways' own edges are allowed, so the
        # core importing them is what must be refused.
        ("bot/cases.py", "import bot.app", "core-below-outer-ring"),
        ("bot/outbox.py", "import bot.mail.graph", "core-below-outer-ring"),
        # One door reaching another; a gateway reaching another.
        ("handlers/slack/blocks.py", "import handlers.mail.intake", "adapters-independent"),
        ("bot/mail/imap.py", "import bot.mail.maildir", "adapters-independent"),
        # A door reaching up into the CLI or the assembly.
        ("handlers/mail/routes.py", "import bot.cli_common", "cli-and-assembly-on-top"),
        ("schedules/sweep.py", "import bot.app", "cli-and-assembly-on-top"),
    ],
)
def test_a_planted_import_breaks_its_contract(tmp_path: Path, module: str, planted: str, broken: str) -> None:
    tree = _tree(tmp_path)
    path = tree / module
    path.write_text(path.read_text() + f"\n{planted}  # planted by tests/test_layers.py\n")

    result = _lint(tree, broken)

    assert result.returncode != 0, result.stdout
    assert "0 kept, 1 broken" in result.stdout, result.stdout


def test_a_new_door_is_held_to_the_same_contracts(tmp_path: Path) -> None:
    # The Teams door (the second surface) may not reach the Slack door, nor the core reach it.
    tree = _tree(tmp_path)
    (tree / "handlers" / "teams" / "cards.py").write_text("import handlers.slack.blocks\n")
    assert "0 kept, 1 broken" in _lint(tree, "adapters-independent").stdout

    (tree / "handlers" / "teams" / "cards.py").write_text("import bot.app\n")
    assert "0 kept, 1 broken" in _lint(tree, "cli-and-assembly-on-top").stdout

    (tree / "handlers" / "teams" / "cards.py").write_text("import bot.cases\n")
    assert "4 kept, 0 broken" in _lint(tree).stdout

    (tree / "bot" / "cases.py").write_text((tree / "bot" / "cases.py").read_text() + "\nimport microsoft\n")
    assert "0 kept, 1 broken" in _lint(tree, "core-imports-no-adapter").stdout
