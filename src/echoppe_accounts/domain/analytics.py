"""Anonymised audience measurement, with opt-out (SPEC N1–N5).

Only essential purposes exist (:class:`Purpose`): there is no way to express
advertising, profiling or a cross-site identifier. A hit is anonymised
before anything is stored:

- no IP address by default; a shop that keeps one gets it masked, IPv4 by
  at least two bytes and IPv6 by at least 80 bits (Matomo's levels); an
  IPv6 address that carries an IPv4 one (IPv4-mapped, IPv4-compatible or
  translated, 6to4, Teredo, NAT64) is masked as the IPv4 it carries;
- the URL loses its query string and fragment; each path segment is
  decoded (percent-encoding, repeatedly; HTML character references;
  Unicode compatibility forms such as the full-width ``＠``), loses its
  matrix parameters (``;id=…``), and becomes ``:id`` when it could carry a
  person: an email, a phone number however it is spaced, a UUID, a long
  number or a long token; the referrer keeps its host only, and not even
  that when the host is an IP address or holds an identifier;
- the user agent is reduced to a browser family, its major version and a
  device class.

Size comes before work (SPEC F9): a URL, referrer, user agent or IP longer
than its cap is cut (or, for an IP, dropped) before it is looked at, and a
lone surrogate is dropped, so garbage of any size never raises.

>>> mask_ip("192.168.12.34", keep=IpPolicy.MASK_2_BYTES)
'192.168.0.0'
>>> mask_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348", keep=IpPolicy.MASK_2_BYTES)
'2001:db8:85a3::'
>>> mask_ip("::ffff:192.168.12.34", keep=IpPolicy.MASK_2_BYTES)
'192.168.0.0'
>>> mask_ip("2002:cb00:714d::1", keep=IpPolicy.MASK_2_BYTES)  # 6to4
'203.0.0.0'
>>> scrub_path("/compte/jean.dupont@exemple.fr/commandes?jeton=abc#x")
'/compte/:id/commandes'
>>> scrub_path("/compte/jean%2540exemple.fr/rappel/06.12.34.56.78")
'/compte/:id/rappel/:id'
>>> scrub_path("/commande;id=3f2b1c4d-0a1b-4c2d-8e3f-a0b1c2d3e4f5/suivi")
'/commande/suivi'
>>> referrer_host("https://jean@exemple.fr@www.google.com/search?q=jean")
'www.google.com'
>>> reduce_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
...                   "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
...                   "Mobile/15E148 Safari/604.1")
UserAgentClass(browser='Safari', major=17, device='mobile')
"""

from __future__ import annotations

import calendar
import enum
import html
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urlsplit

import attrs

from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.limits import embedded_ipv4
from echoppe_accounts.domain.text import is_valid_unicode


class Purpose(enum.StrEnum):
    """The only purposes an analytics event may serve (SPEC N1).

    .. versionadded:: 0.2.0
    """

    AUDIENCE_MEASUREMENT = "audience_measurement"
    """Counting visits and pages seen."""
    PERFORMANCE = "performance"
    """How fast pages are."""
    TECHNICAL_OPTIMISATION = "technical_optimisation"
    """Which browsers and devices to support."""


class IpPolicy(enum.Enum):
    """What is kept of a visitor's IP address (SPEC N2).

    .. versionadded:: 0.2.0
    """

    DROP = 0
    """Keep nothing at all (the default)."""
    MASK_2_BYTES = 2
    """Keep an IPv4 /16 or an IPv6 /48, 80 bits masked (Matomo's level 2)."""
    MASK_3_BYTES = 3
    """Keep an IPv4 /8 or an IPv6 /32, 96 bits masked (Matomo's level 3)."""


MAX_IP_LENGTH = 100
"""Longest IP address text looked at; a longer one is dropped unread (SPEC F9).

The longest IPv6 text is 45 characters; the rest leaves room for a zone
(``%eth0``) and surrounding white space.
"""
MAX_URL_LENGTH = 8192
"""Longest URL or referrer looked at; the rest is cut before any work (SPEC F9)."""
MAX_USER_AGENT_LENGTH = 512
"""Longest user agent looked at; the rest is cut before any work (SPEC F9)."""

_SURROGATES = re.compile("[\ud800-\udfff]")


def _readable(text: str) -> str:
    """Return *text* without lone surrogates, which no encoder accepts (F9)."""
    return text if is_valid_unicode(text) else _SURROGATES.sub("", text)


_IPV6_KEPT_BITS = {IpPolicy.MASK_2_BYTES: 48, IpPolicy.MASK_3_BYTES: 32}


def mask_ip(raw: str, *, keep: IpPolicy) -> str | None:
    """Return the masked form of *raw* under *keep*, or ``None``.

    ``None`` when the policy drops addresses, or *raw* is not an address
    or is longer than :data:`MAX_IP_LENGTH`. An IPv6 address carrying an
    IPv4 one (see :func:`embedded_ipv4`) is masked as that IPv4 address.
    """
    if keep is IpPolicy.DROP or len(raw) > MAX_IP_LENGTH:
        return None
    try:
        address = ipaddress.ip_address(raw.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        carried = embedded_ipv4(address)
        if carried is not None:
            address = carried
    if isinstance(address, ipaddress.IPv4Address):
        prefix = 32 - 8 * keep.value
    else:
        prefix = _IPV6_KEPT_BITS[keep]
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(network.network_address)


PATH_LENGTH = 200
"""Longest path kept; the rest is cut."""
PRIVATE_SEGMENT = ":id"
"""What a path segment that could carry a person becomes."""
_DECODE_ROUNDS = 8
_PERCENT_U = re.compile(r"%u([0-9A-Fa-f]{4})")
# An "@" once folded, or one written out: "jean(at)exemple.fr", "[at]".
_EMAILISH = re.compile(r"@|[\[({<]\s*at\s*[\])}>]", re.IGNORECASE)
_NUMBERISH = re.compile(r"\d{5,}")
# Eight digits or more, each apart from the next by at most three
# non-alphanumeric characters: "06.12.34.56.78", "+33 (0)6 12 34 56 78".
_PHONEISH = re.compile(r"\d(?:[\W_]{0,3}\d){7,}")
_UUIDISH = re.compile(
    r"[0-9a-f]{8}(?:[\W_]?[0-9a-f]{4}){3}[\W_]?[0-9a-f]{12}", re.IGNORECASE
)
_HEXISH = re.compile(r"[0-9a-f]{16,}", re.IGNORECASE)
_TOKENISH = re.compile(r"[A-Za-z0-9_\-=.~+%]{16,}")
_LOWER_UPPER = re.compile(r"(?=[a-z][A-Z])")
_UPPER_UPPER = re.compile(r"(?=[A-Z]{2})")
_LONE_LOWER = re.compile(r"(?<=[A-Z])[a-z](?=[A-Z])")
_SEGMENT_SAFE = ":!$&'()*+,="
_PARTIAL_ESCAPE = re.compile(r"%[0-9A-Fa-f]?$")


def _unicode_escape(found: re.Match[str]) -> str:
    char = chr(int(found.group(1), 16))
    return char if is_valid_unicode(char) else "\ufffd"


def _fold(text: str) -> str | None:
    """Return *text* decoded until stable, or ``None`` if it never settles.

    Each round undoes one layer of percent-encoding (``%40``, and IIS's
    ``%u0040``), HTML character references (``&#64;``) and Unicode
    compatibility forms (NFKC: the full-width ``＠``, full-width digits).
    """
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(_PERCENT_U.sub(_unicode_escape, text), errors="replace")
        decoded = unicodedata.normalize("NFKC", html.unescape(decoded))
        if decoded == text:
            return text
        text = decoded
    return None


def _looks_random(run: str) -> bool:
    """Tell whether a run of token characters looks machine-made.

    A digit gives it away; so does mixed case that camel-cased words do not
    have: capitals side by side or one lower-case letter between two, more
    than once (``mQpXzRtK``, not ``ChaussuresDeSki``).
    """
    if any(c.isdigit() for c in run):
        return True
    steps_up = len(_LOWER_UPPER.findall(run))
    odd_case = len(_UPPER_UPPER.findall(run)) + len(_LONE_LOWER.findall(run))
    return steps_up >= 2 and odd_case >= 2  # noqa: PLR2004


def _identifying(text: str) -> bool:
    """Tell whether decoded *text* could carry a person or an identifier."""
    return bool(
        _EMAILISH.search(text)
        or _NUMBERISH.search(text)
        or _PHONEISH.search(text)
        or _UUIDISH.search(text)
        or _HEXISH.search(text)
        or any(_looks_random(m.group()) for m in _TOKENISH.finditer(text))
    )


def _scrub_segment(segment: str) -> str:
    if not segment:
        return ""
    folded = _fold(segment)
    if folded is None:
        return PRIVATE_SEGMENT
    # Matrix parameters (";id=…", ";jsessionid=…") are dropped, name and value.
    head = folded.split(";", 1)[0]
    if _identifying(head):
        return PRIVATE_SEGMENT
    return quote(head, safe=_SEGMENT_SAFE)


def scrub_path(url: str) -> str:
    """Return the path of *url* without query, fragment or personal segments.

    Each segment is decoded first (see the module's documentation), loses
    its matrix parameters, and becomes :data:`PRIVATE_SEGMENT` when it
    holds an email, a phone number, a UUID, a long number or a long token.
    A URL longer than :data:`MAX_URL_LENGTH` is cut first, and the segment
    the cut falls in is treated as private; the result is at most
    :data:`PATH_LENGTH` characters of ASCII.
    """
    cut = len(url) > MAX_URL_LENGTH
    text = url[:MAX_URL_LENGTH]
    cut_in_path = cut and "?" not in text and "#" not in text
    try:
        path = urlsplit(_readable(text).strip()).path
    except ValueError:
        return "/"
    segments = path.split("/")
    scrubbed: list[str] = []
    length = 0
    for index, segment in enumerate(segments):
        if length > PATH_LENGTH:
            break
        last = index == len(segments) - 1
        clean = PRIVATE_SEGMENT if cut_in_path and last else _scrub_segment(segment)
        scrubbed.append(clean)
        length += len(clean) + 1
    cleaned = "/".join(scrubbed)
    if not cleaned.startswith("/"):
        cleaned = "/" + cleaned
    return _PARTIAL_ESCAPE.sub("", cleaned[:PATH_LENGTH])


_HOST = re.compile(r"[a-z0-9.-]{1,253}")


def referrer_host(url: str) -> str | None:
    """Return only the host of a referrer, lower-case, or ``None``.

    The user name and password a URL may carry (``jean@exemple.fr@host``)
    are never part of the host. ``None`` for a host that is an IP address
    or holds an identifier (a phone number, a long number, a token), and
    for a referrer longer than :data:`MAX_URL_LENGTH`.
    """
    if len(url) > MAX_URL_LENGTH:
        return None
    try:
        host = urlsplit(_readable(url).strip()).hostname
    except ValueError:
        return None
    if not host or not _HOST.fullmatch(host):
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    if _PHONEISH.search(host) or any(_identifying(label) for label in host.split(".")):
        return None
    return host


@attrs.frozen
class UserAgentClass:
    """A user agent reduced to what audience measurement needs (SPEC N2).

    .. versionadded:: 0.2.0
    """

    browser: str
    major: int | None
    device: str


_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/([0-9]+)")),
    ("Opera", re.compile(r"(?:OPR|Opera)/([0-9]+)")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/([0-9]+)")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/([0-9]+)")),
    ("Chrome", re.compile(r"(?:Chrome|CriOS)/([0-9]+)")),
    ("Safari", re.compile(r"Version/([0-9]+)[0-9.]* .*Safari/")),
)
_BOT = re.compile(r"bot|crawl|spider|slurp|headless", re.IGNORECASE)
_TABLET = re.compile(r"iPad|Tablet|Android(?!.*Mobile)", re.IGNORECASE)
_MOBILE = re.compile(r"Mobile|iPhone|Android", re.IGNORECASE)
_MAX_MAJOR = 999


def reduce_user_agent(user_agent: str) -> UserAgentClass:
    """Reduce *user_agent* to browser family, major version and device class.

    Only the first :data:`MAX_USER_AGENT_LENGTH` characters are looked at.
    """
    ua = user_agent[:MAX_USER_AGENT_LENGTH]
    if _BOT.search(ua):
        return UserAgentClass("Bot", None, "bot")
    device = (
        "tablet"
        if _TABLET.search(ua)
        else "mobile"
        if _MOBILE.search(ua)
        else "desktop"
    )
    for family, pattern in _BROWSERS:
        found = pattern.search(ua)
        if found:
            major = int(found.group(1))  # at most 512 digits: int() copes
            return UserAgentClass(
                family, major if major <= _MAX_MAJOR else None, device
            )
    return UserAgentClass("Other", None, device)


_OPT_OUT_HEADERS = frozenset({"sec-gpc", "dnt"})
_HEADER_LENGTH = 32


def opted_out(
    headers: Mapping[str, str], *, browser_opt_out: bool, account_opt_out: bool
) -> bool:
    """Whether the visitor refuses measurement (SPEC N3).

    ``Sec-GPC: 1`` and ``DNT: 1`` count as an opt-out, as do the opt-out
    cookie of the browser and the account's setting. Header names and
    values longer than a few characters cannot be these and are not read.

    >>> opted_out({"sec-gpc": "1"}, browser_opt_out=False, account_opt_out=False)
    True
    """
    return (
        browser_opt_out
        or account_opt_out
        or any(
            len(name) <= _HEADER_LENGTH
            and len(value) <= _HEADER_LENGTH
            and name.strip().lower() in _OPT_OUT_HEADERS
            and value.strip() == "1"
            for name, value in headers.items()
        )
    )


def add_months(moment: datetime, months: int) -> datetime:
    """Return *moment* plus *months* calendar months (clamped to the month's end)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


IDENTIFIER_MONTHS = 13
"""Most months a visitor identifier lives, from its creation (SPEC N5)."""
EVENT_MONTHS = 25
"""Most months a raw event is kept (SPEC N5)."""


def _at_most(limit: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(_: object, attribute: attrs.Attribute[int], value: int) -> None:
        if not 1 <= value <= limit:
            msg = f"{attribute.name} must be between 1 and {limit} months (CNIL)"
            raise ValueError(msg)

    return check


@attrs.frozen
class RetentionPolicy:
    """How long identifiers and events live; shorter is allowed, longer is not.

    >>> RetentionPolicy(identifier_months=6).identifier_months
    6
    >>> RetentionPolicy(event_months=36)
    Traceback (most recent call last):
    ...
    ValueError: event_months must be between 1 and 25 months (CNIL)

    .. versionadded:: 0.2.0
    """

    identifier_months: int = attrs.field(
        default=IDENTIFIER_MONTHS, validator=_at_most(IDENTIFIER_MONTHS)
    )
    event_months: int = attrs.field(
        default=EVENT_MONTHS, validator=_at_most(EVENT_MONTHS)
    )


_VISITOR_COOKIE = re.compile(r"v1\.([0-9]{8})\.([A-Za-z0-9_-]{16,64})")
_COOKIE_LENGTH = 128


@attrs.frozen
class VisitorId:
    """A first-party visitor identifier whose creation date travels with it.

    The cookie value is ``v1.<YYYYMMDD>.<random>``: the date is when the
    identifier was made, so it expires 13 months later whatever the visits
    (SPEC N5). It identifies a browser on this site only, never an account.

    .. versionadded:: 0.2.0
    """

    value: str
    created: datetime

    @classmethod
    def parse(cls, cookie: str) -> VisitorId:
        """Read a cookie value, or raise :class:`~echoppe_accounts.ValidationError`.

        A value longer than 128 characters is refused unread (SPEC F9), and
        the date must be written in ASCII digits.
        """
        if len(cookie) > _COOKIE_LENGTH:
            raise ValidationError.single("visitor_id", "analytics.visitor_invalid")
        found = _VISITOR_COOKIE.fullmatch(cookie.strip())
        if found is None:
            raise ValidationError.single("visitor_id", "analytics.visitor_invalid")
        try:
            created = datetime.strptime(found.group(1), "%Y%m%d").replace(tzinfo=UTC)
        except ValueError:
            raise ValidationError.single(
                "visitor_id", "analytics.visitor_invalid"
            ) from None
        return cls(cookie.strip(), created)

    def expires(self, policy: RetentionPolicy) -> datetime:
        """When this identifier stops being valid."""
        return add_months(self.created, policy.identifier_months)


@attrs.frozen
class Hit:
    """What a shop knows of one page view, raw; nothing of it is stored as is.

    .. versionadded:: 0.2.0
    """

    url: str
    user_agent: str = ""
    ip: str = ""
    referrer: str = ""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    visitor_cookie: str = ""
    browser_opt_out: bool = False


@attrs.frozen
class AnalyticsEvent:
    """An anonymised event, as stored (SPEC N2).

    .. versionadded:: 0.2.0
    """

    id: str
    at: datetime
    purpose: Purpose
    path: str
    referrer_host: str | None
    browser: str
    browser_major: int | None
    device: str
    visitor_id: str | None = None
    ip: str | None = None
    duration_ms: int | None = None


SESSION_WINDOW = timedelta(minutes=30)
"""Inactivity after which a new browser session starts (Matomo's default, N4)."""


def reminder_due(
    last_activity: datetime | None, now: datetime, window: timedelta = SESSION_WINDOW
) -> bool:
    """Whether the transparency notice is due at *now* (SPEC N4).

    It is due when a new browser session starts: at the first visit, and
    after *window* of inactivity. The shop keeps *last_activity* in the
    session (a cookie) and updates it on every page.

    >>> from datetime import UTC
    >>> t = datetime(2026, 1, 1, 9, tzinfo=UTC)
    >>> reminder_due(None, t), reminder_due(t, t + timedelta(minutes=29))
    (True, False)
    >>> reminder_due(t, t + timedelta(minutes=30))
    True
    """
    return last_activity is None or now - last_activity >= window
