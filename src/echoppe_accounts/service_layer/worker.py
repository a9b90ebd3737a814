"""The outbox worker: dispatch rounds in a loop until told to stop (SPEC O4).

A shop runs one (or several) workers beside its web processes, usually as
``echoppe-accounts worker`` under a service manager. Each round hands a
small batch of due mails to the dispatcher; while mails flow the next round
follows at once, and when a round finds nothing the worker waits, one
second at first, doubling up to thirty, so an idle shop costs a query every
half minute and a new mail waits a second when the shop is busy.

The loop stops when :attr:`OutboxWorker.stop` is set, checked between
rounds: the round in progress ends first, so a mail handed to the mailer is
marked sent and none is left half-sent. The command line has the event set
on ``SIGTERM`` and ``SIGINT`` by a thread its handlers pass the signal to (a
handler setting it itself could wait for ever on the lock of the very wait
it interrupted); a test or an embedding program sets it directly, from
another thread. A small batch keeps that stop quick.

The ``echoppe_accounts.worker`` logger gets a summary a minute at ``INFO``
(mails sent, failed, dead-lettered and dropped in that minute, and the
mails pending), one record per round at ``DEBUG``, and one ``WARNING`` per
failed round; counts and words only, email addresses masked, never a body
(SPEC O4).

>>> from echoppe_accounts.service_layer.outbox import DispatchReport
>>> worker = OutboxWorker(lambda limit: DispatchReport(sent=0, failed=0))
>>> worker.run_once()
DispatchReport(sent=0, failed=0, dead=0, dropped=0)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import attrs

from echoppe_accounts._logs import mask
from echoppe_accounts.domain.errors import StorageError
from echoppe_accounts.service_layer.outbox import DispatchReport

logger = logging.getLogger("echoppe_accounts.worker")

DEFAULT_BATCH_SIZE = 10
"""Mails per round: small, so a stop waits for a few mails at most."""


def _handled(report: DispatchReport) -> int:
    return report.sent + report.failed + report.dead + report.dropped


def _add(total: DispatchReport, report: DispatchReport) -> DispatchReport:
    return DispatchReport(
        sent=total.sent + report.sent,
        failed=total.failed + report.failed,
        dead=total.dead + report.dead,
        dropped=total.dropped + report.dropped,
    )


@attrs.define
class OutboxWorker:
    """Run dispatch rounds until :attr:`stop` is set, waiting while idle.

    Attributes:
        dispatch: One dispatch round, given the batch size; usually
            ``app.dispatcher.dispatch``.
        batch_size: The most mails one round claims.
        min_idle: Seconds waited after a round that sent something without
            filling its batch, and the first wait after an empty round.
        max_idle: The longest wait: the idle wait doubles up to it, and goes
            back to :attr:`min_idle` as soon as a mail is sent.
        stop: Set it to end the loop after the round in progress.
        wait: Waits the given seconds or until :attr:`stop` is set;
            ``stop.wait`` unless a test gives its own.
        events: Called at the start of each round to deliver the account
            events an earlier delivery left behind (SPEC O5); usually
            ``app.events.dispatch``. A failure there is logged, and the
            round goes on; a storage failure fails the round.
        pending: Returns how many mails are pending, for the summary a
            minute; usually ``lambda: app.dispatcher.stats().pending``.
        summary_every: Seconds between two summaries at ``INFO``.
        housekeeping: Called at the start of the first round, then at most
            once every :attr:`housekeeping_every` seconds, for the
            library's periodic work; usually
            ``app.accounts.purge_unverified``, which removes the unverified
            sign-ups past their 24 hours (SPEC X5). A failure there is
            logged, and the round goes on; a storage failure fails the
            round, which tries again next time.
        housekeeping_every: Seconds between two housekeeping runs.
        clock: Seconds, monotonic; ``time.monotonic`` unless a test gives
            its own.

    .. versionadded:: 0.2.0
    """

    dispatch: Callable[[int], DispatchReport]
    batch_size: int = attrs.field(
        default=DEFAULT_BATCH_SIZE, validator=attrs.validators.gt(0)
    )
    min_idle: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    max_idle: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    stop: threading.Event = attrs.field(factory=threading.Event)
    wait: Callable[[float], object] = attrs.field(
        default=attrs.Factory(lambda self: self.stop.wait, takes_self=True)
    )
    events: Callable[[], object] | None = None
    pending: Callable[[], int] | None = None
    summary_every: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))
    housekeeping: Callable[[], object] | None = None
    housekeeping_every: float = attrs.field(
        default=3600.0, validator=attrs.validators.gt(0)
    )
    clock: Callable[[], float] = time.monotonic
    rounds: int = attrs.field(default=0, init=False)
    """How many rounds ran, those that failed included."""
    _since: DispatchReport = attrs.field(
        factory=lambda: DispatchReport(sent=0, failed=0), init=False
    )
    _failed_rounds: int = attrs.field(default=0, init=False)
    _summary_at: float | None = attrs.field(default=None, init=False)
    _housekept_at: float | None = attrs.field(default=None, init=False)

    def run_once(self) -> DispatchReport:
        """Run one round, log it and return its report.

        Raises:
            StorageError: The outbox could not be read or written.
        """
        report = self._round()
        self._log(report, None, logging.INFO)
        return report

    def run(self) -> DispatchReport:
        """Run rounds until :attr:`stop` is set; return the totals.

        A round that fails with a :class:`~echoppe_accounts.StorageError`
        that may succeed later (the database restarting) is logged and
        counts as an empty round: the worker waits and tries again. Any
        other exception ends the loop and propagates.

        Raises:
            StorageError: A storage failure that will not go away by itself.
        """
        total = DispatchReport(sent=0, failed=0)
        idle = self.min_idle
        self._summary_at = self.clock()
        while not self.stop.is_set():
            report: DispatchReport | None = None
            failure: StorageError | None = None
            try:
                report = self._round()
            except StorageError as exc:
                if not exc.retryable:
                    raise
                failure = exc
            if report is not None and report.sent:
                idle = self.min_idle
                # A full batch means more mails are probably due: no wait.
                pause = 0.0 if _handled(report) >= self.batch_size else idle
            else:
                pause, idle = idle, min(idle * 2, self.max_idle)
            if report is not None:
                total = _add(total, report)
                self._since = _add(self._since, report)
                self._log(report, pause, logging.DEBUG)
            else:
                self._failed_rounds += 1
                logger.warning(
                    "round %d failed, next round in %g s: %s",
                    self.rounds,
                    pause,
                    mask(failure),
                )
            self._summarize()
            if pause and not self.stop.is_set():
                self.wait(pause)
        logger.info(
            "stopped after %d rounds: %d sent, %d failed, %d dead-lettered, %d dropped",
            self.rounds,
            total.sent,
            total.failed,
            total.dead,
            total.dropped,
        )
        return total

    def _round(self) -> DispatchReport:
        self.rounds += 1
        self._housekeep()
        if self.events is not None:
            try:
                self.events()
            except StorageError:
                raise  # the round fails: one warning, not two
            except Exception as exc:  # the mails must go out all the same
                logger.warning("account event delivery failed (%s)", type(exc).__name__)
                logger.debug("account event delivery failed", exc_info=True)
        return self.dispatch(self.batch_size)

    def _housekeep(self) -> None:
        """Run :attr:`housekeeping` if it is due; only a storage failure propagates."""
        if self.housekeeping is None:
            return
        now = self.clock()
        due = self._housekept_at is None
        if not due and self._housekept_at is not None:
            due = now - self._housekept_at >= self.housekeeping_every
        if not due:
            return
        try:
            self.housekeeping()
        except StorageError:
            raise  # the round fails; housekeeping is tried again next round
        except Exception as exc:  # the mails must go out all the same
            logger.warning("housekeeping failed (%s)", type(exc).__name__)
            logger.debug("housekeeping failed", exc_info=True)
        self._housekept_at = now

    def _summarize(self) -> None:
        """Log the last minute's counts at INFO, once a minute."""
        now = self.clock()
        started = now if self._summary_at is None else self._summary_at
        if now - started < self.summary_every:
            return
        pending: int | str = "unknown"
        if self.pending is not None:
            with contextlib.suppress(StorageError):  # the failed rounds say why
                pending = self.pending()
        since, failed_rounds = self._since, self._failed_rounds
        logger.info(
            "last %d s: %d sent, %d failed, %d dead-lettered, %d dropped, %s pending%s",
            round(now - started),
            since.sent,
            since.failed,
            since.dead,
            since.dropped,
            pending,
            f"; {failed_rounds} rounds failed" if failed_rounds else "",
        )
        self._summary_at = now
        self._since = DispatchReport(sent=0, failed=0)
        self._failed_rounds = 0

    def _log(self, report: DispatchReport, pause: float | None, level: int) -> None:
        then = "" if pause is None else f"; next round in {pause:g} s"
        logger.log(
            level,
            "round %d: %d sent, %d failed, %d dead-lettered, %d dropped%s",
            self.rounds,
            report.sent,
            report.failed,
            report.dead,
            report.dropped,
            then,
        )
