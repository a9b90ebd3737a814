"""SQLite failures triggered for real, said in words (SPEC O3).

A full disk (``PRAGMA max_page_count``, which makes SQLite answer
``SQLITE_FULL`` exactly as a full file system does, and a real 2 MB tmpfs
when the tests may mount one), a read-only database, a lock held elsewhere,
a corrupt file, a folder where the file should be: each gives a
:class:`StorageError` whose message says the cause and whether a retry may
succeed, the driver's exception chained.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    SQLiteAnalyticsSink,
    SQLiteStore,
    StorageError,
    SystemSecrets,
)
from echoppe_accounts.testing import FrozenClock
from sample_forms import form


def account_service(store: SQLiteStore, settings) -> AccountService:
    """The account use cases on *store*."""
    return AccountService(
        uow=store.unit_of_work,
        clock=FrozenClock(),
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=settings,
    )


def with_pragma(store: SQLiteStore, monkeypatch, pragma: str) -> None:
    """Make every connection *store* opens from now on run *pragma* first."""
    connect = store.connect

    def connect_with_pragma() -> sqlite3.Connection:
        conn = connect()
        conn.execute(pragma)
        return conn

    monkeypatch.setattr(store, "connect", connect_with_pragma)
    store.close()  # the connections it keeps were opened without the pragma


def count_accounts(store: SQLiteStore) -> int:
    """Return how many accounts *store* holds."""
    with store.unit_of_work() as tx:
        return tx.accounts.count()


def test_a_full_disk_is_said_in_words(tmp_path, monkeypatch, shop_settings):
    """O3: SQLITE_FULL reads "the disk holding the database is full", not retryable."""
    store = SQLiteStore(tmp_path / "accounts.sqlite3")
    service = account_service(store, shop_settings)
    service.register(form(email="premier@exemple.fr"))
    conn = store.connect()
    # A migration that rebuilds a table leaves the old one's pages free for
    # reuse: without them the file is full at its present size.
    conn.execute("VACUUM")
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.close()
    with_pragma(store, monkeypatch, f"PRAGMA max_page_count={pages}")
    with pytest.raises(StorageError) as info:
        service.register(form(email="second@exemple.fr"))
    assert str(info.value) == (
        "the disk holding the database is full; retrying will not help "
        "(SQLite SQLITE_FULL)"
    )
    assert info.value.retryable is False
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    monkeypatch.undo()
    assert count_accounts(store) == 1  # nothing half-written


@pytest.fixture
def small_disk():
    """A 2 MB tmpfs of the test's own, unmounted after it (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a 2 MB tmpfs needs root; max_page_count covers it")
    folder = Path(tempfile.mkdtemp(prefix="echoppe-tmpfs-"))
    mount = ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)]
    done = subprocess.run(mount, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        unmount = ["umount", str(folder)]
        if subprocess.run(unmount, check=False).returncode != 0:  # noqa: S603
            subprocess.run(["umount", "-l", str(folder)], check=False)  # noqa: S603, S607
        folder.rmdir()


def test_a_full_file_system_is_said_in_words(small_disk, shop_settings):
    """O3: a real full disk gives the same sentence; freeing space cures it."""
    store = SQLiteStore(small_disk / "accounts.sqlite3")
    service = account_service(store, shop_settings)
    service.register(form(email="premier@exemple.fr"))
    stats = os.statvfs(small_disk)
    filler = small_disk / "filler"
    filler.write_bytes(bytes(stats.f_bavail * stats.f_frsize - 32 * 1024))
    with pytest.raises(StorageError) as info:
        for n in range(1000):
            service.register(form(email=f"client{n}@exemple.fr"))
    assert "the disk holding the database is full" in str(info.value)
    assert info.value.retryable is False
    filler.unlink()
    service.register(form(email="apres@exemple.fr"))


def test_a_read_only_file_system_is_said_in_words(small_disk, shop_settings):
    """O3: a database on a file system remounted read-only cannot be opened."""
    store = SQLiteStore(small_disk / "accounts.sqlite3")
    service = account_service(store, shop_settings)
    service.register(form(email="premier@exemple.fr"))
    store.close()  # a file open for writing keeps the file system read-write
    remount = ["mount", "-o", "remount,ro", str(small_disk)]
    subprocess.run(remount, check=True)  # noqa: S603
    with pytest.raises(StorageError) as info:
        service.register(form(email="second@exemple.fr"))
    assert "read-only file system" in str(info.value)
    assert info.value.retryable is False


def test_a_read_only_database_is_said_in_words(tmp_path, monkeypatch, shop_settings):
    """O3: SQLITE_READONLY reads "the database is read-only", not retryable."""
    store = SQLiteStore(tmp_path / "accounts.sqlite3")
    service = account_service(store, shop_settings)
    with_pragma(store, monkeypatch, "PRAGMA query_only=ON")
    with pytest.raises(StorageError) as info:
        service.register(form())
    assert str(info.value).startswith("the database is read-only")
    assert "(SQLite SQLITE_READONLY)" in str(info.value)
    assert info.value.retryable is False


def test_a_busy_database_is_retryable(tmp_path, shop_settings):
    """O3: a write lock held elsewhere past the busy timeout may clear: retryable."""
    store = SQLiteStore(tmp_path / "accounts.sqlite3", busy_timeout=0.05)
    service = account_service(store, shop_settings)
    holder = store.connect()
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError) as info:
            service.register(form())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked by another connection (busy)" in str(info.value)
    assert info.value.retryable is True
    service.register(form())  # the retry succeeds once the lock is gone


def test_a_corrupt_file_is_said_in_words(tmp_path):
    """O3: a file that is not a database says so, and that retrying will not help."""
    path = tmp_path / "accounts.sqlite3"
    path.write_bytes(b"ceci n'est pas une base de donnees" * 200)
    with pytest.raises(StorageError) as info:
        SQLiteStore(path)
    assert "not a SQLite database" in str(info.value)
    assert info.value.retryable is False
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_a_folder_in_place_of_the_file_cannot_be_opened(tmp_path):
    """O3: SQLITE_CANTOPEN reads "the database file cannot be opened"."""
    (tmp_path / "accounts.sqlite3").mkdir()
    with pytest.raises(StorageError) as info:
        SQLiteStore(tmp_path / "accounts.sqlite3")
    assert "the database file cannot be opened" in str(info.value)
    assert info.value.retryable is False


def test_the_analytics_sink_says_its_failures_in_words(tmp_path):
    """O3: the SQLite analytics sink translates its errors the same way."""
    path = tmp_path / "analytics.sqlite3"
    path.write_bytes(b"pas une base" * 500)
    with pytest.raises(StorageError) as info:
        SQLiteAnalyticsSink(path)
    assert "not a SQLite database" in str(info.value)
    assert "SQLite error" not in str(info.value)
