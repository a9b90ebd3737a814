"""A model-based state-machine test of the reset flow (SPEC R2–R8, P4).

Hypothesis runs random sequences of requests, confirmations, cancellations,
logins, new passwords, provisional passwords and clock jumps against the
library, and against a small model of the rules written from the
specification. Every answer must match the model, and every stored request
must only ever move along the transitions of SPEC R5.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AuthenticationError,
    AuthService,
    InMemoryStore,
    MailKind,
    ResetState,
    Settings,
    SystemSecrets,
    ThrottlePolicy,
    ValidationError,
)
from echoppe_accounts.service_layer.auth import CHANGE_TTL
from echoppe_accounts.testing import FrozenClock
from sample_forms import form, links, pending, temporary_password

# The figures of the specification, written here rather than imported, so
# that a wrong constant in the library fails this test.
COOLDOWN = timedelta(minutes=4)  # SPEC R6
LINK_TTL = timedelta(hours=1)  # SPEC R2
TEMPORARY_TTL = timedelta(hours=24)  # SPEC R3
PROVISIONAL_TTL = timedelta(hours=1)  # SPEC R7

KNOWN = "jean.dupont@exemple.fr"
UNKNOWN = "personne@exemple.fr"
PASSWORDS = [
    "une phrase de passe solide",
    "le vent souffle sur la lande",
    "trois petits chats gris",
    "la mer est calme ce matin",
]
LEGAL = {
    ResetState.REQUESTED: {
        ResetState.CONFIRMED,
        ResetState.CANCELLED,
        ResetState.EXPIRED,
        ResetState.SUPERSEDED,
    },
    ResetState.CONFIRMED: {
        ResetState.COMPLETED,
        ResetState.EXPIRED,
        ResetState.SUPERSEDED,
    },
}


@attrs.define
class ModelRequest:
    """What the specification says of one request."""

    state: ResetState
    link_expires: datetime
    confirm: str | None = None
    cancel: str | None = None
    temporary: str | None = None
    temporary_expires: datetime | None = None
    temporary_used: bool = False

    def effective(self, now: datetime) -> ResetState:
        if self.state is ResetState.REQUESTED and now >= self.link_expires:
            return ResetState.EXPIRED
        if self.state is ResetState.CONFIRMED and self.temporary_expires <= now:
            return ResetState.EXPIRED
        return self.state


class ResetFlow(RuleBasedStateMachine):
    """The reset flow against its model."""

    confirm_links = Bundle("confirm_links")
    cancel_links = Bundle("cancel_links")
    temporaries = Bundle("temporaries")
    change_tokens = Bundle("change_tokens")

    @initialize()
    def setup(self):
        self.clock = FrozenClock()
        store = InMemoryStore()
        ports = (store.unit_of_work, self.clock, SystemSecrets(), FAST_HASHER)
        settings = Settings(base_url="https://www.lechoppe.fr")
        self.accounts = AccountService(*ports, settings)
        self.auth = AuthService(*ports, settings)
        self.account_id = self.accounts.register(form(password=PASSWORDS[0])).id
        self.password = PASSWORDS[0]
        self.requests: list[ModelRequest] = []
        self.last_request: dict[str, datetime] = {}
        self.failures = 0
        self.last_failure: datetime | None = None
        self.changes: dict[str, tuple[datetime, ModelRequest]] = {}
        self.seen_states: dict[str, ResetState] = {}
        self.mail_count = len(pending(self.accounts))  # the welcome mail

    # -- helpers -------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock.now()

    def _new_mails(self):
        mails = pending(self.accounts)
        fresh, self.mail_count = mails[self.mail_count :], len(mails)
        return fresh

    def _supersede_active(self) -> None:
        for r in self.requests:
            if r.effective(self._now()) in {ResetState.REQUESTED, ResetState.CONFIRMED}:
                r.state = ResetState.SUPERSEDED

    def _throttled(self) -> bool:
        policy = ThrottlePolicy()
        if self.failures >= policy.hard_block:
            return True
        return (
            self.last_failure is not None
            and self._now() < self.last_failure + policy.delay(self.failures)
        )

    # -- rules ---------------------------------------------------------------------

    @rule(target=confirm_links, email=st.sampled_from([KNOWN, UNKNOWN]))
    def request(self, email):
        now = self._now()
        cooling = (
            email in self.last_request and now - self.last_request[email] < COOLDOWN
        )
        assert self.auth.request_password_reset(email) is None
        fresh = self._new_mails()
        if cooling:
            assert fresh == []
            return "stale-or-none"
        self.last_request[email] = now
        (mail,) = fresh
        if email == UNKNOWN:
            assert mail.kind is MailKind.RESET_UNKNOWN_EMAIL
            return "none"
        assert mail.kind is MailKind.RESET_CONFIRM
        self._supersede_active()
        tokens = links(mail)
        model = ModelRequest(
            ResetState.REQUESTED, now + LINK_TTL, tokens["confirmer"], tokens["annuler"]
        )
        self.requests.append(model)
        return tokens["confirmer"]

    @rule(target=temporaries, token=confirm_links)
    def confirm(self, token):
        model = next((r for r in self.requests if r.confirm == token), None)
        expected = (
            model is not None and model.effective(self._now()) is ResetState.REQUESTED
        )
        try:
            self.auth.confirm_password_reset(token)
        except ValidationError:
            assert not expected
            return "none"
        assert expected
        (mail,) = self._new_mails()
        model.state = ResetState.CONFIRMED
        model.temporary = temporary_password(mail)
        model.temporary_expires = self._now() + TEMPORARY_TTL
        self.failures, self.last_failure = 0, None
        return model.temporary

    @rule(token=confirm_links)
    def cancel(self, token):
        model = next((r for r in self.requests if r.confirm == token), None)
        expected = (
            model is not None and model.effective(self._now()) is ResetState.REQUESTED
        )
        cancel_token = model.cancel if model else token
        try:
            self.auth.cancel_password_reset(cancel_token)
        except ValidationError:
            assert not expected
        else:
            assert expected
            model.state = ResetState.CANCELLED

    @rule(target=change_tokens, temporary=temporaries)
    def login_with_temporary(self, temporary):
        now = self._now()
        model = next((r for r in self.requests if r.temporary == temporary), None)
        throttled = self._throttled()
        expected = (
            not throttled
            and model is not None
            and model.effective(now) is ResetState.CONFIRMED
            and not model.temporary_used
        )
        try:
            session = self.auth.login(KNOWN, temporary)
        except AuthenticationError as exc:
            assert not expected
            if not throttled:
                assert exc.code == "login.failed"  # noqa: PT017 (a model step)
                self.failures += 1
                self.last_failure = now
            return "none"
        assert expected
        assert session.restricted
        model.temporary_used = True
        self.failures, self.last_failure = 0, None
        token = session.change_token.reveal()
        self.changes[token] = (now, model)
        return token

    @rule(token=consumes(change_tokens), password=st.sampled_from(PASSWORDS[1:]))
    def set_new_password(self, token, password):
        now = self._now()
        issued = self.changes.pop(token, None)
        expected = (
            issued is not None
            and now < issued[0] + CHANGE_TTL
            and issued[1].effective(now) is ResetState.CONFIRMED
        )
        try:
            self.auth.set_new_password(token, password)
        except ValidationError:
            assert not expected
            self._new_mails()
            return
        assert expected
        issued[1].state = ResetState.COMPLETED
        self._supersede_active()
        self.password = password
        self.failures, self.last_failure = 0, None
        assert [m.kind for m in self._new_mails()] == [MailKind.PASSWORD_CHANGED]

    @rule(target=temporaries)
    def provisional(self):
        now = self._now()
        secret = self.auth.issue_provisional_password(
            self.account_id, agent_id="agent-7", reason="mail non reçu"
        )
        self._supersede_active()
        self.requests.append(
            ModelRequest(
                ResetState.CONFIRMED,
                now,
                temporary=secret.reveal(),
                temporary_expires=now + PROVISIONAL_TTL,
            )
        )
        self.failures, self.last_failure = 0, None
        (notice,) = self._new_mails()
        assert notice.kind is MailKind.PROVISIONAL_PASSWORD_NOTICE
        return secret.reveal()

    @rule()
    def login_with_password(self):
        throttled = self._throttled()
        try:
            result = self.auth.login(KNOWN, self.password)
        except AuthenticationError:
            assert throttled
        else:
            assert not throttled
            assert not result.restricted
            self.failures, self.last_failure = 0, None

    @rule(
        delta=st.sampled_from(
            [
                timedelta(seconds=1),
                timedelta(minutes=3),
                timedelta(minutes=59),
                timedelta(hours=2),
                timedelta(hours=25),
            ]
        )
    )
    def wait(self, delta):
        self.clock.advance(delta)

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def stored_requests_follow_the_state_graph(self):
        if not hasattr(self, "auth"):
            return
        now = self._now()
        with self.accounts.uow() as tx:
            stored = tx.resets.for_account(self.account_id)
        active = [r for r in stored if r.is_active(now)]
        assert len(active) <= 1
        for request in stored:
            state = request.current_state(now)
            before = self.seen_states.get(request.id)
            if before is not None and before is not state:
                assert state in LEGAL.get(before, set()), (before, state)
            self.seen_states[request.id] = state
        model_states = [r.effective(now) for r in self.requests]
        assert [r.current_state(now) for r in stored] == model_states


ResetFlow.TestCase.settings = settings(
    settings.default,
    stateful_step_count=40,
    max_examples=settings.default.max_examples // 2,
)
TestResetFlow = ResetFlow.TestCase
