"""The use-case calls whose signatures are changing, in one place.

Every other module of the API calls the library's front doors
(``app.accounts``, ``app.auth``, ``app.privacy``) directly; the calls below
are those that sibling work of issue 20 changes:

- :func:`login`: ``login`` gains a ``device_token`` keyword and its result
  a new device token (SPEC P4 amended);
- :func:`change_email`: ``change_email`` gains ``current_password``
  (SPEC F10 amended);
- :func:`verify_signup`: ``verify_signup`` gains the password chosen at
  sign-up (SPEC X5 amended);
- :func:`check_password`: erasure asks for the password again (SPEC W2),
  through :meth:`~echoppe_accounts.AuthService.check_password`, counted
  like a login (P4).

Each passes the new argument when the library's signature takes it, so the
API works before and after those changes are merged; once they are, the
lead may drop the fallbacks (the TODOs say how).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import attrs

from echoppe_accounts import (
    App,
    LoginResult,
    ValidationError,
)


def _accepts(call: Callable[..., Any], name: str) -> bool:
    return name in inspect.signature(call).parameters


@attrs.frozen
class LoginOutcome:
    """A login and the device token to hand the client, if the library issued one."""

    result: LoginResult
    device_token: str | None = attrs.field(default=None, repr=False)


def login(
    app: App,
    email: str,
    password: str,
    *,
    client_key: str | None,
    device_token: str | None,
) -> LoginOutcome:
    """Log in, presenting the client's device token; return the new one (SPEC P4).

    TODO(issue 20, P4 merged): ``result = app.auth.login(email, password,
    client_key=client_key, device_token=device_token)`` and
    ``result.device_token.reveal() if result.device_token else None``.
    """
    call: Callable[..., LoginResult] = app.auth.login
    if _accepts(call, "device_token"):
        result = call(email, password, client_key=client_key, device_token=device_token)
    else:
        result = call(email, password, client_key=client_key)
    issued = getattr(result, "device_token", None)
    return LoginOutcome(result, None if issued is None else issued.reveal())


def check_password(
    app: App, account_id: str, password: str, *, client_key: str | None
) -> None:
    """Raise ``password.wrong_current`` at ``password`` unless it is the account's.

    Raises:
        ValidationError: The password is not the account's.
        AuthenticationError: Login throttling refused the check (SPEC P4).
        RateLimitedError: *client_key* went past its login limit.
    """
    if not app.auth.check_password(account_id, password, client_key=client_key):
        raise ValidationError.single("password", "password.wrong_current")


def change_email(
    app: App,
    account_id: str,
    email: str,
    current_password: str,
    *,
    client_key: str | None,
) -> None:
    """Ask for an email change, with the current password (SPEC F10 amended).

    The new address's problems and a wrong password come together (F8).
    """
    app.accounts.change_email(
        account_id, email, current_password, client_key=client_key
    )


def verify_signup(app: App, token: str, password: str) -> None:
    """Open a verified sign-up with its link and its password (SPEC X5 amended)."""
    app.accounts.verify_signup(token, password)
