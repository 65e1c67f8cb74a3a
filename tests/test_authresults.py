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


def test_internal_mail_behind_exchange_only() -> None:
    internal = msg("X-MS-Exchange-Organization-AuthAs: Internal", from_="colleague@partnership.example")
    v = verify_sender(internal, authserv_id=OURS, boundary="exchange")
    assert v.verified
    assert v.internal
    assert "internal" in v.reason
    # Behind any other boundary the header is whatever the sender wrote.
    v = verify_sender(internal, authserv_id=OURS, boundary="other")
    assert not v.verified
    assert not v.internal
    assert v.reason == f"no Authentication-Results from {OURS}"


def test_anonymous_authas_is_not_internal() -> None:
    v = verify_sender(
        msg("X-MS-Exchange-Organization-AuthAs: Anonymous"), authserv_id=OURS, boundary="exchange"
    )
    assert not v.internal
    assert not v.verified


def test_not_configured() -> None:
    v = verify_sender(msg(), authserv_id=None)
    assert v.verified
    assert v.reason == "sender verification not configured"
    assert v.address == "officer@police.example"


# --- the forged-header matrix (issue 9 item 2) ---------------------------------------------------

FOREIGN = "Authentication-Results: relay.lookalike.example; dmarc=pass header.from=police.example"
OUR_FAIL = f"Authentication-Results: {OURS}; dmarc=fail (p=reject) header.from=police.example"
OUR_NONE = f"Authentication-Results: {OURS}; spf=none; dmarc=none header.from=police.example"
AUTH_AS = "X-MS-Exchange-Organization-AuthAs: Internal"
EOP_PASS = "Authentication-Results: dmarc=pass action=none header.from=police.example;compauth=pass reason=100"  # noqa: E501


@pytest.mark.parametrize(
    ("headers", "authserv_id", "boundary", "verified", "reason"),
    [
        pytest.param([PASS], OURS, "other", True, "dmarc=pass", id="ours-on-top-pass"),
        pytest.param([OUR_FAIL], OURS, "other", False, "dmarc=fail", id="ours-on-top-fail"),
        pytest.param([PASS, FOREIGN], OURS, "other", True, "dmarc=pass", id="ours-pass-above-foreign"),
        pytest.param([FOREIGN, PASS], OURS, "other", False, "1 header(s) naming", id="forged-below-foreign"),
        pytest.param([OUR_FAIL, FOREIGN, PASS], OURS, "other", False, "dmarc=fail",
                     id="ours-fail-forged-pass-below-foreign"),
        pytest.param([OUR_FAIL, PASS], OURS, "other", False, "dmarc=fail", id="two-of-ours-fail-then-pass"),
        pytest.param([OUR_NONE, PASS], OURS, "other", False, "dmarc=none",
                     id="forged-pass-directly-below-our-none"),
        pytest.param([PASS.replace(OURS, "mx.partnership.example.evil")], OURS, "other", False,
                     "no Authentication-Results", id="wrong-authserv-id"),
        pytest.param([PASS.replace(OURS, "MX.Partnership.Example 1")], OURS, "other", True, "dmarc=pass",
                     id="our-id-in-capitals-with-version"),
        pytest.param([f"Authentication-Results: {OURS}; dkim=pass header.d=police.example; "
                      "dmarc=fail header.from=police.example"], OURS, "other", False, "dmarc=fail",
                     id="dkim-pass-dmarc-fail"),
        pytest.param([f"Authentication-Results: {OURS}; dkim=pass header.d=police.example; "
                      "spf=pass smtp.mailfrom=police.example"], OURS, "other", False, "no DMARC result",
                     id="dkim-and-spf-pass-no-dmarc"),
        pytest.param([f"Authentication-Results: {OURS}; dmarc=fail (dmarc=pass) header.from=police.example"],
                     OURS, "other", False, "dmarc=fail", id="pass-hidden-in-a-comment"),
        pytest.param([f"Authentication-Results: {OURS}; dmarc=temperror header.from=police.example",
                      PASS], OURS, "other", False, "dmarc=temperror", id="temperror-beats-pass"),
        pytest.param([AUTH_AS], OURS, "exchange", True, "internal mail", id="authas-internal-exchange"),
        pytest.param([AUTH_AS], OURS, "other", False, "no Authentication-Results",
                     id="authas-internal-not-exchange"),
        pytest.param([AUTH_AS, PASS], OURS, "other", True, "dmarc=pass",
                     id="authas-ignored-pass-still-counts"),
        pytest.param([AUTH_AS, AUTH_AS], OURS, "exchange", False, "no Authentication-Results",
                     id="authas-twice-is-not-internal"),
        pytest.param(["X-MS-Exchange-Organization-SCL: 9", EOP_PASS], EOP_AUTHSERV_ID, "exchange", False,
                     "spam (SCL 9)", id="scl-spam-exchange"),
        pytest.param(["X-MS-Exchange-Organization-SCL: 9", PASS], OURS, "other", True, "dmarc=pass",
                     id="scl-ignored-not-exchange"),
        pytest.param(["X-MS-Exchange-Organization-SCL: 1", EOP_PASS], EOP_AUTHSERV_ID, "exchange", True,
                     "dmarc=pass", id="scl-low-exchange"),
        pytest.param([EOP_PASS, EOP_PASS.replace("pass", "fail")], EOP_AUTHSERV_ID, "exchange", True,
                     "dmarc=pass", id="eop-topmost-only"),
        pytest.param([], OURS, "other", False, "no Authentication-Results", id="no-headers"),
        pytest.param([], OURS, "exchange", False, "no Authentication-Results", id="no-headers-exchange"),
        pytest.param([FOREIGN], None, "other", True, "not configured", id="verification-off"),
    ],
)
def test_forged_header_matrix(
    headers: list[str], authserv_id: str | None, boundary: str, verified: bool, reason: str
) -> None:
    v = verify_sender(msg(*headers), authserv_id=authserv_id, boundary=boundary)
    assert v.verified is verified, v.reason
    assert reason in v.reason


def test_a_boundary_that_does_not_strip_its_own_id_is_not_fooled_by_a_header_just_below() -> None:
    """By default only the topmost header with our id counts: a boundary that leaves incoming
    headers in place has the sender's forged pass right below its own verdict."""
    assert not verify_sender(msg(OUR_NONE, PASS), authserv_id=OURS).verified
    assert verify_sender(msg(PASS, OUR_FAIL), authserv_id=OURS).verified  # the top one is the verdict
    # compauth is Exchange Online's verdict: a "compauth=pass" from any other boundary is not read.
    forged = f"Authentication-Results: {OURS}; dmarc=none header.from=police.example; compauth=pass"
    assert not verify_sender(msg(forged), authserv_id=OURS).verified


def test_a_milter_chain_that_strips_may_count_several_headers() -> None:
    """OpenDKIM then OpenDMARC write one header each; with ``authres_headers = 2`` both count, and
    a fail in either wins over a pass in the other."""
    v = verify_sender(msg(PASS, OUR_FAIL), authserv_id=OURS, own_headers=2)
    assert not v.verified and "dmarc=fail" in v.reason
    v = verify_sender(msg(OUR_NONE, PASS), authserv_id=OURS, own_headers=2)
    assert not v.verified and "conflicting DMARC results" in v.reason


def test_the_reason_counts_forged_headers_below_a_foreign_one() -> None:
    v = verify_sender(msg(PASS, FOREIGN, PASS, PASS), authserv_id=OURS)
    assert v.verified
    v = verify_sender(msg(FOREIGN, PASS, PASS), authserv_id=OURS)
    assert v.reason == (
        f"no Authentication-Results from {OURS}; 2 header(s) naming {OURS} below another server's "
        "were ignored as forged"
    )


def test_a_flood_of_headers_is_bounded() -> None:
    # 5,000 forged headers below a foreign one: only the first 50 are parsed, and none counts.
    v = verify_sender(msg(FOREIGN, *([PASS] * 5000)), authserv_id=OURS)
    assert not v.verified
    assert "49 header(s)" in v.reason


def test_a_from_header_too_long_for_one_address_is_not_parsed() -> None:
    # The standard header parser is quadratic on '"' * n; such a header is never given to it.
    assert from_address(msg(from_='"' * 50_000 + " <officer@police.example>")) == ("", "")
    long_name = "A" * 400
    assert from_address(msg(from_=f"{long_name} <officer@police.example>"))[1] == "police.example"


def test_the_reason_shows_only_domain_characters_of_untrusted_values() -> None:
    ar = f'Authentication-Results: {OURS}; dmarc=fail header.from="<!channel>\x1b[31m{"x" * 500}.example"'
    v = verify_sender(msg(ar), authserv_id=OURS)
    assert not v.verified
    assert v.reason == f"dmarc=fail (header.from=channel31m{'x' * 70}) at {OURS}"
