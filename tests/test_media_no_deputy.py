"""A partnership with no Deputy Chair (issue 9 item 7; process.md 6.3): when the Chair is away the
protocol's fallback speaks and the business manager is alerted, through the real CLI and tick."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli_media import BM, NOW, new_enquiry
from tests.test_e2e import Bot


@pytest.fixture
def bot(tmp_path: Path) -> Bot:
    bot = Bot(tmp_path)
    protocol = tmp_path / "protocol.toml"
    protocol.write_text('preset = "working-together-2023"\n\n[roles]\ndeputy_chair = false\n')
    bot.env["PROTOCOL_FILE"] = str(protocol)
    return bot


def test_without_a_deputy_the_fallback_speaks_and_the_business_manager_is_told(bot: Bot) -> None:
    bot("--now", NOW, "--actor", BM, "chair-away", "set", "--from", "2026-11-18T09:00",
        "--until", "2026-11-20T17:00")
    ref = new_enquiry(bot)
    shown = bot("--now", NOW, "media", "show", ref).output
    assert "speaks: Independent Scrutineer" in shown
    assert "! The Chair is not available and there is no Deputy Chair" in shown
    view = json.loads(bot("--now", NOW, "media", "show", ref, "--json").output)
    assert view["routing"]["fallback"] is True
    assert "media_chair_fallback" in [e["kind"] for e in view["events"]]
    bot("tick", "--now", "2026-11-18T10:01")
    [alert] = [m for m in bot.sent() if f"[{ref}] Media enquiry" in str(m["Subject"])]
    assert BM in str(alert["To"])
    body = alert.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "there is no Deputy Chair: the protocol's fallback speaks. The business manager is alerted" in body
