"""Redo a use case that lost a race to a concurrent change (SPEC O3).

Two requests that edit one account at once (the customer's phone and tablet,
customer service and the customer) both read version *n*; the first save
wins and the second raises :class:`~echoppe_accounts.ConcurrencyError`,
having changed nothing. Calling the use case again reads the winner's
version and applies the change on top of it: that is all
:func:`retry_on_conflict` does, a bounded number of times.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar, overload

from echoppe_accounts.domain.errors import ConcurrencyError, StorageError

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger("echoppe_accounts.retry")


@overload
def retry_on_conflict(
    fn: Callable[P, R],
    /,
    *,
    attempts: int = 3,
    backoff: float = 0.01,
    storage_errors: bool = False,
    sleep: Callable[[float], object] = time.sleep,
) -> Callable[P, R]: ...


@overload
def retry_on_conflict(
    *,
    attempts: int = 3,
    backoff: float = 0.01,
    storage_errors: bool = False,
    sleep: Callable[[float], object] = time.sleep,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def retry_on_conflict(
    fn: Callable[P, R] | None = None,
    /,
    *,
    attempts: int = 3,
    backoff: float = 0.01,
    storage_errors: bool = False,
    sleep: Callable[[float], object] = time.sleep,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Return *fn* made to run again when it raises a ConcurrencyError.

    A :class:`~echoppe_accounts.ConcurrencyError` means that the account
    (or reset request) was saved by someone else between the use case's
    read and its save; the unit of work was rolled back, nothing was
    written and no mail was queued, so calling the use case again is always
    safe: it reads the new version and applies the change on top. The
    returned function does so up to *attempts* calls in all, with a short
    random pause between calls, then lets the last ``ConcurrencyError``
    through. Any other exception (a :class:`~echoppe_accounts.ValidationError`
    from the new version, for instance) propagates at once.

    Wrap a bound use case where it is called, or decorate a function of the
    shop that calls one::

        update = retry_on_conflict(app.accounts.update_delivery_address)

        @retry_on_conflict(attempts=5)
        def rename(account_id: str, name: str) -> None: ...

    Use it for edits that may meet another edit of the same account, not
    as a cure for an unavailable database: a
    :class:`~echoppe_accounts.StorageError` whose ``retryable`` is true
    (a lost connection, a server restarting, a lock wait timed out) is not
    retried unless *storage_errors* says so, because such an error may come
    from the commit itself (the change may have been saved: a registration
    or a reset request would run twice), and because each attempt during an
    outage waits for the store's timeout, which the customer's request pays
    for several times. A shop that wants it anyway, for idempotent calls,
    sets *storage_errors*.

    Args:
        fn: The use case, or any callable; omitted, ``retry_on_conflict``
            returns a decorator taking it.
        attempts: Calls in all, the first one included; at least 1.
        backoff: The longest pause, in seconds, after the first conflict;
            it doubles after each further one, and each pause is drawn at
            random between 0 and that bound so that rivals do not meet
            again in step. ``0`` retries at once.
        storage_errors: Also retry a :class:`~echoppe_accounts.StorageError`
            whose ``retryable`` is true (see above). Off by default.
        sleep: Called with each pause in seconds; tests pass a recorder.

    Returns:
        A function taking *fn*'s arguments and returning its result, or the
        decorator that makes one.

    Raises:
        ValueError: If *attempts* is less than 1 or *backoff* negative.

    A customer edits a delivery address while another of their requests
    saves the account; with the helper the edit lands all the same:

    >>> from echoppe_accounts import (
    ...     AddressForm, DeliveryForm, InMemoryStore, RegistrationForm, Settings,
    ...     bootstrap, retry_on_conflict)
    >>> from echoppe_accounts.testing import RecordingMailer
    >>> app = bootstrap(InMemoryStore().unit_of_work, RecordingMailer(),
    ...                 Settings(base_url="https://www.lechoppe.fr"))
    >>> paris = AddressForm(["12 rue des Lilas"], "75011", "Paris")
    >>> account = app.accounts.register(RegistrationForm(
    ...     category="individual", email="jean.dupont@exemple.fr",
    ...     name="Jean Dupont", phone="06 12 34 56 78",
    ...     password="une phrase de passe solide",
    ...     billing_address=paris,
    ...     delivery_addresses=[DeliveryForm("Jean Dupont", paris)]))
    >>> delivery_id = account.addresses.deliveries[0].id
    >>> update = retry_on_conflict(app.accounts.update_delivery_address)
    >>> moved = DeliveryForm("Marie Dupont", paris, "Maison")
    >>> update(account.id, delivery_id, moved).label
    'Maison'

    What it does on a conflict, with a stand-in that loses the race once:

    >>> from echoppe_accounts import ConcurrencyError
    >>> outcomes = [ConcurrencyError(account.id), "saved"]
    >>> def save() -> str:
    ...     outcome = outcomes.pop(0)
    ...     if isinstance(outcome, Exception):
    ...         raise outcome
    ...     return outcome
    >>> pauses = []
    >>> retry_on_conflict(save, sleep=pauses.append)()
    'saved'
    >>> len(pauses), 0 <= pauses[0] <= 0.01
    (1, True)

    .. versionadded:: 0.2.0
    """
    if attempts < 1:
        msg = f"attempts must be at least 1, not {attempts}"
        raise ValueError(msg)
    if backoff < 0:
        msg = f"backoff must not be negative, not {backoff}"
        raise ValueError(msg)

    def decorate(call: Callable[P, R]) -> Callable[P, R]:
        name = getattr(call, "__qualname__", type(call).__qualname__)

        @functools.wraps(call)
        def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
            attempt, bound = 1, backoff
            while True:
                try:
                    return call(*args, **kwargs)
                except StorageError as exc:
                    retry = isinstance(exc, ConcurrencyError) or (
                        storage_errors and exc.retryable
                    )
                    if not retry or attempt >= attempts:
                        raise
                    # Names and counts only: the arguments are personal data.
                    logger.debug(
                        "%s: %s on attempt %d of %d, trying again",
                        name,
                        type(exc).__name__,
                        attempt,
                        attempts,
                    )
                if bound > 0:
                    # Full jitter: rivals that met once do not meet again
                    # in step. Not a secret, so not the secrets module.
                    sleep(random.uniform(0, bound))  # noqa: S311
                    bound *= 2
                attempt += 1

        return retrying

    return decorate if fn is None else decorate(fn)
