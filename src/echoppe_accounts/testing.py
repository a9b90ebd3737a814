"""Test doubles that shops need too: a settable clock, a recording mailer.

>>> from datetime import timedelta
>>> clock = FrozenClock()
>>> start = clock.now()
>>> clock.advance(timedelta(minutes=5))
>>> clock.now() - start
datetime.timedelta(seconds=300)
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import attrs

from echoppe_accounts.domain.errors import DeliveryError
from echoppe_accounts.domain.mail import MailKind, OutgoingMail


@attrs.define
class FrozenClock:
    """A clock that only moves when told to.

    .. versionadded:: 0.2.0
    """

    current: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the current (frozen) time."""
        return self.current

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by *delta*."""
        self.current += delta


@attrs.define
class RecordingMailer:
    """A mailer that keeps what it is given; set :attr:`failing` to refuse.

    Attributes:
        sent: The mails received, oldest first.
        failing: When true, :meth:`send` raises instead of recording.

    .. versionadded:: 0.2.0
    """

    sent: list[OutgoingMail] = attrs.field(factory=list)
    failing: bool = False
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def send(self, mail: OutgoingMail, sender: str) -> None:
        """Record *mail*, or raise :class:`~echoppe_accounts.DeliveryError`."""
        del sender
        if self.failing:
            msg = "the test mailer is set to fail"
            raise DeliveryError(msg)
        with self._lock:
            self.sent.append(mail)

    def of_kind(self, kind: MailKind) -> list[OutgoingMail]:
        """Return the mails of *kind* sent so far."""
        return [m for m in self.sent if m.kind is kind]
