"""The modals (Block Kit views) the bot opens: referral, business-unit forms, triage.

Every choice is a fixed list (process.md 7.1, the protocol's agencies); the free-text boxes are
kept in the case record only and never rendered back into Slack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.protocol import REQUEST_KINDS, Protocol
from bot.stages import DECISIONS
from handlers.slack.blocks import (
    AGE_BANDS,
    ANSWERS,
    KIND_LABELS,
    LEGAL_STATUSES,
    MEDIA,
    NO_NAMES,
    OUTCOMES,
    PARALLEL,
    ROUTE_LABELS,
    _opts,
)


def _modal(
    callback_id: str, title: str, blocks: list[Block], meta: dict[str, Any], submit: str = "Submit"
) -> dict[str, Any]:
    return View(
        type="modal", callback_id=callback_id, title=PlainTextObject(text=title[:24]),
        submit=PlainTextObject(text=submit), close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps(meta), blocks=blocks,
    ).to_dict()


def _select(block_id: str, label: str, pairs: Sequence[tuple[str, str]], *, optional: bool = False,
            initial: str | None = None) -> InputBlock:
    options = _opts(pairs)
    chosen = next((o for o in options if o.value == initial), None)
    return InputBlock(
        block_id=block_id, label=label, optional=optional,
        element=StaticSelectElement(action_id="value", options=options, initial_option=chosen,
                                    placeholder="Choose"),
    )


def _multi(block_id: str, label: str, pairs: Sequence[tuple[str, str]], *, optional: bool = True,
           initial: Sequence[str] = ()) -> InputBlock:
    options = _opts(pairs)
    chosen = [o for o in options if o.value in initial]
    return InputBlock(
        block_id=block_id, label=label, optional=optional,
        element=StaticMultiSelectElement(action_id="value", options=options,
                                         initial_options=chosen or None, placeholder="Choose"),
    )


def _date(block_id: str, label: str, *, optional: bool = False, initial: date | None = None) -> InputBlock:
    return InputBlock(
        block_id=block_id, label=label, optional=optional,
        element=DatePickerElement(action_id="value",
                                  initial_date=initial.isoformat() if initial else None),
    )


def _text(block_id: str, label: str, hint: str) -> InputBlock:
    return InputBlock(
        block_id=block_id, label=label, hint=hint,
        element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
    )


def _agency_pairs(protocol: Protocol) -> list[tuple[str, str]]:
    return [(a.slug, a.name) for a in protocol.agencies]


def referral_modal(protocol: Protocol) -> dict[str, Any]:
    """/serious-incident: the referral form without identifying fields (process.md 7.1)."""
    agencies = _agency_pairs(protocol)
    blocks: list[Block] = [
        ContextBlock(elements=[MarkdownTextObject(text=NO_NAMES)]),
        _select("referring_agency", "Referring agency", agencies),
        _date("incident_date", "Date of incident"),
        _date("la_aware_date", "Date the local authority became aware", optional=True),
        _select("outcome", "Outcome", OUTCOMES),
        _select("abuse_neglect", "Abuse or neglect known or suspected", ANSWERS),
        _select("legal_status", "Child's legal status", LEGAL_STATUSES),
        _select("age_band", "Age band", AGE_BANDS),
        _multi("agencies_involved", "Agencies known to be involved", agencies),
        InputBlock(
            block_id="parallel_processes", label="Parallel processes", optional=True,
            element=CheckboxesElement(action_id="value", options=_opts(PARALLEL)),
        ),
        _select("media_interest", "Known or likely media interest", MEDIA, optional=True),
    ]
    return _modal("si_referral", "Serious incident", blocks, {}, submit="Refer")


def reason_hint() -> str:
    return "Kept in the case record only; never posted in Slack. Do not type names."


def accept_modal(ref: str, la_aware: date | None) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=f"The criteria are met for *{ref}*. The notification clock "
                          "(5 working days) runs from the date the local authority became aware."),
        _date("la_aware_date", "Date the local authority became aware", initial=la_aware),
    ]
    return _modal("si_accept", f"Accept {ref}", blocks, {"ref": ref}, submit="Accept")


def not_met_modal(ref: str) -> dict[str, Any]:
    blocks: list[Block] = [
        _select("route", "Route", list(ROUTE_LABELS.items())),
        _text("reason", "Reason", reason_hint()),
    ]
    return _modal("si_not_met", f"Not met {ref}", blocks, {"ref": ref})


def requests_modal(ref: str, kind: str, protocol: Protocol, preselected: Sequence[str]) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=f"Send {KIND_LABELS[kind]} requests for *{ref}* by email to each agency's "
                          "safeguarding inbox. Agencies already asked are skipped."),
        _multi("agencies", "Agencies", _agency_pairs(protocol), optional=False, initial=preselected),
    ]
    return _modal("si_requests", "Send requests", blocks, {"ref": ref, "kind": kind}, submit="Send")


def decide_modal(ref: str) -> dict[str, Any]:
    options = [(o, o.replace("-", " ").capitalize()) for o in DECISIONS]
    blocks: list[Block] = [
        _select("option", "Panel decision", options),
        _text("rationale", "Rationale", reason_hint()),
    ]
    return _modal("si_decide", f"Decision {ref}", blocks, {"ref": ref}, submit="Record")


def return_modal(ref: str, outstanding: Sequence[tuple[str, str]]) -> dict[str, Any]:
    pairs = [
        (f"{agency}|{kind}", f"{agency} ({KIND_LABELS.get(kind, kind)})") for agency, kind in outstanding
    ]
    blocks: list[Block] = [
        SectionBlock(text=f"Record a return for *{ref}* that arrived by other means "
                          "(secure upload, by hand). Its chasers stop."),
        _select("request", "Agency and request", pairs),
    ]
    return _modal("si_return", "Return received", blocks, {"ref": ref}, submit="Record")


def close_modal(ref: str) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=f"Closing *{ref}* stops every clock and chaser."),
        _text("reason", "Reason", reason_hint()),
    ]
    return _modal("si_close", f"Close {ref}", blocks, {"ref": ref}, submit="Close case")


def assign_modal(item_id: int, refs: Sequence[str], protocol: Protocol) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(text=f"Triage item {item_id} is an agency's return for:"),
        _select("ref", "Case", [(r, r) for r in refs]),
        _select("agency", "Agency", _agency_pairs(protocol)),
        _select("kind", "Request", [(k, KIND_LABELS[k]) for k in REQUEST_KINDS], optional=True),
    ]
    return _modal("si_triage_assign", "Assign triage item", blocks, {"item": item_id, "home": True},
                  submit="Assign")


def dismiss_modal(item_id: int) -> dict[str, Any]:
    blocks: list[Block] = [_text("reason", "Reason", reason_hint())]
    return _modal("si_triage_dismiss", "Dismiss triage item", blocks, {"item": item_id, "home": True},
                  submit="Dismiss")

def check_modal(view: dict[str, Any]) -> None:
    """Validate a modal against slack_sdk's model rules (used by tests)."""
    View(**view).validate_json()
