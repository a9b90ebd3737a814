"""The transactional outbox and its dispatcher, on every storage adapter."""

from __future__ import annotations

import email
import email.policy
import mailbox
import threading
from datetime import timedelta

import pytest

from echoppe_accounts import DeliveryError, MaildirMailer, MailKind, OutboxDispatcher
from echoppe_accounts.adapters.mime import build_message
from sample_forms import express, form, pending


def test_mails_wait_in_the_outbox_until_dispatched(service, dispatcher, mailer):
    """A use case queues its mail; nothing is sent before the dispatcher runs."""
    service.register(form())
    assert mailer.sent == []
    report = dispatcher.dispatch()
    assert (report.sent, report.failed) == (1, 0)
    assert [m.kind for m in mailer.sent] == [MailKind.WELCOME]
    assert dispatcher.dispatch().sent == 0  # sent once only


def test_a_refused_use_case_queues_no_mail(service, dispatcher, mailer):
    """When a use case fails, its mail is not queued either."""
    service.register(form())
    with pytest.raises(Exception, match="email"):
        service.register(form(email="JEAN.dupont@exemple.fr"))
    dispatcher.dispatch()
    assert len(mailer.sent) == 1


def test_mail_server_down_loses_nothing(service, dispatcher, mailer, clock):
    """Mails survive a mail-server outage and go out once it is back."""
    for i in range(5):
        service.register_express(express(f"client{i}@exemple.fr"))
    mailer.failing = True
    assert dispatcher.dispatch().failed == 5
    mailer.failing = False
    assert dispatcher.dispatch().sent == 0  # not due yet: backoff
    clock.advance(dispatcher.min_delay)
    assert dispatcher.dispatch().sent == 5
    assert len({m.id for m in mailer.sent}) == 5


def test_backoff_grows_with_the_age_of_the_mail(service, dispatcher, mailer, clock):
    """Each failure pushes the next attempt further, up to the maximum."""
    service.register(form())
    mailer.failing = True
    waits = []
    for _ in range(8):
        before = clock.now()
        dispatcher.dispatch()
        step = timedelta(seconds=1)
        while dispatcher.dispatch().failed == 0:
            clock.advance(step)
            step *= 2
        waits.append(clock.now() - before)
    assert waits == sorted(waits)
    assert waits[-1] <= dispatcher.max_delay * 2


def test_maildir_mailer_writes_standard_messages(tmp_path, service, uow_factory, clock):
    """The development mailer writes one readable MIME file per message."""
    box = tmp_path / "mailbox"
    dispatcher = OutboxDispatcher(
        uow_factory, MaildirMailer(box), clock, "Shop <s@lechoppe.fr>"
    )
    service.register_express(express("léa@exemple.fr", "Léa Hélène"))
    assert dispatcher.dispatch().sent == 1
    read = mailbox.Maildir(
        box,
        factory=lambda f: email.message_from_binary_file(
            f, policy=email.policy.default
        ),
        create=False,
    )
    (message,) = read
    assert message["To"] == "léa@exemple.fr"
    assert message["Message-ID"].endswith("@lechoppe.fr>")
    parts = {p.get_content_type(): p.get_content() for p in message.iter_parts()}
    assert "Léa Hélène" in parts["text/plain"]
    assert "<a href=" in parts["text/html"]


def test_maildir_on_an_unwritable_place_is_a_delivery_error(tmp_path):
    """A mailbox that cannot be created raises the library's error."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DeliveryError):
        MaildirMailer(blocker / "mailbox")


def test_message_id_is_stable(service):
    """The same mail gives the same Message-ID on every attempt."""
    service.register(form())
    (mail,) = pending(service)
    first = build_message(mail, "Shop <s@lechoppe.fr>")
    second = build_message(mail, "Shop <s@lechoppe.fr>")
    assert first["Message-ID"] == second["Message-ID"]
    parsed = email.message_from_bytes(first.as_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == first["Subject"]


def test_two_dispatchers_send_every_mail_once(service, uow_factory, clock, mailer):
    """Dispatchers sharing one outbox deliver each mail exactly once."""
    for i in range(40):
        service.register_express(express(f"client{i}@exemple.fr"))
    dispatchers = [
        OutboxDispatcher(uow_factory, mailer, clock, "s@lechoppe.fr") for _ in range(2)
    ]
    barrier = threading.Barrier(2)

    def run(dispatcher):
        barrier.wait()
        while dispatcher.dispatch(limit=3).sent:
            pass

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [m.id for m in mailer.sent]
    assert len(ids) == 40
    assert len(set(ids)) == 40
