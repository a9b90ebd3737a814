"""Anonymised audience measurement, with opt-out (SPEC N1–N5).

Only essential purposes exist (:class:`Purpose`): there is no way to express
advertising, profiling or a cross-site identifier. A hit is anonymised
before anything is stored:

- no IP address by default; a shop that keeps one gets it masked, IPv4 by
  at least two bytes and IPv6 by at least 80 bits (Matomo's levels), an
  IPv4-mapped IPv6 address being masked as the IPv4 it is;
- the URL loses its query string and fragment, and any path segment that
  could carry a person (an email, a long token, a long number) becomes
  ``:id``; the referrer keeps its host only;
- the user agent is reduced to a browser family, its major version and a
  device class.

>>> mask_ip("192.168.12.34", keep=IpPolicy.MASK_2_BYTES)
'192.168.0.0'
>>> mask_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348", keep=IpPolicy.MASK_2_BYTES)
'2001:db8:85a3::'
>>> mask_ip("::ffff:192.168.12.34", keep=IpPolicy.MASK_2_BYTES)
'192.168.0.0'
>>> scrub_path("/compte/jean.dupont@exemple.fr/commandes?jeton=abc#x")
'/compte/:id/commandes'
>>> reduce_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
...                   "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
...                   "Mobile/15E148 Safari/604.1")
UserAgentClass(browser='Safari', major=17, device='mobile')
"""

from __future__ import annotations

import calendar
import enum
import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import attrs

from echoppe_accounts.domain.errors import ValidationError


class Purpose(enum.StrEnum):
    """The only purposes an analytics event may serve (SPEC N1).

    .. versionadded:: 0.1.0
    """

    AUDIENCE_MEASUREMENT = "audience_measurement"
    """Counting visits and pages seen."""
    PERFORMANCE = "performance"
    """How fast pages are."""
    TECHNICAL_OPTIMISATION = "technical_optimisation"
    """Which browsers and devices to support."""


class IpPolicy(enum.Enum):
    """What is kept of a visitor's IP address (SPEC N2).

    .. versionadded:: 0.1.0
    """

    DROP = 0
    """Keep nothing at all (the default)."""
    MASK_2_BYTES = 2
    """Keep an IPv4 /16 or an IPv6 /48, 80 bits masked (Matomo's level 2)."""
    MASK_3_BYTES = 3
    """Keep an IPv4 /8 or an IPv6 /32, 96 bits masked (Matomo's level 3)."""


_IPV6_KEPT_BITS = {IpPolicy.MASK_2_BYTES: 48, IpPolicy.MASK_3_BYTES: 32}


def mask_ip(raw: str, *, keep: IpPolicy) -> str | None:
    """Return the masked form of *raw* under *keep*, or ``None``.

    ``None`` when the policy drops addresses or *raw* is not an address.
    """
    if keep is IpPolicy.DROP:
        return None
    try:
        address = ipaddress.ip_address(raw.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        prefix = 32 - 8 * keep.value
    else:
        prefix = _IPV6_KEPT_BITS[keep]
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(network.network_address)


_EMAILISH = re.compile(r"@|%40", re.IGNORECASE)
_TOKENISH = re.compile(r"[A-Za-z0-9_\-=.%]{16,}")
_NUMBERISH = re.compile(r"\d{5,}")
PATH_LENGTH = 200
"""Longest path kept; the rest is cut."""


def _private_segment(segment: str) -> bool:
    return bool(
        _EMAILISH.search(segment)
        or _NUMBERISH.search(segment)
        or (_TOKENISH.fullmatch(segment) and any(c.isdigit() for c in segment))
    )


def scrub_path(url: str) -> str:
    """Return the path of *url* without query, fragment or personal segments."""
    try:
        path = urlsplit(url.strip()).path or "/"
    except ValueError:
        return "/"
    segments = [
        "" if not s else ":id" if _private_segment(s) else s for s in path.split("/")
    ]
    cleaned = "/".join(segments)
    if not cleaned.startswith("/"):
        cleaned = "/" + cleaned
    return quote(cleaned, safe="/:%", errors="replace")[:PATH_LENGTH]


def referrer_host(url: str) -> str | None:
    """Return only the host of a referrer, lower-case, or ``None``."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host or not re.fullmatch(r"[a-z0-9.-]{1,253}", host):
        return None
    return host


@attrs.frozen
class UserAgentClass:
    """A user agent reduced to what audience measurement needs (SPEC N2).

    .. versionadded:: 0.1.0
    """

    browser: str
    major: int | None
    device: str


_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"(?:OPR|Opera)/(\d+)")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/(\d+)")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"Version/(\d+)[\d.]* .*Safari/")),
)
_BOT = re.compile(r"bot|crawl|spider|slurp|headless", re.IGNORECASE)
_TABLET = re.compile(r"iPad|Tablet|Android(?!.*Mobile)", re.IGNORECASE)
_MOBILE = re.compile(r"Mobile|iPhone|Android", re.IGNORECASE)
_MAX_MAJOR = 999


def reduce_user_agent(user_agent: str) -> UserAgentClass:
    """Reduce *user_agent* to browser family, major version and device class."""
    ua = user_agent[:512]
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
            major = int(found.group(1))
            return UserAgentClass(
                family, major if major <= _MAX_MAJOR else None, device
            )
    return UserAgentClass("Other", None, device)


def opted_out(
    headers: Mapping[str, str], *, browser_opt_out: bool, account_opt_out: bool
) -> bool:
    """Whether the visitor refuses measurement (SPEC N3).

    ``Sec-GPC: 1`` and ``DNT: 1`` count as an opt-out, as do the opt-out
    cookie of the browser and the account's setting.

    >>> opted_out({"sec-gpc": "1"}, browser_opt_out=False, account_opt_out=False)
    True
    """
    lowered = {k.lower(): v.strip() for k, v in headers.items()}
    return (
        browser_opt_out
        or account_opt_out
        or lowered.get("sec-gpc") == "1"
        or lowered.get("dnt") == "1"
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

    .. versionadded:: 0.1.0
    """

    identifier_months: int = attrs.field(
        default=IDENTIFIER_MONTHS, validator=_at_most(IDENTIFIER_MONTHS)
    )
    event_months: int = attrs.field(
        default=EVENT_MONTHS, validator=_at_most(EVENT_MONTHS)
    )


@attrs.frozen
class VisitorId:
    """A first-party visitor identifier whose creation date travels with it.

    The cookie value is ``v1.<YYYYMMDD>.<random>``: the date is when the
    identifier was made, so it expires 13 months later whatever the visits
    (SPEC N5). It identifies a browser on this site only, never an account.

    .. versionadded:: 0.1.0
    """

    value: str
    created: datetime

    @classmethod
    def parse(cls, cookie: str) -> VisitorId:
        """Read a cookie value, or raise :class:`~echoppe_accounts.ValidationError`."""
        found = re.fullmatch(r"v1\.(\d{8})\.([A-Za-z0-9_-]{16,64})", cookie.strip())
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

    .. versionadded:: 0.1.0
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

    .. versionadded:: 0.1.0
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
