"""Alembic's environment, run by :mod:`bot.schema` with an open connection (no alembic.ini).

Autogenerate (``review-bot db revision``) compares against ``SQLModel.metadata``; types are
rendered as plain SQLAlchemy types so a revision never imports the bot's code, and SQLite gets
batch operations (it cannot ALTER most things in place).
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.at_rest_types import SEALED_TYPES
from bot.db import UTCDateTime

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `review-bot db ...` (bot.schema), not bare alembic")


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """UTCDateTime is a plain DateTime in the database; sqlmodel's AutoString a String."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if type_ == "type" and isinstance(obj, SEALED_TYPES):  # encrypted values keep the plain type
        return {"JSON": "sa.JSON()", "LargeBinary": "sa.LargeBinary()"}.get(type(obj.impl_instance).__name__,
                                                                         "sa.String()")
    if type_ == "type" and type(obj).__module__.startswith("sqlmodel"):
        return "sa.String()"  # AutoString: VARCHAR without a length on both databases
    return False


context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    render_item=render_item,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
