"""Delivering account events to the shop's handlers, after commit (SPEC O5).

Use cases write an :class:`~echoppe_accounts.AccountEvent` in the same
transaction as the change it reports (the outbox pattern, as for mails), so
an event exists if and only if its change was committed. The
:class:`EventDispatcher` then hands the stored events to each registered
handler, in order, at least once:

- each handler has its own position in the event log, kept in the same
  storage, so a handler that fails is retried from its first undelivered
  event at the next round while the other handlers go on;
- a handler that succeeded is not given the same event again, except when
  the process dies before its new position is recorded (the position is
  recorded after each event, so that is the one event in hand), or when
  two dispatchers run at once: handlers drop such a duplicate by
  :attr:`AccountEvent.id`;
- no transaction is open while a handler runs, so a handler may call the
  library (read the account, for instance).

The dispatcher runs right after each use case that wrote an event (see
:func:`~echoppe_accounts.bootstrap`), and at every round of an
:class:`~echoppe_accounts.OutboxWorker` given ``events=app.events.dispatch``
(``echoppe-accounts worker`` has no handlers: it is the shop's code that
registers them), which picks up whatever an earlier attempt left behind.

Two handlers are shipped: :class:`CallbackHandler` (any callable, in
process) and :class:`JsonLinesHandler` (one JSON object per line appended
to a file, for a shop's ETL).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import attrs

from echoppe_accounts.domain.events import AccountEvent
from echoppe_accounts.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("echoppe_accounts.events")


class EventHandler(Protocol):
    """Protocol: something that receives account events, one at a time.

    Raising any exception means "not handled": the event is offered again
    at the next round, and the handler's later events wait for it.

    .. versionadded:: 0.2.0
    """

    def __call__(self, event: AccountEvent) -> None:
        """Handle *event*; drop it if its id was handled already."""
        ...


@attrs.frozen
class CallbackHandler:
    """Hand every event to a function of the shop's, in process.

    >>> seen = []
    >>> handler = CallbackHandler(seen.append)

    .. versionadded:: 0.2.0
    """

    callback: Callable[[AccountEvent], object]

    def __call__(self, event: AccountEvent) -> None:
        """Call the callback with *event*."""
        self.callback(event)


@attrs.frozen
class JsonLinesHandler:
    """Append every event to a JSON-lines file, for a shop's ETL.

    Each line is :meth:`AccountEvent.as_dict` as JSON; the file is flushed
    and synced to disk before the event counts as delivered, so a crash can
    repeat a line (same ``id``) but never lose one.

    .. versionadded:: 0.2.0
    """

    path: Path = attrs.field(converter=Path)

    def __call__(self, event: AccountEvent) -> None:
        """Append *event* as one line and sync the file."""
        line = json.dumps(event.as_dict(), ensure_ascii=False, sort_keys=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())


@attrs.define
class EventDispatcher:
    """Deliver stored account events to the registered handlers (SPEC O5).

    Attributes:
        uow: The storage the events are written to.
        handlers: The handlers, by a stable name under which each one's
            position in the event log is kept; renaming a handler makes it
            start again from the first event.

    .. versionadded:: 0.2.0
    """

    uow: UnitOfWorkFactory
    handlers: Mapping[str, EventHandler] = attrs.field(factory=dict)

    def dispatch(self, limit: int = 100) -> int:
        """Give each handler up to *limit* of its undelivered events, in order.

        Returns:
            How many deliveries succeeded, over all handlers.
        """
        delivered = 0
        for name, handler in self.handlers.items():
            delivered += self._deliver(name, handler, limit)
        return delivered

    def _deliver(self, name: str, handler: EventHandler, limit: int) -> int:
        # No transaction is open while handlers run: a handler may use the
        # library (on SQLite an open one would hold the write lock), and a
        # slow handler holds nothing. Two dispatchers may then give a handler
        # the same event; it drops the duplicate by id, and its position
        # never moves back.
        with self.uow() as uow:
            page = uow.events.after(uow.events.position(name), limit)
        delivered = 0
        for seq, event in page:
            try:
                handler(event)
            except Exception:  # a shop's handler may raise anything
                log.warning(
                    "event handler %s failed on event %s (%s); it will be retried",
                    name,
                    event.id,
                    event.type.value,
                    exc_info=True,
                )
                break
            # The position is recorded after each event, before the next one
            # is handed over: a process that dies gives the handler again the
            # one event it was handling, never the page (SPEC O5, O1 amended).
            # The commit does not wait for the disk: a process crash loses
            # nothing committed, a power cut at worst a few positions.
            with self.uow(durable=False) as uow:
                uow.events.advance(name, seq)
                uow.commit()
            delivered += 1
        if delivered:
            log.debug("event handler %s: %d delivered", name, delivered)
        return delivered


class _DeliveringUnitOfWork:
    """A unit of work that runs the event dispatcher once it has committed.

    Delivery is best effort: an error there is logged and left to the next
    round, never raised to the use case, whose change is already committed.
    """

    def __init__(self, inner: UnitOfWork, dispatcher: EventDispatcher) -> None:
        self._inner = inner
        self._dispatcher = dispatcher
        self._committed = False

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)
        if exc_type is None and self._committed:
            try:
                self._dispatcher.dispatch()
            except Exception:  # best effort: the worker retries
                log.warning("event delivery after commit failed", exc_info=True)

    def commit(self) -> None:
        written = self._inner.events.written
        self._inner.commit()
        self._committed = self._committed or written

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 (the wrapped unit's)
        return getattr(self._inner, name)


def delivering(
    factory: UnitOfWorkFactory, dispatcher: EventDispatcher
) -> UnitOfWorkFactory:
    """Return *factory*'s units of work, delivering events after each commit.

    .. versionadded:: 0.2.0
    """
    if not dispatcher.handlers:
        return factory

    def make(*, durable: bool = True) -> UnitOfWork:
        return _DeliveringUnitOfWork(factory(durable=durable), dispatcher)

    return make


def iter_events(uow: UnitOfWorkFactory, batch: int = 500) -> Iterator[AccountEvent]:
    """Yield every stored event, oldest first (for tools and tests).

    .. versionadded:: 0.2.0
    """
    position = 0
    while True:
        with uow() as tx:
            page = tx.events.after(position, batch)
        if not page:
            return
        for seq, event in page:
            yield event
            position = seq
