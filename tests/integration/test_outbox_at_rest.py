"""No usable secret at rest (SPEC O2): the SQLite files, and where the outbox key lives.

The SQLite database, its write-ahead log and any journal are read as bytes
while mails are pending and after they are sent, and searched for the
tokens and temporary passwords taken from the mails as delivered. The key
that seals the bodies comes from the settings, the environment, a file
beside the SQLite database, or, failing all, the process itself.
"""

from __future__ import annotations

import base64
import logging
import re
import sqlite3
import stat
from contextlib import closing

import attrs
import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AuthService,
    ConsentSource,
    InMemoryStore,
    MailKind,
    OutboxDispatcher,
    PrivacyService,
    Settings,
    SQLiteStore,
    SystemSecrets,
    bootstrap,
    sqlite_app,
)
from echoppe_accounts.bootstrap import (
    OUTBOX_KEY_VARIABLE,
    outbox_key_file,
    sqlite_outbox_key,
)
from echoppe_accounts.service_layer import outbox
from echoppe_accounts.testing import RecordingMailer
from sample_forms import TEMPORARY, express, form, links, pending

KEY = bytes(range(32))


def files_of(path) -> bytes:
    """Return the bytes of the database at *path* and of its -wal, -shm, -journal."""
    found = sorted(path.parent.glob(path.name + "*"))
    assert path in found
    return b"".join(p.read_bytes() for p in found if not p.name.endswith(".key"))


def secrets_in(mails) -> set[str]:
    """Return every token and temporary password written in *mails*."""
    found = set()
    for mail in mails:
        found.update(links(mail).values())
        found.update(re.findall(r"jeton=([A-Za-z0-9_-]+)", mail.text))
        for temporary in TEMPORARY.findall(mail.text):
            found.update({temporary, temporary.replace("-", "")})
    return found


@pytest.fixture(autouse=True)
def _no_key_in_the_environment(monkeypatch):
    """Each test says where its key comes from; none from the machine."""
    monkeypatch.delenv(OUTBOX_KEY_VARIABLE, raising=False)


def test_sqlite_files_never_hold_a_raw_secret(tmp_path, clock, shop_settings):
    """O2: db, WAL and journal bytes hold no token or temporary password, ever."""
    path = tmp_path / "accounts.sqlite3"
    store = SQLiteStore(path)
    ports = {
        "uow": store.unit_of_work,
        "clock": clock,
        "secrets": SystemSecrets(),
        "hasher": FAST_HASHER,
        "settings": shop_settings,
    }
    service, auth = AccountService(**ports), AuthService(**ports)
    privacy = PrivacyService(**ports)
    # A reader holding a snapshot keeps the WAL from being recycled: what
    # was ever written there stays there for the test to read.
    with closing(sqlite3.connect(path)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM outbox").fetchall()
        account = service.register(form())
        service.register_express(express())
        auth.request_password_reset("jean.dupont@exemple.fr")
        (confirm,) = [m for m in pending(service) if m.kind is MailKind.RESET_CONFIRM]
        auth.confirm_password_reset(links(confirm)["confirmer"])
        auth.request_password_reset("client@exemple.fr")  # still waiting when sent
        privacy.request_newsletter_subscription(
            account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-1"
        )
        while_pending = files_of(path)
        queued = len(pending(service))
        mailer = RecordingMailer()
        dispatcher = OutboxDispatcher(
            store.unit_of_work, mailer, clock, shop_settings.sender
        )
        assert dispatcher.dispatch().sent == queued == 6
        after_sending = files_of(path)
        reader.rollback()
    after_closing = files_of(path)
    secrets = secrets_in(mailer.sent)
    kinds = {m.kind for m in mailer.sent}
    assert {
        MailKind.SET_PASSWORD,
        MailKind.RESET_CONFIRM,
        MailKind.TEMPORARY_PASSWORD,
        MailKind.NEWSLETTER_CONFIRM,
    } <= kinds
    assert len(secrets) >= 7  # set-password, 2 x (confirm, cancel), temporary, opt-in
    for secret in secrets:
        for stage, blob in [
            ("pending", while_pending),
            ("sent", after_sending),
            ("closed", after_closing),
        ]:
            assert secret.encode() not in blob, f"a secret is readable ({stage})"
    assert b"sealed:v2:" in while_pending  # the bodies were there, sealed


def test_sqlite_app_keeps_its_key_in_the_configuration_folder(
    tmp_path, clock, shop_settings
):
    """O2: the embedded default keeps its key (0600) in the configuration folder."""
    database, mailbox = tmp_path / "shop.sqlite3", tmp_path / "mailbox"
    app = sqlite_app(database, mailbox, shop_settings, clock=clock, hasher=FAST_HASHER)
    key_file = outbox_key_file(database)
    assert not key_file.is_relative_to(tmp_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = sqlite_outbox_key(database)
    assert app.dispatcher.outbox_key == key
    assert app.accounts.settings.outbox_key == key
    app.accounts.register_express(express())
    stored = files_of(database)
    assert key not in stored
    assert key.hex().encode() not in stored
    # Restarted, the application reads the same key and sends the mail.
    again = sqlite_app(database, mailbox, shop_settings, clock=clock)
    assert again.dispatcher.outbox_key == key
    assert again.dispatcher.dispatch().sent == 1
    assert sqlite_outbox_key(database) == key


def test_a_key_in_the_environment_wins_over_the_file(
    tmp_path, monkeypatch, shop_settings
):
    """O2: ``ECHOPPE_OUTBOX_KEY`` (base64 here) is used, and no key file is made."""
    monkeypatch.setenv(OUTBOX_KEY_VARIABLE, base64.b64encode(KEY).decode())
    app = sqlite_app(tmp_path / "shop.sqlite3", tmp_path / "mailbox", shop_settings)
    assert app.dispatcher.outbox_key == KEY
    assert not outbox_key_file(tmp_path / "shop.sqlite3").exists()


@pytest.mark.parametrize("written", [KEY.hex(), base64.urlsafe_b64encode(KEY).decode()])
def test_bootstrap_takes_the_key_from_the_environment(
    monkeypatch, shop_settings, written
):
    """O2: bootstrap reads ``ECHOPPE_OUTBOX_KEY`` in hex or base64."""
    monkeypatch.setenv(OUTBOX_KEY_VARIABLE, written)
    app = bootstrap(InMemoryStore().unit_of_work, RecordingMailer(), shop_settings)
    assert app.dispatcher.outbox_key == KEY
    assert app.auth.settings.outbox_key == KEY


def test_the_settings_key_wins_over_the_environment(monkeypatch, shop_settings):
    """O2: a key in the settings is used as given."""
    monkeypatch.setenv(OUTBOX_KEY_VARIABLE, bytes(32).hex())
    settings = attrs.evolve(shop_settings, outbox_key=KEY)
    app = bootstrap(InMemoryStore().unit_of_work, RecordingMailer(), settings)
    assert app.dispatcher.outbox_key == KEY
    assert app.privacy.settings.outbox_key == KEY


def test_a_malformed_key_in_the_environment_is_refused_unquoted(
    monkeypatch, shop_settings
):
    """O2: a wrong ``ECHOPPE_OUTBOX_KEY`` stops the start, without echoing it."""
    monkeypatch.setenv(OUTBOX_KEY_VARIABLE, "mot-de-passe-pas-une-cle")
    with pytest.raises(ValueError, match=OUTBOX_KEY_VARIABLE) as info:
        bootstrap(InMemoryStore().unit_of_work, RecordingMailer(), shop_settings)
    assert "mot-de-passe" not in str(info.value)


def test_a_key_of_the_wrong_size_is_refused_by_the_settings():
    """O2: the settings accept 32 bytes only, and never show the key."""
    with pytest.raises(ValueError, match="32 bytes"):
        Settings(base_url="https://www.lechoppe.fr", outbox_key=bytes(16))
    with pytest.raises(TypeError):
        Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY.hex())
    settings = Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY)
    assert KEY.hex() not in repr(settings)
    assert repr(KEY) not in repr(settings)
    dispatcher = OutboxDispatcher(
        InMemoryStore().unit_of_work, RecordingMailer(), None, "s@lechoppe.fr"
    )
    assert "outbox_key" not in repr(attrs.evolve(dispatcher, outbox_key=KEY))


def test_without_any_key_the_process_makes_one_and_warns_once(
    monkeypatch, caplog, shop_settings
):
    """O2: no key anywhere: one per process, and a warning that says what it costs."""
    monkeypatch.setattr(outbox, "_process_key", None)
    with caplog.at_level(logging.WARNING, logger="echoppe_accounts.outbox"):
        first = bootstrap(
            InMemoryStore().unit_of_work, RecordingMailer(), shop_settings
        )
        second = bootstrap(
            InMemoryStore().unit_of_work, RecordingMailer(), shop_settings
        )
    assert first.dispatcher.outbox_key == second.dispatcher.outbox_key
    assert first.dispatcher.outbox_key == outbox.process_key()
    (warning,) = caplog.records
    assert "dead-lettered" in warning.getMessage()
    assert OUTBOX_KEY_VARIABLE in warning.getMessage()
