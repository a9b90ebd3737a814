"""The use-case calls whose signatures are changing, in one place (issue 20).

Shared by the Django app and the Flask blueprint.

Other work changes three front doors: ``change_email`` takes the current
password (F10 amended), ``verify_signup`` the password chosen at sign-up
(X5 amended), and ``login`` a ``device_token`` keyword, its result carrying
a new device token (P4 amended). The views call them only through here, so
adjusting the integration to the final signatures touches this module alone.
Until then each call passes the new argument only where the use case
accepts it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import attrs

from echoppe_accounts.bootstrap import App
from echoppe_accounts.domain.errors import AuthenticationError


def _accepts(function: Callable[..., object], name: str) -> bool:
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):  # pragma: no cover (our methods have one)
        return False


@attrs.frozen
class Login:
    """A successful login, as the views need it."""

    account_id: str
    session_stamp: str = attrs.field(repr=False)
    restricted: bool = False
    change_token: str | None = attrs.field(default=None, repr=False)
    device_token: str | None = attrs.field(default=None, repr=False)
    to_complete: frozenset[str] = frozenset()
    """What an account brought over from another shop misses (SPEC M1)."""


def _reveal(value: object) -> str | None:
    if value is None:
        return None
    reveal = getattr(value, "reveal", None)
    return str(reveal()) if callable(reveal) else str(value)


def login(
    app: App,
    email: str,
    password: str,
    *,
    client_key: str,
    device_token: str | None,
) -> Login:
    """Log in (SPEC P3, P4, R4), presenting the browser's device token if any.

    Raises:
        AuthenticationError: As :meth:`~echoppe_accounts.AuthService.login`.
        RateLimitedError: The client went past its limit.
    """
    kwargs: dict[str, Any] = {"client_key": client_key}
    if device_token is not None and _accepts(app.auth.login, "device_token"):
        kwargs["device_token"] = device_token
    result = app.auth.login(email, password, **kwargs)
    return Login(
        account_id=result.account_id,
        session_stamp=result.session_stamp,
        restricted=result.restricted,
        change_token=_reveal(result.change_token),
        device_token=_reveal(getattr(result, "device_token", None)),
        to_complete=frozenset(getattr(result, "to_complete", ())),
    )


def change_email(
    app: App, account_id: str, email: str, current_password: str, *, client_key: str
) -> None:
    """Ask for an email change with the current password (SPEC F10 amended).

    Raises:
        ValidationError: The address, or the current password, is refused,
            together (F8).
    """
    app.accounts.change_email(
        account_id, email, current_password, client_key=client_key
    )


def verify_signup(app: App, token: str, password: str) -> None:
    """Follow a verification link with the password of its sign-up (X5 amended).

    Raises:
        ValidationError: ``token.invalid`` (or a wrong password).
    """
    app.accounts.verify_signup(token, password)


def check_password(
    app: App, account_id: str, password: str, *, client_key: str
) -> bool:
    """Tell whether *password* is the customer's, before an erasure (SPEC W2).

    Counted by the login throttle like a login attempt (SPEC P4); a
    throttled or blocked account answers ``False`` as a wrong password.

    Raises:
        RateLimitedError: *client_key* went past its login limit.
    """
    try:
        return app.auth.check_password(account_id, password, client_key=client_key)
    except AuthenticationError:
        return False
