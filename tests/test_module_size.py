"""scripts/module_size.py names every module over 400 lines and fails; at 400 it passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "module_size.py"


def _run(*folders: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, folders)], capture_output=True, text=True, timeout=60
    )


def test_the_repository_has_no_module_over_the_limit() -> None:
    result = _run()
    assert result.returncode == 0, result.stdout
    assert ", 0 over 400 lines" in result.stdout


def test_a_module_over_the_limit_is_named_and_fails(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "deep").mkdir(parents=True)
    (tmp_path / "pkg" / "at_limit.py").write_text("x = 1\n" * 400)
    (tmp_path / "pkg" / "deep" / "too_long.py").write_text("x = 1\n" * 400 + "y = 2")  # 401, no final newline
    (tmp_path / "pkg" / "notes.txt").write_text("x\n" * 1000)

    result = _run(tmp_path / "pkg")

    assert result.returncode == 1
    assert "too_long.py: 401 lines" in result.stdout
    assert "at_limit.py" not in result.stdout
    assert "notes.txt" not in result.stdout
    assert "2 modules checked, 1 over 400 lines" in result.stdout


def test_a_missing_folder_is_an_error_not_a_pass(tmp_path: Path) -> None:
    result = _run(tmp_path / "nowhere")
    assert result.returncode == 2
    assert "no such folder" in result.stderr
