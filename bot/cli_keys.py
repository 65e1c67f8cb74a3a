"""``review-bot keys ...``: the encryption keys of identifying data at rest (docs/encryption.md;
decision 0029). Registered on the main group by importing this module (bot/cli.py's last lines).

Nothing here prints a key: only key ids (a fingerprint of the KEK, the data keys' numbers) and
counts of values.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.at_rest import REFRESH_SECONDS, fingerprint, parse_kek
from bot.cli import main
from bot.cli_common import Ctx, fail, handled, pass_ctx


@main.group("keys")
def keys() -> None:
    """Encryption keys: which key seals how much, rotation."""


@keys.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for a script.")
@pass_ctx
def keys_status(ctx: Ctx, as_json: bool) -> None:
    """The data keys and how many stored values (and attachment files) each one seals."""
    from bot.at_rest_rotation import status

    with handled():
        found = status(ctx.core)
        keyring = ctx.core.db.keyring
        current = keyring.current_key_id()
    per_key = found.per_key()
    if as_json:
        click.echo(json.dumps({
            "key_encryption_key": {"setting": keyring.setting, "id": fingerprint(keyring.kek)},
            "current_data_key": current,
            "keys": [{**k, "values": per_key.get(k["id"], 0) if k["purpose"] == "data" else None}
                     for k in found.keys],
            "columns": {place: {str(k): n for k, n in counts.items()}
                        for place, counts in found.values.items()},
            "attachment_files": {str(k): n for k, n in found.files.items()},
            "attachment_files_not_sealed": found.plain_files,
        }, indent=2))
        return
    click.echo(f"key-encryption key: {keyring.setting}, key id {fingerprint(keyring.kek)}")
    for key in found.keys:
        if key["purpose"] == "lookup":
            click.echo(f"lookup key {key['id']}: keyed hashes (wrapped by {key['kek_id']})")
            continue
        mark = " (current: seals new values)" if key["id"] == current else ""
        click.echo(f"data key {key['id']}{mark}: {per_key.get(key['id'], 0)} value(s) "
                   f"(wrapped by {key['kek_id']})")
    old = sum(n for k, n in per_key.items() if k != current)
    if old:
        click.echo(f"{old} value(s) still under an older key: `review-bot keys reseal` finishes the rotation")
    if found.plain_files:
        click.echo(f"{found.plain_files} attachment file(s) not sealed: they are sealed at the next start")


@keys.command("rotate")
@click.option("--new-kek-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Re-wrap the data keys with the key-encryption key in this file (base64) "
                   "instead of making a new data key. Then point DATA_KEY_FILE (or DATA_KEY) at it.")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000),
              help="Values re-sealed per transaction.")
@click.option("--settle", default=REFRESH_SECONDS, show_default=True, type=click.FloatRange(0),
              help="Seconds running instances need to take up the new key; a second pass then "
                   "re-seals what they wrote meanwhile.")
@pass_ctx
def keys_rotate(ctx: Ctx, new_kek_file: Path | None, batch: int, settle: float) -> None:
    """Make a new data key and re-seal every stored value under it, while the bot runs."""
    from bot.at_rest_rotation import LEASE, new_data_key, reseal, rewrap

    with handled():
        core = ctx.core
        if new_kek_file is not None:
            new_kek = parse_kek(new_kek_file.read_text(encoding="ascii"), setting=str(new_kek_file))
            count = rewrap(core, new_kek)
            click.echo(f"{count} key(s) now wrapped by key id {fingerprint(new_kek)}. Set DATA_KEY_FILE "
                       f"to {new_kek_file} (or DATA_KEY) and restart every instance; keep the old key "
                       "with the backups made before now.")
            return
        key_id = new_data_key(core)
        click.echo(f"data key {key_id} made: new values are sealed with it")
        done = reseal(core, batch=batch, settle=settle)
    if done is None:
        fail(f"another instance is re-sealing now (lease {LEASE}); it carries the rotation on")
    click.echo(f"{done} value(s) re-sealed under data key {key_id}")


@keys.command("reseal")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000))
@pass_ctx
def keys_reseal(ctx: Ctx, batch: int) -> None:
    """Carry on a rotation that was stopped: re-seal what is still under an older data key."""
    from bot.at_rest_rotation import LEASE, reseal

    with handled():
        done = reseal(ctx.core, batch=batch, settle=0)
    if done is None:
        fail(f"another instance is re-sealing now (lease {LEASE}); it carries the rotation on")
    click.echo(f"{done} value(s) re-sealed")
