"""The account's cap across client keys, and device tokens (SPEC P4, amended; R8).

The review's reproductions (issue 18): guesses spread over the addresses
of one IPv6 /64, over five spellings of one IPv4 address, or over fresh
session ids, all meet the account's cap; the owner, whose browser got a
device token at an earlier login, still logs in during the attack. On the
in-memory store and SQLite; the contract suite proves PostgreSQL alike.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import threading
from datetime import timedelta

import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AuthenticationError,
    AuthService,
    ClientLimits,
    InMemoryStore,
    Limit,
    MailKind,
    PrivacyService,
    RateLimitedError,
    Settings,
    SQLiteStore,
    SystemSecrets,
    ThrottlePolicy,
    TokenPurpose,
)
from echoppe_accounts.domain.device import DEVICE_TOKEN_TTL, device_digest
from echoppe_accounts.domain.tokens import TOKEN_BYTES
from echoppe_accounts.service_layer.login_throttle import (
    PURGE_ONE_IN,
    revoke_device_tokens,
)
from sample_forms import form, links, pending, temporary_password

EMAIL = "jean.dupont@exemple.fr"
PASSWORD = "une phrase de passe solide"
NEW_PASSWORD = "un tout autre secret bien long"
WRONG = "pas le bon"


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    """A unit-of-work factory on the in-memory store, then on SQLite."""
    if request.param == "memory":
        return InMemoryStore().unit_of_work
    return SQLiteStore(tmp_path / "accounts.sqlite3").unit_of_work


def make_services(store, clock, **settings):
    """Account, auth and privacy services over *store*."""
    parts = {
        "uow": store,
        "clock": clock,
        "secrets": SystemSecrets(),
        "hasher": FAST_HASHER,
        "settings": Settings(base_url="https://www.lechoppe.fr", **settings),
    }
    return AccountService(**parts), AuthService(**parts), PrivacyService(**parts)


@pytest.fixture
def shop(store, clock):
    """The services, with no per-client limit in the way of the attacks."""
    limits = ClientLimits(login=None, reset=None, signup=None, express=None)
    return make_services(store, clock, client_limits=limits)


def attempt(auth, password, **keys) -> str:
    """Log in once; return ``"ok"`` or the refusal's code."""
    try:
        auth.login(EMAIL, password, **keys)
    except AuthenticationError as exc:
        return exc.code
    return "ok"


def patient_attack(auth, clock, keys) -> dict[str, int]:
    """Guess with each client key in turn, waiting out every delay asked for.

    Return how many attempts ended in each outcome.
    """
    outcomes: dict[str, int] = {}
    for key in keys:
        try:
            auth.login(EMAIL, WRONG, client_key=key)
        except AuthenticationError as exc:
            outcomes[exc.code] = outcomes.get(exc.code, 0) + 1
            if exc.code == "login.throttled":
                clock.advance(timedelta(seconds=exc.retry_after or 0))
    return outcomes


def one_slash_64(count: int) -> list[str]:
    """*count* addresses of one IPv6 /64, one per attempt."""
    return [f"2001:db8:42:7::{n:x}" for n in range(1, count + 1)]


# -- the review's reproductions -------------------------------------------------------


def test_five_hundred_guesses_from_one_slash_64_meet_the_hard_block(shop, clock):
    """P4: 500 guesses, one address each: throttled, then blocked for good.

    The attacker waits out every delay; the account's count stops at the
    hard block, and the right password is refused afterwards, from the
    same /64 and from anywhere else, until a reset ends the block.
    """
    service, auth, _ = shop
    service.register(form())
    outcomes = patient_attack(auth, clock, one_slash_64(500))
    assert outcomes["login.failed"] == ThrottlePolicy().hard_block
    assert outcomes["login.throttled"] > 0
    assert outcomes["login.blocked"] > 0
    assert sum(outcomes.values()) == 500
    clock.advance(timedelta(days=2))
    for key in ("2001:db8:42:7::ffff", "198.51.100.20", "une-session", None):
        assert attempt(auth, PASSWORD, client_key=key) == "login.blocked"
    # The block ends with a reset: the temporary password opens the account.
    auth.request_password_reset(EMAIL)
    (mail,) = [m for m in pending(service) if m.kind is MailKind.RESET_CONFIRM]
    auth.confirm_password_reset(links(mail)["confirmer"])
    (mail,) = [m for m in pending(service) if m.kind is MailKind.TEMPORARY_PASSWORD]
    result = auth.login(EMAIL, temporary_password(mail), client_key="198.51.100.20")
    assert result.restricted


def test_one_ipv4_address_written_five_ways_is_one_client(shop):
    """P4: 20 guesses rotating over five spellings of one address: throttled.

    Four failures are free for a client, the fifth asks for a wait; from
    the sixth attempt on, every spelling is refused as the same client,
    before the account's own cap (ten free failures) is reached.
    """
    service, auth, _ = shop
    service.register(form())
    spellings = [
        "203.0.113.7",
        "203.0.113.7 ",
        "::ffff:203.0.113.7",
        "::FFFF:cb00:7107",
        "0000:0000:0000:0000:0000:ffff:cb00:7107",
    ]
    outcomes = [attempt(auth, WRONG, client_key=spellings[n % 5]) for n in range(20)]
    assert outcomes == ["login.failed"] * 5 + ["login.throttled"] * 15
    # Another client is not slowed down yet: the account's cap is ten.
    assert attempt(auth, PASSWORD, client_key="198.51.100.20") == "ok"


def test_a_new_session_id_per_guess_meets_the_account_cap(shop):
    """P4: a fresh session id as key for each guess does not escape the cap."""
    service, auth, _ = shop
    service.register(form())
    free = ThrottlePolicy().account_free_attempts
    outcomes = [
        attempt(auth, WRONG, client_key=secrets.token_urlsafe(16)) for _ in range(30)
    ]
    failed = free + 1  # ten free failures; the eleventh asks for the first wait
    assert outcomes == ["login.failed"] * failed + ["login.throttled"] * (30 - failed)
    fresh = secrets.token_urlsafe(16)
    assert attempt(auth, PASSWORD, client_key=fresh) == "login.throttled"


def test_the_owner_with_a_device_token_logs_in_during_an_attack(shop, clock):
    """P4: the owner's device keeps its own budget while the account is blocked."""
    service, auth, _ = shop
    service.register(form())
    earlier = auth.login(EMAIL, PASSWORD, client_key="192.0.2.10")
    assert earlier.device_token is not None
    assert patient_attack(auth, clock, one_slash_64(300))["login.blocked"]
    assert attempt(auth, PASSWORD, client_key="192.0.2.10") == "login.blocked"
    device = earlier.device_token.reveal()
    # A typo on the owner's device costs the device's budget only.
    assert attempt(auth, WRONG, client_key="192.0.2.10", device_token=device) == (
        "login.failed"
    )
    result = auth.login(EMAIL, PASSWORD, client_key="192.0.2.10", device_token=device)
    assert result.account_id
    assert result.device_token is not None
    assert result.device_token.reveal() != device
    # The token was used up: the next login presents the new one.
    assert attempt(auth, PASSWORD, device_token=device) == "login.blocked"
    again = auth.login(EMAIL, PASSWORD, device_token=result.device_token.reveal())
    assert again.account_id == result.account_id
    # The attackers' count was not reset by the owner's logins.
    assert attempt(auth, PASSWORD, client_key="2001:db8:42:7::1") == "login.blocked"


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def any_store(request, tmp_path):
    """A unit-of-work factory on each storage adapter, PostgreSQL included."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_uow_factory")
    if request.param == "memory":
        return InMemoryStore().unit_of_work
    return SQLiteStore(tmp_path / "accounts.sqlite3").unit_of_work


def test_concurrent_guesses_over_many_keys_lose_no_failure(any_store, clock):
    """P4: 20 guesses at once, each with its own key: the cap counts every one.

    The account's count is locked by each attempt, whatever its key, so
    exactly the free failures and the first delayed one are let through
    and the others are refused, on every storage adapter.
    """
    limits = ClientLimits(login=None)
    service, auth, _ = make_services(any_store, clock, client_limits=limits)
    service.register(form())
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def guess(n: int) -> None:
        barrier.wait()
        outcomes.append(attempt(auth, WRONG, client_key=f"198.51.100.{n}"))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    failed = ThrottlePolicy().account_free_attempts + 1
    assert sorted(outcomes) == ["login.failed"] * failed + ["login.throttled"] * (
        20 - failed
    )


# -- device tokens ------------------------------------------------------------------


def blocked_account(shop, clock):
    """Register the account, log in once (a device token), then block it."""
    service, auth, _ = shop
    account = service.register(form())
    token = auth.login(EMAIL, PASSWORD).device_token
    assert token is not None
    assert patient_attack(auth, clock, one_slash_64(300))["login.blocked"]
    return account, token.reveal()


def test_a_device_token_of_another_account_counts_as_none(shop, clock):
    """P4: a valid token of another account, or garbage, gives no budget."""
    service, auth, _ = shop
    service.register(form(email="autre@exemple.fr"))
    foreign = auth.login("autre@exemple.fr", PASSWORD).device_token
    assert foreign is not None
    blocked_account(shop, clock)
    for token in (foreign.reveal(), "x" * 43, "x" * 10_000, "\ud800", ""):
        assert attempt(auth, PASSWORD, device_token=token) == "login.blocked"
    # Nor does it for an email without an account.
    with pytest.raises(AuthenticationError) as info:
        auth.login("personne@exemple.fr", PASSWORD, device_token=foreign.reveal())
    assert info.value.code == "login.failed"
    # The foreign token still works for its own account.
    assert auth.login("autre@exemple.fr", PASSWORD, device_token=foreign.reveal())


def test_a_device_token_expires(shop, clock):
    """P4: past its lifetime a device token counts as none."""
    _, auth, _ = shop
    _, token = blocked_account(shop, clock)
    clock.advance(DEVICE_TOKEN_TTL)
    assert attempt(auth, PASSWORD, device_token=token) == "login.blocked"


def test_a_device_budget_has_its_own_hard_block(shop, clock):
    """P4: a stolen device token gives 100 guesses at most, then blocks itself."""
    service, auth, _ = shop
    service.register(form())
    token = auth.login(EMAIL, PASSWORD).device_token
    assert token is not None
    failures = 0
    for _ in range(150):
        code = attempt(auth, WRONG, device_token=token.reveal())
        if code == "login.failed":
            failures += 1
        clock.advance(timedelta(minutes=20))
    assert failures == ThrottlePolicy().hard_block
    assert attempt(auth, PASSWORD, device_token=token.reveal()) == "login.blocked"
    # The account's own count saw none of it.
    assert attempt(auth, PASSWORD) == "ok"


def devices(auth, account_id):
    """The device-token records of *account_id*, usable or not."""
    with auth.uow() as tx:
        records = tx.tokens.for_account(account_id)
    return [r for r in records if r.purpose is TokenPurpose.DEVICE]


def usable_devices(auth, account_id):
    """The device tokens of *account_id* that would still be accepted."""
    now = auth.clock.now()
    return [r for r in devices(auth, account_id) if r.is_usable(now)]


def test_a_password_change_ends_every_device_budget(shop, clock):
    """P4, R8: after a password change an old device token counts as none."""
    _, auth, _ = shop
    account, token = blocked_account(shop, clock)
    auth.change_password(account.id, PASSWORD, NEW_PASSWORD)
    assert usable_devices(auth, account.id) == []
    assert patient_attack(auth, clock, one_slash_64(300))["login.blocked"]
    assert attempt(auth, NEW_PASSWORD, device_token=token) == "login.blocked"


def finish_reset(service, auth, account):
    """A reset by mail, through to the new password."""
    del account
    auth.request_password_reset(EMAIL)
    mail = [m for m in pending(service) if m.kind is MailKind.RESET_CONFIRM][-1]
    auth.confirm_password_reset(links(mail)["confirmer"])
    mail = [m for m in pending(service) if m.kind is MailKind.TEMPORARY_PASSWORD][-1]
    restricted = auth.login(EMAIL, temporary_password(mail))
    assert restricted.device_token is None  # a restricted login proves nothing yet
    assert restricted.change_token is not None
    auth.set_new_password(restricted.change_token.reveal(), NEW_PASSWORD)


def provisional(service, auth, account):
    """Customer service's provisional password."""
    del service
    auth.issue_provisional_password(account.id, agent_id="a-1", reason="bloqué")


def email_change(service, auth, account):
    """An email change, confirmed from the new mailbox."""
    del auth
    service.change_email(account.id, "jean@nouveau.fr", PASSWORD)
    mail = [m for m in pending(service) if m.kind is MailKind.EMAIL_CHANGE_CONFIRM][-1]
    service.confirm_email_change(links(mail)["confirmer"])


@pytest.mark.parametrize("change", [finish_reset, provisional, email_change])
def test_every_change_of_how_the_account_opens_revokes_device_tokens(shop, change):
    """P4, R8: a reset, a provisional password, an email change end them all."""
    service, auth, _ = shop
    account = service.register(form())
    auth.login(EMAIL, PASSWORD)
    auth.login(EMAIL, PASSWORD, client_key="198.51.100.20")
    assert len(usable_devices(auth, account.id)) == 2
    change(service, auth, account)
    assert usable_devices(auth, account.id) == []


def test_revoke_device_tokens_ends_every_device_budget(shop):
    """P4: the function a use case calls to end every device's standing."""
    service, auth, _ = shop
    account = service.register(form())
    auth.login(EMAIL, PASSWORD)
    auth.login(EMAIL, PASSWORD)
    with auth.uow() as tx:
        assert revoke_device_tokens(tx.tokens, account.id, auth.clock.now()) == 2
        tx.commit()
    assert usable_devices(auth, account.id) == []


def test_erasure_deletes_device_tokens(shop):
    """P4, G3: an erased account keeps no device token."""
    service, auth, privacy = shop
    account = service.register(form())
    token = auth.login(EMAIL, PASSWORD).device_token
    assert token is not None
    privacy.erase_account(account.id)
    assert devices(auth, account.id) == []
    assert attempt(auth, PASSWORD, device_token=token.reveal()) == "login.failed"


def test_a_device_token_is_stored_only_as_its_digest(shop):
    """P4: the store holds the digest of the token, bound to its account."""
    service, auth, _ = shop
    account = service.register(form())
    token = auth.login(EMAIL, PASSWORD).device_token
    assert token is not None
    assert len(token.reveal()) >= 22  # at least 128 bits, base64url
    assert token.reveal() not in repr(token)
    (record,) = devices(auth, account.id)
    assert record.digest == device_digest(token.reveal())
    assert token.reveal() not in repr(record)
    assert record.account_id == account.id
    assert record.expires_at - record.created_at == DEVICE_TOKEN_TTL


def test_device_tokens_do_not_pile_up(shop, clock):
    """P4: each login with a device token replaces it; used ones are deleted."""
    service, auth, _ = shop
    account = service.register(form())
    token = auth.login(EMAIL, PASSWORD).device_token
    for _ in range(5):
        assert token is not None
        token = auth.login(EMAIL, PASSWORD, device_token=token.reveal()).device_token
        clock.advance(timedelta(minutes=1))
    records = devices(auth, account.id)
    assert len(records) == 1
    assert records[0].is_usable(clock.now())


class ChosenSecrets(SystemSecrets):
    """The system's randomness, but the device tokens the test lines up."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def token_urlsafe(self, nbytes: int) -> str:
        if self.tokens and nbytes == TOKEN_BYTES:
            return self.tokens.pop(0)
        return super().token_urlsafe(nbytes)


def device_tokens(count: int, *, purging: bool, start: int = 0) -> list[str]:
    """*count* device tokens whose login purges the dead ones, or does not."""
    found: list[str] = []
    for n in itertools.count(start):
        candidate = f"{n:043d}"
        digest = device_digest(candidate)
        assert digest is not None
        if (int(digest[:2], 16) < 256 // PURGE_ONE_IN) == purging:
            found.append(candidate)
            if len(found) == count:
                return found
    raise AssertionError  # pragma: no cover (itertools.count never ends)


@pytest.fixture
def chosen(store, clock):
    """The services, their device tokens drawn from a list the test fills."""
    secrets_ = ChosenSecrets()
    limits = ClientLimits(login=None, reset=None, signup=None, express=None)
    parts = {
        "uow": store,
        "clock": clock,
        "secrets": secrets_,
        "hasher": FAST_HASHER,
        "settings": Settings(base_url="https://www.lechoppe.fr", client_limits=limits),
    }
    return AccountService(**parts), AuthService(**parts), secrets_


def expired_and_revoked(chosen, clock):
    """An expired, a revoked and a live device token; no login purged."""
    service, auth, secrets_ = chosen
    account = service.register(form())
    assert attempt(auth, WRONG) == "login.failed"  # the service's dummy hash drawn
    secrets_.tokens = device_tokens(3, purging=False)
    expired = auth.login(EMAIL, PASSWORD).device_token
    clock.advance(DEVICE_TOKEN_TTL)
    revoked = auth.login(EMAIL, PASSWORD).device_token
    with auth.uow() as tx:
        assert revoke_device_tokens(tx.tokens, account.id, clock.now()) == 1
        tx.commit()
    live = auth.login(EMAIL, PASSWORD).device_token
    assert expired is not None
    assert revoked is not None
    assert live is not None
    dead = {device_digest(t.reveal()) for t in (expired, revoked)}
    assert dead <= {r.digest for r in devices(auth, account.id)}  # not purged yet
    return account, expired.reveal(), revoked.reveal(), live.reveal()


def test_dead_device_tokens_count_as_none_before_they_are_purged(chosen, clock):
    """P4: an expired or revoked token whose row is still stored gives no budget."""
    service, auth, _ = chosen
    _, expired, revoked, live = expired_and_revoked(chosen, clock)
    assert patient_attack(auth, clock, one_slash_64(300))["login.blocked"]
    assert attempt(auth, PASSWORD, device_token=expired) == "login.blocked"
    assert attempt(auth, PASSWORD, device_token=revoked) == "login.blocked"
    assert attempt(auth, PASSWORD, device_token=live) == "ok"
    del service


def test_dead_device_tokens_are_purged_within_a_few_logins(chosen, clock):
    """P4: logins that present no token delete the dead ones, one in sixteen.

    Whether a login purges is read from its new token's digest (uniform):
    the logins drawn not to purge leave the expired and revoked rows, the
    first one drawn to purge deletes them, and only them.
    """
    _, auth, secrets_ = chosen
    account, expired, revoked, live = expired_and_revoked(chosen, clock)
    secrets_.tokens = [
        *device_tokens(4, purging=False, start=1_000),
        *device_tokens(1, purging=True, start=1_000),
    ]
    for _ in range(4):
        auth.login(EMAIL, PASSWORD)
    stored = {r.digest for r in devices(auth, account.id)}
    assert {device_digest(expired), device_digest(revoked)} <= stored
    auth.login(EMAIL, PASSWORD)
    records = devices(auth, account.id)
    assert len(records) == 6  # the live token and the five just issued
    assert all(r.is_usable(clock.now()) for r in records)
    assert device_digest(live) in {r.digest for r in records}


def test_one_login_in_sixteen_purges(chosen):
    """P4: the share of logins that purge, over the digests of many tokens."""
    del chosen
    digests = [device_digest(f"{n:043d}") or "" for n in range(16_000)]
    purging = sum(int(d[:2], 16) < 256 // PURGE_ONE_IN for d in digests)
    assert PURGE_ONE_IN == 16
    assert 800 <= purging <= 1_200


# -- every per-client limit takes the canonical key ---------------------------------


@pytest.mark.parametrize("action", ["login", "reset", "signup"])
def test_per_client_limits_cannot_be_escaped_by_spelling(store, clock, action):
    """P4, issue 10: the limits of ClientLimits count every spelling as one."""
    limits = ClientLimits(**{action: Limit(3, timedelta(minutes=10))})
    service, auth, _ = make_services(store, clock, client_limits=limits)
    calls = {
        "login": lambda key, n: auth.login(f"x{n}@exemple.fr", "nope", client_key=key),
        "reset": lambda key, n: auth.request_password_reset(
            f"x{n}@exemple.fr", client_key=key
        ),
        "signup": lambda key, n: service.register(
            form(email=f"x{n}@exemple.fr"), client_key=key
        ),
    }
    spellings = ["203.0.113.7", " ::ffff:203.0.113.7", "::FFFF:CB00:7107"]
    for n, key in enumerate(spellings):
        with contextlib.suppress(AuthenticationError):
            calls[action](key, n)
    with pytest.raises(RateLimitedError):
        calls[action]("0:0:0:0:0:ffff:cb00:7107 ", 99)
    # Another address of the same IPv6 /64 is the same client too.
    for n, key in enumerate(one_slash_64(3)):
        with contextlib.suppress(AuthenticationError):
            calls[action](key, 100 + n)
    with pytest.raises(RateLimitedError):
        calls[action]("2001:DB8:42:7:ffff:ffff:ffff:ffff", 199)
