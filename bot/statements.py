"""Statement drafts rendered from ``templates/statements`` (process.md 7.9; M-7, M-10).

A draft is a starting point the press office edits; the templates carry the rules that do not
change with the wording: no names, ages, addresses or schools (M-7), no comment on individual
practitioners, no comment while criminal or coroner proceedings are active, and the press
office contact for further enquiries.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("templates", "statements"), undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, autoescape=False,
    )


def render_statement(kind: str, **context: Any) -> str:
    """The draft for an output of the routing table (``holding_statement``, ``press_release``...)."""
    return _env().get_template(f"{kind}.txt.j2").render(**context).strip() + "\n"
