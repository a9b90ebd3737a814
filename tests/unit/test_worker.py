"""The outbox worker's loop, driven without signals or clocks (SPEC O4).

The worker takes its dispatch round and its wait as plain callables, so
these tests script the rounds and record the waits instead of sleeping.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from conftest import FAST_HASHER
from echoppe_accounts import InMemoryStore, Settings, StorageError, bootstrap
from echoppe_accounts.service_layer.outbox import DispatchReport
from echoppe_accounts.service_layer.worker import OutboxWorker
from echoppe_accounts.testing import FrozenClock, RecordingMailer
from sample_forms import form

EMPTY = DispatchReport(sent=0, failed=0)


class Script:
    """Plays the given round results in order, then empty rounds."""

    def __init__(self, *results):
        self.results = list(results)
        self.limits: list[int] = []

    def __call__(self, limit):
        self.limits.append(limit)
        result = self.results.pop(0) if self.results else EMPTY
        if isinstance(result, Exception):
            raise result
        return result


def waits_until(worker: OutboxWorker, count: int) -> list[float]:
    """Record the worker's waits; stop it at the *count*-th."""
    waits: list[float] = []

    def wait(seconds):
        waits.append(seconds)
        if len(waits) == count:
            worker.stop.set()

    worker.wait = wait
    return waits


def test_idle_waits_double_up_to_the_maximum():
    """Empty rounds wait 1 s, then twice as long each time, up to 30 s (O4)."""
    worker = OutboxWorker(Script())
    waits = waits_until(worker, 8)
    worker.run()
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    assert worker.rounds == 8


def test_a_sent_mail_resets_the_wait():
    """A round that sends something brings the wait back to the minimum (O4)."""
    worker = OutboxWorker(Script(EMPTY, EMPTY, DispatchReport(sent=1, failed=0)))
    waits = waits_until(worker, 5)
    worker.run()
    assert waits == [1, 2, 1, 1, 2]


def test_a_full_batch_is_followed_at_once():
    """While rounds fill their batch, the next one follows without a wait (O4)."""
    full = DispatchReport(sent=3, failed=1, dead=1)
    script = Script(full, full, full)
    worker = OutboxWorker(script, batch_size=5)
    waits = waits_until(worker, 1)
    total = worker.run()
    assert waits == [1]
    assert worker.rounds == 4
    assert script.limits == [5, 5, 5, 5]
    assert total == DispatchReport(sent=9, failed=3, dead=3, dropped=0)


def test_a_stop_during_a_round_ends_the_loop_after_it():
    """A stop asked while a round runs lets the round finish, then no wait (O4)."""
    worker = OutboxWorker(Script())

    def dispatch(limit):
        worker.stop.set()  # as the SIGTERM handler would, mid-round
        return DispatchReport(sent=limit, failed=0)

    worker.dispatch = dispatch
    waits = waits_until(worker, 99)
    assert worker.run() == DispatchReport(sent=10, failed=0)
    assert waits == []
    assert worker.rounds == 1


def test_a_retryable_storage_failure_is_waited_out():
    """A database that may come back costs a warning and a wait, not the worker (O3)."""
    down = StorageError("the database server cannot be reached", retryable=True)
    worker = OutboxWorker(Script(down, down, DispatchReport(sent=1, failed=0)))
    waits = waits_until(worker, 3)
    assert worker.run().sent == 1
    assert waits == [1, 2, 1]


def test_a_lasting_storage_failure_ends_the_loop():
    """A storage failure that will not go away propagates (O3)."""
    broken = StorageError("the database file is corrupt", retryable=False)
    worker = OutboxWorker(Script(broken))
    with pytest.raises(StorageError, match="corrupt"):
        worker.run()


def test_one_log_record_per_round(caplog):
    """Each round logs one DEBUG line (echoppe_accounts.worker), counts only (O4)."""
    worker = OutboxWorker(Script(DispatchReport(sent=2, failed=1, dropped=1)))
    waits_until(worker, 2)
    with caplog.at_level(logging.DEBUG, logger="echoppe_accounts.worker"):
        worker.run()
    rounds = [r.getMessage() for r in caplog.records if "round" in r.getMessage()]
    assert rounds == [
        "round 1: 2 sent, 1 failed, 0 dead-lettered, 1 dropped; next round in 1 s",
        "round 2: 0 sent, 0 failed, 0 dead-lettered, 0 dropped; next round in 1 s",
        "stopped after 2 rounds: 2 sent, 1 failed, 0 dead-lettered, 1 dropped",
    ]


def test_run_once_runs_one_round():
    """``run_once`` runs exactly one round and returns its report."""
    worker = OutboxWorker(Script(DispatchReport(sent=1, failed=0)))
    assert worker.run_once() == DispatchReport(sent=1, failed=0)
    assert worker.rounds == 1


def test_the_settings_must_be_positive():
    """A batch of no mail or a wait of no time is refused."""
    with pytest.raises(ValueError, match="batch_size"):
        OutboxWorker(Script(), batch_size=0)
    with pytest.raises(ValueError, match="max_idle"):
        OutboxWorker(Script(), max_idle=0)


def test_the_worker_delivers_a_real_outbox_in_small_batches():
    """Over the library, the worker sends every queued mail, once (O1, O4)."""
    mailer = RecordingMailer()
    app = bootstrap(
        InMemoryStore().unit_of_work,
        mailer,
        Settings(base_url="https://www.lechoppe.fr", outbox_key=bytes(32)),
        clock=FrozenClock(),
        hasher=FAST_HASHER,
    )
    for i in range(25):
        app.accounts.register(form(email=f"client{i}@exemple.fr"))
    worker = OutboxWorker(app.dispatcher.dispatch, batch_size=10)
    waits = waits_until(worker, 1)
    assert worker.run().sent == 25
    assert waits == [1]  # 10, 10, then 5: a batch not full, so a wait
    assert len({m.id for m in mailer.sent}) == len(mailer.sent) == 25


class Ticks:
    """A monotonic clock that moves only when told."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_housekeeping_runs_at_start_then_once_per_interval():
    """X5: the worker purges unverified sign-ups at start, then once an hour."""
    calls = []
    ticks = Ticks()
    worker = OutboxWorker(
        Script(), housekeeping=lambda: calls.append(ticks.now), clock=ticks
    )
    for at in (0.0, 10.0, 3599.0, 3600.0, 3700.0, 7200.0):
        ticks.now = at
        worker.run_once()
    assert calls == [0.0, 3600.0, 7200.0]


def test_a_failing_housekeeping_is_logged_and_the_round_goes_on(caplog):
    """O4: a bug in housekeeping never stops the mails."""

    def broken():
        raise RuntimeError("boom")

    worker = OutboxWorker(Script(DispatchReport(sent=1, failed=0)), housekeeping=broken)
    with caplog.at_level(logging.WARNING, logger="echoppe_accounts"):
        report = worker.run_once()
    assert report.sent == 1
    assert "housekeeping failed (RuntimeError)" in caplog.text


def test_housekeeping_on_a_storage_outage_fails_the_round_and_is_tried_again():
    """O3: the outage fails the round; the next round runs housekeeping again."""
    calls = []
    down = StorageError("the database server cannot be reached", retryable=True)

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise down

    worker = OutboxWorker(Script(), housekeeping=flaky)
    with pytest.raises(StorageError):
        worker.run_once()
    worker.run_once()
    assert len(calls) == 2


def test_the_worker_removes_unverified_signups_past_24_hours():
    """X5: wired as in the command, the worker's housekeeping frees the email."""
    clock = FrozenClock()
    app = bootstrap(
        InMemoryStore().unit_of_work,
        RecordingMailer(),
        Settings(base_url="https://www.exemple.fr", verified_signup=True),
        clock=clock,
        hasher=FAST_HASHER,
    )
    account = app.accounts.register(form())
    clock.advance(timedelta(hours=25))
    worker = OutboxWorker(
        app.dispatcher.dispatch, housekeeping=app.accounts.purge_unverified
    )
    worker.run_once()
    with app.accounts.uow() as uow:
        assert uow.accounts.get(account.id) is None
