"""A bounded load test: 10,000 registrations and 2,000 resets across 8 threads.

Runs on loopback storage only (a SQLite file in WAL mode, and PostgreSQL
when configured). It checks that nothing but expected validation errors
occurs and that the invariants hold afterwards; it measures no time.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AuthService,
    MailKind,
    SQLiteStore,
    SystemSecrets,
    ValidationError,
)
from echoppe_accounts.testing import FrozenClock
from sample_forms import form

pytestmark = pytest.mark.slow  # a load test: `make check` runs it

REGISTRATIONS = 10_000
RESETS = 2_000
THREADS = 8
DUPLICATE_EVERY = 50  # one registration in fifty reuses an earlier email


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def load_store(request, tmp_path):
    """The storage under load: a SQLite file in WAL mode, or PostgreSQL."""
    if request.param == "sqlite":
        return SQLiteStore(tmp_path / "load.sqlite3")
    return request.getfixturevalue("postgres_store_factory")(max_size=THREADS + 2)


def _email(i: int) -> str:
    return f"client{i}@exemple.fr"


def test_registrations_and_resets_under_load(load_store, shop_settings):
    """Concurrent use cases lose nothing and break no invariant."""
    clock = FrozenClock()
    ports = (
        load_store.unit_of_work,
        clock,
        SystemSecrets(),
        FAST_HASHER,
        shop_settings,
    )
    accounts, auth = AccountService(*ports), AuthService(*ports)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def register(i: int) -> None:
        target = i - 1 if i % DUPLICATE_EVERY == 0 else i
        try:
            accounts.register(form(email=_email(target).upper()))
        except ValidationError as exc:
            kind = "taken" if exc.codes == {"email.taken"} else f"invalid {exc.codes}"
        else:
            kind = "registered"
        with lock:
            outcomes[kind] += 1

    def reset(i: int) -> None:
        auth.request_password_reset(_email(i * 5))
        with lock:
            outcomes["reset"] += 1

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(register, range(1, REGISTRATIONS + 1)))
        list(pool.map(reset, range(RESETS)))

    duplicates = REGISTRATIONS // DUPLICATE_EVERY
    assert outcomes == {
        "registered": REGISTRATIONS - duplicates,
        "taken": duplicates,
        "reset": RESETS,
    }
    with load_store.unit_of_work() as tx:
        assert tx.accounts.count() == REGISTRATIONS - duplicates
        mails = tx.outbox.due(clock.now(), 100_000)
    kinds = Counter(m.kind for m in mails)
    assert kinds[MailKind.WELCOME] == REGISTRATIONS - duplicates
    # Every reset request was answered by exactly one mail (R1), known or not.
    assert kinds[MailKind.RESET_CONFIRM] + kinds[MailKind.RESET_UNKNOWN_EMAIL] == RESETS
    assert len({m.id for m in mails}) == len(mails)
