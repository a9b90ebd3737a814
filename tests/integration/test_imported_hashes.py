"""Imported bcrypt hashes: wrapped at import, never upgraded on a cut match (M3).

PrestaShop's bcrypt reads 72 bytes of a password; a login with a longer
typed password is refused rather than matched on its first 72 bytes (which
would then store a hash of the typed password and lock the owner out).
Imported hashes rest wrapped in argon2id; the first login upgrades them.
The timing of logins is the shop's choice (``Settings.imported_hash_cost``).
"""

from __future__ import annotations

import attrs
import bcrypt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FAST_HASHER
from data.import_csv import write_one
from echoppe_accounts import (
    AuthenticationError,
    CustomerImporter,
    InMemoryStore,
    LegacyHasher,
    Settings,
    bootstrap,
)
from echoppe_accounts.adapters import legacy_hashes
from echoppe_accounts.domain.legacy_hash import (
    BCRYPT_PASSWORD_BYTES,
    WRAPPED_PREFIX,
    too_long_for_bcrypt,
)
from echoppe_accounts.testing import RecordingMailer

EMAIL = "claire.martin@exemple.fr"
LONG = "é" * 40 + "fin-du-mot-de-passe"  # 99 bytes in UTF-8
"""A password longer than bcrypt's 72 bytes, as a customer set it in PHP."""


def php_bcrypt(password: str) -> str:
    """Return the hash PHP's password_hash() stores (``$2y$``, cost 4 here)."""
    made = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    return "$2y$" + made[4:]


def _app(shop_settings, **settings):
    return bootstrap(
        InMemoryStore().unit_of_work,
        RecordingMailer(),
        attrs.evolve(shop_settings, outbox_key=bytes(32), **settings),
        hasher=LegacyHasher(FAST_HASHER),
    )


def _import(app, tmp_path, password_hash: str) -> None:
    source = write_one(
        tmp_path / "clients.csv",
        email=EMAIL,
        name="Claire Martin",
        phone="06 12 34 56 78",
        category="particulier",
        billing_street="12 rue des Lilas",
        billing_postal_code="75011",
        billing_city="Paris",
        password_hash=password_hash,
    )
    summary = CustomerImporter(app).import_csv(source, progress=False)
    assert summary.imported == 1


def _stored_hash(app) -> str:
    account = app.accounts.find_by_email(EMAIL)
    assert account is not None
    return account.password_hash


def test_imported_hashes_rest_wrapped_in_argon2id(shop_settings, tmp_path):
    """M3: the stored value is no bcrypt hash: its output is hashed again."""
    app = _app(shop_settings)
    original = php_bcrypt("motdepasse")
    _import(app, tmp_path, original)
    stored = _stored_hash(app)
    assert stored.startswith(WRAPPED_PREFIX + original[1:29])
    assert original[29:] not in stored
    assert "$argon2id$" in stored


def test_the_first_login_upgrades_a_wrapped_hash(shop_settings, tmp_path):
    """M3, P1: the right password logs in and the hash becomes plain argon2id."""
    app = _app(shop_settings)
    _import(app, tmp_path, php_bcrypt("motdepasse"))
    with pytest.raises(AuthenticationError):
        app.auth.login(EMAIL, "autre chose")
    assert _stored_hash(app).startswith(WRAPPED_PREFIX)
    app.auth.login(EMAIL, "motdepasse")
    assert _stored_hash(app).startswith("$argon2id$")
    app.auth.login(EMAIL, "motdepasse")  # and again, on argon2id


@pytest.mark.parametrize("wrapped", [True, False])
def test_a_password_over_72_bytes_never_matches_nor_upgrades(
    shop_settings, tmp_path, wrapped
):
    """M3: a truncated match is refused; the hash stays; the owner must reset."""
    app = _app(shop_settings)
    original = php_bcrypt(LONG)
    _import(app, tmp_path, original)
    if not wrapped:  # a hash kept unwrapped by an earlier version
        account = app.accounts.find_by_email(EMAIL)
        with app.accounts.uow() as uow:
            stored = uow.accounts.get(account.id)
            stored.password_hash = original
            uow.accounts.save(stored)
            uow.commit()
    before = _stored_hash(app)
    truncated_match = LONG.encode()[:BCRYPT_PASSWORD_BYTES].decode() + "autre fin"
    for typed in (truncated_match, LONG):
        assert too_long_for_bcrypt(typed)
        with pytest.raises(AuthenticationError):
            app.auth.login(EMAIL, typed)
    assert _stored_hash(app) == before  # never upgraded from a truncated match


def _bcrypt_calls(monkeypatch) -> list[bytes]:
    calls: list[bytes] = []
    real = bcrypt.hashpw

    def counting(password: bytes, salt: bytes) -> bytes:
        calls.append(salt)
        return real(password, salt)

    monkeypatch.setattr(bcrypt, "hashpw", counting)
    return calls


def test_by_default_other_logins_pay_no_bcrypt_work(shop_settings, monkeypatch):
    """P3: by default, argon2id logins and unknown emails do no bcrypt work."""
    app = _app(shop_settings)
    calls = _bcrypt_calls(monkeypatch)
    with pytest.raises(AuthenticationError):
        app.auth.login("inconnu@exemple.fr", "motdepasse")
    assert calls == []


def test_equal_work_makes_every_login_pay_the_bcrypt_cost(shop_settings, monkeypatch):
    """P3: with imported_hash_cost, unknown emails pay the bcrypt work too."""
    app = bootstrap(
        InMemoryStore().unit_of_work,
        RecordingMailer(),
        attrs.evolve(shop_settings, outbox_key=bytes(32), imported_hash_cost=4),
    )
    assert app.auth.hasher.equal_cost == 4  # the default hasher follows it
    calls = _bcrypt_calls(monkeypatch)
    with pytest.raises(AuthenticationError):
        app.auth.login("inconnu@exemple.fr", "motdepasse")
    assert len(calls) == 1
    assert calls[0].startswith(b"$2b$04$")


def test_the_setting_takes_a_bcrypt_cost_only():
    """P3: imported_hash_cost is None or a cost from 4 to 12."""
    for wrong in (3, 13):
        with pytest.raises(ValueError, match="imported_hash_cost"):
            Settings(base_url="https://www.lechoppe.fr", imported_hash_cost=wrong)
    with pytest.raises(ValueError, match="bcrypt cost"):
        LegacyHasher(FAST_HASHER, equal_cost=13)
    assert legacy_hashes.LegacyHasher(FAST_HASHER, equal_cost=None).equal_cost is None


@given(st.text(max_size=100))
def test_too_long_means_more_than_72_bytes_of_utf8(text):
    """M3: the 72-byte bound counts bytes as PHP hashed them, not characters."""
    assert too_long_for_bcrypt(text) == (
        len(text.encode("utf-8", "surrogatepass")) > 72
    )


def test_a_cheaper_imported_hash_pays_the_equal_cost_too(monkeypatch):
    """P3: under equal work, an imported hash of a lower cost is made as dear."""
    hasher = LegacyHasher(FAST_HASHER, equal_cost=5)
    wrapped = hasher.wrap(php_bcrypt("motdepasse"))  # cost 4
    calls = _bcrypt_calls(monkeypatch)
    sleeps: list[float] = []
    monkeypatch.setattr(legacy_hashes.time, "sleep", sleeps.append)
    # Before any other check was timed, it does the equal work itself...
    assert hasher.verify(wrapped, "motdepasse")
    assert [salt[:7] for salt in calls] == [b"$2y$04$", b"$2b$05$"]
    # ...afterwards it waits for the rest of what the other checks take.
    hasher.verify(FAST_HASHER.hash("x"), "y")
    hasher._typical_equal = 3600.0  # other checks known to take long
    calls.clear()
    assert not hasher.verify(wrapped, "autre")
    assert [salt[:7] for salt in calls] == [b"$2y$04$"]
    assert len(sleeps) == 1
    assert sleeps[0] > 0
