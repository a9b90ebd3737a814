"""The outbox key never travels with the database, and rotates (SPEC O2 amended).

A shared database (PostgreSQL) without a key is refused at start-up; the
embedded SQLite default keeps its key in the operator's configuration
folder, never beside the database; ``init`` moves a key file found beside
a database; a rotated key's predecessor still opens the mails queued
before; and a sealed body is bound to its recipient.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from conftest import FAST_HASHER
from echoppe_accounts import Settings, bootstrap, sqlite_app
from echoppe_accounts.adapters.memory import InMemoryStore
from echoppe_accounts.bootstrap import (
    OUTBOX_KEY_VARIABLE,
    OUTBOX_OLD_KEY_VARIABLE,
    outbox_key_file,
    rotate_outbox_key,
)
from echoppe_accounts.domain.sealing import parse_key
from echoppe_accounts.entrypoints.cli import main
from echoppe_accounts.entrypoints.config import ConfigurationError
from echoppe_accounts.testing import RecordingMailer
from sample_forms import express

BASE_URL = "https://www.lechoppe.fr"


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch):
    monkeypatch.delenv(OUTBOX_KEY_VARIABLE, raising=False)
    monkeypatch.delenv(OUTBOX_OLD_KEY_VARIABLE, raising=False)


def _settings(**values) -> Settings:
    return Settings(base_url=BASE_URL, **values)


def _app(database: Path, mailbox: Path):
    return sqlite_app(database, mailbox, _settings(), hasher=FAST_HASHER)


def test_a_shared_database_without_a_key_is_refused_at_start_up():
    """O2: bootstrap refuses a shared store without a key: what to set, and why."""
    with pytest.raises(ConfigurationError) as refused:
        bootstrap(
            InMemoryStore().unit_of_work,
            RecordingMailer(),
            _settings(),
            shared_database=True,
        )
    for language in ("fr", "en"):
        sentence = refused.value.message(language)
        assert "ECHOPPE_OUTBOX_KEY" in sentence
        assert "openssl rand -base64 32" in sentence
        assert sentence.count(". ") == 0  # one sentence
    assert "worker" in refused.value.message("en")


@pytest.mark.postgres
def test_postgresql_without_a_key_is_refused_by_bootstrap(postgres_store):
    """O2: a PostgresStore wired without a key does not start (no per-process key)."""
    with pytest.raises(ConfigurationError, match="shared database"):
        bootstrap(postgres_store.unit_of_work, RecordingMailer(), _settings())
    app = bootstrap(
        postgres_store.unit_of_work, RecordingMailer(), _settings(outbox_key=bytes(32))
    )
    assert app.dispatcher.outbox_key == bytes(32)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("lang", "expected"),
    [("fr", "Aucune clé d’outbox"), ("en", "No outbox key")],
)
def test_the_cli_refuses_postgresql_without_a_key_in_one_sentence(
    postgres_dsn, monkeypatch, capsys, lang, expected
):
    """O2, O4: the worker on PostgreSQL without a key exits 1 with one sentence."""
    monkeypatch.setenv("ECHOPPE_DATABASE_URL", postgres_dsn)
    monkeypatch.setenv("ECHOPPE_DATABASE_SCHEMA", "ops_no_key")
    code = main(["--lang", lang, "worker", "--once"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1, err
    assert expected in err[0]
    assert "ECHOPPE_OUTBOX_KEY" in err[0]


def test_the_sqlite_key_lives_in_the_configuration_folder(tmp_path):
    """O2: the key file is in $XDG_CONFIG_HOME/echoppe-accounts, 0600, not beside."""
    database = tmp_path / "shop.sqlite3"
    app = _app(database, tmp_path / "mailbox")
    key_file = outbox_key_file(database)
    assert key_file.parent == Path(os.environ["XDG_CONFIG_HOME"]) / "echoppe-accounts"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert key_file.name.startswith("shop.sqlite3-")
    assert not any(p.suffix == ".key" for p in tmp_path.iterdir())
    assert app.dispatcher.outbox_key == parse_key(key_file.read_text().split("\n")[2])
    # Another database in another folder never shares the key.
    other = tmp_path / "other" / "shop.sqlite3"
    assert outbox_key_file(other) != key_file


def test_a_copy_of_the_database_files_opens_no_sealed_mail(tmp_path):
    """O2: the database's files, copied elsewhere, leave the sealed mails unreadable."""
    live = tmp_path / "live"
    live.mkdir()
    app = _app(live / "shop.sqlite3", tmp_path / "mailbox")
    app.accounts.register_express(express())  # a set-password mail, sealed
    stolen = tmp_path / "stolen"
    stolen.mkdir()
    for path in live.iterdir():
        shutil.copy(path, stolen / path.name)
    thief = _app(stolen / "shop.sqlite3", tmp_path / "thief-mailbox")
    report = thief.dispatcher.dispatch()
    assert report.sent == 0
    assert report.dead >= 1
    assert not (tmp_path / "thief-mailbox").exists() or not any(
        (tmp_path / "thief-mailbox" / "new").iterdir()
    )


def test_init_moves_a_key_file_found_beside_the_database(tmp_path, capsys):
    """O2: ``init`` moves ``<db>.key`` to the configuration folder and says so."""
    database = tmp_path / "shop.sqlite3"
    old_key = os.urandom(32)
    beside = tmp_path / "shop.sqlite3.key"
    beside.write_text(old_key.hex() + "\n")
    beside.chmod(0o600)
    code = main(["--lang", "en", "--db", f"sqlite:///{database}", "init"])
    err = capsys.readouterr().err
    assert code == 0
    assert f"Outbox key moved from {beside} to {outbox_key_file(database)}" in err
    assert not beside.exists()
    assert _app(database, tmp_path / "mailbox").dispatcher.outbox_key == old_key


def test_mails_queued_before_a_rotation_are_still_sent(tmp_path, capsys):
    """O2: after ``outbox rotate-key``, the previous key opens the queued mails."""
    database, mailbox = tmp_path / "shop.sqlite3", tmp_path / "mailbox"
    before = _app(database, mailbox)
    before.accounts.register_express(express())
    code = main(
        ["--lang", "fr", "--db", f"sqlite:///{database}", "outbox", "rotate-key"]
    )
    assert code == 0
    assert "Nouvelle clé de l’outbox écrite" in capsys.readouterr().err
    after = _app(database, mailbox)
    assert after.dispatcher.outbox_key != before.dispatcher.outbox_key
    assert after.dispatcher.outbox_old_key == before.dispatcher.outbox_key
    assert after.dispatcher.dispatch().sent == 1
    # A second rotation drops the oldest key.
    rotate_outbox_key(database)
    third = _app(database, mailbox)
    assert third.dispatcher.outbox_old_key == after.dispatcher.outbox_key


def test_the_previous_key_comes_from_the_environment_too(monkeypatch):
    """O2: ECHOPPE_OUTBOX_OLD_KEY opens mails sealed with the key it replaced."""
    old, new = os.urandom(32), os.urandom(32)
    store = InMemoryStore()
    queued = bootstrap(store.unit_of_work, RecordingMailer(), _settings(outbox_key=old))
    queued.accounts.register_express(express())
    monkeypatch.setenv(OUTBOX_KEY_VARIABLE, new.hex())
    monkeypatch.setenv(OUTBOX_OLD_KEY_VARIABLE, old.hex())
    mailer = RecordingMailer()
    rotated = bootstrap(store.unit_of_work, mailer, _settings())
    assert rotated.dispatcher.dispatch().sent == 1
    assert len(mailer.sent) == 1


def test_the_cli_prints_a_new_key_when_the_key_comes_from_the_environment(
    tmp_path, monkeypatch, capsys
):
    """O2: with ECHOPPE_OUTBOX_KEY set, ``rotate-key`` prints a key and the steps."""
    monkeypatch.setenv(OUTBOX_KEY_VARIABLE, os.urandom(32).hex())
    database = tmp_path / "shop.sqlite3"
    code = main(
        ["--lang", "en", "--db", f"sqlite:///{database}", "outbox", "rotate-key"]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert len(parse_key(out.strip())) == 32
    assert "ECHOPPE_OUTBOX_OLD_KEY" in err
    assert not outbox_key_file(database).exists()


def test_a_rewritten_recipient_opens_nothing(tmp_path):
    """O2: a row whose recipient was changed is dead-lettered, its link never sent."""
    database, mailbox = tmp_path / "shop.sqlite3", tmp_path / "mailbox"
    app = _app(database, mailbox)
    app.accounts.register_express(express())
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE outbox SET recipient = 'attacker@example.org'")
    conn.close()
    report = app.dispatcher.dispatch()
    assert report.sent == 0
    assert report.dead == 1
    assert "unreadable" in app.dispatcher.dead_letters()[0].last_error
