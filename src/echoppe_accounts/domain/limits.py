"""Per-client limits: how often one client may try an action (issue 10).

The shop passes a *client key* with the requests it forwards, an IP address
or a session id of its choosing: the library never reads request data
itself (SPEC R9). Each action (login, reset request, sign-up, express
checkout) counts its calls per key in a fixed window, in the library's own
storage, so the limit holds across processes and machines. Keys are stored
only as digests.

A key is counted in its canonical form (SPEC P4): an IP address however it
is written, an IPv6 address by its /64 network (what one subscriber line
gets), anything else as the opaque text it is.

>>> limits = ClientLimits()
>>> limits.login.count, limits.login.window
(100, datetime.timedelta(seconds=600))
>>> canonical_client_key(" ::FFFF:203.0.113.7 ")
'ip4:203.0.113.7'
>>> canonical_client_key("2001:DB8:0:7:0:0:0:1")
'ip6:2001:db8:0:7::/64'
>>> canonical_client_key("2001:db8:0:7:ffff::2")
'ip6:2001:db8:0:7::/64'
>>> canonical_client_key("2001:db8:0:8::1")
'ip6:2001:db8:0:8::/64'
>>> canonical_client_key("session-42")
'key:session-42'
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
from datetime import timedelta

import attrs

# The last 32 bits are an IPv4 address in these blocks. NAT64's local-use
# block 64:ff9b:1::/48 (RFC 8215) is not among them: where its IPv4 sits
# depends on the operator's prefix length, and a /48 mask already keeps
# none of it (RFC 6052 never puts IPv4 bits before bit 48 there).
_LAST_32_BITS_ARE_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix, RFC 6052
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated, RFC 2765
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible, RFC 4291 (deprecated)
)
_NOT_IPV4_COMPATIBLE = (
    ipaddress.IPv6Address("::"),
    ipaddress.IPv6Address("::1"),
)
_IPV4_BITS = 0xFFFFFFFF


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address *address* carries, or ``None``.

    Recognised: IPv4-mapped (``::ffff:a.b.c.d``), 6to4 (``2002::/16``),
    Teredo (``2001::/32``, the client's address), NAT64 with the well-known
    prefix (``64:ff9b::/96``), IPv4-translated (``::ffff:0:a.b.c.d``) and
    the deprecated IPv4-compatible form (``::a.b.c.d``, but not ``::`` or
    ``::1``).

    >>> embedded_ipv4(ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2"))
    IPv4Address('192.0.2.45')
    >>> embedded_ipv4(ipaddress.IPv6Address("2001:db8::1")) is None
    True

    .. versionadded:: 0.2.0
    """
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address not in _NOT_IPV4_COMPATIBLE and any(
        address in block for block in _LAST_32_BITS_ARE_IPV4
    ):
        return ipaddress.IPv4Address(int(address) & _IPV4_BITS)
    return None


class ClientAction(enum.StrEnum):
    """The actions limited per client key.

    .. versionadded:: 0.2.0
    """

    LOGIN = "login"
    RESET = "reset"
    SIGNUP = "signup"
    EXPRESS = "express"
    EMAIL_CHANGE = "email_change"
    """Asking to change an account's email (SPEC F10).

    .. versionadded:: 0.2.0
    """


@attrs.frozen
class Limit:
    """At most *count* calls per *window* and client key.

    Attributes:
        count: How many calls one client key may make in a window.
        window: How long a window lasts, from the first call counted in it.

    .. versionadded:: 0.2.0
    """

    count: int = attrs.field(validator=attrs.validators.ge(1))
    window: timedelta


@attrs.frozen
class ClientLimits:
    """The limits per client key; generous defaults, for shared IP addresses.

    An office or a mobile network puts many customers behind one address:
    the defaults stop scripts, not people. ``None`` switches an action's
    limit off.

    .. versionadded:: 0.2.0
    """

    login: Limit | None = Limit(100, timedelta(minutes=10))
    reset: Limit | None = Limit(20, timedelta(hours=1))
    signup: Limit | None = Limit(20, timedelta(hours=1))
    express: Limit | None = Limit(60, timedelta(hours=1))
    email_change: Limit | None = Limit(10, timedelta(hours=1))
    """Email change requests (SPEC F10), beside the per-account daily limit.

    .. versionadded:: 0.2.0
    """

    def for_action(self, action: ClientAction) -> Limit | None:
        """Return the limit of *action*."""
        limit: Limit | None = getattr(self, action.value)
        return limit


MAX_CLIENT_KEY_LENGTH = 256
"""Longest client key looked at; a longer one is cut before it is hashed."""


IPV6_CLIENT_PREFIX = 64
"""IPv6 addresses in one network of this prefix length are one client."""


def _ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if text.startswith("[") and text.endswith("]"):  # a URL's IPv6 literal
        text = text[1:-1]
    text = text.partition("%")[0]  # an IPv6 zone names an interface, not a client
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def canonical_client_key(client_key: str) -> str:
    """Return the one form of *client_key* that every spelling of it shares.

    IP addresses are compared canonically (SPEC P4): white space around
    them, the case of hexadecimal digits, IPv4-mapped IPv6 forms
    (``::ffff:203.0.113.7``, ``::ffff:cb00:7107``) and long or compressed
    IPv6 forms do not make another client. An IPv6 address that carries
    an IPv4 one (mapped, translated, compatible, 6to4, Teredo, NAT64's
    well-known prefix) is that IPv4 address, as analytics masks it; other
    IPv6 addresses are grouped by their /64 network, the block one
    subscriber is given. A key that is not an IP address (a session id) is
    taken as the opaque text it is, white space around it aside; it cannot
    escape the limits that hold whatever the key (the account's cap on
    failed logins). IPv4 written with leading zeros or fewer than four
    parts is ambiguous (octal?) and is therefore opaque text too.

    .. versionadded:: 0.2.0
    """
    text = client_key[:MAX_CLIENT_KEY_LENGTH].strip()
    address = _ip_address(text)
    if isinstance(address, ipaddress.IPv6Address):
        carried = embedded_ipv4(address)
        if carried is not None:
            return f"ip4:{carried}"
        network = ipaddress.IPv6Network(
            (
                int(address) >> IPV6_CLIENT_PREFIX << IPV6_CLIENT_PREFIX,
                IPV6_CLIENT_PREFIX,
            )
        )
        return f"ip6:{network}"
    if address is not None:
        return f"ip4:{address}"
    return f"key:{text}"


def client_counter_key(action: ClientAction, client_key: str) -> str:
    """Return the storage key counting *action* for *client_key* (a digest).

    Every spelling of one client gives the same key
    (:func:`canonical_client_key`).

    .. versionadded:: 0.2.0
    """
    raw = canonical_client_key(client_key).encode("utf-8", "surrogatepass")
    return hashlib.sha256(b"client:" + action.value.encode() + b":" + raw).hexdigest()
