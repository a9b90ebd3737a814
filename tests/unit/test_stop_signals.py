"""The worker's stop signal handler takes no lock (SPEC O4).

Python runs a signal handler in the main thread between two instructions.
The idle worker waits in ``Event.wait``, which holds the event's own lock
for a few instructions on its way in and out: a handler that called
``Event.set`` itself would then wait for that lock for ever, and the worker
would not stop (a SIGINT right after a round's log line hit that window).
"""

from __future__ import annotations

import signal
import threading

from echoppe_accounts.entrypoints import _signals

DEADLINE = 10.0
"""Seconds a stuck handler is given before the test calls it stuck (no timing)."""


def _in_a_thread(body) -> bool:
    """Run *body* in a thread of its own; tell whether it ended by the deadline.

    A handler stuck on a lock its own thread holds never returns: the
    thread is left behind (a daemon) rather than hanging the test run.
    """
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(body()), daemon=True)
    thread.start()
    thread.join(DEADLINE)
    return bool(outcome) and outcome[0]


def test_a_signal_landing_while_the_stop_event_is_busy_still_stops(monkeypatch):
    """The handler returns at once; the event is set once its lock is free.

    The event is the test's own: were the handler to get stuck on its lock,
    the module's event would stay locked for the rest of the run.
    """
    stop = threading.Event()
    monkeypatch.setattr(_signals, "_stop", stop)
    monkeypatch.setattr(_signals, "_received", [])
    _signals.start_relay()

    def signal_inside_wait() -> bool:
        # What Event.wait holds on its way in and out (CPython's
        # threading.Event keeps it as _cond), with the handler run there.
        with stop._cond:
            _signals._handler(signal.SIGTERM, None)
        return stop.wait(DEADLINE)

    assert _in_a_thread(signal_inside_wait)
    assert _signals.received() == signal.strsignal(signal.SIGTERM)


def test_a_real_signal_stops_a_wait_in_the_main_thread():
    """SIGINT to this process ends a wait on the event, with nothing else set."""
    with _signals.stopping() as stop:
        assert not stop.is_set()
        signal.raise_signal(signal.SIGINT)
        assert stop.wait(DEADLINE)
        assert _signals.received() == signal.strsignal(signal.SIGINT)
    assert not stop.is_set()  # the handlers and the event are given back
