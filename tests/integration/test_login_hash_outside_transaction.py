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
from sample_forms import express, form, links, pending, temporary_password

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


# -- the second reader's attack on the hashes moved out (de82a50) ------------------


class _Pause:
    """Stops a call at one point, holding what its transaction locked so far."""

    def __init__(self) -> None:
        self.paused = threading.Event()
        self.go = threading.Event()

    def __call__(self) -> None:
        self.paused.set()
        self.go.wait(WAIT)


def _run(errors: dict[str, BaseException | None], name: str, call) -> threading.Thread:
    """Start *call* in a thread; note its exception (or ``None``) under *name*."""

    def target() -> None:
        try:
            call()
            errors[name] = None
        except BaseException as exc:  # noqa: BLE001 (asserted by the test)
            errors[name] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def _pause_before(monkeypatch, owner: object, name: str) -> _Pause:
    """Stop the calls of *owner*'s *name* before they run, until the race goes on."""
    pause, real = _Pause(), getattr(owner, name)

    def stopped(*args, **kwargs):
        pause()
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, stopped)
    return pause


def _race(pause: _Pause, first, second) -> dict[str, BaseException | None]:
    """Run *first* until *pause* stops it, then *second*; their errors by name.

    Each is a ``(name, call)``. The second has a second to reach what the
    first holds (and wait for it), then the first goes on; both are waited
    for.
    """
    errors: dict[str, BaseException | None] = {}
    one = _run(errors, *first)
    assert pause.paused.wait(WAIT)
    two = _run(errors, *second)
    two.join(1.0)
    pause.go.set()
    one.join(WAIT)
    two.join(WAIT)
    return errors


def _codes(exc: BaseException | None) -> set[str] | str:
    if exc is None:
        return "ok"
    if isinstance(exc, ValidationError):
        return exc.codes
    return type(exc).__name__


@pytest.mark.postgres
def test_an_express_completion_and_a_new_password_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch
):
    """X2, R4, R8: one wins, the other gets ``token.invalid``; never a deadlock.

    The completion locks its set-password link's row (consume) and only
    then the email's failure count (its ForgetFailures); the restricted
    session's new password locks the count first, then revokes every
    link, the set-password one included: opposite orders.
    """
    from echoppe_accounts.service_layer import express as express_module  # noqa: PLC0415

    service, auth, _ = services_over(postgres_uow_factory, clock)
    link = _set_password_link(service)
    auth.request_password_reset(GUEST)
    (mail,) = [m for m in pending(service) if m.kind.value == "reset_confirm"]
    auth.confirm_password_reset(links(mail)["confirmer"])
    (mail,) = _temporary_mails(service)
    session = auth.login(GUEST, temporary_password(mail))
    assert session.restricted
    change_token = session.change_token.reveal()
    # It stops with the link consumed (its row locked), the account not yet saved.
    pause = _pause_before(monkeypatch, express_module, "save")
    errors = _race(
        pause,
        (
            "complete",
            lambda: service.complete_express(
                link, CompletionForm(password=NEW, phone=PHONE)
            ),
        ),
        ("set", lambda: auth.set_new_password(change_token, OTHER)),
    )
    seen = {name: _codes(exc) for name, exc in errors.items()}
    assert seen in (
        {"complete": "ok", "set": {"token.invalid"}},
        {"complete": {"token.invalid"}, "set": "ok"},
    ), errors


@pytest.mark.postgres
def test_a_signup_link_and_an_erasure_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch
):
    """X5, G3, P4: the link's right password and an erasure: no deadlock.

    The link consumes its token (row lock), then writes the password-check
    count; erasure deletes the count's row, then the account's tokens:
    opposite orders.
    """
    from echoppe_accounts.service_layer import login_throttle  # noqa: PLC0415

    service, _, privacy = services_over(
        postgres_uow_factory, clock, verified_signup=True
    )
    service.register(form(email=EMAIL, password=PASSWORD))
    (mail,) = pending(service)
    token = links(mail)["verifier"]
    with pytest.raises(ValidationError):
        service.verify_signup(token, WRONG)  # the count's row now exists
    with postgres_uow_factory() as uow:
        account = uow.accounts.get_by_email_key(Email.parse(EMAIL).key)
    assert account is not None
    # It stops with the token consumed (its row locked), the count not yet written.
    pause = _pause_before(monkeypatch, login_throttle, "record_success")
    errors = _race(
        pause,
        ("verify", lambda: service.verify_signup(token, PASSWORD)),
        ("erase", lambda: privacy.erase_account(account.id)),
    )
    # Either may win; the loser says so as documented, never a StorageError.
    assert errors["verify"] is None or _codes(errors["verify"]) == {"token.invalid"}
    assert errors["erase"] is None or type(errors["erase"]) is ConcurrencyError, errors


@pytest.mark.postgres
def test_a_signup_replaced_while_its_link_counts_a_failure_leaves_no_count(
    postgres_uow_factory, clock, monkeypatch
):
    """X5, P4: a replaced sign-up keeps nothing, a failure being written included.

    The wrong password is counted in the link's second transaction; a new
    sign-up with the email, committed between that transaction's reads
    and its write, deletes the count without waiting for it, and the
    failure then recreates it for an account that no longer exists.
    """
    from echoppe_accounts.service_layer import login_throttle  # noqa: PLC0415

    service, _, _ = services_over(postgres_uow_factory, clock, verified_signup=True)
    service.register(form(email=EMAIL, password=PASSWORD))
    (mail,) = pending(service)
    token = links(mail)["verifier"]
    with postgres_uow_factory() as uow:
        first = uow.accounts.get_by_email_key(Email.parse(EMAIL).key)
    assert first is not None
    # It stops with the link and the count read, the failure not yet written.
    pause = _pause_before(monkeypatch, login_throttle, "record_failure")
    errors = _race(
        pause,
        ("guess", lambda: service.verify_signup(token, WRONG)),
        ("replace", lambda: service.register(form(email=EMAIL, password=NEW))),
    )
    assert errors["replace"] is None, errors
    assert _codes(errors["guess"]) in ({"password.wrong_current"}, {"token.invalid"})
    with postgres_uow_factory() as uow:
        assert uow.accounts.get(first.id) is None
        leaked = uow.throttles.get(password_check_key(first.id))
    assert leaked.failures == 0, "the removed sign-up's count came back"


def _email_change_link(service, account) -> str:
    service.change_email(account.id, "jean.nouveau@exemple.fr", PASSWORD)
    (mail,) = [m for m in pending(service) if m.to == "jean.nouveau@exemple.fr"]
    return next(iter(links(mail).values()))


@pytest.mark.parametrize(
    "change",
    ["new_request", "cancel", "erase", "disable", "email", "password", "provisional"],
)
def test_a_confirmation_ended_during_its_hash_mails_no_password(
    any_store, clock, change
):
    """R5, R8, G3, M2: a request ended during the hash is not confirmed.

    The call says ``token.invalid`` and no temporary password is mailed.
    """
    gate = Gate(PASSWORD)
    service, auth, privacy = services_over(any_store, clock, gate)
    account = service.register(form(email=EMAIL, password=PASSWORD))
    auth.request_password_reset(EMAIL)
    (mail,) = [m for m in pending(service) if m.kind.value == "reset_confirm"]
    found = links(mail)
    email_link = _email_change_link(service, account) if change == "email" else ""

    def meanwhile() -> None:
        if change == "new_request":
            clock.advance(timedelta(minutes=5))
            auth.request_password_reset(EMAIL)
        elif change == "cancel":
            auth.cancel_password_reset(found["annuler"])
        elif change == "erase":
            privacy.erase_account(account.id)
        elif change == "disable":
            auth.disable_account(account.id, agent_id="agent-7", reason="fraude")
        elif change == "email":
            service.confirm_email_change(email_link)
        elif change == "password":
            auth.change_password(account.id, PASSWORD, NEW)
        else:
            auth.issue_provisional_password(
                account.id, agent_id="agent-7", reason="appel du client"
            )

    gate.arm(meanwhile, ANY)
    with pytest.raises(ValidationError) as refused:
        auth.confirm_password_reset(found["confirmer"])
    assert gate.finished
    assert gate.error is None, gate.error
    assert refused.value.codes == {"token.invalid"}
    assert _temporary_mails(service) == []


@pytest.mark.parametrize("change", ["erase", "disable", "reset", "provisional"])
def test_an_express_account_changed_during_its_hash_is_not_completed(
    any_store, clock, change
):
    """X2, R8, G3, M2: a completion whose account changed meanwhile is refused."""
    gate = Gate(NEW)
    service, auth, privacy = services_over(any_store, clock, gate)
    link = _set_password_link(service)
    with any_store() as uow:
        account = uow.accounts.get_by_email_key(Email.parse(GUEST).key)
    assert account is not None

    def meanwhile() -> None:
        if change == "erase":
            privacy.erase_account(account.id)
        elif change == "disable":
            auth.disable_account(account.id, agent_id="agent-7", reason="fraude")
        elif change == "reset":
            auth.request_password_reset(GUEST)
            (mail,) = [m for m in pending(service) if m.kind.value == "reset_confirm"]
            auth.confirm_password_reset(links(mail)["confirmer"])
        else:
            auth.issue_provisional_password(
                account.id, agent_id="agent-7", reason="appel du client"
            )

    gate.arm(meanwhile)
    with pytest.raises(ValidationError) as refused:
        service.complete_express(link, CompletionForm(password=NEW, phone=PHONE))
    assert gate.finished
    assert gate.error is None, gate.error
    assert refused.value.codes == {"token.invalid"}
    assert outcome(lambda: auth.login(GUEST, NEW)) == "login.failed"


def test_an_express_checkout_during_the_hash_does_not_stop_the_completion(shop, gate):
    """X2, X3: a second checkout to the address meanwhile changes no stamp."""
    service, auth, _ = shop
    link = _set_password_link(service)
    gate.arm(lambda: service.register_express(express(email=GUEST)), NEW)
    done = service.complete_express(link, CompletionForm(password=NEW, phone=PHONE))
    assert gate.finished
    assert gate.error is None, gate.error
    assert auth.login(GUEST, NEW).account_id == done.id


@pytest.mark.parametrize("change", ["replace", "erase", "guesses"])
def test_a_signup_changed_during_its_hash_opens_nothing(any_store, clock, change):
    """X5, P4, G3: the link's check counts for nothing if the sign-up changed."""
    gate = Gate(PASSWORD)
    service, auth, privacy = services_over(any_store, clock, gate, verified_signup=True)
    service.register(form(email=EMAIL, password=PASSWORD))
    (mail,) = pending(service)
    token = links(mail)["verifier"]
    with any_store() as uow:
        first = uow.accounts.get_by_email_key(Email.parse(EMAIL).key)
    assert first is not None
    codes: list[object] = []

    def meanwhile() -> None:
        if change == "replace":
            service.register(form(email=EMAIL, password=NEW))
        elif change == "erase":
            privacy.erase_account(first.id)
        else:  # the free attempts used up meanwhile
            for _ in range(service.throttle_policy.free_attempts + 2):
                try:
                    service.verify_signup(token, WRONG)
                except ValidationError as exc:
                    codes.append(exc.codes)

    gate.arm(meanwhile)
    with pytest.raises(ValidationError) as refused:
        service.verify_signup(token, PASSWORD)
    assert gate.finished
    assert gate.error is None, gate.error
    expected = {"login.throttled"} if change == "guesses" else {"token.invalid"}
    assert refused.value.codes == expected
    assert outcome(lambda: auth.login(EMAIL, PASSWORD)) == "login.failed"
    with any_store() as uow:
        count = uow.throttles.get(password_check_key(first.id)).failures
    assert count == (
        service.throttle_policy.free_attempts + 1 if change == "guesses" else 0
    )


class _Outdated(Gate):
    """A gate whose stored hashes all count as outdated (SPEC P1)."""

    def needs_rehash(self, password_hash: str) -> bool:  # noqa: ARG002
        return True


@pytest.mark.postgres
def test_a_confirmation_and_a_login_upgrading_the_hash_at_once(
    postgres_uow_factory, clock, monkeypatch
):
    """R3, P1: a login upgrading the hash while a reset is confirmed.

    The confirmation's second transaction reads the account, then waits
    for the email's failure count, which the login holds while it writes
    the upgraded hash: the account it then saves is older than the
    login's, and ``ConcurrencyError`` (undocumented there) escapes.
    """
    gate = _Outdated(PASSWORD)
    service, auth, _ = services_over(postgres_uow_factory, clock, gate)
    service.register(form(email=EMAIL, password=PASSWORD))
    auth.request_password_reset(EMAIL)
    (mail,) = [m for m in pending(service) if m.kind.value == "reset_confirm"]
    pause, real_upgrade = _Pause(), AuthService._upgrade_hash

    def upgrade(self, *args, **kwargs):
        real_upgrade(self, *args, **kwargs)
        pause()  # the count locked, the account written, not committed

    monkeypatch.setattr(AuthService, "_upgrade_hash", upgrade)
    errors: dict[str, BaseException | None] = {}

    def meanwhile() -> None:  # during the confirmation's hash
        _run(errors, "login", lambda: auth.login(EMAIL, PASSWORD))
        assert pause.paused.wait(WAIT)
        threading.Timer(1.0, pause.go.set).start()

    gate.arm(meanwhile, ANY)
    try:
        auth.confirm_password_reset(links(mail)["confirmer"])
        errors["confirm"] = None
    except BaseException as exc:  # noqa: BLE001 (asserted below)
        errors["confirm"] = exc
    assert gate.finished
    assert gate.error is None, gate.error
    pause.go.set()
    assert errors["confirm"] is None, errors
    assert len(_temporary_mails(service)) == 1


@pytest.mark.postgres
def test_an_express_completion_and_an_erasure_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch
):
    """X2, G3: the completion and staff's erasure of the account: no deadlock.

    The completion consumes its link (the token's row), then writes the
    email's failure count (ForgetFailures); erasure deletes the count's
    row, then the tokens: opposite orders.
    """
    from echoppe_accounts.service_layer import express as express_module  # noqa: PLC0415

    service, auth, privacy = services_over(postgres_uow_factory, clock)
    link = _set_password_link(service)
    assert outcome(lambda: auth.login(GUEST, WRONG)) == "login.failed"  # a row
    with postgres_uow_factory() as uow:
        account = uow.accounts.get_by_email_key(Email.parse(GUEST).key)
    assert account is not None
    # It stops with the link consumed (its row locked), the account not yet saved.
    pause = _pause_before(monkeypatch, express_module, "save")
    errors = _race(
        pause,
        (
            "complete",
            lambda: service.complete_express(
                link, CompletionForm(password=NEW, phone=PHONE)
            ),
        ),
        ("erase", lambda: privacy.erase_account(account.id)),
    )
    assert errors["complete"] is None or _codes(errors["complete"]) == {
        "token.invalid"
    }, errors
    assert errors["erase"] is None or type(errors["erase"]) is ConcurrencyError, errors


@pytest.mark.postgres
def test_a_new_password_and_an_erasure_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch
):
    """R4, G3: the restricted session's new password and an erasure: no deadlock."""
    from echoppe_accounts.service_layer import reset as reset_module  # noqa: PLC0415

    service, auth, privacy = services_over(postgres_uow_factory, clock)
    account = service.register(form(email=EMAIL, password=PASSWORD))
    assert outcome(lambda: auth.login(EMAIL, WRONG)) == "login.failed"
    token = restricted(auth, account)
    # It stops with the change token consumed (its row locked), counts not written.
    pause = _pause_before(monkeypatch, reset_module, "password_changed")
    errors = _race(
        pause,
        ("set", lambda: auth.set_new_password(token, NEW)),
        ("erase", lambda: privacy.erase_account(account.id)),
    )
    assert errors["set"] is None or _codes(errors["set"]) == {"token.invalid"}, errors
    assert errors["erase"] is None or type(errors["erase"]) is ConcurrencyError, errors


def test_a_provisional_password_does_not_open_an_unverified_signup(any_store, clock):
    """X5 (pre-hijacking), R7: customer service cannot open an unproven sign-up.

    Whoever signed up with somebody else's address calls customer service
    ("the mail does not arrive"): a provisional password would let them
    in and, once a new password is set, make the account active with its
    mailbox marked proven, which the link and its password were there to
    prevent. Refused as ``disable_account`` refuses it.
    """
    service, auth, _ = services_over(any_store, clock, verified_signup=True)
    service.register(form(email=EMAIL, password=PASSWORD))
    with any_store() as uow:
        account = uow.accounts.get_by_email_key(Email.parse(EMAIL).key)
    assert account is not None
    with pytest.raises(ValidationError) as refused:
        auth.issue_provisional_password(
            account.id, agent_id="agent-7", reason="le mail n'arrive pas"
        )
    assert refused.value.codes == {"account.unverified"}


# -- the lock-order audit: every use case against the agreed order ------------------
#
# On PostgreSQL the agreed order is: (1) the email's failure count, (2) the
# account's row, (3) anything else (links, resets, other counts, mails).
# Each test below stops one use case holding a lock of (3) (or of (1)
# without (2)) and runs another that takes them in the agreed order; the
# server then finds a deadlock (40P01, a StorageError) unless the first one
# also takes the agreed order.


def _not_storage(errors: dict[str, BaseException | None]) -> None:
    """Assert that no call ended in a StorageError (a deadlock on PostgreSQL)."""
    from echoppe_accounts import StorageError  # noqa: PLC0415

    lost = {
        name: exc
        for name, exc in errors.items()
        if isinstance(exc, StorageError) and not isinstance(exc, ConcurrencyError)
    }
    assert not lost, lost


@pytest.mark.postgres
def test_a_newsletter_confirmation_and_an_erasure_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch
):
    """F7, G3: the double opt-in link and staff's erasure: no deadlock.

    The confirmation consumes its link (the token's row), then saves the
    account; erasure locks the email's count and the account's row, then
    deletes the account's tokens: opposite orders.
    """
    from echoppe_accounts.service_layer import consent as consent_module  # noqa: PLC0415

    service, _, privacy = services_over(postgres_uow_factory, clock)
    account = service.register(
        form(
            email=EMAIL,
            password=PASSWORD,
            newsletter=True,
            newsletter_wording_version="nl-2026-01",
        )
    )
    (mail,) = [m for m in pending(service) if m.kind.value == "newsletter_confirm"]
    token = next(iter(links(mail).values()))
    # It stops with the link consumed (its row locked), the account not yet saved.
    pause = _pause_before(monkeypatch, consent_module, "save")
    errors = _race(
        pause,
        ("confirm", lambda: privacy.confirm_newsletter_subscription(token)),
        ("erase", lambda: privacy.erase_account(account.id)),
    )
    _not_storage(errors)
    assert errors["confirm"] is None or _codes(errors["confirm"]) == {
        "token.invalid"
    }, errors
    assert errors["erase"] is None or type(errors["erase"]) is ConcurrencyError, errors


def _pause_after_first_apply(monkeypatch, pause: _Pause) -> None:
    """Stop the first ``save`` to run, its effects applied, its account not saved.

    Only the first call stops (one-shot): the use case run meanwhile goes
    through ``save`` at once.
    """
    from echoppe_accounts.service_layer import _ports  # noqa: PLC0415

    real_apply, first = _ports._apply, threading.current_thread()
    stopped: list[threading.Thread] = []

    def apply(uow, account_id, effect, now):
        real_apply(uow, account_id, effect, now)
        me = threading.current_thread()
        if me is not first and (not stopped or stopped[0] is me):
            stopped[:] = [me]
            pause.paused.set()
            pause.go.wait(WAIT)

    monkeypatch.setattr(_ports, "_apply", apply)


@pytest.mark.postgres
def test_a_disabling_and_an_email_confirmation_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch
):
    """M2, F10, R8: customer service disables while the new address is confirmed.

    Disabling revokes the account's links (the confirm link's row among
    them), then saves the account; the confirmation locks the email's
    count and the account's row, then consumes its link: opposite orders.
    """
    service, auth, _ = services_over(postgres_uow_factory, clock)
    account = service.register(form(email=EMAIL, password=PASSWORD))
    link = _email_change_link(service, account)
    pause = _Pause()
    _pause_after_first_apply(monkeypatch, pause)
    errors = _race(
        pause,
        (
            "disable",
            lambda: auth.disable_account(
                account.id, agent_id="agent-7", reason="fraude"
            ),
        ),
        ("confirm", lambda: service.confirm_email_change(link)),
    )
    _not_storage(errors)
    assert errors["confirm"] is None or _codes(errors["confirm"]) == {
        "token.invalid"
    }, errors
    assert errors["disable"] is None or type(errors["disable"]) is ConcurrencyError


@pytest.mark.postgres
def test_a_new_email_request_and_a_confirmation_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch
):
    """F10, R8: a second request for a new address while the first is confirmed.

    The request revokes the pending confirm link (its row), then saves
    the account; the confirmation locks the count and the account's row,
    then consumes that link: opposite orders.
    """
    service, _, _ = services_over(postgres_uow_factory, clock)
    account = service.register(form(email=EMAIL, password=PASSWORD))
    link = _email_change_link(service, account)
    pause = _Pause()
    _pause_after_first_apply(monkeypatch, pause)
    errors = _race(
        pause,
        (
            "request",
            lambda: service.change_email(account.id, "jean.autre@exemple.fr", PASSWORD),
        ),
        ("confirm", lambda: service.confirm_email_change(link)),
    )
    _not_storage(errors)
    assert errors["confirm"] is None or _codes(errors["confirm"]) == {
        "token.invalid"
    }, errors
    assert errors["request"] is None or type(errors["request"]) is ConcurrencyError


@pytest.mark.postgres
def test_a_new_reset_request_and_an_erasure_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch
):
    """R1, R2, G3: a request superseding an active one while the account is erased.

    The request updates the earlier request's row (superseded), then
    inserts its own, whose foreign key locks the account's row (KEY
    SHARE); erasure locks the account's row (FOR UPDATE), then deletes
    the requests: opposite orders.
    """
    from echoppe_accounts.adapters import postgres  # noqa: PLC0415

    service, auth, privacy = services_over(postgres_uow_factory, clock)
    account = service.register(form(email=EMAIL, password=PASSWORD))
    auth.request_password_reset(EMAIL)
    clock.advance(timedelta(minutes=5))  # past the cooldown, the first active
    pause, real_save = _Pause(), postgres._Resets.save

    def save(self, request):
        real_save(self, request)
        pause()  # the earlier request superseded (its row locked), none added

    monkeypatch.setattr(postgres._Resets, "save", save)
    errors = _race(
        pause,
        ("request", lambda: auth.request_password_reset(EMAIL)),
        ("erase", lambda: privacy.erase_account(account.id)),
    )
    _not_storage(errors)
    assert errors["request"] is None, errors
    assert errors["erase"] is None or type(errors["erase"]) is ConcurrencyError, errors


@pytest.mark.postgres
def test_a_replacing_signup_and_its_link_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch
):
    """X5, P4: a new sign-up replacing an unverified one while its link is used.

    The replacing sign-up locks the old sign-up's password-check count,
    deletes its rows, then the account's row; the link locks the email's
    count and the account's row, then the password-check count: opposite
    orders.
    """
    from echoppe_accounts.adapters import postgres  # noqa: PLC0415

    gate = Gate(PASSWORD)
    service, _, _ = services_over(
        postgres_uow_factory, clock, gate, verified_signup=True
    )
    service.register(form(email=EMAIL, password=PASSWORD))
    (mail,) = pending(service)
    token = links(mail)["verifier"]
    with postgres_uow_factory() as uow:
        first = uow.accounts.get_by_email_key(Email.parse(EMAIL).key)
    assert first is not None
    check_key = password_check_key(first.id)
    pause, real_delete = _Pause(), postgres._Throttles.delete

    def delete(self, key):
        if key == check_key:
            pause()  # the old sign-up's check count locked, its account not
        real_delete(self, key)

    monkeypatch.setattr(postgres._Throttles, "delete", delete)
    errors: dict[str, BaseException | None] = {}

    def meanwhile() -> None:  # during the link's password check
        _run(
            errors, "replace", lambda: service.register(form(email=EMAIL, password=NEW))
        )
        assert pause.paused.wait(WAIT)
        threading.Timer(1.0, pause.go.set).start()  # once the link waits

    gate.arm(meanwhile)
    try:
        service.verify_signup(token, PASSWORD)
        errors["verify"] = None
    except BaseException as exc:  # noqa: BLE001 (asserted below)
        errors["verify"] = exc
    assert gate.finished
    assert gate.error is None, gate.error
    pause.go.set()
    for _ in range(int(WAIT * 10)):
        if "replace" in errors:
            break
        threading.Event().wait(0.1)
    _not_storage(errors)
    assert errors["verify"] is None or _codes(errors["verify"]) == {"token.invalid"}, (
        errors
    )
    assert errors["replace"] is None, errors


@pytest.mark.postgres
def test_a_signup_opened_while_being_replaced_is_not_deleted(
    postgres_uow_factory, clock, monkeypatch
):
    """X5: a sign-up opened by its link is never removed as an unverified one.

    A new sign-up with the email reads the old one (unverified), and
    removes it later by its id, whatever it has become: the link's owner,
    who opened the account meanwhile, loses it.
    """
    from echoppe_accounts.adapters import postgres  # noqa: PLC0415

    service, auth, _ = services_over(postgres_uow_factory, clock, verified_signup=True)
    service.register(form(email=EMAIL, password=PASSWORD))
    (mail,) = pending(service)
    token = links(mail)["verifier"]
    with postgres_uow_factory() as uow:
        first = uow.accounts.get_by_email_key(Email.parse(EMAIL).key)
    assert first is not None
    pause, real_get = _Pause(), postgres._Accounts.get_by_email_key

    def get_by_email_key(self, key):
        found = real_get(self, key)
        if not pause.paused.is_set():
            pause()  # the old sign-up read as unverified, not yet removed
        return found

    monkeypatch.setattr(postgres._Accounts, "get_by_email_key", get_by_email_key)
    errors: dict[str, BaseException | None] = {}
    replace = _run(
        errors, "replace", lambda: service.register(form(email=EMAIL, password=NEW))
    )
    assert pause.paused.wait(WAIT)
    service.verify_signup(token, PASSWORD)  # the owner opens it meanwhile
    pause.go.set()
    replace.join(WAIT)
    _not_storage(errors)
    with postgres_uow_factory() as uow:
        kept = uow.accounts.get(first.id)
    assert kept is not None, "the account its owner just opened was deleted"
    assert auth.login(EMAIL, PASSWORD).account_id == first.id


@pytest.mark.postgres
def test_a_reset_confirmation_and_a_contact_edit_at_once_leak_no_concurrency_error(
    postgres_uow_factory, clock, monkeypatch
):
    """R3: a reset's confirmation says ``token.invalid`` or succeeds, nothing else.

    The confirmation reads the account under the email's count but does
    not lock its row: an edit that takes no count (the name, the phone,
    an address) commits before the confirmation saves the account, and
    its ``ConcurrencyError`` escapes where the docstring promises only
    ``token.invalid``.
    """
    from echoppe_accounts.service_layer import reset as reset_module  # noqa: PLC0415

    service, auth, _ = services_over(postgres_uow_factory, clock)
    account = service.register(form(email=EMAIL, password=PASSWORD))
    auth.request_password_reset(EMAIL)
    (mail,) = [m for m in pending(service) if m.kind.value == "reset_confirm"]
    # It stops with the request confirmed (its row written), the account not saved.
    pause = _pause_before(monkeypatch, reset_module, "save")
    errors = _race(
        pause,
        ("confirm", lambda: auth.confirm_password_reset(links(mail)["confirmer"])),
        ("edit", lambda: service.update_contact(account.id, name="Jean Dupond")),
    )
    assert errors["confirm"] is None or _codes(errors["confirm"]) == {
        "token.invalid"
    }, errors
    assert errors["edit"] is None or type(errors["edit"]) is ConcurrencyError, errors


@pytest.mark.postgres
@pytest.mark.parametrize("change", ["unsubscribe", "subscribe", "request"])
def test_a_newsletter_change_and_an_erasure_at_once_do_not_deadlock(
    postgres_uow_factory, clock, monkeypatch, change
):
    """F7, G3: a newsletter change ending the pending confirm link, and erasure.

    The change revokes the pending link (its row), then saves the account;
    erasure locks the email's count and the account's row, then deletes
    the account's links: opposite orders, unless the change takes the
    count and the account first.
    """
    from echoppe_accounts import ConsentSource  # noqa: PLC0415

    service, _, privacy = services_over(postgres_uow_factory, clock)
    account = service.register(form(email=EMAIL, password=PASSWORD))
    privacy.request_newsletter_subscription(
        account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-2026-01"
    )  # a pending confirm link: a row to revoke
    calls = {
        "unsubscribe": lambda: service.unsubscribe_newsletter(
            account.id, source=ConsentSource.ACCOUNT_PAGE
        ),
        "subscribe": lambda: service.subscribe_newsletter(
            account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-2026-02"
        ),
        "request": lambda: privacy.request_newsletter_subscription(
            account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-2026-02"
        ),
    }
    pause = _Pause()
    _pause_after_first_apply(monkeypatch, pause)
    errors: dict[str, BaseException | None] = {}
    first = _run(errors, "change", calls[change])
    assert pause.paused.wait(WAIT)
    erase = _run(errors, "erase", lambda: privacy.erase_account(account.id))
    erase.join(1.0)  # it waits for the link's row, or for the account
    pause.go.set()
    first.join(WAIT)
    erase.join(WAIT)
    _not_storage(errors)
    assert errors["erase"] is None or type(errors["erase"]) is ConcurrencyError, errors
    assert errors["change"] is None or _codes(errors["change"]) == {"account.erased"}, (
        errors
    )
