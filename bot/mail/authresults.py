"""Sender verification for returns: who sent this, and did our own boundary vouch for it?

Pure standard library, no I/O. The intake calls :func:`verify_sender` on every inbound message
and then checks the agency's domains with :func:`domain_matches`.

Rules (RFC 8601 section 5 and 7):

* Only ``Authentication-Results`` (AR) headers added by the partnership's own boundary count. They
  are recognised by their authserv-id and are the *topmost* AR headers: we walk the AR headers from
  the top and stop at the first one that is not ours, because anything below it was added before
  the message reached our boundary and may be forged. A header with our authserv-id below a
  foreign one is ignored as forged (the reason says how many). RFC 8601 section 5 asks the
  boundary to delete headers bearing its id from incoming mail; most do, and where one does not,
  the next rule still holds.
* Exchange Online Protection writes AR headers with no authserv-id at all. Configure
  :data:`EOP_AUTHSERV_ID` (``"eop"``) to trust those; then only the single topmost AR header counts,
  since a forged header further down would look the same.
* A sender is verified when one of our headers says ``dmarc=pass`` with ``header.from`` equal to the
  From domain, or ``compauth=pass`` (Microsoft's composite authentication).
* Any ``fail`` (or softfail, temperror, permerror) for DMARC or compauth in our block wins over a
  ``pass``, and two different DMARC results in it mean one is forged: not verified.
* Mail from inside the tenant carries ``X-MS-Exchange-Organization-AuthAs: Internal``, and Exchange
  grades spam with ``X-MS-Exchange-Organization-SCL``. Exchange's header firewall strips
  ``X-MS-Exchange-Organization-*`` from mail arriving from outside, so these headers are read only
  when the protocol says the boundary is Exchange (``mail_boundary = "exchange"``); behind any
  other boundary a sender can write them, and they are ignored.
* Addresses are read through the ``email.policy.default`` header objects only, never
  ``email.utils.parseaddr``/``getaddresses`` (this interpreter predates the CVE-2023-27043 fix), and
  display names are never looked at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from email.errors import ObsoleteHeaderDefect
from email.headerregistry import AddressHeader
from email.message import Message
from email.policy import default

#: Configure this authserv-id to trust Exchange Online Protection's AR header, which has none.
EOP_AUTHSERV_ID = "eop"

#: Mail boundaries the protocol can name (``partnership.mail_boundary``).
BOUNDARIES = ("exchange", "other")

_INTERNAL_HEADER = "X-MS-Exchange-Organization-AuthAs"
_SCL_HEADER = "X-MS-Exchange-Organization-SCL"
#: Exchange's spam confidence level from which mail is junk (Microsoft: SCL 5-9 is spam).
_SCL_SPAM = 5
#: Results that mean "not authenticated"; any of them from our boundary beats a pass (a second
#: header saying pass is the forged one, RFC 8601 section 7.2). "none" only means no policy.
_BLOCKING = frozenset({"fail", "softfail", "temperror", "permerror", "policy"})
#: Bounds on untrusted input: a real boundary writes a few headers of a few hundred characters.
_MAX_AR_HEADERS = 50
_MAX_AR_LENGTH = 8000
#: A From header longer than this is not one person's address (RFC 5322 2.1.1 limits a line to
#: 998 characters; a name and an address fit in a fraction of it).
_MAX_FROM = 500


@dataclass(frozen=True)
class SenderVerdict:
    address: str  # From addr-spec, lowercased, via header objects ("" if none/unparseable)
    domain: str  # its domain, lowercased
    verified: bool  # DMARC/compauth passed at our boundary, or internal mail, or not configured
    internal: bool
    reason: str  # one line for a person


@dataclass(frozen=True)
class AuthResult:
    """One ``method=result`` clause of an Authentication-Results header."""

    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResultsHeader:
    authserv_id: str  # "" when the header has none (Exchange Online Protection)
    results: tuple[AuthResult, ...]


# --- addresses -----------------------------------------------------------------------------------


def from_address(msg: Message) -> tuple[str, str]:
    """The single From address and its domain, lowercased; ``("", "")`` unless there is just one.

    Reads ``msg["From"]`` as an ``email.policy.default`` header object, so a display name such as
    ``"police.example <x@evil.example>"`` yields ``x@evil.example``. Several From headers, several
    addresses in one, a group, defects in the address, a header longer than 500 characters or a
    missing domain all give ``("", "")``.
    """
    raw = _raw_values(msg, "From")
    if len(raw) != 1 or len(raw[0]) > _MAX_FROM:
        return "", ""  # the header parser is quadratic on some inputs: never feed it a long one
    try:
        values = msg.get_all("From") or []
    except Exception:  # a header too broken for the parser: treat as no address
        return "", ""
    if len(values) != 1:
        return "", ""
    first = values[0]
    # A header object under policy.default; a plain string from a compat32 message, parsed here.
    header = first if isinstance(first, AddressHeader) else _parse_address_header(str(first))
    if header is None:
        return "", ""
    if _invalid(header) or any(g.display_name is not None for g in header.groups):
        return "", ""
    addresses = header.addresses
    if len(addresses) != 1:
        return "", ""
    address = addresses[0]
    username, domain = address.username, address.domain
    if not username or not domain or any(c.isspace() for c in username + domain):
        return "", ""
    domain = domain.strip().rstrip(".").lower()
    if not domain or "@" in domain or "<" in domain or ">" in domain:
        return "", ""
    return f"{username}@{domain}".lower(), domain


def _parse_address_header(value: str) -> AddressHeader | None:
    try:
        header = default.header_factory("From", value)
    except Exception:
        return None
    return header if isinstance(header, AddressHeader) else None


def _invalid(header: object) -> bool:
    # Obsolete syntax (an unquoted "." in a display name, as in "J. Smith <js@x>") is common and
    # harmless; invalid syntax means the parser had to guess, so nothing is trusted.
    return any(not isinstance(d, ObsoleteHeaderDefect) for d in getattr(header, "defects", ()))


def domain_matches(domain: str, allowed: Iterable[str]) -> bool:
    """True when ``domain`` equals an allowed domain or is a subdomain of one (case-insensitive).

    ``"*.police.uk"`` and ``".police.uk"`` are read as ``"police.uk"``. ``"evilpolice.uk"`` does not
    match ``"police.uk"``.
    """
    domain = domain.strip().rstrip(".").lower()
    if not domain:
        return False
    for entry in allowed:
        base = entry.strip().lower().removeprefix("*").lstrip(".").rstrip(".")
        if not base:
            continue
        if domain == base or domain.endswith("." + base):
            return True
    return False


# --- Authentication-Results parsing ---------------------------------------------------------------


def _tokens(value: str) -> list[str]:
    """Split an AR header value into words, ``=``, ``;`` and ``/``, dropping comments.

    Quoted strings become one word without their quotes.
    """
    out: list[str] = []
    word: list[str] = []
    depth = 0
    i = 0

    def flush() -> None:
        if word:
            out.append("".join(word))
            word.clear()

    while i < len(value):
        c = value[i]
        if depth:
            if c == "\\":
                i += 1
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
        elif c == "(":
            flush()
            depth = 1
        elif c == '"':
            flush()
            i += 1
            buf: list[str] = []
            while i < len(value) and value[i] != '"':
                if value[i] == "\\" and i + 1 < len(value):
                    i += 1
                buf.append(value[i])
                i += 1
            out.append("".join(buf))
        elif c in ";=/":
            flush()
            out.append(c)
        elif c.isspace():
            flush()
        else:
            word.append(c)
        i += 1
    flush()
    return out


def parse_authentication_results(value: str) -> AuthResultsHeader:
    """Parse one Authentication-Results header value (RFC 8601, leniently)."""
    clauses: list[list[str]] = [[]]
    for tok in _tokens(value):
        if tok == ";":
            clauses.append([])
        else:
            clauses[-1].append(tok)
    first = clauses[0]
    authserv_id = ""
    if first and (len(first) < 2 or first[1] != "="):
        authserv_id = first[0].lower()  # the optional version number after it is ignored
        clauses = clauses[1:]
    results: list[AuthResult] = []
    for clause in clauses:
        parsed = _parse_resinfo(clause)
        if parsed is not None:
            results.append(parsed)
    return AuthResultsHeader(authserv_id=authserv_id, results=tuple(results))


def _parse_resinfo(tokens: list[str]) -> AuthResult | None:
    # method [ "/" version ] "=" result *( key "=" value )
    if len(tokens) < 3:
        return None
    method = tokens[0].lower()
    i = 1
    if tokens[i] == "/" and i + 2 < len(tokens):
        i += 2
    if i + 1 >= len(tokens) or tokens[i] != "=":
        return None
    result = tokens[i + 1].lower()
    i += 2
    props: dict[str, str] = {}
    while i < len(tokens):
        if i + 2 < len(tokens) and tokens[i + 1] == "=":
            props.setdefault(tokens[i].lower(), tokens[i + 2])
            i += 3
        else:
            i += 1
    return AuthResult(method=method, result=result, props=props)


@dataclass(frozen=True)
class _Ours:
    """The Authentication-Results our boundary wrote, and how many with our id were ignored."""

    headers: list[AuthResultsHeader]
    ignored: int  # headers with our authserv-id below a foreign one: forged (RFC 8601 s. 5)


def _our_headers(msg: Message, authserv_id: str, own_headers: int = 1) -> _Ours:
    """The top ``own_headers`` AR headers with our authserv-id, if contiguous (RFC 8601 s. 5).

    Our boundary prepends its headers, so they are the topmost; everything from the first header
    that is not ours downwards was written before the message reached us and may be forged. A
    boundary that does not strip incoming headers bearing its own id leaves a sender's forged one
    right below its own, inside the top block: so only as many as the boundary writes count (one
    by default; a milter chain that writes one per check, and strips, may say more).
    """
    ours: list[AuthResultsHeader] = []
    wanted = authserv_id.strip().lower()
    eop = wanted == EOP_AUTHSERV_ID
    ignored = 0
    in_block = True
    for raw in _raw_values(msg, "Authentication-Results")[:_MAX_AR_HEADERS]:
        header = parse_authentication_results(raw[:_MAX_AR_LENGTH])
        mine = header.authserv_id == ("" if eop else wanted)
        limit = 1 if eop else max(1, own_headers)  # EOP writes one header: only the topmost
        if in_block and mine and len(ours) < limit:
            ours.append(header)
            continue
        in_block = False
        ignored += mine
    return _Ours(ours, ignored)


def _describe(result: AuthResult) -> str:
    """``dmarc=fail (header.from=x.example)`` for a triage reason: untrusted text, so only
    domain characters, at most 80 of them."""
    def shown(value: str) -> str:
        return "".join(c for c in value.lower() if c.isascii() and (c.isalnum() or c in ".-_"))[:80]

    key = "header.from" if result.method == "dmarc" else "reason"
    value = shown(result.props.get(key, ""))
    return f"{result.method}={shown(result.result)}" + (f" ({key}={value})" if value else "")


# --- the verdict ----------------------------------------------------------------------------------


def verify_sender(
    msg: Message, *, authserv_id: str | None, boundary: str = "other", own_headers: int = 1,
) -> SenderVerdict:
    """Decide whether the From address of ``msg`` was authenticated by our own boundary.

    ``authserv_id`` is the id our boundary writes into its Authentication-Results headers
    (``EOP_AUTHSERV_ID`` for Exchange Online); ``None`` means verification is not configured, and
    every sender counts as verified (the reason says so). ``boundary`` is ``"exchange"`` only when
    the partnership's boundary is Exchange, whose header firewall strips
    ``X-MS-Exchange-Organization-*`` from outside mail; anywhere else those headers may be forged
    and are never read.
    """
    address, domain = from_address(msg)
    exchange = boundary == "exchange"
    internal = exchange and _single(msg, _INTERNAL_HEADER).lower() == "internal"

    if authserv_id is None:
        return SenderVerdict(address, domain, True, internal, "sender verification not configured")
    if internal:
        return SenderVerdict(
            address, domain, True, True, f"internal mail ({_INTERNAL_HEADER}: Internal)"
        )
    if not address:
        return SenderVerdict("", "", False, False, "no single valid From address")

    where = "Exchange Online Protection" if authserv_id.lower() == EOP_AUTHSERV_ID else authserv_id
    found = _our_headers(msg, authserv_id, own_headers)
    forged = (
        f"; {found.ignored} header(s) naming {where} below another server's were ignored as forged"
        if found.ignored else ""
    )
    if not found.headers:
        return SenderVerdict(address, domain, False, False, f"no Authentication-Results from {where}{forged}")
    spam = _spam_level(msg) if exchange else None
    if spam is not None and spam >= _SCL_SPAM:
        return SenderVerdict(address, domain, False, False, f"Exchange marked it as spam (SCL {spam})")

    # compauth is Exchange Online's own verdict: read only from EOP or behind Exchange.
    from_exchange = exchange or authserv_id.strip().lower() == EOP_AUTHSERV_ID
    methods = ("dmarc", "compauth") if from_exchange else ("dmarc",)
    relevant = [r for h in found.headers for r in h.results if r.method in methods]
    described = ", ".join(_describe(r) for r in relevant)
    blocking = [r for r in relevant if r.result in _BLOCKING]
    if blocking:
        failed = ", ".join(_describe(r) for r in blocking)
        passed = [r for r in relevant if r.result == "pass"]
        beats = "; a fail at our boundary wins over the pass beside it" if passed else ""
        return SenderVerdict(address, domain, False, False, f"{failed} at {where}{beats}{forged}")
    if len({r.result for r in relevant if r.method == "dmarc"}) > 1:
        return SenderVerdict(
            address, domain, False, False,
            f"conflicting DMARC results at {where} ({described}): one of them is forged{forged}",
        )
    for r in relevant:
        header_from = r.props.get("header.from", "").strip().rstrip(".").lower()
        if r.method == "dmarc" and r.result == "pass" and header_from == domain:
            return SenderVerdict(address, domain, True, False, f"{_describe(r)} at {where}")
    for r in relevant:
        if r.method == "compauth" and r.result == "pass":
            return SenderVerdict(address, domain, True, False, f"{_describe(r)} at {where}")

    if not relevant:
        reason = f"no DMARC result at {where}"
    else:
        # passed, but for another domain than the From address
        mismatch = any(r.method == "dmarc" and r.result == "pass" for r in relevant)
        reason = f"{described} at {where}" + (
            f"; DMARC passed for another domain than {domain}" if mismatch else ""
        )
    return SenderVerdict(address, domain, False, False, reason + forged)


def _raw_values(msg: Message, name: str) -> list[str]:
    """A header's values as received, top first, without the header parser (bounded work)."""
    wanted = name.lower()
    return [str(value) for key, value in msg.raw_items() if key.lower() == wanted]


def _single(msg: Message, name: str) -> str:
    """The value of a header that must appear once; "" when it is missing or repeated."""
    values = _raw_values(msg, name)
    return values[0].strip()[:100] if len(values) == 1 else ""


def _spam_level(msg: Message) -> int | None:
    value = _single(msg, _SCL_HEADER)
    if value.lstrip("-").isdigit() and len(value) <= 3:
        return int(value)
    return None
