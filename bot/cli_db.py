"""``review-bot db ...``: the schema's version (docs/decisions/0014-schema-migrations.md).

Registered on the main group by importing this module (bot/cli.py's last lines). These commands
build no app: an app refuses to start on an older schema, which is what ``db upgrade`` fixes.
"""

from __future__ import annotations

import sys

import click

from bot.cli import fail, main
from bot.cli_common import load_settings
from bot.logs import mask_url
from bot.schema import SchemaError


def _settings_url() -> str:
    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        return Settings().database_url
    except ValidationError as exc:
        fail(f"settings: {exc}")


@main.group("db")
def db() -> None:
    """The database schema: its version and upgrades (Alembic migrations)."""


@db.command("current")
def db_current() -> None:
    """Print the schema's version; exit 0 at head, 1 when an upgrade is needed or it is unknown."""
    from bot.schema import current

    url = _settings_url()
    try:
        state = current(url)
    except SchemaError as exc:
        fail(str(exc))
    click.echo(f"database: {mask_url(url)}")
    click.echo(f"schema: {state.describe()}")
    sys.exit(0 if state.kind == "current" else 1)


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to this code's schema, under a lock. Back it up first.

    A database made before migrations existed is checked against the baseline and stamped."""
    from bot.at_rest import KeyProblem, Keyring
    from bot.at_rest_keys import load_kek
    from bot.schema import upgrade

    url = _settings_url()
    try:
        # Migration 0010 seals older rows with the installation's key (docs/encryption.md).
        key = load_kek(load_settings())
        before, after = upgrade(url, keyring=Keyring(key.kek, key.setting))
    except (SchemaError, KeyProblem) as exc:
        fail(str(exc))
    click.echo(f"database: {mask_url(url)}")
    if before.kind == "legacy":
        click.echo("made before migrations: matches the baseline, stamped")
    if before.revision == after.revision and before.kind == "current":
        click.echo(f"schema: {after.revision} (head), nothing to do")
    else:
        click.echo(f"schema: {before.revision or before.kind} -> {after.revision} (head)")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes, a few words.")
def db_revision(message: str) -> None:
    """Developers: write the next revision from the models' difference (review it, then commit)."""
    from bot.schema import new_revision

    try:
        path = new_revision(message)
    except SchemaError as exc:
        fail(str(exc))
    click.echo(path)
