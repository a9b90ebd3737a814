"""Throttling of failed logins (SPEC P4).

Failures are counted per login identifier (a digest of the canonical
email), whether or not an account has it, so throttling itself reveals
nothing about which emails have accounts. The first few failures cost
nothing; then each one doubles the wait, up to a ceiling; after one
hundred consecutive failures the identifier is blocked until a password
reset or a customer-service provisional password. A success resets all.

>>> policy = ThrottlePolicy()
>>> [policy.delay(n).total_seconds() for n in (1, 4, 5, 6, 10)]
[0.0, 0.0, 1.0, 2.0, 32.0]
>>> policy.delay(30)
datetime.timedelta(seconds=900)
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

HARD_BLOCK = 100
"""Consecutive failures after which login is blocked (NIST SP 800-63B)."""


@attrs.frozen
class ThrottlePolicy:
    """How failed logins slow further attempts down.

    .. versionadded:: 0.2.0
    """

    free_attempts: int = 4
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=15)
    hard_block: int = attrs.field(
        default=HARD_BLOCK, validator=attrs.validators.le(HARD_BLOCK)
    )

    def delay(self, failures: int) -> timedelta:
        """Return the wait imposed after *failures* consecutive failures."""
        if failures <= self.free_attempts:
            return timedelta(0)
        exponent = min(failures - self.free_attempts - 1, 32)
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

    def retry_at(self, policy: ThrottlePolicy) -> datetime | None:
        """When the next attempt may be made, or ``None`` if right away."""
        if self.last_failure_at is None:
            return None
        return self.last_failure_at + policy.delay(self.failures)

    def record_failure(self, now: datetime) -> None:
        """Count one more failure."""
        self.failures += 1
        self.last_failure_at = now

    def reset(self) -> None:
        """Forget the failures (after a success, a reset or a provisional password)."""
        self.failures = 0
        self.last_failure_at = None
