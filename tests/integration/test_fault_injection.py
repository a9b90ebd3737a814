"""An exception in the middle of any use case leaves storage exactly as before.

Each use case is run again and again with a fault injected at its first,
second, third… storage call, until it runs through; after every injected
fault the whole store must be identical to what it was before the call.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any, Self

import attrs
import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AuthenticationError,
    AuthService,
    CompletionForm,
    ConsentSource,
    DeliveryForm,
    InMemoryStore,
    MailKind,
    OrganisationForm,
    PrivacyService,
    SQLiteStore,
    SystemSecrets,
)
from sample_forms import LYON, express, form, links, pending


class InjectedFaultError(Exception):
    """The fault the test injects."""


class _Countdown:
    def __init__(self, fail_at: int) -> None:
        self.fail_at, self.calls = fail_at, 0

    def tick(self) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise InjectedFaultError


class _Repository:
    def __init__(self, inner: Any, countdown: _Countdown) -> None:
        self._inner, self._countdown = inner, countdown

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._countdown.tick()
            return method(*args, **kwargs)

        return call


class _FaultyUnitOfWork:
    def __init__(self, inner: Any, countdown: _Countdown) -> None:
        self._inner, self._countdown = inner, countdown

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)

    def commit(self) -> None:
        self._countdown.tick()
        self._inner.commit()

    def __getattr__(self, name: str) -> Any:
        return _Repository(getattr(self._inner, name), self._countdown)


def snapshot(store: Any) -> Any:
    """Every stored value, comparable by value."""
    if isinstance(store, SQLiteStore):
        with closing(sqlite3.connect(store.path)) as db:
            return "\n".join(db.iterdump())
    if type(store).__name__ == "PostgresStore":  # psycopg is an optional extra
        with store.pool.connection() as db:
            names = [
                row["table_name"]
                for row in db.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s ORDER BY table_name",
                    (store.schema,),
                ).fetchall()
            ]
            return {
                name: sorted(
                    repr(sorted(row.items()))
                    for row in db.execute(f'SELECT * FROM "{name}"').fetchall()  # noqa: S608
                )
                for name in names
            }
    tables = ("accounts", "tokens", "outbox", "resets", "throttles", "audit")
    values = {}
    for table in tables:
        data = getattr(store, table)
        items = data.values() if isinstance(data, dict) else data
        values[table] = sorted(repr(attrs.asdict(item)) for item in items)
    return values


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store(request, tmp_path):
    """Each storage adapter, empty."""
    if request.param == "memory":
        return InMemoryStore()
    if request.param == "sqlite":
        return SQLiteStore(tmp_path / "faults.sqlite3")
    request.getfixturevalue("postgres_uow_factory")  # empties the shared store
    return request.getfixturevalue("postgres_store")


def services(store, clock, shop_settings, countdown=None):
    """The three groups of use cases over *store*, faulty if *countdown* is given."""

    def factory(*, durable=True):
        uow = store.unit_of_work(durable=durable)
        return uow if countdown is None else _FaultyUnitOfWork(uow, countdown)

    ports = (factory, clock, SystemSecrets(), FAST_HASHER, shop_settings)
    return AccountService(*ports), AuthService(*ports), PrivacyService(*ports)


def _prepare(accounts, auth):
    """A store with a full account, an express one and a confirmed reset."""
    full = accounts.register(form())
    accounts.register_express(express("express@exemple.fr"))
    set_password = links(
        next(m for m in pending(accounts) if m.kind is MailKind.SET_PASSWORD)
    )["definir"]
    auth.request_password_reset("jean.dupont@exemple.fr")
    confirm = links(
        next(m for m in pending(accounts) if m.kind is MailKind.RESET_CONFIRM)
    )["confirmer"]
    return full.id, set_password, confirm


@attrs.frozen
class Run:
    """What a use case is run with."""

    accounts: AccountService
    auth: AuthService
    privacy: PrivacyService
    account_id: str
    set_password: str
    confirm: str


USE_CASES: dict[str, Callable[[Run], object]] = {
    "register": lambda s: s.accounts.register(form(email="new@exemple.fr")),
    "express (new)": lambda s: s.accounts.register_express(express("n@exemple.fr")),
    "express (known)": lambda s: s.accounts.register_express(express()),
    "complete express": lambda s: s.accounts.complete_express(
        s.set_password,
        CompletionForm(password="une phrase de passe solide", phone="0612345678"),
    ),
    "add delivery": lambda s: s.accounts.add_delivery_address(
        s.account_id, DeliveryForm("Pierre", LYON)
    ),
    "change category": lambda s: s.accounts.change_category(
        s.account_id, "entreprise", OrganisationForm("Exemple SA", "73282932000074")
    ),
    "change email": lambda s: s.accounts.change_email(
        s.account_id, "autre@exemple.fr", "une phrase de passe solide"
    ),
    "subscribe": lambda s: s.accounts.subscribe_newsletter(
        s.account_id, source=ConsentSource.ACCOUNT_PAGE, wording_version="v1"
    ),
    "reset request": lambda s: s.auth.request_password_reset("x@exemple.fr"),
    "reset confirm": lambda s: s.auth.confirm_password_reset(s.confirm),
    "login": lambda s: s.auth.login("jean.dupont@exemple.fr", "faux mot"),
    "provisional": lambda s: s.auth.issue_provisional_password(
        s.account_id, agent_id="a", reason="r"
    ),
    "change password": lambda s: s.auth.change_password(
        s.account_id, "une phrase de passe solide", "un tout autre secret"
    ),
    "export": lambda s: s.privacy.export_personal_data(s.account_id),
    "erase": lambda s: s.privacy.erase_account(s.account_id),
    "double opt-in": lambda s: s.privacy.request_newsletter_subscription(
        s.account_id, source=ConsentSource.ACCOUNT_PAGE, wording_version="v2"
    ),
}


@pytest.mark.parametrize("use_case", sorted(USE_CASES))
def test_a_fault_anywhere_changes_nothing(store, clock, shop_settings, use_case):
    """Whatever storage call fails, the store is exactly as before (issue 5)."""
    accounts, auth, _ = services(store, clock, shop_settings)
    account_id, set_password, confirm = _prepare(accounts, auth)
    run = USE_CASES[use_case]
    for fail_at in range(1, 200):
        before = snapshot(store)
        countdown = _Countdown(fail_at)
        faulty = services(store, clock, shop_settings, countdown)
        try:
            run(Run(*faulty, account_id, set_password, confirm))
        except InjectedFaultError:
            assert snapshot(store) == before, f"changed after a fault at call {fail_at}"
            continue
        except AuthenticationError:
            pass  # the login use case is expected to refuse
        assert countdown.calls < fail_at  # it ran through: every call was tried
        return
    pytest.fail("the use case never ran through")
