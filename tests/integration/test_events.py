"""Account events, written with their change, delivered after commit (SPEC O5)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    CallbackHandler,
    ConsentSource,
    EventDispatcher,
    EventType,
    JsonLinesHandler,
    MailKind,
    OrganisationForm,
    OutboxWorker,
    Settings,
    bootstrap,
)
from echoppe_accounts.service_layer.events import iter_events
from echoppe_accounts.testing import RecordingMailer
from sample_forms import express, form, link_token, links, pending


@pytest.fixture
def uow_factory(each_adapter_uow_factory):
    """This module is about the adapters: each of them, not memory alone."""
    return each_adapter_uow_factory


PASSWORD = "une phrase de passe solide"
KEY = bytes(range(32))


@pytest.fixture
def shop(uow_factory, clock):
    """An app wired by bootstrap with a recording handler, and what it saw."""
    seen = []
    app = bootstrap(
        uow_factory,
        RecordingMailer(),
        Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY),
        clock=clock,
        hasher=FAST_HASHER,
        event_handlers={"test": CallbackHandler(seen.append)},
    )
    return app, seen


def types(events):
    """The event types, in order."""
    return [e.type for e in events]


def test_every_change_is_delivered_after_commit(shop):
    """O5: each kind of change reaches the handler once, right after commit."""
    app, seen = shop
    account = app.accounts.register(form())
    assert types(seen) == [EventType.REGISTERED]
    app.accounts.change_category(
        account.id, "entreprise", OrganisationForm("Exemple SA", "732 829 320 00074")
    )
    app.accounts.subscribe_newsletter(
        account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-1"
    )
    # Amended F7: an unproven mailbox follows its confirm link first.
    confirm = next(
        m for m in pending(app.accounts) if m.kind is MailKind.NEWSLETTER_CONFIRM
    )
    app.privacy.confirm_newsletter_subscription(link_token(confirm))
    app.accounts.unsubscribe_newsletter(account.id, source=ConsentSource.ACCOUNT_PAGE)
    app.auth.change_password(account.id, PASSWORD, "un tout autre secret bien long")
    app.accounts.change_email(
        account.id, "jean@nouveau.fr", "un tout autre secret bien long"
    )
    app.accounts.confirm_email_change(
        links(
            next(
                m
                for m in pending(app.accounts)
                if m.kind is MailKind.EMAIL_CHANGE_CONFIRM
            )
        )["confirmer"]
    )
    app.privacy.erase_account(account.id)
    assert types(seen) == [
        EventType.REGISTERED,
        EventType.CATEGORY_CHANGED,
        EventType.NEWSLETTER_SUBSCRIBED,
        EventType.NEWSLETTER_UNSUBSCRIBED,
        EventType.PASSWORD_CHANGED,
        EventType.EMAIL_CHANGED,
        EventType.ERASED,
    ]
    assert {e.account_id for e in seen} == {account.id}
    assert seen[1].data == {"category": "company"}
    assert len({e.id for e in seen}) == len(seen)


def test_express_account_is_registered_then_completed(shop):
    """O5: checkout registers; the set-password link completes."""
    app, seen = shop
    answer = app.accounts.register_express(express())
    mail = next(m for m in pending(app.accounts) if m.kind is MailKind.SET_PASSWORD)
    from echoppe_accounts import CompletionForm  # noqa: PLC0415

    app.accounts.complete_express(
        link_token(mail), CompletionForm(password=PASSWORD, phone="0612345678")
    )
    assert types(seen) == [EventType.REGISTERED, EventType.COMPLETED]
    assert seen[0].account_id == answer.account_id


def test_events_hold_no_personal_data_or_secret(shop):
    """O5, G3: events name the account and the change, never a person or a secret."""
    app, seen = shop
    account = app.accounts.register(form())
    app.accounts.change_email(account.id, "jean@nouveau.fr", PASSWORD)
    confirm = next(
        m for m in pending(app.accounts) if m.kind is MailKind.EMAIL_CHANGE_CONFIRM
    )
    token = links(confirm)["confirmer"]
    app.accounts.confirm_email_change(token)
    app.privacy.erase_account(account.id)
    dumped = json.dumps([e.as_dict() for e in seen], ensure_ascii=False)
    for secret in ("jean", "Dupont", "exemple.fr", "nouveau", token, "$argon2"):
        assert secret not in dumped


def test_a_failed_use_case_leaves_no_event(shop, monkeypatch):
    """O5: an exception inside the use case rolls its event back with it."""
    app, seen = shop
    account = app.accounts.register(form())
    seen.clear()
    from echoppe_accounts.service_layer import reset  # noqa: PLC0415

    def broken(*_args, **_kwargs):
        raise RuntimeError("injected")

    monkeypatch.setattr(reset, "audit", broken)
    with pytest.raises(RuntimeError, match="injected"):
        app.auth.change_password(account.id, PASSWORD, "un tout autre secret bien long")
    monkeypatch.undo()
    assert seen == []
    assert [e.type for e in iter_events(app.accounts.uow)] == [EventType.REGISTERED]


def test_failing_handler_is_retried_and_gets_each_event_once(uow_factory, clock):
    """O5: a handler that fails gets the event again; each id arrives once."""
    received: Counter[str] = Counter()
    failures = {"left": 2}

    def flaky(event):
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError
        received[event.id] += 1

    steady: list = []
    app = bootstrap(
        uow_factory,
        RecordingMailer(),
        Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY),
        clock=clock,
        hasher=FAST_HASHER,
        event_handlers={"crm": flaky, "etl": CallbackHandler(steady.append)},
    )
    for n in range(3):
        app.accounts.register(form(email=f"client{n}@exemple.fr"))
    # The first two deliveries to the CRM failed; the ETL got everything.
    assert len(steady) == 3
    while app.events.dispatch():
        pass
    assert sorted(received.values()) == [1, 1, 1]
    assert set(received) == {e.id for e in steady}
    assert app.events.dispatch() == 0  # nothing is given twice


def test_json_lines_handler_appends_one_line_per_event(uow_factory, tmp_path):
    """O5: the shipped JSON-lines handler writes each event for an ETL."""
    path = tmp_path / "events.jsonl"
    dispatcher = EventDispatcher(uow_factory, {"etl": JsonLinesHandler(path)})
    app = bootstrap(
        uow_factory,
        RecordingMailer(),
        Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY),
        hasher=FAST_HASHER,
    )
    account = app.accounts.register(form())
    app.accounts.unsubscribe_newsletter(account.id, source=ConsentSource.ACCOUNT_PAGE)
    assert dispatcher.dispatch() == 2
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert [line["type"] for line in lines] == [
        "account.registered",
        "account.newsletter_unsubscribed",
    ]
    assert lines[1]["data"] == {"source": "account_page"}
    assert dispatcher.dispatch() == 0


def test_without_handlers_events_are_still_stored(uow_factory):
    """O5: events wait in storage for handlers registered later."""
    app = bootstrap(
        uow_factory,
        RecordingMailer(),
        Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY),
        hasher=FAST_HASHER,
    )
    app.accounts.register(form())
    late: list = []
    EventDispatcher(uow_factory, {"late": CallbackHandler(late.append)}).dispatch()
    assert types(late) == [EventType.REGISTERED]


def test_a_handler_may_use_the_library(uow_factory, clock):
    """O5: no transaction is open while a handler runs (SQLite's lock is free)."""
    names: list[str] = []
    holder: dict = {}

    def read_account(event):
        names.append(holder["app"].accounts.get(event.account_id).name)

    app = bootstrap(
        uow_factory,
        RecordingMailer(),
        Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY),
        clock=clock,
        hasher=FAST_HASHER,
        event_handlers={"crm": read_account},
    )
    holder["app"] = app
    app.accounts.register(form())
    assert names == ["Jean Dupont"]


def test_the_worker_delivers_what_an_earlier_delivery_missed(uow_factory, clock):
    """O5: an OutboxWorker given the event dispatcher retries a failed handler."""
    received: list = []
    down = {"crm": True}

    def crm(event):
        if down["crm"]:
            raise ConnectionError
        received.append(event)

    app = bootstrap(
        uow_factory,
        RecordingMailer(),
        Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY),
        clock=clock,
        hasher=FAST_HASHER,
        event_handlers={"crm": crm},
    )
    app.accounts.register(form())
    assert received == []
    down["crm"] = False
    worker = OutboxWorker(app.dispatcher.dispatch, events=app.events.dispatch)
    worker.run_once()
    assert types(received) == [EventType.REGISTERED]
    worker.run_once()
    assert len(received) == 1


def test_positions_never_move_back(uow_factory):
    """O5: a late record of an older position leaves the newer one."""
    app = bootstrap(
        uow_factory,
        RecordingMailer(),
        Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY),
        hasher=FAST_HASHER,
    )
    app.accounts.register(form())
    app.accounts.register(form(email="autre@exemple.fr"))
    with uow_factory() as tx:
        (first, _), (second, _) = tx.events.after(0, 10)
        tx.events.advance("h", second)
        tx.commit()
    with uow_factory() as tx:
        tx.events.advance("h", first)
        tx.commit()
    with uow_factory() as tx:
        assert tx.events.position("h") == second
