"""The worker's start-up waits: capped backoff, a warning a minute (SPEC O4 amended)."""

from __future__ import annotations

import logging
import threading

import pytest

from echoppe_accounts import DeliveryError, StorageError
from echoppe_accounts.entrypoints._startup import wait_for


class FakeTime:
    """A clock that the stop event's waits move forward."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def wait(self, seconds: float) -> bool:
        """Record the wait and move the clock."""
        self.waits.append(seconds)
        self.now += seconds
        return False


def _stop(fake: FakeTime) -> threading.Event:
    stop = threading.Event()
    stop.wait = fake.wait  # type: ignore[method-assign]
    return stop


def test_a_ten_minute_outage_costs_one_warning_a_minute(caplog):
    """O4: attempts back off to 30 s; a warning a minute, then one saying it is back."""
    fake = FakeTime()
    outage_ends = 600.0

    def attempt() -> str:
        if fake.now < outage_ends:
            msg = "cannot connect to the database server"
            raise StorageError(msg, retryable=True)
        return "connected"

    with caplog.at_level(logging.DEBUG, logger="echoppe_accounts.worker"):
        got = wait_for("the database", attempt, _stop(fake), clock=lambda: fake.now)
    assert got == "connected"
    assert max(fake.waits) == 30
    assert fake.waits[:3] == [0.5, 1, 2]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 10 <= len(warnings) <= 12  # about one a minute over ten minutes
    assert all("the database" in r.getMessage() for r in warnings)
    assert "is back" in warnings[-1].getMessage()


def test_a_stop_during_the_wait_returns_none_at_once():
    """O4: a signal while waiting ends the wait: nothing more is tried."""
    stop = threading.Event()
    tries = []

    def attempt() -> None:
        tries.append(1)
        stop.set()
        raise DeliveryError("refused", connection=True)

    assert wait_for("the mail server", attempt, stop) is None
    assert len(tries) == 1


def test_a_failure_waiting_cannot_fix_is_raised():
    """O4: a lasting storage error (a wrong password) ends the start at once."""

    def attempt() -> None:
        msg = "password authentication failed"
        raise StorageError(msg, retryable=False)

    with pytest.raises(StorageError, match="password"):
        wait_for("the database", attempt, threading.Event())
