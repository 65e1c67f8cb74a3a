"""The tables. Deadlines and chases are rows (architecture rule 3); the clock only ticks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import DDL, JSON, Column, Index, String, UniqueConstraint, event, true
from sqlmodel import Field, SQLModel

from bot.at_rest_types import sealed_bytes, sealed_json, sealed_text
from bot.db import NAMING_CONVENTION, UTCDateTime

# Before any table is declared: constraints get the names PostgreSQL itself would give them, so
# databases made by create_all before migrations (decision 0004) already carry these names and
# a migration can drop a constraint by name on either database (decision 0014).
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def _dt(*, index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), index=index, nullable=nullable))


class Case(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, index=True)
    #: child (a serious incident / local review) | sar | complaint (bot/models_sar.py; decision 0028).
    #: A server default only, so a row written without it (an older writer) is a child case.
    kind: str = Field(default="child", sa_column=Column(String(), server_default="child", nullable=False,
                                                        index=True))
    stage: str = Field(index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    source: str  # slack | email | cli
    referrer: str  # actor who raised it (email address or Slack user)
    # Non-identifying referral facts (process.md 7.1); identifying detail stays in secure email.
    referring_agency: str | None = None
    incident_date: date | None = None
    la_aware_date: date | None = None
    outcome: str | None = None  # death | serious-harm
    abuse_neglect: str | None = None  # yes | no | unclear
    legal_status: str | None = None
    age_band: str | None = None
    agencies_involved: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    parallel_processes: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    media_interest: str | None = None
    #: What the business unit still has to complete on the referral.
    missing: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    sin_submitted_at: datetime | None = _dt()
    decision: str | None = None
    decision_at: datetime | None = _dt()
    decision_rationale: str | None = sealed_text("case.decision_rationale")
    route: str | None = None  # why the case left the statutory path (not met routes)
    closed_reason: str | None = sealed_text("case.closed_reason")
    #: Durations and chase policy frozen when the case opened (architecture rule 7).
    terms: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Deadline(SQLModel, table=True):
    """A clock: statutory (case-level), one per request, one a person owes, or a media enquiry's
    (decision 0026). ``next_action_at`` drives the sweep: one engine for every clock."""

    __table_args__ = (Index("ix_deadline_due_action", "next_action_at"),)

    id: int | None = Field(default=None, primary_key=True)
    #: NULL only for a media enquiry's clocks: an enquiry need not concern a case.
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    #: The media enquiry whose clock this is (bot.media_clock), else NULL.
    media_enquiry_id: int | None = Field(default=None, foreign_key="mediaenquiry.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="agencyrequest.id", index=True)
    kind: str  # sin_notification | lac_notification | rapid_review | lcspr_publication | <kind>_return
    anchor_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    met_at: datetime | None = _dt()
    cancelled_at: datetime | None = _dt()
    #: Index into the deadline's plan of warnings / chasers; the next step to take.
    step: int = 0
    #: When the sweep must next look at this row; NULL once nothing more will happen.
    next_action_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    #: Who owes it and is chased (bot.owner_clocks): a role ("reviewer", "workstream_chair",
    #: "business_group", "business_unit", any protocol role) or "agency:<slug>". NULL: the older
    #: clocks, whose plan is fixed (statutory: the business unit; a request: its agency).
    owner: str | None = None
    #: False: the steps fall due at their exact time, nights and weekends included (a media
    #: enquiry's: journalists do not keep office hours, process.md 6, M-1 and M-11).
    working_hours: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class AgencyRequest(SQLModel, table=True):
    """An information-gathering or chronology request to one agency on one case."""

    __table_args__ = (UniqueConstraint("case_id", "agency", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    agency: str
    kind: str  # info-gathering | chronology
    status: str = "sent"  # sent | returned | closed
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    returned_at: datetime | None = _dt()
    returned_via: str | None = None  # email | other means
    closed_reason: str | None = sealed_text("agencyrequest.closed_reason")
    chases: int = 0
    escalated_at: datetime | None = _dt()
    last_auto_reply_at: datetime | None = _dt()
    bounced_at: datetime | None = _dt()
    message_id: str | None = Field(default=None, index=True)
    named_by: str | None = None  # the agency that named this one (process.md RR1)


class OutboxMessage(SQLModel, table=True):
    """Every outbound email, written in the same transaction as the change that causes it."""

    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_claimed", "status", "claimed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True)
    kind: str
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="agencyrequest.id")
    to: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    cc: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    subject: str = sealed_text("outboxmessage.subject", nullable=False)
    body_text: str = sealed_text("outboxmessage.body_text", nullable=False)
    body_html: str | None = sealed_text("outboxmessage.body_html")
    message_id: str = Field(unique=True, index=True)
    in_reply_to: str | None = None
    references: str | None = None
    status: str = "pending"  # pending | sending | unconfirmed (may have gone) | sent | cancelled
    #: Why the message exists, e.g. ``deadline:7`` or ``case:3 media:5:unacknowledged``: checked
    #: again when it is claimed for delivery; a reason that has gone cancels it (bot.reasons).
    reason: str | None = None
    attempts: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    claimed_at: datetime | None = _dt()
    #: The instance (hostname:pid:random) sending it, and until when its claim holds (on an
    #: unconfirmed row a dead sender left: when that claim ended; bot.outbox).
    claimed_by: str | None = None
    lease_until: datetime | None = _dt()
    sent_at: datetime | None = _dt()
    last_error: str | None = None


class InboundMessage(SQLModel, table=True):
    """Every message the mailbox delivered, recorded once under its Message-ID before it acts."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True)
    mailbox: str
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    from_addr: str = sealed_text("inboundmessage.from_addr", default="", nullable=False)
    #: referral | agency-return | media-enquiry | auto-reply | bounce | unknown
    classification: str = "pending"
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    agency: str | None = None
    request_id: int | None = Field(default=None, foreign_key="agencyrequest.id")
    #: open while a person must look at it (the triage list), then resolved.
    triage_status: str | None = Field(default=None, index=True)  # open | assigned | dismissed
    triage_reason: str | None = sealed_text("inboundmessage.triage_reason")
    raw: bytes = sealed_bytes("inboundmessage.raw", compress=True)
    #: Keyed hash (bot.at_rest.Keyring.lookup_hash) of bot.inbound.digest_of(raw): a reused
    #: Message-ID with other content is another message.
    digest: str | None = None


#: PostgreSQL stores a large value out of line (TOAST) after trying to compress it, by default
#: with pglz, which reads a whole value before giving up on one that does not shrink by 25 %:
#: a message whose text compresses but whose base64 attachment does not cost about 16 us a KB
#: to write (10 ms for a 600 KB message, more than the rest of its intake). lz4 (PostgreSQL 14+,
#: when built with it) costs about a tenth of that; a server without it stores the bytes
#: uncompressed. Same statement in migration 0003 (docs/benchmarks.md, decision 0017).
RAW_STORAGE_DDL = """\
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings
             WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE inboundmessage ALTER COLUMN raw SET COMPRESSION lz4;
  ELSE
    ALTER TABLE inboundmessage ALTER COLUMN raw SET STORAGE EXTERNAL;
  END IF;
END
$$"""
event.listen(
    InboundMessage.__table__, "after_create",  # type: ignore[attr-defined]
    DDL(RAW_STORAGE_DDL).execute_if(dialect="postgresql"),
)


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    inbound_id: int = Field(foreign_key="inboundmessage.id", index=True)
    stored_name: str | None = None  # generated; None when not stored (too large)
    display_name: str = sealed_text("attachment.display_name", nullable=False)
    content_type: str
    size: int
    rejected_reason: str | None = None
    #: None for a document; "signature" (S/MIME, PGP) or "message" (an attached .eml) otherwise.
    role: str | None = None


class Event(SQLModel, table=True):
    """The audit trail: who did what, when. ``detail`` holds facts, never narrative."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str
    kind: str
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Lease(SQLModel, table=True):
    """A named job only one instance may do at a time (reading the mailbox), until ``expires_at``."""

    name: str = Field(primary_key=True)
    holder: str
    acquired_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class RefCounter(SQLModel, table=True):
    """The last number handed out for each prefix and year (SI-2026-0001, ME-2026-0001)."""

    prefix: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    last: int = 0


# --- Publication and the media protocol (issue 4) --------------------------------------------


class Publication(SQLModel, table=True):
    """A local review's road to publication (process.md L3 to P2), one row per case."""

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    embargoed_at: datetime | None = _dt()
    #: criminal | coroner: why publication waits (SW-COMMS l.57; KIR l.316).
    embargo_reason: str | None = None
    publication_date: date | None = None
    #: When a delayed review is expected to be published (the delay notice, KIR l.316).
    expected_publication_date: date | None = None
    published_at: datetime | None = _dt()
    #: Agencies authorised to speak for themselves about this review (M-8, SW-COMMS l.93).
    authorised_agencies: list[str] = Field(default_factory=list, sa_column=Column(JSON))


class ChairAbsence(SQLModel, table=True):
    """The Chair is away from ``starts_at`` to ``ends_at``: a time-bounded delegation (6.3)."""

    id: int | None = Field(default=None, primary_key=True)
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    #: A role key the Chair designated (SOM l.234); None: the Deputy Chair, else the fallback.
    delegate: str | None = None
    created_by: str
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    cancelled_at: datetime | None = _dt()
    cancelled_by: str | None = None


class MediaEnquiry(SQLModel, table=True):
    """A journalist's enquiry (ME-2026-0001) with its routing, frozen when it arrived.

    ``journalist``, ``contact``, ``summary`` and ``question`` are free text: they go to the press
    office and the business manager by email and are never posted in Slack (process.md 8.4).
    """

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, index=True)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    source: str  # slack | email | cli
    raised_by: str  # the actor: slack:U..., an email address, cli:login
    raising_agency: str | None = None
    outlet: str
    journalist: str = sealed_text("mediaenquiry.journalist", default="", nullable=False)
    contact: str = sealed_text("mediaenquiry.contact", default="", nullable=False)
    journalist_deadline: datetime | None = _dt()
    subject: str  # case | partnership | agency | inquest | general
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    subject_agency: str | None = None
    summary: str = sealed_text("mediaenquiry.summary", default="", nullable=False)
    #: What the journalist asked, from an emailed enquiry (quoted history trimmed, at most
    #: bot.media.QUESTION_LIMIT characters). Email and `media show` only, never Slack.
    question: str | None = sealed_text("mediaenquiry.question")
    #: The routing row and the people it named when the enquiry arrived (bot.media_routing).
    route: str
    routing: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    status: str = "open"  # open | acknowledged | responded | closed
    acknowledged_at: datetime | None = _dt()
    acknowledged_by: str | None = None
    responded_at: datetime | None = _dt()
    #: Who spoke to the journalist (a role key or "agency"), as recorded.
    spoke: str | None = None
    closed_at: datetime | None = _dt()
    closed_reason: str | None = sealed_text("mediaenquiry.closed_reason")
    #: How many times the alert has repeated (shown on the alert). When the next repeat and the
    #: deadline reminders fall due is on the enquiry's Deadline rows (bot.media_clock).
    alerts_repeated: int = 0
    inbound_id: int | None = Field(default=None, foreign_key="inboundmessage.id")


class ChatPost(SQLModel, table=True):
    """A message a chat surface posted about a case (its card) or a media enquiry (its alert),
    updated in place on every change (issue 11; decision 0019). One per surface, object and
    conversation: the unique key stops a second card when two instances race."""

    __table_args__ = (UniqueConstraint("surface", "object_kind", "object_id", "conversation"),)

    id: int | None = Field(default=None, primary_key=True)
    surface: str  # slack | teams
    object_kind: str  # case | media
    #: case.id or mediaenquiry.id (no foreign key: the kind says which table).
    object_id: int
    #: A Slack channel id, a Teams conversation id.
    conversation: str
    #: A Slack message ts, a Teams activity id.
    message_id: str
    #: When it was first posted (a media enquiry's time to notify, issue 4 item 6).
    posted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    #: When the surface deleted it after the retention period (bot.retention_chat); the row stays.
    deleted_at: datetime | None = _dt()
    #: Failed attempts to delete it (retried on later ticks, the least tried first).
    delete_attempts: int = 0


class MediaStatement(SQLModel, table=True):
    """A draft statement for an enquiry; each edit is a new version and needs a new approval."""

    __table_args__ = (UniqueConstraint("enquiry_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    enquiry_id: int = Field(foreign_key="mediaenquiry.id", index=True)
    version: int
    kind: str  # an output of the routing table (holding_statement, press_release, ...)
    text: str = sealed_text("mediastatement.text", nullable=False)
    status: str = "draft"  # draft | approved | released | superseded
    drafted_by: str
    drafted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    #: One entry per sign-off role: {"role", "actor", "at"}. Approved once every role has signed.
    approvals: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON))
    approved_at: datetime | None = _dt()
    released_by: str | None = None
    released_at: datetime | None = _dt()
    released_to: str | None = sealed_text("mediastatement.released_to")


class DoorRequest(SQLModel, table=True):
    """A request a door has acted on (a Slack view submission or event, a CLI command with an
    idempotency key), written in the same transaction as the action so a replay acts once."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=255)
    surface: str  # slack-view | slack-event | cli
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    #: What the first request answered (a reference, the lines printed), replayed to a repeat.
    result: dict[str, Any] = sealed_json("doorrequest.result")


# New tables live in their own modules (one line each, to ease merging; decision 0023).
from bot import (  # noqa: E402, F401
    models_actions,
    models_chronology,
    models_keys,
    models_outbox,
    models_report,
    models_retention,
    models_review,
    models_sar,
)
