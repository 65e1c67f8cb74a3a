"""Mailbox state files: the small JSON document a gateway keeps beside its mailbox (the IMAP
watermark, the Graph delta link), read tolerantly and written atomically so
a crash never leaves half a file (architecture rule 5: nothing lost, nothing doubled).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bot.mail.gateway import MailboxError


def read_json_state(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or ``{}`` when the file does not exist."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise MailboxError(f"cannot read mailbox state file {path.name}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def write_json_state(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise MailboxError(f"cannot write mailbox state file {path.name}: {exc}") from exc
