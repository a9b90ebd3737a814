"""The worker's start-up: wait for the database and the mail server (SPEC O4 amended).

A worker started while PostgreSQL or the mail server is down (a machine
booting, a maintenance window) does not exit: it tries again with a capped
exponential backoff (half a second, doubling up to 30 seconds) and logs
one warning a minute saying what it waits for and why, the other attempts
at ``DEBUG``. It stops at once, with nothing done, when its stop event is
set (``SIGTERM``, ``SIGINT``). A failure that waiting cannot fix (a wrong
password, a missing setting) ends the start as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from echoppe_accounts._logs import mask
from echoppe_accounts.domain.errors import DeliveryError, StorageError

T = TypeVar("T")

logger = logging.getLogger("echoppe_accounts.worker")

FIRST_DELAY = 0.5
"""Seconds before the second attempt."""
MOST_DELAY = 30.0
"""The longest wait between two attempts."""
WARN_EVERY = 60.0
"""Seconds between two warnings about the same wait."""


def _transient(exc: Exception) -> bool:
    if isinstance(exc, StorageError):
        return exc.retryable
    if isinstance(exc, DeliveryError):
        return exc.connection and not exc.permanent
    return False


def wait_for(
    what: str,
    attempt: Callable[[], T],
    stop: threading.Event,
    *,
    first: float = FIRST_DELAY,
    most: float = MOST_DELAY,
    warn_every: float = WARN_EVERY,
    clock: Callable[[], float] = time.monotonic,
) -> T | None:
    """Return what *attempt* returns once it works, or ``None`` once *stop* is set.

    A :class:`~echoppe_accounts.StorageError` that may go away
    (``retryable``) or a :class:`~echoppe_accounts.DeliveryError` of the
    connection is waited out; any other exception propagates.
    """
    delay = first
    warned_at: float | None = None
    tries = 0
    while not stop.is_set():
        tries += 1
        try:
            result = attempt()
        except (StorageError, DeliveryError) as exc:
            if not _transient(exc):
                raise
            now = clock()
            if warned_at is None or now - warned_at >= warn_every:
                logger.warning(
                    "waiting for %s (attempt %d, next in %g s; one warning a "
                    "minute): %s",
                    what,
                    tries,
                    delay,
                    mask(exc),
                )
                warned_at = now
            else:
                logger.debug("still waiting for %s: %s", what, mask(exc))
            stop.wait(delay)
            delay = min(delay * 2, most)
            continue
        if warned_at is not None:
            logger.warning("%s is back after %d attempts", what, tries)
        return result
    return None
