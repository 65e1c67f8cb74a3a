"""The written response to a complaint, drafted for a person to complete and send (STK l.420-425;
decision 0028). Every draft carries the Ombudsman's details from the protocol's
``[complaints.ombudsman]`` (STK l.425: "All written complaint responses will include details of
how to contact the Local Government Ombudsman"). The draft names the complainant, so a door
writes it to a file or shows it to the business unit only, never to a shared channel or a log.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.complaints import ABOUT
from bot.core import Core
from bot.deadlines import case_duration
from bot.models import Case
from bot.models_sar import Complaint
from bot.stages import Stage

#: The Independent Chair answers once the complaint is escalated (STK l.423-425).
CHAIR_STAGES = frozenset({Stage.COMPLAINT_ESCALATED, Stage.COMPLAINT_CHAIR_RESPONDED})


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("templates", "drafts"), undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, autoescape=False,
    )
    env.filters["day"] = lambda d: f"{d:%A} {d.day} {d:%B %Y}" if d else "[date]"
    return env


def draft_response(core: Core, case: Case, complaint: Complaint, about_ref: str | None) -> str:
    """The response due now: the business unit manager's, or the Independent Chair's once escalated."""
    protocol = core.protocol
    chair = case.stage in CHAIR_STAGES or (case.stage == Stage.CLOSED and complaint.escalated_on is not None)
    text = _env().get_template("complaint_response.txt.j2").render(
        partnership=protocol.partnership.name, ref=case.ref, about_ref=about_ref,
        about_label=ABOUT[complaint.about], complainant_name=complaint.complainant_name,
        complainant_contact=complaint.complainant_contact, received_on=complaint.received_on,
        responded_on=complaint.responded_on, escalated_on=complaint.escalated_on, chair=chair,
        chair_name=protocol.roles.chair.name if protocol.roles.chair else "[name]",
        business_manager=protocol.roles.business_manager,
        escalated_period=str(case_duration(case, "complaint_escalated_response")),
        ombudsman=protocol.complaints.ombudsman,
    )
    return text.strip() + "\n"
