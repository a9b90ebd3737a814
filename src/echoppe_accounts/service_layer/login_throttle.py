"""A login's failure counts and device tokens, read and written (SPEC P4).

The rules live in :mod:`echoppe_accounts.domain.throttle` and
:mod:`echoppe_accounts.domain.device`; these functions load what a login
attempt answers to from storage, save what changed, and issue the device
token of a successful login. Locks are taken in one order, the account's
count before the client's, so concurrent logins never wait on each other
in opposite orders.
"""

from __future__ import annotations

from datetime import datetime

from echoppe_accounts.domain.account import Credentials
from echoppe_accounts.domain.device import (
    device_digest,
    device_failure_key,
    is_device_of,
    issue_device_token,
)
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.throttle import (
    LoginBudget,
    LoginThrottle,
    ThrottlePolicy,
    client_failure_key,
    password_check_key,
)
from echoppe_accounts.domain.tokens import TOKEN_BYTES, Secret, TokenPurpose
from echoppe_accounts.ports import SecretSource, TokenRepository, UnitOfWork

DEVICE_PURPOSES = (TokenPurpose.DEVICE,)
"""The purposes of device tokens (SPEC P4)."""


def load_budget(
    uow: UnitOfWork,
    policy: ThrottlePolicy,
    email: Email,
    account: Credentials | None,
    *,
    client_key: str | None,
    device_token: str | None,
    now: datetime,
    account_count: LoginThrottle | None = None,
) -> LoginBudget:
    """Return the failure counts a login attempt on *email* answers to, locked.

    A valid device token of *account* gives the token's own count; any
    other token counts as none. Otherwise the account's count (by the
    email's digest, whether or not an account has it) and, with a
    *client_key*, that client's count on it. *account_count* is that
    count when the caller has read (and so locked) it already.
    """
    if device_token is not None:
        # Looked up whether or not the email has an account: the same
        # storage work either way (SPEC P3).
        token_digest = device_digest(device_token)
        record = uow.tokens.find(token_digest) if token_digest else None
        owner = account.account_id if account is not None else ""
        if token_digest is not None and is_device_of(record, owner, now):
            count = uow.throttles.get(device_failure_key(token_digest))
            return LoginBudget.for_device(policy, count)
    if account_count is None:
        account_count = uow.throttles.get(email.login_key)
    client_count = None
    if client_key is not None:
        stamp = account.session_stamp if account is not None else ""
        client_count = uow.throttles.get(
            client_failure_key(email.key, stamp, client_key)
        )
    return LoginBudget.for_clients(policy, account_count, client_count)


def refuse_password_check(
    uow: UnitOfWork,
    policy: ThrottlePolicy,
    account_id: str,
    now: datetime,
    *,
    path: str = "current_password",
) -> LoginBudget:
    """Return the budget of an account's password checks; refuse if spent (P4).

    The checks outside a login (the current password of a password change,
    the password a sign-up link asks for) are guesses at the account's
    password too: counted on one count of their own
    (``domain.throttle.password_check_key``), apart from the login's, so
    that an attack on the logins does not stop the owner.

    Raises:
        ValidationError: ``login.throttled`` (with ``seconds``) or
            ``login.blocked`` at *path*.
    """
    count = uow.throttles.get(password_check_key(account_id))
    budget = LoginBudget.for_clients(policy, count)
    refusal = budget.refusal(policy, now)
    if refusal is None:
        return budget
    if refusal.blocked or refusal.retry_at is None:
        raise ValidationError.single(path, "login.blocked")
    seconds = int((refusal.retry_at - now).total_seconds() + 0.999)
    raise ValidationError.single(path, "login.throttled", seconds=seconds)


def record_failure(uow: UnitOfWork, budget: LoginBudget, now: datetime) -> None:
    """Count a failed attempt on every count of *budget*."""
    for count in budget.record_failure(now):
        uow.throttles.save(count)


def record_success(uow: UnitOfWork, budget: LoginBudget) -> None:
    """Forget the failures of the counts *budget* answered to."""
    for count in budget.succeed():
        uow.throttles.save(count)


PURGE_ONE_IN = 16
"""A login that used up no device token purges the dead ones one time in this many.

Decided by the new token's digest (uniform), so no more randomness is
drawn: an account's used, revoked and expired device tokens go within a
few logins, and most logins skip the purge's read of every device token
of the account (SPEC P4).
"""

_PURGE_BELOW = 256 // PURGE_ONE_IN
"""The digests whose first byte is below this purge: one in :data:`PURGE_ONE_IN`."""


def issue_device(
    uow: UnitOfWork,
    secrets: SecretSource,
    policy: ThrottlePolicy,
    account_id: str,
    budget: LoginBudget,
    *,
    presented: str | None,
    now: datetime,
) -> Secret:
    """Issue the device token of a successful login of *account_id*; return it.

    The valid device token the client *presented* (its *budget* says so)
    is used up, with its failure count: each login gives a new one. The
    account's device tokens of no more use (used, revoked, expired) are
    deleted so that they do not pile up: whenever this login used one up,
    and otherwise one login in :data:`PURGE_ONE_IN`. A dead token is
    refused whether or not its row is still there.
    """
    old = device_digest(presented) if budget.device and presented else None
    if old is not None:
        uow.tokens.consume(old, TokenPurpose.DEVICE, now)
        uow.throttles.delete(device_failure_key(old))
    token = Secret(secrets.token_urlsafe(TOKEN_BYTES))
    record = issue_device_token(token, account_id, now=now, ttl=policy.device_token_ttl)
    if old is not None or int(record.digest[:2], 16) < _PURGE_BELOW:
        uow.tokens.purge(account_id, DEVICE_PURPOSES, now)
    uow.tokens.add(record)
    return token


def revoke_device_tokens(
    tokens: TokenRepository, account_id: str, now: datetime
) -> int:
    """Revoke every device token of *account_id*; return how many.

    For a change that must end every device's standing (the password,
    the email or the status changed); erasure deletes them with the
    account's other tokens.

    .. versionadded:: 0.2.0
    """
    return tokens.revoke(account_id, DEVICE_PURPOSES, now)
