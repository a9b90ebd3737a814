"""Delivering the outbox: pending mails go out, failures are retried later.

Mails are written to the outbox in the same transaction as the change that
causes them; the :class:`OutboxDispatcher` claims a batch, hands it to a
:class:`~echoppe_accounts.ports.Mailer` and marks each mail sent. Several
dispatchers, in threads or processes, may share one outbox: a claimed mail
is not handed to another dispatcher until its lease lapses, so a mail goes
out once (and comes back if its dispatcher died before sending it). A mail that
fails is retried with a growing delay (its age, between ``min_delay`` and
``max_delay``: 30 s, 1 min, 2 min, 4 min… which is exponential backoff
without a counter), so no mail is lost while the mail server is down.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from echoppe_accounts.domain.errors import DeliveryError
from echoppe_accounts.ports import Clock, Mailer, UnitOfWorkFactory


@attrs.frozen
class DispatchReport:
    """What one dispatch round did.

    .. versionadded:: 0.1.0
    """

    sent: int
    failed: int


@attrs.define
class OutboxDispatcher:
    """Sends the mails waiting in the outbox.

    .. versionadded:: 0.1.0
    """

    uow: UnitOfWorkFactory
    mailer: Mailer
    clock: Clock
    sender: str
    min_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    """How long a claimed mail is held before another dispatcher may take it."""

    def dispatch(self, limit: int = 100) -> DispatchReport:
        """Try to send up to *limit* due mails; return how many went and failed.

        A mailer that has a ``close()`` method, such as
        :class:`~echoppe_accounts.SMTPMailer`, is closed at the end of the round.
        """
        now = self.clock.now()
        with self.uow() as uow:
            due = uow.outbox.claim(now, limit, now + self.lease)
            uow.commit()
        sent = failed = 0
        try:
            for mail in due:
                try:
                    self.mailer.send(mail, self.sender)
                except DeliveryError as exc:
                    now = self.clock.now()
                    delay = min(
                        max(now - mail.created_at, self.min_delay), self.max_delay
                    )
                    with self.uow() as uow:
                        uow.outbox.mark_failed(mail.id, now + delay, str(exc))
                        uow.commit()
                    failed += 1
                else:
                    with self.uow() as uow:
                        uow.outbox.mark_sent(mail.id, self.clock.now())
                        uow.commit()
                    sent += 1
        finally:
            # A mailer holding a connection (SMTPMailer) keeps it for one
            # round, not for the idle time until the next one. ``close`` is
            # optional so the Mailer protocol stays one method for every
            # shop's mailer and test double.
            close = getattr(self.mailer, "close", None)
            if callable(close):
                close()
        return DispatchReport(sent, failed)
