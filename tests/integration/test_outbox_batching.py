"""The dispatcher renews each mail's claim and records each outcome first (SPEC O1).

A round renews each mail's claim just before handing it over, in the same
commit as the previous mail's outcome (SPEC O1 amended, issue 19): a
dispatcher that dies re-sends at most the mail in hand. A round of ten
mails commits twelve times (its claim, one per mail, the last mark), each
commit without waiting for the disk.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from builders import mail
from echoppe_accounts import OutboxDispatcher, OutgoingMail
from spies import recording


@pytest.fixture
def uow_factory(each_adapter_uow_factory):
    """This module is about the adapters: each of them, not memory alone."""
    return each_adapter_uow_factory


SENDER = "boutique@lechoppe.fr"


@attrs.define
class Mailer:
    """Records what it sends; runs *before_send* first."""

    before_send: object = None
    sent: list[OutgoingMail] = attrs.field(factory=list)

    def send(self, outgoing: OutgoingMail, sender: str) -> None:
        del sender
        if callable(self.before_send):
            self.before_send(outgoing)
        self.sent.append(outgoing)


def _queue(uow_factory, clock, count: int) -> list[str]:
    mails = [mail(f"client{i}@exemple.fr", at=clock.now()) for i in range(count)]
    with uow_factory() as tx:
        for outgoing in mails:
            tx.outbox.add(outgoing)
        tx.commit()
    return [m.id for m in mails]


def test_each_outcome_is_committed_before_the_next_mail_goes(uow_factory, clock):
    """O1: one renewal per mail, and every earlier mark committed before a send."""
    _queue(uow_factory, clock, 10)
    log: list[str] = []
    committed_marks: list[int] = []

    def count_committed_marks(_outgoing: OutgoingMail) -> None:
        last_commit = max(i for i, entry in enumerate(log) if entry == "commit")
        committed_marks.append(log[:last_commit].count("outbox.mark_sent"))

    mailer = Mailer(count_committed_marks)
    dispatcher = OutboxDispatcher(recording(uow_factory, log), mailer, clock, SENDER)
    report = dispatcher.dispatch()
    assert report.sent == 10
    assert committed_marks == list(range(10))  # mail n goes after n marks
    assert log.count("outbox.renew") == 10
    assert log.count("outbox.mark_sent") == 10
    assert log.count("commit") == 12  # the claim, one per mail, the last mark
    assert dispatcher.stats().pending == 0


def test_a_mail_erased_during_the_round_is_left_alone(uow_factory, clock):
    """G3, O1: the claim is read for each mail, so an erased mail is not sent."""
    ids = _queue(uow_factory, clock, 3)

    def erase_the_last(outgoing: OutgoingMail) -> None:
        if outgoing.id == ids[0]:
            with uow_factory() as tx:
                tx.outbox.forget(account_id="-", email_keys=["client2@exemple.fr"])
                tx.commit()

    mailer = Mailer(erase_the_last)
    report = OutboxDispatcher(uow_factory, mailer, clock, SENDER).dispatch()
    assert [m.id for m in mailer.sent] == ids[:2]
    assert report.sent == 2


def test_slow_sends_keep_the_rest_of_the_batch_claimed(uow_factory, clock):
    """O1: the batch's claims are renewed once half the lease is gone."""
    ids = _queue(uow_factory, clock, 3)
    log: list[str] = []

    def slow(_outgoing: OutgoingMail) -> None:
        clock.advance(timedelta(seconds=40))

    mailer = Mailer(slow)
    dispatcher = OutboxDispatcher(
        recording(uow_factory, log), mailer, clock, SENDER, lease=timedelta(minutes=1)
    )
    assert dispatcher.dispatch().sent == 3
    assert [m.id for m in mailer.sent] == ids
    # One renewal per mail, plus the one remaining mail renewed with the
    # second (40 s gone of a 60 s lease).
    assert log.count("outbox.renew") == 4
    assert dispatcher.stats().pending == 0
