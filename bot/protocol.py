"""The partnership's protocol: its people, agencies, durations and chase policy (a TOML file).

A protocol file names the preset it starts from (``preset = "kirklees"``) and declares the
partnership's own people and agencies. Presets ship in :mod:`bot.presets`. Tables merge key by
key; lists (agencies, business-unit members, closure days) replace the preset's. A broken file
raises :class:`ProtocolError` naming the file, the field and the problem.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from datetime import date, time, timedelta
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.calendar import Calendar, Duration
from bot.errors import ServiceError
from bot.mail.authresults import domain_matches

DEFAULT_PRESET = "working-together-2023"
_EMAIL = re.compile(r"^[^@\s<>\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ProtocolError(Exception):
    """The protocol cannot be used. The message names the file, the field and the problem."""


class UnknownAgency(ServiceError, ValueError):
    def __init__(self, slug: str, valid: list[str]) -> None:
        super().__init__(f"unknown agency {slug!r}; valid agencies: {', '.join(valid)}")
        self.slug = slug
        self.valid = valid


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


class Person(_Strict):
    name: str = Field(min_length=1)
    email: str
    slack_user_id: str | None = None

    _email = field_validator("email")(_check_email)


class Roles(_Strict):
    chair: Person | None = None
    deputy_chair: Person | None = None
    business_manager: Person
    press_office: Person | None = None
    business_unit: list[Person] = Field(default_factory=list)
    # People the media protocol names (process.md 1, 6.2). Optional: a routing row that names one
    # of them makes it required (checked when the protocol loads).
    executive: Person | None = None  # SOM l.222: signs off partnership responses
    communications_lead: Person | None = None  # SW-COMMS l.73-75; STK l.400, l.468
    director_of_people: Person | None = None  # STK l.449: inquest statements for the Council
    independent_scrutineer: Person | None = None  # process.md M-4: a fallback spokesperson

    def business_unit_emails(self) -> list[str]:
        """Everyone who works cases: the business manager and the unit's members."""
        emails = [self.business_manager.email, *(p.email for p in self.business_unit)]
        return list(dict.fromkeys(emails))

    def business_unit_slack_ids(self) -> set[str]:
        people = [self.business_manager, *self.business_unit]
        return {p.slack_user_id for p in people if p.slack_user_id}


class Agency(_Strict):
    slug: str
    name: str = Field(min_length=1)
    request_addresses: list[str] = Field(min_length=1)
    #: Domains replies may come from. Empty: the domains of the request addresses.
    reply_domains: list[str] = Field(default_factory=list)
    escalation_contact: Person | None = None
    statutory_partner: bool = False
    #: The agency's own press office (M-1: an agency tells its press office of any enquiry).
    press_office: Person | None = None

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} must be lower-case letters, digits and hyphens")
        return value

    @field_validator("request_addresses")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [_check_email(v) for v in values]

    @field_validator("reply_domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        return [v.strip().lower().lstrip("@") for v in values if v.strip()]

    def allowed_domains(self) -> list[str]:
        if self.reply_domains:
            return self.reply_domains
        return sorted({a.rsplit("@", 1)[1] for a in self.request_addresses})


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise ValueError("a duration is text such as \"48 hours\" or \"5 working days\"")
    return Duration.parse(value)


class Durations(_Strict):
    sin_notification: Duration
    lac_notification: Duration
    rapid_review: Duration
    lcspr_publication: Duration
    info_gathering_return: Duration
    chronology_return: Duration
    learning_event: Duration = Duration(14, "days")
    prepub_notice: Duration = Duration(7, "working_days")
    website_retention: Duration = Duration(12, "months")
    recall_event: Duration = Duration(6, "months")
    complaint_response: Duration = Duration(28, "days")
    statutory_warning_before: Duration = Duration(1, "working_days")

    @field_validator("*", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Duration:
        return _duration(value)

    @field_validator("prepub_notice")
    @classmethod
    def _prepub_floor(cls, value: Duration) -> Duration:
        # Statutory guidance sets a floor of 7 working days; local practice may only lengthen it
        # (SW-COMMS l.79; KIR l.312 vs l.314; process.md 10.3).
        if _approx_working_days(value) < 7:
            raise ValueError(
                f"{value} is shorter than the statutory minimum of 7 working days before publication"
            )
        return value


def _approx_working_days(d: Duration) -> float:
    per_unit = {"hours": 1 / 24, "days": 5 / 7, "weeks": 5, "working_days": 1, "months": 21}
    return d.value * per_unit[d.unit]


class ChasePolicy(_Strict):
    reminder_before: Duration | None = None
    overdue_chase: bool = True
    repeat_every: Duration
    escalate_after: int = Field(default=1, ge=0)
    escalate_to_agency_contact: bool = True
    alert_business_manager: bool = True

    @field_validator("reminder_before", "repeat_every", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Duration | None:
        return None if value in (None, "") else _duration(value)


class WorkingHours(_Strict):
    start: time = time(9)
    end: time = time(17)

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError("working hours must start before they end")
        return self


#: Role keys a media routing row may name; "agency" is the agency the enquiry concerns.
MEDIA_ROLES = (
    "chair", "deputy_chair", "business_manager", "press_office", "executive",
    "communications_lead", "director_of_people", "independent_scrutineer",
)
#: The rows of the routing table (process.md 6.2), by the name the protocol file uses.
MEDIA_ROUTES = {
    "incident": 1, "review": 2, "embargoed": 3, "pre_publication": 4, "published": 5,
    "after_review": 6, "partnership": 7, "inquest": 9, "agency": 10, "general": 11,
    "authorised_agency": 12,
}
MEDIA_OUTPUTS = {
    "holding_statement": "Holding statement",
    "partnership_statement": "Single partnership statement (embargoed press release drafted)",
    "press_release": "Press release",
    "statement_on_actions": "Statement on actions",
    "response": "Partnership response",
    "inquest_statement": "Inquest statement",
    "agency_statement": "Agency statement",
    "joint_communications": "Joint communications",
}
_SHORT = re.compile(r"^\s*(\d+)\s*(minutes?|mins?|hours?|h)\s*$", re.IGNORECASE)


def short_duration(value: Any) -> timedelta:
    """A wall-clock interval for media alerts ("15 minutes", "2 hours"): never working time."""
    if isinstance(value, timedelta):
        return value
    match = _SHORT.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration such as \"15 minutes\" or \"2 hours\"")
    number, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(hours=number) if unit.startswith("h") else timedelta(minutes=number)


def _role_key(value: str) -> str:
    if value not in (*MEDIA_ROLES, "agency"):
        raise ValueError(f"{value!r} is not a role; use one of: {', '.join((*MEDIA_ROLES, 'agency'))}")
    return value


class MediaRoute(_Strict):
    """One row of the routing table: who leads, who speaks, who signs off, what may be said."""

    lead: list[str] = Field(min_length=1)
    speaks: str
    sign_off: list[str] = Field(min_length=1)
    output: str
    source: str = ""
    note: str = ""

    @field_validator("lead", "sign_off")
    @classmethod
    def _roles(cls, values: list[str]) -> list[str]:
        return [_role_key(v) for v in values]

    @field_validator("speaks")
    @classmethod
    def _speaker(cls, value: str) -> str:
        return _role_key(value)

    @field_validator("output")
    @classmethod
    def _output(cls, value: str) -> str:
        if value not in MEDIA_OUTPUTS:
            raise ValueError(f"{value!r} is not an output; use one of: {', '.join(MEDIA_OUTPUTS)}")
        return value

    def roles(self) -> set[str]:
        return {*self.lead, self.speaks, *self.sign_off}


class Media(_Strict):
    """The media protocol (process.md 6): intake address, alert timing and the routing table."""

    #: Mail to this address is a media enquiry (forwarded by an agency, or from a journalist).
    press_address: str | None = None
    #: D-M1: the press office and business manager told "immediately" (target 15 minutes).
    notify_within: timedelta = timedelta(minutes=15)
    #: Unacknowledged alerts repeat this often, to the business manager too.
    acknowledge_within: timedelta = timedelta(minutes=15)
    acknowledge_repeats: int = Field(default=4, ge=1)
    #: Reminders before the journalist's deadline (M-11).
    deadline_reminders: list[timedelta] = Field(
        default_factory=lambda: [timedelta(hours=2), timedelta(minutes=30)]
    )
    #: Who speaks when the Chair is away and there is no Deputy Chair (process.md 6.3, M-4).
    chair_fallback: str = "independent_scrutineer"
    routes: dict[str, MediaRoute] = Field(default_factory=dict)

    @field_validator("press_address")
    @classmethod
    def _press(cls, value: str | None) -> str | None:
        return None if value in (None, "") else _check_email(value)

    @field_validator("notify_within", "acknowledge_within", mode="before")
    @classmethod
    def _short(cls, value: Any) -> timedelta:
        return short_duration(value)

    @field_validator("deadline_reminders", mode="before")
    @classmethod
    def _reminders(cls, values: Any) -> list[timedelta]:
        if not isinstance(values, list):
            raise ValueError("a list such as [\"2 hours\", \"30 minutes\"]")
        return sorted((short_duration(v) for v in values), reverse=True)

    @field_validator("chair_fallback")
    @classmethod
    def _fallback(cls, value: str) -> str:
        # The Deputy Chair is always asked first (SOM l.236); the fallback is for when there is none.
        if value not in MEDIA_ROLES or value in ("chair", "deputy_chair"):
            raise ValueError(f"{value!r} cannot be the fallback for an absent Chair and Deputy Chair")
        return value

    @field_validator("routes")
    @classmethod
    def _all_rows(cls, routes: dict[str, MediaRoute]) -> dict[str, MediaRoute]:
        unknown = sorted(set(routes) - set(MEDIA_ROUTES))
        if unknown:
            raise ValueError(f"unknown routing rows: {', '.join(unknown)}; rows: {', '.join(MEDIA_ROUTES)}")
        missing = [k for k in MEDIA_ROUTES if k not in routes]
        if missing:
            raise ValueError(f"routing rows missing: {', '.join(missing)}")
        return routes


class Partnership(_Strict):
    name: str = Field(min_length=1)
    timezone: str = "Europe/London"
    holiday_region: str = "england-and-wales"
    closure_days: list[date] = Field(default_factory=list)
    sin_notifier: str | None = None
    authserv_id: str = ""


REQUEST_KINDS = ("info-gathering", "chronology")


class Protocol(_Strict):
    preset: str = DEFAULT_PRESET
    partnership: Partnership
    working_hours: WorkingHours = WorkingHours()
    durations: Durations
    chase: dict[str, ChasePolicy]
    roles: Roles
    agencies: list[Agency] = Field(min_length=1)
    media: Media

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        slugs = [a.slug for a in self.agencies]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ValueError(f"agency slugs must be unique; repeated: {', '.join(dupes)}")
        missing = [k for k in REQUEST_KINDS if k not in self.chase]
        if missing:
            raise ValueError(f"chase policy missing for: {', '.join(missing)}")
        if self.partnership.sin_notifier and self.partnership.sin_notifier not in slugs:
            raise ValueError(
                f"partnership.sin_notifier {self.partnership.sin_notifier!r} is not an agency slug"
            )
        needed = {role for route in self.media.routes.values() for role in route.roles()}
        needed.add(self.media.chair_fallback)
        # The Chair and Deputy may be unset (then the fallback speaks); anyone else must be named.
        optional = {"agency", "chair", "deputy_chair"}
        unset = sorted(r for r in needed - optional if getattr(self.roles, r) is None)
        if unset:
            raise ValueError(
                f"the media routing names {', '.join(unset)}, but roles.{unset[0]} is not set"
            )
        return self

    # --- look-ups ---------------------------------------------------------------------
    def agency(self, slug: str) -> Agency:
        for a in self.agencies:
            if a.slug == slug:
                return a
        raise UnknownAgency(slug, [a.slug for a in self.agencies])

    def agency_slugs(self) -> list[str]:
        return [a.slug for a in self.agencies]

    def agencies_for_domain(self, domain: str) -> list[Agency]:
        """Agencies whose allowed reply domains cover ``domain`` (exact or a subdomain)."""
        return [a for a in self.agencies if domain_matches(domain, a.allowed_domains())]

    def statutory_partners(self) -> list[Agency]:
        return [a for a in self.agencies if a.statutory_partner]

    def person(self, role: str) -> Person | None:
        """The person holding a media role, or None when the partnership has nobody in it."""
        return getattr(self.roles, role) if role in MEDIA_ROLES else None

    def calendar(self) -> Calendar:
        return Calendar(
            region=self.partnership.holiday_region,
            closure_days=self.partnership.closure_days,
            tz=self.partnership.timezone,
            working_hours=(self.working_hours.start, self.working_hours.end),
        )

    def terms(self) -> dict[str, Any]:
        """The durations and chase policy a new case freezes (architecture rule 7)."""
        return {
            "durations": {k: str(v) for k, v in self.durations},
            "chase": {
                kind: {
                    k: (str(v) if isinstance(v, Duration) else v)
                    for k, v in policy
                }
                for kind, policy in self.chase.items()
            },
        }

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["durations"] = {k: str(v) for k, v in self.durations}
        data["chase"] = self.terms()["chase"]
        media = data["media"]
        for name in ("notify_within", "acknowledge_within"):
            media[name] = short_text(getattr(self.media, name))
        media["deadline_reminders"] = [short_text(d) for d in self.media.deadline_reminders]
        return data


def short_text(value: timedelta) -> str:
    """A media interval as the protocol file writes it: "15 minutes", "2 hours", "1 hour"."""
    minutes = int(value.total_seconds() // 60)
    number, unit = (minutes // 60, "hour") if minutes and minutes % 60 == 0 else (minutes, "minute")
    return f"{number} {unit}{'' if number == 1 else 's'}"


# --- loading -------------------------------------------------------------------------------


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
    valid = sorted(_model_at(loc[:-1]).model_fields) if _model_at(loc[:-1]) else []
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
    return parse_protocol(data, str(path))
