"""What every part of the account aggregate shares: its state and its guards.

Private: :class:`~echoppe_accounts.Account` is the aggregate; its steps
live in a few modules by feature (``_passwords``, ``_email_change``,
``_consent``), each a base class of it, so that each stays readable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from echoppe_accounts.domain.consent import ConsentRecord, PendingSubscription
from echoppe_accounts.domain.effects import Effect, EndLinks
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.status import AccountStatus
from echoppe_accounts.domain.tokens import TokenPurpose

RESTORE_TTL = timedelta(days=7)
"""How long the former address's link works after an email change (SPEC F10).

Counted from the request: before the confirmation the link cancels the
change, after it the link restores the former address.
"""

StampSource = Callable[[], str]
"""Draws a new session stamp (SPEC P6); the service layer's secret source."""


def invalid_token() -> ValidationError:
    """Return the error of a link that leads nowhere any more."""
    return ValidationError.single("token", "token.invalid")


class AccountState:
    """The account's state the steps read and write, and the guards they share."""

    id: str
    email: Email
    status: AccountStatus
    password_hash: str | None
    email_proven_at: datetime | None
    session_stamp: str
    pending_email: Email | None
    pending_email_at: datetime | None
    former_email: Email | None
    former_email_until: datetime | None
    newsletter: list[ConsentRecord]
    pending_subscription: PendingSubscription | None
    _effects: list[Effect]

    @property
    def is_erased(self) -> bool:
        """Whether the account was erased (SPEC G3)."""
        return self.status is AccountStatus.ERASED

    # -- the one place where sessions end ----------------------------------------------

    def _end_sessions(self, stamps: StampSource) -> None:
        """Give the account a new session stamp: every session ends (SPEC P6)."""
        self.session_stamp = stamps()

    def _guard_live(self) -> None:
        if self.is_erased:
            raise ValidationError.single("account", "account.erased")

    def _guard_enabled(self) -> None:
        self._guard_live()
        if self.status is AccountStatus.DISABLED:
            raise ValidationError.single("account", "account.disabled")

    def _prove_mailbox(self, now: datetime) -> None:
        self.email_proven_at = self.email_proven_at or now

    def can_restore(self, now: datetime) -> bool:
        """Whether the former address's link would restore it now (SPEC F10).

        .. versionadded:: 0.2.0
        """
        until = self.former_email_until
        return self.former_email is not None and until is not None and now < until

    def _drop_email_change(self, now: datetime) -> None:
        """Forget a pending change and kill its confirm link (SPEC F10, R8).

        The former address's link survives while it can still restore.
        """
        self.pending_email = None
        self.pending_email_at = None
        purposes = {TokenPurpose.EMAIL_CHANGE_CONFIRM}
        if not self.can_restore(now):
            purposes.add(TokenPurpose.EMAIL_CHANGE_CANCEL)
        self._effects.append(EndLinks.of(purposes))
