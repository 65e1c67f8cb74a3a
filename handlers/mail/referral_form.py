"""Reading the labelled fields of a referral email (process.md 7.1), in linear time.

The text is the sender's: each line is split at its first colon by hand (no pattern with
overlapping quantifiers) and only the first lines and characters are looked at. What each
answer means is the core's (bot/usecases/mail_referral.read_referral).
"""

from __future__ import annotations

import re

#: What a label may be (the seed's referral form labels: "Date of incident", "Child's legal
#: status"...). Only ever matched against a stripped label of at most 61 characters.
_LABEL_TEXT = re.compile(r"[A-Za-z][A-Za-z '()/-]{2,60}")
#: How much of a body is looked at for labels: a referral form is a few dozen short lines.
MAX_SCAN_CHARS = 64 * 1024
MAX_SCAN_LINES = 500
MAX_LINE_CHARS = 1000


def labelled_fields(text: str) -> dict[str, str]:
    """``label (lowercased) -> value`` for each "Label: value" line, the first of each label.

    Linear in the text: each line is cut at its first colon by hand; only the first
    ``MAX_SCAN_LINES`` lines of the first ``MAX_SCAN_CHARS`` characters are read, and a line
    longer than ``MAX_LINE_CHARS`` is no form line.
    """
    fields: dict[str, str] = {}
    for line in text[:MAX_SCAN_CHARS].splitlines()[:MAX_SCAN_LINES]:
        if len(line) > MAX_LINE_CHARS:
            continue
        head, colon, rest = line.partition(":")
        label, value = head.strip(), rest.strip()
        if colon and value and len(label) <= 61 and _LABEL_TEXT.fullmatch(label):
            fields.setdefault(label.lower(), value)
    return fields


def looks_like_a_referral_form(subject: str, fields: dict[str, str]) -> bool:
    """A subject naming a referral, or the form's "Date of incident" line (process.md 7.1)."""
    return "referral" in subject.lower() or "date of incident" in fields
