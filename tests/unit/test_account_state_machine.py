"""The account's life as a state machine: every order of operations keeps its rules.

SPEC F10, P6, R8, G3, F7 (issue 18). The links the service layer would
issue after each step are modelled beside the account; the effects the
account records (links ended, everything forgotten) are applied to them,
as :func:`echoppe_accounts.service_layer._ports.save` does.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from echoppe_accounts import (
    Account,
    AccountStatus,
    AddressBook,
    Category,
    ConsentSource,
    DeliveryAddress,
    Email,
    PostalAddress,
    ValidationError,
)
from echoppe_accounts.domain.effects import EndLinks, ForgetEverything
from echoppe_accounts.domain.tokens import TokenPurpose

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARIS = PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
ADDRESSES = [Email.parse(f"adresse{n}@exemple.fr") for n in range(3)]
CONFIRM = TokenPurpose.EMAIL_CHANGE_CONFIRM
CANCEL = TokenPurpose.EMAIL_CHANGE_CANCEL
CONFIRM_TTL = timedelta(hours=24)  # Settings.email_change_ttl's default


class AccountLife(RuleBasedStateMachine):
    """Random sequences of the account's transitions, with their links."""

    def __init__(self) -> None:
        """Start from an open account with a proven mailbox."""
        super().__init__()
        self.now = START
        stamps = itertools.count()
        self.stamps = lambda: f"stamp-{next(stamps)}"
        self.account = Account(
            id="acc-1",
            email=Email.parse("jean.dupont@exemple.fr"),
            name="Jean Dupont",
            category=Category.INDIVIDUAL,
            addresses=AddressBook(PARIS, [DeliveryAddress("d1", "Jean", PARIS)]),
            created_at=START,
            password_hash="hash-0",
            email_proven_at=START,
            session_stamp=self.stamps(),
        )
        self.live: Counter[TokenPurpose] = Counter()

    # -- the service layer's part, modelled --------------------------------------

    def _saved(self) -> None:
        for effect in self.account.collect_effects():
            if isinstance(effect, EndLinks):
                for purpose in effect.purposes:
                    self.live[purpose] = 0
            elif isinstance(effect, ForgetEverything):
                self.live.clear()

    def _must_end_sessions(self, step) -> None:
        before = self.account.session_stamp
        step()
        assert self.account.session_stamp != before  # P6
        self._saved()

    # -- rules --------------------------------------------------------------------

    @rule(hours=st.integers(1, 24 * 9))
    def time_passes(self, hours: int) -> None:
        """Hours go by: links and windows expire on their own."""
        self.now += timedelta(hours=hours)
        asked = self.account.pending_email_at
        if asked is not None and self.now - asked >= CONFIRM_TTL:
            self.live[CONFIRM] = 0  # the confirm link expired
        self.account.forget_former_email(self.now)
        if not self.account.can_restore(self.now):
            self.live[CANCEL] = 0

    @precondition(lambda self: not self.account.is_erased)
    @rule(new=st.sampled_from(ADDRESSES))
    def request_change(self, new: Email) -> None:
        """F10: a request kills the earlier confirm link, then issues its own."""
        if self.account.request_email_change(new, self.now):
            self._saved()
            self.live[CONFIRM] += 1
            self.live[CANCEL] += 1

    @precondition(lambda self: not self.account.is_erased and self.live[CONFIRM])
    @rule()
    def confirm_change(self) -> None:
        """F10, P6, R8: confirming ends sessions and links, keeps the restore link."""
        self.live[CONFIRM] -= 1
        self._must_end_sessions(
            lambda: self.account.confirm_email_change(self.now, self.stamps)
        )
        self.live[CANCEL] += 1
        assert self.account.can_restore(self.now)

    @precondition(lambda self: not self.account.is_erased and self.live[CANCEL])
    @rule()
    def follow_former_address_link(self) -> None:
        """F10: cancel before, restore after: sessions end either way."""
        self.live[CANCEL] -= 1
        restoring = self.account.can_restore(self.now)
        former = self.account.former_email
        if not restoring and self.account.pending_email is None:
            with pytest.raises(ValidationError):
                self.account.cancel_or_restore_email(self.now, self.stamps)
            return
        self._must_end_sessions(
            lambda: self.account.cancel_or_restore_email(self.now, self.stamps)
        )
        if restoring:
            assert self.account.email == former
            assert self.account.password_hash is None  # in again by reset only
            assert sum(self.live.values()) == 0

    @precondition(lambda self: not self.account.is_erased)
    @rule()
    def change_password(self) -> None:
        """P6, R8: a new password ends sessions, links and the pending change."""
        self._must_end_sessions(
            lambda: self.account.change_password(self.now, self.stamps, "hash-n")
        )
        assert self.account.pending_email is None

    @precondition(lambda self: not self.account.is_erased)
    @rule()
    def confirm_reset(self) -> None:
        """R3, F10: the owner's reset outlives no thief's pending link."""
        self._must_end_sessions(
            lambda: self.account.issue_temporary_password(self.now, self.stamps)
        )
        assert self.live[CONFIRM] == 0

    @precondition(lambda self: not self.account.is_erased)
    @rule()
    def provisional_password(self) -> None:
        """R7: customer service's password ends sessions and links."""
        self._must_end_sessions(
            lambda: self.account.issue_provisional_password(self.now, self.stamps)
        )

    @precondition(lambda self: not self.account.is_erased)
    @rule()
    def subscribe(self) -> None:
        """F7: a subscription takes effect for a proven mailbox only."""
        took = self.account.subscribe(self.now, ConsentSource.ACCOUNT_PAGE, "nl-1")
        assert took == (self.account.email_proven_at is not None)

    @rule()
    def erase(self) -> None:
        """G3: erasure ends sessions and leaves nothing pending."""
        if self.account.is_erased:
            self.account.erase(self.now, self.stamps)  # a no-op
            self._saved()
            return
        self._must_end_sessions(lambda: self.account.erase(self.now, self.stamps))

    @precondition(lambda self: self.account.is_erased)
    @rule()
    def erased_account_is_inert(self) -> None:
        """G3: no password, reset, provisional password or email change."""
        for step in (
            lambda: self.account.change_password(self.now, self.stamps, "h"),
            lambda: self.account.issue_temporary_password(self.now, self.stamps),
            lambda: self.account.issue_provisional_password(self.now, self.stamps),
            lambda: self.account.request_email_change(ADDRESSES[0], self.now),
            lambda: self.account.confirm_email_change(self.now, self.stamps),
            lambda: self.account.cancel_or_restore_email(self.now, self.stamps),
        ):
            with pytest.raises(ValidationError):
                step()

    # -- invariants ---------------------------------------------------------------

    @invariant()
    def at_most_one_live_confirm_link(self) -> None:
        """F10: one pending change, one live confirm link; none without a change."""
        assert self.live[CONFIRM] <= 1
        if self.account.pending_email is None:
            assert self.live[CONFIRM] == 0

    @invariant()
    def nothing_pending_after_erasure(self) -> None:
        """G3: an erased account holds no link, change or subscription."""
        if self.account.is_erased:
            assert sum(self.live.values()) == 0
            assert self.account.pending_email is None
            assert self.account.former_email is None
            assert self.account.pending_subscription is None
            assert self.account.status is AccountStatus.ERASED

    @invariant()
    def effects_are_applied(self) -> None:
        """Every rule leaves no effect unapplied (the service saves them all)."""
        assert self.account.collect_effects() == []


AccountLife.TestCase.settings = settings(max_examples=150, stateful_step_count=30)
test_account_life = AccountLife.TestCase
