"""Shared fixtures and the Hypothesis profiles.

``dev`` (the default) keeps everyday runs quick; ``ci`` is selected when
``CI=true`` and explores more examples. Neither has a deadline: tests never
assert wall-clock times.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from echoppe_accounts import (
    AccountService,
    Argon2Hasher,
    AuthService,
    InMemoryStore,
    OutboxDispatcher,
    PrivacyService,
    Settings,
    SQLiteStore,
    SystemSecrets,
)
from echoppe_accounts.ports import UnitOfWorkFactory
from echoppe_accounts.testing import FrozenClock, RecordingMailer
from spies import SpyHasher

settings.register_profile(
    "dev", max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
settings.register_profile(
    "ci", max_examples=300, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

FAST_HASHER = Argon2Hasher(memory_cost=8, time_cost=1)
"""argon2id with tiny parameters: the same code path, a thousand times faster."""


@pytest.fixture
def clock() -> FrozenClock:
    """A clock that moves only when the test says so."""
    return FrozenClock()


@pytest.fixture
def mailer() -> RecordingMailer:
    """A mailer that records what it delivers."""
    return RecordingMailer()


@pytest.fixture
def shop_settings() -> Settings:
    """The shop's settings used across the tests."""
    return Settings(base_url="https://www.lechoppe.fr")


@pytest.fixture(params=["memory", "sqlite"])
def uow_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[UnitOfWorkFactory]:
    """A unit-of-work factory over each storage adapter."""
    if request.param == "memory":
        yield InMemoryStore().unit_of_work
    else:
        yield SQLiteStore(tmp_path / "accounts.sqlite3").unit_of_work


@pytest.fixture
def service(uow_factory, clock, shop_settings) -> AccountService:
    """The account use cases over each storage adapter."""
    return AccountService(
        uow=uow_factory,
        clock=clock,
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=shop_settings,
    )


@pytest.fixture
def dispatcher(uow_factory, mailer, clock, shop_settings) -> OutboxDispatcher:
    """The outbox dispatcher delivering to the recording mailer."""
    return OutboxDispatcher(uow_factory, mailer, clock, shop_settings.sender)


@pytest.fixture
def auth(uow_factory, clock, shop_settings):
    """The authentication use cases over each storage adapter, with a spy hasher."""
    return AuthService(
        uow=uow_factory,
        clock=clock,
        secrets=SystemSecrets(),
        hasher=SpyHasher(FAST_HASHER),
        settings=shop_settings,
    )


@pytest.fixture
def privacy(uow_factory, clock, shop_settings):
    """The personal-data use cases over each storage adapter."""
    return PrivacyService(
        uow=uow_factory,
        clock=clock,
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=shop_settings,
    )
