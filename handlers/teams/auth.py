"""Who may call the messaging endpoint: Bot Framework JWTs, checked before anything runs.

Every activity Teams sends carries ``Authorization: Bearer <JWT>`` signed by the Bot Framework
("Authenticate requests from the Bot Connector service to your bot", Bot Framework REST docs).
The checks, in order: an RS256 token whose key id is in the JWKS named by the OpenID metadata;
the key endorses the activity's channel (``msteams``); the issuer is the Bot Framework; the
audience is our app id; ``exp`` and ``nbf`` hold against the injected clock with a small
leeway; the ``serviceurl`` claim is the activity's ``serviceUrl`` (so a reply cannot be steered
elsewhere); and the activity comes from our own tenant (a single-tenant bot, docs/teams.md).

The SDK's own validator is not used: its leeway is fixed at five minutes, it derives the JWKS
address from the metadata URL's spelling instead of reading the metadata, it checks no key
endorsement and no tenant, and it also accepts Entra-issued tokens (decision 0020).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)

#: The issuer of every token the Bot Connector sends (Bot Framework REST docs, "Connector to bot").
ISSUER = "https://api.botframework.com"
#: Clock skew allowed on exp/nbf. Microsoft's services and ours keep time by NTP; one minute
#: covers a drifting host without keeping a stolen token alive much past its expiry.
LEEWAY = timedelta(seconds=60)
#: An unknown key id refreshes the keys at most this often (a forged kid cannot make us fetch
#: on every request); known keys are refreshed daily (Microsoft rolls them over days).
REFRESH_UNKNOWN_KID = timedelta(minutes=5)
REFRESH_ALWAYS = timedelta(hours=24)


class Unauthorized(Exception):
    """The request is refused with 401; the message is a short reason for the log (no token)."""


@dataclass
class _Keys:
    keys: dict[str, tuple[jwt.PyJWK, frozenset[str] | None]] = field(default_factory=dict)
    fetched_at: datetime | None = None


class BotFrameworkAuth:
    def __init__(
        self, *, app_id: str, tenant_id: str, metadata_url: str, now: Callable[[], datetime],
        http: httpx.Client | None = None, leeway: timedelta = LEEWAY,
    ) -> None:
        if not app_id or not tenant_id:
            raise ValueError("TEAMS_APP_ID and TEAMS_TENANT_ID are needed to check Teams requests")
        self.app_id = app_id
        self.tenant_id = tenant_id.lower()
        self.metadata_url = metadata_url
        self.now = now
        self.http = http or httpx.Client(timeout=10.0)
        self.leeway = leeway
        self._keys = _Keys()
        self._lock = threading.Lock()

    def verify(self, authorization: str | None, activity: dict[str, Any]) -> dict[str, Any]:
        """The token's claims, or :class:`Unauthorized`."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("no bearer token")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("not a JWT") from exc
        if header.get("alg") != "RS256":  # never "none", never a symmetric algorithm
            raise Unauthorized("not an RS256 token")
        key, endorsements = self._key(str(header.get("kid") or ""))
        channel = activity.get("channelId")
        if endorsements is not None and channel not in endorsements:
            raise Unauthorized("the signing key does not endorse this channel")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=["RS256"], audience=self.app_id, issuer=ISSUER,
                # exp and nbf are checked below against the injected clock (architecture rule 6).
                options={"require": ["exp", "iss", "aud"], "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"token refused ({type(exc).__name__})") from exc
        self._check_times(claims)
        if _norm(claims.get("serviceurl")) != _norm(activity.get("serviceUrl")):
            raise Unauthorized("serviceurl claim does not match the activity")
        if activity_tenant(activity) != self.tenant_id:
            raise Unauthorized("the activity is not from our tenant")
        return claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self.now().timestamp()
        leeway = self.leeway.total_seconds()
        try:
            exp = float(claims["exp"])
            nbf = float(claims.get("nbf", 0))
        except (TypeError, ValueError) as exc:
            raise Unauthorized("exp/nbf are not numbers") from exc
        if now > exp + leeway:
            raise Unauthorized("token expired")
        if now < nbf - leeway:
            raise Unauthorized("token not yet valid")

    def _key(self, kid: str) -> tuple[jwt.PyJWK, frozenset[str] | None]:
        if not kid:
            raise Unauthorized("no key id")
        with self._lock:
            now = self.now()
            fetched = self._keys.fetched_at
            age = now - fetched if fetched is not None else None
            stale = age is None or age > REFRESH_ALWAYS or age < timedelta(0)
            if stale or (kid not in self._keys.keys and age is not None and age >= REFRESH_UNKNOWN_KID):
                self._refresh(now)
            found = self._keys.keys.get(kid)
        if found is None:
            raise Unauthorized("unknown signing key")
        return found

    def _refresh(self, now: datetime) -> None:
        try:
            metadata = self.http.get(self.metadata_url).raise_for_status().json()
            jwks = self.http.get(str(metadata["jwks_uri"])).raise_for_status().json()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            # Keep the keys we had: a metadata outage must not refuse every valid request.
            log.warning("could not refresh the Bot Framework signing keys: %s", type(exc).__name__)
            if self._keys.fetched_at is None:
                raise Unauthorized("signing keys unavailable") from exc
            return
        keys: dict[str, tuple[jwt.PyJWK, frozenset[str] | None]] = {}
        for item in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            try:
                key = jwt.PyJWK(item, algorithm="RS256")
            except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError, ValueError):
                continue
            endorsed = item.get("endorsements")
            channels = frozenset(map(str, endorsed)) if endorsed is not None else None
            keys[str(item.get("kid"))] = (key, channels)
        self._keys = _Keys(keys=keys, fetched_at=now)


def activity_tenant(activity: dict[str, Any]) -> str:
    """The tenant an activity belongs to (Teams puts it in channelData and the conversation)."""
    channel_data = activity.get("channelData") or {}
    tenant = (channel_data.get("tenant") or {}).get("id") if isinstance(channel_data, dict) else None
    tenant = tenant or (activity.get("conversation") or {}).get("tenantId")
    return str(tenant or "").lower()


def _norm(url: object) -> str:
    return str(url or "").strip().rstrip("/").lower()
