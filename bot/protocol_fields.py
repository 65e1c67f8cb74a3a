"""Building blocks shared by the protocol's tables: strict models and email addresses."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

_EMAIL = re.compile(r"^[^@\s<>\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()
