"""PostgreSQL under faults: restarts, outages, timeouts, conflicts (SPEC O3).

Three kinds of tests, each saying what it needs:

- the translation of driver errors, built by hand: psycopg only;
- timeouts, lost sessions and concurrent edits on the test server
  (``ECHOPPE_TEST_POSTGRES_DSN``), in schemas of the run;
- restarts and outages of a throwaway cluster that the test creates, starts
  and stops itself (``pg_cluster.py``), never the machine's own server.

Without what they need they skip, saying why; under ``CI=true`` they fail.
No test measures time: a call that must not hang runs in a thread given a
generous 60 seconds, far beyond the few seconds of the store's timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

import pg_cluster
from conftest import FAST_HASHER, _postgres_unavailable
from echoppe_accounts import (
    AccountService,
    AddressForm,
    ConcurrencyError,
    DeliveryForm,
    StorageError,
    SystemSecrets,
    retry_on_conflict,
)
from echoppe_accounts.testing import FrozenClock
from sample_forms import LYON, PARIS, form

try:
    import psycopg
    from psycopg_pool import PoolClosed, PoolTimeout, TooManyRequests

    from echoppe_accounts.adapters.postgres import (
        PostgresStore,
        _connection_options,
        _translate,
    )
except ImportError:  # the postgres extra is optional; the fixtures say so
    psycopg = None

pytestmark = pytest.mark.postgres

HANG = 60
"""Seconds after which a call that should fail fast counts as hanging."""

CALLS = 30
"""Calls made after a restart or an outage, every one of which must succeed."""


def need_psycopg() -> None:
    """Skip (fail under CI) when psycopg is missing."""
    if psycopg is None:
        _postgres_unavailable("psycopg is missing: install the 'postgres' extra")


@pytest.fixture
def driver() -> None:
    """Psycopg, or a skip (a failure under CI) saying it is missing."""
    need_psycopg()


@pytest.fixture
def cluster() -> Iterator[pg_cluster.ThrowawayCluster]:
    """A PostgreSQL cluster of the test's own, deleted after it whatever happens."""
    need_psycopg()
    if (reason := pg_cluster.problem()) is not None:
        _postgres_unavailable(reason)
    bin_dir = pg_cluster.find_binaries()
    assert bin_dir is not None
    with pg_cluster.ThrowawayCluster(bin_dir) as made:
        yield made


def account_service(store: PostgresStore, settings) -> AccountService:
    """The account use cases on *store*."""
    return AccountService(
        uow=store.unit_of_work,
        clock=FrozenClock(),
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=settings,
    )


def within(seconds: float, call: Callable[[], Any]) -> Any:
    """Run *call* in a thread; fail the test if it has not ended in *seconds*.

    Return what it returned, or raise what it raised.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 (handed to the test's thread)
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"the call still hangs after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def failed_calls(calls: list[Callable[[], object]]) -> list[StorageError]:
    """Make every call, in order; return the storage errors they raised."""
    failures: list[StorageError] = []
    for call in calls:
        try:
            within(HANG, call)
        except StorageError as exc:
            failures.append(exc)
    return failures


def everyday_calls(service: AccountService, account_id: str) -> list[Callable]:
    """Return CALLS use-case calls: reads, address edits and registrations."""
    delivery_id = service.get(account_id).addresses.deliveries[0].id

    def call(n: int) -> Callable[[], object]:
        if n % 3 == 0:
            return lambda: service.get(account_id)
        if n % 3 == 1:
            contact = DeliveryForm(f"Contact {n}", LYON)
            return lambda: service.update_delivery_address(
                account_id, delivery_id, contact
            )
        return lambda: service.register(form(email=f"client{n}@exemple.fr"))

    return [call(n) for n in range(CALLS)]


# -- driver errors in words, built by hand --------------------------------------


@pytest.mark.usefixtures("driver")
@pytest.mark.parametrize(
    ("error", "words", "retryable"),
    [
        ("DiskFull", "the disk of the database server is full", False),
        ("TooManyConnections", "too many connections", True),
        ("SerializationFailure", "serialization failure", True),
        ("DeadlockDetected", "deadlock", True),
        ("LockNotAvailable", "a lock wait timed out", True),
        ("QueryCanceled", "statement timeout", True),
        ("AdminShutdown", "shutting down or restarting", True),
        ("CannotConnectNow", "refuses connections for now", True),
        ("ReadOnlySqlTransaction", "read-only", False),
        ("DataCorrupted", "corrupt data", False),
        ("InsufficientPrivilege", "permission denied", False),
        ("UndefinedTable", "a table is missing", False),
        ("InvalidPassword", "refused the role or its password", False),
        ("UniqueViolation", "must be unique", False),
        ("DivisionByZero", "refused a value", False),
    ],
)
def test_sqlstates_are_said_in_words(error, words, retryable):
    """O3: psycopg's error classes give their SQLSTATE's words and retry advice."""
    driver_error = getattr(psycopg.errors, error)("ERREUR: détail du serveur")
    translated = _translate(driver_error)
    assert words in str(translated)
    assert translated.retryable is retryable
    assert f"(PostgreSQL {driver_error.sqlstate} {error})" in str(translated)
    assert "détail" not in str(translated)


@pytest.mark.usefixtures("driver")
def test_errors_without_a_sqlstate_are_said_in_words():
    """O3: failures the driver reports without a SQLSTATE have words too."""
    refused = psycopg.OperationalError("connection refused")
    cases = [
        (_translate(refused, connecting=True), "cannot connect", True),
        (_translate(refused), "the connection to the database server was lost", True),
        (_translate(refused, committing=True), "may or may not have been saved", True),
        (_translate(PoolTimeout("after 5 s")), "no database connection within", True),
        (_translate(PoolClosed("closed")), "the store is closed", False),
        (_translate(TooManyRequests("queue")), "too many units of work", True),
        (_translate(psycopg.InterfaceError("x")), "the database driver refused", False),
    ]
    for translated, words, retryable in cases:
        assert words in str(translated)
        assert translated.retryable is retryable


@pytest.mark.usefixtures("driver")
def test_a_connection_lost_in_a_commit_says_the_change_may_be_saved():
    """O3: a class-08 error in a commit leaves the outcome unknown, and says so."""
    lost = psycopg.errors.ConnectionFailure("server closed the connection")
    assert "may or may not have been saved" in str(_translate(lost, committing=True))
    assert "was lost;" in str(_translate(lost))


@pytest.mark.usefixtures("driver")
def test_the_timeout_bounds_every_wait_on_the_network_unless_the_dsn_says_otherwise():
    """O3: connect, TCP and keepalive settings follow timeout; the DSN's own win."""
    options = _connection_options("postgresql://shop@db/shop", 5.0)
    assert options == {
        "connect_timeout": 5,
        "tcp_user_timeout": 5000,
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 1,
        "keepalives_count": 3,
    }
    # libpq's connect_timeout is whole seconds, and at least 2.
    assert _connection_options("dbname=shop", 0.5)["connect_timeout"] == 2
    assert _connection_options("dbname=shop", 2.5)["connect_timeout"] == 3
    given = _connection_options("dbname=shop connect_timeout=30 keepalives=0", 5.0)
    assert "connect_timeout" not in given
    assert "keepalives" not in given


# -- on the test server -------------------------------------------------------


def test_the_default_timeout_is_a_few_seconds(postgres_store_factory):
    """O3: a store waits at most 5 s for a connection unless told otherwise."""
    store = postgres_store_factory()
    assert store.timeout == store.pool.timeout == 5.0
    assert store.pool.kwargs["connect_timeout"] == 5
    quick = postgres_store_factory(timeout=1.5)
    assert quick.pool.timeout == 1.5
    assert quick.pool.reconnect_timeout == 1.5


@pytest.mark.usefixtures("driver")
def test_an_unreachable_server_fails_at_once_with_a_retryable_error():
    """O3: opening a store on a closed port says it cannot connect; retryable."""
    with pytest.raises(StorageError) as info:
        within(HANG, lambda: PostgresStore("postgresql://postgres@127.0.0.1:1/test"))
    assert str(info.value).startswith("cannot connect to the database server")
    assert info.value.retryable is True
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


def test_no_free_connection_within_the_timeout_is_retryable(postgres_store_factory):
    """O3: every connection in use past the timeout is a retryable StorageError."""
    store = postgres_store_factory(max_size=1, timeout=0.5)
    with store.unit_of_work() as holder:
        holder.accounts.count()
        with pytest.raises(StorageError) as info:
            within(HANG, lambda: store.unit_of_work().__enter__())
    assert "no database connection within the store's timeout" in str(info.value)
    assert info.value.retryable is True
    assert isinstance(info.value.__cause__, PoolTimeout)
    with store.unit_of_work() as tx:  # the connection is lent again
        assert tx.accounts.count() == 0


def test_a_closed_store_is_not_retryable(postgres_store_factory):
    """O3: a unit of work on a closed store is refused for good."""
    store = postgres_store_factory()
    store.close()
    with pytest.raises(StorageError) as info:
        store.unit_of_work().__enter__()
    assert str(info.value).startswith("the store is closed")
    assert info.value.retryable is False


def test_a_statement_timeout_ends_a_lock_wait_with_a_retryable_error(
    postgres_store_factory, shop_settings
):
    """O3: with statement_timeout, a save stuck behind a rival's lock is cancelled."""
    store = postgres_store_factory(statement_timeout=0.2)
    service = account_service(store, shop_settings)
    account = service.register(form())
    with store.unit_of_work() as holder:
        held = holder.accounts.get(account.id)
        held.name = "Titulaire du verrou"
        holder.accounts.save(held)  # the row stays locked until holder ends
        with pytest.raises(StorageError) as info:
            within(HANG, lambda: service.change_billing_address(account.id, LYON))
    assert "the statement was cancelled (the statement timeout" in str(info.value)
    assert info.value.retryable is True
    assert isinstance(info.value.__cause__, psycopg.errors.QueryCanceled)
    service.change_billing_address(account.id, LYON)  # the retry succeeds
    with store.pool.connection() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == {
            "statement_timeout": "200ms"
        }


def test_a_session_ended_by_the_server_is_retryable(postgres_dsn, postgres_uow_factory):
    """O3: a session the server terminates says so, and that a retry may succeed."""
    with pytest.raises(StorageError) as info, postgres_uow_factory() as tx:
        pid = tx._conn.info.backend_pid
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        tx.accounts.count()
    assert "shutting down or restarting" in str(info.value)
    assert info.value.retryable is True
    with postgres_uow_factory() as tx:  # the broken connection is not lent again
        assert tx.accounts.count() == 0


def test_a_taken_unique_key_never_quotes_the_stored_value(postgres_uow_factory):
    """O3: the message names the failure, never the email the server quotes."""
    with pytest.raises(StorageError) as info, postgres_uow_factory() as tx:
        tx._conn.execute("CREATE TEMP TABLE t (email text UNIQUE)")
        tx._conn.execute("INSERT INTO t VALUES ('jean.dupont@exemple.fr')")
        tx._conn.execute("INSERT INTO t VALUES ('jean.dupont@exemple.fr')")
    assert "jean.dupont" not in str(info.value)
    assert "must be unique" in str(info.value)
    assert info.value.retryable is False


def test_concurrent_address_edits_all_land_with_retry_on_conflict(
    postgres_uow_factory, shop_settings
):
    """O3: threads editing one account's addresses at once all land with the helper.

    Each thread edits its own delivery address of the same account; a save
    that finds the version changed raises ConcurrencyError and is redone.
    A conflict means another edit was committed in between, and each thread
    commits once, so THREADS attempts are always enough.
    """
    threads = 12
    service = AccountService(
        uow=postgres_uow_factory,
        clock=FrozenClock(),
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=shop_settings,
    )
    account = service.register(form())
    for n in range(1, threads):
        service.add_delivery_address(account.id, DeliveryForm(f"Avant {n}", PARIS))
    before = service.get(account.id)
    deliveries = before.addresses.deliveries
    assert len(deliveries) == threads
    elsewhere = AddressForm(["1 quai Nord"], "69001", "Lyon")
    conflicts: list[ConcurrencyError] = []
    barrier = threading.Barrier(threads)

    def edit(n: int) -> None:
        def once() -> None:
            try:
                service.update_delivery_address(
                    account.id,
                    deliveries[n].id,
                    DeliveryForm(f"Après {n}", elsewhere),
                )
            except ConcurrencyError as exc:
                conflicts.append(exc)
                raise

        barrier.wait()
        retry_on_conflict(once, attempts=threads, backoff=0.005)()

    with ExitStack() as stack:
        workers = [threading.Thread(target=edit, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
            stack.callback(worker.join, HANG)
    assert not any(worker.is_alive() for worker in workers)
    saved = service.get(account.id).addresses.deliveries
    assert [d.contact_name for d in saved] == [f"Après {n}" for n in range(threads)]
    assert service.get(account.id).version == before.version + threads


# -- a throwaway cluster, restarted and stopped -----------------------------------


def test_an_idle_restart_costs_no_failed_call(cluster, shop_settings):
    """O3: after a restart while the shop was idle, every call succeeds.

    The pool holds several connections when the server restarts, all closed
    by it; each is checked before use and replaced, none is lent broken.
    """
    with PostgresStore(cluster.dsn, max_size=6) as store:
        service = account_service(store, shop_settings)
        account = service.register(form())
        with ExitStack() as stack:  # four connections at once, then idle
            for _ in range(4):
                stack.enter_context(store.unit_of_work()).accounts.count()
        assert store.pool.get_stats()["pool_available"] >= 4
        cluster.restart()
        assert failed_calls(everyday_calls(service, account.id)) == []


def test_an_outage_fails_fast_then_the_return_costs_no_failed_call(
    cluster, shop_settings
):
    """O3: during an outage calls fail fast and retryable; back, none fails.

    While the server is down, each call gives up after the store's timeout
    (2 s here) with a retryable StorageError; once it is started again,
    every call succeeds, the first one included.
    """
    with PostgresStore(cluster.dsn, timeout=2) as store:
        service = account_service(store, shop_settings)
        account = service.register(form())
        cluster.stop()
        # Five calls: an outage long enough (10 s) for the pool's own
        # reconnection back-off (1, 2, 4, 8 s...) to outgrow the timeout.
        for _ in range(5):
            with pytest.raises(StorageError) as info:
                within(HANG, lambda: service.get(account.id))
            assert info.value.retryable is True
            assert "no database connection within the store's timeout" in str(
                info.value
            )
        cluster.start()
        assert failed_calls(everyday_calls(service, account.id)) == []
        assert service.get(account.id).addresses.deliveries[0].contact_name == (
            f"Contact {CALLS - 2}"
        )
