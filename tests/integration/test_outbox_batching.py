"""The dispatcher checks each mail's claim, and writes its marks together (issue 12).

A round reads each mail's claim just before handing it over (SPEC O1) and
writes the marks of the mails sent in one commit: a round of ten mails
commits twice (its claim and its marks), not twenty times.
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


def test_a_round_checks_each_claim_and_commits_its_marks_once(uow_factory, clock):
    """O1: one claim check per mail, no renewal, the marks in one commit."""
    _queue(uow_factory, clock, 10)
    log: list[str] = []
    mailer = Mailer()
    dispatcher = OutboxDispatcher(recording(uow_factory, log), mailer, clock, SENDER)
    report = dispatcher.dispatch()
    assert report.sent == 10
    assert log.count("outbox.holds") == 10
    assert log.count("outbox.renew") == 0
    assert log.count("outbox.mark_sent") == 10
    assert log.count("commit") == 2  # the claim, then every mark
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


def test_marks_are_written_before_a_claim_runs_low(uow_factory, clock):
    """O1: slow sends renew each claim in turn, writing the marks due first."""
    _queue(uow_factory, clock, 3)
    log: list[str] = []

    def slow(_outgoing: OutgoingMail) -> None:
        clock.advance(timedelta(minutes=2))

    mailer = Mailer(slow)
    dispatcher = OutboxDispatcher(
        recording(uow_factory, log), mailer, clock, SENDER, lease=timedelta(minutes=5)
    )
    assert dispatcher.dispatch().sent == 3
    # The first mail goes on its claim; the next two are renewed, each
    # renewal writing the mark of the mail sent before it.
    assert log.count("outbox.renew") == 2
    renewals = [i for i, entry in enumerate(log) if entry == "outbox.renew"]
    marks = [i for i, entry in enumerate(log) if entry == "outbox.mark_sent"]
    assert marks[0] < renewals[0] < marks[1] < renewals[1] < marks[2]
    assert dispatcher.stats().pending == 0
