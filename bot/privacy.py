"""The privacy guard: what may reach a Slack channel or a log line from text a person typed.

Slack channels see case references, stages, dates the bot itself renders, agencies and deadlines,
never a child's or family member's identity (process.md 8.4 item 1: "No names ... DOB, address,
postcode, school, NHS or police reference numbers ... or free-text incident narratives"). Every
door renders user-supplied strings through this module:

* :func:`safe_label` for the short labels that may be shown (an outlet, an agency name typed by
  someone): identifiers are replaced by ``[removed]``, the text is cut to one short line and
  escaped for Slack mrkdwn;
* :func:`mrkdwn_escape` for fixed vocabulary (stage labels, agency names from the protocol),
  which needs no redaction but is still escaped;
* :func:`log_text` for a log call that would otherwise carry typed text: only its shape.

Free text (reasons, rationales, summaries, statements, journalists' names) is never rendered at all;
the guard is the last line, not permission. The patterns are linear-time (no nested repetition)
and run over at most :data:`MAX_SCAN` characters.
"""

from __future__ import annotations

import re

#: Longest input the guard reads; anything longer is cut first (bounded work).
MAX_SCAN = 2000
REMOVED = "[removed]"

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
#: (kind, pattern). Order matters: a telephone number (0..., +44...) is removed whole before an
#: NHS number could take its last ten digits.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}", re.ASCII)),
    # 13/03/2019, 13-3-19, 13.03.2019, 2019-03-13, 2019/3/13
    ("date", re.compile(
        r"(?<![\w/.-])(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2})(?![\w/-])"
    )),
    # 13 March 2019, 13th Mar 19, 1st of June 2020, March 13, 2019, Mar 13th 2019
    ("date", re.compile(
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?[\s-]+{_MONTHS}\.?,?[\s-]+\d{{2,4}}\b"
        rf"|\b{_MONTHS}\.?[\s-]+\d{{1,2}}(?:st|nd|rd|th)?,?[\s-]+\d{{2,4}}\b",
        re.IGNORECASE,
    )),
    # Telephone numbers: UK 0... or +44..., 10 to 11 digits with spaces, hyphens or brackets.
    ("phone", re.compile(
        r"(?<![\w+])(?:\+\d{1,3}[ -]?(?:\(0\)[ -]?)?|\(?0)\d{2,5}\)?(?:[ -]?\d{2,4}){2,3}(?!\w)"
    )),
    # NHS number: 10 digits, optionally 3-3-4 with spaces or hyphens (NHS Data Dictionary).
    ("nhs-number", re.compile(r"(?<![\w-])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\w-])")),
    # Any other long number (a police, hospital or school reference): process.md 8.4 item 1.
    ("reference-number", re.compile(r"\d{8,}")),
    # UK postcode (ONS/Royal Mail shape): outward code, optional space, inward code.
    ("postcode", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b", re.IGNORECASE)),
]


def identifiers_in(text: str) -> list[str]:
    """The kinds of identifier found in ``text`` (e.g. ``["date", "postcode"]``), in order found."""
    found: list[str] = []
    for kind, pattern in _PATTERNS:
        if pattern.search(text[:MAX_SCAN]) and kind not in found:
            found.append(kind)
    return found


def redact(text: str) -> str:
    """``text`` (cut to :data:`MAX_SCAN`) with every date, NHS number, postcode, email and
    telephone number replaced by ``[removed]``. Not escaped."""
    out = text[:MAX_SCAN]
    for _, pattern in _PATTERNS:
        out = pattern.sub(REMOVED, out)
    return out


def mrkdwn_escape(text: object) -> str:
    """Escape Slack's control characters (docs.slack.dev "Formatting text for app surfaces").

    With ``<`` and ``>`` escaped, ``<!channel>``, ``<!here>``, ``<@U123>`` and ``<url|label>``
    are shown as typed instead of notifying a channel or hiding a link.
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_label(text: str | None, *, field: str, limit: int = 80, empty: str = "not given") -> str:
    """A user-supplied short label as plain text for any surface: one line, identifiers removed,
    at most ``limit`` characters, NOT escaped (a surface that reads markup escapes it: Slack via
    :func:`safe_label`; Teams shows it in a plain ``TextRun`` or a ``textFormat: plain`` message).

    ``field`` names what the label is (``outlet``, ``agency``) so a reader of the call site
    knows which typed field reaches a chat; it is not rendered.
    """
    del field  # documentation at the call site
    if not text or not text.strip():
        return empty
    one_line = " ".join(redact(text).split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1].rstrip() + "…"
    return one_line


def safe_label(text: str | None, *, field: str, limit: int = 80, empty: str = "not given") -> str:
    """A user-supplied short label made safe for a Slack channel: :func:`plain_label`, escaped
    for mrkdwn (blocks and the ``text`` fallback alike)."""
    return mrkdwn_escape(plain_label(text, field=field, limit=limit, empty=empty))


def safe_message(text: str, *, limit: int = 500) -> str:
    """A message built from a service's refusal (which may quote what someone typed) for a Slack
    post: lines kept, identifiers removed, escaped, at most ``limit`` characters."""
    return mrkdwn_escape(redact(text)[:limit])


def log_text(text: str | None) -> str:
    """What a log line may say about typed text: its length and the kinds of identifier in it."""
    if not text:
        return "<empty>"
    kinds = identifiers_in(text)
    return f"<{len(text)} chars" + (f"; contains {', '.join(kinds)}" if kinds else "") + ">"


#: A quoted value in an error message ("...", '...', Key (col)=(value)): what someone typed or sent.
#: The input is already cut to one line of 2,000 characters, so the runs need no bound; a quote left
#: open runs to the end of the line (the text was cut inside it).
_QUOTED = re.compile(r"\"[^\"\n]*(?:\"|$)|'[^'\n]*(?:'|$)|=\([^)\n]*(?:\)|$)")


def log_message(error: BaseException) -> str:
    """An exception's type and its message for a log line: quoted values and identifiers removed.

    A database error is read from the driver's own message, first line only: SQLAlchemy's text
    carries the statement's parameters (raw mail, names, a narrative) and the driver's DETAIL
    line quotes the row."""
    text = str(getattr(error, "orig", None) or error)
    text = text.split("[SQL:", 1)[0].split("[parameters:", 1)[0]
    lines = text.strip().splitlines()
    text = _QUOTED.sub("<value>", lines[0][:2000] if lines else "")
    return f"{type(error).__name__}: {' '.join(redact(text).split())[:300]}"
