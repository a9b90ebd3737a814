"""Single-use, expiring, purpose-bound tokens, stored only as digests.

A token is 256 bits from the secret source, given to the customer once (in a
link) and stored only as the SHA-256 digest of ``purpose:token``, so a
database leak yields no usable link and a token of one purpose can never be
accepted for another. It dies when used, when it expires, and when it is
revoked (superseded, password or email changed).

>>> from datetime import UTC, datetime, timedelta
>>> now = datetime(2026, 1, 1, tzinfo=UTC)
>>> secret = Secret("abc")
>>> secret
Secret('********')
>>> record = TokenRecord.issue(secret, TokenPurpose.SET_PASSWORD, "acc-1",
...                            now=now, ttl=timedelta(hours=1))
>>> record.digest == digest(secret, TokenPurpose.SET_PASSWORD)
True
>>> record.is_usable(now + timedelta(minutes=59))
True
>>> record.is_usable(now + timedelta(hours=1))
False
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime, timedelta

import attrs

from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.text import is_valid_unicode

TOKEN_BYTES = 32
"""Random bytes in a token (256 bits, above the 128 bits of SPEC R2)."""


class TokenPurpose(enum.StrEnum):
    """What a token may be used for; a token is accepted for its purpose only.

    .. versionadded:: 0.2.0
    """

    SET_PASSWORD = "set_password"  # noqa: S105 (a purpose, not a password)
    """Complete an express account by choosing a password (SPEC X2)."""
    RESET_CONFIRM = "reset_confirm"
    """Confirm a password-reset request (SPEC R2)."""
    RESET_CANCEL = "reset_cancel"
    """Cancel a password-reset request ("this was not me", SPEC R2)."""
    PASSWORD_CHANGE = "password_change"  # noqa: S105 (a purpose, not a password)
    """The restricted session after a temporary password, to set a new one (SPEC R4)."""
    NEWSLETTER_CONFIRM = "newsletter_confirm"
    """Confirm a double opt-in newsletter subscription (SPEC F7)."""
    EMAIL_CHANGE_CONFIRM = "email_change_confirm"
    """Prove the new mailbox of an email change (SPEC F10).

    .. versionadded:: 0.2.0
    """
    EMAIL_CHANGE_CANCEL = "email_change_cancel"
    """Cancel an email change from the former mailbox (SPEC F10).

    .. versionadded:: 0.2.0
    """
    SIGNUP_VERIFY = "signup_verify"
    """Prove the mailbox of a verified sign-up (SPEC X5).

    .. versionadded:: 0.2.0
    """
    DEVICE = "device"
    """A client that logged in to the account keeps its own login budget (SPEC P4).

    Not a link: login gives it to the client, which presents it at its next
    login (:attr:`~echoppe_accounts.LoginResult.device_token`).

    .. versionadded:: 0.2.0
    """


@attrs.frozen(repr=False)
class Secret:
    """A secret string (token, temporary password) that never shows itself.

    Its ``repr`` and ``str`` are masked so that it cannot leak through a log
    line, a traceback or an exception message (SPEC R9); call
    :meth:`reveal` where the value itself is needed.

    .. versionadded:: 0.2.0
    """

    _value: str

    def reveal(self) -> str:
        """Return the secret value itself."""
        return self._value

    def __repr__(self) -> str:
        """Return a masked representation."""
        return "Secret('********')"

    __str__ = __repr__


MAX_TOKEN_LENGTH = 256
"""Longest text looked at as a token; the library's own are 43 characters."""


def digest(token: Secret | str, purpose: TokenPurpose) -> str:
    """Return the stored form of *token* for *purpose* (hex SHA-256).

    Raises:
        ValidationError: ``token.invalid`` for text that cannot be a token
            (too long or not valid Unicode), before any work (SPEC F9).
    """
    raw = token.reveal() if isinstance(token, Secret) else token
    if len(raw) > MAX_TOKEN_LENGTH or not is_valid_unicode(raw):
        raise ValidationError.single("token", "token.invalid")
    return hashlib.sha256(f"{purpose.value}:{raw}".encode()).hexdigest()


@attrs.frozen
class TokenRecord:
    """What is stored of a token: its digest and its life.

    .. versionadded:: 0.2.0
    """

    digest: str = attrs.field(repr=False)
    account_id: str
    purpose: TokenPurpose
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    request_id: str | None = None
    """Groups tokens issued together (a reset request's confirm and cancel)."""

    @classmethod
    def issue(
        cls,
        token: Secret,
        purpose: TokenPurpose,
        account_id: str,
        *,
        now: datetime,
        ttl: timedelta,
        request_id: str | None = None,
    ) -> TokenRecord:
        """Return the record of a freshly issued *token*."""
        return cls(
            digest(token, purpose),
            account_id,
            purpose,
            now,
            now + ttl,
            request_id=request_id,
        )

    def is_usable(self, now: datetime) -> bool:
        """Whether the token may still be used at *now*."""
        return (
            self.used_at is None and self.revoked_at is None and now < self.expires_at
        )
