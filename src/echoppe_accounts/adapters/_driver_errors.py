"""Driver errors in words: what failed and whether a retry may succeed (SPEC O3).

The storage adapters turn every driver exception into a
:class:`~echoppe_accounts.StorageError` whose message is a sentence a
developer or an operator can act on, followed by whether retrying may help
and the driver's own code for searching its documentation::

    the disk holding the database is full; retrying will not help
    (SQLite SQLITE_FULL)

The sentences come from the tables below, never from the driver's message,
which may quote stored values (an email in a key violation, a row in a
constraint error): that message stays in the chained cause, for the logs of
whoever may read personal data.

This module imports neither ``psycopg`` (an optional extra) nor anything of
the PostgreSQL adapter: it maps SQLSTATE codes, which are plain strings.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import NamedTuple

from echoppe_accounts.domain.errors import StorageError


class Cause(NamedTuple):
    """A failure in words, and whether retrying the same call may succeed."""

    words: str
    retryable: bool


def storage_error(cause: Cause, source: str) -> StorageError:
    """Return the :class:`StorageError` for *cause*, *source* naming the code.

    Its message is English; :meth:`StorageError.message` says it in the
    reader's language, each cause's words being a message of the catalogues
    (``make messages`` extracts the first argument of every ``Cause``, in
    this module and the adapters).
    """
    advice = "a retry may succeed" if cause.retryable else "retrying will not help"
    return StorageError(
        f"{cause.words}; {advice} ({source})",
        retryable=cause.retryable,
        cause=cause.words,
        source=source,
    )


# -- SQLite -------------------------------------------------------------------

_NO_FOLDER = Cause(
    "the folder of the database file cannot be created (permission denied, "
    "or a read-only file system)",
    retryable=False,
)


def folder_error(exc: OSError, path: Path) -> StorageError:
    """Return the :class:`StorageError` for a database folder not created."""
    code = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return StorageError(
        f"cannot create the folder of {path}",
        cause=_NO_FOLDER.words,
        source=f"OSError {code}",
    )


SQLITE_CAUSES: dict[int, Cause] = {
    sqlite3.SQLITE_ERROR: Cause(
        "the database refused a statement (a missing table or column, or an SQL error)",
        retryable=False,
    ),
    sqlite3.SQLITE_INTERNAL: Cause("SQLite hit an internal error", retryable=False),
    sqlite3.SQLITE_PERM: Cause(
        "permission denied by the database file's access mode", retryable=False
    ),
    sqlite3.SQLITE_ABORT: Cause("the operation was aborted", retryable=True),
    sqlite3.SQLITE_BUSY: Cause(
        "the database is locked by another connection (busy) for longer "
        "than the busy timeout",
        retryable=True,
    ),
    sqlite3.SQLITE_LOCKED: Cause("a table of the database is locked", retryable=True),
    sqlite3.SQLITE_NOMEM: Cause("SQLite ran out of memory", retryable=True),
    sqlite3.SQLITE_READONLY: Cause(
        "the database is read-only (permissions of the file or its folder, "
        "or a read-only file system)",
        retryable=False,
    ),
    sqlite3.SQLITE_INTERRUPT: Cause("the operation was interrupted", retryable=True),
    sqlite3.SQLITE_IOERR: Cause(
        "reading or writing the database file failed (disk I/O error)",
        retryable=False,
    ),
    sqlite3.SQLITE_CORRUPT: Cause("the database file is corrupt", retryable=False),
    sqlite3.SQLITE_NOTFOUND: Cause(
        "SQLite could not find a file or an operation it needs", retryable=False
    ),
    sqlite3.SQLITE_FULL: Cause(
        "the disk holding the database is full", retryable=False
    ),
    sqlite3.SQLITE_CANTOPEN: Cause(
        "the database file cannot be opened (a missing folder, permission "
        "denied, a read-only file system, or too many open files)",
        retryable=False,
    ),
    sqlite3.SQLITE_PROTOCOL: Cause(
        "the locking protocol of the database file failed", retryable=True
    ),
    sqlite3.SQLITE_SCHEMA: Cause(
        "the database schema changed during the operation", retryable=True
    ),
    sqlite3.SQLITE_TOOBIG: Cause(
        "a value is too large for the database", retryable=False
    ),
    sqlite3.SQLITE_CONSTRAINT: Cause(
        "a stored value breaks a constraint of the database", retryable=False
    ),
    sqlite3.SQLITE_MISMATCH: Cause(
        "a stored value has the wrong type", retryable=False
    ),
    sqlite3.SQLITE_MISUSE: Cause(
        "the database library was misused (a bug)", retryable=False
    ),
    sqlite3.SQLITE_NOLFS: Cause(
        "the file system cannot hold a database file this large", retryable=False
    ),
    sqlite3.SQLITE_AUTH: Cause("the database refused access", retryable=False),
    sqlite3.SQLITE_RANGE: Cause(
        "a statement parameter is out of range (a bug)", retryable=False
    ),
    sqlite3.SQLITE_NOTADB: Cause(
        "the file is not a SQLite database (or it is encrypted or corrupt)",
        retryable=False,
    ),
}
"""Causes by SQLite primary result code (an extended code's low byte)."""

_SQLITE_FALLBACKS: tuple[tuple[type[sqlite3.Error], Cause], ...] = (
    (
        sqlite3.ProgrammingError,
        Cause(
            "the database connection was used wrongly (closed, or a bug)",
            retryable=False,
        ),
    ),
    (
        sqlite3.IntegrityError,
        SQLITE_CAUSES[sqlite3.SQLITE_CONSTRAINT],
    ),
    (
        sqlite3.DataError,
        Cause("a value cannot be stored in the database", retryable=False),
    ),
)
"""Causes by exception class, for errors raised without a SQLite code."""


def sqlite_error(exc: sqlite3.Error) -> StorageError:
    """Return the :class:`StorageError` saying what *exc* means.

    SQLite's result code decides (``sqlite_errorcode``, Python 3.11+); an
    error raised by the ``sqlite3`` module itself, without one, is named by
    its class.
    """
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    name: str | None = getattr(exc, "sqlite_errorname", None)
    if code is not None and (cause := SQLITE_CAUSES.get(code & 0xFF)):
        return storage_error(cause, f"SQLite {name or code}")
    for kind, fallback in _SQLITE_FALLBACKS:
        if isinstance(exc, kind):
            return storage_error(fallback, f"SQLite {type(exc).__name__}")
    unknown = Cause("the SQLite database failed", retryable=False)
    return storage_error(unknown, f"SQLite {name or type(exc).__name__}")


# -- PostgreSQL ---------------------------------------------------------------

POSTGRES_CAUSES: dict[str, Cause] = {
    # Class 08: connection exception.
    "08": Cause(
        "the connection to the database server failed or was lost", retryable=True
    ),
    "08P01": Cause(
        "the database server and the driver disagree on the protocol",
        retryable=False,
    ),
    # Class 0A: feature not supported.
    "0A": Cause(
        "the database server does not support a feature the statement uses",
        retryable=False,
    ),
    # Class 22: data exception.
    "22": Cause("the database refused a value (data exception)", retryable=False),
    # Class 23: integrity constraint violation.
    "23": Cause("a stored value breaks a constraint of the database", retryable=False),
    "23502": Cause("a required value is missing (not null)", retryable=False),
    "23503": Cause(
        "a row refers to another that does not exist (foreign key)",
        retryable=False,
    ),
    "23505": Cause("a value that must be unique is already stored", retryable=False),
    # Class 25: invalid transaction state.
    "25": Cause(
        "the transaction is in the wrong state for the statement", retryable=False
    ),
    "25006": Cause(
        "the database is read-only (a standby server or a read-only transaction)",
        retryable=False,
    ),
    "25P02": Cause(
        "the transaction had already failed on an earlier statement",
        retryable=False,
    ),
    "25P03": Cause(
        "the transaction stayed idle too long and the server closed the session",
        retryable=True,
    ),
    # Class 28: invalid authorization specification.
    "28": Cause(
        "the database server refused the role or its password", retryable=False
    ),
    # Class 3D and 3F: the database or the schema does not exist.
    "3D": Cause("the database does not exist", retryable=False),
    "3F": Cause("the schema does not exist", retryable=False),
    # Class 40: transaction rollback.
    "40": Cause("the database server rolled the transaction back", retryable=True),
    "40001": Cause(
        "the transaction conflicted with a concurrent one (serialization failure)",
        retryable=True,
    ),
    "40P01": Cause(
        "the transaction was cancelled to break a deadlock with a concurrent one",
        retryable=True,
    ),
    "40003": Cause(
        "the database server cannot say whether the statement completed",
        retryable=True,
    ),
    # Class 42: syntax error or access rule violation.
    "42": Cause(
        "the database refused a statement (syntax, or a missing object)",
        retryable=False,
    ),
    "42501": Cause(
        "permission denied: the database role lacks a privilege", retryable=False
    ),
    "42P01": Cause(
        "a table is missing (the schema is not the library's, or was changed)",
        retryable=False,
    ),
    "42703": Cause(
        "a column is missing (the schema is not the library's, or was changed)",
        retryable=False,
    ),
    # Class 53: insufficient resources.
    "53": Cause("the database server is short of resources", retryable=True),
    "53100": Cause("the disk of the database server is full", retryable=False),
    "53200": Cause("the database server ran out of memory", retryable=True),
    "53300": Cause(
        "the database server has too many connections already", retryable=True
    ),
    "53400": Cause(
        "a configuration limit of the database server was exceeded",
        retryable=False,
    ),
    # Class 54: program limit exceeded.
    "54": Cause(
        "a limit of the database server was exceeded (a statement or value "
        "too large or too complex)",
        retryable=False,
    ),
    # Class 55: object not in prerequisite state.
    "55": Cause(
        "a database object is not in the state the statement needs",
        retryable=False,
    ),
    "55006": Cause("a database object is in use", retryable=True),
    "55P03": Cause(
        "a lock wait timed out (another transaction holds the lock)",
        retryable=True,
    ),
    # Class 57: operator intervention.
    "57": Cause("an operator or a timeout stopped the statement", retryable=True),
    "57014": Cause(
        "the statement was cancelled (the statement timeout, or a cancel request)",
        retryable=True,
    ),
    "57P01": Cause(
        "the database server is shutting down or restarting", retryable=True
    ),
    "57P02": Cause("the database server crashed and is restarting", retryable=True),
    "57P03": Cause(
        "the database server is starting up or shutting down and refuses "
        "connections for now",
        retryable=True,
    ),
    "57P04": Cause("the database was dropped", retryable=False),
    "57P05": Cause(
        "the session stayed idle too long and the server closed it",
        retryable=True,
    ),
    # Class 58: system error (errors external to PostgreSQL).
    "58": Cause("the database server had a system error", retryable=False),
    "58030": Cause(
        "the database server failed to read or write a file (I/O error)",
        retryable=False,
    ),
    # Class XX: internal error.
    "XX": Cause("the database server had an internal error", retryable=False),
    "XX001": Cause("the database server found corrupt data", retryable=False),
    "XX002": Cause("the database server found a corrupt index", retryable=False),
}
"""Causes by SQLSTATE, five characters, or by its class, the first two."""

POSTGRES_UNKNOWN = Cause("the database server refused the operation", retryable=False)
"""The cause of an SQLSTATE none of the entries above covers."""


def postgres_cause(sqlstate: str) -> Cause:
    """Return the cause for *sqlstate*: its own, its class's, or a general one."""
    return (
        POSTGRES_CAUSES.get(sqlstate)
        or POSTGRES_CAUSES.get(sqlstate[:2])
        or POSTGRES_UNKNOWN
    )


# -- MySQL and MariaDB (the PrestaShop import) --------------------------------

MYSQL_CAUSES: dict[int, Cause] = {
    # Client errors (CR_*): the server was not reached, or the line dropped.
    2002: Cause(
        "the database server cannot be reached (no server on that socket or port)",
        retryable=True,
    ),
    2003: Cause(
        "the database server cannot be reached (no server on that socket or port)",
        retryable=True,
    ),
    2005: Cause("the database server's host name is unknown", retryable=False),
    2006: Cause(
        "the connection to the database server failed or was lost", retryable=True
    ),
    2013: Cause(
        "the connection to the database server failed or was lost", retryable=True
    ),
    2055: Cause(
        "the connection to the database server failed or was lost", retryable=True
    ),
    # Server errors (ER_*).
    1040: Cause("the database server has too many connections already", retryable=True),
    1203: Cause("the database server has too many connections already", retryable=True),
    1044: Cause(
        "permission denied: the database user lacks a privilege", retryable=False
    ),
    1142: Cause(
        "permission denied: the database user lacks a privilege", retryable=False
    ),
    1130: Cause(
        "the database server does not accept connections from this machine",
        retryable=False,
    ),
    1129: Cause(
        "the database server blocks this machine after too many failed "
        "connections (FLUSH HOSTS unblocks it)",
        retryable=False,
    ),
    1053: Cause("the database server is shutting down or restarting", retryable=True),
    1205: Cause(
        "a lock wait timed out (another transaction holds the lock)",
        retryable=True,
    ),
    1213: Cause(
        "the transaction was cancelled to break a deadlock with a concurrent one",
        retryable=True,
    ),
    1317: Cause(
        "the statement was cancelled (the statement timeout, or a cancel request)",
        retryable=True,
    ),
    1927: Cause(
        "the connection to the database server failed or was lost", retryable=True
    ),
    1969: Cause(
        "the statement was cancelled (the statement timeout, or a cancel request)",
        retryable=True,
    ),
    3024: Cause(
        "the statement was cancelled (the statement timeout, or a cancel request)",
        retryable=True,
    ),
    1158: Cause(
        "the connection to the database server failed or was lost", retryable=True
    ),
    1159: Cause(
        "the connection to the database server failed or was lost", retryable=True
    ),
    1160: Cause(
        "the connection to the database server failed or was lost", retryable=True
    ),
    1161: Cause(
        "the connection to the database server failed or was lost", retryable=True
    ),
    1226: Cause(
        "the database user went past a limit the server sets on it",
        retryable=True,
    ),
    1054: Cause(
        "a column is missing (the schema is not the one expected, or was changed)",
        retryable=False,
    ),
    1146: Cause(
        "a table is missing (the schema is not the one expected, or was changed)",
        retryable=False,
    ),
    1064: Cause(
        "the database refused a statement (syntax, or a missing object)",
        retryable=False,
    ),
}
"""Causes by MySQL/MariaDB error number (client ``CR_*`` and server ``ER_*``)."""

MYSQL_UNKNOWN = Cause("the database server refused the operation", retryable=False)
"""The cause of an error number none of the entries above covers."""


def mysql_error(code: int, name: str) -> StorageError:
    """Return the :class:`StorageError` for MySQL error *code*.

    *name* is the driver's exception class, named in the source with the
    number; the driver's message, which may quote a host or a value, is
    left to the chained cause.
    """
    cause = MYSQL_CAUSES.get(code, MYSQL_UNKNOWN)
    return storage_error(cause, f"MySQL {code} {name}" if code else f"MySQL {name}")
