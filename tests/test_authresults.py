"""Sender verification: forged, missing, failing, passing Authentication-Results; spoofed names."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

import pytest

from bot.mail.authresults import (
    EOP_AUTHSERV_ID,
    domain_matches,
    from_address,
    parse_authentication_results,
    verify_sender,
)

OURS = "mx.partnership.example"


def msg(*headers: str, from_: str = "Case Officer <officer@police.example>") -> EmailMessage:
    lines = [*headers, f"From: {from_}", "To: reviews@partnership.example", "Subject: x", "", "hi"]
    parsed = email.message_from_bytes("\r\n".join(lines).encode(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


PASS = f"Authentication-Results: {OURS}; spf=pass smtp.mailfrom=police.example; dmarc=pass (p=reject) header.from=police.example"  # noqa: E501


# --- from_address --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_", "expected"),
    [
        ("Case Officer <Officer@Police.Example>", ("officer@police.example", "police.example")),
        ("J. Smith <js@police.example>", ("js@police.example", "police.example")),
        ("officer@police.example", ("officer@police.example", "police.example")),
        # display-name spoofing: the name is never read
        ("police.example <x@evil.example>", ("x@evil.example", "evil.example")),
        ('"officer@police.example" <x@evil.example>', ("x@evil.example", "evil.example")),
        # CVE-2023-27043 shape: email.utils on 3.11.7 yields both addresses; we yield none
        ("officer@police.example <x@evil.example>", ("", "")),
        ("a@police.example, b@police.example", ("", "")),
        ("Police: officer@police.example;", ("", "")),
        ("<>", ("", "")),
        ("officer", ("", "")),
    ],
)
def test_from_address(from_: str, expected: tuple[str, str]) -> None:
    assert from_address(msg(from_=from_)) == expected


def test_from_address_missing_or_duplicated() -> None:
    m = EmailMessage()
    assert from_address(m) == ("", "")
    raw = b"From: a@police.example\r\nFrom: b@police.example\r\n\r\nhi"
    m = email.message_from_bytes(raw, policy=default)  # parsing does not enforce the max count
    assert from_address(m) == ("", "")


def test_from_address_on_compat32_message() -> None:
    m = email.message_from_bytes(b"From: police.example <x@evil.example>\r\n\r\nhi")
    assert from_address(m) == ("x@evil.example", "evil.example")


# --- domain_matches ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "ok"),
    [
        ("police.uk", True),
        ("met.police.uk", True),
        ("MET.Police.UK", True),
        ("evilpolice.uk", False),
        ("police.uk.evil.example", False),
        ("nhs.net", True),
        ("x.nhs.net", True),
        ("", False),
    ],
)
def test_domain_matches(domain: str, ok: bool) -> None:
    assert domain_matches(domain, ["*.Police.UK", "nhs.net", ""]) is ok


# --- parsing -------------------------------------------------------------------------------------


def test_parse_eop_header_without_authserv_id() -> None:
    h = parse_authentication_results(
        "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=contoso.com; dkim=pass (signature was "
        "verified) header.d=contoso.com;dmarc=pass action=none header.from=contoso.com;"
        "compauth=pass reason=100"
    )
    assert h.authserv_id == ""
    assert [(r.method, r.result) for r in h.results] == [
        ("spf", "pass"),
        ("dkim", "pass"),
        ("dmarc", "pass"),
        ("compauth", "pass"),
    ]
    assert h.results[2].props["header.from"] == "contoso.com"
    assert h.results[3].props["reason"] == "100"


def test_parse_versions_comments_quotes() -> None:
    h = parse_authentication_results(
        'MX.Partnership.Example 1; dmarc/1 = pass (p=reject; "x") header.from="police.example"'
    )
    assert h.authserv_id == "mx.partnership.example"
    assert h.results[0].method == "dmarc"
    assert h.results[0].result == "pass"
    assert h.results[0].props == {"header.from": "police.example"}
    assert parse_authentication_results(f"{OURS}; none").results == ()


# --- verify_sender -------------------------------------------------------------------------------


def test_passing_dmarc_at_our_boundary() -> None:
    v = verify_sender(msg(PASS), authserv_id=OURS)
    assert v.verified
    assert not v.internal
    assert v.address == "officer@police.example"
    assert v.domain == "police.example"
    assert v.reason == f"dmarc=pass (header.from=police.example) at {OURS}"


def test_missing_header_is_held() -> None:
    v = verify_sender(msg(), authserv_id=OURS)
    assert not v.verified
    assert v.reason == f"no Authentication-Results from {OURS}"


def test_failing_dmarc_is_held() -> None:
    v = verify_sender(
        msg(f"Authentication-Results: {OURS}; dmarc=fail (p=none) header.from=police.example"),
        authserv_id=OURS,
    )
    assert not v.verified
    assert v.reason == f"dmarc=fail (header.from=police.example) at {OURS}"


def test_forged_header_from_elsewhere_is_ignored() -> None:
    forged = "Authentication-Results: evil-mx.example; dmarc=pass header.from=police.example"
    assert not verify_sender(msg(forged), authserv_id=OURS).verified


def test_forged_copy_below_a_foreign_header_does_not_count() -> None:
    # Ours is missing at the top; a header claiming our id sits below a foreign one: forged.
    v = verify_sender(
        msg(
            "Authentication-Results: relay.example; dmarc=none",
            PASS,
        ),
        authserv_id=OURS,
    )
    assert not v.verified


def test_our_failing_header_on_top_of_a_forged_pass() -> None:
    v = verify_sender(
        msg(
            f"Authentication-Results: {OURS}; dmarc=fail header.from=police.example",
            "Authentication-Results: evil.example; dmarc=pass header.from=police.example",
        ),
        authserv_id=OURS,
    )
    assert not v.verified


def test_dmarc_pass_for_another_domain_is_held() -> None:
    v = verify_sender(
        msg(f"Authentication-Results: {OURS}; dmarc=pass header.from=evil.example"),
        authserv_id=OURS,
    )
    assert not v.verified
    assert "another domain" in v.reason


def test_display_name_spoof_with_passing_dmarc_for_the_real_domain() -> None:
    v = verify_sender(
        msg(
            f"Authentication-Results: {OURS}; dmarc=pass header.from=evil.example",
            from_="police.example <x@evil.example>",
        ),
        authserv_id=OURS,
    )
    # DMARC passed for evil.example: verified *as evil.example*, never as the police
    assert v.verified
    assert v.domain == "evil.example"
    assert not domain_matches(v.domain, ["police.example"])


def test_no_from_address_is_held() -> None:
    v = verify_sender(msg(PASS, from_="officer@police.example <x@evil.example>"), authserv_id=OURS)
    assert not v.verified
    assert v.address == ""


def test_eop_compauth_pass() -> None:
    eop = (
        "Authentication-Results: spf=fail (sender IP is 192.0.2.1) smtp.mailfrom=police.example;"
        " dkim=none (message not signed) header.d=none;dmarc=none action=none"
        " header.from=police.example;compauth=pass reason=109"
    )
    v = verify_sender(msg(eop), authserv_id=EOP_AUTHSERV_ID)
    assert v.verified
    assert v.reason == "compauth=pass (reason=109) at Exchange Online Protection"


def test_eop_only_topmost_counts() -> None:
    top = "Authentication-Results: dmarc=fail action=quarantine header.from=police.example;compauth=fail reason=000"  # noqa: E501
    forged = "Authentication-Results: dmarc=pass header.from=police.example;compauth=pass"
    assert not verify_sender(msg(top, forged), authserv_id=EOP_AUTHSERV_ID).verified
    assert verify_sender(msg(forged, top), authserv_id=EOP_AUTHSERV_ID).verified


def test_internal_mail() -> None:
    v = verify_sender(
        msg("X-MS-Exchange-Organization-AuthAs: Internal", from_="colleague@partnership.example"),
        authserv_id=OURS,
    )
    assert v.verified
    assert v.internal
    assert "internal" in v.reason
    v = verify_sender(
        msg("X-MS-Exchange-Organization-AuthAs: Internal"),
        authserv_id=OURS,
        trust_internal_header=False,
    )
    assert not v.verified
    assert not v.internal


def test_anonymous_authas_is_not_internal() -> None:
    v = verify_sender(msg("X-MS-Exchange-Organization-AuthAs: Anonymous"), authserv_id=OURS)
    assert not v.internal
    assert not v.verified


def test_not_configured() -> None:
    v = verify_sender(msg(), authserv_id=None)
    assert v.verified
    assert v.reason == "sender verification not configured"
    assert v.address == "officer@police.example"
