"""Encryption at rest (decision 0029): values sealed in the database and opened by the models, a
value moved to another column or altered refused, plaintext where a sealed value belongs refused
(never passed on), and the key: created on a new installation (0600, its path logged, never the
key), refused by name when missing or wrong once data exists, reported by `review-bot check`."""

from __future__ import annotations

import base64
import hashlib
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from bot.at_rest import KeyProblem, fingerprint, generate_kek, kek_text
from bot.at_rest_keys import load_kek
from bot.cli import main
from bot.core import Core
from bot.inbound import digest_of, record_message
from bot.models import InboundMessage, MediaEnquiry
from bot.settings import Settings
from tests.support.at_rest import sealed_columns

RAW = b"From: a@b.example\r\nSubject: x\r\n\r\nThe narrative names Quillon Vantablack.\r\n" * 20


def enquiry(core: Core) -> MediaEnquiry:
    row = MediaEnquiry(ref="ME-2026-0001", received_at=core.clock.now(), source="cli", raised_by="cli:t",
                       outlet="Gazette", journalist="Jo Reporter", contact="jo@gazette.example",
                       subject="general", route="general", summary="asks about the family")
    with core.transaction() as s:
        s.add(row)
    return row


def stored(core: Core, sql: str) -> object:
    with core.db.engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_values_are_sealed_in_the_database_and_read_back_unchanged(core: Core) -> None:
    row = enquiry(core)
    with core.db.session() as s:
        again = s.exec(select(MediaEnquiry).where(MediaEnquiry.id == row.id)).one()
    assert (again.journalist, again.contact, again.summary) == ("Jo Reporter", "jo@gazette.example",
                                                                 "asks about the family")
    raw_journalist = str(stored(core, "SELECT journalist FROM mediaenquiry"))
    assert "Jo" not in raw_journalist
    sealed = base64.b64decode(raw_journalist)
    assert sealed[0] == 1 and int.from_bytes(sealed[2:6], "big") == core.db.keyring.current_key_id()
    # Two sealings of one value differ (a fresh nonce each time).
    assert raw_journalist != str(stored(core, "SELECT contact FROM mediaenquiry"))


def test_a_value_moved_to_another_column_or_altered_does_not_open(core: Core) -> None:
    enquiry(core)
    with core.db.engine.begin() as conn:
        conn.execute(text("UPDATE mediaenquiry SET contact = journalist"))
    with pytest.raises(KeyProblem, match=r"mediaenquiry\.contact does not open"), core.db.session() as s:
        s.exec(select(MediaEnquiry)).one()
    with core.db.engine.begin() as conn:
        raw = conn.execute(text("SELECT summary FROM mediaenquiry")).scalar()
        value = bytearray(base64.b64decode(str(raw)))
        value[-1] ^= 1  # one bit of the tag
        conn.execute(text("UPDATE mediaenquiry SET summary = :v"),
                     {"v": base64.b64encode(bytes(value)).decode()})
    with pytest.raises(KeyProblem, match=r"mediaenquiry\.summary does not open"), core.db.session() as s:
        s.exec(select(MediaEnquiry.summary)).one()


def test_plaintext_where_a_sealed_value_belongs_is_refused_never_passed_on(core: Core) -> None:
    enquiry(core)
    with core.db.engine.begin() as conn:
        conn.execute(text("UPDATE mediaenquiry SET journalist = 'Jo Reporter'"))
    with pytest.raises(KeyProblem, match="not encrypted"), core.db.session() as s:
        s.exec(select(MediaEnquiry.journalist)).one()


def test_raw_mail_is_compressed_then_sealed_and_its_digest_is_a_keyed_hash(core: Core) -> None:
    with core.transaction() as s:
        recorded = record_message(s, core, message_id="<m1@b.example>", raw=RAW, mailbox="inbox",
                                  from_addr="a@b.example")
        recorded.row.classification = "unknown"
    sealed = bytes(stored(core, "SELECT raw FROM inboundmessage"))  # type: ignore[arg-type]
    assert b"Vantablack" not in sealed and len(sealed) < len(RAW) // 4  # zlib before sealing
    digest = str(stored(core, "SELECT digest FROM inboundmessage"))
    assert digest != digest_of(RAW) and digest != hashlib.sha256(RAW).hexdigest()
    assert digest == core.db.keyring.lookup_hash(digest_of(RAW))
    # Duplicate detection works on the keyed hash: the same bytes again are the same message...
    with core.transaction() as s:
        again = record_message(s, core, message_id="<m1@b.example>", raw=RAW, mailbox="inbox",
                               from_addr="a@b.example")
        assert (again.fresh, again.reuses) == (False, None)
    # ... and other bytes under the same Message-ID are another message.
    with core.transaction() as s:
        other = record_message(s, core, message_id="<m1@b.example>", raw=RAW + b"more", mailbox="inbox",
                               from_addr="a@b.example")
        assert other.fresh and other.reuses == recorded.row.id
    with core.db.session() as s:
        assert s.exec(select(InboundMessage.raw).where(InboundMessage.id == recorded.row.id)).one() == RAW


def test_every_sealed_column_names_its_own_place() -> None:
    places = sealed_columns()
    assert ("inboundmessage", "raw") in places and ("chronologyevent", "event") in places
    for (table, column), kind in places.items():
        assert kind.context == f"{table}.{column}"


# --- the key ----------------------------------------------------------------------------------


def settings(tmp_path: Path, **values: str) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", **values)  # type: ignore[arg-type]


def test_a_new_installation_gets_a_key_file_readable_by_the_bot_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("DATA_KEY", raising=False)
    with caplog.at_level(logging.INFO):
        loaded = load_kek(settings(tmp_path))
    path = tmp_path / "data" / "data.key"
    assert loaded.created and path.stat().st_mode & 0o777 == 0o600
    assert base64.b64decode(path.read_text()) == loaded.kek
    logged = caplog.text
    assert str(path) in logged and fingerprint(loaded.kek) in logged
    assert kek_text(loaded.kek) not in logged and kek_text(loaded.kek)[:12] not in logged
    assert load_kek(settings(tmp_path)).kek == loaded.kek and not load_kek(settings(tmp_path)).created


def run_cli(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    base = {"DATA_DIR": str(tmp_path / "data"), "PROTOCOL_FILE": "", "MAIL_BACKEND": "maildir",
            "DATA_KEY": ""}
    result = CliRunner().invoke(main, list(args), env={**base, **env})
    return result.exit_code, result.stdout, result.stderr


def test_check_reports_the_key_and_refuses_a_missing_or_wrong_one_by_name(tmp_path: Path) -> None:
    code, out, err = run_cli(tmp_path, "check")
    assert code == 0, err
    key_file = tmp_path / "data" / "data.key"
    kek = base64.b64decode(key_file.read_text())
    assert f"data key: ok (DATA_KEY_FILE ({key_file}), key id {fingerprint(kek)})" in out
    # The database now holds data keys: a missing key file is an error, not a new key.
    key_file.rename(tmp_path / "elsewhere.key")
    code, out, err = run_cli(tmp_path, "check")
    assert code == 2 and "Traceback" not in err
    assert f"error: DATA_KEY_FILE ({key_file}) does not exist and DATA_KEY is not set" in err
    assert not key_file.exists()
    # A wrong key, by environment or by file, is named; so is one that is not a key at all.
    code, _, err = run_cli(tmp_path, "check", DATA_KEY=kek_text(generate_kek()))
    assert code == 2 and "error: DATA_KEY is not the key this database was encrypted with" in err
    code, _, err = run_cli(tmp_path, "check", DATA_KEY="not a key")
    assert code == 2 and "error: DATA_KEY is not base64" in err
    code, out, err = run_cli(tmp_path, "check", DATA_KEY=kek_text(kek))
    assert code == 0 and "data key: ok (DATA_KEY, key id" in out
    code, out, err = run_cli(tmp_path, "check", DATA_KEY_FILE=str(tmp_path / "elsewhere.key"))
    assert code == 0, err


def test_an_engine_without_the_key_refuses_to_read_sealed_columns(core: Core) -> None:
    enquiry(core)
    engine = create_engine(core.db.url)  # not the bot's: no key given to it
    try:
        with pytest.raises(KeyProblem, match=r"no encryption key loaded.*DATA_KEY"), Session(engine) as s:
            s.exec(select(MediaEnquiry.journalist)).one()
    finally:
        engine.dispose()
