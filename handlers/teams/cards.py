"""The core's forms and next actions as Adaptive Cards, generically (issue 11: translation only).

A :class:`~bot.usecases.result.Form` becomes a dialog (a task module's card: ``Input.*`` per
field, named by ``FieldSpec.name``); a :class:`~bot.usecases.result.NextAction` becomes a button:
``Action.Execute`` (an ``adaptiveCard/action`` invoke) for an action without input, behind an
``Action.ShowCard`` that asks first when it has a confirmation question, and an ``Action.Submit``
that opens the action's dialog (``task/fetch``) when it needs a form. Every button carries the
same small envelope (``ENVELOPE``) telling the door which use case it is for.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from microsoft_teams.cards import (
    ActionSet,
    AdaptiveCard,
    CardElement,
    ChoiceSetInput,
    DateInput,
    ExecuteAction,
    ShowCardAction,
    SubmitAction,
    TextInput,
    TimeInput,
)
from microsoft_teams.cards import Choice as CardChoice

from bot.usecases.result import FieldSpec, Form, NextAction
from handlers.teams.text import dump, fixed, heading, line, plain

#: The key under which a button's data tells the door which use case it is for.
ENVELOPE = "rb"
#: A date-and-time field is two inputs: the date under the field's name, the time under this suffix.
TIME_SUFFIX = "__time"
CARD = "application/vnd.microsoft.card.adaptive"
STYLES = {"primary": "positive", "danger": "destructive"}


def envelope(use: str, *, ref: str | None = None, action: str | None = None, item: int | None = None,
             context: dict[str, str] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"use": use}
    if ref is not None:
        found["ref"] = ref
    if action is not None:
        found["action"] = action
    if item is not None:
        found["item"] = item
    if context:
        found["context"] = dict(context)
    return {ENVELOPE: found}


# --- buttons ---------------------------------------------------------------------------------

def dialog_button(title: str, data: dict[str, Any], style: str | None = None) -> SubmitAction:
    """A button that opens a dialog: Teams sends ``task/fetch`` with this data."""
    return SubmitAction(title=title, style=style, data={"msteams": {"type": "task/fetch"}, **data})


def buttons(use: str, actions: tuple[NextAction, ...], *, ref: str | None = None,
            item: int | None = None) -> list[Any]:
    out: list[Any] = []
    for a in actions:
        data = envelope(use, ref=ref, action=a.name, item=item)
        style = STYLES.get(a.style or "")
        if a.form:
            out.append(dialog_button(a.label, data, style))
            continue
        execute = ExecuteAction(title=a.confirm_button or a.label, verb=a.name, data=data, style=style)
        if a.confirm:
            # The core's question names the object as "{ref}" (bot/usecases/case_actions.py).
            question = a.confirm.replace("{ref}", ref or "")
            title = line((a.confirm_title or a.label, True))
            ask = AdaptiveCard(body=[title, line(question)], actions=[execute])
            out.append(ShowCardAction(title=a.label, card=ask))
        else:
            out.append(execute)
    return out


def action_set(use: str, actions: tuple[NextAction, ...], **kw: Any) -> list[CardElement]:
    found = buttons(use, actions, **kw)
    return [ActionSet(actions=found)] if found else []


# --- forms as dialogs ------------------------------------------------------------------------

def form_card(form: Form, env: dict[str, Any], *, tz: ZoneInfo | None, errors: dict[str, str] | None = None,
              typed: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dialog's card. ``env``: the envelope that asked for it (the button's action, which the
    submit names again: a form's own ``action`` may be shared by several buttons). ``typed``:
    what was submitted, shown again beside ``errors``."""
    body: list[CardElement] = []
    if form.warning:
        body.append(line(form.warning, subtle=True))
    if form.intro:
        body.append(line(form.intro))
    errors = errors or {}
    for spec in form.fields:
        body += _inputs(spec, tz, typed.get(spec.name) if typed else None, typed)
        if spec.name in errors:
            body.append(line(("⚠ ", True), errors[spec.name]))
    for name, message in errors.items():
        if name not in {s.name for s in form.fields}:
            body.append(line(("⚠ ", True), message))
    # Sent back on submit: the form's own action (the use case to run), its context, and each
    # field's kind (to read the answers without asking the core for the form again: fetching a
    # statement editor may draft a statement).
    data = {**env, "submit": form.action, "context": dict(form.context),
            "kinds": {s.name: s.kind for s in form.fields}}
    submit = SubmitAction(title=form.submit, style="positive", data={ENVELOPE: data})
    return dump(AdaptiveCard(body=body, actions=[submit]))


def _inputs(spec: FieldSpec, tz: ZoneInfo | None, typed: Any, all_typed: dict[str, Any] | None) -> list[Any]:
    label = plain(spec.label, 100)
    initial = typed if typed not in (None, "") else spec.initial
    common: dict[str, Any] = {"id": spec.name, "label": label, "is_required": spec.required or None,
                              "error_message": "Required" if spec.required else None}
    if spec.kind in ("text", "longtext"):
        element: list[Any] = [TextInput(
            **common, is_multiline=spec.kind == "longtext" or None, max_length=spec.max_length,
            placeholder=plain(spec.placeholder or spec.hint or "", 150) or None,
            value=plain(initial, spec.max_length or 3000) if initial else None,
        )]
    elif spec.kind == "date":
        element = [DateInput(**common, value=_iso_date(initial))]
    elif spec.kind == "datetime":
        at = _as_datetime(initial, tz)
        typed_time = (all_typed or {}).get(spec.name + TIME_SUFFIX)
        element = [
            DateInput(**common, value=_iso_date(at.date()) if at else _iso_date(initial)),
            TimeInput(id=spec.name + TIME_SUFFIX, label=f"{label}: time", is_required=spec.required or None,
                      value=typed_time or (at.strftime("%H:%M") if at else None)),
        ]
    else:  # choice | choices
        many = spec.kind == "choices"
        value = ",".join(initial) if isinstance(initial, list | tuple) else initial
        element = [ChoiceSetInput(
            **common, is_multi_select=many or None, style=None if many else "compact",
            choices=[CardChoice(title=plain(c.label, 100), value=c.value) for c in spec.options],
            value=str(value) if value else None,
        )]
    if spec.hint and spec.kind not in ("text", "longtext"):
        element.append(line(spec.hint, subtle=True))
    return element


def _iso_date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if value else None


def _as_datetime(value: Any, tz: ZoneInfo | None) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(tz) if tz else value
    return None


def values_of(kinds: dict[str, str], data: dict[str, Any], tz: ZoneInfo | None) -> dict[str, Any]:
    """What a dialog sent back, keyed by field name, typed as the form's fields say: text as
    typed (the core validates), a date as an ISO string, a date and time as an aware datetime in
    the partnership's time zone, several choices as a list. Empty inputs are None."""
    values: dict[str, Any] = {}
    for name, kind in kinds.items():
        raw = data.get(name)
        raw = raw.strip() if isinstance(raw, str) and kind != "longtext" else raw
        if raw in (None, ""):
            values[name] = [] if kind == "choices" else None
        elif kind == "choices":
            values[name] = [v for v in str(raw).split(",") if v]
        elif kind == "datetime":
            values[name] = _combine(str(raw), data.get(name + TIME_SUFFIX), tz)
        else:
            values[name] = str(raw)
    return values


def _combine(day: str, at: Any, tz: ZoneInfo | None) -> datetime | str:
    try:
        when = datetime.combine(date.fromisoformat(day), time.fromisoformat(str(at or "00:00")))
    except ValueError:
        return day  # the core names the field in its error
    return when.replace(tzinfo=tz) if tz is not None else when


# --- invoke answers --------------------------------------------------------------------------

def attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD, "content": card}


def dialog(title: str, card: dict[str, Any]) -> dict[str, Any]:
    """``task/fetch`` / ``task/submit`` answer: show this card in the dialog."""
    return {"task": {"type": "continue", "value": {"title": plain(title, 60), "card": attachment(card),
                                                   "width": "medium", "height": "large"}}}


def dialog_closed(message: str) -> dict[str, Any]:
    """``task/submit`` answer: close the dialog and show a short message."""
    return {"task": {"type": "message", "value": plain(message, 500)}}


def card_message(card: dict[str, Any], summary: str) -> dict[str, Any]:
    """A message activity carrying one card (``summary``: the notification text)."""
    return {"type": "message", "summary": plain(summary, 200), "text": "", "textFormat": "plain",
            "attachments": [attachment(card)]}


def text_message(text: str) -> dict[str, Any]:
    return {"type": "message", "text": plain(text, 2000), "textFormat": "plain"}


def simple_card(title: str, *lines: str) -> dict[str, Any]:
    return dump(AdaptiveCard(body=[heading(title), *[fixed(t) for t in lines]]))
