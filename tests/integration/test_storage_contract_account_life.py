"""The storage contract for issue 18's account state, on every adapter.

Former addresses and their restore window (SPEC F10), unverified sign-ups'
expiry and replacement (X5): memory, SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from builders import NOW, account
from echoppe_accounts import (
    AccountStatus,
    Email,
    InMemoryStore,
    SQLiteStore,
)
from echoppe_accounts.domain.tokens import Secret, TokenPurpose, TokenRecord
from echoppe_accounts.ports import UnitOfWorkFactory
from echoppe_accounts.service_layer._ports import restoring

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _stamps():
    n = iter(range(1_000_000))
    return lambda: f"stamp-{next(n)}"


class AccountLifeContract:
    """What every adapter must do with issue 18's account state."""

    @pytest.fixture
    def uow(self, tmp_path: Path) -> UnitOfWorkFactory:
        """A fresh, empty storage."""
        return self.create_uow_factory(tmp_path)

    def create_uow_factory(self, tmp_path: Path) -> UnitOfWorkFactory:
        """Return a unit-of-work factory over a new, empty storage."""
        raise NotImplementedError

    def _store(self, uow, *accounts):
        with uow() as tx:
            tx.accounts.add(*accounts)
            tx.commit()

    def test_former_address_round_trip(self, uow):
        """F10: the former address and its restore window come back as stored."""
        a = account("jean.dupont@exemple.fr")
        self._store(uow, a)
        a.request_email_change(Email.parse("Jean@Nouveau.fr"), NOW)
        a.confirm_email_change(NOW + HOUR, _stamps())
        a.collect_effects()
        with uow() as tx:
            tx.accounts.save(a)
            tx.commit()
        with uow() as tx:
            loaded = tx.accounts.get(a.id)
            by_former = tx.accounts.get_by_former_email_key("jean.dupont@exemple.fr")
        assert loaded.email == Email.parse("Jean@Nouveau.fr")
        assert loaded.former_email == Email.parse("jean.dupont@exemple.fr")
        assert loaded.former_email_until == NOW + timedelta(days=7)
        assert loaded.session_stamp == a.session_stamp
        assert by_former is not None
        assert by_former.id == a.id

    def test_no_former_address_is_none(self, uow):
        """F10: an account that never changed its email has no former one."""
        a = account()
        self._store(uow, a)
        with uow() as tx:
            assert tx.accounts.get(a.id).former_email is None
            assert tx.accounts.get_by_former_email_key(a.email.key) is None

    def test_remove_deletes_the_account_and_frees_its_email(self, uow):
        """X5: a removed sign-up leaves no row, link nor key behind."""
        a = account(status=AccountStatus.UNVERIFIED, proven=False)
        self._store(uow, a)
        with uow() as tx:
            tx.tokens.add(
                TokenRecord.issue(
                    Secret("t"), TokenPurpose.SIGNUP_VERIFY, a.id, now=NOW, ttl=HOUR
                )
            )
            tx.commit()
        replacement = account()
        with uow() as tx:
            tx.accounts.remove(a.id)
            tx.accounts.add(replacement)  # the same email, in the same transaction
            tx.commit()
        with uow() as tx:
            assert tx.accounts.get(a.id) is None
            assert tx.tokens.for_account(a.id) == []
            assert tx.accounts.get_by_email_key(a.email.key).id == replacement.id
            assert tx.accounts.count() == 1

    def test_unverified_before_lists_old_signups_oldest_first(self, uow):
        """X5: only unverified sign-ups made before the cut-off, at most *limit*."""
        old = account("ancien@exemple.fr", status=AccountStatus.UNVERIFIED)
        older = account("plus.ancien@exemple.fr", status=AccountStatus.UNVERIFIED)
        older.created_at = NOW - HOUR  # test data, set before it is stored
        young = account("jeune@exemple.fr", status=AccountStatus.UNVERIFIED)
        young.created_at = NOW + 2 * HOUR
        active = account("actif@exemple.fr")
        self._store(uow, old, older, young, active)
        with uow() as tx:
            assert tx.accounts.unverified_before(NOW + HOUR, 10) == [older.id, old.id]
            assert tx.accounts.unverified_before(NOW + HOUR, 1) == [older.id]
            assert tx.accounts.unverified_before(NOW - 2 * HOUR, 10) == []

    def _changed(self, uow, old, new, at=NOW):
        """Store an account of *old*, its email changed to *new* at *at* (F10)."""
        a = account(old)
        self._store(uow, a)
        a.request_email_change(Email.parse(new), at)
        a.confirm_email_change(at + HOUR, _stamps())
        a.collect_effects()
        with uow() as tx:
            tx.accounts.save(a)
            tx.commit()
        return a

    def test_restorable_email_keys_in_one_look_up(self, uow):
        """F10: the former addresses still restorable, of many keys at once."""
        self._changed(uow, "ancienne@exemple.fr", "nouvelle@exemple.fr")
        key = Email.parse("ancienne@exemple.fr").key
        others = [Email.parse(e).key for e in ("nouvelle@exemple.fr", "x@exemple.fr")]
        with uow() as tx:
            found = tx.accounts.restorable_email_keys
            assert found([], NOW) == set()
            assert found([key, key, *others], NOW + HOUR) == {key}
            many = [f"k{i}@exemple.fr" for i in range(1_200)]  # SQLite's chunks
            assert found([*many, key], NOW + 2 * HOUR) == {key}

    def test_restorable_email_keys_end_with_the_restore_window(self, uow):
        """F10: a former address is restorable for 7 days from the request only."""
        a = self._changed(uow, "ancienne@exemple.fr", "nouvelle@exemple.fr")
        until = a.former_email_until
        assert until == NOW + timedelta(days=7)
        key = a.former_email.key
        with uow() as tx:
            found = tx.accounts.restorable_email_keys
            assert found([key], until - timedelta(microseconds=1)) == {key}
            assert found([key], until) == set()
            assert found([key], until + HOUR) == set()

    def test_restorable_email_keys_in_this_transaction(self, uow):
        """F10: a change saved in the unit of work counts before its commit."""
        a = account("ancienne@exemple.fr")
        self._store(uow, a)
        key = a.email.key
        a.request_email_change(Email.parse("nouvelle@exemple.fr"), NOW)
        a.confirm_email_change(NOW + HOUR, _stamps())
        a.collect_effects()
        with uow() as tx:
            assert tx.accounts.restorable_email_keys([key], NOW + HOUR) == set()
            tx.accounts.save(a)
            assert tx.accounts.restorable_email_keys([key], NOW + HOUR) == {key}

    def test_restored_or_erased_accounts_restore_nothing(self, uow):
        """F10, G3: a restored address is no longer former; erasure forgets it."""
        restored = self._changed(uow, "rendue@exemple.fr", "ailleurs@exemple.fr")
        erased = self._changed(uow, "effacee@exemple.fr", "partie@exemple.fr")
        disabled = self._changed(uow, "gelee@exemple.fr", "gelee.2@exemple.fr")
        keys = [restored.former_email.key, erased.former_email.key]
        kept = disabled.former_email.key
        restored.cancel_or_restore_email(NOW + 2 * HOUR, _stamps())
        erased.erase(NOW + 2 * HOUR, _stamps())
        disabled.disable(NOW + 2 * HOUR, _stamps())
        for a in (restored, erased, disabled):
            a.collect_effects()
        with uow() as tx:
            for a in (restored, erased, disabled):
                tx.accounts.save(a)
            tx.commit()
        with uow() as tx:
            # A disabled account keeps its former address as restoring() does.
            assert tx.accounts.restorable_email_keys([*keys, kept], NOW + 3 * HOUR) == {
                kept
            }

    def test_restorable_email_keys_agree_with_restoring(self, uow):
        """F10: the batch look-up says what restoring() says of each key, any time.

        Two accounts gave up one address, their windows a day apart: the
        later one counts.
        """
        common = Email.parse("commune@exemple.fr")
        first, second = account("un@exemple.fr"), account("deux@exemple.fr")
        for a, until in ((first, NOW + timedelta(days=7)), (second, NOW + DAY * 8)):
            a.former_email, a.former_email_until = common, until  # test data
        self._store(uow, first, second, account("autre@exemple.fr"))
        keys = [common.key, first.email.key, Email.parse("autre@exemple.fr").key]
        moments = [NOW, NOW + DAY * 7, NOW + DAY * 8 - HOUR, NOW + DAY * 8]
        with uow() as tx:
            for now in moments:
                expected = {k for k in keys if restoring(tx, k, now) is not None}
                assert tx.accounts.restorable_email_keys(keys, now) == expected
            assert tx.accounts.restorable_email_keys(keys, NOW + DAY * 7) == {
                common.key
            }


class TestInMemoryAccountLife(AccountLifeContract):
    """The contract, on the in-memory adapter."""

    def create_uow_factory(self, tmp_path: Path) -> UnitOfWorkFactory:
        """A new in-memory store."""
        del tmp_path
        return InMemoryStore().unit_of_work


class TestSQLiteAccountLife(AccountLifeContract):
    """The contract, on a SQLite file."""

    def create_uow_factory(self, tmp_path: Path) -> UnitOfWorkFactory:
        """A new SQLite database file."""
        return SQLiteStore(tmp_path / "accounts.sqlite3").unit_of_work


@pytest.mark.postgres
class TestPostgresAccountLife(AccountLifeContract):
    """The contract, on a PostgreSQL schema of the test run."""

    @pytest.fixture(autouse=True)
    def _database(self, postgres_uow_factory):
        """The run's PostgreSQL store, emptied for each test."""
        self.database = postgres_uow_factory

    def create_uow_factory(self, tmp_path: Path) -> UnitOfWorkFactory:
        """The emptied PostgreSQL store."""
        del tmp_path
        return self.database
