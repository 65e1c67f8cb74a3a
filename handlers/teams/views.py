"""Adaptive Cards for the core's read models: the case card, the media alert, the board, the
triage list. Each renders a view the core built (bot.views.case_view, bot.media_report.
enquiry_view, the use cases' list views) and the actions the core offers; nothing here decides
who may do what. Values go through plain runs (handlers/teams/text.py), never markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from microsoft_teams.cards import AdaptiveCard, CardElement

from bot import action_plan
from bot.media_routing import ROLE_LABELS, Routing
from bot.privacy import plain_label
from bot.protocol import MEDIA_OUTPUTS
from bot.stages import CLOSED_STAGES
from bot.usecases import chair
from bot.usecases.result import NextAction
from bot.vocabulary import AGE_BANDS, LEGAL_STATUSES, OUTCOMES, REQUEST_KIND_LABELS, ROUTE_LABELS, label
from handlers.teams.cards import action_set
from handlers.teams.text import dump, fact, fixed, heading, line, local_time, time_left

STATE_MARK = {"overdue": "🔴", "due-soon": "🟠", "open": "⚪", "met": "✅", "met-late": "☑️",
              "cancelled": "➖"}
MEDIA_STATUS = {"open": "🔴 Waiting for someone to acknowledge", "acknowledged": "🟠 Acknowledged",
                "responded": "✅ Responded", "closed": "➖ Closed"}
M2 = ("Do not respond to the journalist yourselves, not even to confirm that you have passed the "
      "enquiry on (media protocol M-2): only the partnership's spokesperson speaks (M-3).")
NO_NAMES = ("Do not type names, dates of birth, addresses or a description of what happened. Send "
            "identifying details by secure email to the business unit.")


def card(body: list[CardElement]) -> dict[str, Any]:
    return dump(AdaptiveCard(body=body))


# --- a case ----------------------------------------------------------------------------------

def case_body(view: dict[str, Any], *, now: datetime | None, tz: ZoneInfo | None) -> list[CardElement]:
    body: list[CardElement] = [
        heading(f"{view['ref']}: {view['stage_label']}"),
        fact("Referring agency", view.get("referring_agency") or "not given"),
        fact("Outcome", label(OUTCOMES, view.get("outcome"))),
        fact("Date of incident", view.get("incident_date") or "not given"),
        fact("LA became aware", view.get("la_aware_date") or "not yet recorded"),
        # Only a protocol band is ever shown (process.md 7.1), whatever an old row holds.
        fact("Age band", dict(AGE_BANDS).get(view.get("age_band") or "", "not given")),
        fact("Legal status", label(LEGAL_STATUSES, view.get("legal_status"))),
    ]
    if view.get("sin_submitted_at"):
        body.append(fact("Notification submitted", local_time(view["sin_submitted_at"], tz)))
    if view.get("decision"):
        body.append(fact("Panel decision", view["decision"]))
    if view.get("route"):
        body.append(fact("Route", ROUTE_LABELS.get(view["route"], view["route"])))
    if view.get("missing"):
        body.append(fact("Still to complete", f"{len(view['missing'])} item(s) in the case record"))
    # An action's clock is counted in the plan's line, not listed (decision 0027).
    deadlines = [d for d in view.get("deadlines", [])
                 if d["state"] != "cancelled" and d.get("kind") != action_plan.CLOCK]
    if deadlines:
        body.append(line(("Deadlines", True), separator=True))
    for d in deadlines:
        when = (f"met {local_time(d['met_at'], tz)}" if d.get("met_at") else
                f"due {local_time(d['due_at'], tz)} ({time_left(d['due_at'], now) or d['state']})")
        body.append(line(f"{STATE_MARK.get(d['state'], '')} {d['label']}: {when}"))
    if view.get("next_step") and view["stage"] not in CLOSED_STAGES:
        body.append(line(("Next step", True), separator=True))
        body += next_step_lines(view, tz)
    if view.get("actions"):  # counts only: an action's text never reaches a chat
        body.append(line(("Action plan", True), separator=True))
        body.append(line(action_plan.card_line(view["actions"]).replace("REF", view["ref"])))
    requests = view.get("requests", [])
    if requests:
        body.append(line(("Agency returns", True), separator=True))
    for r in requests:
        kind = REQUEST_KIND_LABELS.get(r["kind"], r["kind"])
        if r["status"] == "returned":
            state = f"returned {local_time(r['returned_at'], tz)}"
        elif r["status"] == "closed":
            state = "withdrawn"
        else:
            state = f"due {local_time(r['due_at'], tz)}" + (f", chased {r['chases']}x" if r["chases"] else "")
            state += ", escalated" if r.get("escalated_at") else ""
            state += ", bounced" if r.get("bounced_at") else ""
        body.append(line(f"{r['agency']} ({kind}): {state}"))
    return body


def next_step_lines(view: dict[str, Any], tz: ZoneInfo | None) -> list[CardElement]:
    """What happens next on a case (the core's fixed words per stage, bot.stages) and the clock
    due first with whose it is, as the Slack card shows them (handlers/slack/blocks.py)."""
    lines: list[CardElement] = [line(view["next_step"])]
    nxt = view.get("next_deadline")
    if nxt:
        lines.append(line(f"Next deadline: {nxt['label']}, {nxt['owner_label']}, due "
                          f"{local_time(nxt['due_at'], tz)}"))
    return lines


def case_card(view: dict[str, Any], actions: tuple[NextAction, ...], *, now: datetime | None,
              tz: ZoneInfo | None) -> dict[str, Any]:
    body = case_body(view, now=now, tz=tz) + action_set("case", actions, ref=view["ref"])
    if now is not None:
        body.append(line(f"Updated {local_time(now.isoformat(), tz)}", subtle=True))
    return card(body)


# --- lists -----------------------------------------------------------------------------------

def board_card(rows: list[dict[str, Any]], *, tz: ZoneInfo | None) -> dict[str, Any]:
    body: list[CardElement] = [heading("Open cases")]
    if not rows:
        body.append(fixed("No open cases."))
    for row in rows:
        nxt = row.get("next_deadline")
        deadline = (f"{STATE_MARK.get(nxt['state'], '')} next deadline {local_time(nxt['due_at'], tz)}"
                    if nxt else "no open deadline")
        waiting = ", ".join(row.get("returns_outstanding") or []) or "none"
        body.append(line((f"{row['ref']}: ", True), row["stage_label"], separator=True))
        body.append(line(f"{deadline}; returns outstanding: {waiting}"))
    return card(body)


def own_card(rows: list[dict[str, Any]]) -> dict[str, Any]:
    body: list[CardElement] = [heading("Your serious incident referrals"), fixed(NO_NAMES, subtle=True)]
    if not rows:
        body.append(fixed("You have not raised a referral. Say \"refer\" to make one."))
    for row in rows:
        body.append(line((f"{row['ref']}: ", True), row["stage_label"], separator=True))
        if row.get("next_step"):
            body.append(line(row["next_step"]))
    return card(body)


def triage_card(items: list[dict[str, Any]], actions: tuple[NextAction, ...], *,
                tz: ZoneInfo | None) -> dict[str, Any]:
    body: list[CardElement] = [heading("Triage: mail to look at")]
    if not items:
        body.append(fixed("Nothing waiting."))
    for item in items:
        # Sender domain, case, agency and counts only; subjects and bodies stay in the database.
        about = ", ".join(x for x in [
            f"from {plain_label(item['sender_domain'], field='domain')}" if item.get("sender_domain") else "",
            f"case {item['case']}" if item.get("case") else "",
            f"agency {plain_label(item['agency'], field='agency')}" if item.get("agency") else "",
            f"{item.get('attachments', 0)} attachment(s)",
        ] if x)
        body.append(line((f"Item {item['id']} ", True), f"received {local_time(item['received_at'], tz)}",
                         separator=True))
        body.append(line(about))
        body += action_set("triage", actions, item=int(item["id"]))
    return card(body)


# --- a media enquiry -------------------------------------------------------------------------

def _who(named: Any) -> str:
    return str(named.display)


def media_card(view: dict[str, Any], actions: tuple[NextAction, ...], *, now: datetime | None,
               tz: ZoneInfo | None) -> dict[str, Any]:
    """The comms-channel alert (process.md 6): no journalist, contact, summary or statement text."""
    routing = Routing.from_json(view["routing"])
    deadline = view.get("journalist_deadline")
    left = time_left(deadline, now) if deadline and view["status"] in ("open", "acknowledged") else ""
    standin = " (the Chair is not available)" if routing.chair_standin else ""
    body: list[CardElement] = [
        heading(f"Media enquiry {view['ref']}"),
        fact("Outlet", plain_label(view.get("outlet"), field="outlet")),
        fact("Journalist's deadline", (local_time(deadline, tz) + (f" ({left})" if left else ""))
             if deadline else "not given: ask the journalist"),
        fact("About", view.get("subject_label") or view.get("subject")),
        fact("Case", view.get("case_ref") or "none named"),
        line((f"Routing (media protocol row {routing.row})", True), separator=True),
        fact("Lead", ", ".join(_who(n) for n in routing.lead)),
        fact("Speaks", _who(routing.spokesperson) + standin),
        fact("Signs off", ", ".join(_who(n) for n in routing.sign_off)),
        fact("Output", routing.output_label),
    ]
    for note in (routing.note, f"Source: {routing.source}" if routing.source else ""):
        if note:
            body.append(line(note, subtle=True))
    for problem in routing.problems:
        body.append(line(("⚠ ", True), problem))
    body.append(fact("Status", MEDIA_STATUS.get(view["status"], view["status"])))
    if view.get("acknowledged_at"):
        body.append(line(f"Acknowledged {local_time(view['acknowledged_at'], tz)}"))
    elif view.get("alerts_repeated"):
        body.append(line(f"Alert repeated {view['alerts_repeated']} time(s); "
                         "the business manager has been told"))
    if view.get("responded_at"):
        spoke = ROLE_LABELS.get(view.get("spoke") or "", view.get("spoke") or "someone")
        body.append(line(f"Responded {local_time(view['responded_at'], tz)} ({spoke} spoke)"))
    body.append(fact("Statement", statement_text(view.get("statement"), tz)))
    body += action_set("media", actions, ref=view["ref"])
    if actions:
        body.append(fixed(M2, subtle=True))
    footer = f"Received {local_time(view['received_at'], tz)} by {view.get('source')}"
    if now is not None:
        footer += f" · updated {local_time(now.isoformat(), tz)}"
    body.append(line(footer, subtle=True))
    return card(body)


def statement_text(statement: dict[str, Any] | None, tz: ZoneInfo | None) -> str:
    if statement is None:
        return "No statement drafted yet."
    kind = MEDIA_OUTPUTS.get(statement["kind"], statement["kind"])
    text = f"{kind}, version {statement['version']}: {statement['status']}"
    approvals = [f"{ROLE_LABELS.get(a['role'], a['role'])} ({local_time(a.get('at'), tz)})"
                 for a in statement.get("approvals", [])]
    if approvals:
        text += "; approved by " + "; ".join(approvals)
    if statement.get("waiting_for"):
        text += "; waiting for approval from " + ", ".join(statement["waiting_for"])
    if statement.get("released_at"):
        text += f"; released {local_time(statement['released_at'], tz)}"
    return text


def enquiries_card(rows: list[dict[str, Any]], *, tz: ZoneInfo | None,
                   absences: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The media team's list (bot.usecases.media.enquiries): open enquiries, then the Chair's
    absences with the core's Cancel for each and its "Chair away" form (process.md 6.3)."""
    body: list[CardElement] = [heading("Media enquiries")]
    if not rows:
        body.append(fixed("No open enquiries."))
    for row in rows:
        body.append(line((f"{row['ref']}: ", True), plain_label(row.get("outlet"), field="outlet"),
                         f" · {MEDIA_STATUS.get(row['status'], row['status'])}", separator=True))
        if row.get("journalist_deadline"):
            body.append(line(f"deadline {local_time(row['journalist_deadline'], tz)}"))
    if absences is not None:
        body += absence_body(absences, tz=tz)
    return card(body)


def absence_body(absences: list[dict[str, Any]], *, tz: ZoneInfo | None) -> list[CardElement]:
    """Rows of bot.usecases.chair.absence_rows: when, and who stands in (a protocol label)."""
    body: list[CardElement] = [line(("The Chair's absence", True), separator=True)]
    if not absences:
        body.append(fixed("No absence recorded: the Chair speaks."))
    for absence in absences:
        when = f"{local_time(absence['starts_at'], tz)} to {local_time(absence['ends_at'], tz)}"
        parts: list[tuple[str, bool] | str] = [("Now: ", True)] if absence["current"] else []
        body.append(line(*parts, f"{when}; {absence['stands_in']} stands in", separator=True))
        body += action_set("chair", (chair.CANCEL,), item=int(absence["id"]))
    body.append(fixed("Record when the Chair is away and who stands in.", subtle=True))
    body += action_set("chair", (chair.AWAY,))
    return body
