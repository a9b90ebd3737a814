"""SQLite storage, the embedded default (stdlib ``sqlite3``).

:class:`SQLiteStore` owns the database file and its schema, created and
migrated by the library (``PRAGMA user_version`` counts applied
migrations). Each :class:`SQLiteUnitOfWork` runs one ``BEGIN IMMEDIATE``
transaction on a connection of its own, so use cases are serialised by
SQLite's write lock and a token can be consumed only once. The store keeps
the connections its units of work return, open, for the next ones: opening
one costs its settings, and closing the last one costs a checkpoint of the
write-ahead log into the database, with its ``fsync``. The canonical
email key is ``UNIQUE`` in the database. A migration is an SQL script or,
when rows must be recomputed in Python, a function of the connection; each
runs in the transaction that records its version. Driver errors never leak: they
become :class:`~echoppe_accounts.StorageError` with the cause chained.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeAlias

from echoppe_accounts.adapters import _records as rec
from echoppe_accounts.adapters._driver_errors import folder_error, sqlite_error
from echoppe_accounts.domain.account import Account, Credentials
from echoppe_accounts.domain.audit import AuditRecord
from echoppe_accounts.domain.errors import (
    ConcurrencyError,
    StorageError,
    ValidationError,
)
from echoppe_accounts.domain.events import AccountEvent
from echoppe_accounts.domain.mail import (
    ADDRESS_WIPED_WHEN_SENT,
    DeadLetter,
    OutboxStats,
    OutgoingMail,
)
from echoppe_accounts.domain.reset import ResetRequest
from echoppe_accounts.domain.throttle import LoginThrottle
from echoppe_accounts.domain.tokens import TokenPurpose, TokenRecord

Migration: TypeAlias = str | Callable[[sqlite3.Connection], None]
"""One schema version: an SQL script, or a function that changes the schema
and its rows inside the migration's transaction (it must not commit)."""


def _check_foreign_keys(conn: sqlite3.Connection) -> None:
    """Refuse a migration that left a row referring to nothing."""
    if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
        msg = "a table rebuild broke a foreign key; nothing was migrated"
        raise sqlite3.IntegrityError(msg)


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it would commit the migration's transaction.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v4_idna_email_keys(conn: sqlite3.Connection) -> None:
    """Key emails by IDNA domain (SPEC F1); outbox mails by account and key (G3)."""
    _run_script(
        conn,
        """
        ALTER TABLE outbox ADD COLUMN account_id TEXT;
        ALTER TABLE outbox ADD COLUMN recipient_key TEXT;
        CREATE INDEX outbox_by_account ON outbox (account_id);
        CREATE INDEX outbox_by_recipient_key ON outbox (recipient_key);
        """,
    )
    rows = conn.execute(
        "SELECT id, email, email_key, erased_at FROM accounts"
    ).fetchall()
    changed = rec.new_email_keys(rows)
    # The new keys cannot clash with one another (see new_email_keys), but
    # one could equal a row's old key until that row is updated in turn:
    # moving the changed rows aside first keeps every step unique.
    conn.executemany(
        "UPDATE accounts SET email_key = ? WHERE id = ?",
        [(rec.REKEYING + account_id, account_id) for account_id, _ in changed],
    )
    conn.executemany(
        "UPDATE accounts SET email_key = ? WHERE id = ?",
        [(key, account_id) for account_id, key in changed],
    )
    mails = conn.execute("SELECT id, recipient FROM outbox").fetchall()
    conn.executemany(
        "UPDATE outbox SET recipient_key = ? WHERE id = ?",
        [(rec.recipient_key(m["recipient"]), m["id"]) for m in mails],
    )


_V5_OUTBOX_OPERATIONS = """
    ALTER TABLE outbox ADD COLUMN claim_id TEXT;
    ALTER TABLE outbox ADD COLUMN expires_at TEXT;
    ALTER TABLE outbox ADD COLUMN requeued_at TEXT;
    ALTER TABLE outbox ADD COLUMN dead_at TEXT;
    ALTER TABLE outbox ADD COLUMN dropped_at TEXT;
    DROP INDEX outbox_due;
    CREATE INDEX outbox_due ON outbox (due_at)
        WHERE sent_at IS NULL AND dead_at IS NULL AND dropped_at IS NULL;
    CREATE INDEX outbox_dead ON outbox (dead_at) WHERE dead_at IS NOT NULL;
"""
"""Claims with ids, dead letters, dropped mails and secrets' expiry (SPEC O1)."""

_V6_SESSIONS_EMAIL_CHANGES_EVENTS = """
    ALTER TABLE accounts ADD COLUMN session_stamp TEXT NOT NULL DEFAULT '';
    UPDATE accounts SET session_stamp = lower(hex(randomblob(16)));
    ALTER TABLE accounts ADD COLUMN pending_email TEXT;
    ALTER TABLE accounts ADD COLUMN pending_email_key TEXT;
    ALTER TABLE accounts ADD COLUMN pending_email_at TEXT;
    CREATE TABLE account_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        account_id TEXT NOT NULL,
        at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE event_positions (
        handler TEXT PRIMARY KEY,
        position INTEGER NOT NULL
    );
"""
"""Session stamps (SPEC P6), pending email changes (F10), account events (O5)."""

_V_FORMER_EMAILS = """
    ALTER TABLE accounts ADD COLUMN former_email TEXT;
    ALTER TABLE accounts ADD COLUMN former_email_key TEXT;
    ALTER TABLE accounts ADD COLUMN former_email_until TEXT;
    CREATE INDEX accounts_unverified ON accounts (created_at)
        WHERE status = 'unverified';
    CREATE INDEX accounts_former_email ON accounts (former_email_key)
        WHERE former_email_key IS NOT NULL;
"""
"""Former addresses restorable for 7 days (SPEC F10); unverified expiry (X5)."""

_ACCOUNTS_TO_COMPLETE = """
    CREATE TABLE accounts_to_complete (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        category TEXT NOT NULL,
        status TEXT NOT NULL,
        phone TEXT,
        phone_region TEXT,
        organisation_name TEXT,
        siret TEXT,
        chorus_requirement TEXT,
        chorus_service_code TEXT,
        chorus_engagement_number TEXT,
        billing_street_lines TEXT,
        billing_postal_code TEXT,
        billing_city TEXT,
        billing_country TEXT,
        password_hash TEXT,
        language TEXT NOT NULL,
        created_at TEXT NOT NULL,
        email_proven_at TEXT,
        version INTEGER NOT NULL,
        analytics_opt_out INTEGER NOT NULL DEFAULT 0,
        pending_subscription_at TEXT,
        pending_subscription_source TEXT,
        pending_subscription_wording TEXT,
        erased_at TEXT,
        session_stamp TEXT NOT NULL DEFAULT '',
        pending_email TEXT,
        pending_email_key TEXT,
        pending_email_at TEXT,
        former_email TEXT,
        former_email_key TEXT,
        former_email_until TEXT,
        siren TEXT,
        ape TEXT,
        CHECK ((billing_street_lines IS NULL) = (billing_postal_code IS NULL)
            AND (billing_postal_code IS NULL) = (billing_city IS NULL)
            AND (billing_city IS NULL) = (billing_country IS NULL))
    );
    INSERT INTO accounts_to_complete (
        id, email, email_key, name, category, status, phone, phone_region,
        organisation_name, siret, chorus_requirement, chorus_service_code,
        chorus_engagement_number, billing_street_lines, billing_postal_code,
        billing_city, billing_country, password_hash, language, created_at,
        email_proven_at, version, analytics_opt_out, pending_subscription_at,
        pending_subscription_source, pending_subscription_wording, erased_at,
        session_stamp, pending_email, pending_email_key, pending_email_at,
        former_email, former_email_key, former_email_until
    )
    SELECT
        id, email, email_key, name, category, status, phone, phone_region,
        organisation_name, siret, chorus_requirement, chorus_service_code,
        chorus_engagement_number, billing_street_lines, billing_postal_code,
        billing_city, billing_country, password_hash, language, created_at,
        email_proven_at, version, analytics_opt_out, pending_subscription_at,
        pending_subscription_source, pending_subscription_wording, erased_at,
        session_stamp, pending_email, pending_email_key, pending_email_at,
        former_email, former_email_key, former_email_until
    FROM accounts;
    DROP TABLE accounts;
    ALTER TABLE accounts_to_complete RENAME TO accounts;
    CREATE INDEX accounts_unverified ON accounts (created_at)
        WHERE status = 'unverified';
    CREATE INDEX accounts_former_email ON accounts (former_email_key)
        WHERE former_email_key IS NOT NULL
"""
"""Accounts to complete and imported companies' identifiers (SPEC M1, M2).

SQLite cannot drop a NOT NULL: the table is rebuilt (SQLite's "making
other kinds of table schema changes" procedure) with nullable billing
columns, all four null or none, and the ``siren`` and ``ape`` columns.
It runs with foreign keys off (see ``REBUILDS``): dropping the old table
would otherwise delete every row that refers to it. The rows that refer
to ``accounts`` refer to the new table by its name, and the foreign keys
are checked before the migration commits.
"""


MIGRATIONS: tuple[Migration, ...] = (
    """
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        category TEXT NOT NULL,
        status TEXT NOT NULL,
        phone TEXT,
        phone_region TEXT,
        organisation_name TEXT,
        siret TEXT,
        chorus_requirement TEXT,
        chorus_service_code TEXT,
        chorus_engagement_number TEXT,
        billing_street_lines TEXT NOT NULL,
        billing_postal_code TEXT NOT NULL,
        billing_city TEXT NOT NULL,
        billing_country TEXT NOT NULL,
        password_hash TEXT,
        language TEXT NOT NULL,
        created_at TEXT NOT NULL,
        email_proven_at TEXT,
        version INTEGER NOT NULL
    );
    CREATE TABLE delivery_addresses (
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        id TEXT NOT NULL,
        contact_name TEXT NOT NULL,
        label TEXT,
        street_lines TEXT NOT NULL,
        postal_code TEXT NOT NULL,
        city TEXT NOT NULL,
        country TEXT NOT NULL,
        PRIMARY KEY (account_id, id)
    );
    CREATE TABLE newsletter_consents (
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        subscribed INTEGER NOT NULL,
        at TEXT NOT NULL,
        source TEXT NOT NULL,
        wording_version TEXT,
        PRIMARY KEY (account_id, position)
    );
    CREATE TABLE tokens (
        digest TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        purpose TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT,
        revoked_at TEXT,
        request_id TEXT
    );
    CREATE INDEX tokens_by_account ON tokens (account_id);
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body_text TEXT NOT NULL,
        body_html TEXT NOT NULL,
        created_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sent_at TEXT,
        last_error TEXT
    );
    CREATE INDEX outbox_due ON outbox (due_at) WHERE sent_at IS NULL;
    """,
    """
    CREATE TABLE reset_requests (
        id TEXT PRIMARY KEY,
        requester_key TEXT NOT NULL,
        account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
        origin TEXT NOT NULL,
        state TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        link_expires_at TEXT NOT NULL,
        confirm_digest TEXT UNIQUE,
        cancel_digest TEXT UNIQUE,
        temporary_hash TEXT,
        temporary_expires_at TEXT,
        temporary_used_at TEXT,
        closed_at TEXT,
        version INTEGER NOT NULL
    );
    CREATE INDEX reset_requests_by_requester ON reset_requests (requester_key);
    CREATE INDEX reset_requests_by_account ON reset_requests (account_id);
    ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
    CREATE TABLE login_throttles (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure_at TEXT
    );
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        account_id TEXT,
        actor TEXT NOT NULL,
        details TEXT NOT NULL
    );
    CREATE INDEX audit_log_by_account ON audit_log (account_id);
    """,
    """
    ALTER TABLE accounts ADD COLUMN analytics_opt_out INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN pending_subscription_at TEXT;
    ALTER TABLE accounts ADD COLUMN pending_subscription_source TEXT;
    ALTER TABLE accounts ADD COLUMN pending_subscription_wording TEXT;
    ALTER TABLE accounts ADD COLUMN erased_at TEXT;
    ALTER TABLE newsletter_consents ADD COLUMN confirmed_at TEXT;
    """,
    _v4_idna_email_keys,
    _V5_OUTBOX_OPERATIONS,
    _V6_SESSIONS_EMAIL_CHANGES_EVENTS,
    _V_FORMER_EMAILS,
    _ACCOUNTS_TO_COMPLETE,
)
"""The schema, one step per version; never edit one, append a new one."""

REBUILDS = frozenset({8})
"""The versions whose migration rebuilds a table that other tables refer to.

They run with ``PRAGMA foreign_keys=OFF`` (it cannot change inside a
transaction, so it is set before) and end with ``PRAGMA foreign_key_check``.
"""


def _translate(exc: sqlite3.Error) -> StorageError:
    # The cause in words and whether a retry may help (SPEC O3); the
    # driver's message, which may quote stored values, stays in the cause.
    return sqlite_error(exc)


@contextmanager
def _driver_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise _translate(exc) from exc


_MAX_IDLE = 8
"""Connections a store keeps open between units of work: one per thread that
works at once is enough; more would only hold file descriptors."""


def _close_all(connections: list[sqlite3.Connection]) -> None:
    while connections:
        connections.pop().close()


class SQLiteStore:
    """A SQLite database file holding accounts, tokens and the outbox.

    The schema is created or brought up to date when the store is opened.
    Use ``":memory:"``-free paths only: each unit of work works on a
    connection of its own to the file.

    A unit of work's connection is kept open when it ends, for the next
    unit of work (at most eight are kept): a shop serving requests pays
    for opening a connection once per thread, not once per request, and
    the write-ahead log is checkpointed by SQLite as it grows rather than
    each time a unit of work closes the last connection. :meth:`close`
    closes the kept connections (the next unit of work opens a new one);
    so does the store's garbage collection, and leaving it as a context
    manager.

    Each connection keeps up to *cache_size* bytes of database pages (16
    MiB by default, SQLite's own default being 2 MiB): the inner pages of
    the tables and indexes then stay in memory, so finding one account
    among a million costs little more than among ten thousand. Reads may
    also go through a memory map of the file, up to *mmap_size* bytes (off
    by default: mapped pages count in the process's resident memory).

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 30.0,
        cache_size: int = 16 << 20,
        mmap_size: int = 0,
    ) -> None:
        """Open (creating if needed) the database at *path* and migrate it."""
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.cache_size = cache_size
        self.mmap_size = mmap_size
        self._idle: list[sqlite3.Connection] = []
        # The kept connections whose commits do not wait for the disk (by
        # id: a stale id after a close can only make a commit wait).
        self._relaxed: set[int] = set()
        self._idle_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_all, self._idle)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise folder_error(exc, self.path) from exc
        with _driver_errors():
            conn = self.connect()
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                self._migrate(conn)
            except BaseException:
                conn.close()
                raise
            self.release(conn)

    def connect(self) -> sqlite3.Connection:
        """Open a connection with the library's settings (autocommit, FKs on)."""
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        # What a build may lower (SQLITE_DEFAULT_WAL_SYNCHRONOUS): a commit
        # waits for the disk unless its unit of work says otherwise.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA secure_delete=ON")
        # A negative cache_size is in KiB rather than in pages.
        conn.execute(f"PRAGMA cache_size={-(int(self.cache_size) // 1024):d}")
        conn.execute(f"PRAGMA mmap_size={int(self.mmap_size):d}")
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        rebuilds = any(n > version for n in REBUILDS)
        if rebuilds:
            conn.execute("PRAGMA foreign_keys=OFF")
        try:
            self._migrate_from(conn, check_keys=rebuilds)
        finally:
            if rebuilds:
                conn.execute("PRAGMA foreign_keys=ON")

    @staticmethod
    def _migrate_from(conn: sqlite3.Connection, *, check_keys: bool) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have
            # migrated meanwhile.
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                if isinstance(step, str):
                    _run_script(conn, step)
                else:
                    step(conn)
                conn.execute(f"PRAGMA user_version={number:d}")
            if check_keys:
                _check_foreign_keys(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        """The number of migrations applied."""
        with _driver_errors():
            conn = self.connect()
            try:
                return int(conn.execute("PRAGMA user_version").fetchone()[0])
            finally:
                conn.close()

    def unit_of_work(self, *, durable: bool = True) -> SQLiteUnitOfWork:
        """Return a new unit of work over this database.

        A unit of work that is not *durable* runs with ``PRAGMA
        synchronous=NORMAL``: its commit returns without waiting for the
        disk (in WAL mode a power cut may lose it, whole; a crash of the
        program cannot). Every other commit waits (``synchronous=FULL``).
        """
        return SQLiteUnitOfWork(self, durable=durable)

    def acquire(self) -> sqlite3.Connection:
        """Return a kept connection, or a new one if none is idle.

        Give it back with :meth:`release`.

        .. versionadded:: 0.2.0
        """
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        return self.connect()

    def release(self, conn: sqlite3.Connection, *, reusable: bool = True) -> None:
        """Take back *conn*, outside any transaction, to keep it or close it.

        A connection that is not *reusable* (its last rollback failed), or
        one beyond the kept eight, is closed.

        .. versionadded:: 0.2.0
        """
        if reusable and not conn.in_transaction:
            with self._idle_lock:
                if len(self._idle) < _MAX_IDLE:
                    self._idle.append(conn)
                    return
        self._relaxed.discard(id(conn))
        conn.close()

    def wait_for_disk(self, conn: sqlite3.Connection, *, durable: bool) -> None:
        """Make *conn*'s commits wait for the disk (``synchronous``) or not.

        Outside a transaction. The setting stays with the connection, so a
        run of units of work of one kind sets it once.

        .. versionadded:: 0.2.0
        """
        relaxed = id(conn) in self._relaxed
        if durable and relaxed:
            conn.execute("PRAGMA synchronous=FULL")
            self._relaxed.discard(id(conn))
        elif not durable and not relaxed:
            conn.execute("PRAGMA synchronous=NORMAL")
            self._relaxed.add(id(conn))

    def close(self) -> None:
        """Close the connections kept open; the next unit of work opens one.

        .. versionadded:: 0.2.0
        """
        with self._idle_lock:
            _close_all(self._idle)

    def __enter__(self) -> Self:
        """Return the store itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the kept connections."""
        self.close()


@functools.lru_cache(maxsize=64)
def _insert_statement(table: str, columns: tuple[str, ...]) -> str:
    # Written once per table and set of columns; values are bound by
    # position, which SQLite binds faster than by name.
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608


def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    conn.execute(_insert_statement(table, tuple(row)), tuple(row.values()))


def _insert_many(
    conn: sqlite3.Connection, table: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert *rows*, all with the columns of the first, in one statement."""
    if len(rows) == 1:
        _insert(conn, table, rows[0])
    elif rows:
        conn.executemany(
            _insert_statement(table, tuple(rows[0])), [tuple(r.values()) for r in rows]
        )


_KEYS_PER_QUERY = 500  # bound parameters of one look-up (SQLite allows 999+)


class _Accounts:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _write_children(self, *accounts: Account, new: bool = False) -> None:
        if not new:  # a new account has no children to replace
            for table in ("delivery_addresses", "newsletter_consents"):
                self._conn.executemany(
                    f"DELETE FROM {table} WHERE account_id = ?",  # noqa: S608
                    [(a.id,) for a in accounts],
                )
        _insert_many(
            self._conn,
            "delivery_addresses",
            [row for a in accounts for row in rec.delivery_rows(a)],
        )
        _insert_many(
            self._conn,
            "newsletter_consents",
            [row for a in accounts for row in rec.consent_rows(a)],
        )

    def add(self, *accounts: Account) -> None:
        if len(accounts) == 1:  # one statement undoes itself when refused
            self._add(accounts)
            return
        # All or none: a refused row must not leave the ones before it.
        self._conn.execute("SAVEPOINT add_accounts")
        try:
            self._add(accounts)
        except BaseException:
            self._conn.execute("ROLLBACK TO add_accounts")
            raise
        finally:
            self._conn.execute("RELEASE add_accounts")

    def _add(self, accounts: Sequence[Account]) -> None:
        try:
            _insert_many(self._conn, "accounts", [rec.account_row(a) for a in accounts])
        except sqlite3.IntegrityError as exc:
            if "email_key" in str(exc):
                raise ValidationError.single("email", "email.taken") from None
            raise
        self._write_children(*accounts, new=True)

    def taken_email_keys(self, keys: Collection[str]) -> set[str]:
        wanted = list(dict.fromkeys(keys))
        taken: set[str] = set()
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            chunk = wanted[start : start + _KEYS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT email_key FROM accounts WHERE email_key IN ({marks})",  # noqa: S608
                chunk,
            )
            taken.update(row[0] for row in rows)
        return taken

    def _load(self, where: str, value: str) -> Account | None:
        row = self._conn.execute(
            f"SELECT * FROM accounts WHERE {where} = ?",  # noqa: S608
            (value,),
        ).fetchone()
        if row is None:
            return None
        deliveries = self._conn.execute(
            "SELECT * FROM delivery_addresses WHERE account_id = ?", (row["id"],)
        ).fetchall()
        consents = self._conn.execute(
            "SELECT * FROM newsletter_consents WHERE account_id = ?", (row["id"],)
        ).fetchall()
        return rec.account_from_rows(row, deliveries, consents)

    def get(self, account_id: str) -> Account | None:
        return self._load("id", account_id)

    def credentials(self, email_key: str) -> Credentials | None:
        row = self._conn.execute(
            f"SELECT {rec.CREDENTIALS_COLUMNS} FROM accounts WHERE email_key = ?",  # noqa: S608
            (email_key,),
        ).fetchone()
        return None if row is None else rec.credentials_from_row(row)

    def session_stamp(self, account_id: str) -> str | None:
        row = self._conn.execute(
            "SELECT session_stamp FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def get_by_email_key(self, key: str) -> Account | None:
        return self._load("email_key", key)

    def get_by_former_email_key(self, key: str) -> Account | None:
        row = self._conn.execute(
            "SELECT id FROM accounts WHERE former_email_key = ? "
            "ORDER BY former_email_until DESC LIMIT 1",
            (key,),
        ).fetchone()
        return None if row is None else self._load("id", str(row[0]))

    def lock(self, account_id: str) -> bool:
        # BEGIN IMMEDIATE took the database's write lock: the unit of work
        # is alone already.
        row = self._conn.execute(
            "SELECT 1 FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return row is not None

    def save(self, account: Account) -> None:
        row = rec.account_row(account)
        row["version"] = account.version + 1
        assignments = ", ".join(f"{c} = :{c}" for c in row if c != "id")
        try:
            cursor = self._conn.execute(
                f"UPDATE accounts SET {assignments} "  # noqa: S608
                "WHERE id = :id AND version = :expected",
                {**row, "expected": account.version},
            )
        except sqlite3.IntegrityError as exc:
            if "email_key" in str(exc):
                raise ValidationError.single("email", "email.taken") from None
            raise
        if cursor.rowcount != 1:
            raise ConcurrencyError(account.id)
        self._write_children(account)
        account.version += 1

    def remove(self, account_id: str) -> None:
        for table in ("delivery_addresses", "newsletter_consents", "tokens"):
            self._conn.execute(
                f"DELETE FROM {table} WHERE account_id = ?",  # noqa: S608
                (account_id,),
            )
        self._conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,))

    def unverified_before(self, cutoff: datetime, limit: int) -> list[str]:
        rows = self._conn.execute(
            "SELECT id FROM accounts WHERE status = 'unverified' "
            "AND created_at < ? ORDER BY created_at LIMIT ?",
            (rec.iso(cutoff), limit),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM accounts").fetchone()[0])


class _Tokens:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def add(self, record: TokenRecord) -> None:
        _insert(self._conn, "tokens", rec.token_row(record))

    def find(self, digest: str) -> TokenRecord | None:
        row = self._conn.execute(
            "SELECT * FROM tokens WHERE digest = ?", (digest,)
        ).fetchone()
        return None if row is None else rec.token_from_row(row)

    def consume(
        self, digest: str, purpose: TokenPurpose, now: datetime
    ) -> TokenRecord | None:
        # One statement: the check and the mark cannot be split by a rival.
        row = self._conn.execute(
            "UPDATE tokens SET used_at = :now WHERE digest = :digest "
            "AND purpose = :purpose AND used_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > :now RETURNING *",
            {"now": rec.iso(now), "digest": digest, "purpose": purpose.value},
        ).fetchone()
        return None if row is None else rec.token_from_row(row)

    def revoke(
        self, account_id: str, purposes: Sequence[TokenPurpose], now: datetime
    ) -> int:
        marks = ", ".join("?" for _ in purposes)
        cursor = self._conn.execute(
            f"UPDATE tokens SET revoked_at = ? WHERE account_id = ? "  # noqa: S608
            f"AND purpose IN ({marks}) AND used_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > ?",
            (rec.iso(now), account_id, *(p.value for p in purposes), rec.iso(now)),
        )
        return cursor.rowcount

    def for_account(self, account_id: str) -> list[TokenRecord]:
        rows = self._conn.execute(
            "SELECT * FROM tokens WHERE account_id = ? ORDER BY created_at",
            (account_id,),
        ).fetchall()
        return [rec.token_from_row(r) for r in rows]

    def purge(
        self, account_id: str, purposes: Sequence[TokenPurpose], now: datetime
    ) -> int:
        marks = ", ".join("?" for _ in purposes)
        cursor = self._conn.execute(
            f"DELETE FROM tokens WHERE account_id = ? AND purpose IN ({marks}) "  # noqa: S608
            "AND (used_at IS NOT NULL OR revoked_at IS NOT NULL OR expires_at <= ?)",
            (account_id, *(p.value for p in purposes), rec.iso(now)),
        )
        return cursor.rowcount

    def delete_for_account(self, account_id: str) -> int:
        cursor = self._conn.execute(
            "DELETE FROM tokens WHERE account_id = ?", (account_id,)
        )
        return cursor.rowcount


_PENDING = rec.OUTBOX_PENDING


_WIPED_KINDS = ", ".join(f"'{kind.value}'" for kind in sorted(ADDRESS_WIPED_WHEN_SENT))
_WIPE_ADDRESS = (
    f"recipient = CASE WHEN kind IN ({_WIPED_KINDS}) THEN '' ELSE recipient END, "
    f"recipient_key = CASE WHEN kind IN ({_WIPED_KINDS}) THEN NULL "
    "ELSE recipient_key END"
)
"""Forgets the recipient of a sent mail of :data:`ADDRESS_WIPED_WHEN_SENT`."""


class _Outbox:
    def __init__(self, conn: sqlite3.Connection, on_forget: list[bool]) -> None:
        self._conn = conn
        self._on_forget = on_forget

    def add(self, mail: OutgoingMail) -> None:
        row = rec.outbox_row(mail)
        for name in ("created_at", "due_at", "expires_at", "requeued_at"):
            row[name] = rec.iso(row[name])
        _insert(self._conn, "outbox", row)

    def due(self, now: datetime, limit: int) -> list[OutgoingMail]:
        rows = self._conn.execute(
            f"SELECT * FROM outbox WHERE {_PENDING} AND due_at <= ? "  # noqa: S608
            "ORDER BY due_at, rowid LIMIT ?",
            (rec.iso(now), limit),
        ).fetchall()
        return [rec.mail_from_row(r) for r in rows]

    def claim(
        self,
        now: datetime,
        limit: int,
        until: datetime,
        *,
        claim_id: str | None = None,
    ) -> list[OutgoingMail]:
        # The unit of work holds SQLite's write lock: no rival sees these
        # rows unclaimed between the SELECT and the UPDATE.
        rows = self._conn.execute(
            f"SELECT * FROM outbox WHERE {_PENDING} AND due_at <= :now "  # noqa: S608
            "AND (claimed_until IS NULL OR claimed_until <= :now) "
            "ORDER BY due_at, rowid LIMIT :limit",
            {"now": rec.iso(now), "limit": limit},
        ).fetchall()
        self._conn.executemany(
            "UPDATE outbox SET claimed_until = ?, claim_id = ? WHERE id = ?",
            [(rec.iso(until), claim_id, row["id"]) for row in rows],
        )
        return [rec.mail_from_row(r) for r in rows]

    def _mark(
        self, assignments: str, mail_id: str, claim_id: str | None, **values: object
    ) -> bool:
        # Only the claim's holder marks (SPEC O1); the claim ends with the mark.
        cursor = self._conn.execute(
            f"UPDATE outbox SET {assignments}, "  # noqa: S608 (fixed fragments)
            "claimed_until = NULL, claim_id = NULL "
            f"WHERE id = :id AND claim_id IS :claim AND {_PENDING}",
            {"id": mail_id, "claim": claim_id, **values},
        )
        return cursor.rowcount == 1

    def renew(
        self, mail_id: str, *, claim_id: str, now: datetime, until: datetime
    ) -> bool:
        cursor = self._conn.execute(
            "UPDATE outbox SET claimed_until = :until WHERE id = :id "  # noqa: S608
            f"AND claim_id = :claim AND claimed_until > :now AND {_PENDING}",
            {
                "id": mail_id,
                "claim": claim_id,
                "now": rec.iso(now),
                "until": rec.iso(until),
            },
        )
        return cursor.rowcount == 1

    def holds(self, mail_id: str, *, claim_id: str, now: datetime) -> bool:
        row = self._conn.execute(
            f"SELECT 1 FROM outbox WHERE id = ? AND claim_id = ? "  # noqa: S608
            f"AND claimed_until > ? AND {_PENDING}",
            (mail_id, claim_id, rec.iso(now)),
        ).fetchone()
        return row is not None

    def release(self, mail_ids: Collection[str], *, claim_id: str) -> int:
        return sum(
            self._conn.execute(
                "UPDATE outbox SET claimed_until = NULL, claim_id = NULL "
                "WHERE id = ? AND claim_id = ?",
                (mail_id, claim_id),
            ).rowcount
            for mail_id in mail_ids
        )

    def mark_sent(
        self, mail_id: str, at: datetime, *, claim_id: str | None = None
    ) -> bool:
        # Sealed or not, a delivered mail's bodies are no longer needed:
        # nothing of them is kept (SPEC O2, R9); nor the address of an
        # erased account's last mail (G3).
        return self._mark(
            "sent_at = :at, attempts = attempts + 1, body_text = '', body_html = '', "
            + _WIPE_ADDRESS,
            mail_id,
            claim_id,
            at=rec.iso(at),
        )

    def mark_failed(
        self,
        mail_id: str,
        retry_at: datetime,
        error: str,
        *,
        claim_id: str | None = None,
    ) -> bool:
        return self._mark(
            "due_at = :due, attempts = attempts + 1, last_error = :error",
            mail_id,
            claim_id,
            due=rec.iso(retry_at),
            error=error,
        )

    def mark_dead(
        self,
        mail_id: str,
        at: datetime,
        error: str,
        *,
        claim_id: str | None = None,
        attempted: bool = True,
    ) -> bool:
        return self._mark(
            "dead_at = :at, attempts = attempts + :attempted, last_error = :error",
            mail_id,
            claim_id,
            at=rec.iso(at),
            error=error,
            attempted=int(attempted),
        )

    def mark_dropped(
        self, mail_id: str, at: datetime, reason: str, *, claim_id: str | None = None
    ) -> bool:
        return self._mark(
            "dropped_at = :at, last_error = :reason, body_text = '', body_html = ''",
            mail_id,
            claim_id,
            at=rec.iso(at),
            reason=reason,
        )

    def pending_count(self) -> int:
        row = self._conn.execute(
            f"SELECT count(*) FROM outbox WHERE {_PENDING}"  # noqa: S608
        )
        return int(row.fetchone()[0])

    def stats(self) -> OutboxStats:
        pending, oldest = self._conn.execute(
            f"SELECT count(*), min(due_at) FROM outbox WHERE {_PENDING}"  # noqa: S608
        ).fetchone()
        (dead,) = self._conn.execute(
            "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL"
        ).fetchone()
        return OutboxStats(int(pending), rec.from_iso(oldest), int(dead))

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        rows = self._conn.execute(
            "SELECT * FROM outbox WHERE dead_at IS NOT NULL "
            "ORDER BY dead_at DESC, rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [rec.dead_letter_from_row(r) for r in rows]

    def requeue(self, mail_ids: Collection[str] | None, now: datetime) -> int:
        update = (
            "UPDATE outbox SET dead_at = NULL, due_at = :now, requeued_at = :now, "
            "claimed_until = NULL, claim_id = NULL WHERE dead_at IS NOT NULL"
        )
        if mail_ids is None:
            return self._conn.execute(update, {"now": rec.iso(now)}).rowcount
        return sum(
            self._conn.execute(
                update + " AND id = :id", {"now": rec.iso(now), "id": mail_id}
            ).rowcount
            for mail_id in set(mail_ids)
        )

    def purge_dead(self, before: datetime | None) -> int:
        cursor = self._conn.execute(
            "DELETE FROM outbox WHERE dead_at IS NOT NULL "
            "AND (:before IS NULL OR dead_at < :before)",
            {"before": rec.iso(before)},
        )
        if cursor.rowcount:
            # Dead letters name their recipients: none is left in the WAL.
            self._on_forget.append(True)
        return cursor.rowcount

    def forget(self, *, account_id: str, email_keys: Collection[str]) -> int:
        keys = sorted(set(email_keys))
        marks = ", ".join("?" for _ in keys)
        cursor = self._conn.execute(
            f"DELETE FROM outbox WHERE account_id = ? "  # noqa: S608 (marks only)
            f"OR recipient_key IN ({marks})",
            (account_id, *keys),
        )
        self._on_forget.append(True)
        return cursor.rowcount


class _Resets:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _one(self, sql: str, *args: object) -> ResetRequest | None:
        row = self._conn.execute(sql, args).fetchone()
        return None if row is None else rec.reset_from_row(row)

    def add(self, request: ResetRequest) -> None:
        _insert(self._conn, "reset_requests", rec.reset_row(request))

    def find_by_digest(self, digest: str) -> ResetRequest | None:
        return self._one(
            "SELECT * FROM reset_requests WHERE confirm_digest = ? "
            "OR cancel_digest = ?",
            digest,
            digest,
        )

    def for_requester(self, requester_key: str, since: datetime) -> list[ResetRequest]:
        rows = self._conn.execute(
            "SELECT * FROM reset_requests WHERE requester_key = ? "
            "AND requested_at >= ? ORDER BY requested_at, rowid",
            (requester_key, rec.iso(since)),
        ).fetchall()
        return [rec.reset_from_row(r) for r in rows]

    def for_account(self, account_id: str) -> list[ResetRequest]:
        rows = self._conn.execute(
            "SELECT * FROM reset_requests WHERE account_id = ? "
            "ORDER BY requested_at, rowid",
            (account_id,),
        ).fetchall()
        return [rec.reset_from_row(r) for r in rows]

    def delete_for(self, account_id: str, requester_key: str) -> int:
        cursor = self._conn.execute(
            "DELETE FROM reset_requests WHERE account_id = ? OR requester_key = ?",
            (account_id, requester_key),
        )
        return cursor.rowcount

    def save(self, request: ResetRequest) -> None:
        row = rec.reset_row(request)
        row["version"] = request.version + 1
        assignments = ", ".join(f"{c} = :{c}" for c in row if c != "id")
        cursor = self._conn.execute(
            f"UPDATE reset_requests SET {assignments} "  # noqa: S608
            "WHERE id = :id AND version = :expected",
            {**row, "expected": request.version},
        )
        if cursor.rowcount != 1:
            raise ConcurrencyError(request.id)
        request.version += 1


class _Throttles:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, key: str) -> LoginThrottle:
        row = self._conn.execute(
            "SELECT * FROM login_throttles WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return LoginThrottle(key)
        return LoginThrottle(key, row["failures"], rec.from_iso(row["last_failure_at"]))

    def save(self, throttle: LoginThrottle) -> None:
        self._conn.execute(
            "INSERT INTO login_throttles (key, failures, last_failure_at) "
            "VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "failures = excluded.failures, last_failure_at = excluded.last_failure_at",
            (throttle.key, throttle.failures, rec.iso(throttle.last_failure_at)),
        )

    def delete(self, key: str) -> None:
        self._conn.execute("DELETE FROM login_throttles WHERE key = ?", (key,))


class _Audit:
    def __init__(self, conn: sqlite3.Connection, on_forget: list[bool]) -> None:
        self._conn = conn
        self._on_forget = on_forget

    def add(self, *records: AuditRecord) -> None:
        _insert_many(self._conn, "audit_log", [rec.audit_row(r) for r in records])

    def for_account(self, account_id: str) -> list[AuditRecord]:
        rows = self._conn.execute(
            "SELECT * FROM audit_log WHERE account_id = ? ORDER BY seq", (account_id,)
        ).fetchall()
        return [rec.audit_from_row(r) for r in rows]

    def redact(self, account_id: str, detail_keys: Collection[str]) -> int:
        rows = self._conn.execute(
            "SELECT seq, details FROM audit_log WHERE account_id = ?", (account_id,)
        ).fetchall()
        changes = [
            (details, row["seq"])
            for row in rows
            if (details := rec.redacted_details(row["details"], detail_keys))
            is not None
        ]
        self._conn.executemany(
            "UPDATE audit_log SET details = ? WHERE seq = ?", changes
        )
        if changes:
            self._on_forget.append(True)
        return len(changes)


class _Events:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.written = False

    def add(self, *events: AccountEvent) -> None:
        for event in events:
            _insert(self._conn, "account_events", rec.event_row(event))
            self.written = True

    def after(self, position: int, limit: int) -> list[tuple[int, AccountEvent]]:
        rows = self._conn.execute(
            "SELECT * FROM account_events WHERE seq > ? ORDER BY seq LIMIT ?",
            (position, limit),
        ).fetchall()
        return [(int(r["seq"]), rec.event_from_row(r)) for r in rows]

    def position(self, handler: str) -> int:
        row = self._conn.execute(
            "SELECT position FROM event_positions WHERE handler = ?", (handler,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def advance(self, handler: str, position: int) -> None:
        self._conn.execute(
            "INSERT INTO event_positions (handler, position) VALUES (?, ?) "
            "ON CONFLICT (handler) DO UPDATE "
            "SET position = max(position, excluded.position)",
            (handler, position),
        )


class SQLiteUnitOfWork:
    """One ``BEGIN IMMEDIATE`` transaction on a connection of its own.

    The connection comes from the store's kept connections and goes back
    to them when the unit of work ends (see :class:`SQLiteStore`).

    .. versionadded:: 0.2.0
    """

    def __init__(self, store: SQLiteStore, *, durable: bool = True) -> None:
        """Work on *store*; see :meth:`SQLiteStore.unit_of_work` for *durable*."""
        self.store = store
        self.durable = durable
        self._conn: sqlite3.Connection | None = None
        # Set by the repositories when erased data must also leave the
        # write-ahead log (G3). A list rather than a bound method: the
        # repositories hold no reference back to this unit of work, which
        # refcounting then frees without the cycle collector.
        self._forgot: list[bool] = []

    def __enter__(self) -> Self:
        """Take a connection and begin a write transaction."""
        with _driver_errors():
            conn = self.store.acquire()
            try:
                self.store.wait_for_disk(conn, durable=self.durable)
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error:
                self.store.release(conn, reusable=False)
                raise
        self._conn = conn
        self.accounts = _Accounts(conn)
        self.tokens = _Tokens(conn)
        self.outbox = _Outbox(conn, self._forgot)
        self.resets = _Resets(conn)
        self.throttles = _Throttles(conn)
        self.audit = _Audit(conn, self._forgot)
        self.events = _Events(conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back what was not committed and give the connection back."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        reusable = False
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            reusable = True
        except sqlite3.Error as err:
            if exc is None:
                raise _translate(err) from err
        finally:
            self.store.release(conn, reusable=reusable)
        if isinstance(exc, sqlite3.Error):
            raise _translate(exc) from exc

    def commit(self) -> None:
        """Commit the transaction."""
        if self._conn is None:
            msg = "commit() outside the unit of work's with-block"
            raise StorageError(msg)
        with _driver_errors():
            self._conn.execute("COMMIT")
            if self._forgot:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._forgot.clear()
            # Anything done after commit() is its own (deferred) transaction,
            # rolled back at exit unless committed again.
            self._conn.execute("BEGIN")
