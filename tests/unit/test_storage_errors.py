"""Driver errors in words, with whether a retry may succeed (SPEC O3).

The tables of ``adapters/_driver_errors.py`` checked one code at a time:
SQLite errors built as the driver raises them (Python 3.11+ sets
``sqlite_errorcode`` and ``sqlite_errorname``), PostgreSQL SQLSTATEs as
strings. The errors triggered for real are in
``tests/integration/test_sqlite_faults.py`` and ``test_postgres_faults.py``.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from echoppe_accounts import ConcurrencyError, StorageError
from echoppe_accounts.adapters._driver_errors import (
    POSTGRES_CAUSES,
    POSTGRES_UNKNOWN,
    SQLITE_CAUSES,
    postgres_cause,
    sqlite_error,
)


def raised_by_sqlite(
    code: int, name: str, message: str = "", kind=sqlite3.OperationalError
):
    """Return a sqlite3 error as the driver builds it for result *code*."""
    exc = kind(message or "database or disk is full")
    exc.sqlite_errorcode = code
    exc.sqlite_errorname = name
    return exc


PRIMARY_CODE_NAMES = {
    "SQLITE_ERROR", "SQLITE_INTERNAL", "SQLITE_PERM", "SQLITE_ABORT",
    "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_NOMEM", "SQLITE_READONLY",
    "SQLITE_INTERRUPT", "SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_NOTFOUND",
    "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL", "SQLITE_SCHEMA",
    "SQLITE_TOOBIG", "SQLITE_CONSTRAINT", "SQLITE_MISMATCH", "SQLITE_MISUSE",
    "SQLITE_NOLFS", "SQLITE_AUTH", "SQLITE_RANGE", "SQLITE_NOTADB",
}  # fmt: skip
"""The primary result codes of SQLite (its authorizer codes share the numbers)."""

SQLITE_NAMES = {getattr(sqlite3, name): name for name in PRIMARY_CODE_NAMES}


# -- SQLite -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "words", "retryable"),
    [
        (sqlite3.SQLITE_FULL, "the disk holding the database is full", False),
        (sqlite3.SQLITE_BUSY, "locked by another connection (busy)", True),
        (sqlite3.SQLITE_LOCKED, "a table of the database is locked", True),
        (sqlite3.SQLITE_READONLY, "the database is read-only", False),
        (sqlite3.SQLITE_CORRUPT, "the database file is corrupt", False),
        (sqlite3.SQLITE_NOTADB, "not a SQLite database", False),
        (sqlite3.SQLITE_CANTOPEN, "cannot be opened", False),
        (sqlite3.SQLITE_PERM, "permission denied", False),
        (sqlite3.SQLITE_IOERR, "disk I/O error", False),
        (sqlite3.SQLITE_NOMEM, "ran out of memory", True),
        (sqlite3.SQLITE_CONSTRAINT, "breaks a constraint", False),
        (sqlite3.SQLITE_ERROR, "refused a statement", False),
    ],
    ids=lambda value: SQLITE_NAMES.get(value) if isinstance(value, int) else None,
)
def test_sqlite_codes_become_sentences(code, words, retryable):
    """O3: the message says the cause in words and whether a retry may help."""
    error = sqlite_error(raised_by_sqlite(code, SQLITE_NAMES[code]))
    assert type(error) is StorageError
    assert words in str(error)
    assert error.retryable is retryable
    advice = "a retry may succeed" if retryable else "retrying will not help"
    assert advice in str(error)
    assert str(error).endswith(f"(SQLite {SQLITE_NAMES[code]})")


def test_the_disk_full_message_is_a_sentence_not_a_class_name():
    """O3: a full disk reads as such, not "SQLite error: OperationalError"."""
    error = sqlite_error(raised_by_sqlite(sqlite3.SQLITE_FULL, "SQLITE_FULL"))
    assert str(error) == (
        "the disk holding the database is full; retrying will not help "
        "(SQLite SQLITE_FULL)"
    )


@pytest.mark.parametrize(
    ("name", "words", "retryable"),
    [
        ("SQLITE_BUSY_SNAPSHOT", "busy", True),
        ("SQLITE_IOERR_WRITE", "disk I/O error", False),
        ("SQLITE_CANTOPEN_ISDIR", "cannot be opened", False),
        ("SQLITE_READONLY_DBMOVED", "read-only", False),
        ("SQLITE_CONSTRAINT_UNIQUE", "breaks a constraint", False),
    ],
)
def test_extended_codes_read_as_their_primary_code(name, words, retryable):
    """O3: an extended code has its primary code's words and keeps its own name."""
    code = getattr(sqlite3, name)
    error = sqlite_error(raised_by_sqlite(code, name))
    assert words in str(error)
    assert error.retryable is retryable
    assert f"(SQLite {name})" in str(error)


def test_every_primary_code_has_words():
    """O3: every primary result code an operation can fail with is in the table."""
    assert set(SQLITE_NAMES) == set(SQLITE_CAUSES)


def test_the_driver_message_stays_in_the_cause():
    """O3: the driver's message, which may quote stored values, is not repeated."""
    driver = raised_by_sqlite(
        sqlite3.SQLITE_CONSTRAINT,
        "SQLITE_CONSTRAINT_UNIQUE",
        "UNIQUE constraint failed: accounts.email_key jean.dupont@exemple.fr",
        kind=sqlite3.IntegrityError,
    )
    error = sqlite_error(driver)
    assert "jean.dupont" not in str(error)
    assert "email_key" not in str(error)


@pytest.mark.parametrize(
    ("driver", "words"),
    [
        (sqlite3.ProgrammingError("Cannot operate on a closed database."), "wrongly"),
        (sqlite3.IntegrityError("x"), "breaks a constraint"),
        (sqlite3.DataError("x"), "cannot be stored"),
        (sqlite3.InterfaceError("x"), "the SQLite database failed"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_errors_without_a_code_are_named_by_their_class(driver, words):
    """O3: an error the sqlite3 module raises itself (no code) still has words."""
    error = sqlite_error(driver)
    assert words in str(error)
    assert error.retryable is False
    assert f"(SQLite {type(driver).__name__})" in str(error)


def test_an_unknown_code_is_still_a_sentence():
    """O3: a code the table does not know gives a general sentence, not a crash."""
    error = sqlite_error(raised_by_sqlite(99, "SQLITE_FUTURE"))
    assert str(error).startswith("the SQLite database failed;")
    assert "(SQLite SQLITE_FUTURE)" in str(error)


# -- PostgreSQL ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sqlstate", "words", "retryable"),
    [
        ("53100", "the disk of the database server is full", False),
        ("53300", "too many connections", True),
        ("53200", "ran out of memory", True),
        ("40001", "serialization failure", True),
        ("40P01", "deadlock", True),
        ("55P03", "a lock wait timed out", True),
        ("57014", "statement timeout", True),
        ("57P01", "shutting down or restarting", True),
        ("57P03", "starting up or shutting down", True),
        ("08006", "failed or was lost", True),
        ("25006", "read-only", False),
        ("XX001", "corrupt data", False),
        ("XX002", "corrupt index", False),
        ("42501", "permission denied", False),
        ("42P01", "a table is missing", False),
        ("28P01", "refused the role or its password", False),
        ("3D000", "the database does not exist", False),
        ("23505", "must be unique", False),
        ("22012", "refused a value", False),
        ("58030", "I/O error", False),
    ],
)
def test_sqlstates_become_sentences(sqlstate, words, retryable):
    """O3: a SQLSTATE gives its own words, else its class's, and the retry advice."""
    cause = postgres_cause(sqlstate)
    assert words in cause.words
    assert cause.retryable is retryable


def test_an_unknown_sqlstate_falls_back_to_its_class_then_to_a_general_cause():
    """O3: 53999 reads as class 53; a class the table lacks as a general refusal."""
    assert postgres_cause("53999") == POSTGRES_CAUSES["53"]
    assert postgres_cause("HV000") == POSTGRES_UNKNOWN
    assert POSTGRES_UNKNOWN.retryable is False


def test_the_tables_hold_sentences_and_valid_codes():
    """O3: keys are SQLSTATEs or classes; words are lower-case, unpunctuated ends."""
    for key in POSTGRES_CAUSES:
        assert re.fullmatch(r"[0-9A-Z]{2}([0-9A-Z]{3})?", key), key
    for cause in [*POSTGRES_CAUSES.values(), *SQLITE_CAUSES.values()]:
        assert cause.words[0].islower() or cause.words.startswith("SQLite")
        assert not cause.words.endswith((".", ";"))


def test_a_conflict_is_still_a_retryable_storage_error():
    """O3: ConcurrencyError keeps saying that a retry may succeed."""
    assert ConcurrencyError("acc-1").retryable is True
    assert isinstance(ConcurrencyError("acc-1"), StorageError)
