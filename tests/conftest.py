"""Shared fixtures and the Hypothesis profiles.

``dev`` (the default) keeps everyday runs quick; ``ci`` is selected when
``CI=true`` and explores more examples. Neither has a deadline: tests never
assert wall-clock times.

The PostgreSQL tests (marker ``postgres``) use the server named by
``ECHOPPE_TEST_POSTGRES_DSN``, each run in schemas of its own, dropped at the
end. Without that variable, psycopg or the server they skip, saying why;
with ``CI=true`` they fail instead, so that CI cannot pass without them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

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
from mariadb_server import ThrowawayMariaDB
from mariadb_server import problem as mariadb_problem
from spies import SpyHasher

try:
    import psycopg
    from psycopg import sql

    from echoppe_accounts.adapters.postgres import PostgresStore
except ImportError:  # the postgres extra is optional; postgres_dsn says what is missing
    psycopg = None

collect_ignore = ["django_project.py", "django_urls.py", "django_urls_without_app.py"]
"""The Django test project's modules, which pytest would import for doctests.

They need Django's settings configured, which the Django tests do first.
"""

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


@pytest.fixture(autouse=True)
def _config_home(tmp_path_factory, monkeypatch) -> None:
    """Keep outbox key files in a folder of the test's own, never in ~/.config (O2)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


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
    return Settings(base_url="https://www.lechoppe.fr", shop_name="L'Échoppe")


POSTGRES_DSN_VARIABLE = "ECHOPPE_TEST_POSTGRES_DSN"
POSTGRES_ONLY_MODULES = ("*/echoppe_accounts/adapters/postgres.py",)
"""Code only the PostgreSQL tests can reach: measured only when they run."""
MARIADB_ONLY_MODULES = ["*/echoppe_accounts/adapters/prestashop.py"]
"""Code only the MariaDB tests (the PrestaShop import) reach: likewise."""


def _postgres_problem() -> str | None:
    """Say why the PostgreSQL tests cannot run here, or ``None`` if they can."""
    dsn = os.environ.get(POSTGRES_DSN_VARIABLE)
    if not dsn:
        return (
            f"{POSTGRES_DSN_VARIABLE} is not set "
            "(e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    if psycopg is None:
        return "psycopg is missing: install the 'postgres' extra"
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.Error as exc:
        return f"cannot connect to {POSTGRES_DSN_VARIABLE}: {exc}"
    return None


_POSTGRES_PROBLEM: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Probe the PostgreSQL server once; without it, leave its adapter unmeasured.

    Outside CI the PostgreSQL tests skip when no server answers; the
    coverage floor then holds on the code that could run, so the adapter
    only those tests reach is left out of the report. Under ``CI=true``
    nothing is left out: the tests fail instead of skipping.
    """
    global _POSTGRES_PROBLEM  # noqa: PLW0603 (probed once per run)
    _POSTGRES_PROBLEM = _postgres_problem()
    if os.environ.get("CI") == "true":
        return
    unmeasured = [] if _POSTGRES_PROBLEM is None else list(POSTGRES_ONLY_MODULES)
    if mariadb_problem() is not None:
        # Likewise the PrestaShop source, which only a MariaDB server reaches.
        unmeasured += MARIADB_ONLY_MODULES
    coverage_plugin = config.pluginmanager.getplugin("_cov")
    controller = getattr(coverage_plugin, "cov_controller", None)
    if unmeasured and controller is not None and controller.cov is not None:
        omitted = list(controller.cov.get_option("report:omit") or [])
        controller.cov.set_option("report:omit", omitted + unmeasured)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark ``postgres`` every test that reaches the PostgreSQL test server.

    ``make test`` runs the other tests on every core (pytest-xdist), then
    these one after the other: the test database is shared, and some of
    what PostgreSQL does is database-wide (events are delivered once every
    older transaction of the database has ended, so that none is skipped),
    so a test on another core would delay what a test here expects.
    """
    if "postgres_dsn" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.postgres)


def _postgres_unavailable(reason: str) -> NoReturn:
    """Skip the PostgreSQL tests for *reason*, or fail them when ``CI=true``."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The DSN of the test server, checked reachable once per run."""
    if _POSTGRES_PROBLEM is not None:
        _postgres_unavailable(_POSTGRES_PROBLEM)
    return os.environ[POSTGRES_DSN_VARIABLE]


@pytest.fixture(scope="session")
def postgres_store_factory(postgres_dsn) -> Iterator[Callable[..., PostgresStore]]:
    """Open PostgreSQL stores, each in a new schema unless one is named.

    Every schema is dropped, and every store closed, at the end of the run.
    """
    stores: list[PostgresStore] = []
    schemas: set[str] = set()

    def open_store(schema: str | None = None, **options) -> PostgresStore:
        schema = schema or f"echoppe_test_{secrets.token_hex(6)}"
        schemas.add(schema)
        store = PostgresStore(postgres_dsn, schema=schema, **options)
        stores.append(store)
        return store

    yield open_store
    for store in stores:
        store.close()
    with psycopg.connect(postgres_dsn, autocommit=True) as db:
        for schema in schemas:
            db.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema)
                )
            )


@pytest.fixture(scope="session")
def postgres_store(postgres_store_factory) -> PostgresStore:
    """The run's shared PostgreSQL store, with room for twenty threads at once."""
    return postgres_store_factory(max_size=24)


@pytest.fixture
def postgres_uow_factory(postgres_store) -> UnitOfWorkFactory:
    """The shared PostgreSQL store, emptied for this test."""
    with postgres_store.pool.connection() as db:
        tables = db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
            "AND tablename <> 'schema_migrations'",
            (postgres_store.schema,),
        ).fetchall()
        db.execute(
            sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(
                    sql.Identifier(postgres_store.schema, t["tablename"])
                    for t in tables
                )
            )
        )
    return postgres_store.unit_of_work


ADAPTERS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""The storage adapters, for tests whose subject is the adapters themselves."""


@pytest.fixture
def uow_factory() -> UnitOfWorkFactory:
    """The in-memory store the use cases are tested on.

    The storage contract suite (``test_storage_contract.py``) proves the
    memory, SQLite and PostgreSQL adapters alike, so a use case's rules are
    tested once, here, not again through every adapter. A module whose
    subject is the adapters (the outbox under several dispatchers, events
    after commit, faults) overrides this fixture with
    :func:`each_adapter_uow_factory`.
    """
    return InMemoryStore().unit_of_work


@pytest.fixture(params=ADAPTERS)
def each_adapter_uow_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[UnitOfWorkFactory]:
    """A unit-of-work factory over each storage adapter."""
    if request.param == "memory":
        yield InMemoryStore().unit_of_work
    elif request.param == "postgres":
        yield request.getfixturevalue("postgres_uow_factory")
    else:
        yield SQLiteStore(tmp_path / "accounts.sqlite3").unit_of_work


@pytest.fixture
def service(uow_factory, clock, shop_settings) -> AccountService:
    """The account use cases over the test's store."""
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
    """The authentication use cases over the test's store, with a spy hasher."""
    return AuthService(
        uow=uow_factory,
        clock=clock,
        secrets=SystemSecrets(),
        hasher=SpyHasher(FAST_HASHER),
        settings=shop_settings,
    )


@pytest.fixture
def privacy(uow_factory, clock, shop_settings):
    """The personal-data use cases over the test's store."""
    return PrivacyService(
        uow=uow_factory,
        clock=clock,
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=shop_settings,
    )


@pytest.fixture(scope="session")
def mariadb() -> Iterator[ThrowawayMariaDB]:
    """A MariaDB server of the tests' own, for the PrestaShop import (SPEC M1).

    Started once per test process on a free loopback port, in a temporary
    folder (never the machine's server). Without Debian's mariadb-server
    or PyMySQL the tests using it skip, saying why; under ``CI=true`` they
    fail instead (``.ci/run`` installs the server when it is missing).
    """
    reason = mariadb_problem()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{reason} (CI=true: the MariaDB tests must run)", pytrace=False
            )
        pytest.skip(reason)
    with ThrowawayMariaDB() as server:
        yield server
