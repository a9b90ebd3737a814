"""WordPress 6.8+ hashes (``$wp$2y$…``): kept wrapped, checked as WordPress does (M3).

WordPress 6.8 stores ``'$wp' . password_hash(base64_encode(hash_hmac('sha384',
trim($password), 'wp-sha384', true)), PASSWORD_BCRYPT)`` and checks a typed
password with the same pre-hash, untrimmed. The vectors below were made by
PHP 8.2 running that code (cost 4), not by this library: the library must
agree with WordPress on every one of them.
"""

from __future__ import annotations

import attrs
import bcrypt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FAST_HASHER
from data.import_csv import write_one
from echoppe_accounts import (
    Argon2Hasher,
    AuthenticationError,
    CustomerImporter,
    InMemoryStore,
    LegacyHasher,
    bootstrap,
)
from echoppe_accounts.adapters.legacy_hashes import wordpress_secret
from echoppe_accounts.domain.legacy_hash import (
    BCRYPT_PASSWORD_BYTES,
    PROBE_PASSWORD,
    PROBE_WORDPRESS_HASH,
    WORDPRESS_PREFIX,
    WRAPPED_PREFIX,
    is_bcrypt_family,
    usable_legacy_hash,
)
from echoppe_accounts.testing import RecordingMailer

PHP_VECTORS = [
    (
        "Mot de passe très sûr 2026",
        "$wp$2y$04$2gla1lbAuTCcYMidwn4mlOn7ueS5jI6orM6boN./jD12XgXRSQtO.",
    ),
    ("court", "$wp$2y$04$MlzuqB4lwOrXQACHMgn9A.kxXPgyW.FJwPt1MKv/X2WbJbh5gw7g."),
    (
        "é" * 40 + "fin-au-dela-de-72-octets",
        "$wp$2y$04$ugmNZ3bbrUAo8qwo84refuQ3TViFx20YoV7w/2gjkfT1lDBXG5jl2",
    ),
]
"""(password, WordPress 6.8's hash of it), made by PHP 8.2."""

TRIMMED = "$wp$2y$04$YteKcl.XRnbJM1w7TOXPp.JCW8ZQIGZUQQL.rPYuaE/jvhq5BffrG"
"""PHP's hash of ``"  espaces autour  "``: WordPress hashed it trimmed."""

EMAIL = "ines.lefevre@exemple.fr"


def hasher() -> LegacyHasher:
    """The login's hasher, argon2id at its cheapest."""
    return LegacyHasher(Argon2Hasher(memory_cost=8, time_cost=1))


@pytest.mark.parametrize(("password", "stored"), PHP_VECTORS)
def test_php_made_hashes_check_as_wordpress_checks_them(password, stored):
    """M3: each PHP vector matches its password, plain and wrapped, nothing else."""
    legacy = hasher()
    wrapped = legacy.wrap(stored)
    assert wrapped.startswith(WORDPRESS_PREFIX + WRAPPED_PREFIX + stored[4:29])
    assert stored[29:] not in wrapped  # bcrypt's output rests under argon2id
    for kept in (stored, wrapped):
        assert legacy.verify(kept, password)
        assert not legacy.verify(kept, password + " ")
        assert not legacy.verify(kept, password[:-1])
        assert legacy.needs_rehash(kept)


def test_a_password_is_checked_untrimmed_as_wordpress_does():
    """wp_check_password pre-hashes the typed password as it is."""
    legacy = hasher()
    assert legacy.verify(TRIMMED, "espaces autour")
    assert not legacy.verify(TRIMMED, "  espaces autour  ")


def test_bytes_past_72_count_unlike_plain_bcrypt():
    """M3: the pre-hash reads the whole password: no match on its first 72 bytes."""
    password, stored = PHP_VECTORS[2]
    assert len(password.encode()) > BCRYPT_PASSWORD_BYTES
    cut = password.encode()[:BCRYPT_PASSWORD_BYTES].decode() + "autre fin"
    assert not hasher().verify(stored, cut)


@given(st.text(max_size=120), st.text(max_size=120))
@settings(max_examples=25, deadline=None)
def test_only_the_password_hashed_matches(password, other):
    """M3: a hash made as WordPress makes it matches its password, no other."""
    secret = wordpress_secret(password.strip()).encode()
    made = bcrypt.hashpw(secret, bcrypt.gensalt(rounds=4)).decode()
    stored = WORDPRESS_PREFIX + "$2y$" + made[4:]
    legacy = hasher()
    for kept in (stored, legacy.wrap(stored)):
        assert legacy.verify(kept, password.strip())
        assert legacy.verify(kept, other) is (other == password.strip())


@pytest.mark.parametrize(
    "malformed",
    [
        "$wp$",
        "$wp$2y$04$short",
        "$wp$$wp$2y$04$" + "N" * 53,
        "$wp$2y$13$" + "N" * 53,  # dearer than the cap
        "$wp$bcrypt-argon2id$2y$04$" + "N" * 22 + "$not-argon2",
        "$wp$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
    ],
)
def test_a_malformed_wordpress_hash_matches_nothing_and_reaches_no_other_hasher(
    malformed,
):
    """A ``$wp$`` value never goes to the current hasher, and never matches."""
    assert is_bcrypt_family(malformed)
    assert not hasher().verify(malformed, "anything")


def test_only_well_formed_hashes_of_kept_costs_are_usable():
    """M3: ``$wp$`` bcrypt of costs 4 to 12 is kept, anything else is not."""
    assert usable_legacy_hash(PHP_VECTORS[0][1]) == PHP_VECTORS[0][1]
    assert usable_legacy_hash(f"  {PHP_VECTORS[1][1]} \n") == PHP_VECTORS[1][1]
    assert usable_legacy_hash("$wp$2y$13$" + "N" * 53) is None
    assert usable_legacy_hash("$wp$2y$03$" + "N" * 53) is None
    assert usable_legacy_hash("$wp$P$B12345678L6Lpt4BxNotVIMILOa9u81") is None


def test_the_probe_is_a_wordpress_hash_of_the_probe_password():
    """The import asks the login's hasher with it whether to keep such hashes."""
    assert hasher().verify(PROBE_WORDPRESS_HASH, PROBE_PASSWORD)


# -- through the import and the login ------------------------------------------------


def _app(shop_settings, hasher_=None):
    return bootstrap(
        InMemoryStore().unit_of_work,
        RecordingMailer(),
        attrs.evolve(shop_settings, outbox_key=bytes(32)),
        hasher=hasher_ or LegacyHasher(FAST_HASHER),
    )


def _import(app, tmp_path, password_hash: str):
    source = write_one(
        tmp_path / "clients.csv",
        email=EMAIL,
        name="Inès Lefèvre",
        phone="06 12 34 56 78",
        category="particulier",
        billing_street="3 allée des Tilleuls",
        billing_postal_code="69003",
        billing_city="Lyon",
        password_hash=password_hash,
    )
    return CustomerImporter(app).import_csv(source, progress=False)


def _stored_hash(app) -> str | None:
    account = app.accounts.find_by_email(EMAIL)
    assert account is not None
    return account.password_hash


def test_an_imported_wordpress_customer_logs_in_and_is_upgraded(
    shop_settings, tmp_path
):
    """M3, P1: kept wrapped, no invitation; the first login stores argon2id."""
    app = _app(shop_settings)
    password, stored = PHP_VECTORS[0]
    summary = _import(app, tmp_path, stored)
    assert (summary.imported, summary.invited) == (1, 0)
    kept = _stored_hash(app)
    assert kept is not None
    assert kept.startswith(WORDPRESS_PREFIX + WRAPPED_PREFIX)
    assert stored[29:] not in kept
    with pytest.raises(AuthenticationError):
        app.auth.login(EMAIL, password + "x")
    assert _stored_hash(app) == kept
    app.auth.login(EMAIL, password)
    assert (_stored_hash(app) or "").startswith("$argon2id$")
    app.auth.login(EMAIL, password)


class BcryptOnly:
    """A shop's hasher that checks plain bcrypt but knows nothing of ``$wp$``."""

    def __init__(self) -> None:
        self.current = FAST_HASHER

    def hash(self, password: str) -> str:
        return self.current.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        if password_hash.startswith("$2"):
            made = password_hash.replace("$2y$", "$2b$", 1).encode()
            return bcrypt.checkpw(password.encode()[:72], made)
        if password_hash.startswith("$argon2"):
            return self.current.verify(password_hash, password)
        return False

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith("$argon2")


def test_a_hasher_that_cannot_check_them_gets_the_owner_invited(
    shop_settings, tmp_path, caplog
):
    """M3: a kept hash nobody can check would lock its owner out: invited instead."""
    app = _app(shop_settings, BcryptOnly())
    summary = _import(app, tmp_path, PHP_VECTORS[0][1])
    assert (summary.imported, summary.invited) == (1, 1)
    assert "WordPress 6.8+" in caplog.text
    assert _stored_hash(app) is None  # an account without a password
