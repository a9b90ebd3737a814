"""The transactional outbox and its dispatcher, on every storage adapter."""

from __future__ import annotations

import email
import email.policy
import logging
import mailbox
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from builders import mail
from conftest import FAST_HASHER
from echoppe_accounts import (
    ConsentSource,
    DeliveryError,
    DispatchReport,
    MaildirMailer,
    MailKind,
    OutboxDispatcher,
    OutboxStats,
    OutgoingMail,
    StorageError,
    SystemClock,
    bootstrap,
)
from echoppe_accounts.adapters.mime import build_message
from echoppe_accounts.domain.sealing import SealError, is_sealed, unseal_mail
from echoppe_accounts.service_layer.outbox import outbox_key
from sample_forms import express, form, link_token, links, pending, temporary_password


@pytest.fixture
def uow_factory(each_adapter_uow_factory):
    """This module is about the adapters: each of them, not memory alone."""
    return each_adapter_uow_factory


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
    # The set-password mail greets nobody by name (amended F10): the
    # non-ASCII text checked is the recipient's address in the footer.
    assert "envoyé à léa@exemple.fr" in parts["text/plain"]
    assert "Léa Hélène" not in parts["text/plain"]
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


# -- dead letters, expiry, claims, containment (SPEC O1, O2, O3) -----------------


@attrs.define
class ScriptedMailer:
    """A mailer that records what it delivers and fails as *outcome* says.

    *outcome* gets each mail and returns ``None`` to deliver it, or the
    exception to raise. *on_send* runs before each attempt (to move a clock,
    to run a rival dispatcher).
    """

    outcome: Callable[[OutgoingMail], BaseException | None] = lambda _: None
    on_send: Callable[[OutgoingMail], None] = lambda _: None
    sent: list[OutgoingMail] = attrs.field(factory=list)
    attempts: list[str] = attrs.field(factory=list)

    def send(self, mail: OutgoingMail, sender: str) -> None:
        del sender
        self.attempts.append(mail.id)
        self.on_send(mail)
        failure = self.outcome(mail)
        if failure is not None:
            raise failure
        self.sent.append(mail)


@attrs.define
class TwoStepScriptedMailer(ScriptedMailer):
    """A :class:`ScriptedMailer` that gives its verdict when asked (``start_send``).

    As :class:`~echoppe_accounts.SMTPMailer`: the mail is handed over, and
    the failure *outcome* says is raised by the wait for the verdict. It
    checks the dispatcher asks for each verdict before the next mail.
    """

    waiting: bool = False
    held: threading.Lock = attrs.field(factory=threading.Lock)
    """Held from a mail's hand-over to its verdict, as SMTPMailer's connection."""

    def start_send(
        self,
        mail: OutgoingMail,
        sender: str,
        *,
        ready: Callable[[], bool] | None = None,
    ) -> Callable[[], None]:
        del sender
        self.held.acquire()
        assert not self.waiting, "a mail handed over before the last verdict"
        if ready is not None and not ready():  # not to be sent after all
            self.held.release()
            return lambda: None
        self.attempts.append(mail.id)
        self.on_send(mail)
        self.waiting = True

        def wait() -> None:
            assert self.waiting, "a verdict asked twice"
            self.waiting = False
            self.held.release()
            failure = self.outcome(mail)
            if failure is not None:
                raise failure
            self.sent.append(mail)

        return wait


@pytest.fixture(
    params=[ScriptedMailer, TwoStepScriptedMailer], ids=["send", "two-step"]
)
def scripted(request) -> type[ScriptedMailer]:
    """A scripted mailer of each kind the dispatcher meets."""
    return request.param


def refused(_mail) -> DeliveryError:
    """Return the error of a server refusing for good."""
    return DeliveryError("the server refused the recipient (550 5.1.1)", permanent=True)


def dispatcher_for(uow_factory, mailer, clock, **options) -> OutboxDispatcher:
    """Return a dispatcher over *uow_factory* delivering to *mailer*."""
    return OutboxDispatcher(uow_factory, mailer, clock, SENDER, **options)


SENDER = "L'Échoppe <ne-pas-repondre@lechoppe.fr>"


def request_and_confirm(service, auth, email="jean.dupont@exemple.fr"):
    """Run a reset up to its second mail; return the temporary password."""
    auth.request_password_reset(email)
    (confirm,) = [m for m in pending(service) if m.kind is MailKind.RESET_CONFIRM]
    auth.confirm_password_reset(links(confirm)["confirmer"])
    (second,) = [m for m in pending(service) if m.kind is MailKind.TEMPORARY_PASSWORD]
    return temporary_password(second)


def test_a_permanent_refusal_is_dead_lettered_at_once(
    scripted, service, uow_factory, clock
):
    """O1: a permanent refusal is tried once, then listed as a dead letter."""
    mailer = scripted(refused)
    dispatcher = dispatcher_for(uow_factory, mailer, clock)
    account = service.register(form())
    assert dispatcher.dispatch() == DispatchReport(sent=0, failed=0, dead=1)
    clock.advance(timedelta(days=30))
    assert dispatcher.dispatch() == DispatchReport(0, 0)
    assert len(mailer.attempts) == 1
    assert dispatcher.stats() == OutboxStats(pending=0, oldest_due=None, dead=1)
    (letter,) = dispatcher.dead_letters()
    assert letter.id == mailer.attempts[0]
    assert (letter.kind, letter.to, letter.attempts) == (
        MailKind.WELCOME,
        account.email.address,
        1,
    )
    assert letter.last_error.startswith("refused for good: ")
    assert "550 5.1.1" in letter.last_error
    assert letter.created_at <= letter.dead_at


def test_transient_failures_stop_after_the_retry_window(service, dispatcher, clock):
    """O1: a mail failing for a moment is retried with backoff for 72 h, then dead."""
    dispatcher.mailer.failing = True
    service.register(form())
    start = clock.now()
    rounds = 0
    while dispatcher.stats().dead == 0:
        rounds += 1
        assert rounds < 300, "the mail is never given up"
        dispatcher.dispatch()
        clock.advance(timedelta(minutes=30))
    (letter,) = dispatcher.dead_letters()
    assert letter.dead_at - start >= dispatcher.retry_window
    assert letter.dead_at - start < dispatcher.retry_window + dispatcher.max_delay * 2
    # Backoff, not one attempt per round: about one an hour once it is old.
    assert letter.attempts < 72 + 20
    assert "still failing after 3 days" in letter.last_error
    assert dispatcher.stats().pending == 0


def test_the_retry_window_is_a_setting(uow_factory, clock, mailer, shop_settings):
    """O1: ``Settings.outbox_retry_window`` bounds bootstrap's dispatcher's retries."""
    settings = attrs.evolve(
        shop_settings, outbox_retry_window=timedelta(minutes=5), outbox_key=bytes(32)
    )
    app = bootstrap(uow_factory, mailer, settings, clock=clock, hasher=FAST_HASHER)
    assert app.dispatcher.retry_window == timedelta(minutes=5)
    app.accounts.register(form())
    mailer.failing = True
    assert app.dispatcher.dispatch().failed == 1
    clock.advance(timedelta(minutes=6))
    assert app.dispatcher.dispatch().dead == 1


def test_dead_letters_are_requeued_with_a_fresh_window(
    scripted, service, uow_factory, clock
):
    """O1: a requeued dead letter goes out; requeue and purge say how many."""
    mailer = scripted(refused)
    dispatcher = dispatcher_for(uow_factory, mailer, clock)
    for i in range(3):
        service.register(form(email=f"client{i}@exemple.fr"))
    assert dispatcher.dispatch().dead == 3
    first = dispatcher.dead_letters()[0].id
    with pytest.raises(TypeError, match="collection"):
        dispatcher.requeue(first)
    clock.advance(timedelta(days=4))  # past the window of the first attempt
    assert dispatcher.requeue([first]) == 1
    mailer.outcome = lambda _: None
    assert dispatcher.dispatch() == DispatchReport(sent=1, failed=0)
    assert [m.id for m in mailer.sent] == [first]
    assert dispatcher.purge_dead(before=clock.now() - timedelta(days=5)) == 0
    assert dispatcher.purge_dead(before=clock.now()) == 2
    assert dispatcher.stats() == OutboxStats(0, None, 0)
    assert dispatcher.requeue() == 0


def test_requeue_without_ids_takes_every_dead_letter(
    scripted, service, uow_factory, clock
):
    """O1: ``requeue()`` brings back every dead letter, due at once."""
    mailer = scripted(refused)
    dispatcher = dispatcher_for(uow_factory, mailer, clock)
    for i in range(3):
        service.register(form(email=f"client{i}@exemple.fr"))
    dispatcher.dispatch()
    assert dispatcher.requeue() == 3
    assert dispatcher.stats() == OutboxStats(3, clock.now(), 0)
    assert dispatcher.purge_dead() == 0


def test_stats_tell_how_far_behind_the_outbox_is(service, dispatcher, clock):
    """O1: pending mails, the oldest due time and dead letters, for health checks."""
    assert dispatcher.stats() == OutboxStats(0, None, 0)
    queued_at = clock.now()
    service.register(form())
    clock.advance(timedelta(minutes=1))
    service.register_express(express())
    assert dispatcher.stats() == OutboxStats(2, queued_at, 0)
    dispatcher.dispatch()
    assert dispatcher.stats() == OutboxStats(0, None, 0)


def test_mails_with_a_secret_carry_its_expiry(service, auth, privacy, clock):
    """O1: links and temporary passwords tell the outbox when they stop working."""
    now = clock.now()
    account = service.register(form())
    service.register_express(express())
    request_and_confirm(service, auth)
    privacy.request_newsletter_subscription(
        account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-1"
    )
    settings = service.settings
    expected = {
        MailKind.WELCOME: None,
        MailKind.SET_PASSWORD: now + settings.set_password_ttl,
        MailKind.RESET_CONFIRM: now + timedelta(hours=1),
        MailKind.TEMPORARY_PASSWORD: now + timedelta(hours=24),
        MailKind.NEWSLETTER_CONFIRM: now + settings.newsletter_confirm_ttl,
    }
    assert {m.kind: m.expires_at for m in pending(service)} == expected


def test_a_mail_whose_secret_expired_is_dropped_not_sent(service, auth, dispatcher):
    """O1: a reset link that expired while the server was down is never sent late."""
    service.register(form())
    auth.request_password_reset("jean.dupont@exemple.fr")
    dispatcher.mailer.failing = True
    assert dispatcher.dispatch().failed == 2
    dispatcher.mailer.failing = False
    dispatcher.clock.advance(timedelta(hours=1))
    assert dispatcher.dispatch() == DispatchReport(sent=1, failed=0, dropped=1)
    assert [m.kind for m in dispatcher.mailer.sent] == [MailKind.WELCOME]
    assert dispatcher.stats() == OutboxStats(0, None, 0)
    assert dispatcher.dead_letters() == []


def test_any_mailer_exception_is_contained_to_its_mail(
    scripted, service, uow_factory, clock, caplog
):
    """O3: a RuntimeError fails its mail only, logged without its message."""
    for i in range(3):
        service.register_express(express(f"client{i}@exemple.fr"))
    doomed = pending(service)[1]

    def crash(mail):
        # The worst a shop's mailer can do: quote the mail in its error.
        return RuntimeError(mail.text) if mail.id == doomed.id else None

    mailer = scripted(crash)
    dispatcher = dispatcher_for(uow_factory, mailer, clock)
    with caplog.at_level(logging.INFO, logger="echoppe_accounts.outbox"):
        assert dispatcher.dispatch() == DispatchReport(sent=2, failed=1)
    assert doomed.id not in {m.id for m in mailer.sent}
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert doomed.id in warning.getMessage()
    assert "RuntimeError" in warning.getMessage()
    assert link_token(doomed) not in caplog.text
    mailer.outcome = lambda _: None
    clock.advance(dispatcher.min_delay)
    assert dispatcher.dispatch().sent == 1  # retried like any transient failure


def test_a_connection_failure_ends_the_round(scripted, service, uow_factory, clock):
    """O3: the server unreachable costs one attempt per round, not one per mail."""
    for i in range(5):
        service.register(form(email=f"client{i}@exemple.fr"))

    def unreachable(_mail):
        return DeliveryError("the server did not answer in time", connection=True)

    mailer = scripted(unreachable)
    dispatcher = dispatcher_for(uow_factory, mailer, clock)
    assert dispatcher.dispatch() == DispatchReport(sent=0, failed=1)
    assert len(mailer.attempts) == 1
    # The four others were released, due at once, no attempt counted.
    with uow_factory() as tx:
        released = tx.outbox.due(clock.now(), 10)
    assert len(released) == 4
    assert mailer.attempts[0] not in {m.id for m in released}
    mailer.outcome = lambda _: None
    assert dispatcher.dispatch().sent == 4
    clock.advance(dispatcher.min_delay)
    assert dispatcher.dispatch().sent == 1


def test_a_batch_never_outlives_its_lease(scripted, service, uow_factory, clock):
    """O1: a mail whose claim lapsed mid-batch is left to the rival that took it."""
    for i in range(3):
        service.register(form(email=f"client{i}@exemple.fr"))
    lease = timedelta(minutes=5)
    rival_mailer = scripted()
    rival = dispatcher_for(uow_factory, rival_mailer, clock, lease=lease)
    rival_rounds = []

    def slow(_mail):
        # The first send takes two minutes (more than half the lease is
        # left: the batch is not renewed), the second four: meanwhile the
        # batch's claim on the third mail lapses and a rival takes it.
        clock.advance(timedelta(minutes=2 * len(mailer.attempts)))
        if len(mailer.attempts) == 2:
            rival_rounds.append(rival.dispatch())

    mailer = scripted(on_send=slow)
    dispatcher = dispatcher_for(uow_factory, mailer, clock, lease=lease)
    assert dispatcher.dispatch() == DispatchReport(sent=2, failed=0)
    assert rival_rounds == [DispatchReport(sent=1, failed=0)]
    ids = [m.id for m in mailer.sent + rival_mailer.sent]
    assert sorted(ids) == sorted(m.id for m in mailer.sent + rival_mailer.sent)
    assert len(set(ids)) == len(ids) == 3
    assert dispatcher.stats().pending == 0


def test_two_dispatchers_with_a_slow_mailer_send_each_mail_once(scripted, uow_factory):
    """O1: sends slower than lease/batch, real clock: every mail goes exactly once."""
    clock = SystemClock()
    with uow_factory() as tx:
        for i in range(20):
            tx.outbox.add(mail(f"client{i}@exemple.fr", at=clock.now()))
        tx.commit()
    lease = timedelta(seconds=0.5)

    def slow(_mail):
        time.sleep(0.1)  # a batch of ten takes 1 s: twice the lease

    received: list[str] = []
    lock = threading.Lock()

    def record(mail):
        with lock:
            received.append(mail.id)

    mailer = scripted(on_send=lambda m: (slow(m), record(m)))
    dispatchers = [
        dispatcher_for(uow_factory, mailer, clock, lease=lease) for _ in range(2)
    ]
    barrier = threading.Barrier(2)

    def run(dispatcher, limit):
        barrier.wait()
        for _ in range(200):  # bounded: the outbox empties long before
            if dispatcher.stats().pending == 0:
                return
            dispatcher.dispatch(limit=limit)
            time.sleep(0.01)

    # Small batches come back for more while the large one is still going:
    # they find its lapsed claims, which it must then leave alone.
    threads = [
        threading.Thread(target=run, args=(d, limit))
        for d, limit in zip(dispatchers, (3, 10), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = Counter(received)
    assert len(counts) == 20
    assert set(counts.values()) == {1}


def test_a_body_sealed_with_another_key_becomes_a_dead_letter(
    service, uow_factory, clock, mailer
):
    """O2: restarted with another key, queued mails become dead letters, not lost."""
    service.register(form())
    restarted = dispatcher_for(uow_factory, mailer, clock, outbox_key=bytes(32))
    assert restarted.dispatch() == DispatchReport(sent=0, failed=0, dead=1)
    (letter,) = restarted.dead_letters()
    assert letter.last_error.startswith("unreadable")
    assert letter.attempts == 0
    assert mailer.sent == []
    # With the key back, the operator requeues the mail and it goes out.
    assert restarted.requeue() == 1
    assert dispatcher_for(uow_factory, mailer, clock).dispatch().sent == 1


def test_the_outbox_holds_bodies_sealed_and_bound_to_their_mail(service, uow_factory):
    """O2: stored bodies are sealed; moved to another row, a body does not open."""
    service.register(form())
    service.register_express(express())
    with uow_factory() as tx:
        welcome, set_password = tx.outbox.due(service.clock.now(), 10)
    assert is_sealed(welcome.text)
    assert is_sealed(set_password.html)
    assert "jeton=" not in set_password.text + set_password.html
    key = outbox_key(service.settings.outbox_key)
    assert link_token(unseal_mail(set_password, key))
    swapped = attrs.evolve(welcome, text=set_password.text)
    with pytest.raises(SealError):
        unseal_mail(swapped, key)


def test_a_round_logs_once_and_each_failure_once_without_secrets(
    scripted, service, auth, uow_factory, clock, caplog
):
    """O1, O4, R9: one DEBUG record per round, one WARNING per failure, no secret."""
    service.register(form())
    temporary = request_and_confirm(service, auth)
    tokens = [links(m)["confirmer"] for m in pending(service) if links(m)]
    mails = pending(service)

    def quoting(mail):
        return RuntimeError(f"{mail.to}: {mail.text}")

    mailer = scripted(quoting)
    dispatcher = dispatcher_for(uow_factory, mailer, clock)
    with caplog.at_level(logging.DEBUG, logger="echoppe_accounts"):
        report = dispatcher.dispatch()
        clock.advance(timedelta(hours=2))  # the reset link has expired
        mailer.outcome = lambda _: None
        dispatcher.dispatch()
        dispatcher.dispatch()  # nothing left: a quiet round
    rounds = [r for r in caplog.records if "outbox round" in r.getMessage()]
    assert [r.levelno for r in rounds] == [logging.DEBUG] * 3  # summed up by the worker
    assert f"failed={report.failed}" in rounds[0].getMessage()
    assert "dropped=1" in rounds[1].getMessage()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(mails) + 1  # each failure, then the drop
    assert all(r.name == "echoppe_accounts.outbox" for r in warnings)
    logged = caplog.text
    for secret in [*tokens, temporary, temporary.replace("-", "")]:
        assert secret not in logged
    assert "jean.dupont@exemple.fr" not in logged
    assert "Bonjour" not in logged


class _MarkWatch:
    """The outbox repository of a unit of work, noting whether it marked a mail sent."""

    def __init__(self, inner, uow: _CommitFailsOnceUoW) -> None:
        self._inner = inner
        self._uow = uow

    def mark_sent(self, *args, **kwargs):
        self._uow.marked = True
        return self._inner.mark_sent(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


class _CommitFailsOnceUoW:
    """A unit of work whose commit fails once it has marked a mail sent, once."""

    def __init__(self, owner: CommitFailsOnce, inner) -> None:
        self._owner = owner
        self._inner = inner
        self.marked = False

    def __enter__(self):
        self._inner.__enter__()
        return self

    def __exit__(self, *exc):
        return self._inner.__exit__(*exc)

    @property
    def outbox(self):
        return _MarkWatch(self._inner.outbox, self)

    def commit(self) -> None:
        if self.marked and not self._owner.failed:
            self._owner.failed = True
            msg = "the disk said no"
            raise StorageError(msg, retryable=True)
        self._inner.commit()

    def __getattr__(self, name):
        return getattr(self._inner, name)


@attrs.define
class CommitFailsOnce:
    """A unit-of-work factory whose first commit of a "sent" mark fails."""

    factory: Callable[..., object]
    failed: bool = False

    def __call__(self, **options) -> _CommitFailsOnceUoW:
        return _CommitFailsOnceUoW(self, self.factory(**options))


def test_a_sent_mark_whose_commit_fails_is_written_again(
    scripted, service, uow_factory, clock
):
    """O1: a mail's "sent" mark lost to a failed commit is written by the round's end.

    Otherwise the mail would stay claimed, and be sent a second time once
    its lease lapsed.
    """
    for i in range(2):
        service.register(form(email=f"client{i}@exemple.fr"))
    mailer = scripted()
    flaky = CommitFailsOnce(uow_factory)
    dispatcher = dispatcher_for(flaky, mailer, clock)
    with pytest.raises(StorageError):
        dispatcher.dispatch()
    assert flaky.failed
    clock.advance(dispatcher.lease * 3)
    while dispatcher.dispatch().sent:
        clock.advance(dispatcher.lease * 3)
    assert len(mailer.sent) == 2
    assert len({m.id for m in mailer.sent}) == 2
