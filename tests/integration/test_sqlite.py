"""What only the SQLite adapter does: its files, migrations and driver errors."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import attrs
import pytest

from builders import account
from echoppe_accounts import (
    SQLiteAnalyticsSink,
    SQLiteStore,
    StorageError,
)
from echoppe_accounts.adapters.sqlite import MIGRATIONS


def test_schema_is_created_and_migrations_are_idempotent(tmp_path):
    """Opening a database twice applies each migration once."""
    path = tmp_path / "db.sqlite3"
    assert SQLiteStore(path).schema_version == len(MIGRATIONS)
    assert SQLiteStore(path).schema_version == len(MIGRATIONS)
    with closing(sqlite3.connect(path)) as db:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_an_old_database_is_brought_up_to_date_keeping_its_data(tmp_path):
    """A version-1 database gains the later tables and columns, rows intact."""
    path = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(MIGRATIONS[0])
        db.execute("PRAGMA user_version=1")
        db.execute(
            "INSERT INTO outbox (id, kind, recipient, subject, body_text, body_html, "
            "created_at, due_at) VALUES ('m1', 'welcome', 'a@exemple.fr', 's', 't', "
            "'h', :at, :at)",
            {"at": "2026-01-01T00:00:00.000000+00:00"},
        )
        db.commit()
    store = SQLiteStore(path)
    assert store.schema_version == len(MIGRATIONS)
    with store.unit_of_work() as tx:
        assert tx.outbox.pending_count() == 1
        tx.accounts.add(account())
        tx.commit()


def test_an_unusable_path_is_a_storage_error(tmp_path):
    """A database path that cannot be opened raises the library's error."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError) as info:
        SQLiteStore(blocker / "db.sqlite3")
    assert isinstance(info.value.__cause__, (sqlite3.Error, OSError))


def test_a_corrupt_file_is_a_storage_error(tmp_path):
    """Garbage where a database should be never leaks a sqlite3 exception."""
    path = tmp_path / "corrupt.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError):
        SQLiteStore(path)
    with pytest.raises(StorageError):
        SQLiteAnalyticsSink(path)


def test_driver_errors_inside_a_unit_of_work_are_translated(tmp_path):
    """A constraint the library does not expect becomes a StorageError, rolled back."""
    store = SQLiteStore(tmp_path / "db.sqlite3")
    first = account()
    with store.unit_of_work() as tx:
        tx.accounts.add(first)
        tx.commit()
    twin = attrs.evolve(account("autre@exemple.fr"), id=first.id)
    with pytest.raises(StorageError) as info, store.unit_of_work() as tx:
        tx.accounts.add(twin)
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    with store.unit_of_work() as tx:
        assert tx.accounts.count() == 1


def test_commit_outside_the_block_is_refused(tmp_path):
    """Committing a unit of work that is not open is a clear error."""
    uow = SQLiteStore(tmp_path / "db.sqlite3").unit_of_work()
    with pytest.raises(StorageError, match="outside"):
        uow.commit()


def test_a_busy_database_is_a_storage_error(tmp_path):
    """A lock held elsewhere past the timeout gives StorageError, not sqlite3's."""
    store = SQLiteStore(tmp_path / "db.sqlite3", busy_timeout=0.05)
    with closing(sqlite3.connect(store.path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError):
            store.unit_of_work().__enter__()
        other.execute("ROLLBACK")


def test_email_taken_on_update_in_sqlite(tmp_path):
    """The database itself enforces the unique canonical email (F1)."""
    store = SQLiteStore(tmp_path / "db.sqlite3")
    a, b = account("a@exemple.fr"), account("b@exemple.fr")
    with store.unit_of_work() as tx:
        tx.accounts.add(a)
        tx.accounts.add(b)
        tx.commit()
    with (
        closing(sqlite3.connect(store.path)) as db,
        pytest.raises(sqlite3.IntegrityError),
    ):
        db.execute(
            "UPDATE accounts SET email_key = 'a@exemple.fr' WHERE id = ?", (b.id,)
        )
