"""The worker's logs: a summary a minute, a warning per failed round (SPEC O4 amended).

Per-round detail is at DEBUG; INFO gets a line a minute (sent, failed,
dead-lettered, dropped, pending); a failed round costs one warning, whatever
the PostgreSQL driver's pool says meanwhile; addresses are masked.
"""

from __future__ import annotations

import logging

import pytest

from echoppe_accounts import OutboxWorker, Settings, StorageError, bootstrap
from echoppe_accounts.adapters.postgres import PostgresStore
from echoppe_accounts.service_layer.outbox import DispatchReport
from echoppe_accounts.testing import RecordingMailer
from tcp_proxy import Proxy, free_port


class Rounds:
    """Plays round results in order, moving a fake clock 20 s per round."""

    def __init__(self, *results) -> None:
        self.results = list(results)
        self.now = 0.0

    def clock(self) -> float:
        """The fake monotonic clock."""
        return self.now

    def __call__(self, limit: int) -> DispatchReport:
        """One round."""
        del limit
        self.now += 20
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


def _worker(rounds: Rounds, count: int, **options) -> OutboxWorker:
    worker = OutboxWorker(rounds, clock=rounds.clock, **options)
    waits = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == count:
            worker.stop.set()

    worker.wait = wait
    return worker


def test_info_gets_a_summary_a_minute_not_a_line_per_round(caplog):
    """O4: six rounds in two minutes: two summaries at INFO, rounds at DEBUG."""
    sent = DispatchReport(sent=3, failed=1, dead=1)
    rounds = Rounds(*[sent] * 6)
    worker = _worker(rounds, 6, pending=lambda: 7)
    with caplog.at_level(logging.DEBUG, logger="echoppe_accounts.worker"):
        worker.run()
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert info == [
        "last 60 s: 9 sent, 3 failed, 3 dead-lettered, 0 dropped, 7 pending",
        "last 60 s: 9 sent, 3 failed, 3 dead-lettered, 0 dropped, 7 pending",
        "stopped after 6 rounds: 18 sent, 6 failed, 6 dead-lettered, 0 dropped",
    ]
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == 6  # one per round


def test_a_failed_round_is_one_warning_with_addresses_masked(caplog):
    """O4: one warning per failed round; an address in the error is masked."""
    failure = StorageError(
        "duplicate key (email)=(jean.dupont@exemple.fr)", retryable=True
    )
    rounds = Rounds(failure, failure, DispatchReport(sent=1, failed=0))
    worker = _worker(rounds, 3)
    with caplog.at_level(logging.DEBUG):
        worker.run()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2
    assert all("j***@***.fr" in w for w in warnings)
    assert "jean.dupont" not in caplog.text
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert "2 rounds failed" in info[0]


@pytest.mark.postgres
def test_a_postgresql_outage_costs_one_warning_per_round(
    postgres_dsn, postgres_store_factory, caplog
):
    """O3, O4: two failed rounds during an outage: two warnings, not the pool's 30."""
    port = free_port()
    proxy = Proxy(port, ("127.0.0.1", 5432))
    proxy.open()
    dsn = postgres_dsn.replace("@127.0.0.1:5432/", f"@127.0.0.1:{port}/")
    assert dsn != postgres_dsn
    schema = postgres_store_factory().schema  # made, and dropped at the end
    store = PostgresStore(dsn, schema=schema, timeout=2, min_size=2)
    try:
        app = bootstrap(
            store.unit_of_work,
            RecordingMailer(),
            Settings(base_url="https://www.lechoppe.fr", outbox_key=bytes(32)),
        )
        proxy.close()  # the outage: connections drop, reconnections refused
        worker = OutboxWorker(
            app.dispatcher.dispatch, min_idle=0.5, max_idle=0.5, events=None
        )
        failed: list[float] = []

        def wait(seconds: float) -> None:
            failed.append(seconds)
            if len(failed) == 2:
                worker.stop.set()
            worker.stop.wait(seconds)

        worker.wait = wait
        with caplog.at_level(logging.INFO):
            worker.run()
    finally:
        store.close()
        proxy.close()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["echoppe_accounts.worker"] * 2, [
        (r.name, r.getMessage()) for r in warnings
    ]
