"""One dispatch round of the outbox: its claim, and the marks it writes under it.

Every mark is written under the round's claim id (SPEC O1, O3): a round
whose claim lapsed marks nothing. The mail handed over last is marked in
the same commit as the next mail's claim (see
:meth:`~echoppe_accounts.OutboxDispatcher.dispatch`).
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime

import attrs

from echoppe_accounts._logs import mask
from echoppe_accounts.domain.errors import StorageError
from echoppe_accounts.domain.mail import OutgoingMail
from echoppe_accounts.ports import Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("echoppe_accounts.outbox")


class Outcome(enum.Enum):
    """What became of one claimed mail in a round."""

    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    DROPPED = "dropped"
    LOST = "lost"
    """The claim lapsed before the mail was handed over: left alone."""


@attrs.define
class Round:
    """One dispatch round: its claim, each mail's lease, the marks not written yet."""

    uow: UnitOfWorkFactory
    clock: Clock
    claim_id: str
    left: list[str]
    """The claimed mails not handled yet, in order."""
    until: datetime
    """When the claims of the mails not handled yet end, as this round set them."""
    sent: list[tuple[OutgoingMail, datetime]] = attrs.field(factory=list)
    """The mail handed over, and when, whose mark is still to be written."""
    _marking: int = 0
    """How many of :attr:`sent` the unit of work in hand marks (see :meth:`commit`)."""

    def release(self) -> None:
        """Give back the claims on the mails not handled yet."""
        mail_ids = self.left
        if not mail_ids:
            return
        try:
            # Not waited for: a release lost to a crash costs the wait of a
            # lease, as a dispatcher that died does.
            with self.uow(durable=False) as uow:
                uow.outbox.release(mail_ids, claim_id=self.claim_id)
                uow.commit()
        except StorageError as exc:
            # Not fatal: the claims lapse with their lease; the caller logs
            # the round's failure once.
            log.debug(
                "outbox: %d claimed mails could not be released (%s); they "
                "come back when their lease lapses",
                len(mail_ids),
                exc,
            )

    def write_marks(self) -> None:
        """Write the mark of the mail sent and not yet marked."""
        if self.sent:
            with self.uow(durable=False) as uow:
                self.mark_sent(uow)
                self.commit(uow)

    def mark_sent(self, uow: UnitOfWork) -> None:
        """Mark the round's sent mails in *uow*, which the caller commits.

        The caller commits with :meth:`commit`: the marks are forgotten
        only once committed, so a commit that fails leaves them to the
        round's next write instead of losing them (a mail whose mark is
        lost is sent again once its lease lapses).
        """
        sent = list(self.sent)
        self._marking = len(sent)
        for mail, at in sent:
            if not uow.outbox.mark_sent(mail.id, at, claim_id=self.claim_id):
                log.warning(
                    "outbox: mail %s (%s) was delivered after its claim lapsed; "
                    "another dispatcher may deliver it again (same Message-ID)",
                    mail.id,
                    mail.kind.value,
                )

    def commit(self, uow: UnitOfWork) -> None:
        """Commit *uow*; forget the marks :meth:`mark_sent` wrote in it."""
        uow.commit()
        del self.sent[: self._marking]
        self._marking = 0

    def mark_dropped(self, mail: OutgoingMail, reason: str) -> None:
        """Drop *mail* unsent, for *reason*."""
        with self.uow() as uow:
            self.mark_sent(uow)
            uow.outbox.mark_dropped(
                mail.id, self.clock.now(), reason, claim_id=self.claim_id
            )
            self.commit(uow)
        log.warning(
            "outbox: mail %s (%s) dropped unsent: %s", mail.id, mail.kind.value, reason
        )

    def mark_dead(self, mail: OutgoingMail, error: str, *, attempted: bool) -> None:
        """Dead-letter *mail* for *error*."""
        with self.uow(durable=False) as uow:
            self.mark_sent(uow)
            uow.outbox.mark_dead(
                mail.id,
                self.clock.now(),
                error,
                claim_id=self.claim_id,
                attempted=attempted,
            )
            self.commit(uow)
        log.warning(
            "outbox: mail %s (%s) dead-lettered: %s",
            mail.id,
            mail.kind.value,
            mask(error),
        )

    def mark_failed(self, mail: OutgoingMail, retry_at: datetime, error: str) -> None:
        """Mark *mail* failed for *error*, to be retried at *retry_at*."""
        with self.uow(durable=False) as uow:
            self.mark_sent(uow)
            uow.outbox.mark_failed(mail.id, retry_at, error, claim_id=self.claim_id)
            self.commit(uow)
        log.warning(
            "outbox: mail %s (%s) failed, next attempt at %s: %s",
            mail.id,
            mail.kind.value,
            retry_at.isoformat(timespec="seconds"),
            mask(error),
        )
