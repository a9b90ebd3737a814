"""The account's password steps: changes, the reset's effects, provisional ones.

SPEC P6, R3, R7, R8: each step ends the sessions and the links itself.
"""

from __future__ import annotations

from datetime import datetime

from echoppe_accounts.domain._account_state import AccountState, StampSource
from echoppe_accounts.domain.effects import (
    LINKS_BUT_RESTORE,
    EndLinks,
    ForgetFailures,
)
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.status import AccountStatus
from echoppe_accounts.domain.throttle import password_check_key


class PasswordSteps(AccountState):
    """How an account's password changes (a base of :class:`Account`)."""

    # -- passwords and the reset's effects ---------------------------------------------

    def _set_password(self, now: datetime, stamps: StampSource, hash_: str) -> None:
        self.password_hash = hash_
        self.status = AccountStatus.ACTIVE
        # A set-password or reset link reached this mailbox.
        self._prove_mailbox(now)
        self._drop_email_change(now)
        self._end_sessions(stamps)
        self._effects.append(
            ForgetFailures(self.email.login_key, password_check_key(self.id))
        )
        self._effects.append(EndLinks.of(LINKS_BUT_RESTORE, resets=True))

    def change_password(
        self, now: datetime, stamps: StampSource, password_hash: str
    ) -> None:
        """Take a new password: sessions, links and temporary passwords end (P6, R8).

        Used by a logged-in change, a reset's completion and an express
        completion alike; the mailbox counts as proven (a link reached it,
        or its owner knew the password). A pending email change dies with
        its link; the former address's link keeps its 7 days (SPEC F10).

        Raises:
            ValidationError: ``account.erased`` (SPEC G3).

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        self._set_password(now, stamps, password_hash)

    def upgrade_hash(self, password_hash: str) -> None:
        """Replace an outdated hash of the same password (SPEC P1); no session ends.

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        self.password_hash = password_hash

    def issue_temporary_password(self, now: datetime, stamps: StampSource) -> None:
        """Take the effects of a confirmed reset (SPEC R3, P6).

        The mail 1 link reached the stored mailbox: the mailbox is proven,
        earlier failures are forgotten, every session ends, and a pending
        email change dies with its confirm link (SPEC F10): a link in a
        thief's mailbox cannot outlive the owner's reset.

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        self._prove_mailbox(now)
        self._drop_email_change(now)
        self._end_sessions(stamps)
        self._effects.append(
            ForgetFailures(self.email.login_key, password_check_key(self.id))
        )

    def issue_provisional_password(self, now: datetime, stamps: StampSource) -> None:
        """Take the effects of customer service's provisional password (SPEC R7).

        Every session, pending link, reset request, temporary password and
        pending email change ends; failed logins are forgotten.

        Raises:
            ValidationError: ``account.erased``; ``account.disabled``: a
                disabled account is enabled first (SPEC M2);
                ``account.unverified``: a sign-up whose mailbox is not
                proven opens only by its link (SPEC X5), or whoever signed
                up with somebody else's address could have customer
                service open it.

        .. versionadded:: 0.2.0
        """
        self._guard_enabled()
        if self.status is AccountStatus.UNVERIFIED:
            # Its mailbox is not proven: only its link opens it (SPEC X5).
            raise ValidationError.single("account", "account.unverified")
        self._drop_email_change(now)
        self._end_sessions(stamps)
        self._effects.append(
            ForgetFailures(self.email.login_key, password_check_key(self.id))
        )
        self._effects.append(EndLinks.of(LINKS_BUT_RESTORE, resets=True))
