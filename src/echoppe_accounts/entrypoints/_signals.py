"""The worker's stop signal, installed before anything else (SPEC O4 amended).

``echoppe-accounts worker`` must stop cleanly on ``SIGTERM`` or ``SIGINT``
at any moment, start-up included (exit 0): the handlers are installed by
the console script before it imports the rest of the library (see
:mod:`echoppe_accounts.entrypoints._start`), and they only set an event
that every wait of the worker watches. A signal handler does nothing else:
the worker says what it received when it next looks.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_stop = threading.Event()
_received: list[int] = []
_previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}


def _handler(signum: int, _: FrameType | None) -> None:
    _received.append(signum)
    _stop.set()


def install() -> threading.Event:
    """Make SIGTERM and SIGINT set the returned event; idempotent."""
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
