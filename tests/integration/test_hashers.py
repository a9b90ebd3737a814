"""The password hashers behind the hashing port (SPEC P1)."""

from __future__ import annotations

import hashlib

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


class _WorkMeter:
    """Adds up the argon2 work (KiB × passes) done through argon2-cffi's C calls."""

    def __init__(self, monkeypatch):
        import argon2  # noqa: PLC0415
        import argon2._password_hasher as password_hasher  # noqa: PLC0415
        import argon2.low_level  # noqa: PLC0415

        self.work = 0
        real_verify = password_hasher.verify_secret
        real_raw = argon2.low_level.hash_secret_raw

        def verify_secret(hash_, secret, type_):
            params = argon2.extract_parameters(hash_.decode())
            self.work += params.memory_cost * params.time_cost
            return real_verify(hash_, secret, type_)

        def hash_secret_raw(**kwargs):
            self.work += kwargs["memory_cost"] * kwargs["time_cost"]
            return real_raw(**kwargs)

        monkeypatch.setattr(password_hasher, "verify_secret", verify_secret)
        monkeypatch.setattr(argon2.low_level, "hash_secret_raw", hash_secret_raw)

    def measure(self, call):
        before = self.work
        call()
        return self.work - before


@given(
    memory=st.integers(8, 128),
    passes=st.integers(1, 4),
    right=st.booleans(),
)
def test_argon2_check_costs_one_current_hash_whatever_is_stored(memory, passes, right):
    """P5: a stored hash of any parameters costs exactly the current work.

    Cheaper hashes are padded, dearer and malformed ones are not computed
    but cost the same, so timing cannot tell them from an unknown account.
    """
    current = Argon2Hasher(memory_cost=64, time_cost=2)
    stored = Argon2Hasher(memory_cost=memory, time_cost=passes).hash("secret pass")
    with pytest.MonkeyPatch.context() as monkeypatch:
        meter = _WorkMeter(monkeypatch)
        candidate = "secret pass" if right else "wrong pass"
        result = []
        work = meter.measure(lambda: result.append(current.verify(stored, candidate)))
        malformed = meter.measure(lambda: current.verify("$argon2id$garbage", "x"))
    # Padding is one throw-away hash: exact to less than one pass of 8 KiB.
    assert current.work - 8 < work <= current.work
    assert malformed == current.work
    assert result == [right and memory * passes <= current.work]


def test_argon2_refuses_a_dearer_hash_and_logs_it(caplog):
    """P5: a hash dearer than the current parameters never matches, and says why."""
    current = Argon2Hasher(memory_cost=8, time_cost=1)
    dearer = Argon2Hasher(memory_cost=64, time_cost=1).hash("secret pass")
    with caplog.at_level("WARNING", logger="echoppe_accounts"):
        assert not current.verify(dearer, "secret pass")
    assert "dearer" in caplog.text
    assert "secret pass" not in caplog.text
    assert current.needs_rehash(dearer)


@given(log2_n=st.integers(1, 8), block_size=st.integers(1, 8), right=st.booleans())
def test_scrypt_check_costs_one_current_derivation(log2_n, block_size, right):
    """P5: scrypt pads cheaper hashes and refuses dearer ones, for equal work."""
    current = ScryptHasher(log2_n=6, block_size=4)
    stored = ScryptHasher(log2_n=log2_n, block_size=block_size).hash("secret pass")
    done = []
    real = hashlib.scrypt

    def counting(password, *, salt, n, r, p, dklen, maxmem):
        done.append(n * r * p)
        return real(password, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=maxmem)

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(hashlib, "scrypt", counting)
        matched = current.verify(stored, "secret pass" if right else "wrong pass")
        work = sum(done)
        done.clear()
        current.verify("$scrypt$garbage", "x")
        malformed = sum(done)
    cheaper = (1 << log2_n) * block_size <= current.work
    assert matched == (right and cheaper)
    # Padding is made of whole derivations: at most one block short.
    assert current.work - 2 * current.block_size < work <= current.work
    assert current.work - 2 * current.block_size < malformed <= current.work
