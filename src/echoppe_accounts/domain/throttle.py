"""Throttling of failed logins (SPEC P4).

Failures are counted per login identifier (a digest of the canonical
email), whether or not an account has it, so throttling itself reveals
nothing about which emails have accounts. The first few failures cost
nothing; then each one doubles the wait, up to a ceiling; after one
hundred consecutive failures the identifier is blocked until a password
reset or a customer-service provisional password. A success resets all.

That count is the account's: it holds whatever client keys the attempts
carry. Client keys only decide who is slowed first: each client key (in
its canonical form, see
:func:`~echoppe_accounts.domain.limits.canonical_client_key`) also has a
count of its own on the account, with fewer free failures than the
account's, so the client making the failures waits before anyone else
does. A client that presents a valid device token of the account
(:mod:`echoppe_accounts.domain.device`) answers to that token's own count
only, so the owner still logs in while the account is attacked.

>>> policy = ThrottlePolicy()
>>> [policy.delay(n).total_seconds() for n in (1, 4, 5, 6, 10)]
[0.0, 0.0, 1.0, 2.0, 32.0]
>>> policy.delay(30)
datetime.timedelta(seconds=900)
>>> policy.delay(10, free_attempts=policy.account_free_attempts)
datetime.timedelta(0)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from echoppe_accounts.domain.device import DEVICE_TOKEN_TTL
from echoppe_accounts.domain.limits import canonical_client_key

HARD_BLOCK = 100
"""Consecutive failures after which login is blocked (NIST SP 800-63B)."""


@attrs.frozen
class ThrottlePolicy:
    """How failed logins slow further attempts down.

    Attributes:
        free_attempts: Failures of one client (one client key, or every
            client when the shop passes none) before it waits.
        base_delay: The first wait; each further failure doubles it.
        max_delay: The longest wait.
        hard_block: Consecutive failures that block the login until a
            reset or a provisional password (at most 100).
        account_free_attempts: Failures of one account, whatever the
            client keys, before every client without a device token waits
            (when the shop passes client keys).
        device_token_ttl: How long a device token issued at login stays
            valid.

    .. versionadded:: 0.2.0
    """

    free_attempts: int = 4
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=15)
    hard_block: int = attrs.field(
        default=HARD_BLOCK, validator=attrs.validators.le(HARD_BLOCK)
    )
    account_free_attempts: int = attrs.field(
        default=10, validator=attrs.validators.ge(0)
    )
    device_token_ttl: timedelta = DEVICE_TOKEN_TTL

    def delay(self, failures: int, *, free_attempts: int | None = None) -> timedelta:
        """Return the wait imposed after *failures* consecutive failures.

        *free_attempts* replaces :attr:`free_attempts` (the account's
        count uses :attr:`account_free_attempts`).
        """
        free = self.free_attempts if free_attempts is None else free_attempts
        if failures <= free:
            return timedelta(0)
        exponent = min(failures - free - 1, 32)
        return min(self.base_delay * (1 << exponent), self.max_delay)


@attrs.define
class LoginThrottle:
    """The failure count of one login identifier.

    .. versionadded:: 0.2.0
    """

    key: str
    failures: int = 0
    last_failure_at: datetime | None = None

    def blocked(self, policy: ThrottlePolicy) -> bool:
        """Whether the identifier is blocked until a reset (SPEC P4)."""
        return self.failures >= policy.hard_block

    def retry_at(
        self, policy: ThrottlePolicy, *, free_attempts: int | None = None
    ) -> datetime | None:
        """When the next attempt may be made, or ``None`` if right away."""
        if self.last_failure_at is None:
            return None
        return self.last_failure_at + policy.delay(
            self.failures, free_attempts=free_attempts
        )

    def record_failure(self, now: datetime) -> None:
        """Count one more failure."""
        self.failures += 1
        self.last_failure_at = now

    def reset(self) -> None:
        """Forget the failures (after a success, a reset or a provisional password)."""
        self.failures = 0
        self.last_failure_at = None


def password_check_key(account_id: str) -> str:
    """Return the key a session's wrong current passwords are counted under (P4).

    A password change asks for the current password: a guess at it, which
    a stolen session could otherwise repeat without limit. Those guesses
    have a count of their own, apart from the login's: an attacker
    blocking the account's logins does not stop its owner, logged in, from
    changing the password, and a session's guesses meet the same cap as
    logins do.

    .. versionadded:: 0.2.0
    """
    return hashlib.sha256(f"password-check:{account_id}".encode()).hexdigest()


def client_failure_key(email_key: str, session_stamp: str, client_key: str) -> str:
    """Return the key one client's failed logins on one email are counted under.

    A digest of the canonical email, the account's session stamp (a reset
    or a provisional password changes it, so every client's count starts
    afresh) and the canonical client key (every spelling of one address,
    every address of one IPv6 /64, is one client).

    .. versionadded:: 0.2.0
    """
    client = canonical_client_key(client_key)
    raw = f"login:{email_key}|{session_stamp}|{client}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@attrs.frozen
class Refusal:
    """Why a login attempt is refused before any password is checked.

    Attributes:
        blocked: The hard block is reached (``login.blocked``).
        retry_at: Otherwise, when the next attempt may be made
            (``login.throttled``).

    .. versionadded:: 0.2.0
    """

    blocked: bool
    retry_at: datetime | None = None


@attrs.frozen
class Allowance:
    """One failure count a login attempt answers to, and its free failures.

    .. versionadded:: 0.2.0
    """

    count: LoginThrottle
    free_attempts: int


@attrs.frozen
class LoginBudget:
    """The failure counts one login attempt answers to (SPEC P4).

    Build it with :meth:`for_clients` or :meth:`for_device`; check it with
    :meth:`refusal` before the password, then :meth:`record_failure` or
    :meth:`succeed`.

    .. versionadded:: 0.2.0
    """

    allowances: tuple[Allowance, ...]
    device: bool = False
    """Whether the attempt presented a valid device token of the account."""

    @classmethod
    def for_clients(
        cls,
        policy: ThrottlePolicy,
        account: LoginThrottle,
        client: LoginThrottle | None = None,
    ) -> LoginBudget:
        """Return the budget of an attempt without a device token.

        The *account*'s count holds whatever the client key; with a
        *client* count, that client waits after fewer failures than
        everyone else. Without one, the account's count is the client's.
        """
        if client is None:
            return cls((Allowance(account, policy.free_attempts),))
        return cls(
            (
                Allowance(account, policy.account_free_attempts),
                Allowance(client, policy.free_attempts),
            )
        )

    @classmethod
    def for_device(cls, policy: ThrottlePolicy, device: LoginThrottle) -> LoginBudget:
        """Return the budget of an attempt with a valid device token: its own."""
        return cls((Allowance(device, policy.free_attempts),), device=True)

    def refusal(self, policy: ThrottlePolicy, now: datetime) -> Refusal | None:
        """Return why an attempt at *now* is refused, or ``None`` to let it in."""
        if any(a.count.blocked(policy) for a in self.allowances):
            return Refusal(blocked=True)
        waits = [
            at
            for a in self.allowances
            if (at := a.count.retry_at(policy, free_attempts=a.free_attempts))
            is not None
            and now < at
        ]
        return Refusal(blocked=False, retry_at=max(waits)) if waits else None

    def record_failure(self, now: datetime) -> Sequence[LoginThrottle]:
        """Count a failure on every count; return them, to be saved."""
        for allowance in self.allowances:
            allowance.count.record_failure(now)
        return [a.count for a in self.allowances]

    def succeed(self) -> Sequence[LoginThrottle]:
        """Forget the failures after a success; return the counts that changed.

        Only the counts this attempt answered to: a login with a device
        token leaves the account's count as the other clients left it, or
        an attacker's budget would start afresh at each of the owner's
        logins.
        """
        changed = [
            a.count
            for a in self.allowances
            if a.count.failures or a.count.last_failure_at is not None
        ]
        for count in changed:
            count.reset()
        return changed
