"""Delivering the outbox: at least once, with dead letters and sealed secrets.

Mails are written to the outbox in the same transaction as the change that
causes them, their bodies sealed (SPEC O2, see
:mod:`echoppe_accounts.domain.sealing`). The :class:`OutboxDispatcher`
claims a batch under a random claim id, for a lease, and then, one mail at a
time (SPEC O1, O3):

1. renews its claim on the mail (and on the rest of the batch once less
   than half the lease is left), in the same commit as the previous mail's
   outcome: if the claim lapsed (another dispatcher may hold the mail now)
   or the mail is gone (erased), the mail is left alone, so a slow batch
   never outlives its lease;
2. drops the mail, unsent, if the secret it carries has expired;
3. dead-letters a mail it cannot unseal (sealed with another key); the
   bodies are unsealed beforehand, while the server reads the previous
   message (a two-step mailer such as :class:`~echoppe_accounts.SMTPMailer`
   gives its verdict on a mail only when asked);
4. hands the mail to the mailer, and marks it sent, failed or dead, under
   its claim: a dispatcher that lost a claim marks nothing.

Each mail's outcome is committed before the next mail is handed over
(SPEC O1 amended): a dispatcher that dies mid-round re-sends at most the
one mail it was handing over, once its claim lapses, with the same
``Message-ID``. Those commits do not wait for the disk (``durable=False``:
SQLite ``synchronous=NORMAL``, PostgreSQL ``synchronous_commit`` off), so
a round costs one quick commit per mail: a process crash loses none of
them; a power cut (SQLite) or a database server crash (PostgreSQL) may
lose the last few, whose mails are then sent again. The lease is short (one
minute) and renewed per mail, so the mails of a dispatcher that died are
taken over within a minute.

The round's claim and the release of the mails it leaves are not waited
for either. A claim lost to a power cut under SQLite is lost with the
dispatcher that held it; a database server that loses it (PostgreSQL)
loses the renewals and outcomes after it too, so the dispatcher's next
renewal finds no claim and hands nothing more over: a mail still goes out
only while its dispatcher holds the claim, and a lost claim or release
costs at most the wait of a lease.

A permanent refusal (:attr:`~echoppe_accounts.DeliveryError.permanent`) is
dead-lettered at once. Any other failure, an exception of any type from a
shop's mailer included, is retried with a growing delay (the mail's age,
between ``min_delay`` and ``max_delay``: 30 s, 1 min, 2 min, 4 min…, which
is exponential backoff without a counter) until ``retry_window`` (72 hours)
after the mail's creation or requeue, then dead-lettered. A connection
failure (:attr:`~echoppe_accounts.DeliveryError.connection`) counts against
the mail in hand only and ends the round: the other claimed mails are
released at once, without an attempt counted, for the next round or another
dispatcher. Delivery is at least once: a mail whose fate the server left
unknown (the line dropped after the data) is sent again, with the same
``Message-ID``.

The dispatcher logs under ``echoppe_accounts.outbox``: one record per round
at ``DEBUG`` (an :class:`~echoppe_accounts.OutboxWorker` sums them up once
a minute) and one ``WARNING`` per mail that failed, with the mail's id,
kind and the error in words, email addresses masked, never a body or a
secret.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

import attrs

from echoppe_accounts.domain.errors import DeliveryError
from echoppe_accounts.domain.mail import DeadLetter, OutboxStats, OutgoingMail
from echoppe_accounts.domain.sealing import (
    KEY_BYTES,
    SealError,
    check_key,
    unseal_mail,
)
from echoppe_accounts.ports import Clock, Mailer, UnitOfWorkFactory
from echoppe_accounts.service_layer._outbox_round import Outcome, Round

log = logging.getLogger("echoppe_accounts.outbox")
"""The outbox's logger: rounds and failures, never a body or a secret."""

EXPIRED = "expired: the secret it carries is no longer valid"
"""The reason recorded for a mail dropped because its secret expired."""

UNREADABLE = (
    "unreadable: its body was sealed with another outbox key "
    "(a key made for a process that stopped, or a changed key)"
)
"""The reason recorded for a mail whose sealed body cannot be opened."""

TwoStep = Callable[..., Callable[[], None]]
"""What a two-step mailer's ``start_send`` is (``ports.TwoStepMailer``)."""

_RENEW_BATCH_BELOW = 1 / 2
"""The fraction of the lease below which the rest of a batch's claims are renewed."""

_process_key: bytes | None = None
_process_key_lock = threading.Lock()


def process_key() -> bytes:
    """Return the outbox key made for this process, making it on first use.

    The library falls back on it when the shop configures no key (see
    :func:`~echoppe_accounts.bootstrap`). Mails sealed with it cannot be
    opened by another process: those still queued when this process stops
    become dead letters (reason "unreadable"). A warning says so, once.

    .. versionadded:: 0.2.0
    """
    global _process_key  # noqa: PLW0603 (one key for the whole process)
    with _process_key_lock:
        if _process_key is None:
            _process_key = secrets.token_bytes(KEY_BYTES)
            log.warning(
                "no outbox key is configured: mail bodies are sealed with a key "
                "made for this process only, and mails still queued when it "
                "stops will be dead-lettered as unreadable; set "
                "Settings.outbox_key or ECHOPPE_OUTBOX_KEY"
            )
        return _process_key


def outbox_key(configured: bytes | None) -> bytes:
    """Return *configured*, or this process's own key when it is ``None``.

    .. versionadded:: 0.2.0
    """
    return process_key() if configured is None else configured


def _check_optional_key(_: object, __: object, value: bytes | None) -> None:
    if value is not None:
        check_key(value)


@attrs.frozen
class DispatchReport:
    """What one dispatch round did.

    Attributes:
        sent: Mails handed to the mailer and marked sent.
        failed: Mails that failed for a moment and will be retried.
        dead: Mails dead-lettered: refused for good, past their retry
            window, or unreadable.
        dropped: Mails dropped unsent because their secret had expired.

    .. versionadded:: 0.2.0
    """

    sent: int
    failed: int
    dead: int = 0
    dropped: int = 0


@attrs.define
class OutboxDispatcher:
    """Sends the mails waiting in the outbox, and lets operators tend it.

    Args:
        uow: The storage.
        mailer: Where mails go; any exception it raises is contained to its
            mail.
        clock: The time, for claims, delays and expiry.
        sender: The ``From`` of every mail.
        min_delay: The shortest wait before retrying a failed mail.
        max_delay: The longest wait between two attempts.
        lease: How long a claim on a mail holds before another dispatcher
            may take it; renewed before each mail is handed over, so the
            mails of a dispatcher that died are taken over within it.
        retry_window: How long, from its creation or requeue, a failing
            mail is retried before it becomes a dead letter (SPEC O1).
        outbox_key: The key that opens the sealed bodies: the one the use
            cases sealed them with (:attr:`Settings.outbox_key
            <echoppe_accounts.Settings.outbox_key>`); ``None`` for this
            process's own key, made when first needed, with a warning that
            mails queued when the process stops will be dead-lettered as
            unreadable. Never in ``repr``.
        outbox_old_key: The previous key, during a rotation: it still opens
            the mails sealed before. Never in ``repr``.

    .. versionadded:: 0.2.0
    """

    uow: UnitOfWorkFactory
    mailer: Mailer
    clock: Clock
    sender: str
    min_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=1)
    """How long a claimed mail is held before another dispatcher may take it."""
    retry_window: timedelta = timedelta(hours=72)
    """How long a failing mail is retried before it becomes a dead letter."""
    outbox_key: bytes | None = attrs.field(
        default=None,
        repr=False,
        validator=[
            attrs.validators.optional(attrs.validators.instance_of(bytes)),
            _check_optional_key,
        ],
    )
    """The key that opens sealed bodies; ``None`` for this process's own."""
    outbox_old_key: bytes | None = attrs.field(
        default=None,
        repr=False,
        validator=[
            attrs.validators.optional(attrs.validators.instance_of(bytes)),
            _check_optional_key,
        ],
    )
    """The key in use before a rotation, tried when the current one fails."""

    def dispatch(self, limit: int = 100) -> DispatchReport:
        """Try to send up to *limit* due mails; say what became of them.

        A mailer that has a ``close()`` method, such as
        :class:`~echoppe_accounts.SMTPMailer`, is closed at the end of the round.

        Raises:
            StorageError: If the storage fails; the mails not handled yet
                are released (when the storage still answers) or come back
                when their lease lapses.
        """
        claim_id = secrets.token_hex(16)
        now = self.clock.now()
        # The claim need not wait for the disk either (see the module's
        # documentation): it writes every claimed row, a page each, and
        # waiting for them cost more than sending the round's mails.
        with self.uow(durable=False) as uow:
            claimed = uow.outbox.claim(now, limit, now + self.lease, claim_id=claim_id)
            uow.commit()
        left = [mail.id for mail in claimed]
        round_ = Round(self.uow, self.clock, claim_id, left, now + self.lease)
        outcomes: Counter[Outcome] = Counter()
        # A two-step mailer (SMTPMailer) hands a mail over and is asked for
        # the server's verdict later: the next mail is opened meanwhile.
        start = getattr(self.mailer, "start_send", None)
        waiting: tuple[OutgoingMail, Callable[[], None]] | None = None
        try:
            for mail in claimed:
                opened = self._open(mail)
                if waiting is not None:
                    # Asked once, even if recording it fails (see finally);
                    # until it is recorded, this mail is released with the
                    # others if the round ends.
                    handed, waiting = waiting, None
                    outcome, connection_lost = self._verdict(*handed, round_)
                    outcomes[outcome] += 1
                    if connection_lost:
                        break
                left.remove(mail.id)
                outcome, connection_lost, wait = self._deliver(
                    mail, opened, round_, start
                )
                if wait is not None:
                    waiting = (mail, wait)
                    continue
                outcomes[outcome] += 1
                if connection_lost:
                    # Every other mail would wait for the same dead server:
                    # they go back, with no attempt counted (SPEC O3).
                    break
            if waiting is not None:
                handed, waiting = waiting, None
                outcome, _ = self._verdict(*handed, round_)
                outcomes[outcome] += 1
        finally:
            try:
                if waiting is not None:  # the round failed: the mailer is freed
                    self._verdict(*waiting, round_)
                round_.write_marks()
            finally:
                round_.release()
            # A mailer holding a connection (SMTPMailer) keeps it for one
            # round, not for the idle time until the next one. ``close`` is
            # optional so the Mailer protocol stays one method for every
            # shop's mailer and test double.
            close = getattr(self.mailer, "close", None)
            if callable(close):
                close()
        report = DispatchReport(
            sent=outcomes[Outcome.SENT],
            failed=outcomes[Outcome.FAILED],
            dead=outcomes[Outcome.DEAD],
            dropped=outcomes[Outcome.DROPPED],
        )
        log.debug(
            "outbox round: claimed=%d sent=%d failed=%d dead=%d dropped=%d "
            "released=%d lost=%d",
            len(claimed),
            report.sent,
            report.failed,
            report.dead,
            report.dropped,
            len(left),
            outcomes[Outcome.LOST],
        )
        return report

    def _open(self, mail: OutgoingMail) -> OutgoingMail | None:
        """Return *mail* with its bodies unsealed; ``None`` if no key opens them.

        Done before its claim is checked, while the server reads the
        previous message: it costs nothing but time, and nothing is sent
        before the claim holds.
        """
        try:
            older = () if self.outbox_old_key is None else (self.outbox_old_key,)
            return unseal_mail(mail, outbox_key(self.outbox_key), *older)
        except SealError:
            return None

    def _deliver(
        self,
        mail: OutgoingMail,
        opened: OutgoingMail | None,
        round_: Round,
        start: TwoStep | None,
    ) -> tuple[Outcome, bool, Callable[[], None] | None]:
        """Hand *mail* (*opened*) over if its claim still holds; return its fate.

        The second value says whether the connection to the server failed;
        the third, when the mail went to a two-step mailer (*start*), is the
        wait for the server's verdict (see :meth:`_verdict`), the fate then
        still unknown. A two-step mailer is handed the claim's check as its
        *ready*: the check, and the commit of the previous mail's fate, run
        while the server answers the envelope, and nothing of the message
        goes unless the claim holds.
        """
        if start is None or opened is None or mail.has_expired(self.clock.now()):
            outcome, connection_lost = self._deliver_at_once(mail, opened, round_)
            return outcome, connection_lost, None
        held: list[bool] = []
        failed: list[Exception] = []

        def ready() -> bool:
            try:
                held.append(self._hold(mail, round_))
            except Exception as exc:  # noqa: BLE001 (raised once the mailer let go)
                failed.append(exc)
                return False
            return held[-1]

        try:
            wait = start(opened, self.sender, ready=ready)
        except Exception as exc:  # noqa: BLE001 (see _verdict)
            if failed:
                raise failed[0] from None
            if held and not held[-1]:  # not ours to mark: it was not sent
                return Outcome.LOST, getattr(exc, "connection", False), None
            outcome, connection_lost = self._refused(mail, round_, exc)
            return outcome, connection_lost, None
        if failed or (held and not held[-1]):
            wait()  # the mailer let the mail go: nothing to hear
            if failed:
                raise failed[0]
            return Outcome.LOST, False, None
        return Outcome.SENT, False, wait

    def _deliver_at_once(
        self, mail: OutgoingMail, opened: OutgoingMail | None, round_: Round
    ) -> tuple[Outcome, bool]:
        """Check the claim on *mail*, then drop it, dead-letter it or send it.

        The path of a mailer with only ``send``, and of a mail that will
        not be sent (expired, or unreadable).
        """
        if not self._hold(mail, round_):
            return Outcome.LOST, False
        if mail.has_expired(self.clock.now()):
            round_.mark_dropped(mail, EXPIRED)
            return Outcome.DROPPED, False
        if opened is None:
            round_.mark_dead(mail, UNREADABLE, attempted=False)
            return Outcome.DEAD, False
        return self._verdict(
            mail, lambda: self.mailer.send(opened, self.sender), round_
        )

    def _hold(self, mail: OutgoingMail, round_: Round) -> bool:
        """Commit the previous mail's fate and renew the claim on *mail*; say if held.

        One commit: the previous mail's outcome, then this mail's claim
        (SPEC O1: an outcome is recorded before the next mail goes). The
        rest of the batch is renewed too once less than half the lease is
        left. A claim that lapsed (a lease too short for the batch, or a
        dispatcher stalled) is counted as "lost" in the round's record, not
        a failure.
        """
        claim_id = round_.claim_id
        now = self.clock.now()
        until = now + self.lease
        with self.uow(durable=False) as uow:
            round_.mark_sent(uow)
            held = uow.outbox.renew(mail.id, claim_id=claim_id, now=now, until=until)
            if round_.left and round_.until - now < self.lease * _RENEW_BATCH_BELOW:
                for other in round_.left:
                    uow.outbox.renew(other, claim_id=claim_id, now=now, until=until)
                round_.until = until
            round_.commit(uow)
        if not held:
            log.debug(
                "outbox: mail %s (%s) left alone: its claim lapsed before it "
                "could be sent",
                mail.id,
                mail.kind.value,
            )
        return held

    def _verdict(
        self, mail: OutgoingMail, wait: Callable[[], None], round_: Round
    ) -> tuple[Outcome, bool]:
        """Learn whether *mail* went (*wait*); record it; return its fate.

        The second value says whether the connection to the server failed.
        """
        try:
            wait()
        except Exception as exc:  # noqa: BLE001 (contained to its mail: SPEC O3)
            return self._refused(mail, round_, exc)
        round_.sent.append((mail, self.clock.now()))
        return Outcome.SENT, False

    def _refused(
        self, mail: OutgoingMail, round_: Round, exc: Exception
    ) -> tuple[Outcome, bool]:
        """Record what the mailer raised for *mail*; say if the connection failed."""
        if isinstance(exc, DeliveryError):
            # The library's mailers say the cause in words, never the
            # mail's content (SPEC R9): the message can be kept.
            outcome = self._failed(mail, round_, str(exc), permanent=exc.permanent)
            return outcome, exc.connection
        # Any other exception's message may quote the mail (a link, a
        # temporary password): only its type is kept and logged.
        error = f"the mailer raised {type(exc).__name__}"
        return self._failed(mail, round_, error, permanent=False), False

    def _failed(
        self, mail: OutgoingMail, round_: Round, error: str, *, permanent: bool
    ) -> Outcome:
        now = self.clock.now()
        if permanent:
            error = f"refused for good: {error}"
            round_.mark_dead(mail, error, attempted=True)
            return Outcome.DEAD
        if now >= mail.retry_from + self.retry_window:
            error = f"still failing after {self.retry_window}: {error}"
            round_.mark_dead(mail, error, attempted=True)
            return Outcome.DEAD
        delay = min(max(now - mail.retry_from, self.min_delay), self.max_delay)
        round_.mark_failed(mail, now + delay, error)
        return Outcome.FAILED

    # -- operations ----------------------------------------------------------

    def stats(self) -> OutboxStats:
        """Return the pending mails, the oldest due time and the dead letters.

        For health checks and metrics: ``oldest_due`` far in the past means
        mails are waiting for a dispatcher that does not keep up or does not
        run; ``dead`` above zero wants an operator.

        .. versionadded:: 0.2.0
        """
        with self.uow() as uow:
            return uow.outbox.stats()

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Return up to *limit* dead letters, the most recently dead first.

        .. versionadded:: 0.2.0
        """
        with self.uow() as uow:
            return uow.outbox.dead_letters(limit)

    def requeue(self, mail_ids: Collection[str] | None = None) -> int:
        """Make dead letters pending again, due now; return how many.

        *mail_ids* ``None`` requeues every dead letter. A requeued mail gets
        a fresh retry window; one whose secret has expired meanwhile is
        dropped by the next round rather than sent.

        Raises:
            TypeError: If *mail_ids* is a single string rather than a
                collection of ids.

        .. versionadded:: 0.2.0
        """
        if isinstance(mail_ids, str):
            msg = "requeue() takes a collection of mail ids, not one string"
            raise TypeError(msg)
        with self.uow() as uow:
            count = uow.outbox.requeue(mail_ids, self.clock.now())
            uow.commit()
        log.info("outbox: %d dead letters requeued", count)
        return count

    def purge_dead(self, before: datetime | None = None) -> int:
        """Delete the dead letters that died before *before* (all if ``None``).

        Returns how many were deleted.

        .. versionadded:: 0.2.0
        """
        with self.uow() as uow:
            count = uow.outbox.purge_dead(before)
            uow.commit()
        log.info("outbox: %d dead letters purged", count)
        return count
