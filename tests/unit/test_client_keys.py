"""Canonical client keys, the login budget and device tokens (SPEC P4, amended).

Client keys are compared canonically, so that one address written several
ways is one client; the account's failure count holds whatever the key;
a device token gives its own budget.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from builders import NOW
from echoppe_accounts import (
    ClientAction,
    LoginThrottle,
    Secret,
    ThrottlePolicy,
    TokenPurpose,
    canonical_client_key,
)
from echoppe_accounts.domain.device import (
    device_digest,
    device_failure_key,
    is_device_of,
    issue_device_token,
)
from echoppe_accounts.domain.limits import client_counter_key
from echoppe_accounts.domain.throttle import (
    LoginBudget,
    Refusal,
    client_failure_key,
)
from strategies import (
    hostile_text,
    ipv4_addresses,
    ipv4_writings,
    ipv6_networks,
    ipv6_writings,
)

# -- canonical client keys ---------------------------------------------------------


@given(ipv4_addresses.flatmap(lambda a: st.tuples(ipv4_writings(a), ipv4_writings(a))))
def test_every_spelling_of_an_ipv4_address_is_one_client(spellings):
    """P4: dotted, ``::ffff:`` mapped (dotted, hex, long), any case, padded: one key."""
    first, second = spellings
    assert canonical_client_key(first) == canonical_client_key(second)
    for action in ClientAction:
        assert client_counter_key(action, first) == client_counter_key(action, second)


@given(ipv4_addresses, ipv4_addresses)
def test_different_ipv4_addresses_are_different_clients(a, b):
    """P4: two IPv4 addresses are two clients (no grouping of IPv4)."""
    assume(a != b)
    assert canonical_client_key(str(a)) != canonical_client_key(str(b))


@given(
    ipv6_networks.flatmap(
        lambda n: st.tuples(st.just(n), ipv6_writings(n), ipv6_writings(n))
    )
)
def test_every_address_of_an_ipv6_slash_64_is_one_client(drawn):
    """P4: any two addresses of one /64, written any way, have one key."""
    network, first, second = drawn
    key = canonical_client_key(first)
    assert key == canonical_client_key(second)
    expected = ipaddress.IPv6Network((network << 64, 64))
    assert key == f"ip6:{expected}"


@given(ipv6_networks, ipv6_networks, st.data())
def test_different_ipv6_slash_64s_are_different_clients(a, b, data):
    """P4: addresses of two different /64 networks have two keys."""
    assume(a != b)
    first = data.draw(ipv6_writings(a))
    second = data.draw(ipv6_writings(b))
    assert canonical_client_key(first) != canonical_client_key(second)


@pytest.mark.parametrize(
    "spelling",
    [
        "203.0.113.7",
        " 203.0.113.7 ",
        "::ffff:203.0.113.7",
        "::FFFF:CB00:7107",
        "0000:0000:0000:0000:0000:ffff:cb00:7107",
        "[::ffff:203.0.113.7]",
    ],
)
def test_the_reviews_five_spellings_are_one_client(spelling):
    """P4: the spellings of the review's reproduction are all ``203.0.113.7``."""
    assert canonical_client_key(spelling) == "ip4:203.0.113.7"


@pytest.mark.parametrize(
    "spelling",
    [
        "::ffff:0:cb00:7107",  # IPv4-translated
        "::203.0.113.7",  # IPv4-compatible (deprecated)
        "64:ff9b::cb00:7107",  # NAT64's well-known prefix
        "2002:cb00:7107::1",  # 6to4
        "2002:cb00:7107:ffff::2",  # 6to4: the whole /48 is one IPv4 host's
        "2001:0:4136:e378:8000:63bf:34ff:8ef8",  # Teredo, the client's IPv4
    ],
)
def test_ipv6_forms_that_carry_an_ipv4_address_are_that_address(spelling):
    """P4: an IPv6 address carrying an IPv4 one is that IPv4 client."""
    assert canonical_client_key(spelling) == "ip4:203.0.113.7"


@given(hostile_text())
def test_any_text_is_a_key_and_never_an_error(text):
    """P4, F9: any text (long, lone surrogates) gives a key of bounded size."""
    key = canonical_client_key(text)
    assert len(key) <= 4 + 256
    assert len(client_counter_key(ClientAction.LOGIN, text)) == 64


def test_opaque_keys_keep_their_case_and_cannot_pass_for_addresses():
    """P4: a session id is opaque text; it never equals an address's key."""
    assert canonical_client_key(" Sess-AB ") == "key:Sess-AB"
    assert canonical_client_key("sess-ab") != canonical_client_key("Sess-AB")
    assert canonical_client_key("ip4:203.0.113.7") != canonical_client_key(
        "203.0.113.7"
    )


def test_ambiguous_ipv4_writings_are_opaque():
    """P4: octal-looking or shortened IPv4 forms are not guessed at."""
    for text in ("203.000.113.007", "3405803783", "203.113.7"):
        assert canonical_client_key(text).startswith("key:")


def test_the_login_failure_key_is_canonical():
    """P4: a client's count on an email is one, however its key is written."""
    assert client_failure_key("e", "s", "::ffff:203.0.113.7") == client_failure_key(
        "e", "s", "203.0.113.7 "
    )
    assert client_failure_key("e", "s", "203.0.113.7") != client_failure_key(
        "e", "other stamp", "203.0.113.7"
    )


# -- the login budget ----------------------------------------------------------------

POLICY = ThrottlePolicy()


def failed(count: LoginThrottle, times: int) -> LoginThrottle:
    """Return *count* after *times* failures at NOW."""
    for _ in range(times):
        count.record_failure(NOW)
    return count


def test_the_client_with_the_failures_is_slowed_first():
    """P4: four failures slow their client; the account's count waits for ten."""
    account = failed(LoginThrottle("account"), 4)
    mine = failed(LoginThrottle("mine"), 4)
    other = LoginThrottle("other")
    assert LoginBudget.for_clients(POLICY, account, mine).refusal(POLICY, NOW) is None
    mine.record_failure(NOW)
    account.record_failure(NOW)
    refused = LoginBudget.for_clients(POLICY, account, mine).refusal(POLICY, NOW)
    assert refused == Refusal(blocked=False, retry_at=NOW + timedelta(seconds=1))
    assert LoginBudget.for_clients(POLICY, account, other).refusal(POLICY, NOW) is None


def test_the_account_cap_holds_for_every_client_key():
    """P4: past the account's free failures, a fresh client key waits too."""
    account = failed(LoginThrottle("account"), POLICY.account_free_attempts + 1)
    budget = LoginBudget.for_clients(POLICY, account, LoginThrottle("fresh"))
    refusal = budget.refusal(POLICY, NOW)
    assert refusal is not None
    assert not refusal.blocked
    failed(account, POLICY.hard_block)
    assert budget.refusal(POLICY, NOW + timedelta(days=365)) == Refusal(blocked=True)


def test_without_a_client_key_the_account_count_is_the_clients():
    """P4: with no client key, four free failures, as before the amendment."""
    account = failed(LoginThrottle("account"), 5)
    refusal = LoginBudget.for_clients(POLICY, account).refusal(POLICY, NOW)
    assert refusal == Refusal(blocked=False, retry_at=NOW + timedelta(seconds=1))


def test_a_device_budget_ignores_the_account_count():
    """P4: a device token's budget is its own count only."""
    device = LoginThrottle("device")
    budget = LoginBudget.for_device(POLICY, device)
    assert budget.device
    assert budget.refusal(POLICY, NOW) is None
    failed(device, POLICY.hard_block)
    assert budget.refusal(POLICY, NOW) == Refusal(blocked=True)


def test_a_success_resets_only_the_counts_the_attempt_answered_to():
    """P4: success clears its counts; untouched counts are not saved again."""
    account = failed(LoginThrottle("account"), 3)
    client = LoginThrottle("client")
    changed = LoginBudget.for_clients(POLICY, account, client).succeed()
    assert changed == [account]
    assert account.failures == 0
    assert account.last_failure_at is None


def test_a_failure_counts_on_every_count_of_the_budget():
    """P4: a failure counts for the account and for the client."""
    account, client = LoginThrottle("account"), LoginThrottle("client")
    saved = LoginBudget.for_clients(POLICY, account, client).record_failure(NOW)
    assert saved == [account, client]
    assert (account.failures, client.failures) == (1, 1)


def test_the_policy_refuses_a_hard_block_above_one_hundred():
    """P4: the hard block is at most 100 failures."""
    with pytest.raises(ValueError, match="hard_block"):
        ThrottlePolicy(hard_block=101)


# -- device tokens -------------------------------------------------------------------


def test_a_device_token_is_bound_to_its_account_purpose_and_life():
    """P4: stored as a digest, usable for its account until it expires."""
    secret = Secret("a" * 43)
    record = issue_device_token(secret, "acc-1", now=NOW, ttl=timedelta(days=1))
    assert record.purpose is TokenPurpose.DEVICE
    assert record.digest == device_digest("a" * 43)
    assert "a" * 43 not in repr(record)
    assert is_device_of(record, "acc-1", NOW + timedelta(hours=23))
    assert not is_device_of(record, "acc-1", NOW + timedelta(days=1))
    assert not is_device_of(record, "acc-2", NOW)
    assert not is_device_of(None, "acc-1", NOW)


def test_text_that_cannot_be_a_token_has_no_digest():
    """P4, F9: too long or not valid Unicode: no token, no work."""
    assert device_digest("x" * 10_000) is None
    assert device_digest("\ud800") is None


def test_device_failure_keys_differ_by_token():
    """P4: each device token has a count of its own."""
    assert device_failure_key("a") != device_failure_key("b")
