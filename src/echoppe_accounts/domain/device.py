"""Device tokens: a client that logged in keeps its own login budget (SPEC P4).

OWASP's "Slow down online guessing attacks with device cookies": a
successful login gives the client a device token for that account. Failed
logins are otherwise counted per account, whatever client keys they carry,
so guesses spread over many addresses still meet the account's cap; but
then the owner would meet it too. A client that presents a valid device
token of the account answers to its own failure count instead, so the
owner still logs in while the account is attacked.

A device token is 256 bits from the secret source, stored only as the
SHA-256 digest of ``device:token`` (a :class:`~echoppe_accounts.TokenRecord`
of purpose :attr:`~echoppe_accounts.TokenPurpose.DEVICE`), bound to its
account and expiring. It dies when the password or the email changes,
with a reset or a provisional password (like every pending token, SPEC
R8), when the account is erased, and when it is used: each login with it
gives the client a new one. A token that is unknown, expired, revoked, of
another account or not even text a token could be counts as none.

>>> from datetime import UTC, datetime
>>> from echoppe_accounts.domain.tokens import Secret
>>> now = datetime(2026, 1, 1, tzinfo=UTC)
>>> record = issue_device_token(Secret("abc"), "acc-1", now=now)
>>> record.purpose.value, record.expires_at - record.created_at
('device', datetime.timedelta(days=90))
>>> is_device_of(record, "acc-1", now), is_device_of(record, "acc-2", now)
(True, False)
>>> device_digest("x" * 1000) is None
True
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.tokens import Secret, TokenPurpose, TokenRecord, digest

DEVICE_TOKEN_TTL = timedelta(days=90)
"""How long a device token stays valid after the login that gave it.

A customer who comes back within three months keeps the budget of a
known device; a shop keeps the cookie that holds it as long.
"""


def issue_device_token(
    token: Secret,
    account_id: str,
    *,
    now: datetime,
    ttl: timedelta = DEVICE_TOKEN_TTL,
) -> TokenRecord:
    """Return the stored record of a new device *token* for *account_id*.

    .. versionadded:: 0.2.0
    """
    return TokenRecord.issue(token, TokenPurpose.DEVICE, account_id, now=now, ttl=ttl)


def device_digest(token: str) -> str | None:
    """Return the digest a device *token* is stored under, or ``None``.

    ``None`` for text no token could be (too long, not valid Unicode),
    before any work (SPEC F9).

    .. versionadded:: 0.2.0
    """
    try:
        return digest(token, TokenPurpose.DEVICE)
    except ValidationError:
        return None


def is_device_of(record: TokenRecord | None, account_id: str, now: datetime) -> bool:
    """Tell whether *record* is a usable device token of *account_id* at *now*.

    .. versionadded:: 0.2.0
    """
    return (
        record is not None
        and record.purpose is TokenPurpose.DEVICE
        and record.account_id == account_id
        and record.is_usable(now)
    )


def device_failure_key(token_digest: str) -> str:
    """Return the key the failed logins of one device token are counted under.

    .. versionadded:: 0.2.0
    """
    return hashlib.sha256(f"device:{token_digest}".encode()).hexdigest()
