"""The attachment store, sealed (docs/encryption.md; decision 0029).

New files are sealed as they are written (bot.inbound.store_attachments). Files written before
encryption existed are sealed once, at start-up: each is rewritten through a temporary file and
an atomic rename, so a crash leaves every file either as it was or sealed, and the next start
carries on. A mark file says the pass is complete, so later starts do not read the store again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.at_rest import KeyProblem, Keyring, keyring_of
from bot.core import Core

log = logging.getLogger(__name__)

#: Written when every file in the store is sealed (dot files are never attachments: the orphan
#: sweep leaves them alone).
SEALED_MARK = ".sealed"


def attachment_context(stored_name: str) -> str:
    """A stored file's associated data: its generated name (a file renamed does not open)."""
    return f"attachment:{stored_name}"


def read_attachment(core: Core, stored_name: str) -> bytes:
    """A stored attachment's bytes, opened."""
    sealed = (Path(core.attachments_dir) / stored_name).read_bytes()
    return keyring_of(core.db.engine).open(sealed, attachment_context(stored_name))


def seal_stored_files(folder: Path, keyring: Keyring) -> int:
    """Seal every file of the store that is not sealed yet; returns how many were."""
    folder = Path(folder)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SEALED_MARK).touch()
        return 0
    if (folder / SEALED_MARK).exists():
        return 0
    sealed = 0
    with os.scandir(folder) as entries:
        names = [e.name for e in entries if not e.name.startswith(".") and e.is_file(follow_symlinks=False)]
    for name in names:
        path = folder / name
        data = path.read_bytes()
        context = attachment_context(name)
        try:
            keyring.open(data, context)
            continue  # sealed already (a pass cut short before its mark)
        except KeyProblem:
            pass
        temporary = folder / f".{name}.sealing"
        temporary.write_bytes(keyring.seal(data, context, compress=True))
        os.replace(temporary, path)
        sealed += 1
    (folder / SEALED_MARK).touch()
    if sealed:
        log.info("sealed %s attachment file(s) stored before encryption", sealed)
    return sealed
