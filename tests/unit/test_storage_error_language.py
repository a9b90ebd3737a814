"""A storage failure is said in the reader's language (SPEC O3, T1)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from echoppe_accounts import SQLiteStore, StorageError
from echoppe_accounts.adapters._driver_errors import (
    POSTGRES_CAUSES,
    SQLITE_CAUSES,
    folder_error,
    storage_error,
)
from echoppe_accounts.domain.i18n import translation


def test_a_cause_is_said_in_french_and_in_english():
    """O3, T1: the cause, the advice and the driver's code, in each language."""
    error = storage_error(POSTGRES_CAUSES["53100"], "PostgreSQL 53100 DiskFull")
    assert error.message("fr") == (
        "le disque du serveur de base de données est plein ; réessayer n’y "
        "changera rien (PostgreSQL 53100 DiskFull)"
    )
    assert (
        error.message("en")
        == str(error)
        == (
            "the disk of the database server is full; retrying will not help "
            "(PostgreSQL 53100 DiskFull)"
        )
    )


@pytest.mark.parametrize(
    "cause", [*SQLITE_CAUSES.values(), *POSTGRES_CAUSES.values()], ids=str
)
def test_every_cause_has_its_french(cause):
    """T1: each driver cause is a message of the French catalogue."""
    assert translation("fr").gettext(cause.words) != cause.words


def test_a_failure_without_a_known_cause_gets_a_general_sentence():
    """O3, T1: a bare StorageError is still said in the reader's language."""
    error = StorageError("commit() outside the unit of work's with-block")
    assert error.message("fr") == "le stockage a échoué ; réessayer n’y changera rien"


def test_a_folder_that_cannot_be_made_is_a_storage_error(tmp_path):
    """O3: the folder of a SQLite file that cannot be created, in words."""
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(StorageError) as info:
        SQLiteStore(blocker / "sub" / "db.sqlite3")
    assert info.value.source.startswith("OSError")
    assert "le dossier du fichier de la base" in info.value.message("fr")
    direct = folder_error(OSError(errno.EACCES, "denied"), Path("/x/db"))
    assert direct.source == "OSError EACCES"
    assert str(direct) == "cannot create the folder of /x/db"
