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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypeAlias, TypeVar, overload

from echoppe_accounts.adapters._driver_errors import folder_error, sqlite_error
from echoppe_accounts.domain.errors import StorageError

if TYPE_CHECKING:  # loaded with the first unit of work (issue 22)
    from echoppe_accounts.adapters import _sqlite_tables

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
    from echoppe_accounts.adapters import _records as rec  # noqa: PLC0415

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


@functools.cache
def _tables() -> ModuleType:
    """The tables' module, with the records and domain types it loads.

    Loaded with the first unit of work, not when the store is opened
    (issue 22); looked up once, not by an ``import`` at every unit of work.
    """
    from echoppe_accounts.adapters import _sqlite_tables  # noqa: PLC0415

    return _sqlite_tables


_T = TypeVar("_T")


class _Repository(Generic[_T]):
    """A repository of a unit of work, made when the unit of work first uses it.

    Most units of work use one or two of their eight repositories (the
    outbox's dispatcher, with a unit of work per mail, the outbox alone):
    the others are never made. Once made, the repository is an attribute of
    the unit of work, read without this descriptor.
    """

    __slots__ = ("forgets", "name", "table")

    def __init__(self, table: str, *, forgets: bool = False) -> None:
        self.table = table
        """The repository's class in the tables' module."""
        self.forgets = forgets
        """Whether it erases data that must also leave the write-ahead log (G3)."""
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> Self: ...
    @overload
    def __get__(self, uow: SQLiteUnitOfWork, owner: type) -> _T: ...
    def __get__(self, uow: SQLiteUnitOfWork | None, owner: type) -> _T | Self:
        if uow is None:
            return self
        make = getattr(_tables(), self.table)
        link = uow._link  # noqa: SLF001
        repository: _T = make(link, uow._forgot) if self.forgets else make(link)  # noqa: SLF001
        uow.__dict__[self.name] = repository
        return repository


_REPOSITORIES = (
    "accounts",
    "tokens",
    "outbox",
    "resets",
    "throttles",
    "audit",
    "events",
)


class SQLiteUnitOfWork:
    """One ``BEGIN IMMEDIATE`` transaction on a connection of its own.

    The connection comes from the store's kept connections and goes back
    to them when the unit of work ends (see :class:`SQLiteStore`).

    .. versionadded:: 0.2.0
    """

    accounts: _Repository[_sqlite_tables._Accounts] = _Repository("_Accounts")
    tokens: _Repository[_sqlite_tables._Tokens] = _Repository("_Tokens")
    outbox: _Repository[_sqlite_tables._Outbox] = _Repository("_Outbox", forgets=True)
    resets: _Repository[_sqlite_tables._Resets] = _Repository("_Resets")
    throttles: _Repository[_sqlite_tables._Throttles] = _Repository("_Throttles")
    audit: _Repository[_sqlite_tables._Audit] = _Repository("_Audit", forgets=True)
    events: _Repository[_sqlite_tables._Events] = _Repository("_Events")

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
        self._link = _tables()._Link(conn)  # noqa: SLF001
        made = self.__dict__
        for name in _REPOSITORIES:  # made for the link of a previous block
            made.pop(name, None)
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
        if self._link.begin:  # nothing was done since the last commit
            return
        with _driver_errors():
            self._conn.execute("COMMIT")
            if self._forgot:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._forgot.clear()
        # Anything done after commit() is its own (deferred) transaction,
        # begun by its first statement and rolled back at exit unless
        # committed again.
        self._link.begin = True
