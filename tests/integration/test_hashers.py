"""The password hashers behind the hashing port (SPEC P1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import Argon2Hasher, ScryptHasher

HASHERS = {
    "argon2id": lambda **kw: Argon2Hasher(memory_cost=8, time_cost=1, **kw),
    "scrypt": lambda **kw: ScryptHasher(log2_n=4, **kw),
}


@pytest.fixture(params=sorted(HASHERS))
def make(request):
    """A factory of each hasher, with cheap parameters."""
    return HASHERS[request.param]


def test_default_parameters_are_owasp_minimums():
    """argon2id m=19456 KiB, t=2, p=1; scrypt N=2^17, r=8, p=1 (P1)."""
    phc = Argon2Hasher().hash("correct horse battery")
    assert phc.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert (ScryptHasher().log2_n, ScryptHasher().block_size) == (17, 8)


def test_salts_are_random_and_at_least_128_bits(make):
    """The same password hashes differently each time (P1)."""
    hasher = make()
    first, second = hasher.hash("même mot de passe"), hasher.hash("même mot de passe")
    assert first != second
    salt = first.split("$")[-2]
    assert len(salt) >= 22  # 16 bytes in unpadded base64


@given(password=st.text(max_size=40))
def test_verify_accepts_the_password_and_nothing_else(password):
    """Any password verifies against its hash; a changed one does not (P1)."""
    for make in HASHERS.values():
        hasher = make()
        phc = hasher.hash(password)
        assert hasher.verify(phc, password)
        assert not hasher.verify(phc, password + "x")


def test_nfkc_is_applied_before_hashing(make):
    """A password typed in another Unicode form still matches (P2)."""
    hasher = make()
    assert hasher.verify(hasher.hash("ﬁdèle"), "fidèle")  # ligature vs letters


def test_pepper_is_needed_to_verify(make):
    """A peppered hash does not verify without the pepper (P1)."""
    peppered, plain = make(pepper=b"kept-outside-the-database"), make()
    phc = peppered.hash("correct horse battery")
    assert peppered.verify(phc, "correct horse battery")
    assert not plain.verify(phc, "correct horse battery")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "plain",
        "$argon2id$v=19$m=8,t=1,p=1$bad",
        "$scrypt$ln=4,r=8,p=1$x$y",
        "$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
    ],
)
def test_malformed_or_dangerous_hashes_never_match(make, garbage):
    """A broken stored hash is a mismatch, never a crash or a huge allocation."""
    hasher = make()
    assert not hasher.verify(garbage, "anything")
    assert hasher.needs_rehash(garbage)


def test_outdated_parameters_need_a_rehash(make):
    """A hash made with other parameters is flagged for rehashing (P1)."""
    current = make()
    assert not current.needs_rehash(current.hash("x"))
    older = (
        Argon2Hasher(memory_cost=16, time_cost=1)
        if isinstance(current, Argon2Hasher)
        else ScryptHasher(log2_n=5)
    )
    assert current.needs_rehash(older.hash("x"))
    assert older.verify(older.hash("x"), "x")
