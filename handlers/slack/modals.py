"""Slack modals rendered from the core's :class:`bot.usecases.result.Form`, and their answers read
back into the values the use cases take (issue 11: one renderer for every form).

Every choice is a fixed list from the core; free text typed into a form is kept in the record
only and never rendered back into Slack (except a statement, into the editor that shows it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    DateTimePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.privacy import mrkdwn_escape
from bot.usecases.result import FieldSpec, Form

#: Forms whose Slack callback id predates the use cases (kept: open views carry them). Every
#: other form's callback is ``si_<action>``.
CALLBACKS = {
    "refer": "si_referral", "send_requests": "si_requests", "media_enquiry": "media_enquiry",
    "draft_statement": "media_statement", "chair_away": "media_chair_away",
}
ACTIONS = {callback: action for action, callback in CALLBACKS.items()}
#: A "choices" field with this many options or fewer shows as checkboxes.
CHECKBOXES_UP_TO = 4
Values = dict[str, dict[str, dict[str, Any]]]


def callback_id(action: str) -> str:
    return CALLBACKS.get(action, f"si_{action}")


def action_of(callback: str) -> str:
    return ACTIONS.get(callback, callback.removeprefix("si_"))


def _options(field: FieldSpec) -> list[Option]:
    return [Option(value=c.value, label=c.label[:75]) for c in field.options[:100]]


def _element(field: FieldSpec) -> Any:
    initial = field.initial
    if field.kind == "date":
        day = initial.isoformat() if isinstance(initial, date) else initial
        return DatePickerElement(action_id="value", initial_date=day)
    if field.kind == "datetime":
        stamp = int(initial.timestamp()) if isinstance(initial, datetime) else None
        return DateTimePickerElement(action_id="value", initial_date_time=stamp)
    if field.kind == "choice":
        options = _options(field)
        chosen = next((o for o in options if o.value == initial), None)
        return StaticSelectElement(action_id="value", options=options, initial_option=chosen,
                                   placeholder="Choose")
    if field.kind == "choices":
        options = _options(field)
        chosen = [o for o in options if o.value in (initial or ())] or None
        if len(options) <= CHECKBOXES_UP_TO:
            return CheckboxesElement(action_id="value", options=options, initial_options=chosen)
        return StaticMultiSelectElement(action_id="value", options=options, initial_options=chosen,
                                        placeholder="Choose")
    longtext = field.kind == "longtext"
    return PlainTextInputElement(
        action_id="value", multiline=longtext, max_length=field.max_length or (2000 if longtext else 200),
        initial_value=str(initial)[: field.max_length or 3000] if initial else None,
        placeholder=field.placeholder,
    )


def form_blocks(form: Form) -> list[Block]:
    blocks: list[Block] = []
    if form.intro:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=mrkdwn_escape(form.intro)[:3000])))
    if form.warning:
        warning = ":lock: " + mrkdwn_escape(form.warning)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=warning[:3000])]))
    for field in form.fields:
        blocks.append(InputBlock(block_id=field.name, label=field.label[:2000], optional=not field.required,
                                 hint=field.hint, element=_element(field)))
    return blocks


def form_modal(form: Form, **extra: Any) -> dict[str, Any]:
    """The modal for ``form``; ``private_metadata`` carries the reference and the form's context
    (and ``extra``, e.g. that it was opened from App Home)."""
    meta = {**({"ref": form.ref} if form.ref else {}), **form.context, **extra}
    return View(
        type="modal", callback_id=callback_id(form.action), title=PlainTextObject(text=form.title[:24]),
        submit=PlainTextObject(text=form.submit[:24]), close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps(meta), blocks=form_blocks(form),
    ).to_dict()


def answer(values: Values, block_id: str) -> Any:
    """The answer in one input block (``action_id`` is always ``value``) as the core reads it:
    dates as ISO strings, date-times as Unix seconds, choices as values, text stripped."""
    element = (values.get(block_id) or {}).get("value") or {}
    kind = element.get("type")
    if kind == "datepicker":
        return element.get("selected_date") or None
    if kind == "datetimepicker":
        raw = element.get("selected_date_time")
        return int(raw) if raw not in (None, "") else None
    if kind in ("static_select", "radio_buttons"):
        option = element.get("selected_option")
        return option["value"] if option else None
    if kind in ("multi_static_select", "checkboxes"):
        return [o["value"] for o in element.get("selected_options") or []]
    text = element.get("value")
    return text.strip() if isinstance(text, str) else text


def answers(view: dict[str, Any]) -> dict[str, Any]:
    values: Values = (view.get("state") or {}).get("values") or {}
    return {block: answer(values, block) for block in values}


def field_errors(errors: dict[str, str], submitted: Sequence[str]) -> dict[str, str]:
    """Errors on the form's own blocks: one the form has no block for goes on the first one."""
    shown: dict[str, str] = {}
    for name, message in errors.items():
        block = name if name in submitted else (submitted[0] if submitted else name)
        shown[block] = (f"{shown[block]} " if block in shown else "") + message[:300]
    return shown


def check_modal(view: dict[str, Any]) -> None:
    """Validate a modal against slack_sdk's model rules (used by tests)."""
    View(**view).validate_json()
