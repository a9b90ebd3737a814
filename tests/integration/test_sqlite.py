"""What only the SQLite adapter does: its files, migrations and driver errors."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import attrs
import pytest

from builders import NOW, account, mail
from echoppe_accounts import (
    AuditEvent,
    AuditRecord,
    Email,
    SQLiteAnalyticsSink,
    SQLiteStore,
    StorageError,
)
from echoppe_accounts.adapters import _records as rec
from echoppe_accounts.adapters.sqlite import MIGRATIONS
from legacy import (
    LEGACY_RECIPIENT_KEYS,
    LEGACY_RECIPIENTS,
    expected_keys,
    legacy_accounts,
    old_account_row,
)


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


# -- version 4: email keys by IDNA domain, outbox mails by account and key ------


def version_3_database(path, accounts, recipients):
    """Make the database version 3 would have made, holding *accounts* and mails."""
    with closing(sqlite3.connect(path)) as db:
        for script in MIGRATIONS[:3]:
            db.executescript(script)
        db.execute("PRAGMA user_version=3")
        for a in accounts:
            for table, rows in (
                ("accounts", [old_account_row(a)]),
                ("delivery_addresses", rec.delivery_rows(a)),
                ("newsletter_consents", rec.consent_rows(a)),
            ):
                for row in rows:
                    db.execute(
                        f"INSERT INTO {table} ({', '.join(row)}) "  # noqa: S608
                        f"VALUES ({', '.join(':' + c for c in row)})",
                        row,
                    )
        for i, recipient in enumerate(recipients):
            db.execute(
                "INSERT INTO outbox (id, kind, recipient, subject, body_text, "
                "body_html, created_at, due_at) VALUES (:id, 'welcome', :to, 's', "
                "'t', 'h', :at, :at)",
                {"id": f"m{i}", "to": recipient, "at": rec.iso(NOW)},
            )
        db.commit()


def stored(path, query):
    """Return the rows of *query* on the database file at *path*, as tuples."""
    with closing(sqlite3.connect(path)) as db:
        return db.execute(query).fetchall()


def test_version_4_rekeys_emails_by_idna_domain(tmp_path):
    """F1: version 3's keys become the folded local part and the domain's A-label."""
    path = tmp_path / "v3.sqlite3"
    legacy = legacy_accounts()
    version_3_database(path, legacy.values(), [])
    store = SQLiteStore(path)
    assert store.schema_version == len(MIGRATIONS) >= 4
    keys = dict(stored(path, "SELECT id, email_key FROM accounts"))
    assert keys == expected_keys(legacy)


def test_after_version_4_eszett_and_double_s_domains_coexist(tmp_path):
    """F1: once re-keyed, ``info@strasse.de`` registers and each is found by its key."""
    path = tmp_path / "v3.sqlite3"
    legacy = legacy_accounts()
    version_3_database(path, legacy.values(), [])
    store = SQLiteStore(path)
    double_s, final_sigma = account("info@strasse.de"), account("x@σοφιασ.gr")
    with store.unit_of_work() as tx:
        tx.accounts.add(double_s)
        tx.accounts.add(final_sigma)
        tx.commit()
    with store.unit_of_work() as tx:
        find = tx.accounts.get_by_email_key
        assert find(Email.parse("INFO@STRASSE.DE").key).id == double_s.id
        assert find(Email.parse("info@Straße.de").key).id == legacy["eszett"].id
        assert find(Email.parse("x@ΣΟΦΙΑΣ.gr").key).id == final_sigma.id
        assert find(Email.parse("x@σοφιας.gr").key).id == legacy["sigma"].id
        assert find(Email.parse("claire.martin@EXEMPLE.fr").key).id == (
            legacy["plain"].id
        )
        assert tx.accounts.count() == len(legacy) + 2


def test_version_4_keys_existing_outbox_mails(tmp_path):
    """G3: queued mails get their recipient's key, so erasure finds them; bad → NULL."""
    path = tmp_path / "v3.sqlite3"
    version_3_database(path, [], LEGACY_RECIPIENTS)
    store = SQLiteStore(path)
    assert stored(path, "SELECT recipient_key FROM outbox ORDER BY id") == [
        (key,) for key in LEGACY_RECIPIENT_KEYS
    ]
    assert stored(path, "SELECT DISTINCT account_id FROM outbox") == [(None,)]
    with store.unit_of_work() as tx:
        keys = {Email.parse("claire.martin@exemple.fr").key}
        assert tx.outbox.forget(account_id="-", email_keys=keys) == 1
        tx.commit()
    with store.unit_of_work() as tx:
        assert {m.id for m in tx.outbox.due(NOW, 10)} == {"m0", "m2"}


def test_a_failing_python_migration_step_changes_nothing(tmp_path, monkeypatch):
    """The Python step and the version bump are one transaction: all or nothing."""
    path = tmp_path / "v3.sqlite3"
    legacy = legacy_accounts()
    version_3_database(path, legacy.values(), ["info@straße.de"])

    class CrashError(Exception):
        pass

    def crash(_rows):
        raise CrashError

    monkeypatch.setattr(rec, "new_email_keys", crash)
    with pytest.raises(CrashError):
        SQLiteStore(path)
    assert stored(path, "PRAGMA user_version") == [(3,)]
    columns = {row[1] for row in stored(path, "PRAGMA table_info(outbox)")}
    assert "recipient_key" not in columns
    keys = {key for (key,) in stored(path, "SELECT email_key FROM accounts")}
    assert "info@strasse.de" in keys
    monkeypatch.undo()
    assert SQLiteStore(path).schema_version == len(MIGRATIONS)


def test_forget_and_redact_leave_nothing_in_the_write_ahead_log(tmp_path):
    """G3: erased mails and redacted details are checkpointed out of the WAL file."""
    store = SQLiteStore(tmp_path / "db.sqlite3")
    wal = tmp_path / "db.sqlite3-wal"
    record = AuditRecord(
        "r1",
        NOW,
        AuditEvent.PROVISIONAL_PASSWORD_ISSUED,
        "acc-1",
        "agent:7",
        {"reason": "Mme Martin au 06 12 34 56 78"},
    )
    # An idle connection keeps the WAL file: the last one to close removes it.
    with closing(store.connect()) as idle:
        idle.execute("SELECT 1 FROM outbox").fetchall()
        with store.unit_of_work() as tx:
            tx.outbox.add(attrs.evolve(mail(), account_id="acc-1"))
            tx.audit.add(record)
            tx.commit()
        assert wal.stat().st_size > 0
        with store.unit_of_work() as tx:
            tx.outbox.forget(account_id="acc-1", email_keys=())
            tx.commit()
            assert wal.stat().st_size == 0
        with store.unit_of_work() as tx:
            tx.audit.add(attrs.evolve(record, id="r2"))
            tx.commit()
        assert wal.stat().st_size > 0
        with store.unit_of_work() as tx:
            assert tx.audit.redact("acc-1", ["reason"]) == 2
            tx.commit()
            assert wal.stat().st_size == 0
