"""The intake benchmark's corpus (see bench/intake.py for what is timed): the cases and requests
the returns answer (``populate``, through the services) and the messages (``generate``):
returns threaded and by subject, out-of-office replies, referrals and unknown mail, with
attachments on a fifth, reproducible from the seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from sqlalchemy import update
from sqlmodel import select

from bench._common import BENCH_NOW
from bot.agency_requests import send_requests
from bot.cases import Referral, accept, open_case, record_sin_submitted
from bot.core import Core
from bot.models import AgencyRequest, Case, OutboxMessage

N_MESSAGES = 2_000
#: Enough cases that every agency return (threaded or by subject token) answers its own request.
N_CASES = 440
SEED = 20261118

#: The mix the issue asks for (fractions of N_MESSAGES).
MIX = {
    "threaded-return": 0.60,  # In-Reply-To a request the bot sent
    "subject-return": 0.15,  # [SI-2026-NNNN] in the subject, from the agency's domain
    "auto-reply": 0.10,  # Auto-Submitted: auto-replied, threaded to a request
    "referral": 0.05,  # a new referral from the local authority
    "unknown": 0.10,  # matches nothing: triage
}
#: What the pipeline should classify each kind as.
EXPECTED = {
    "threaded-return": "agency-return",
    "subject-return": "agency-return",
    "auto-reply": "auto-reply",
    "referral": "referral",
    "unknown": "unknown",
}
ATTACHMENT_SHARE = 0.20
HTML_SHARE = 0.30

AGENCY_DOMAIN = {
    "police": "police.example",
    "icb": "icb.example",
    "la-csc": "borough.example",
    "acute-trust": "hospital.example",
    "school": "school.example",
    "charity": "charity.example",
}
REQUEST_SETS = [
    ["police", "icb", "la-csc"],
    ["police", "icb", "acute-trust", "school"],
    ["police", "la-csc", "school"],
    ["icb", "acute-trust", "charity", "police"],
]
SENDER_NAMES = ["dsl", "safeguarding.lead", "named.nurse", "review.officer", "j.bloggs", "a.khan"]
UNKNOWN_SENDERS = [
    ("events@training-provider.example.org", "Safeguarding training dates for the spring term"),
    ("newsletter@sector-news.example.com", "This week in children's services"),
    ("parent.enquiry@mail.example.net", "Question about a school place"),
    ("no-reply@survey.example.com", "Your feedback matters: partnership survey"),
    ("office@solicitors.example.co.uk", "Request for disclosure of records"),
]
_PROSE = (
    "the child was seen at home by the health visitor who noted concerns about supervision and "
    "the condition of the property agency records show contact with the family over the last "
    "eighteen months including two strategy discussions and a child in need plan the school "
    "reported attendance below ninety percent and a referral to early help was offered but "
    "declined information was shared with partners at the multi agency meeting police attended "
    "the address following a report from a neighbour no further action was recorded at that time "
    "the practitioner considered whether the threshold for a section forty seven enquiry was met "
    "and discussed the case with a manager the family was known to adult services the chronology "
    "below sets out each contact and the decision taken with the reasons given"
)
WORDS = _PROSE.split(" ")


@dataclass(frozen=True)
class SentRequest:
    ref: str
    agency: str
    message_id: str
    subject: str


# --- setup ---------------------------------------------------------------------------------


def populate(core: Core, n_cases: int = N_CASES) -> list[SentRequest]:
    """Open, accept and notify ``n_cases`` cases and send each its information gathering requests."""
    for i in range(n_cases):
        with core.transaction() as session:
            referral = Referral(
                referring_agency="la-csc", incident_date=date(2026, 11, 12),
                la_aware_date=date(2026, 11, 13), outcome="serious-harm", abuse_neglect="yes",
                legal_status="cin", age_band="5-9",
                agencies_involved=REQUEST_SETS[i % len(REQUEST_SETS)],
            )
            case = open_case(session, core, referral, actor="bench@partnership.example", source="cli")
            accept(session, core, case, actor="bench@partnership.example")
            record_sin_submitted(session, core, case, at=None, actor="bench@partnership.example")
            send_requests(
                session, core, case, kind="info-gathering",
                agencies=REQUEST_SETS[i % len(REQUEST_SETS)], actor="bench@partnership.example",
            )
    with core.transaction() as session:
        # The requests went out long ago as far as the intake is concerned.
        session.execute(
            update(OutboxMessage).values(status="sent", sent_at=BENCH_NOW, attempts=1)
        )
        rows = session.exec(
            select(Case.ref, AgencyRequest.agency, AgencyRequest.message_id, OutboxMessage.subject)
            .join(Case, Case.id == AgencyRequest.case_id)
            .join(OutboxMessage, OutboxMessage.message_id == AgencyRequest.message_id)
            .order_by(AgencyRequest.id)
        ).all()
    return [SentRequest(ref, agency, mid, subject) for ref, agency, mid, subject in rows]


# --- message generation --------------------------------------------------------------------


def _text(rng: random.Random, size: int, header: str = "") -> str:
    lines = [header] if header else []
    total = len(header)
    while total < size:
        words = rng.choices(WORDS, k=rng.randint(9, 13))
        line = " ".join(words).capitalize() + "."
        lines.append(line)
        total += len(line) + 1
        if rng.random() < 0.15:
            lines.append("")
            total += 1
    return "\n".join(lines) + "\n"


def _html(text: str) -> str:
    paras = [p for p in text.split("\n\n") if p.strip()]
    body = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>\n" for p in paras)
    return f"<html><body style=\"font-family: Arial\">\n{body}</body></html>\n"


def _message(
    rng: random.Random, i: int, *, sender: str, subject: str, body: str, html: bool,
    attachment: int, in_reply_to: str | None = None, headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    domain = sender.rsplit("@", 1)[1]
    msg["From"] = sender
    msg["To"] = "reviews@partnership.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(BENCH_NOW)
    msg["Message-ID"] = f"<bench.{i:05d}.{rng.getrandbits(48):012x}@{domain}>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html:
        msg.add_alternative(_html(body), subtype="html")
    if attachment:
        kind = rng.choice([("application", "pdf", "pdf"), (
            "application", "vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")])
        msg.add_attachment(
            rng.randbytes(attachment), maintype=kind[0], subtype=kind[1],
            filename=f"IGT return {i}.{kind[2]}",
        )
    return msg.as_bytes(policy=SMTP)


def generate(requests: list[SentRequest], n: int = N_MESSAGES, seed: int = SEED) -> list[tuple[str, bytes]]:
    """``n`` messages as (kind, raw bytes), in a shuffled but reproducible order."""
    rng = random.Random(seed)
    kinds: list[str] = []
    for kind, share in MIX.items():
        kinds += [kind] * round(n * share)
    kinds = (kinds + ["unknown"] * n)[:n]
    rng.shuffle(kinds)
    n_returns = kinds.count("threaded-return") + kinds.count("subject-return")
    if len(requests) < n_returns:
        raise SystemExit(f"setup made {len(requests)} requests; {n_returns} returns need one each")
    pool = list(requests)
    rng.shuffle(pool)
    threaded = iter(pool[: kinds.count("threaded-return")])
    by_subject = iter(pool[kinds.count("threaded-return"): n_returns])
    # Attachments on about 20% of all messages; out-of-office replies never carry one.
    eligible = [i for i, k in enumerate(kinds) if k != "auto-reply"]
    with_attachment = set(rng.sample(eligible, round(n * ATTACHMENT_SHARE)))
    out: list[tuple[str, bytes]] = []
    for i, kind in enumerate(kinds):
        size = rng.randint(2_000, 8_000)
        html = rng.random() < HTML_SHARE
        attachment = rng.randint(50_000, 500_000) if i in with_attachment else 0
        name = rng.choice(SENDER_NAMES)
        if kind == "threaded-return":
            req = next(threaded)
            raw = _message(
                rng, i, sender=f"{name}@{AGENCY_DOMAIN[req.agency]}", subject=f"RE: {req.subject}",
                body=_text(rng, size, "Please find our information gathering return below."),
                html=html, attachment=attachment, in_reply_to=req.message_id,
            )
        elif kind == "subject-return":
            req = next(by_subject)
            raw = _message(
                rng, i, sender=f"{name}@{AGENCY_DOMAIN[req.agency]}",
                subject=f"[{req.ref}] Information gathering return",
                body=_text(rng, size, "Our return for the rapid review is below."),
                html=html, attachment=attachment,
            )
        elif kind == "auto-reply":
            req = rng.choice(requests)
            raw = _message(
                rng, i, sender=f"{name}@{AGENCY_DOMAIN[req.agency]}",
                subject=f"Automatic reply: {req.subject}",
                body=_text(rng, size, "I am out of the office until Monday with limited access."),
                html=html, attachment=0, in_reply_to=req.message_id,
                headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
            )
        elif kind == "referral":
            fields = (
                "Referring agency: la-csc\n"
                "Date of incident: 2026-11-16\n"
                "Date local authority became aware: 2026-11-17\n"
                "Outcome: serious harm\n"
                "Abuse or neglect: suspected\n"
                "Legal status: child in need\n"
                "Age band: 10-14\n"
                "Agencies involved: police, icb, school\n"
                "Parallel processes: police investigation\n"
                "Media interest: no\n\n"
            )
            raw = _message(
                rng, i, sender="duty.manager@borough.example", subject="Serious incident referral",
                body=_text(rng, size, fields), html=html, attachment=attachment,
            )
        else:
            sender, subject = rng.choice(UNKNOWN_SENDERS)
            raw = _message(
                rng, i, sender=sender, subject=subject, body=_text(rng, size), html=html,
                attachment=attachment,
            )
        out.append((kind, raw))
    return out
