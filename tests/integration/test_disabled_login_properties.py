"""A disabled account never logs in, whatever happens around it (SPEC M2, P3, R1).

Random sequences of customer service's steps (disable, enable, a
provisional password), the customer's logins with the right or a wrong
password, and reset requests, over the in-memory store: a login succeeds
exactly when the account is enabled and the password right, and a failure
always looks the same and costs the same hashing work.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AccountStatus,
    AuthenticationError,
    AuthService,
    InMemoryStore,
    MailKind,
    Settings,
    SystemSecrets,
    ValidationError,
)
from echoppe_accounts.testing import FrozenClock
from sample_forms import form, links, pending
from spies import SpyHasher

PASSWORD = "une phrase de passe solide"
EMAIL = "jean.dupont@exemple.fr"


class DisabledLogins(RuleBasedStateMachine):
    """Customer service and the customer, in any order."""

    @initialize()
    def register(self) -> None:
        """One registered customer over a fresh store."""
        self.clock = FrozenClock()
        store = InMemoryStore()
        settings_ = Settings(base_url="https://www.lechoppe.fr", shop_name="L'Échoppe")
        self.service = AccountService(
            store.unit_of_work, self.clock, SystemSecrets(), FAST_HASHER, settings_
        )
        self.auth = AuthService(
            store.unit_of_work,
            self.clock,
            SystemSecrets(),
            SpyHasher(FAST_HASHER),
            settings_,
        )
        self.account_id = self.service.register(form()).id
        self.disabled = False
        # The first login makes the dummy hash, whatever its email (issue 22).
        with contextlib.suppress(AuthenticationError):
            self.auth.login("premier@exemple.fr", "x")

    def _later(self) -> None:
        # Far enough apart that throttling never answers instead (SPEC P4).
        self.clock.advance(timedelta(hours=1))

    @rule()
    def disable(self) -> None:
        """Customer service disables the account."""
        self.auth.disable_account(self.account_id, agent_id="a1", reason="r")
        self.disabled = True

    @rule()
    def enable(self) -> None:
        """Customer service enables it again."""
        self.auth.enable_account(self.account_id, agent_id="a1", reason="r")
        self.disabled = False

    @rule()
    def provisional(self) -> None:
        """A provisional password: refused while disabled (R7, M2)."""
        try:
            self.auth.issue_provisional_password(
                self.account_id, agent_id="a1", reason="r"
            )
        except ValidationError as exc:
            assert self.disabled
            assert exc.errors[0].code == "account.disabled"  # noqa: PT017 (a model step)
        else:
            assert not self.disabled

    @rule(right=st.booleans())
    def login(self, right: bool) -> None:
        """P3, M2: success exactly when enabled and right; one KDF either way."""
        self._later()
        before = self.auth.hasher.kdf_calls
        try:
            result = self.auth.login(EMAIL, PASSWORD if right else "pas le bon")
        except AuthenticationError as exc:
            assert exc.code == "login.failed"  # noqa: PT017 (a model step)
            assert self.disabled or not right
        else:
            assert right
            assert not self.disabled
            assert result.account_id == self.account_id
        spent = self.auth.hasher.kdf_calls - before
        # An outdated hash may be upgraded on success (one more): never here.
        assert spent == 1

    @rule()
    def reset_request(self) -> None:
        """R1, R6, M2: while disabled a mail without a link, mail 1 otherwise."""
        self._later()
        before = len(pending(self.service))
        assert self.auth.request_password_reset(EMAIL) is None
        queued = pending(self.service)[before:]
        if self.disabled:
            assert [m.kind for m in queued] in ([MailKind.ACCOUNT_DISABLED], [])
            assert all(links(m) == {} for m in queued)
        else:
            assert [m.kind for m in queued] in ([MailKind.RESET_CONFIRM], [])

    @rule()
    def status_agrees(self) -> None:
        """The stored status is the model's."""
        status = self.service.get(self.account_id).status
        assert (status is AccountStatus.DISABLED) == self.disabled


TestDisabledLogins = DisabledLogins.TestCase
TestDisabledLogins.settings = settings(
    max_examples=25, stateful_step_count=10, deadline=None
)
