"""Self-service erasure's last mail, opt-in, and nothing after it (SPEC W2, G3)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from echoppe_accounts import (
    ConsentSource,
    InMemoryStore,
    MailKind,
    OutboxDispatcher,
    OutgoingMail,
    SQLiteStore,
)
from echoppe_accounts.testing import RecordingMailer
from sample_forms import express, form, pending

EMAIL = "jean.dupont@exemple.fr"
PASSWORD = "une phrase de passe solide"


def _dispatch(uow_factory, clock, settings) -> RecordingMailer:
    mailer = RecordingMailer()
    OutboxDispatcher(uow_factory, mailer, clock, settings.sender).dispatch()
    return mailer


def _flat(text: str) -> str:
    """Return *text* on one line (plain-text mails wrap at 76 characters)."""
    return " ".join(text.split())


def _of_account(service, account_id):
    return [m for m in pending(service) if m.account_id == account_id]


def test_self_service_erasure_queues_one_farewell_and_nothing_else(
    service, auth, privacy
):
    """W2, G3: the farewell mail replaces every other mail of the account.

    Queued after the wipe, to the address the account had, it names
    nobody and says what is kept: the invoice data, 10 years (L123-22).
    """
    account = service.register(form())
    auth.request_password_reset(EMAIL)
    privacy.request_newsletter_subscription(
        account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-1"
    )
    assert len(pending(service)) >= 3  # welcome, reset, newsletter
    privacy.erase_account(account.id, farewell=True)
    [farewell] = pending(service)
    assert farewell.kind is MailKind.ACCOUNT_ERASED
    assert farewell.to == EMAIL
    assert farewell.account_id == account.id
    assert farewell.subject == "Votre compte a été supprimé"
    assert farewell.text.startswith("Bonjour,")
    assert "Jean" not in farewell.text + farewell.html
    assert "Dupont" not in farewell.text + farewell.html
    assert "supprimés le" in _flat(farewell.text)
    assert "10 ans" in _flat(farewell.text)
    assert "L123-22" in _flat(farewell.text)
    assert "L123-22" in farewell.html


def test_the_farewell_is_in_the_customers_language(service, privacy):
    """W2, T1: an English-speaking customer gets the farewell in English."""
    account = service.register(form())
    service.set_language(account.id, "en")
    privacy.erase_account(account.id, farewell=True)
    [farewell] = pending(service)
    assert farewell.subject == "Your account was deleted"
    assert farewell.text.startswith("Hello,")
    assert "were deleted on" in _flat(farewell.text)
    assert "10 years" in _flat(farewell.text)
    assert "L123-22" in _flat(farewell.text)


@pytest.mark.parametrize("actor", ["customer", "agent-7"])
def test_erasure_without_the_opt_in_sends_nothing(service, privacy, actor):
    """G3: staff and the command line erase without a farewell, as before."""
    account = service.register(form())
    privacy.erase_account(account.id, actor=actor)
    assert pending(service) == []


def test_the_farewell_is_delivered_once(
    service, privacy, uow_factory, clock, shop_settings
):
    """W2, O1: the worker delivers the farewell once; erasing again adds none."""
    account = service.register(form())
    privacy.erase_account(account.id, farewell=True)
    privacy.erase_account(account.id, farewell=True)  # idempotent (G3)
    first = _dispatch(uow_factory, clock, shop_settings)
    [sent] = first.of_kind(MailKind.ACCOUNT_ERASED)
    assert sent.to == EMAIL
    assert len(first.sent) == 1
    clock.advance(timedelta(days=1))
    assert _dispatch(uow_factory, clock, shop_settings).sent == []


def test_an_erased_account_gets_nothing_after_its_farewell(
    service, auth, privacy, uow_factory, clock, shop_settings
):
    """G3: after the farewell, a reset or an express checkout mails it nothing.

    The address is free again: what those queue goes to nobody's account
    or to a new one, never to the erased account.
    """
    account = service.register(form())
    privacy.erase_account(account.id, farewell=True)
    _dispatch(uow_factory, clock, shop_settings)
    clock.advance(timedelta(minutes=5))
    auth.request_password_reset(EMAIL)
    clock.advance(timedelta(minutes=5))
    service.register_express(express(email=EMAIL))
    assert _of_account(service, account.id) == []
    later = _dispatch(uow_factory, clock, shop_settings)
    assert later.of_kind(MailKind.ACCOUNT_ERASED) == []
    assert all(m.account_id != account.id for m in later.sent)


# -- the outbox row once sent, in every adapter ----------------------------------

NOW = datetime(2026, 11, 25, 14, 7, tzinfo=UTC)


def _mail(kind: MailKind, mail_id: str) -> OutgoingMail:
    return OutgoingMail(
        id=mail_id,
        kind=kind,
        to=EMAIL,
        subject="Sujet",
        text="corps",
        html="<p>corps</p>",
        created_at=NOW,
        account_id=None,
    )


def _rows(adapter, store_or_path, schema) -> dict[str, tuple[str, str | None, str]]:
    """Return (recipient, recipient key, bodies) of each outbox row, read raw."""
    if adapter == "memory":
        return {
            i: (e.mail.to, e.mail.recipient_key, e.mail.text + e.mail.html)
            for i, e in store_or_path.outbox.items()
        }
    query = (
        "SELECT id, recipient, recipient_key, body_text || body_html AS body "
        "FROM {}outbox "
        "WHERE id IN ('farewell-1', 'other-1')"
    )
    if adapter == "sqlite":
        with sqlite3.connect(store_or_path) as db:
            return {r[0]: (r[1], r[2], r[3]) for r in db.execute(query.format(""))}
    with store_or_path.pool.connection() as db:
        rows = db.execute(query.format(f'"{schema}".')).fetchall()
    return {r["id"]: (r["recipient"], r["recipient_key"], r["body"]) for r in rows}


@pytest.mark.parametrize(
    "adapter",
    ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def test_a_sent_farewell_keeps_no_address(adapter, tmp_path, request):
    """G3, O2: once sent, the farewell's row holds neither body nor address.

    Other mails keep their recipient (erasure finds them by it); the
    farewell comes after the erasure, so its row forgets the address itself.
    """
    schema = None
    if adapter == "memory":
        store = InMemoryStore()
        factory, raw = store.unit_of_work, store
    elif adapter == "sqlite":
        path = tmp_path / "accounts.sqlite3"
        factory, raw = SQLiteStore(path).unit_of_work, path
    else:
        factory = request.getfixturevalue("postgres_uow_factory")
        raw = request.getfixturevalue("postgres_store")
        schema = raw.schema
    with factory() as tx:
        tx.outbox.add(_mail(MailKind.ACCOUNT_ERASED, "farewell-1"))
        tx.outbox.add(_mail(MailKind.PASSWORD_CHANGED, "other-1"))
        tx.commit()
    with factory() as tx:
        assert tx.outbox.mark_sent("farewell-1", NOW)
        assert tx.outbox.mark_sent("other-1", NOW)
        tx.commit()
    rows = _rows(adapter, raw, schema)
    assert rows["farewell-1"] == ("", None, "")
    assert rows["other-1"] == (EMAIL, EMAIL, "")
