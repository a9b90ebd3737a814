"""The two-step password reset and its temporary passwords (SPEC R1–R8).

A :class:`ResetRequest` is the state machine of one reset::

    requested ──confirm──▶ confirmed ──complete──▶ completed
        │                      │
        ├─cancel─▶ cancelled   ├─▶ expired
        ├─▶ expired            └─▶ superseded
        └─▶ superseded

Any other transition raises :class:`IllegalTransitionError`. Expiry is
read from the clock: a request past its deadline *is* expired, whether or
not that was written down yet. A customer-service provisional password
(SPEC R7) is a request issued directly in the ``confirmed`` state.

Temporary passwords are sixteen characters from an alphabet without look-
alikes (no 0/O, 1/I/L), shown in four groups: ``K7QM-4XPR-9TBW-HC3D``.
People may type them in lower case, with or without the dashes.

>>> canonical_temporary("k7qm 4xpr-9tbw-hc3d")
'K7QM4XPR9TBWHC3D'
>>> canonical_temporary("not a temporary one") is None
True
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import attrs

from echoppe_accounts.domain.errors import EchoppeError

TEMPORARY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""Characters of temporary passwords: no 0/O, no 1/I/L (SPEC R3)."""
TEMPORARY_LENGTH = 16
"""Characters in a temporary password: about 79 bits of entropy."""
LINK_TTL = timedelta(hours=1)
"""Lifetime of the links of mail 1 (SPEC R2)."""
TEMPORARY_TTL = timedelta(hours=24)
"""Lifetime of the temporary password of mail 2 (SPEC R3)."""
PROVISIONAL_TTL = timedelta(hours=1)
"""Lifetime of a customer-service provisional password (SPEC R7)."""
COOLDOWN = timedelta(minutes=4)
"""No new mail for the same email within this delay (SPEC R6)."""

_TEMPORARY = re.compile(f"[{TEMPORARY_ALPHABET}]{{{TEMPORARY_LENGTH}}}")


_TEMPORARY_MAX_INPUT = 64  # room for any spacing of 16 characters


def canonical_temporary(text: str) -> str | None:
    """Return *text* as a temporary password would be hashed, or ``None``.

    ``None`` means *text* cannot be a temporary password, so login checks it
    against the account's own password instead: one hash check per attempt.
    """
    if len(text) > _TEMPORARY_MAX_INPUT:  # size before work (SPEC F9)
        return None
    compact = re.sub(r"[\s-]", "", text).upper()
    return compact if _TEMPORARY.fullmatch(compact) else None


def generate_temporary(randbelow: Callable[[int], int]) -> str:
    """Return a new canonical temporary password drawn with *randbelow* (a CSPRNG)."""
    size = len(TEMPORARY_ALPHABET)
    return "".join(TEMPORARY_ALPHABET[randbelow(size)] for _ in range(TEMPORARY_LENGTH))


def format_temporary(canonical: str) -> str:
    """Return a canonical temporary password in groups of four, for reading."""
    return "-".join(canonical[i : i + 4] for i in range(0, len(canonical), 4))


class ResetState(enum.StrEnum):
    """The states of a reset request (SPEC R5).

    .. versionadded:: 0.2.0
    """

    REQUESTED = "requested"
    """Mail 1 sent; waiting for the customer to confirm."""
    CONFIRMED = "confirmed"
    """Temporary password issued; waiting for the new password."""
    COMPLETED = "completed"
    """A new password was set."""
    CANCELLED = "cancelled"
    """The customer said "this was not me"."""
    EXPIRED = "expired"
    """The link or the temporary password outlived its lifetime."""
    SUPERSEDED = "superseded"
    """A newer request, a provisional password or a password change replaced it."""


ACTIVE_STATES = frozenset({ResetState.REQUESTED, ResetState.CONFIRMED})
"""States in which a request still holds something usable."""

_ALLOWED: Mapping[ResetState, frozenset[ResetState]] = {
    ResetState.REQUESTED: frozenset(
        {ResetState.CONFIRMED, ResetState.CANCELLED, ResetState.EXPIRED,
         ResetState.SUPERSEDED}
    ),
    ResetState.CONFIRMED: frozenset(
        {ResetState.COMPLETED, ResetState.EXPIRED, ResetState.SUPERSEDED}
    ),
}  # fmt: skip


class ResetOrigin(enum.StrEnum):
    """Who started a reset.

    .. versionadded:: 0.2.0
    """

    CUSTOMER = "customer"
    """The customer, through "J'ai oublié mon mot de passe"."""
    CUSTOMER_SERVICE = "customer_service"
    """An agent, issuing a provisional password (SPEC R7)."""


class IllegalTransitionError(EchoppeError):
    """A reset request was asked to move where SPEC R5 does not allow.

    .. versionadded:: 0.2.0
    """

    def __init__(self, current: ResetState, target: ResetState) -> None:
        """Name the refused move."""
        super().__init__(f"a reset request cannot go from {current} to {target}")
        self.current = current
        self.target = target


@attrs.define(eq=False)
class ResetRequest:
    """One password reset, from the request to the new password.

    The links' tokens and the temporary password are stored only as
    digests (``repr`` hides them). ``requester_key`` is a digest of the
    canonical email typed, so the cooldown works for unknown emails too
    without keeping their addresses.

    .. versionadded:: 0.2.0
    """

    id: str
    requester_key: str
    account_id: str | None
    requested_at: datetime
    link_expires_at: datetime
    origin: ResetOrigin = ResetOrigin.CUSTOMER
    state: ResetState = ResetState.REQUESTED
    confirm_digest: str | None = attrs.field(default=None, repr=False)
    cancel_digest: str | None = attrs.field(default=None, repr=False)
    temporary_hash: str | None = attrs.field(default=None, repr=False)
    temporary_expires_at: datetime | None = None
    temporary_used_at: datetime | None = None
    closed_at: datetime | None = None
    version: int = 0

    def __eq__(self, other: object) -> bool:
        """Compare by id."""
        return isinstance(other, ResetRequest) and other.id == self.id

    def __hash__(self) -> int:
        """Hash by id."""
        return hash(self.id)

    def current_state(self, now: datetime) -> ResetState:
        """Return the state at *now*, expiry included."""
        if self.state is ResetState.REQUESTED and now >= self.link_expires_at:
            return ResetState.EXPIRED
        if (
            self.state is ResetState.CONFIRMED
            and self.temporary_expires_at is not None
            and now >= self.temporary_expires_at
        ):
            return ResetState.EXPIRED
        return self.state

    def is_active(self, now: datetime) -> bool:
        """Whether the request still holds a usable link or temporary password."""
        return self.current_state(now) in ACTIVE_STATES

    def temporary_usable(self, now: datetime) -> bool:
        """Whether its temporary password may be used to log in at *now*."""
        return (
            self.current_state(now) is ResetState.CONFIRMED
            and self.temporary_hash is not None
            and self.temporary_used_at is None
        )

    def _move(self, target: ResetState, now: datetime) -> None:
        current = self.current_state(now)
        if current is not self.state:  # expiry happened: write it down first
            self.state = current
            self.closed_at = now
        if target not in _ALLOWED.get(self.state, frozenset()):
            raise IllegalTransitionError(self.state, target)
        self.state = target
        if target not in ACTIVE_STATES:
            self.closed_at = now

    def confirm(self, now: datetime, temporary_hash: str, ttl: timedelta) -> None:
        """Record the confirmation and the temporary password issued (SPEC R3)."""
        self._move(ResetState.CONFIRMED, now)
        self.temporary_hash = temporary_hash
        self.temporary_expires_at = now + ttl

    def cancel(self, now: datetime) -> None:
        """The customer said "this was not me" (SPEC R2)."""
        self._move(ResetState.CANCELLED, now)

    def complete(self, now: datetime) -> None:
        """A new password was set (SPEC R4)."""
        self._move(ResetState.COMPLETED, now)

    def supersede(self, now: datetime) -> None:
        """Something newer replaces this request (SPEC R6, R7, R8)."""
        self._move(ResetState.SUPERSEDED, now)

    def use_temporary(self, now: datetime) -> None:
        """Mark the temporary password used: it is single-use (SPEC R3)."""
        if not self.temporary_usable(now):
            raise IllegalTransitionError(self.current_state(now), ResetState.CONFIRMED)
        self.temporary_used_at = now


IllegalTransitionError.__module__ = "echoppe_accounts"  # where users catch it
