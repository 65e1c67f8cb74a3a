"""Media statements (process.md 7.9; M-5, M-10): drafted, approved by every signer, released.

Each edit is a new version that needs its own approvals; the signers are the people the
enquiry's routing named (matched by email or Slack id, never by which buttons a person sees).
A press release about a case or review waits for publication (M-5: SW-COMMS l.95; SOM l.254).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot import audit
from bot.core import Core
from bot.errors import Refused, ServiceError
from bot.mailer import render
from bot.media import mail_context, mark_responded, require_open, routing_of
from bot.media_routing import Named
from bot.media_team import actor_is, require_team
from bot.models import Case, MediaEnquiry, MediaStatement, Publication
from bot.outbox import enqueue
from bot.protocol import MEDIA_OUTPUTS
from bot.statements import render_statement

#: M-5: the rule a refused press release cites.
PRESS_RELEASE_RULE = (
    "A press release is issued only once the review is completed and published "
    "(media protocol M-5: SW-COMMS l.95; SOM l.254). Until then the answer is a holding statement."
)



def latest_statement(session: Session, enquiry: MediaEnquiry) -> MediaStatement | None:
    return session.exec(
        select(MediaStatement).where(MediaStatement.enquiry_id == enquiry.id)
        .order_by(col(MediaStatement.version).desc())
    ).first()


def _proceedings(session: Session, enquiry: MediaEnquiry) -> bool:
    """Whether criminal or coroner proceedings may be active (contempt risk, process.md 7.9)."""
    if enquiry.subject == "inquest" or enquiry.route == "embargoed":
        return True
    case = session.get(Case, enquiry.case_id) if enquiry.case_id else None
    if case is None:
        return False
    return any(
        word in p.lower() for p in case.parallel_processes
        for word in ("police", "coroner", "court", "criminal")
    )


def check_press_release(session: Session, enquiry: MediaEnquiry) -> None:
    """M-5: refuse a press release about a case or review unless the review is published.

    M-5 is about reviews: an enquiry about the partnership itself or general safeguarding (rows
    7 and 11) may have a press release, signed off as its row says. An enquiry about a case not
    yet known to the bot is a case whose review is not published."""
    if enquiry.case_id is None and enquiry.subject in ("partnership", "general", "agency"):
        return
    case = session.get(Case, enquiry.case_id) if enquiry.case_id else None
    publication = session.get(Publication, case.id) if case else None
    if publication is None or publication.published_at is None:
        raise Refused(PRESS_RELEASE_RULE)


def draft_statement(
    session: Session, core: Core, enquiry: MediaEnquiry, *, actor: str, kind: str | None = None,
    text: str | None = None, team_member: bool = False,
) -> MediaStatement:
    """A new version of the enquiry's statement: rendered from the template, or the edited text."""
    require_team(core, actor, team_member, "draft a media statement")
    require_open(enquiry)
    kind = kind or enquiry.routing["output"]
    if kind not in MEDIA_OUTPUTS:
        raise ServiceError(f"kind must be one of: {', '.join(MEDIA_OUTPUTS)}")
    if kind == "press_release":
        check_press_release(session, enquiry)
    previous = latest_statement(session, enquiry)
    if text is None:
        routing = routing_of(enquiry)
        press = core.protocol.roles.press_office
        text = render_statement(
            kind, partnership=core.protocol.partnership.name, proceedings=_proceedings(session, enquiry),
            press_office=press, spokesperson=routing.spokesperson,
            case_under_review=enquiry.route in ("review", "embargoed", "pre_publication"),
        )
    if not text.strip():
        raise ServiceError("the statement is empty")
    now = core.clock.now()
    if previous is not None and previous.status in ("draft", "approved"):
        previous.status = "superseded"
    statement = MediaStatement(
        enquiry_id=enquiry.id or 0, version=(previous.version + 1) if previous else 1, kind=kind,
        text=text.strip()[:8000], drafted_by=actor, drafted_at=now,
    )
    session.add(statement)
    session.flush()
    audit.record(
        session, at=now, actor=actor, kind="media_statement_drafted", case_id=enquiry.case_id,
        media_id=enquiry.id, media_ref=enquiry.ref, version=statement.version, statement=kind,
    )
    return statement


def pending_signers(enquiry: MediaEnquiry, statement: MediaStatement) -> list[Named]:
    signed = {a["role"] for a in statement.approvals}
    return [n for n in routing_of(enquiry).sign_off if n.role not in signed]


def approve_statement(
    session: Session, core: Core, enquiry: MediaEnquiry, *, actor: str
) -> MediaStatement:
    """A signer the routing names approves the current version (recorded: who, when)."""
    require_open(enquiry)
    statement = latest_statement(session, enquiry)
    if statement is None or statement.status not in ("draft", "approved"):
        raise Refused(f"{enquiry.ref} has no draft statement to approve; draft one first")
    mine = [n for n in pending_signers(enquiry, statement) if actor_is(n, actor)]
    if not mine:
        names = ", ".join(n.display for n in routing_of(enquiry).sign_off)
        if any(actor_is(n, actor) for n in routing_of(enquiry).sign_off):
            raise Refused(f"you have already approved version {statement.version}")
        raise Refused(f"only the sign-off the routing names can approve this statement: {names}")
    if statement.kind == "press_release":
        check_press_release(session, enquiry)
    now = core.clock.now()
    statement.approvals = [
        *statement.approvals, *({"role": n.role, "actor": actor, "at": now.isoformat()} for n in mine)
    ]
    complete = not pending_signers(enquiry, statement)
    if complete:
        statement.status, statement.approved_at = "approved", now
    audit.record(
        session, at=now, actor=actor, kind="media_statement_approved", case_id=enquiry.case_id,
        media_id=enquiry.id, media_ref=enquiry.ref, version=statement.version,
        roles=[n.role for n in mine], complete=complete,
    )
    return statement


def release_statement(
    session: Session, core: Core, enquiry: MediaEnquiry, *, actor: str, team_member: bool = False
) -> MediaStatement:
    """Issue the approved statement: to the journalist by email when the contact is an address,
    always to the press office and business manager. Refused before every signer approved."""
    require_team(core, actor, team_member, "release a media statement")
    require_open(enquiry)
    statement = latest_statement(session, enquiry)
    if statement is None:
        raise Refused(f"{enquiry.ref} has no statement; draft one first")
    if statement.status == "released":
        raise Refused(f"version {statement.version} was released at {statement.released_at}")
    if statement.status != "approved":
        waiting = ", ".join(n.display for n in pending_signers(enquiry, statement))
        raise Refused(f"version {statement.version} is not approved yet; waiting for: {waiting}")
    if statement.kind == "press_release":
        check_press_release(session, enquiry)
    now = core.clock.now()
    routing = routing_of(enquiry)
    journalist = enquiry.contact if "@" in enquiry.contact and " " not in enquiry.contact else None
    statement.status, statement.released_by, statement.released_at = "released", actor, now
    statement.released_to = journalist or "press office (to give to the journalist)"
    rendered = render(
        "media_statement", **mail_context(session, core, enquiry, routing), statement=statement,
        to_journalist=journalist is not None,
    )
    roles = core.protocol.roles
    office = [roles.press_office.email] if roles.press_office else []
    enqueue(
        session, core, key=f"media:{enquiry.id}:release:{statement.version}", kind="media_statement",
        to=[journalist] if journalist else [*office, roles.business_manager.email],
        cc=[*office, roles.business_manager.email] if journalist else [], rendered=rendered,
    )
    mark_responded(session, core, enquiry, spoke=routing.spokesperson.role, at=now, actor=actor,
               via="statement")
    audit.record(
        session, at=now, actor=actor, kind="media_statement_released", case_id=enquiry.case_id,
        media_id=enquiry.id, media_ref=enquiry.ref, version=statement.version,
        statement=statement.kind, to_journalist=journalist is not None,
    )
    return statement
