"""The use-case calls whose signatures are changing, in one place.

Every other module of the API calls the library's front doors
(``app.accounts``, ``app.auth``, ``app.privacy``) directly; the calls below
are those that other work changes (issue 20's siblings):

- :func:`login`: ``login`` gains a ``device_token`` keyword and its result
  a new device token (SPEC P4 amended);
- :func:`change_email`: ``change_email`` gains ``current_password``
  (SPEC F10 amended);
- :func:`verify_signup`: ``verify_signup`` gains the password chosen at
  sign-up (SPEC X5 amended);
- :func:`check_password`: erasure asks for the password again (SPEC W2);
  until the library has a use case for it, a login with the account's own
  address checks it, with the login's throttling (P4).

Adjust these bodies when those changes land; nothing else needs to move.
"""

from __future__ import annotations

import attrs

from echoppe_accounts import App, AuthenticationError, LoginResult, ValidationError


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
    """Log in; pass the client's device token on, return the new one (SPEC P4).

    TODO(issue 20, P4): pass ``device_token=device_token`` to
    ``app.auth.login`` and read ``result.device_token`` directly once the
    P4 change is merged.
    """
    del device_token  # not yet taken by the library (P4 amended)
    result = app.auth.login(email, password, client_key=client_key)
    issued = getattr(result, "device_token", None)
    if issued is not None and not isinstance(issued, str):
        issued = issued.reveal() if hasattr(issued, "reveal") else str(issued)
    return LoginOutcome(result, issued)


def check_password(
    app: App, account_id: str, password: str, *, client_key: str | None
) -> None:
    """Raise ``password.wrong_current`` at ``password`` unless it is the account's.

    Raises:
        ValidationError: The password is not the account's.
        AuthenticationError: Login throttling refused the check (SPEC P4).
        RateLimitedError: *client_key* went past its login limit.
    """
    account = app.accounts.get(account_id)
    try:
        result = app.auth.login(account.email.address, password, client_key=client_key)
    except AuthenticationError as exc:
        if exc.code != "login.failed":
            raise
        result = None
    if result is None or result.restricted or result.account_id != account_id:
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

    TODO(issue 20, F10): call
    ``app.accounts.change_email(account_id, email,
    current_password=current_password)`` once F10's amendment is merged,
    and drop the separate check.
    """
    try:
        check_password(app, account_id, current_password, client_key=client_key)
    except ValidationError:
        raise ValidationError.single(
            "current_password", "password.wrong_current"
        ) from None
    app.accounts.change_email(account_id, email)


def verify_signup(app: App, token: str, password: str) -> None:
    """Open a verified sign-up with its link and its password (SPEC X5 amended).

    TODO(issue 20, X5): pass ``password`` to ``app.accounts.verify_signup``
    once X5's amendment is merged.
    """
    del password
    app.accounts.verify_signup(token)
