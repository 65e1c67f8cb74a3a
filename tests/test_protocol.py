from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.duration import Duration
from bot.protocol import ProtocolError, UnknownAgency, load_protocol, parse_protocol, preset_names


def test_every_preset_loads_and_differs_where_the_seeds_differ() -> None:
    assert set(preset_names()) >= {"working-together-2023", "kirklees", "sandwell", "somerset",
                                   "stockport"}
    wt = load_protocol(None)
    assert wt.durations.sin_notification == Duration(5, "working_days")
    assert wt.durations.rapid_review == Duration(15, "working_days")
    assert wt.durations.lcspr_publication == Duration(6, "months")
    assert wt.durations.info_gathering_return == Duration(48, "hours")
    assert wt.durations.chronology_return == Duration(14, "days")
    kir = parse_protocol({"preset": "kirklees"}, "k.toml")
    assert kir.durations.website_retention == Duration(6, "months")  # KIR l.330
    assert kir.durations.prepub_notice == Duration(7, "working_days")  # floor beats "7 days"
    stk = parse_protocol({"preset": "stockport"}, "s.toml")
    assert stk.durations.prepub_notice == Duration(2, "weeks")  # STK l.457
    sw = parse_protocol({"preset": "sandwell"}, "w.toml")
    assert sw.durations.website_retention == Duration(12, "months")  # SW-COMMS l.83


def test_a_partnership_file_replaces_agencies_and_merges_tables(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'preset = "kirklees"\n'
        '[partnership]\nname = "Anytown SCP"\nsin_notifier = "csc"\n'
        '[durations]\nchronology_return = "21 days"\n'
        '[[agencies]]\nslug = "csc"\nname = "Anytown CSC"\n'
        'request_addresses = ["reviews@anytown.gov.example"]\nstatutory_partner = true\n'
    )
    p = load_protocol(path)
    assert p.partnership.name == "Anytown SCP"
    assert p.partnership.timezone == "Europe/London"  # kept from the preset
    assert p.durations.chronology_return == Duration(21, "days")
    assert p.durations.website_retention == Duration(6, "months")  # from kirklees
    assert p.agency_slugs() == ["csc"]
    assert p.agency("csc").allowed_domains() == ["anytown.gov.example"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("this is = not toml [", "not valid TOML"),
        ('preset = "nowhere"', "preset 'nowhere' does not exist"),
        ('[durations]\nrapid_review = "15 wd"', "field 'durations.rapid_review'"),
        ('[durations]\nprepub_notice = "7 days"', "statutory minimum of 7 working days"),
        ('[partnership]\nsin_notifier = "nobody"', "'nobody' is not an agency slug"),
        ('[[agencies]]\nslug = "Bad Slug"\nname = "x"\nrequest_addresses = ["a@b.example"]',
         "field 'agencies[0].slug'"),
        ('[[agencies]]\nslug = "x"\nname = "x"\nrequest_addresses = ["not-an-address"]',
         "field 'agencies[0].request_addresses': 'not-an-address'"),
        ('[working_hours]\nstart = "18:00"\nend = "09:00"', "start before they end"),
        ('[roles.business_manager]\nemail = "nope"', "field 'roles.business_manager.email'"),
        # The media protocol (issue 4): a broken routing row is named, never guessed around.
        ('[media.routes.review]\nspeaks = "mayor"',
         "field 'media.routes.review.speaks': 'mayor' is not a role"),
        ('[media.routes.review]\noutput = "tweet"', "'tweet' is not an output"),
        ('[media.routes.rumour]\nlead = ["chair"]\nspeaks = "chair"\nsign_off = ["chair"]\n'
         'output = "response"', "unknown routing rows: rumour"),
        ('[media.routes.partnership]\nsign_off = ["executive"]',
         "the media routing names executive, but roles.executive is not set"),
        ('[media]\nacknowledge_within = "soon"', "field 'media.acknowledge_within'"),
        ('[media]\nchair_fallback = "chair"', "cannot be the fallback"),
        ('[media]\npress_address = "press"', "field 'media.press_address'"),
    ],
)
def test_a_broken_protocol_names_the_file_the_field_and_the_problem(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(content)
    with pytest.raises(ProtocolError) as err:
        load_protocol(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_check_and_start_up_refuse_a_broken_protocol(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[durations]\nrapid_review = "fifteen days"\n')
    env = {"PROTOCOL_FILE": str(path), "DATABASE_URL": database_url,
           "MAILDIR": str(tmp_path / "mail")}
    for args in (["check"], ["run"]):
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 2, result.output
        assert "broken.toml" in result.output and "durations.rapid_review" in result.output


def test_unknown_agency_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownAgency) as err:
        load_protocol(None).agency("fire")
    assert "police" in str(err.value) and "la-csc" in str(err.value)


def test_protocol_command_shows_the_effective_protocol_as_json(tmp_path: Path) -> None:
    import json

    result = CliRunner().invoke(main, ["protocol", "--json"], env={"PROTOCOL_FILE": ""})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["durations"]["info_gathering_return"] == "48 hours"
    assert data["chase"]["info-gathering"]["reminder_before"] == "24 hours"
    assert data["media"]["acknowledge_within"] == "15 minutes"
    assert data["media"]["deadline_reminders"] == ["2 hours", "30 minutes"]
    assert data["media"]["routes"]["published"]["output"] == "press_release"


def test_a_partnership_can_say_it_has_no_deputy_chair(tmp_path: Path) -> None:
    # TOML has no null: `false` removes the preset's example Deputy (issue 9 item 7).
    path = tmp_path / "anytown.toml"
    path.write_text('preset = "working-together-2023"\n[roles]\ndeputy_chair = false\n')
    assert load_protocol(path).roles.deputy_chair is None
    assert load_protocol(None).roles.deputy_chair is not None  # the example, for `make run`
    # A preset whose seed names no Deputy does not inherit the example; a file can still name one.
    assert parse_protocol({"preset": "kirklees"}, "k").roles.deputy_chair is None
    named = parse_protocol({"preset": "kirklees", "roles": {"deputy_chair": {
        "name": "Deputy", "email": "Deputy@Anytown.Example"}}}, "k")
    assert named.roles.deputy_chair is not None and named.roles.deputy_chair.email == "deputy@anytown.example"
    assert parse_protocol({"preset": "somerset"}, "s").roles.deputy_chair is not None  # SOM l.236
    with pytest.raises(ProtocolError, match=r"roles.deputy_chair.*false \(nobody holds the role\)"):
        parse_protocol({"roles": {"deputy_chair": True}}, "t.toml")
    # The business manager is never optional.
    with pytest.raises(ProtocolError, match=r"roles\.business_manager"):
        parse_protocol({"roles": {"business_manager": False}}, "t.toml")
