"""What a shop configures for the JSON API: keys, cookies, lifetimes, proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import timedelta

import attrs

_MIN_SECRET = 32


def _check_secret(_: object, __: object, value: bytes) -> None:
    if len(value) < _MIN_SECRET:
        msg = "secret_key must be at least 32 random bytes (secrets.token_bytes(32))"
        raise ValueError(msg)


def _networks(
    value: str | Iterable[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    items = [value] if isinstance(value, str) else list(value)
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


@attrs.frozen
class ApiSettings:
    """The JSON API's own settings (the library's: :class:`~echoppe_accounts.Settings`).

    Attributes:
        secret_key: At least 32 random bytes that seal the session, bearer,
            CSRF and device tokens (AES-256-GCM, keys derived per purpose).
            Keep it in the shop's secret store; changing it ends every
            session. Never shown in ``repr``.
        session_max_age: How long a login lasts at most; the session also
            ends as soon as the account's session stamp changes (SPEC P6).
        device_max_age: How long the device token of SPEC P4 is kept by a
            browser.
        secure_cookies: Send cookies with ``Secure`` (HTTPS only). Leave it
            on outside tests on ``http://localhost``.
        same_site: ``"lax"`` (the default) or ``"strict"``.
        cookie_path: The path of every cookie the API sets.
        session_cookie: The name of the session cookie (HttpOnly).
        csrf_cookie: The name of the CSRF cookie of anonymous browsers.
        device_cookie: The name of the device-token cookie (HttpOnly).
        csrf_header: The header carrying the CSRF token on state changes.
        trusted_proxies: Addresses or networks of the reverse proxies in
            front of the application. Only when the connection comes from
            one of them is :attr:`client_ip_header` read (SPEC W3).
        client_ip_header: The header a trusted proxy sets to the client's
            address (``X-Forwarded-For``, ``X-Real-IP``). Of a list, the
            right-most address that is not a trusted proxy is the client.
        max_body_bytes: Largest request body accepted (413 past it), checked
            before the body is read (SPEC F9).
        wording_version: The version of the newsletter consent wording the
            front end shows, recorded with each subscription (SPEC F7).

    .. versionadded:: 0.2.0
    """

    secret_key: bytes = attrs.field(
        repr=False, validator=[attrs.validators.instance_of(bytes), _check_secret]
    )
    session_max_age: timedelta = timedelta(days=14)
    device_max_age: timedelta = timedelta(days=365)
    secure_cookies: bool = True
    same_site: str = attrs.field(
        default="lax", validator=attrs.validators.in_(("lax", "strict"))
    )
    cookie_path: str = "/"
    session_cookie: str = "echoppe_session"
    csrf_cookie: str = "echoppe_csrf"
    device_cookie: str = "echoppe_device"
    csrf_header: str = "X-CSRF-Token"
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
        attrs.field(default=(), converter=_networks)
    )
    client_ip_header: str | None = None
    max_body_bytes: int = 256 * 1024
    wording_version: str = "v1"
