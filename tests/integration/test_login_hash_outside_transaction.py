"""Password hashes are checked and made with no transaction open (availability).

On SQLite a unit of work holds the database's one write lock. A login used
to check its password hash (tens of milliseconds at the default
parameters) inside its unit of work, so every write of the shop queued
behind every login, and two clients sending logins back to back starved
the other writers until their busy timeout failed them. A login now reads
what it answers to, checks the hash with nothing open, then writes its
outcome against what storage holds by then: failures counted meanwhile
throttle it (no verdict past the cap), and a status or password changed
meanwhile makes its check count for nothing.

A password change, and the new password of a restricted session (SPEC
R4), likewise check and make their hashes with nothing open, then make
the change only if nothing changed the password meanwhile.

Each test stops a call inside a hash (:class:`Gate`) and runs something
else on the same storage meanwhile, on every storage adapter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AuthenticationError,
    AuthService,
    ClientLimits,
    CompletionForm,
    ConcurrencyError,
    Email,
    PrivacyService,
    Settings,
    SystemSecrets,
    ValidationError,
)
from echoppe_accounts.domain.throttle import password_check_key
from sample_forms import express, form, links, pending

EMAIL = "jean.dupont@exemple.fr"
PASSWORD = "une phrase de passe solide"
WRONG = "pas le bon"
WAIT = 20.0
"""Seconds the gate waits for what runs meanwhile (far more than it needs)."""
ANY = "\x00any password"
"""Armed with this, the gate stops the next hash whatever its password."""


class Gate:
    """A hasher that runs *meanwhile* in another thread during one hash call.

    Only the first check or hash of the armed password is stopped: what
    runs meanwhile goes through at once. :attr:`finished` tells whether
    what ran meanwhile finished while the call waited.
    """

    def __init__(self, password: str) -> None:
        self._password = password
        self._armed = False
        self.meanwhile: Callable[[], None] = lambda: None
        self.finished = False
        self.error: BaseException | None = None

    def arm(self, meanwhile: Callable[[], None], password: str | None = None) -> None:
        """Stop the next check or hash of the password to run *meanwhile*."""
        self.meanwhile = meanwhile
        if password is not None:
            self._password = password
        self._armed = True

    def _stop(self, password: str) -> None:
        if not self._armed or self._password not in (password, ANY):
            return
        self._armed = False
        done = threading.Event()

        def run() -> None:
            try:
                self.meanwhile()
            except BaseException as exc:  # noqa: BLE001 (reported by the test)
                self.error = exc
            finally:
                done.set()

        threading.Thread(target=run, daemon=True).start()
        self.finished = done.wait(WAIT)

    def hash(self, password: str) -> str:
        """Hash as the fast hasher does, after *meanwhile* when armed."""
        self._stop(password)
        return FAST_HASHER.hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        """As the fast hasher says."""
        return FAST_HASHER.needs_rehash(password_hash)

    def verify(self, password_hash: str, password: str) -> bool:
        """Check as the fast hasher does, after *meanwhile* when armed."""
        self._stop(password)
        return FAST_HASHER.verify(password_hash, password)


@pytest.fixture
def any_store(each_adapter_uow_factory):
    """A unit-of-work factory on each storage adapter, PostgreSQL included."""
    return each_adapter_uow_factory


def services_over(store, clock, hasher=FAST_HASHER, **settings):
    """Account, auth and privacy services over *store*, without client limits."""
    parts = {
        "uow": store,
        "clock": clock,
        "secrets": SystemSecrets(),
        "hasher": hasher,
        "settings": Settings(
            base_url="https://www.lechoppe.fr",
            client_limits=ClientLimits(login=None, reset=None, signup=None),
            **settings,
        ),
    }
    return AccountService(**parts), AuthService(**parts), PrivacyService(**parts)


@pytest.fixture
def gate() -> Gate:
    """The hasher that stops the login under test in its hash check."""
    return Gate(PASSWORD)


@pytest.fixture
def shop(any_store, clock, gate):
    """Account and auth services over *any_store*, hashing through *gate*."""
    service, auth, _ = services_over(any_store, clock, gate)
    account = service.register(form(email=EMAIL, password=PASSWORD))
    return service, auth, account


def outcome(call: Callable[[], object]) -> str:
    """Run a login; return ``"ok"`` or its refusal's code."""
    try:
        call()
    except AuthenticationError as exc:
        return exc.code
    return "ok"


def test_a_write_goes_through_while_a_login_checks_its_hash(shop, gate):
    """Another login's write (a failure counted) is not held behind the hash."""
    _, auth, _ = shop
    seen: list[str] = []
    gate.arm(lambda: seen.append(outcome(lambda: auth.login(EMAIL, WRONG))))
    result = auth.login(EMAIL, PASSWORD)
    assert gate.error is None
    assert gate.finished, "the other login waited for this one's hash"
    assert seen == ["login.failed"]
    assert result.device_token is not None


def test_failures_made_during_the_hash_throttle_the_login(shop, gate):
    """P4: no verdict past the cap, even for the right password.

    While the owner's login checks its hash, an attacker's wrong guesses
    use up the free attempts: the owner's login is then counted
    after them and throttled, as it would be had it come after them.
    """
    _, auth, _ = shop
    seen: list[str] = []

    def attack() -> None:  # until the account is throttled
        while not seen or seen[-1] == "login.failed":
            seen.append(outcome(lambda: auth.login(EMAIL, WRONG)))

    gate.arm(attack)
    with pytest.raises(AuthenticationError) as refused:
        auth.login(EMAIL, PASSWORD)
    assert gate.finished
    assert seen[-1] == "login.throttled"
    assert "login.failed" in seen
    assert refused.value.code == "login.throttled"


def test_an_account_disabled_during_the_hash_does_not_log_in(shop, gate):
    """SPEC M2, P3: a login whose check began before the account was disabled fails."""
    _, auth, account = shop
    gate.arm(
        lambda: auth.disable_account(account.id, agent_id="agent-7", reason="fraude")
    )
    with pytest.raises(AuthenticationError) as refused:
        auth.login(EMAIL, PASSWORD)
    assert gate.finished
    assert refused.value.code == "login.failed"


def test_a_password_changed_during_the_hash_does_not_log_in(shop, gate):
    """SPEC P6, R8: the old password, checked before the change, opens nothing."""
    _, auth, account = shop
    gate.arm(
        lambda: auth.change_password(account.id, PASSWORD, "un tout autre secret long")
    )
    with pytest.raises(AuthenticationError) as refused:
        auth.login(EMAIL, PASSWORD)
    assert gate.finished
    assert gate.error is None
    assert refused.value.code == "login.failed"
    auth.login(EMAIL, "un tout autre secret long")


def test_check_password_holds_no_transaction_during_its_hash(shop, gate):
    """The password asked again (erasure, SPEC W2) checks its hash with nothing open."""
    _, auth, account = shop
    seen: list[str] = []
    gate.arm(lambda: seen.append(outcome(lambda: auth.login(EMAIL, WRONG))))
    assert auth.check_password(account.id, PASSWORD)
    assert gate.finished
    assert seen == ["login.failed"]


def test_check_password_fails_when_the_password_changed_during_its_hash(shop, gate):
    """A check begun before a password change does not confirm the old password."""
    _, auth, account = shop
    gate.arm(
        lambda: auth.change_password(account.id, PASSWORD, "un tout autre secret long")
    )
    assert not auth.check_password(account.id, PASSWORD)
    assert gate.finished
    assert gate.error is None


NEW = "un tout autre secret long"
OTHER = "encore une autre phrase secrete"
PHONE = "06 12 34 56 78"


def test_a_password_change_holds_no_transaction_during_its_hashes(shop, gate):
    """A session calling change_password in a loop cannot hold the write lock."""
    _, auth, account = shop
    seen: list[str] = []
    gate.arm(lambda: seen.append(outcome(lambda: auth.login(EMAIL, WRONG))))
    auth.change_password(account.id, PASSWORD, NEW)
    assert gate.finished
    assert seen == ["login.failed"]
    assert auth.login(EMAIL, NEW).account_id == account.id


def test_two_password_changes_at_once_keep_one(shop, gate):
    """R8: the change whose current password was replaced meanwhile is refused."""
    _, auth, account = shop
    gate.arm(lambda: auth.change_password(account.id, PASSWORD, OTHER))
    with pytest.raises(ValidationError) as refused:
        auth.change_password(account.id, PASSWORD, NEW)
    assert gate.finished
    assert gate.error is None
    assert refused.value.codes == {"password.wrong_current"}
    assert auth.login(EMAIL, OTHER).account_id == account.id
    assert outcome(lambda: auth.login(EMAIL, NEW)) == "login.failed"


def restricted(auth, account) -> str:
    """Log in with a provisional password; return the change token (SPEC R4, R7)."""
    provisional = auth.issue_provisional_password(
        account.id, agent_id="agent-7", reason="appel du client"
    )
    session = auth.login(EMAIL, provisional.reveal())
    assert session.restricted
    return session.change_token.reveal()


def test_a_new_password_is_hashed_with_no_transaction_open(shop, gate):
    """R4: the restricted session's new password is hashed outside the write lock."""
    _, auth, account = shop
    token = restricted(auth, account)
    seen: list[str] = []
    gate.arm(lambda: seen.append(outcome(lambda: auth.login(EMAIL, WRONG))), NEW)
    auth.set_new_password(token, NEW)
    assert gate.finished
    assert seen == ["login.failed"]
    assert auth.login(EMAIL, NEW).account_id == account.id


def test_one_change_token_used_twice_at_once_sets_one_password(shop, gate):
    """R4, R8: of two uses of one change token at once, one sets the password."""
    _, auth, account = shop
    token = restricted(auth, account)
    gate.arm(lambda: auth.set_new_password(token, OTHER), NEW)
    with pytest.raises(ValidationError) as refused:
        auth.set_new_password(token, NEW)
    assert gate.finished
    assert gate.error is None
    assert refused.value.codes == {"token.invalid"}
    assert auth.login(EMAIL, OTHER).account_id == account.id


def test_a_session_cannot_guess_the_password_past_the_cap(shop):
    """P4: wrong current passwords are counted and capped as logins are.

    A stolen session guessing through the password change meets a throttle
    of its own; the owner still logs in meanwhile.
    """
    _, auth, account = shop
    codes: list[str] = []
    for _ in range(30):
        try:
            auth.change_password(account.id, WRONG, NEW)
        except ValidationError as exc:
            codes.extend(sorted(exc.codes))
        if codes[-1] != "password.wrong_current":
            break
    assert codes[-1] == "login.throttled"
    assert codes.count("password.wrong_current") < 30
    assert auth.login(EMAIL, PASSWORD).account_id == account.id
    # Refused before any hash: the right password is refused the same way.
    with pytest.raises(ValidationError) as again:
        auth.change_password(account.id, PASSWORD, NEW)
    assert again.value.codes == {"login.throttled"}


def test_the_right_current_password_forgets_the_failures(shop):
    """P4: a password change with the right current password resets the count."""
    _, auth, account = shop
    for _ in range(3):
        with pytest.raises(ValidationError):
            auth.change_password(account.id, WRONG, NEW)
    auth.change_password(account.id, PASSWORD, NEW)
    for _ in range(3):
        assert outcome(lambda: auth.login(EMAIL, WRONG)) == "login.failed"
    assert auth.login(EMAIL, NEW).account_id == account.id


def test_a_throttled_change_says_so_at_the_current_password(shop):
    """F8: the throttle is the current password's error, with its wait, in words."""
    _, auth, account = shop
    refusals: list[ValidationError] = []
    for _ in range(30):
        with pytest.raises(ValidationError) as refused:
            auth.change_password(account.id, WRONG, NEW)
        refusals.append(refused.value)
        if "login.throttled" in refused.value.codes:
            break
    (error,) = refusals[-1].errors
    assert (error.path, error.code) == ("current_password", "login.throttled")
    assert error.params["seconds"] >= 1
    assert error.message("en").startswith("Too many attempts: try again")
    assert error.message("fr") != error.message("en")


@pytest.fixture
def verified(any_store, clock, gate):
    """Services with verified sign-up on (SPEC X5), and a sign-up's link."""
    service, auth, _ = services_over(any_store, clock, gate, verified_signup=True)
    service.register(form(email=EMAIL, password=PASSWORD))
    (mail,) = pending(service)
    return service, auth, links(mail)["verifier"]


def test_a_signup_link_checks_its_password_with_no_transaction_open(verified, gate):
    """X5: a link tried in a loop cannot hold the write lock for the shop."""
    service, auth, token = verified
    seen: list[str] = []
    gate.arm(lambda: seen.append(outcome(lambda: auth.login("x@exemple.fr", WRONG))))
    service.verify_signup(token, PASSWORD)
    assert gate.finished
    assert seen == ["login.failed"]
    assert auth.login(EMAIL, PASSWORD).device_token is not None


def test_a_signup_link_followed_twice_at_once_opens_once(verified, gate):
    """X5, R8: of two uses of one link at once, one opens the account."""
    service, _, token = verified
    gate.arm(lambda: service.verify_signup(token, PASSWORD))
    with pytest.raises(ValidationError) as refused:
        service.verify_signup(token, PASSWORD)
    assert gate.finished
    assert gate.error is None
    assert refused.value.codes == {"token.invalid"}
    welcome = [m for m in pending(service) if m.kind.value == "welcome"]
    assert len(welcome) == 1


class _Counting:
    """The fast hasher, counting its checks and its hashes."""

    def __init__(self) -> None:
        self.checks = 0
        self.hashes = 0

    def hash(self, password: str) -> str:
        self.hashes += 1
        return FAST_HASHER.hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return FAST_HASHER.needs_rehash(password_hash)

    def verify(self, password_hash: str, password: str) -> bool:
        self.checks += 1
        return FAST_HASHER.verify(password_hash, password)


@pytest.fixture
def counted(any_store, clock):
    """Verified sign-up on, a hasher counting its checks, and a sign-up's link."""
    hasher = _Counting()
    service, auth, _ = services_over(any_store, clock, hasher, verified_signup=True)
    service.register(form(email=EMAIL, password=PASSWORD))
    (mail,) = pending(service)
    return service, auth, hasher, links(mail)["verifier"]


def _guess_until_refused(service, token: str) -> list[ValidationError]:
    """Follow the link with wrong passwords until it is refused otherwise."""
    refusals: list[ValidationError] = []
    for _ in range(40):
        with pytest.raises(ValidationError) as refused:
            service.verify_signup(token, WRONG)
        refusals.append(refused.value)
        if refused.value.codes != {"password.wrong_current"}:
            break
    return refusals


def test_a_signup_links_wrong_passwords_are_capped(counted):
    """P4, X5: whoever holds the link guesses no faster than a login could.

    Past the free attempts the link is refused at ``password`` with the
    wait, before any hash; the right password is refused the same way.
    """
    service, _, hasher, token = counted
    refusals = _guess_until_refused(service, token)
    (error,) = refusals[-1].errors
    assert (error.path, error.code) == ("password", "login.throttled")
    assert error.params["seconds"] >= 1
    # As a login: the free attempts and one more fail, then the wait.
    assert len(refusals) == service.throttle_policy.free_attempts + 2
    checks = hasher.checks
    with pytest.raises(ValidationError) as again:
        service.verify_signup(token, PASSWORD)
    assert again.value.codes == {"login.throttled"}
    assert hasher.checks == checks  # refused before the hash


def test_a_signup_link_is_blocked_after_the_hard_cap(counted, any_store, clock):
    """P4: after one hundred wrong passwords the link is blocked, before any hash."""
    service, _, hasher, token = counted
    policy = service.throttle_policy
    with any_store() as uow:
        account = uow.accounts.get_by_email_key(Email.parse(EMAIL).key)
        assert account is not None
        count = uow.throttles.get(password_check_key(account.id))
        count.failures = policy.hard_block - 1
        count.last_failure_at = clock.now()
        uow.throttles.save(count)
        uow.commit()
    clock.advance(policy.max_delay)
    with pytest.raises(ValidationError) as last:
        service.verify_signup(token, WRONG)
    assert last.value.codes == {"password.wrong_current"}
    clock.advance(policy.max_delay)
    checks = hasher.checks
    with pytest.raises(ValidationError) as again:
        service.verify_signup(token, PASSWORD)
    (error,) = again.value.errors
    assert (error.path, error.code) == ("password", "login.blocked")
    assert hasher.checks == checks


def test_the_right_password_at_the_link_forgets_its_failures(counted, any_store):
    """P4: the link opened, its wrong passwords are forgotten with it."""
    service, auth, _, token = counted
    for _ in range(3):
        with pytest.raises(ValidationError):
            service.verify_signup(token, WRONG)
    service.verify_signup(token, PASSWORD)
    account_id = auth.login(EMAIL, PASSWORD).account_id
    with any_store() as uow:
        assert uow.throttles.get(password_check_key(account_id)).failures == 0


def test_the_links_failures_are_not_the_logins(counted):
    """P4: guesses at the link do not throttle the owner's logins once open."""
    service, auth, _, token = counted
    _guess_until_refused(service, token)
    with pytest.raises(ValidationError):
        service.verify_signup(token, PASSWORD)
    for _ in range(3):
        assert outcome(lambda: auth.login(EMAIL, WRONG)) == "login.failed"


def test_a_replaced_signup_leaves_no_failure_count(counted, any_store):
    """X5: a sign-up replaced by a new one keeps nothing, its failures included."""
    service, _, _, token = counted
    with any_store() as uow:
        first = uow.accounts.get_by_email_key(Email.parse(EMAIL).key)
    assert first is not None
    for _ in range(2):
        with pytest.raises(ValidationError):
            service.verify_signup(token, WRONG)
    service.register(form(email=EMAIL, password=NEW))
    with any_store() as uow:
        second = uow.accounts.get_by_email_key(Email.parse(EMAIL).key)
        assert second is not None
        assert second.id != first.id
        assert uow.throttles.get(password_check_key(first.id)).failures == 0


# -- the other hashes: a temporary password, a provisional one, an express one ----


def _confirm_link(service, auth) -> str:
    auth.request_password_reset(EMAIL)
    (mail,) = [m for m in pending(service) if m.kind.value == "reset_confirm"]
    return links(mail)["confirmer"]


def _temporary_mails(service) -> list:
    return [m for m in pending(service) if m.kind.value == "temporary_password"]


def test_a_reset_confirmation_hashes_with_no_transaction_open(shop, gate):
    """R3: the temporary password is hashed outside the write lock."""
    service, auth, _ = shop
    link = _confirm_link(service, auth)
    seen: list[str] = []
    gate.arm(lambda: seen.append(outcome(lambda: auth.login(EMAIL, WRONG))), ANY)
    auth.confirm_password_reset(link)
    assert gate.finished, "the other login waited for the confirmation's hash"
    assert seen == ["login.failed"]
    assert len(_temporary_mails(service)) == 1


def test_two_confirmations_at_once_issue_one_temporary_password(shop, gate):
    """R3, R8: of two uses of one confirm link at once, one mails a password."""
    service, auth, _ = shop
    link = _confirm_link(service, auth)
    gate.arm(lambda: auth.confirm_password_reset(link), ANY)
    refused: list[str] = []
    try:
        auth.confirm_password_reset(link)
    except ValidationError as exc:
        refused.extend(exc.codes)
    assert gate.finished
    errors = [gate.error] if gate.error is not None else []
    refused.extend(c for e in errors if isinstance(e, ValidationError) for c in e.codes)
    assert refused == ["token.invalid"]
    assert len(_temporary_mails(service)) == 1


def test_a_dead_confirm_link_costs_no_hash(any_store, clock):
    """R3: a link unknown or already used is refused before any hash."""
    hasher = _Counting()
    service, auth, _ = services_over(any_store, clock, hasher)
    service.register(form(email=EMAIL, password=PASSWORD))
    link = _confirm_link(service, auth)
    auth.confirm_password_reset(link)
    hashes = hasher.hashes
    for dead in (link, "pas-un-jeton", link[:-1] + ("A" if link[-1] != "A" else "B")):
        with pytest.raises(ValidationError) as refused:
            auth.confirm_password_reset(dead)
        assert refused.value.codes == {"token.invalid"}
    assert hasher.hashes == hashes


def test_a_provisional_password_is_hashed_with_no_transaction_open(shop, gate):
    """R7: customer service's provisional password is hashed outside the lock."""
    _, auth, account = shop
    seen: list[str] = []
    gate.arm(lambda: seen.append(outcome(lambda: auth.login(EMAIL, WRONG))), ANY)
    provisional = auth.issue_provisional_password(
        account.id, agent_id="agent-7", reason="appel du client"
    )
    assert gate.finished
    assert seen == ["login.failed"]
    assert auth.login(EMAIL, provisional.reveal()).restricted


GUEST = "paul.client@exemple.fr"


def _set_password_link(service) -> str:
    service.register_express(express(email=GUEST))
    (mail,) = [m for m in pending(service) if m.kind.value == "set_password"]
    return next(iter(links(mail).values()))


def test_an_express_completion_hashes_with_no_transaction_open(shop, gate):
    """X2: the express account's new password is hashed outside the lock."""
    service, auth, _ = shop
    link = _set_password_link(service)
    seen: list[str] = []
    gate.arm(lambda: seen.append(outcome(lambda: auth.login(EMAIL, WRONG))), NEW)
    done = service.complete_express(link, CompletionForm(password=NEW, phone=PHONE))
    assert gate.finished
    assert seen == ["login.failed"]
    assert auth.login(GUEST, NEW).account_id == done.id


def test_two_express_completions_at_once_keep_one(shop, gate):
    """X2, R8: of two uses of one set-password link at once, one completes."""
    service, auth, _ = shop
    link = _set_password_link(service)
    other = CompletionForm(password=OTHER, phone=PHONE)
    gate.arm(lambda: service.complete_express(link, other), NEW)
    with pytest.raises(ValidationError) as refused:
        service.complete_express(link, CompletionForm(password=NEW, phone=PHONE))
    assert gate.finished
    assert gate.error is None
    assert refused.value.codes == {"token.invalid"}
    assert auth.login(GUEST, OTHER).account_id
    assert outcome(lambda: auth.login(GUEST, NEW)) == "login.failed"


def test_a_bad_express_completion_costs_no_hash(any_store, clock):
    """X2, F9: a form with problems is refused whole, before any hash."""
    hasher = _Counting()
    service, _, _ = services_over(any_store, clock, hasher)
    link = _set_password_link(service)
    hashes = hasher.hashes
    with pytest.raises(ValidationError) as refused:
        service.complete_express(link, CompletionForm(password="court", phone="12"))
    assert {e.path for e in refused.value.errors} >= {"password", "phone"}
    assert hasher.hashes == hashes
    service.complete_express(link, CompletionForm(password=NEW, phone=PHONE))
    assert hasher.hashes == hashes + 1


# -- the second reader's findings ---------------------------------------------------


class SteppingClock:
    """A clock that moves a millisecond at each reading, as a real one does."""

    def __init__(self, start: datetime) -> None:
        self.current = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the time, a millisecond after the previous reading."""
        with self._lock:
            self.current += timedelta(milliseconds=1)
            return self.current


def test_a_free_failure_during_the_hash_does_not_throttle_the_owner(any_store, clock):
    """P4: one failure within the free attempts leaves the owner's login alone.

    The outcome is judged when it is written: a failure counted while the
    owner's hash ran is older than that moment, so its zero wait is over.
    """
    gate = Gate(PASSWORD)
    service, auth, _ = services_over(any_store, SteppingClock(clock.now()), gate)
    service.register(form(email=EMAIL, password=PASSWORD))
    seen: list[str] = []
    gate.arm(lambda: seen.append(outcome(lambda: auth.login(EMAIL, WRONG))))
    assert outcome(lambda: auth.login(EMAIL, PASSWORD)) == "ok"
    assert seen == ["login.failed"]


def test_a_provisional_password_lifts_the_password_change_block(any_store, clock):
    """P4, R7: a block of password changes ends as a login block does.

    A stolen session that used up the guesses of the password change must
    not keep the owner, helped by customer service, from ever changing it.
    """
    service, auth, _ = services_over(any_store, clock)
    account = service.register(form(email=EMAIL, password=PASSWORD))
    codes: list[str] = []
    for _ in range(130):
        clock.advance(timedelta(hours=1))
        with pytest.raises(ValidationError) as refused:
            auth.change_password(account.id, WRONG, NEW)
        codes.extend(refused.value.codes)
    assert codes[-1] == "login.blocked"
    provisional = auth.issue_provisional_password(
        account.id, agent_id="agent-7", reason="appel du client"
    )
    session = auth.login(EMAIL, provisional.reveal())
    auth.set_new_password(session.change_token.reveal(), OTHER)
    auth.change_password(account.id, OTHER, NEW)
    assert auth.login(EMAIL, NEW).account_id == account.id


@pytest.mark.postgres
@pytest.mark.parametrize("right", [True, False], ids=["changed", "refused"])
def test_a_password_change_and_an_erasure_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch, right
):
    """G3, P4: the change and erasure take the failure counts in one order.

    The change stops before it writes the account (or, refused, before
    its commit), holding what it locked and wrote so far; the erasure then
    runs, and one of them waits for the other rather than deadlocking.
    """
    from echoppe_accounts.service_layer import reset as reset_module  # noqa: PLC0415

    service, auth, privacy = services_over(postgres_uow_factory, clock)
    account = service.register(form(email=EMAIL, password=PASSWORD))
    assert outcome(lambda: auth.login(EMAIL, WRONG)) == "login.failed"
    with pytest.raises(ValidationError):
        auth.change_password(account.id, WRONG, NEW)
    paused, go = threading.Event(), threading.Event()
    real_failure = reset_module.login_throttle.record_failure
    real_changed = reset_module.password_changed

    def pause() -> None:
        paused.set()
        go.wait(WAIT)

    def failure(*args, **kwargs):
        real_failure(*args, **kwargs)
        pause()

    def changed(*args, **kwargs):
        pause()  # the counts read, the account not yet written
        real_changed(*args, **kwargs)

    monkeypatch.setattr(reset_module.login_throttle, "record_failure", failure)
    monkeypatch.setattr(reset_module, "password_changed", changed)
    errors: dict[str, BaseException | None] = {}

    def run(name: str, call: Callable[[], object]) -> None:
        try:
            call()
            errors[name] = None
        except BaseException as exc:  # noqa: BLE001 (asserted below)
            errors[name] = exc

    current = PASSWORD if right else WRONG
    change = threading.Thread(
        target=run,
        args=("change", lambda: auth.change_password(account.id, current, NEW)),
    )
    change.start()
    assert paused.wait(WAIT)
    erase = threading.Thread(
        target=run, args=("erase", lambda: privacy.erase_account(account.id))
    )
    erase.start()
    erase.join(1.0)  # it waits for the change's locks
    go.set()
    change.join(WAIT)
    erase.join(WAIT)
    # No deadlock (a StorageError): the change went through or was refused,
    # and the erasure, which read the account before the change wrote it,
    # either followed it or asks to be called again (ConcurrencyError).
    assert errors["change"] is None or isinstance(errors["change"], ValidationError)
    erase_error = errors["erase"]
    assert erase_error is None or type(erase_error) is ConcurrencyError, erase_error


def test_the_second_read_takes_the_count_before_the_account(any_store, clock):
    """P4: under the lock, the email's count is read before the account.

    On PostgreSQL the count's read takes the lock: an account read before
    it could be older than a change that committed in between, and a
    login with the password that change replaced would succeed.
    """
    service, auth, _ = services_over(any_store, clock)
    service.register(form(email=EMAIL, password=PASSWORD))
    reads: list[str] = []

    def spying(**options):
        uow = any_store(**options)
        return _ReadSpy(uow, reads)

    spy = AuthService(spying, clock, SystemSecrets(), FAST_HASHER, auth.settings)
    spy.login(EMAIL, PASSWORD)
    # Each of the two units of work reads the count, then the account.
    assert reads[:2] == ["count", "account"]
    assert reads.count("count") >= 2
    second = reads.index("count", 1)
    assert reads[second : second + 2] == ["count", "account"]


class _ReadSpy:
    """A unit of work noting, in order, when it reads a count or an account."""

    def __init__(self, uow, reads: list[str]) -> None:
        self._uow = uow
        self._reads = reads

    def __enter__(self):
        self._uow.__enter__()
        return self

    def __exit__(self, *exc):
        return self._uow.__exit__(*exc)

    @property
    def throttles(self):
        return _Noting(self._uow.throttles, "get", "count", self._reads)

    @property
    def accounts(self):
        return _Noting(self._uow.accounts, "credentials", "account", self._reads)

    def __getattr__(self, name):
        return getattr(self._uow, name)


class _Noting:
    """A repository whose *method* notes *label* before it runs."""

    def __init__(self, inner, method: str, label: str, reads: list[str]) -> None:
        self._inner = inner
        self._method = method
        self._label = label
        self._reads = reads

    def __getattr__(self, name):
        found = getattr(self._inner, name)
        if name != self._method:
            return found

        def noted(*args, **kwargs):
            self._reads.append(self._label)
            return found(*args, **kwargs)

        return noted


def test_one_temporary_password_used_twice_at_once_logs_in_once(shop, gate):
    """R4: of two logins with one temporary password at once, one is restricted.

    Each presents a device token of its own, so the two answer to different
    counts (SPEC P4); the second must still fail as a wrong password does,
    never with a storage error.
    """
    _, auth, account = shop
    first = auth.login(EMAIL, PASSWORD).device_token
    second = auth.login(EMAIL, PASSWORD).device_token
    assert first is not None
    assert second is not None
    provisional = auth.issue_provisional_password(
        account.id, agent_id="agent-7", reason="appel du client"
    ).reveal()
    seen: list[str] = []

    def meanwhile() -> None:
        seen.append(
            outcome(
                lambda: auth.login(EMAIL, provisional, device_token=second.reveal())
            )
        )

    gate.arm(meanwhile, provisional.replace("-", ""))  # as it is checked
    mine = outcome(lambda: auth.login(EMAIL, provisional, device_token=first.reveal()))
    assert gate.error is None
    assert gate.finished
    assert sorted([mine, *seen]) == ["login.failed", "ok"]
