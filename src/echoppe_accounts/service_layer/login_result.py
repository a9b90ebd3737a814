"""What a successful login returns (SPEC P4, P6, R4)."""

from __future__ import annotations

import attrs

from echoppe_accounts.domain.completion import NOTHING_MISSING, Missing
from echoppe_accounts.domain.tokens import Secret


@attrs.frozen
class LoginResult:
    """A successful login.

    A *restricted* login comes from a temporary or provisional password: its
    only use is :meth:`AuthService.set_new_password` with
    :attr:`change_token` (SPEC R4). The shop keeps that token in its session
    and offers nothing but the new-password form.

    Attributes:
        account_id: The account logged in.
        restricted: Whether a new password must be set before anything else.
        change_token: With a restricted login, the single-use token that
            sets the new password.
        session_stamp: The account's session stamp (SPEC P6): keep it in the
            session and check it with :meth:`AuthService.is_session_current`
            on each request; once the password, the email or the status
            changes, it no longer matches and the session must end.
        device_token: After a full login, a new device token for this
            client and account (SPEC P4): keep it in a signed, HttpOnly
            cookie and pass it to the next :meth:`AuthService.login`, so
            that this client keeps its own budget of failures while the
            account is attacked. It replaces the one presented.
        to_complete: What the account still misses (SPEC M1), empty for a
            complete account: an account brought over from another shop
            logs in, and the shop shows the completion form
            (:meth:`AccountService.complete_account`) before anything else.

            .. versionadded:: 0.2.0

    .. versionadded:: 0.2.0
    """

    account_id: str
    restricted: bool = False
    change_token: Secret | None = None
    session_stamp: str = attrs.field(default="", repr=False)
    device_token: Secret | None = None
    to_complete: frozenset[Missing] = NOTHING_MISSING
