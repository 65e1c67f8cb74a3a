"""How long each class of record is kept: the protocol's ``[retention]`` table (issue 13 item 2).

No statute sets a retention period for a practice review's working records (process.md 8.3: local
schedules decide; the IICSA moratorium was lifted on 20 Jan 2023). The defaults below are
therefore the partnership's to confirm with its data protection officer; each says where it comes
from. A period runs from its class's anchor; the purge acts after the end of the local day the
period ends on (bot.calendar.Calendar.due_after), never while a legal hold stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import field_validator

from bot.duration import Duration
from bot.protocol_fields import _Strict


@dataclass(frozen=True)
class RecordClass:
    key: str
    anchor: str  # what the period runs from
    holds: str  # what the bot stores of it, and what the purge does
    #: False: the bot keeps no copy (the period is the partnership's, for its document store).
    held: bool = True


CLASSES: dict[str, RecordClass] = {c.key: c for c in (
    RecordClass(
        "case_working_file", "case closed",
        "the case's free text (decision rationale, closing reason), the referrer and the reviewer's "
        "name and address, its mail received and sent (bodies, raw messages, attachments): emptied; "
        "the reference, stages, dates, decisions, agencies, counts and the audit trail stay",
    ),
    RecordClass(
        "returns_and_chronologies", "case closed",
        "agencies' information-gathering and chronology returns (raw messages, attachments) and the "
        "chronology rows read from them: emptied or deleted; each return's date, agency and count stay",
    ),
    RecordClass(
        "raw_mail", "received",
        "mail that belongs to no case (triage dismissed, auto-replies, bounces, unknown senders) and "
        "mail sent about no case: bodies, raw messages, attachments emptied; dates and kinds stay",
    ),
    RecordClass(
        "media_log", "enquiry closed",
        "a media enquiry's journalist, contact details, summary, question, statements and its "
        "email: emptied; the reference, outlet, route, dates and who spoke stay",
    ),
    RecordClass(
        "chat_posts", "case closed",
        "the bot's own Slack and Teams posts of a closed case (its card and thread) or a closed "
        "media enquiry (its alert): deleted from the chat surface; the row stays, marked deleted",
    ),
    RecordClass(
        "door_replies", "recorded",
        "the answer a door gave to a request, kept to repeat it to a replay of that request (a Slack "
        "retry, a CLI --idempotency-key): deleted; it may quote case detail and a replay comes within "
        "minutes",
    ),
    RecordClass("drafts", "published", "drafts are written on request and not kept by the bot", held=False),
    RecordClass("final_report", "published", "the report lives in the partnership's document store",
                held=False),
    RecordClass(
        "complaints", "complaint closed",
        "a complaint's case (process.md 2.6): the complainant's name and contact, the closing reason "
        "and its mail: emptied; the reference, dates, stages, the Ombudsman flag and the audit trail stay",
    ),
)}


class Retention(_Strict):
    """``[retention]`` in the protocol: a period per record class (months for years)."""

    # [INFERRED] Six years after closure: the Limitation Act 1980 (ss 2, 5) period most local
    # retention schedules use for case files where no statute sets one (process.md 8.3, E20).
    case_working_file: Duration = Duration(72, "months")
    # [INFERRED] Two years after closure: the agencies keep their own records (the returns are
    # copies), and the published report carries the learning (process.md 8.3).
    returns_and_chronologies: Duration = Duration(24, "months")
    # [INFERRED] A year after receipt, for mail that never belonged to a case.
    raw_mail: Duration = Duration(12, "months")
    # [INFERRED] A year after the enquiry closed; journalists' details are kept no longer than
    # the enquiry needs (process.md 8.4 item 7).
    media_log: Duration = Duration(12, "months")
    # [INFERRED] 90 days after the case closed (process.md 8.3 "default deletion of Slack messages
    # for closed cases, e.g. 90 days after X3"; 8.4 item 5: below Enterprise the bot deletes its own).
    chat_posts: Duration = Duration(90, "days")
    # [INFERRED] 30 days after it was recorded: a door's replies only matter to a replay (Slack
    # retries within minutes, bot.doors); a month covers a CLI script re-run after a holiday.
    door_replies: Duration = Duration(30, "days")
    # Not held by the bot; stated so the protocol is the one place the schedule is written.
    drafts: Duration = Duration(6, "months")  # [INFERRED] superseded by the published report
    # NSPCC's national repository keeps a published review 5 years (process.md 0.2, E14).
    final_report: Duration = Duration(60, "months")
    # [INFERRED] Six years after the complaint closed; "securely retained" (STK l.427).
    complaints: Duration = Duration(72, "months")

    @field_validator("*", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Duration:
        if isinstance(value, Duration):
            return value
        if not isinstance(value, str):
            raise ValueError("a period is text such as \"72 months\" or \"90 days\"")
        period = Duration.parse(value)
        if period.unit in ("hours", "working_days"):
            raise ValueError("a retention period is in days, weeks or months")
        return period

    def period(self, key: str) -> Duration:
        period: Duration = getattr(self, key)
        return period
