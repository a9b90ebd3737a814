"""Single-use, expiring, purpose-bound tokens (SPEC R2, R8, R9)."""

from __future__ import annotations

import hashlib
import itertools
import string
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from echoppe_accounts import Secret, TokenPurpose, TokenRecord

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)

tokens = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=64)
purposes = st.sampled_from(list(TokenPurpose))


def issue(token: str = "tok-123", purpose=TokenPurpose.RESET_CONFIRM, ttl=HOUR):
    """Return the record of *token* issued at NOW."""
    return TokenRecord.issue(Secret(token), purpose, "acc-1", now=NOW, ttl=ttl)


@pytest.mark.parametrize(
    ("first", "second"), list(itertools.combinations(TokenPurpose, 2))
)
def test_digest_depends_on_purpose(first, second):
    """R2: one token issued for two purposes gives two digests."""
    assert issue(purpose=first).digest != issue(purpose=second).digest


@given(tokens, purposes, purposes)
def test_token_of_one_purpose_never_matches_another(token, first, second):
    """R2: a token is bound to its purpose: its digest differs for any other."""
    assume(first is not second)
    assert issue(token, first).digest != issue(token, second).digest


@given(tokens, tokens, purposes)
def test_digest_depends_on_token(first, second, purpose):
    """R2: two different tokens of one purpose have different digests."""
    assume(first != second)
    assert issue(first, purpose).digest != issue(second, purpose).digest


@given(tokens, purposes)
def test_only_a_sha256_digest_is_stored(token, purpose):
    """R2: the record holds a hex SHA-256, never the token itself."""
    record = issue(token, purpose)
    assert len(record.digest) == 64
    assert set(record.digest) <= set(string.hexdigits.lower())
    assert record.digest != hashlib.sha256(token.encode()).hexdigest()
    assert "digest" not in repr(record)
    assert record.digest == issue(token, purpose).digest


def test_record_keeps_its_life():
    """R2: the record knows its account, purpose, creation and expiry."""
    record = issue(ttl=HOUR)
    assert record.account_id == "acc-1"
    assert record.purpose is TokenPurpose.RESET_CONFIRM
    assert record.created_at == NOW
    assert record.expires_at == NOW + HOUR
    assert record.used_at is None
    assert record.revoked_at is None


def shown(secret: Secret) -> list[str]:
    """Return the ways a Secret may end up in a log line or a message."""
    return [repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{[secret]}"]


@given(st.text(min_size=1), st.text(min_size=1))
def test_secret_shows_nothing_of_its_value(value, other):
    """R9: a Secret's repr, str and formatting are the same whatever its value."""
    assert shown(Secret(value)) == shown(Secret(other))


def test_secret_never_shows_its_value():
    """R9: the value itself appears in none of the ways a Secret is shown."""
    assert not any("tok-4f9Q2x" in text for text in shown(Secret("tok-4f9Q2x")))


def test_secret_hidden_in_an_exception_message():
    """R9: a Secret that ends up in an error message stays masked."""
    secret = Secret("s3cr3t-t0ken")
    error = ValueError(f"cannot use {secret}")
    assert "s3cr3t-t0ken" not in str(error)
    assert secret.reveal() == "s3cr3t-t0ken"


@pytest.mark.parametrize(
    ("offset", "usable"),
    [
        (timedelta(0), True),
        (HOUR - SECOND, True),
        (HOUR, False),
        (HOUR + SECOND, False),
        (timedelta(days=2), False),
    ],
)
def test_usable_until_expiry(offset, usable):
    """R2: a token lives its TTL: usable 1 s before, dead at and after expiry."""
    assert issue(ttl=HOUR).is_usable(NOW + offset) is usable


@given(
    st.integers(1, 7 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
    st.integers(0, 8 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
)
def test_usable_exactly_before_ttl(ttl, elapsed):
    """R2: whatever the TTL, a token is usable exactly while elapsed < TTL."""
    assert issue(ttl=ttl).is_usable(NOW + elapsed) is (elapsed < ttl)


@pytest.mark.parametrize("field", ["used_at", "revoked_at"])
def test_used_or_revoked_token_not_usable(field):
    """R2, R8: a used (single use) or revoked token is dead even before expiry."""
    record = attrs.evolve(issue(ttl=HOUR), **{field: NOW + SECOND})
    assert not record.is_usable(NOW + 2 * SECOND)
