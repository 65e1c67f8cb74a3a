"""A newcomer's first hour with the real CLI: clean refusals, UK dates, the labels people see."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main, run_banner
from bot.settings import Settings
from tests.test_e2e import Bot

NOW = ["--now", "2026-11-18T10:00"]
OPENS = ["open", "--referring-agency", "la-csc", "--incident-date", "16/11/2026",
         "--la-aware", "17 November 2026", "--outcome", "death"]


@pytest.fixture
def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bot:
    monkeypatch.chdir(tmp_path)  # no stray .env
    return Bot(tmp_path)


def refused(bot: Bot, *args: str, env: dict[str, str] | None = None) -> Result:
    """Exit 2, only ``error:`` lines on stderr, never a traceback."""
    result = CliRunner().invoke(main, list(args), env={**bot.env, **(env or {})})
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr and all(line.startswith("error: ") for line in result.stderr.splitlines())
    assert "Traceback" not in result.output and "http" not in result.stderr
    return result


COMMANDS = [["cases"], ["media"], ["triage"], ["chair-away"], ["tick"], ["protocol"], ["check"],
            ["case", "SI-2026-0001"], ["open", "--referring-agency", "la-csc", "--incident-date",
                                       "2026-11-16", "--outcome", "death"],
            ["media", "show", "ME-2026-0001"],
            ["ingest", str(Path(__file__).parent / "support" / "eml" / "referral.eml")]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_broken_protocol_is_one_clean_error_for_every_command(bot: Bot, tmp_path: Path,
                                                                command: list[str]) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('preset = "kirklees"\n[durations]\nchronology_retrun = "21 days"\n')
    result = refused(bot, *NOW, *command, env={"PROTOCOL_FILE": str(broken)})
    assert result.stderr == (f"error: {broken}: field 'durations.chronology_retrun': unknown key; "
                             "did you mean 'chronology_return'?\n")
    result = refused(bot, *NOW, *command, env={"PROTOCOL_FILE": str(tmp_path / "missing.toml")})
    assert result.stderr == f"error: {tmp_path / 'missing.toml'}: file not found\n"


@pytest.mark.parametrize("command", COMMANDS[:4], ids=lambda c: c[0])
def test_a_misspelt_setting_names_the_variable_and_the_nearest_value(bot: Bot, command: list[str]) -> None:
    result = refused(bot, *command, env={"MAIL_BACKEND": "grahp"})
    assert result.stderr == ("error: setting MAIL_BACKEND: 'grahp' is not one of: maildir, graph, ews, "
                             "imap; did you mean 'graph'?\n")
    result = refused(bot, *command, env={"TICK_SECONDS": "often"})
    assert result.stderr.startswith("error: setting TICK_SECONDS: should be a valid integer")


def test_misspelt_keys_anywhere_in_the_protocol_get_the_nearest_valid_key(bot: Bot, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        'preset = "kirklees"\n[partnershp]\nname = "x"\n[chase.info-gathering]\nremnder_before = "1 hour"\n'
        '[media.routes.partnership]\nsign_of = ["executive"]\n[roles.business_manager]\nnmae = "BM"\n'
    )
    errors = refused(bot, "check", env={"PROTOCOL_FILE": str(broken)}).stderr
    assert "field 'partnershp': unknown key; did you mean 'partnership'?" in errors
    assert ("field 'chase.info-gathering.remnder_before': unknown key; did you mean 'reminder_before'?"
            in errors)
    assert "field 'media.routes.partnership.sign_of': unknown key; did you mean 'sign_off'?" in errors
    assert "field 'roles.business_manager.nmae': unknown key; did you mean 'name'?" in errors
    assert "Extra inputs are not permitted" not in errors


def test_usage_mistakes_are_one_error_line_too(bot: Bot) -> None:
    result = refused(bot, "--now", "31/02/2026", "cases")
    assert "'31/02/2026' is not a date and time; write e.g." in result.stderr
    result = refused(bot, *NOW, "case", "SI-2026-0001", "close")
    assert result.stderr.startswith("error: Missing option '--reason'. (see '")  # one line,
    assert result.stderr.endswith(" case REF close --help')\n")  # with where to read more


def test_open_without_the_minimum_opens_nothing_and_mails_nobody(bot: Bot) -> None:
    result = refused(bot, *NOW, "open")
    assert ("a case needs at least the referring agency, the date of the incident and the outcome"
            in result.stderr)
    assert "--referring-agency SLUG --incident-date DATE --outcome death|serious-harm" in result.stderr
    result = refused(bot, *NOW, "open", "--referring-agency", "police", "--incident-date", "2026-11-16")
    assert "add --outcome death|serious-harm (nothing was opened)" in result.stderr
    assert bot(*NOW, "cases").stdout == "no open cases\n"
    assert json.loads(bot(*NOW, "tick", "--json").stdout)["sent"] == 0


def test_uk_dates_are_read_and_said_back(bot: Bot) -> None:
    result = bot("--now", "18/11/2026 10:00", *OPENS)
    assert result.stdout.startswith("opened SI-2026-0001")
    assert result.stderr.splitlines() == [
        "read '18/11/2026 10:00' as Wed 18 Nov 2026 10:00",
        "read '16/11/2026' as Monday 16 November 2026",
        "read '17 November 2026' as Tuesday 17 November 2026",
    ]
    view = json.loads(bot("--now", "2026-11-18 10:05", "case", "SI-2026-0001", "--json").stdout)
    assert (view["incident_date"], view["la_aware_date"]) == ("2026-11-16", "2026-11-17")
    assert view["opened_at"] == "2026-11-18T10:00:00+00:00"  # JSON keeps ISO
    bot("--now", "2026-11-18 10:05", "case", "SI-2026-0001", "accept")
    at = bot("--now", "2026-11-18 10:10", "case", "SI-2026-0001", "sin-submitted", "--at", "10:06")
    assert at.stderr == "read '10:06' as Wed 18 Nov 2026 10:06\n"  # "today" is the pretended day
    view = json.loads(bot("--now", "2026-11-18 10:15", "case", "SI-2026-0001", "--json").stdout)
    assert view["sin_submitted_at"] == "2026-11-18T10:06:00+00:00"
    # A bare day is a moment too: the start of the working day, said back.
    assert bot("--now", "2026-11-23", "cases").stderr == "read '2026-11-23' as Mon 23 Nov 2026 09:00\n"


def test_human_output_uses_labels_and_uk_times(bot: Bot) -> None:
    bot(*NOW, *OPENS)
    assert bot(*NOW, "case", "SI-2026-0001", "accept").stdout == "SI-2026-0001: now Notification pending\n"
    cases = bot("--now", "2026-11-18T10:00:07.25", "cases").stdout
    assert cases.split() == [
        "SI-2026-0001", "Notification", "pending", "next:", "notification", "to", "the", "National",
        "Panel", "(D-01)", "due", "Tue", "24", "Nov", "2026", "23:59", "[open];", "waiting", "on:", "-"]
    bot("--now", "2026-11-18T10:00:07.25", "case", "SI-2026-0001", "sin-submitted")
    shown = bot("--now", "2026-11-18T10:01", "case", "SI-2026-0001").stdout
    assert "  date of incident: Mon 16 Nov 2026" in shown
    assert "  notification submitted: Wed 18 Nov 2026 10:00" in shown
    assert ("stage changed  from Notification pending, to Notification submitted: information "
            "gathering, notification submitted Wed 18 Nov 2026 10:00, on time yes") in shown
    for internal in ("sin_", "_pending", "info_gathering", "T10:", r"\.\d{3}"):
        assert not re.search(internal, shown + cases), internal
    tick = bot("--now", "2026-11-18T10:02", "tick").stdout
    assert tick.startswith("tick at Wed 18 Nov 2026 10:02: 0 messages read, 0 deadline steps")


def test_the_run_banner_says_what_to_do_next(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, maildir=tmp_path / "mail",
                        database_url="postgresql+psycopg://bot:s3cret@db.example/reviews")
    banner = run_banner(settings, f"maildir:{tmp_path / 'mail'}")
    assert f"cp tests/support/eml/referral.eml {tmp_path / 'mail' / 'inbox' / 'new'}/" in banner
    assert "review-bot cases" in banner and "Ctrl-C" in banner
    assert "postgresql+psycopg://bot:***@db.example/reviews" in banner and "s3cret" not in banner


def test_a_rule_about_the_whole_file_names_the_file_only(bot: Bot, tmp_path: Path) -> None:
    broken = tmp_path / "anytown.toml"
    broken.write_text('preset = "kirklees"\n[media.routes.partnership]\nsign_off = ["executive"]\n')
    result = refused(bot, "check", env={"PROTOCOL_FILE": str(broken)})
    assert result.stderr == (f"error: {broken}: the media routing names executive, but roles.executive "
                             "is not set\n")
