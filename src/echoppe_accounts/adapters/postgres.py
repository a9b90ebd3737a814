"""PostgreSQL storage, for shops that outgrow one machine (psycopg 3).

The adapter needs the ``postgres`` extra
(``pip install 'echoppe-accounts[postgres]'``); the package does not import
it, so import it from this module::

    from echoppe_accounts import bootstrap
    from echoppe_accounts.adapters.postgres import PostgresStore

    store = PostgresStore("postgresql://shop@db.internal/shop")
    app = bootstrap(store.unit_of_work, mailer, settings)
    ...
    store.close()

:class:`PostgresStore` owns a connection pool and a schema of its own,
created and migrated by the library when the store is opened (the
``schema_migrations`` table lists the applied versions; an advisory lock
serialises processes that open the store at once). A migration is an SQL
script or, when rows must be recomputed in Python, a function of the
connection; each runs in the transaction that records its version. Each
:class:`PostgresUnitOfWork` is one ``READ COMMITTED`` transaction on one
pooled connection. What the use cases need under concurrency holds as with
SQLite's single writer:

- a token is consumed by one ``UPDATE … RETURNING`` (SPEC R8);
- accounts and reset requests are saved only if their ``version`` is still
  the one read, else :class:`~echoppe_accounts.ConcurrencyError`;
- the canonical email key is ``UNIQUE`` in the database;
- outbox mails are claimed with ``FOR UPDATE SKIP LOCKED``;
- the reads that precede a write with no version to check (a login's
  failure count, the reset cooldown of an email) take a transaction-scoped
  advisory lock on their key, so two logins cannot lose a failure and two
  reset requests cannot both pass the cooldown.

Driver errors never leak: they become :class:`~echoppe_accounts.StorageError`
with the cause chained, a message saying what failed in words, and
``retryable`` saying whether the same call may succeed later. Connections
are checked before use, and every wait on the server is bounded by the
store's ``timeout`` (SPEC O3; see :class:`PostgresStore`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, LiteralString, Self, TypeAlias

import psycopg
from psycopg import sql
from psycopg.abc import Params, QueryNoTemplate
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout, TooManyRequests

from echoppe_accounts.adapters import _records as rec
from echoppe_accounts.adapters._driver_errors import (
    Cause,
    postgres_cause,
    storage_error,
)
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

Connection: TypeAlias = psycopg.Connection[DictRow]

_IN_TRANSACTION = psycopg.pq.TransactionStatus.INTRANS

Migration: TypeAlias = LiteralString | Callable[[Connection], None]
"""One schema version: an SQL script, or a function that changes the schema
and its rows inside the migration's transaction (it must not commit)."""


def _v2_idna_email_keys(conn: Connection) -> None:
    """Key emails by IDNA domain (SPEC F1); outbox mails by account and key (G3)."""
    conn.execute(
        """
        ALTER TABLE outbox ADD COLUMN account_id text,
            ADD COLUMN recipient_key text;
        CREATE INDEX outbox_by_account ON outbox (account_id);
        CREATE INDEX outbox_by_recipient_key ON outbox (recipient_key);
        """
    )
    rows = conn.execute(
        "SELECT id, email, email_key, erased_at FROM accounts"
    ).fetchall()
    changed = rec.new_email_keys(rows)
    with conn.cursor() as cursor:
        # The new keys cannot clash with one another (see new_email_keys),
        # but one could equal a row's old key until that row is updated in
        # turn: moving the changed rows aside first keeps every step unique.
        cursor.executemany(
            "UPDATE accounts SET email_key = %s WHERE id = %s",
            [(rec.REKEYING + account_id, account_id) for account_id, _ in changed],
        )
        cursor.executemany(
            "UPDATE accounts SET email_key = %s WHERE id = %s",
            [(key, account_id) for account_id, key in changed],
        )
        mails = conn.execute("SELECT id, recipient FROM outbox").fetchall()
        cursor.executemany(
            "UPDATE outbox SET recipient_key = %s WHERE id = %s",
            [(rec.recipient_key(m["recipient"]), m["id"]) for m in mails],
        )


MIGRATIONS: tuple[Migration, ...] = (
    # The tables and columns of the SQLite adapter (all its migrations so
    # far), in PostgreSQL types. ``seq`` columns stand for SQLite's rowid:
    # the insertion order that breaks ties between equal times.
    """
    CREATE TABLE accounts (
        id text PRIMARY KEY,
        email text NOT NULL,
        email_key text NOT NULL CONSTRAINT accounts_email_key_unique UNIQUE,
        name text NOT NULL,
        category text NOT NULL,
        status text NOT NULL,
        phone text,
        phone_region text,
        organisation_name text,
        siret text,
        chorus_requirement text,
        chorus_service_code text,
        chorus_engagement_number text,
        billing_street_lines text NOT NULL,
        billing_postal_code text NOT NULL,
        billing_city text NOT NULL,
        billing_country text NOT NULL,
        password_hash text,
        language text NOT NULL,
        created_at timestamptz NOT NULL,
        email_proven_at timestamptz,
        analytics_opt_out boolean NOT NULL DEFAULT false,
        pending_subscription_at timestamptz,
        pending_subscription_source text,
        pending_subscription_wording text,
        erased_at timestamptz,
        version integer NOT NULL
    );
    CREATE TABLE delivery_addresses (
        account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        position integer NOT NULL,
        id text NOT NULL,
        contact_name text NOT NULL,
        label text,
        street_lines text NOT NULL,
        postal_code text NOT NULL,
        city text NOT NULL,
        country text NOT NULL,
        PRIMARY KEY (account_id, id)
    );
    CREATE TABLE newsletter_consents (
        account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        position integer NOT NULL,
        subscribed boolean NOT NULL,
        at timestamptz NOT NULL,
        source text NOT NULL,
        wording_version text,
        confirmed_at timestamptz,
        PRIMARY KEY (account_id, position)
    );
    CREATE TABLE tokens (
        digest text PRIMARY KEY,
        account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        purpose text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        revoked_at timestamptz,
        request_id text
    );
    CREATE INDEX tokens_by_account ON tokens (account_id);
    CREATE TABLE outbox (
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        id text PRIMARY KEY,
        kind text NOT NULL,
        recipient text NOT NULL,
        subject text NOT NULL,
        body_text text NOT NULL,
        body_html text NOT NULL,
        created_at timestamptz NOT NULL,
        due_at timestamptz NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        sent_at timestamptz,
        last_error text,
        claimed_until timestamptz
    );
    CREATE INDEX outbox_due ON outbox (due_at) WHERE sent_at IS NULL;
    CREATE TABLE reset_requests (
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        id text PRIMARY KEY,
        requester_key text NOT NULL,
        account_id text REFERENCES accounts (id) ON DELETE CASCADE,
        origin text NOT NULL,
        state text NOT NULL,
        requested_at timestamptz NOT NULL,
        link_expires_at timestamptz NOT NULL,
        confirm_digest text UNIQUE,
        cancel_digest text UNIQUE,
        temporary_hash text,
        temporary_expires_at timestamptz,
        temporary_used_at timestamptz,
        closed_at timestamptz,
        version integer NOT NULL
    );
    CREATE INDEX reset_requests_by_requester ON reset_requests (requester_key);
    CREATE INDEX reset_requests_by_account ON reset_requests (account_id);
    CREATE TABLE login_throttles (
        key text PRIMARY KEY,
        failures integer NOT NULL,
        last_failure_at timestamptz
    );
    CREATE TABLE audit_log (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        at timestamptz NOT NULL,
        event text NOT NULL,
        account_id text,
        actor text NOT NULL,
        details text NOT NULL
    );
    CREATE INDEX audit_log_by_account ON audit_log (account_id);
    """,
    _v2_idna_email_keys,
    # Claims with ids, dead letters, dropped mails, secrets' expiry (SPEC O1).
    """
    ALTER TABLE outbox ADD COLUMN claim_id text,
        ADD COLUMN expires_at timestamptz,
        ADD COLUMN requeued_at timestamptz,
        ADD COLUMN dead_at timestamptz,
        ADD COLUMN dropped_at timestamptz;
    DROP INDEX outbox_due;
    CREATE INDEX outbox_due ON outbox (due_at)
        WHERE sent_at IS NULL AND dead_at IS NULL AND dropped_at IS NULL;
    CREATE INDEX outbox_dead ON outbox (dead_at) WHERE dead_at IS NOT NULL;
    """,
    # Session stamps (SPEC P6), pending email changes (F10), events (O5).
    """
    ALTER TABLE accounts ADD COLUMN session_stamp text NOT NULL DEFAULT '',
        ADD COLUMN pending_email text,
        ADD COLUMN pending_email_key text,
        ADD COLUMN pending_email_at timestamptz;
    UPDATE accounts SET session_stamp = replace(gen_random_uuid()::text, '-', '');
    CREATE TABLE account_events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        type text NOT NULL,
        account_id text NOT NULL,
        at timestamptz NOT NULL,
        data text NOT NULL,
        tx bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)
    );
    CREATE INDEX account_events_order ON account_events (tx, seq);
    CREATE TABLE event_positions (
        handler text PRIMARY KEY,
        position numeric NOT NULL
    );
    """,
    # Former addresses restorable for 7 days (SPEC F10), unverified expiry (X5).
    """
    ALTER TABLE accounts ADD COLUMN former_email text,
        ADD COLUMN former_email_key text,
        ADD COLUMN former_email_until timestamptz;
    CREATE INDEX accounts_unverified ON accounts (created_at)
        WHERE status = 'unverified';
    CREATE INDEX accounts_former_email ON accounts (former_email_key)
        WHERE former_email_key IS NOT NULL;
    """,
    # Accounts to complete, imported companies' identifiers (SPEC M1, M2).
    """
    ALTER TABLE accounts ALTER COLUMN billing_street_lines DROP NOT NULL,
        ALTER COLUMN billing_postal_code DROP NOT NULL,
        ALTER COLUMN billing_city DROP NOT NULL,
        ALTER COLUMN billing_country DROP NOT NULL,
        ADD COLUMN siren text,
        ADD COLUMN ape text,
        ADD CONSTRAINT accounts_billing_whole CHECK (
            num_nulls(billing_street_lines, billing_postal_code, billing_city,
                      billing_country) IN (0, 4));
    """,
)
"""The schema, one step per version; never edit one, append a new one."""

_EMAIL_KEY_UNIQUE = "accounts_email_key_unique"
"""The constraint whose violation means ``email.taken``."""
_ON_EMAIL_KEY_CONFLICT = sql.SQL("ON CONFLICT ON CONSTRAINT {} DO NOTHING").format(
    sql.Identifier(_EMAIL_KEY_UNIQUE)
)
_MAX_PARAMETERS = 65_535  # bound parameters of one statement (the protocol's)
_COPY_FROM = 16
"""Rows from which a bulk insert of new rows goes by ``COPY`` (issue 22)."""


class _KeyTakenError(Exception):
    """Raised inside a savepoint to undo a batch of accounts."""


_UNREACHABLE = Cause(
    "cannot connect to the database server (it is down, restarting or "
    "unreachable, or it refused the database, the role or the password)",
    retryable=True,
)
_NO_CONNECTION = Cause(
    "no database connection within the store's timeout (the server is down "
    "or unreachable, or every connection of the pool is in use)",
    retryable=True,
)
_LOST = Cause("the connection to the database server was lost", retryable=True)
_LOST_IN_COMMIT = Cause(
    "the connection to the database server was lost during the commit, so "
    "the change may or may not have been saved",
    retryable=True,
)
_CLOSED = Cause("the store is closed", retryable=False)
_QUEUE_FULL = Cause(
    "too many units of work are waiting for a database connection",
    retryable=True,
)
_DRIVER = Cause("the database driver refused the operation (a bug)", retryable=False)


def _translate(
    exc: psycopg.Error, *, connecting: bool = False, committing: bool = False
) -> StorageError:
    """Say what *exc* means in words, and whether a retry may succeed (SPEC O3).

    *connecting* tells a connection that could not be made from one lost
    mid-work (the driver gives neither a SQLSTATE); *committing*, that the
    work may have been saved all the same.
    """
    # The driver's message may quote stored values (an email in a key
    # violation): keep it in the chained cause, out of the message.
    name = type(exc).__name__
    lost = _LOST_IN_COMMIT if committing else _LOST
    if exc.sqlstate:
        cause = postgres_cause(exc.sqlstate)
        if exc.sqlstate.startswith("08") and not connecting:
            cause = lost
        return storage_error(cause, f"PostgreSQL {exc.sqlstate} {name}")
    if isinstance(exc, PoolTimeout):
        cause = _NO_CONNECTION
    elif isinstance(exc, PoolClosed):
        cause = _CLOSED
    elif isinstance(exc, TooManyRequests):
        cause = _QUEUE_FULL
    elif isinstance(exc, psycopg.OperationalError):
        cause = _UNREACHABLE if connecting else lost
    else:
        cause = _DRIVER
    return storage_error(cause, f"PostgreSQL {name}")


@contextmanager
def _driver_errors(
    *, connecting: bool = False, committing: bool = False
) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise _translate(exc, connecting=connecting, committing=committing) from exc


def _connection_options(conninfo: str, timeout: float) -> dict[str, Any]:
    """Return the libpq settings that bound a wait on the network by *timeout*.

    Those the connection string sets itself are left to it.
    """
    # libpq counts connect_timeout in whole seconds, and takes less than 2
    # as 2.
    seconds = max(2, math.ceil(timeout))
    options: dict[str, Any] = {
        "connect_timeout": seconds,
        # A server gone without closing its sockets (a host down, a network
        # cut): unacknowledged data is given up on after this long, and
        # keepalive probes notice the silence while a call awaits an answer.
        "tcp_user_timeout": seconds * 1000,
        "keepalives": 1,
        "keepalives_idle": seconds,
        "keepalives_interval": 1,
        "keepalives_count": 3,
    }
    given = conninfo_to_dict(conninfo)
    return {key: value for key, value in options.items() if key not in given}


def _lock_key(*parts: str) -> int:
    """Return a 64-bit advisory-lock key for *parts*, the same in every process."""
    text = "\x00".join(("echoppe_accounts", *parts)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big", signed=True)


def _insert(table: str, columns: Iterable[str]) -> sql.Composed:
    names = list(columns)
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(map(sql.Placeholder, names)),
    )


_INSERTS: dict[tuple[str, tuple[str, ...], str], bytes] = {}
"""The one-row ``INSERT`` statements made so far, as sent (:func:`_insert_one`)."""
_MAX_INSERTS = 256


def _insert_one(conn: Connection, table: str, columns: Iterable[str]) -> bytes:
    """Return the ``INSERT`` of one row of *columns* into *table*, as sent.

    Composing it, each identifier quoted by libpq, costs more than the
    server's work on a small row (about 70 µs for a mail): each statement
    is composed once per table, columns and client encoding.
    """
    key = (table, tuple(columns), conn.info.encoding)
    statement = _INSERTS.get(key)
    if statement is None:
        statement = _insert(table, key[1]).as_bytes(conn)
        if len(_INSERTS) < _MAX_INSERTS:  # a bound, should rows vary
            _INSERTS[key] = statement
    return statement


def _assignments(columns: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c))
        for c in columns
    )


POOL_PREFIX = "echoppe_accounts."
"""How the library's connection pools (and their threads) are named."""

log = logging.getLogger("echoppe_accounts.postgres")
"""The adapter's logger; with it at ``DEBUG``, the pool's own records show too."""

_in_pool_use = threading.local()


class _QuietPool(logging.Filter):
    """Keep ``psycopg.pool``'s warnings about the library's pools out of the logs.

    During an outage the pool warns at every reconnection attempt and every
    discarded connection (34 lines for two failed rounds): the library says
    it once per failed call, with a :class:`~echoppe_accounts.StorageError`
    that the worker logs once per round (SPEC O3, O4). The pool's records
    about the library's pools (from its threads, named after the pool, or
    from a thread inside the library's use of the pool) are dropped, or
    shown at ``DEBUG`` when ``echoppe_accounts.postgres`` is at ``DEBUG``.
    Records about a shop's own pools are left alone.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        depth: int = getattr(_in_pool_use, "depth", 0)
        ours = depth > 0 or (record.threadName or "").startswith(POOL_PREFIX)
        if not ours or record.levelno > logging.WARNING:
            return True
        if not log.isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_QUIET_POOL = _QuietPool()


@contextmanager
def _pool_use() -> Iterator[None]:
    """Mark this thread as using a pool of the library's, for :class:`_QuietPool`."""
    _in_pool_use.depth = getattr(_in_pool_use, "depth", 0) + 1
    try:
        yield
    finally:
        _in_pool_use.depth -= 1


class PostgresStore:
    """A PostgreSQL schema holding accounts, tokens and the outbox.

    The schema (``echoppe_accounts`` unless told otherwise) is created or
    brought up to date when the store is opened; it needs no other schema,
    so several shops, or several test runs, can share one database. Close
    the store, or use it as a context manager, to close its connections.

    Args:
        conninfo: A libpq connection string or URI, as for
            ``psycopg.connect()``.
        schema: The schema holding the tables; connections use it as their
            ``search_path``.
        min_size: Connections the pool keeps open.
        max_size: Connections the pool may open; units of work beyond that
            wait for one to be returned.
        timeout: The longest wait, in seconds, for a connection during an
            outage (SPEC O3): a unit of work that gets none in that time
            raises a :class:`~echoppe_accounts.StorageError` whose
            ``retryable`` is true. It is also the pool's wait when every
            connection is in use, libpq's ``connect_timeout`` (whole
            seconds, at least 2), and it bounds a wait on a server that
            vanished without closing its sockets (``tcp_user_timeout`` and
            keepalive probes). Settings that *conninfo* makes itself win.
        statement_timeout: Seconds a statement may run, lock waits
            included, before the server cancels it with a retryable
            :class:`~echoppe_accounts.StorageError`; ``None`` keeps the
            server's setting. Off by default: a unit of work waiting for a
            rival's row lock waits for that transaction to end, which is
            what the version checks expect. Migrations are not bound by it.

    Every connection is checked before a unit of work gets it, so a server
    restarted while the shop was idle costs no failed call: the
    connections it closed are replaced, not lent. During an outage, the
    pool tries to reconnect for ``timeout`` seconds, then again as soon as
    a unit of work asks, so the first call after the server is back gets a
    connection.

    Raises:
        StorageError: When the database cannot be reached or migrated.

    .. versionadded:: 0.2.0
    """

    shared_database: bool = True
    """Several processes share it, so :func:`~echoppe_accounts.bootstrap` needs a key.

    A key made for one process would leave the mails it queued unreadable
    to the worker (SPEC O2).

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str = "echoppe_accounts",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 5.0,
        statement_timeout: float | None = None,
    ) -> None:
        """Connect to *conninfo*, migrate *schema* and open the pool."""
        self.schema: str = schema
        """The schema holding the tables."""
        self.timeout: float = timeout
        """The longest wait for a connection, in seconds."""
        self.statement_timeout: float | None = statement_timeout
        """The statement timeout of the pool's connections, in seconds."""
        with _driver_errors(connecting=True):
            options = _connection_options(conninfo, timeout)
            # A direct connection fails at once, with the driver's reason,
            # where the pool would retry until its timeout.
            conn = psycopg.connect(
                conninfo, autocommit=True, row_factory=dict_row, **options
            )
        with _driver_errors():
            try:
                self._configure(conn)
                self._migrate(conn)
            finally:
                conn.close()
        self.pool: ConnectionPool[Connection] = ConnectionPool(
            conninfo,
            connection_class=Connection,
            kwargs={"row_factory": dict_row, **options},
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            # The pool's reconnection attempts back off exponentially, up to
            # minutes apart: once they give up, a unit of work that finds no
            # connection has the pool try again at once.
            reconnect_timeout=timeout,
            check=self._check,
            configure=self._configure_pooled,
            name=f"{POOL_PREFIX}{schema}",
            open=False,
        )
        """The connection pool; its connections work in :attr:`schema`."""
        pool_logger = logging.getLogger("psycopg.pool")
        if _QUIET_POOL not in pool_logger.filters:
            pool_logger.addFilter(_QUIET_POOL)
        with _driver_errors(), _pool_use():
            self.pool.open()

    def _check(self, conn: Connection) -> None:
        # Called by the pool before lending a connection (SPEC O3); one that
        # fails is discarded and replaced, and the pool lends another.
        try:
            ConnectionPool.check_connection(conn)
        except psycopg.Error:
            # The server closed every idle connection at once (a restart):
            # check them all now, or each would cost the waiting unit of
            # work a longer back-off sleep of the pool, beyond its timeout.
            self.pool.check()
            raise

    def _configure_pooled(self, conn: Connection) -> None:
        self._configure(conn)
        if self.statement_timeout is not None:
            milliseconds = max(1, round(self.statement_timeout * 1000))
            conn.execute(
                "SELECT set_config('statement_timeout', %s, false)",
                (f"{milliseconds}ms",),
            )
            conn.commit()

    def _configure(self, conn: Connection) -> None:
        # Called on every new connection, before anything else runs on it.
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        conn.execute(
            sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema))
        )
        conn.execute("SET TIME ZONE 'UTC'")
        if not conn.autocommit:
            conn.commit()

    def _migrate(self, conn: Connection) -> None:
        with conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s)",
                (_lock_key(self.schema, "migrations"),),
            )
            # Checked before creating: a role without CREATE on the database
            # can still use a schema its administrator made for it.
            found = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)
            ).fetchone()
            if found is None:
                conn.execute(
                    sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema))
                )
            conn.execute(
                sql.SQL("SET LOCAL search_path TO {}").format(
                    sql.Identifier(self.schema)
                )
            )
            tracked = conn.execute(
                "SELECT 1 FROM pg_tables WHERE schemaname = %s "
                "AND tablename = 'schema_migrations'",
                (self.schema,),
            ).fetchone()
            if tracked is None:
                conn.execute(
                    "CREATE TABLE schema_migrations ("
                    "version integer PRIMARY KEY, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                )
            version = self._version(conn)
            for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                if isinstance(step, str):
                    conn.execute(step)
                else:
                    step(conn)
                conn.execute(
                    "INSERT INTO schema_migrations (version) VALUES (%s)", (number,)
                )

    @staticmethod
    def _version(conn: Connection) -> int:
        row = conn.execute(
            "SELECT coalesce(max(version), 0) AS version FROM schema_migrations"
        ).fetchone()
        return 0 if row is None else int(row["version"])

    @property
    def schema_version(self) -> int:
        """The number of migrations applied to the schema."""
        with _driver_errors(), _pool_use(), self.pool.connection() as conn:
            return self._version(conn)

    def unit_of_work(self, *, durable: bool = True) -> PostgresUnitOfWork:
        """Return a new unit of work over this store.

        A unit of work that is not *durable* commits with ``SET LOCAL
        synchronous_commit TO off``: the commit returns before its WAL
        record is flushed (a server crash may lose it, whole, never corrupt
        the database). Every other commit waits, as the server is set to.
        """
        return PostgresUnitOfWork(self, durable=durable)

    def close(self) -> None:
        """Close every connection of the pool; the store cannot be used after."""
        with _driver_errors(), _pool_use():
            self.pool.close()

    def __enter__(self) -> Self:
        """Return the store itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()


class _Session:
    """The unit of work's connection, whose errors all become StorageError."""

    def __init__(self, conn: Connection, schema: str) -> None:
        self.conn = conn
        self.schema = schema

    def execute(self, query: QueryNoTemplate, params: Params | None = None) -> int:
        with _driver_errors():
            return self.conn.execute(query, params).rowcount

    def one(
        self, query: QueryNoTemplate, params: Params | None = None
    ) -> DictRow | None:
        with _driver_errors():
            return self.conn.execute(query, params).fetchone()

    def all(
        self, query: QueryNoTemplate, params: Params | None = None
    ) -> list[DictRow]:
        with _driver_errors():
            return self.conn.execute(query, params).fetchall()

    def insert(
        self,
        table: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        suffix: sql.Composable | None = None,
    ) -> int:
        """Insert *rows* (with the columns of the first); return how many were.

        *suffix* ends each statement (an ``ON CONFLICT`` clause).
        """
        if not rows:
            return 0
        if suffix is None and len(rows) >= _COPY_FROM:
            return self.copy(table, rows)
        end = sql.SQL("") if suffix is None else sql.SQL(" ") + suffix
        if len(rows) == 1:
            if suffix is None:
                with _driver_errors():
                    statement = _insert_one(self.conn, table, rows[0])
                return self.execute(statement, rows[0])
            return self.execute(sql.Composed([_insert(table, rows[0]), end]), rows[0])
        # One statement for many rows: one round trip to the server, within
        # the protocol's limit of bound parameters.
        columns = list(rows[0])
        per_statement = max(1, _MAX_PARAMETERS // len(columns))
        placeholders = sql.SQL("({})").format(
            sql.SQL(", ").join(sql.Placeholder() * len(columns))
        )
        inserted = 0
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            query = sql.SQL("INSERT INTO {} ({}) VALUES {}{}").format(
                sql.Identifier(table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join([placeholders] * len(chunk)),
                end,
            )
            inserted += self.execute(query, [row[c] for row in chunk for c in columns])
        return inserted

    def copy(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Write *rows* (with the columns of the first) by ``COPY``; return how many.

        A bulk load of new rows: a single statement the server parses once,
        the values streamed, where an ``INSERT`` of many rows would make the
        driver write and split a statement of thousands of placeholders.
        """
        columns = list(rows[0])
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with (
            _driver_errors(),
            self.conn.cursor() as cursor,
            cursor.copy(statement) as copy,
        ):
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return len(rows)

    def lock(self, *key: str) -> None:
        # Held until the transaction ends; taken in a statement of its own
        # so that the next statement's snapshot sees the previous holder's
        # committed writes (READ COMMITTED).
        self.execute(
            "SELECT pg_advisory_xact_lock(%s)", (_lock_key(self.schema, *key),)
        )


class _Accounts:
    def __init__(self, session: _Session) -> None:
        self._s = session

    def _write_children(self, *accounts: Account, new: bool = False) -> None:
        if not new:  # a new account has no children to replace
            params = ([a.id for a in accounts],)
            self._s.execute(
                "DELETE FROM delivery_addresses WHERE account_id = ANY(%s)", params
            )
            self._s.execute(
                "DELETE FROM newsletter_consents WHERE account_id = ANY(%s)", params
            )
        self._s.insert(
            "delivery_addresses", [r for a in accounts for r in rec.delivery_rows(a)]
        )
        self._s.insert(
            "newsletter_consents", [r for a in accounts for r in rec.consent_rows(a)]
        )

    def add(self, *accounts: Account) -> None:
        rows = [rec.account_row(a) for a in accounts]
        if len({row["email_key"] for row in rows}) < len(rows):
            raise ValidationError.single("email", "email.taken")
        # DO NOTHING rather than an error: the transaction stays usable, as
        # SQLite's does after a refused statement. A rival transaction that
        # holds the same key uncommitted makes this one wait for its outcome.
        if len(rows) == 1:
            if self._s.insert("accounts", rows, suffix=_ON_EMAIL_KEY_CONFLICT) == 0:
                raise ValidationError.single("email", "email.taken")
            self._write_children(*accounts, new=True)
            return
        # Several accounts: all of them or, rolled back to a savepoint, none.
        try:
            with _driver_errors(), self._s.conn.transaction():
                self._add_all(rows, accounts)
        except _KeyTakenError:
            raise ValidationError.single("email", "email.taken") from None

    def _add_all(
        self, rows: Sequence[Mapping[str, Any]], accounts: Sequence[Account]
    ) -> None:
        if len(rows) < _COPY_FROM:
            if self._s.insert("accounts", rows, suffix=_ON_EMAIL_KEY_CONFLICT) < len(
                rows
            ):
                raise _KeyTakenError
        else:
            # COPY has no ON CONFLICT: a taken key fails the statement, and
            # the caller's savepoint undoes the batch.
            try:
                self._s.copy("accounts", rows)
            except StorageError as exc:
                cause = exc.__cause__
                if (
                    isinstance(cause, psycopg.errors.UniqueViolation)
                    and cause.diag.constraint_name == _EMAIL_KEY_UNIQUE
                ):
                    raise _KeyTakenError from None
                raise
        self._write_children(*accounts, new=True)

    def taken_email_keys(self, keys: Collection[str]) -> set[str]:
        # The keys go as one binary array (%b): the driver writes a text
        # array of hundreds of keys, quoted one by one, twice as slowly.
        rows = self._s.all(
            "SELECT email_key FROM accounts WHERE email_key = ANY(%b)",
            (list(dict.fromkeys(keys)),),
        )
        return {row["email_key"] for row in rows}

    def _load(self, row: DictRow | None) -> Account | None:
        if row is None:
            return None
        params = (row["id"],)
        deliveries = self._s.all(
            "SELECT * FROM delivery_addresses WHERE account_id = %s", params
        )
        consents = self._s.all(
            "SELECT * FROM newsletter_consents WHERE account_id = %s", params
        )
        return rec.account_from_rows(row, deliveries, consents)

    def get(self, account_id: str) -> Account | None:
        return self._load(
            self._s.one("SELECT * FROM accounts WHERE id = %s", (account_id,))
        )

    def credentials(self, email_key: str) -> Credentials | None:
        row = self._s.one(
            "SELECT id, password_hash, status, session_stamp, phone, category, "
            "siret, billing_postal_code FROM accounts WHERE email_key = %s",
            (email_key,),
        )
        return None if row is None else rec.credentials_from_row(row)

    def credentials_by_email_keys(
        self, email_keys: Collection[str]
    ) -> dict[str, Credentials]:
        rows = self._s.all(
            "SELECT email_key, id, password_hash, status, session_stamp, phone, "
            "category, siret, billing_postal_code FROM accounts "
            "WHERE email_key = ANY(%b)",  # one binary array: see taken_email_keys
            (list(dict.fromkeys(email_keys)),),
        )
        return {row["email_key"]: rec.credentials_from_row(row) for row in rows}

    def session_stamp(self, account_id: str) -> str | None:
        row = self._s.one(
            "SELECT session_stamp FROM accounts WHERE id = %s", (account_id,)
        )
        return None if row is None else str(row["session_stamp"])

    def get_by_email_key(self, key: str) -> Account | None:
        return self._load(
            self._s.one("SELECT * FROM accounts WHERE email_key = %s", (key,))
        )

    def get_by_former_email_key(self, key: str) -> Account | None:
        return self._load(
            self._s.one(
                "SELECT * FROM accounts WHERE former_email_key = %s "
                "ORDER BY former_email_until DESC LIMIT 1",
                (key,),
            )
        )

    def restorable_email_keys(self, keys: Collection[str], now: datetime) -> set[str]:
        rows = self._s.all(
            "SELECT DISTINCT former_email_key FROM accounts "
            "WHERE former_email_key = ANY(%b) AND former_email IS NOT NULL "
            "AND former_email_until > %s",
            (list(dict.fromkeys(keys)), now),
        )
        return {row["former_email_key"] for row in rows}

    def lock(self, account_id: str) -> bool:
        # The row lock, held to the end of the transaction; the next
        # statements (READ COMMITTED) see what a previous holder committed.
        row = self._s.one(
            "SELECT 1 AS found FROM accounts WHERE id = %s FOR UPDATE", (account_id,)
        )
        return row is not None

    def save(self, account: Account) -> None:
        row = rec.account_row(account)
        row["version"] = account.version + 1
        query = sql.SQL(
            "UPDATE accounts SET {} WHERE id = %(id)s AND version = %(expected)s"
        ).format(_assignments(c for c in row if c != "id"))
        # A savepoint, so that a taken email refuses this statement only and
        # the transaction goes on, as with SQLite.
        self._s.execute("SAVEPOINT echoppe_save")
        try:
            updated = self._s.conn.execute(
                query, {**row, "expected": account.version}
            ).rowcount
        except psycopg.Error as exc:
            if not (
                isinstance(exc, psycopg.errors.UniqueViolation)
                and exc.diag.constraint_name == _EMAIL_KEY_UNIQUE
            ):
                raise _translate(exc) from exc
            self._s.execute(
                "ROLLBACK TO SAVEPOINT echoppe_save; RELEASE SAVEPOINT echoppe_save"
            )
            raise ValidationError.single("email", "email.taken") from None
        self._s.execute("RELEASE SAVEPOINT echoppe_save")
        # Under READ COMMITTED a rival's committed save is seen here: the
        # row is re-checked after waiting for its lock, and no longer has
        # the version that was read.
        if updated != 1:
            raise ConcurrencyError(account.id)
        self._write_children(account)
        account.version += 1

    def remove(self, account_id: str) -> None:
        for statement in (
            "DELETE FROM delivery_addresses WHERE account_id = %s",
            "DELETE FROM newsletter_consents WHERE account_id = %s",
            "DELETE FROM tokens WHERE account_id = %s",
            "DELETE FROM accounts WHERE id = %s",
        ):
            self._s.execute(statement, (account_id,))

    def unverified_before(self, cutoff: datetime, limit: int) -> list[str]:
        rows = self._s.all(
            "SELECT id FROM accounts WHERE status = 'unverified' "
            "AND created_at < %s ORDER BY created_at LIMIT %s",
            (cutoff, limit),
        )
        return [str(row["id"]) for row in rows]

    def count(self) -> int:
        row = self._s.one("SELECT count(*) AS n FROM accounts")
        return 0 if row is None else int(row["n"])


class _Tokens:
    def __init__(self, session: _Session) -> None:
        self._s = session

    def add(self, record: TokenRecord) -> None:
        self._s.insert("tokens", [rec.token_row(record)])

    def find(self, digest: str) -> TokenRecord | None:
        row = self._s.one("SELECT * FROM tokens WHERE digest = %s", (digest,))
        return None if row is None else rec.token_from_row(row)

    def consume(
        self, digest: str, purpose: TokenPurpose, now: datetime
    ) -> TokenRecord | None:
        # One statement: a rival's update of the row makes this one wait,
        # then re-check the conditions on the row as the rival left it.
        row = self._s.one(
            "UPDATE tokens SET used_at = %(now)s WHERE digest = %(digest)s "
            "AND purpose = %(purpose)s AND used_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > %(now)s RETURNING *",
            {"now": now, "digest": digest, "purpose": purpose.value},
        )
        return None if row is None else rec.token_from_row(row)

    def revoke(
        self, account_id: str, purposes: Sequence[TokenPurpose], now: datetime
    ) -> int:
        return self._s.execute(
            "UPDATE tokens SET revoked_at = %(now)s WHERE account_id = %(account)s "
            "AND purpose = ANY(%(purposes)s::text[]) AND used_at IS NULL "
            "AND revoked_at IS NULL AND expires_at > %(now)s",
            {
                "now": now,
                "account": account_id,
                "purposes": [p.value for p in purposes],
            },
        )

    def for_account(self, account_id: str) -> list[TokenRecord]:
        rows = self._s.all(
            "SELECT * FROM tokens WHERE account_id = %s ORDER BY created_at",
            (account_id,),
        )
        return [rec.token_from_row(r) for r in rows]

    def purge(
        self, account_id: str, purposes: Sequence[TokenPurpose], now: datetime
    ) -> int:
        # Housekeeping, done by logins: rows a concurrent transaction holds
        # are left to the next purge rather than waited for (no lock wait,
        # so no deadlock between two logins of one account).
        return self._s.execute(
            "DELETE FROM tokens WHERE digest IN (SELECT digest FROM tokens "
            "WHERE account_id = %(account)s "
            "AND purpose = ANY(%(purposes)s::text[]) AND (used_at IS NOT NULL "
            "OR revoked_at IS NOT NULL OR expires_at <= %(now)s) "
            "FOR UPDATE SKIP LOCKED)",
            {
                "now": now,
                "account": account_id,
                "purposes": [p.value for p in purposes],
            },
        )

    def delete_for_account(self, account_id: str) -> int:
        return self._s.execute(
            "DELETE FROM tokens WHERE account_id = %s", (account_id,)
        )


_WIPED_KINDS = ", ".join(f"'{kind.value}'" for kind in sorted(ADDRESS_WIPED_WHEN_SENT))
_WIPE_ADDRESS = (
    f"recipient = CASE WHEN kind IN ({_WIPED_KINDS}) THEN '' ELSE recipient END, "
    f"recipient_key = CASE WHEN kind IN ({_WIPED_KINDS}) THEN NULL "
    "ELSE recipient_key END"
)
"""Forgets the recipient of a sent mail of :data:`ADDRESS_WIPED_WHEN_SENT`."""


class _Outbox:
    def __init__(self, session: _Session) -> None:
        self._s = session

    def add(self, mail: OutgoingMail) -> None:
        self._s.insert("outbox", [rec.outbox_row(mail)])

    def due(self, now: datetime, limit: int) -> list[OutgoingMail]:
        rows = self._s.all(
            "SELECT * FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL "
            "AND dropped_at IS NULL AND due_at <= %s ORDER BY due_at, seq LIMIT %s",
            (now, limit),
        )
        return [rec.mail_from_row(r) for r in rows]

    def claim(
        self,
        now: datetime,
        limit: int,
        until: datetime,
        *,
        claim_id: str | None = None,
    ) -> list[OutgoingMail]:
        # Rows a rival dispatcher has locked are skipped, not waited for;
        # one it claimed and committed meanwhile is re-checked and left out.
        rows = self._s.all(
            "SELECT * FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL "
            "AND dropped_at IS NULL AND due_at <= %(now)s "
            "AND (claimed_until IS NULL OR claimed_until <= %(now)s) "
            "ORDER BY due_at, seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED",
            {"now": now, "limit": limit},
        )
        if rows:
            self._s.execute(
                "UPDATE outbox SET claimed_until = %s, claim_id = %s "
                "WHERE id = ANY(%s::text[])",
                (until, claim_id, [r["id"] for r in rows]),
            )
        return [rec.mail_from_row(r) for r in rows]

    def _mark(
        self,
        assignments: LiteralString,
        mail_id: str,
        claim_id: str | None,
        **values: object,
    ) -> bool:
        # Only the claim's holder marks (SPEC O1); the claim ends with the
        # mark. A rival's update of the row makes this one wait, then
        # re-check the conditions on the row as the rival left it.
        query: LiteralString = (
            "UPDATE outbox SET "  # noqa: S608 (fixed fragments)
            + assignments
            + ", claimed_until = NULL, claim_id = NULL WHERE id = %(id)s "
            "AND claim_id IS NOT DISTINCT FROM %(claim)s AND sent_at IS NULL "
            "AND dead_at IS NULL AND dropped_at IS NULL"
        )
        return self._s.execute(query, {"id": mail_id, "claim": claim_id, **values}) == 1

    def renew(
        self, mail_id: str, *, claim_id: str, now: datetime, until: datetime
    ) -> bool:
        updated = self._s.execute(
            "UPDATE outbox SET claimed_until = %(until)s WHERE id = %(id)s "
            "AND claim_id = %(claim)s AND claimed_until > %(now)s "
            "AND sent_at IS NULL AND dead_at IS NULL AND dropped_at IS NULL",
            {"id": mail_id, "claim": claim_id, "now": now, "until": until},
        )
        return updated == 1

    def holds(self, mail_id: str, *, claim_id: str, now: datetime) -> bool:
        row = self._s.one(
            "SELECT 1 AS held FROM outbox WHERE id = %(id)s AND claim_id = %(claim)s "
            "AND claimed_until > %(now)s AND sent_at IS NULL AND dead_at IS NULL "
            "AND dropped_at IS NULL",
            {"id": mail_id, "claim": claim_id, "now": now},
        )
        return row is not None

    def release(self, mail_ids: Collection[str], *, claim_id: str) -> int:
        return self._s.execute(
            "UPDATE outbox SET claimed_until = NULL, claim_id = NULL "
            "WHERE id = ANY(%s::text[]) AND claim_id = %s",
            (sorted(set(mail_ids)), claim_id),
        )

    def mark_sent(
        self, mail_id: str, at: datetime, *, claim_id: str | None = None
    ) -> bool:
        # Sealed or not, a delivered mail's bodies are no longer needed:
        # nothing of them is kept (SPEC O2, R9); nor the address of an
        # erased account's last mail (G3).
        return self._mark(
            "sent_at = %(at)s, attempts = attempts + 1, "
            "body_text = '', body_html = '', " + _WIPE_ADDRESS,
            mail_id,
            claim_id,
            at=at,
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
            "due_at = %(due)s, attempts = attempts + 1, last_error = %(error)s",
            mail_id,
            claim_id,
            due=retry_at,
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
            "dead_at = %(at)s, attempts = attempts + %(attempted)s, "
            "last_error = %(error)s",
            mail_id,
            claim_id,
            at=at,
            error=error,
            attempted=int(attempted),
        )

    def mark_dropped(
        self, mail_id: str, at: datetime, reason: str, *, claim_id: str | None = None
    ) -> bool:
        return self._mark(
            "dropped_at = %(at)s, last_error = %(reason)s, "
            "body_text = '', body_html = ''",
            mail_id,
            claim_id,
            at=at,
            reason=reason,
        )

    def pending_count(self) -> int:
        row = self._s.one(
            "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL "
            "AND dead_at IS NULL AND dropped_at IS NULL"
        )
        return 0 if row is None else int(row["n"])

    def stats(self) -> OutboxStats:
        pending = self._s.one(
            "SELECT count(*) AS n, min(due_at) AS oldest FROM outbox "
            "WHERE sent_at IS NULL AND dead_at IS NULL AND dropped_at IS NULL"
        )
        dead = self._s.one("SELECT count(*) AS n FROM outbox WHERE dead_at IS NOT NULL")
        assert pending is not None  # noqa: S101 (an aggregate has one row)
        assert dead is not None  # noqa: S101
        return OutboxStats(int(pending["n"]), pending["oldest"], int(dead["n"]))

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        rows = self._s.all(
            "SELECT * FROM outbox WHERE dead_at IS NOT NULL "
            "ORDER BY dead_at DESC, seq DESC LIMIT %s",
            (limit,),
        )
        return [rec.dead_letter_from_row(r) for r in rows]

    def requeue(self, mail_ids: Collection[str] | None, now: datetime) -> int:
        return self._s.execute(
            "UPDATE outbox SET dead_at = NULL, due_at = %(now)s, "
            "requeued_at = %(now)s, claimed_until = NULL, claim_id = NULL "
            "WHERE dead_at IS NOT NULL "
            "AND (%(all)s OR id = ANY(%(ids)s::text[]))",
            {
                "now": now,
                "all": mail_ids is None,
                "ids": sorted(set(mail_ids or ())),
            },
        )

    def purge_dead(self, before: datetime | None) -> int:
        return self._s.execute(
            "DELETE FROM outbox WHERE dead_at IS NOT NULL "
            "AND (%(before)s::timestamptz IS NULL OR dead_at < %(before)s)",
            {"before": before},
        )

    def forget(self, *, account_id: str, email_keys: Collection[str]) -> int:
        return self._s.execute(
            "DELETE FROM outbox WHERE account_id = %s "
            "OR recipient_key = ANY(%s::text[])",
            (account_id, sorted(set(email_keys))),
        )


class _Resets:
    def __init__(self, session: _Session) -> None:
        self._s = session

    def add(self, request: ResetRequest) -> None:
        self._s.insert("reset_requests", [rec.reset_row(request)])

    def find_by_digest(self, digest: str) -> ResetRequest | None:
        row = self._s.one(
            "SELECT * FROM reset_requests WHERE confirm_digest = %(d)s "
            "OR cancel_digest = %(d)s",
            {"d": digest},
        )
        return None if row is None else rec.reset_from_row(row)

    def for_requester(self, requester_key: str, since: datetime) -> list[ResetRequest]:
        # The reset cooldown reads, then adds: requests for one email are
        # taken one transaction at a time, as SQLite's writer lock does.
        self._s.lock("reset_requests", requester_key)
        rows = self._s.all(
            "SELECT * FROM reset_requests WHERE requester_key = %s "
            "AND requested_at >= %s ORDER BY requested_at, seq",
            (requester_key, since),
        )
        return [rec.reset_from_row(r) for r in rows]

    def for_account(self, account_id: str) -> list[ResetRequest]:
        rows = self._s.all(
            "SELECT * FROM reset_requests WHERE account_id = %s "
            "ORDER BY requested_at, seq",
            (account_id,),
        )
        return [rec.reset_from_row(r) for r in rows]

    def delete_for(self, account_id: str, requester_key: str) -> int:
        return self._s.execute(
            "DELETE FROM reset_requests WHERE account_id = %s OR requester_key = %s",
            (account_id, requester_key),
        )

    def save(self, request: ResetRequest) -> None:
        row = rec.reset_row(request)
        row["version"] = request.version + 1
        query = sql.SQL(
            "UPDATE reset_requests SET {} WHERE id = %(id)s AND version = %(expected)s"
        ).format(_assignments(c for c in row if c != "id"))
        # Of rivals that read one version, the first to update wins; the
        # others wait for it, then find the version changed (SPEC R8).
        if self._s.execute(query, {**row, "expected": request.version}) != 1:
            raise ConcurrencyError(request.id)
        request.version += 1


class _Throttles:
    def __init__(self, session: _Session) -> None:
        self._s = session

    def get(self, key: str) -> LoginThrottle:
        # A login reads the count, then saves it: concurrent logins for one
        # key are taken one at a time, so no failure is lost (SPEC P4).
        self._s.lock("login_throttles", key)
        row = self._s.one("SELECT * FROM login_throttles WHERE key = %s", (key,))
        if row is None:
            return LoginThrottle(key)
        return LoginThrottle(key, row["failures"], row["last_failure_at"])

    def save(self, throttle: LoginThrottle) -> None:
        self._s.execute(
            "INSERT INTO login_throttles (key, failures, last_failure_at) "
            "VALUES (%s, %s, %s) ON CONFLICT (key) DO UPDATE SET "
            "failures = excluded.failures, last_failure_at = excluded.last_failure_at",
            (throttle.key, throttle.failures, throttle.last_failure_at),
        )

    def delete(self, key: str) -> None:
        self._s.execute("DELETE FROM login_throttles WHERE key = %s", (key,))


class _Audit:
    def __init__(self, session: _Session) -> None:
        self._s = session

    def add(self, *records: AuditRecord) -> None:
        self._s.insert("audit_log", [rec.audit_row(r) for r in records])

    def for_account(self, account_id: str) -> list[AuditRecord]:
        rows = self._s.all(
            "SELECT * FROM audit_log WHERE account_id = %s ORDER BY seq",
            (account_id,),
        )
        return [rec.audit_from_row(r) for r in rows]

    def redact(self, account_id: str, detail_keys: Collection[str]) -> int:
        # Row locks: a rival redaction of the same records waits, then
        # reads what this one wrote.
        rows = self._s.all(
            "SELECT seq, details FROM audit_log WHERE account_id = %s FOR UPDATE",
            (account_id,),
        )
        changes = [
            {"details": details, "seq": row["seq"]}
            for row in rows
            if (details := rec.redacted_details(row["details"], detail_keys))
            is not None
        ]
        if changes:
            with _driver_errors(), self._s.conn.cursor() as cursor:
                cursor.executemany(
                    "UPDATE audit_log SET details = %(details)s WHERE seq = %(seq)s",
                    changes,
                )
        return len(changes)


_EVENT_ORDER = 10**12
"""Positions are ``tx * _EVENT_ORDER + seq``: one number, in delivery order."""


class _Events:
    def __init__(self, session: _Session) -> None:
        self._s = session
        self.written = False

    def add(self, *events: AccountEvent) -> None:
        if events:
            self._s.insert("account_events", [rec.event_row(e) for e in events])
            self.written = True

    def after(self, position: int, limit: int) -> list[tuple[int, AccountEvent]]:
        # ``seq`` is handed out at insertion, not at commit: an event of a
        # transaction still open may get a smaller one than an event already
        # committed, so a position by ``seq`` alone could skip it. Events
        # are ordered by their transaction's id first, and only those of
        # transactions older than every open one are delivered: whatever
        # commits later sorts after everything delivered so far.
        tx, seq = divmod(position, _EVENT_ORDER)
        rows = self._s.all(
            "SELECT * FROM account_events WHERE (tx, seq) > (%s, %s) "
            "AND tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint "
            "ORDER BY tx, seq LIMIT %s",
            (tx, seq, limit),
        )
        return [
            (int(r["tx"]) * _EVENT_ORDER + int(r["seq"]), rec.event_from_row(r))
            for r in rows
        ]

    def position(self, handler: str) -> int:
        row = self._s.one(
            "SELECT position FROM event_positions WHERE handler = %s", (handler,)
        )
        return 0 if row is None else int(row["position"])

    def advance(self, handler: str, position: int) -> None:
        self._s.execute(
            "INSERT INTO event_positions (handler, position) VALUES (%s, %s) "
            "ON CONFLICT (handler) DO UPDATE "
            "SET position = GREATEST(event_positions.position, excluded.position)",
            (handler, position),
        )


class PostgresUnitOfWork:
    """One ``READ COMMITTED`` transaction on a connection of the pool.

    The connection is taken at ``__enter__`` and given back at
    ``__exit__``, after rolling back whatever was not committed. Work done
    after :meth:`commit` is a transaction of its own.

    .. versionadded:: 0.2.0
    """

    def __init__(self, store: PostgresStore, *, durable: bool = True) -> None:
        """Work on *store*; see :meth:`PostgresStore.unit_of_work` for *durable*."""
        self.store = store
        self.durable = durable
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        """Take a connection from the pool; the transaction begins with its use."""
        with _driver_errors(), _pool_use():
            conn = self.store.pool.getconn()
        self._conn = conn
        session = _Session(conn, self.store.schema)
        self.accounts = _Accounts(session)
        self.tokens = _Tokens(session)
        self.outbox = _Outbox(session)
        self.resets = _Resets(session)
        self.throttles = _Throttles(session)
        self.audit = _Audit(session)
        self.events = _Events(session)
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
        try:
            # A lost session took its transaction with it: nothing to undo.
            if not conn.broken:
                conn.rollback()
        except psycopg.Error as err:
            if exc is None:
                raise _translate(err) from err
        finally:
            # A broken connection is discarded by the pool, not reused.
            with _pool_use():
                self.store.pool.putconn(conn)
        if isinstance(exc, psycopg.Error):
            raise _translate(exc) from exc

    def commit(self) -> None:
        """Commit the transaction."""
        if self._conn is None:
            msg = "commit() outside the unit of work's with-block"
            raise StorageError(msg)
        with _driver_errors(committing=True):
            status = self._conn.info.transaction_status
            if not self.durable and status == _IN_TRANSACTION:
                self._conn.execute("SET LOCAL synchronous_commit TO off")
            self._conn.commit()
