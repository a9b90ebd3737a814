"""The account's email change: request, confirm, cancel, restore (SPEC F10)."""

from __future__ import annotations

from datetime import datetime

from echoppe_accounts.domain._account_state import (
    RESTORE_TTL,
    AccountState,
    StampSource,
    invalid_token,
)
from echoppe_accounts.domain.effects import LINKS_BUT_RESTORE, EndLinks
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.status import AccountStatus
from echoppe_accounts.domain.tokens import TokenPurpose


class EmailChangeSteps(AccountState):
    """How an account's email changes (a base of :class:`Account`)."""

    # -- the email change (SPEC F10) ---------------------------------------------------

    def request_email_change(self, new: Email, now: datetime) -> bool:
        """Ask to change the address to *new*; say whether a change was started.

        ``False`` when *new* is the current address. Earlier confirm links
        die, so at most one is live; the former address's link of an
        earlier confirmed change keeps its 7 days.

        Raises:
            ValidationError: ``account.erased``; ``account.not_active`` for
                an account that cannot log in (express, unverified).

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        if self.status is not AccountStatus.ACTIVE:
            raise ValidationError.single("account", "account.not_active")
        if new == self.email and new.key == self.email.key:
            return False
        self._drop_email_change(now)
        self.pending_email = new
        self.pending_email_at = now
        return True

    def confirm_email_change(self, now: datetime, stamps: StampSource) -> Email:
        """Make the proven pending address the account's; return the former one.

        Every session ends (P6) and every pending link, reset and temporary
        password dies (R8), except the former address's link, which can
        restore it until 7 days after the request (``RESTORE_TTL``).
        Of two changes within that window, the first address stays the one
        restored.

        Raises:
            ValidationError: ``token.invalid`` when no change is pending or
                the account was erased.

        .. versionadded:: 0.2.0
        """
        new, asked_at = self.pending_email, self.pending_email_at
        if self.is_erased or new is None or asked_at is None:
            raise invalid_token()
        former = self.email
        if not self.can_restore(now):
            self.former_email = former
            self.former_email_until = asked_at + RESTORE_TTL
        self.email = new
        self.pending_email = None
        self.pending_email_at = None
        self.email_proven_at = now
        self._end_sessions(stamps)
        self._effects.append(EndLinks.of(LINKS_BUT_RESTORE, resets=True))
        return former

    def cancel_or_restore_email(self, now: datetime, stamps: StampSource) -> bool:
        """Follow the former address's link; say whether the address was restored.

        Within 7 days of a confirmed change the former address comes back:
        every session ends, every link (this one included), reset and
        temporary password dies, and the password goes, so that only a
        reset sent to the restored address lets anyone in again (SPEC F10).
        Before the confirmation it cancels the pending change, and ends
        the sessions too: whoever asked for it held one.

        Raises:
            ValidationError: ``token.invalid`` when there is nothing to cancel
                or restore, or the account was erased.

        .. versionadded:: 0.2.0
        """
        if self.is_erased:
            raise invalid_token()
        former = self.former_email
        if former is not None and self.can_restore(now):
            self.email = former
            self.email_proven_at = now
            self.former_email = None
            self.former_email_until = None
            self.pending_email = None
            self.pending_email_at = None
            self.password_hash = None
            self._end_sessions(stamps)
            self._effects.append(EndLinks.of(TokenPurpose, resets=True))
            return True
        if self.pending_email is None:
            raise invalid_token()
        self._drop_email_change(now)
        self._end_sessions(stamps)
        return False

    def forget_former_email(self, now: datetime) -> None:
        """Drop the former address once its restore window closed (SPEC F10).

        .. versionadded:: 0.2.0
        """
        if not self.can_restore(now):
            self.former_email = None
            self.former_email_until = None
