"""What every Microsoft Graph call needs: an app-only token and the HTTP answer read as ours.

* :class:`MsalTokenProvider`: client credentials (secret or certificate) with msal, which caches
  the token; :func:`token_roles` reads the application permissions a token carries.
* :func:`retry_after` (``Retry-After`` on 429 and 503, capped) and :func:`graph_error` (a status
  mapped to :class:`MailboxError` or :class:`TransientMailboxError`).

The mailbox operations are in :mod:`bot.mail.graph`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.mail.gateway import MailboxError, TransientMailboxError

TokenProvider = Callable[[], str]


class MsalTokenProvider:
    """App-only tokens from Entra ID with msal (secret or certificate). msal caches the token.

    Nothing touches the network until the first call (msal's construction does OIDC discovery).
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str | None = None,
        certificate_path: Path | None = None,
        certificate_thumbprint: str = "",
        authority_url: str = "https://login.microsoftonline.com",
        graph_base_url: str = "https://graph.microsoft.com/v1.0",
    ) -> None:
        self._tenant_id, self._client_id = tenant_id, client_id
        self._secret = client_secret
        self._cert_path, self._thumbprint = certificate_path, certificate_thumbprint
        self._authority = f"{authority_url.rstrip('/')}/{tenant_id}"
        parts = urlsplit(graph_base_url)
        self._scope = f"{parts.scheme}://{parts.netloc}/.default"
        self._app: Any = None
        self._lock = threading.Lock()

    def _credential(self) -> str | dict[str, str]:
        if self._cert_path is not None:
            try:
                pem = self._cert_path.read_bytes()
            except OSError as exc:
                raise MailboxError(f"Graph: cannot read the certificate file: {exc}") from None
            return {"private_key": pem.decode(), "thumbprint": self._thumbprint or _thumbprint(pem)}
        if self._secret:
            return self._secret
        raise MailboxError("Graph: neither GRAPH_CLIENT_SECRET nor GRAPH_CERTIFICATE_PATH is set")

    def __call__(self) -> str:
        import msal  # imported here: no import-time cost for the other backends
        import requests

        with self._lock:
            try:
                if self._app is None:
                    self._app = msal.ConfidentialClientApplication(
                        self._client_id,
                        client_credential=self._credential(),
                        authority=self._authority,
                        # The authority is an operator setting (national clouds, tests): no
                        # instance discovery round trip to login.microsoftonline.com.
                        instance_discovery=False,
                    )
                result = self._app.acquire_token_for_client(scopes=[self._scope])
            except requests.RequestException as exc:
                raise TransientMailboxError(
                    f"Graph: token endpoint unreachable: {type(exc).__name__}"
                ) from None
            except ValueError as exc:  # msal: bad authority / tenant discovery failed
                raise MailboxError(f"Graph: token authority rejected: {exc}") from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            error = result.get("error", "unknown") if isinstance(result, dict) else "unknown"
            codes = result.get("error_codes", []) if isinstance(result, dict) else []
            detail = f" (AADSTS{codes[0]})" if codes else ""
            raise MailboxError(f"Graph: token request failed: {error}{detail}")
        return str(token)


def _thumbprint(pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise MailboxError(
            "Graph: GRAPH_CERTIFICATE_PATH has no certificate; set GRAPH_CERTIFICATE_THUMBPRINT"
        ) from None
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # Entra's thumbprint is SHA-1


# --- reading the HTTP answer ----------------------------------------------------------------------


def retry_after(value: str | None, attempt: int) -> float:
    try:
        return max(0.0, min(float(value), 300.0)) if value is not None else 0.0
    except ValueError:
        return float(min(2**attempt, 60))


def graph_error(what: str, response: httpx.Response) -> MailboxError:
    code = ""
    with contextlib.suppress(ValueError, AttributeError):
        code = str(response.json().get("error", {}).get("code", ""))
    status = response.status_code
    detail = f"{status}{' ' + code if code else ''}"
    if status in (429, 503, 504) or status >= 500:
        return TransientMailboxError(f"Graph {what}: service unavailable ({detail})")
    if status == 401:
        return MailboxError(f"Graph {what}: credentials rejected ({detail})")
    if status == 403:
        return MailboxError(f"Graph {what}: missing permission or mailbox not allowed ({detail})")
    if status == 404:
        return MailboxError(f"Graph {what}: mailbox or item not found ({detail})")
    return MailboxError(f"Graph {what}: request failed ({detail})")


def token_roles(token: str) -> set[str] | None:
    """The ``roles`` claim of a JWT access token, unverified; None when it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    roles = payload.get("roles") if isinstance(payload, dict) else None
    return {str(r) for r in roles} if isinstance(roles, list) else set()
