"""The partnership's protocol: its people, agencies, durations and chase policy (a TOML file).

A protocol file names the preset it starts from (``preset = "kirklees"``) and declares the
partnership's own people and agencies. Presets ship in :mod:`bot.presets`. Tables merge key by
key; lists (agencies, business-unit members, closure days) replace the preset's. A broken file
raises :class:`ProtocolError` naming the file, the field and the problem.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from pydantic import Field, field_validator, model_validator

from bot.calendar import Calendar
from bot.chronology_templates import Templates
from bot.duration import Duration
from bot.errors import ServiceError
from bot.mail.authresults import BOUNDARIES, EOP_AUTHSERV_ID, domain_matches
from bot.protocol_fields import _check_email, _Strict

# The media tables are part of the protocol; callers import them from here.
from bot.protocol_media import (  # noqa: F401
    MEDIA_OUTPUTS,
    MEDIA_ROLES,
    MEDIA_ROUTES,
    Media,
    MediaRoute,
    short_duration,
    short_text,
)
from bot.report_vocabulary import ReportSettings
from bot.retention_policy import Retention
from bot.sar_protocol import Complaints, Sar

DEFAULT_PRESET = "working-together-2023"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ProtocolError(Exception):
    """The protocol cannot be used. The message names the file, the field and the problem."""


class UnknownAgency(ServiceError, ValueError):
    def __init__(self, slug: str, valid: list[str]) -> None:
        super().__init__(f"unknown agency {slug!r}; valid agencies: {', '.join(valid)}")
        self.slug = slug
        self.valid = valid


class Person(_Strict):
    name: str = Field(min_length=1)
    email: str
    slack_user_id: str | None = None
    #: The Entra (AAD) object id Teams sends as ``aadObjectId`` (issue 11).
    teams_user_id: str | None = None

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
    # The local review's owners of clocks (issue 12; bot.owner_clocks). Unset: the business
    # manager is chased instead, and told why.
    workstream_chair: Person | None = None  # KIR l.288-302: the LCSPR workstream's chair
    business_group: Person | None = None  # KIR l.306: the members' list, approves electronically
    # Verifies a review's actions (STK App 3 stage 4: the Quality Assurance Partnership's
    # moderation). Unset: the business manager verifies (bot.action_plan).
    qa_group: Person | None = None
    sar_panel_chair: Person | None = None  # STK l.178, l.240: chairs SAR screening (decision 0028)

    @field_validator(
        "chair", "deputy_chair", "press_office", "executive", "communications_lead",
        "director_of_people", "independent_scrutineer", "workstream_chair", "business_group",
        "qa_group", "sar_panel_chair", mode="before",
    )
    @classmethod
    def _nobody(cls, value: Any) -> Any:
        # TOML has no null: `deputy_chair = false` says the partnership has nobody in the role,
        # overriding a preset's example (then the Chair's absence uses media.chair_fallback,
        # process.md 6.3). `true` names nobody either, so it is refused.
        if value is False:
            return None
        if value is True:
            raise ValueError("false (nobody holds the role) or a table with name and email")
        return value

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
    # The local review (process.md 2.2, L2; Kirklees' model, the only seed with fixed timers).
    learning_event: Duration = Duration(14, "days")  # D-07: after the chronology deadline, KIR l.253
    first_draft: Duration = Duration(28, "days")  # D-08: from the (last) learning event, KIR l.267
    workstream_meeting: Duration = Duration(14, "days")  # D-09a: from the draft, KIR l.294
    minutes: Duration = Duration(48, "hours")  # D-09b: from the workstream meeting, KIR l.300
    amendments: Duration = Duration(48, "hours")  # D-09c: from the minutes, KIR l.302
    business_group: Duration = Duration(14, "days")  # D-09d: from issue to the group, KIR l.306
    prepub_notice: Duration = Duration(7, "working_days")
    website_retention: Duration = Duration(12, "months")
    actions_due: Duration = Duration(12, "weeks")  # D-14: from publication, KIR l.276
    recall_event: Duration = Duration(6, "months")
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


METHODOLOGIES = ("learning-event", "imr", "other")


class Review(_Strict):
    """How the partnership runs a local review (issue 12; decision 0022)."""

    #: The methodology a case gets unless its commissioning says otherwise: "learning-event"
    #: (KIR l.207-308: D-07 to D-09 run), "imr" (STK l.296, l.313-323: IMR due dates set per case
    #: and agency) or "other" (STK l.325-331: no fixed timers, a target date).
    methodology: str = "learning-event"
    #: A publication date less than ``durations.prepub_notice`` away: "refuse" (naming the
    #: earliest valid date) or "warn" (accepted; the notice is late from the start and says so).
    short_notice: str = "refuse"

    @field_validator("methodology")
    @classmethod
    def _methodology(cls, value: str) -> str:
        if value not in METHODOLOGIES:
            raise ValueError(f"{value!r} is not a methodology; use one of: {', '.join(METHODOLOGIES)}")
        return value

    @field_validator("short_notice")
    @classmethod
    def _short_notice(cls, value: str) -> str:
        if value not in ("refuse", "warn"):
            raise ValueError("short_notice is \"refuse\" or \"warn\"")
        return value


class WorkingHours(_Strict):
    start: time = time(9)
    end: time = time(17)

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError("working hours must start before they end")
        return self


class Partnership(_Strict):
    name: str = Field(min_length=1)
    timezone: str = "Europe/London"
    holiday_region: str = "england-and-wales"
    closure_days: list[date] = Field(default_factory=list)
    sin_notifier: str | None = None
    authserv_id: str = ""
    #: "exchange" or "other": Exchange's X-MS-Exchange-Organization-* headers are read only behind
    #: Exchange, whose header firewall strips them from outside mail. Unset: "exchange" when
    #: authserv_id is "eop" (Exchange Online Protection), else "other".
    mail_boundary: str | None = None
    #: How many Authentication-Results headers with authserv_id the boundary writes at the top (one
    #: by default; an OpenDKIM + OpenDMARC chain writes one each). More than one only if the
    #: boundary also strips incoming headers bearing its id: otherwise a forged one sits inside.
    authres_headers: int = Field(default=1, ge=1, le=5)

    @field_validator("mail_boundary")
    @classmethod
    def _boundary(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if value not in BOUNDARIES:
            raise ValueError(f"{value!r} is not a mail boundary; use one of: {', '.join(BOUNDARIES)}")
        return value

    def boundary(self) -> str:
        """The mail boundary in effect (see ``mail_boundary``)."""
        if self.mail_boundary:
            return self.mail_boundary
        return "exchange" if self.authserv_id.strip().lower() == EOP_AUTHSERV_ID else "other"


REQUEST_KINDS = ("info-gathering", "chronology")
#: The chase policy of a clock with an owner (the reviewer, the workstream chair...: bot.owner_clocks).
OWNER_CHASE = "owner"


class Protocol(_Strict):
    preset: str = DEFAULT_PRESET
    partnership: Partnership
    working_hours: WorkingHours = WorkingHours()
    durations: Durations
    chase: dict[str, ChasePolicy]
    roles: Roles
    agencies: list[Agency] = Field(min_length=1)
    media: Media
    review: Review = Review()
    #: Files requests carry and the chronology template's rules (bot/chronology_templates.py).
    templates: Templates = Templates()
    #: How long each class of record is kept (bot/retention_policy.py; decision 0030).
    retention: Retention = Retention()
    #: The partnership's report: themes and small-number suppression (bot/report_vocabulary.py).
    report: ReportSettings = ReportSettings()
    sar: Sar = Sar()
    complaints: Complaints = Complaints()

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        slugs = [a.slug for a in self.agencies]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ValueError(f"agency slugs must be unique; repeated: {', '.join(dupes)}")
        missing = [k for k in (*REQUEST_KINDS, OWNER_CHASE) if k not in self.chase]
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
        data["retention"] = {k: str(v) for k, v in self.retention}
        data["sar"] = {k: str(v) for k, v in self.sar}
        data["complaints"]["response"] = str(self.complaints.response)
        data["complaints"]["escalated_response"] = str(self.complaints.escalated_response)
        return data


# --- loading -------------------------------------------------------------------------------


# Reading the file (presets, merging, refusals that name the field) lives in its own module; these
# names stay importable from here, where every caller has always found them.
from bot.protocol_file import load_protocol, parse_protocol, preset_names  # noqa: E402, F401
