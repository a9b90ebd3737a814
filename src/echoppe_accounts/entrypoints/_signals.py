"""The worker's stop signal, installed before anything else (SPEC O4 amended).

``echoppe-accounts worker`` must stop cleanly on ``SIGTERM`` or ``SIGINT``
at any moment, start-up included (exit 0): the handlers are installed by
the console script before it imports the rest of the library (see
:mod:`echoppe_accounts.entrypoints._start`), and they only see that an
event every wait of the worker watches gets set. A signal handler does
nothing else: the worker says what it received when it next looks.

The handler never sets the event itself. Python runs it in the main
thread between two instructions, and the main thread spends its idle time
in ``Event.wait``, which holds the event's own lock for a few instructions
on its way in and out: a handler calling ``Event.set`` there would wait
for that lock for ever, and the worker would never stop. The handler puts
the signal in a :class:`queue.SimpleQueue` (made to be called at any
moment, re-entrantly) and a thread of its own sets the event.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_stop = threading.Event()
_received: list[int] = []
_previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}
_signalled: queue.SimpleQueue[int] = queue.SimpleQueue()
_relay: list[threading.Thread] = []


def _handler(signum: int, _: FrameType | None) -> None:
    # No lock is taken here: see the module's documentation.
    _received.append(signum)
    _signalled.put(signum)


def _set_on_signal() -> None:
    """Set the stop event for each signal the handler passes on (a thread's loop)."""
    while True:
        _signalled.get()
        _stop.set()


def start_relay() -> None:
    """Start the thread that sets the stop event for the handler; idempotent."""
    if not _relay:
        relay = threading.Thread(
            target=_set_on_signal, name="echoppe-signals", daemon=True
        )
        relay.start()
        _relay.append(relay)


def install() -> threading.Event:
    """Make SIGTERM and SIGINT set the returned event; idempotent."""
    start_relay()
    if not _previous:
        for sig in _SIGNALS:
            _previous[sig] = signal.signal(sig, _handler)
    return _stop


def received() -> str | None:
    """Return the name of the first signal received, if any (``Terminated``)."""
    return signal.strsignal(_received[0]) if _received else None


@contextlib.contextmanager
def stopping() -> Iterator[threading.Event]:
    """Yield the stop event, with the handlers installed while in the block.

    Handlers that the console script installed early stay (the process
    ends with the block); others are removed and the event cleared, so
    that a program calling the command line's ``main()`` twice gets its
    own handlers back.
    """
    early = bool(_previous)
    stop = install()
    try:
        yield stop
    finally:
        if not early:
            for sig, old in _previous.items():
                signal.signal(sig, old)
            _previous.clear()
            _received.clear()
            stop.clear()
