"""Reading a protocol file: presets, merging over a preset, and refusals that name the field.

A broken file is one clean message naming the file, the field and the problem, with the nearest
valid key for a misspelt one (issue 10: a newcomer's first hour)."""

from __future__ import annotations

import difflib
import tomllib
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from bot.chronology_templates import with_base
from bot.protocol import DEFAULT_PRESET, Protocol, ProtocolError


def preset_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".toml")
        for p in resources.files("bot.presets").iterdir()
        if p.name.endswith(".toml")
    )


def _read_preset(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    if name in seen:
        raise ProtocolError(f"preset {name!r}: presets form a loop ({' -> '.join((*seen, name))})")
    if name not in preset_names():
        raise ProtocolError(
            f"preset {name!r} does not exist; shipped presets: {', '.join(preset_names())}"
        )
    text = resources.files("bot.presets").joinpath(f"{name}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    parent = data.pop("preset", None)
    if parent:
        return _merge(_read_preset(parent, (*seen, name)), data)
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; anything else (lists included) replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def parse_protocol(data: dict[str, Any], source: str) -> Protocol:
    data = dict(data)
    preset = data.get("preset", DEFAULT_PRESET)
    if not isinstance(preset, str):
        raise ProtocolError(f"{source}: field 'preset': must be the name of a preset")
    try:
        merged = _merge(_read_preset(preset), data)
    except ProtocolError as exc:
        raise ProtocolError(f"{source}: {exc}") from None
    merged["preset"] = preset
    try:
        return Protocol.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = _unknown_key(err["loc"])
            elif err["type"] == "missing":
                msg = "missing (add it to the file)"
            where = f"field '{_field_path(err['loc'])}': " if err["loc"] else ""  # a whole-file rule
            problems.append(f"{source}: {where}{msg}")
        raise ProtocolError("\n".join(problems)) from None


def _unknown_key(loc: tuple[Any, ...]) -> str:
    """A misspelt key, with the nearest valid one (a newcomer's first mistake)."""
    model = _model_at(loc[:-1])
    valid = sorted(model.model_fields) if model else []
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return "unknown key; valid keys here: " + ", ".join(valid) if valid else "unknown key"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model a validation error's location points into (lists and tables of models included)."""
    current: Any = Protocol
    for item in loc:
        current = _unwrap_optional(current)
        if get_origin(current) in (list, dict):
            current = get_args(current)[-1]  # the item is a list index or a table's own key
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(item))
        if field is None:
            return None
        current = field.annotation
    current = _unwrap_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, UnionType):
        return next(a for a in get_args(annotation) if a is not type(None))
    return annotation


def load_protocol(path: Path | None) -> Protocol:
    """The protocol in ``path``, or the default preset when no file is configured."""
    if path is None or str(path) == "":
        return parse_protocol({"preset": DEFAULT_PRESET}, f"preset {DEFAULT_PRESET}")
    try:
        text = Path(path).read_text("utf-8")
    except FileNotFoundError:
        raise ProtocolError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{path}: not valid TOML: {exc}") from None
    return _templates_from(parse_protocol(data, str(path)), Path(path).parent, str(path))


def _templates_from(protocol: Protocol, folder: Path, source: str) -> Protocol:
    """Template paths are relative to the protocol file; a named file must exist."""
    try:
        return protocol.model_copy(update={"templates": with_base(protocol.templates, folder)})
    except ValueError as exc:
        raise ProtocolError(f"{source}: field 'templates': {exc}") from None
