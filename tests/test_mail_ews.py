"""EWS gateway: what can be tested without an Exchange server (HTTP faked with `responses`).

The canned-SOAP round trip (FindItem/GetItem/UpdateItem/MoveItem/CreateItem) is not written yet;
see docs/decisions/0005-mail-gateways.md.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest
import responses

from bot.mail.ews import EXCHANGE_ONLINE_WARNING, EwsMailGateway, is_exchange_online
from bot.mail.gateway import MailboxError, TransientMailboxError


@pytest.mark.parametrize(
    ("endpoint", "online"),
    [
        ("https://outlook.office365.com/EWS/Exchange.asmx", True),
        ("https://OUTLOOK.OFFICE.COM/EWS/Exchange.asmx", True),
        ("https://mail.council.example/EWS/Exchange.asmx", False),
        ("https://outlook.office365.com.evil.example/EWS/Exchange.asmx", False),
    ],
)
def test_is_exchange_online(endpoint: str, online: bool) -> None:
    assert is_exchange_online(endpoint) is online


def gateway(endpoint: str, **kw: object) -> EwsMailGateway:
    kwargs: dict[str, object] = {
        "service_endpoint": endpoint,
        "username": "COUNCIL\\svc-reviews",
        "password": "pw",
        "mailbox": "reviews@partnership.example",
    }
    kwargs.update(kw)
    return EwsMailGateway(**kwargs)  # type: ignore[arg-type]


@responses.activate
def test_construction_does_not_connect() -> None:
    gateway("https://mail.council.example/EWS/Exchange.asmx")
    assert len(responses.calls) == 0


@responses.activate
def test_check_warns_for_exchange_online_and_reports_unreachable() -> None:
    # No response registered: every request fails as a refused connection would.
    problems = gateway("https://outlook.office365.com/EWS/Exchange.asmx").check()
    assert problems[0] == EXCHANGE_ONLINE_WARNING
    assert "1 Oct 2026" in problems[0] and "1 Apr 2027" in problems[0]
    assert len(problems) == 2
    assert problems[1].startswith("EWS") and "unreachable" in problems[1]


@responses.activate
def test_unreachable_is_transient_and_bad_credentials_are_not() -> None:
    endpoint = "https://mail.council.example/EWS/Exchange.asmx"
    with pytest.raises(TransientMailboxError):
        list(gateway(endpoint).fetch_new())
    responses.add(responses.POST, endpoint, status=401)
    with pytest.raises(MailboxError) as info:
        list(gateway(endpoint, auth_type="basic").fetch_new())
    assert not isinstance(info.value, TransientMailboxError)
    assert "credentials rejected" in str(info.value)


def test_oauth_needs_the_app_registration() -> None:
    with pytest.raises(MailboxError, match="GRAPH_TENANT_ID"):
        gateway("https://mail.council.example/EWS/Exchange.asmx", auth_type="oauth").send(
            EmailMessage()
        )
