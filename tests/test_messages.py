"""Surface-neutral messages (bot/usecases/result.py): plain text with one mark, emphasis, written
only by ``strong`` and read only by ``spans``; Slack draws it bold, Teams and the CLI drop it."""

from __future__ import annotations

from bot.core import Core
from bot.usecases.result import plain_text, spans, strong
from handlers.slack.blocks import message_text


def test_emphasis_is_written_once_and_read_as_runs() -> None:
    message = f"Thank you. Your serious incident referral is {strong('SI-2026-0001')}. Quote it."
    assert spans(message) == [("Thank you. Your serious incident referral is ", False),
                              ("SI-2026-0001", True), (". Quote it.", False)]
    assert plain_text(message) == "Thank you. Your serious incident referral is SI-2026-0001. Quote it."
    # An asterisk inside an emphasised value cannot close the mark early.
    assert strong("A*B") == "*AB*"


def test_slack_draws_emphasis_bold_and_escapes_everything_else() -> None:
    message = f"{strong('SI-1')} queued for <!channel> & <https://evil.example|police>"
    assert message_text(message) == ("*SI-1* queued for &lt;!channel&gt; &amp; "
                                     "&lt;https://evil.example|police&gt;")


def test_a_lone_or_unclosed_mark_is_text() -> None:
    for text in ("2 * 3", "*", "**", "a *b\nc* d", "*" + "x" * 300 + "*"):
        assert plain_text(text) == text
    long = "*" * 10_000  # linear, bounded: no mark and no backtracking
    assert plain_text(long) == long



def test_the_thanks_read_as_slack_showed_them_and_without_marks_in_teams(core: Core) -> None:
    from bot.actors import resolve_actor
    from bot.usecases.cases import referral_thanks
    from bot.usecases.media import thanks

    actor = resolve_actor(core, surface="teams", user_id="aad-someone")
    referral = referral_thanks(core, actor, "SI-2026-0001", "referral_received")
    assert message_text(referral).startswith("Thank you. Your serious incident referral is *SI-2026-0001*. ")
    assert plain_text(referral).startswith("Thank you. Your serious incident referral is SI-2026-0001. ")
    assert "Never put them in Teams." in plain_text(referral) and "*" not in plain_text(referral)
    media = thanks(core, "ME-2026-0001", "the Chair")
    assert message_text(media).startswith("Thank you. Your media enquiry is *ME-2026-0001*. ")
    assert "*" not in plain_text(media)
