"""The report's vocabulary (issue 14; decision 0031): the protocol's ``[report]`` section (themes,
small-number suppression) and the review outcomes tagged on a case. Plain data, no I/O."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from bot.protocol_fields import _Strict

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")

#: Sandwell's eight emerging themes (seed 002 l.172-183, its scrutiny report's table): the
#: default vocabulary of the themes tagged on a review (issue 14). Values are stored: never rename one.
SANDWELL_THEMES = {
    "under-1s": "Under 1s",
    "black-minoritised": "Child from Black and minoritised ethnic background",
    "parental-mental-health": "Mental ill health of parents/carers",
    "information-sharing": "Issue with information sharing/communication",
    "neglect": "Neglect",
    "core-procedures": "Core safeguarding procedures/processes (thresholds, quality of assessments, "
                       "plan progression)",
    "substance-misuse": "Substance/alcohol misuse (child or parent)",
    "domestic-abuse": "Domestic abuse",
}


class ReportSettings(_Strict):
    """The partnership's report (issue 14; decision 0031): the theme vocabulary ([report.themes]:
    slug = label) and the smallest count shown in a report shared outside the partnership."""

    themes: dict[str, str] = Field(default_factory=lambda: dict(SANDWELL_THEMES))
    #: Counts below this are shown as "<N" when shared (process.md 8.4 item 9: cells under 5).
    suppress_below: int = Field(default=5, ge=2, le=20)

    @field_validator("themes")
    @classmethod
    def _themes(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("at least one theme is needed")
        bad = sorted(k for k in value if not _SLUG.match(k))
        if bad:
            raise ValueError(f"theme keys are lower-case slugs (a-z, 0-9, -); not: {', '.join(bad)}")
        return value


#: The review outcomes the bot cannot read from dates (CaseTag kinds with one value each).
#: panel: did the National Panel concur with the rapid review panel's decision (seed 002 l.41:
#: "concurring ... in 18 of the 20"); publication: how a local review ended (process.md 9.1's
#: exhaustive list: published in full, learning only, not published).
OUTCOMES: dict[str, dict[str, str]] = {
    "panel": {"agrees": "The National Panel agrees", "disagrees": "The National Panel disagrees"},
    "publication": {
        "full": "Published in full",
        "learning-only": "Published as learning only (recommendations and actions)",
        "not-published": "Not published",
    },
}
THEME = "theme"
