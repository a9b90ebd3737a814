"""The SMTP mailer against a real SMTP server on loopback (aiosmtpd), not a mock."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import smtplib
import socket
import ssl
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from echoppe_accounts import (
    DeliveryError,
    DispatchReport,
    MailKind,
    OutboxDispatcher,
    OutboxStats,
    OutgoingMail,
    SMTPMailer,
    StorageError,
)
from echoppe_accounts.adapters import memory
from echoppe_accounts.adapters.mime import message_id
from echoppe_accounts.domain import fast
from sample_forms import express, form
from smtp_server import (
    HOST,
    PASSWORD,
    USERNAME,
    Certificates,
    GroupingServer,
    LoopbackSMTP,
    SilentServer,
    make_certificates,
)

pytestmark = pytest.mark.smtp

SENDER = "L’Échoppe <bonjour@lechoppe.fr>"
SUBJECT = "Réinitialisation de votre mot de passe — L’Échoppe"
TOKEN = "jeton-tres-secret-0123456789"


def outgoing(n: int = 0, to: str = "helene.mercier@exemple.fr") -> OutgoingMail:
    """Return a reset mail with a French subject and a token in both bodies."""
    link = f"https://www.lechoppe.fr/mot-de-passe/confirmer?jeton={TOKEN}{n}"
    return OutgoingMail(
        id=f"{n:032x}",
        kind=MailKind.RESET_CONFIRM,
        to=to,
        subject=SUBJECT,
        text=f"Bonjour Hélène,\n\nConfirmez la demande : {link}\n",
        html=f'<p>Bonjour Hélène,</p><p><a href="{link}">Confirmer</a></p>',
        created_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Certificates:
    """A throwaway CA and a certificate for 127.0.0.1, made once per module."""
    made = make_certificates(tmp_path_factory.mktemp("certificates"))
    if made is None:
        reason = "the openssl command is needed to make a test certificate"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)  # CI must really exercise TLS, never skip it
        pytest.skip(reason)
    return made


@contextmanager
def running(**options) -> Iterator[LoopbackSMTP]:
    """Run a loopback server for one test and stop it whatever happens."""
    with LoopbackSMTP(**options) as server:
        yield server


@pytest.fixture(params=[False, True], ids=["one-command-a-time", "pipelining"])
def plain_server(request) -> Iterator[LoopbackSMTP]:
    """A server without TLS, as a local relay; with PIPELINING (RFC 2920) or not."""
    with running(pipelining=request.param) as server:
        yield server


@pytest.fixture
def starttls_server(certificates) -> Iterator[LoopbackSMTP]:
    """A server offering STARTTLS and, once encrypted, AUTH."""
    with running(starttls=certificates.server_context(), auth=True) as server:
        yield server


@pytest.fixture
def tls_server(certificates) -> Iterator[LoopbackSMTP]:
    """A server speaking TLS from the first byte (SMTPS), with AUTH."""
    with running(implicit_tls=certificates.server_context(), auth=True) as server:
        yield server


@pytest.fixture
def fast_paths() -> Iterator[None]:
    """The fast paths on, whatever ``ECHOPPE_FAST_PATHS`` says.

    Only a mail written directly is pipelined and heard from later: with
    the fast paths off, ``send_message`` sends it one command at a time
    and reads the verdict itself.
    """
    was = fast.enabled()
    fast.set_enabled(True)
    try:
        yield
    finally:
        fast.set_enabled(was)


def plain_mailer(server: LoopbackSMTP, **options) -> SMTPMailer:
    """Return a mailer to *server* without encryption."""
    return SMTPMailer(
        HOST, server.port, security="plain", local_hostname="shop.test", **options
    )


def secure_mailer(
    server: LoopbackSMTP, certificates: Certificates, **options
) -> SMTPMailer:
    """Return a mailer to *server* trusting the test authority."""
    options.setdefault("username", USERNAME)
    options.setdefault("password", PASSWORD)
    return SMTPMailer(
        HOST,
        server.port,
        ssl_context=certificates.client_context(),
        local_hostname="shop.test",
        **options,
    )


# -- the message ------------------------------------------------------------------


def test_a_mail_arrives_with_its_envelope_headers_and_both_parts(plain_server):
    """Envelope, French subject and sender, both parts and the stable Message-ID."""
    mail = outgoing()
    with plain_mailer(plain_server) as mailer:
        mailer.send(mail, SENDER)
    (received,) = plain_server.handler.received
    assert received.mail_from == "bonjour@lechoppe.fr"
    assert received.rcpt_tos == ["helene.mercier@exemple.fr"]
    assert not received.smtp_utf8
    assert received.content.isascii()  # French words travel as encoded words
    message = received.message
    assert message["Subject"] == SUBJECT
    assert message["From"].addresses[0].display_name == "L’Échoppe"
    assert message["To"] == "helene.mercier@exemple.fr"
    assert message["Message-ID"] == message_id(mail, SENDER)
    assert message["Message-ID"] == f"<{mail.id}@lechoppe.fr>"
    assert message.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in message.iter_parts()}
    assert (
        parts["text/plain"].splitlines() == mail.text.splitlines()
    )  # CRLF on the wire
    assert parts["text/html"].splitlines() == mail.html.splitlines()


def test_lines_starting_with_a_period_arrive_as_written(plain_server):
    """RFC 5321 4.5.2: a leading period is doubled on the wire, undone on arrival."""
    text = ".\n..deux points\n.trois\nfin.\n"
    mail = attrs.evolve(outgoing(), text=text, html="<p>.</p>\n.\n")
    with plain_mailer(plain_server) as mailer:
        mailer.send(mail, SENDER)
    (received,) = plain_server.handler.received
    parts = {
        p.get_content_type(): p.get_content() for p in received.message.iter_parts()
    }
    assert parts["text/plain"].splitlines() == text.splitlines()
    assert parts["text/html"].splitlines() == ["<p>.</p>", "."]


@pytest.mark.parametrize(
    "smuggled",
    [
        "\r\n.\r\nMAIL FROM:<x@evil.test>\r\nRCPT TO:<y@exemple.fr>\r\nDATA\r\n",
        "\n.\nMAIL FROM:<x@evil.test>\n",
        "\r.\rMAIL FROM:<x@evil.test>\r",
        "\n.\r\nRCPT TO:<y@exemple.fr>\r\n",
        "é\r\n.\r\nQUIT\r\n" * 3,
    ],
    ids=["crlf", "lf", "cr", "lf-crlf", "quoted-printable"],
)
def test_no_end_of_data_can_be_smuggled_in_a_body(plain_server, smuggled):
    """SMTP smuggling (CVE-2023-51764 class): a body never ends the message early.

    Every line of the bytes sent ends with CRLF, none is a lone period, so
    the server reads one message, with the body as written, and nothing
    after it as commands.
    """
    mail = attrs.evolve(outgoing(), text=f"Bonjour{smuggled}fin\n")
    with plain_mailer(plain_server) as mailer:
        mailer.send(mail, SENDER)
    (received,) = plain_server.handler.received
    assert received.mail_from == "bonjour@lechoppe.fr"
    assert received.rcpt_tos == ["helene.mercier@exemple.fr"]
    assert b"\n" not in received.content.replace(b"\r\n", b"")
    assert b"\r" not in received.content.replace(b"\r\n", b"")
    (text, _) = list(received.message.iter_parts())
    assert text.get_content().splitlines() == mail.text.splitlines()


def test_the_same_mail_sent_again_keeps_its_message_id(plain_server):
    """A retried mail carries the same Message-ID, so duplicates can be spotted."""
    mail = outgoing(7)
    with plain_mailer(plain_server) as mailer:
        mailer.send(mail, SENDER)
        mailer.send(mail, SENDER)
    first, second = plain_server.handler.message_ids()
    assert first == second == message_id(mail, SENDER)


# -- encryption -------------------------------------------------------------------


def test_starttls_encrypts_before_the_login_and_the_mail(starttls_server, certificates):
    """The default mode upgrades with STARTTLS, checks the certificate, logs in."""
    with secure_mailer(starttls_server, certificates) as mailer:
        assert mailer.security == "starttls"
        mailer.send(outgoing(), SENDER)
    (received,) = starttls_server.handler.received
    assert received.encrypted
    assert received.authenticated
    assert received.message["Subject"] == SUBJECT
    assert starttls_server.handler.logins == [(USERNAME.encode(), True)]


def test_implicit_tls(tls_server, certificates):
    """``security="tls"`` speaks TLS from the first byte (SMTPS)."""
    with secure_mailer(tls_server, certificates, security="tls") as mailer:
        mailer.send(outgoing(), SENDER)
    (received,) = tls_server.handler.received
    assert received.encrypted
    assert received.authenticated


def test_starttls_mode_refuses_a_server_that_does_not_offer_it(plain_server):
    """Without STARTTLS on offer, nothing is sent: no login, no mail."""
    mailer = SMTPMailer(HOST, plain_server.port, local_hostname="shop.test")
    with mailer, pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        mailer.send(outgoing(), SENDER)
    assert plain_server.handler.received == []
    assert plain_server.handler.logins == []


def test_an_untrusted_certificate_is_refused(starttls_server):
    """The default context trusts the system's authorities, not a test CA."""
    mailer = SMTPMailer(
        HOST,
        starttls_server.port,
        username=USERNAME,
        password=PASSWORD,
        local_hostname="shop.test",
    )
    with mailer, pytest.raises(DeliveryError, match="certificate") as info:
        mailer.send(outgoing(), SENDER)
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert starttls_server.handler.received == []
    assert starttls_server.handler.logins == []


# -- authentication ---------------------------------------------------------------


def test_wrong_credentials_are_a_delivery_error(starttls_server, certificates):
    """A refused login fails the mail, with the reply code and no password."""
    mailer = secure_mailer(starttls_server, certificates, password="pas le bon")
    with mailer, pytest.raises(DeliveryError, match="refused the login") as info:
        mailer.send(outgoing(), SENDER)
    assert isinstance(info.value.__cause__, smtplib.SMTPAuthenticationError)
    assert info.value.connection  # every mail would fail alike (O3)
    assert "pas le bon" not in str(info.value)
    logins = starttls_server.handler.logins  # smtplib tries PLAIN, then LOGIN
    assert logins
    assert all(login == (USERNAME.encode(), False) for login in logins)
    assert starttls_server.handler.received == []


def test_the_password_is_not_in_the_repr(certificates):
    """The mailer's repr shows where mail goes, never the password."""
    mailer = SMTPMailer(
        "smtp.exemple.fr",
        username=USERNAME,
        password=PASSWORD,
        ssl_context=certificates.client_context(),
    )
    assert PASSWORD not in repr(mailer)
    assert "smtp.exemple.fr" in repr(mailer)
    assert mailer.port == 587
    assert mailer.timeout == 30.0


@pytest.mark.parametrize(
    "options",
    [
        {"security": "plain", "username": USERNAME, "password": PASSWORD},
        {"security": "ssl"},
        {"username": USERNAME},
        {"password": PASSWORD},
    ],
    ids=["credentials-in-clear", "unknown-mode", "no-password", "no-username"],
)
def test_a_wrong_configuration_is_refused_at_once(options):
    """Credentials in clear, unknown modes and half credentials are refused."""
    with pytest.raises(ValueError, match=r"credentials|security|username"):
        SMTPMailer("smtp.exemple.fr", **options)


# -- connection reuse -------------------------------------------------------------


def test_a_batch_uses_one_connection(starttls_server, certificates):
    """Several mails share one connection, one handshake and one login."""
    with secure_mailer(starttls_server, certificates) as mailer:
        for n in range(5):
            mailer.send(outgoing(n), SENDER)
    handler = starttls_server.handler
    assert len(handler.received) == 5
    assert len(handler.connections) == 1
    assert len(handler.logins) == 1
    assert handler.quits == 1  # closed politely


def test_a_connection_closed_by_the_server_is_reopened(starttls_server, certificates):
    """After a server-side disconnect, the next mail goes through a new connection."""
    with secure_mailer(starttls_server, certificates) as mailer:
        mailer.send(outgoing(1), SENDER)
        starttls_server.drop_connections()
        mailer.send(outgoing(2), SENDER)
        mailer.send(outgoing(3), SENDER)
    handler = starttls_server.handler
    assert handler.message_ids() == [message_id(outgoing(n), SENDER) for n in (1, 2, 3)]
    assert len(handler.connections) == 2
    assert len(handler.logins) == 2


def test_the_dispatcher_closes_the_connection_after_each_round(
    plain_server, service, uow_factory, clock
):
    """One connection per dispatch round, closed at its end."""
    mailer = plain_mailer(plain_server)
    dispatcher = OutboxDispatcher(uow_factory, mailer, clock, SENDER)
    for n in range(3):
        service.register_express(express(f"client{n}@exemple.fr"))
    assert dispatcher.dispatch().sent == 3
    assert (len(plain_server.handler.connections), plain_server.handler.quits) == (1, 1)
    service.register_express(express("client3@exemple.fr"))
    assert dispatcher.dispatch().sent == 1
    assert (len(plain_server.handler.connections), plain_server.handler.quits) == (2, 2)
    assert dispatcher.dispatch().sent == 0
    assert len(plain_server.handler.connections) == 2  # nothing due, no connection


# -- internationalised addresses --------------------------------------------------


def test_an_internationalised_address_goes_with_smtputf8(plain_server):
    """``léa@exemple.fr`` is sent with SMTPUTF8 and arrives as written."""
    with plain_mailer(plain_server) as mailer:
        mailer.send(outgoing(to="léa@exemple.fr"), SENDER)
    (received,) = plain_server.handler.received
    assert received.smtp_utf8
    assert received.rcpt_tos == ["léa@exemple.fr"]
    assert received.message["To"] == "léa@exemple.fr"
    assert received.message["Subject"] == SUBJECT


def test_without_smtputf8_only_the_internationalised_mail_fails():
    """A server without SMTPUTF8 fails that mail alone; the connection goes on."""
    with running(smtputf8=False) as server:
        with plain_mailer(server) as mailer:
            with pytest.raises(DeliveryError, match="SMTPUTF8") as info:
                mailer.send(outgoing(1, to="léa@exemple.fr"), SENDER)
            assert isinstance(info.value.__cause__, smtplib.SMTPNotSupportedError)
            assert info.value.permanent
            mailer.send(outgoing(2), SENDER)
        assert server.handler.message_ids() == [message_id(outgoing(2), SENDER)]
        assert len(server.handler.connections) == 1


# -- failures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("550 5.1.1 Unknown mailbox, see jeton-tres-secret", "550 5.1.1"),
        ("451 4.3.0 Try again later", "451 4.3.0"),
    ],
    ids=["permanent", "temporary"],
)
def test_a_refused_recipient_is_a_delivery_error(plain_server, reply, code):
    """5xx refusals are permanent, 4xx not; codes but no words or body (O1)."""
    plain_server.handler.refusal = reply
    mail = outgoing()
    with plain_mailer(plain_server) as mailer:
        with pytest.raises(DeliveryError) as info:
            mailer.send(mail, SENDER)
        plain_server.handler.refusal = None
        mailer.send(outgoing(1), SENDER)  # the same connection carries on
    message = str(info.value)
    assert info.value.permanent is code.startswith("5")
    assert not info.value.connection
    assert code in message
    assert mail.id in message
    assert TOKEN not in message
    assert "Bonjour" not in message
    assert isinstance(info.value.__cause__, smtplib.SMTPRecipientsRefused)
    assert len(plain_server.handler.received) == 1
    assert len(plain_server.handler.connections) == 1


def test_a_line_dropped_during_a_mail_fails_that_mail_only(plain_server):
    """A line dropped mid-mail is a connection failure (O3); the next reconnects."""
    plain_server.handler.drop_next_data = True
    with plain_mailer(plain_server) as mailer:
        with pytest.raises(DeliveryError, match="closed the connection") as info:
            mailer.send(outgoing(1), SENDER)
        assert isinstance(info.value.__cause__, smtplib.SMTPServerDisconnected)
        assert info.value.connection
        assert not info.value.permanent
        mailer.send(outgoing(2), SENDER)
    assert plain_server.handler.message_ids() == [message_id(outgoing(2), SENDER)]
    assert len(plain_server.handler.connections) == 2


def test_a_mail_that_cannot_be_built_fails_without_a_connection(plain_server):
    """A broken mail is a DeliveryError for the outbox, not a crash of the round."""
    broken = attrs.evolve(outgoing(), to="jean@exemple.fr\r\nBcc: x@exemple.fr")
    mailer = plain_mailer(plain_server)
    with mailer, pytest.raises(DeliveryError, match="cannot be built") as info:
        mailer.send(broken, SENDER)
    assert info.value.permanent  # never buildable: dead-lettered at once (O1)
    assert plain_server.handler.connections == []


def test_a_refused_sender_is_a_delivery_error(plain_server):
    """A 5xx reply to ``MAIL FROM`` is permanent; the connection carries on."""
    plain_server.handler.sender_refusal = "553 5.7.1 Sender not allowed"
    with plain_mailer(plain_server) as mailer:
        with pytest.raises(DeliveryError, match=r"553 5\.7\.1") as info:
            mailer.send(outgoing(1), SENDER)
        plain_server.handler.sender_refusal = None
        mailer.send(outgoing(2), SENDER)
    assert info.value.permanent
    assert not info.value.connection
    assert isinstance(info.value.__cause__, smtplib.SMTPSenderRefused)
    assert "refused the sender" in str(info.value)
    assert plain_server.handler.message_ids() == [message_id(outgoing(2), SENDER)]
    assert len(plain_server.handler.connections) == 1


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("554 5.7.1 Rejected, see jeton-tres-secret", True), ("452 4.3.1 Full", False)],
    ids=["permanent", "temporary"],
)
def test_a_refused_message_is_a_delivery_error(plain_server, reply, permanent):
    """A refusal of the message itself, once read: its code, never its words."""
    plain_server.handler.message_refusal = reply
    with plain_mailer(plain_server) as mailer:
        with pytest.raises(DeliveryError, match="refused the message") as info:
            mailer.send(outgoing(1), SENDER)
        plain_server.handler.message_refusal = None
        mailer.send(outgoing(2), SENDER)
    assert info.value.permanent is permanent
    assert isinstance(info.value.__cause__, smtplib.SMTPDataError)
    assert "jeton" not in str(info.value)
    assert plain_server.handler.message_ids() == [message_id(outgoing(2), SENDER)]
    assert len(plain_server.handler.connections) == 1


def _unbuildable() -> OutgoingMail:
    """A mail with plain addresses ``EmailMessage`` cannot write (a lone surrogate)."""
    return attrs.evolve(outgoing(), text="Bonjour \udce9 Hélène\n")


def test_a_mail_with_plain_addresses_that_cannot_be_built_fails_for_good(
    plain_server,
):
    """Built only once the connection is open, it fails alone, with nothing sent."""
    with plain_mailer(plain_server) as mailer:
        with pytest.raises(DeliveryError, match="cannot be built") as info:
            mailer.send(_unbuildable(), SENDER)
        assert info.value.permanent
        assert not info.value.connection
        mailer.send(outgoing(2), SENDER)
    assert plain_server.handler.message_ids() == [message_id(outgoing(2), SENDER)]


# -- two steps: the caller's work while the server answers ---------------------------


def test_a_mail_whose_caller_is_not_ready_is_not_sent(plain_server):
    """``ready`` false (the outbox's claim lapsed): nothing of the mail arrives."""
    calls = []

    def not_ready() -> bool:
        calls.append(len(plain_server.handler.received))
        return False

    with plain_mailer(plain_server) as mailer:
        wait = mailer.start_send(outgoing(1), SENDER, ready=not_ready)
        wait()  # nothing to hear
        mailer.send(outgoing(2), SENDER)  # the mailer goes on
    assert calls == [0]
    assert plain_server.handler.message_ids() == [message_id(outgoing(2), SENDER)]


def test_a_caller_failing_in_ready_frees_the_mailer(plain_server):
    """``ready`` raising (the outbox's storage): nothing sent, the error passes."""

    def broken() -> bool:
        msg = "the storage is down"
        raise RuntimeError(msg)

    with plain_mailer(plain_server) as mailer:
        with pytest.raises(RuntimeError, match="storage is down"):
            mailer.start_send(outgoing(1), SENDER, ready=broken)
        mailer.send(outgoing(2), SENDER)
    assert plain_server.handler.message_ids() == [message_id(outgoing(2), SENDER)]


@pytest.mark.usefixtures("fast_paths")
def test_the_verdict_comes_when_asked(plain_server):
    """A refusal of the message is raised by the wait, not by ``start_send``."""
    plain_server.handler.message_refusal = "554 5.7.1 Rejected"
    with plain_mailer(plain_server) as mailer:
        wait = mailer.start_send(outgoing(1), SENDER, ready=lambda: True)
        with pytest.raises(DeliveryError, match=r"554 5\.7\.1") as info:
            wait()
        plain_server.handler.message_refusal = None
        mailer.start_send(outgoing(2), SENDER)()
    assert info.value.permanent
    assert plain_server.handler.message_ids() == [message_id(outgoing(2), SENDER)]


def test_a_verdict_asked_twice_leaves_the_next_mail_alone(plain_server):
    """A stale wait neither reads the next mail's reply nor frees its lock."""
    with plain_mailer(plain_server, timeout=3) as mailer:
        stale = mailer.start_send(outgoing(1), SENDER)
        stale()
        wait = mailer.start_send(outgoing(2), SENDER)  # the mailer's next mail
        with pytest.raises(RuntimeError, match="already asked"):
            stale()
        started = time.monotonic()
        wait()  # its own reply, unread by the stale wait
        assert time.monotonic() - started < 2
        assert not mailer._lock.locked()
    assert plain_server.handler.message_ids() == [
        message_id(outgoing(n), SENDER) for n in (1, 2)
    ]


# -- pipelining (RFC 2920) -----------------------------------------------------------


def grouping_mailer(server: GroupingServer) -> SMTPMailer:
    """Return a mailer to *server* that gives up on a silent reply in 2 seconds."""
    return SMTPMailer(
        HOST, server.port, security="plain", local_hostname="shop.test", timeout=2
    )


@pytest.mark.usefixtures("fast_paths")
def test_a_pipelining_server_gets_the_envelope_and_data_in_one_group():
    """The server answers MAIL and RCPT only with DATA: the mails still go.

    A client waiting for each reply before its next command would wait for
    ever on this server, which answers a group only once it is whole.
    """
    with GroupingServer() as server:
        with grouping_mailer(server) as mailer:
            mailer.send(outgoing(1), SENDER)
            mailer.send(outgoing(2, to="jean@exemple.fr"), SENDER)
        assert server.connections == 1
        first, second = (
            email.message_from_bytes(m, policy=email.policy.default)
            for m in server.messages
        )
    assert first["Message-ID"] == message_id(outgoing(1), SENDER)
    assert second["To"] == "jean@exemple.fr"
    assert "MAIL FROM:<bonjour@lechoppe.fr>" in server.commands
    assert "RCPT TO:<jean@exemple.fr>" in server.commands


@pytest.mark.usefixtures("fast_paths")
def test_a_server_taking_data_after_a_refused_recipient_gets_no_message():
    """RFC 2920 forbids a 354 after a refusal; a server giving one gets nothing.

    The message is ended at once, empty, the transaction reset, and the
    refusal reported as ``sendmail`` would; the next mail goes as usual.
    """
    refusal = b"550 5.1.1 Unknown mailbox, see jeton-tres-secret\r\n"
    with GroupingServer({"RCPT": refusal, "DATA": b"354 Go\r\n"}) as server:
        with grouping_mailer(server) as mailer:
            with pytest.raises(DeliveryError, match=r"550 5\.1\.1") as info:
                mailer.send(outgoing(1), SENDER)
            server.replies.clear()
            mailer.send(outgoing(2), SENDER)
        assert server.messages[0] == b""  # nothing of the refused mail
        assert len(server.messages) == 2
        assert [c.upper() for c in server.commands].count("RSET") == 1
        assert server.connections == 1
    assert info.value.permanent
    assert isinstance(info.value.__cause__, smtplib.SMTPRecipientsRefused)
    assert "jeton" not in str(info.value)


@pytest.mark.usefixtures("fast_paths")
def test_a_mail_withdrawn_once_the_server_waits_for_it_is_never_ended():
    """``ready`` false after DATA was accepted: the line drops, nothing arrives."""
    with GroupingServer() as server:
        with grouping_mailer(server) as mailer:
            mailer.start_send(outgoing(1), SENDER, ready=lambda: False)()
            mailer.send(outgoing(2), SENDER)
        assert len(server.messages) == 1
        assert server.connections == 2


@pytest.mark.usefixtures("fast_paths")
def test_an_unbuildable_mail_is_never_ended_on_a_pipelining_server():
    """Its envelope went before the message was written: the line is dropped.

    A message the client never ends is kept by no server; the next mail
    goes on a new connection.
    """
    with GroupingServer() as server:
        with grouping_mailer(server) as mailer:
            with pytest.raises(DeliveryError, match="cannot be built") as info:
                mailer.send(_unbuildable(), SENDER)
            mailer.send(outgoing(2), SENDER)
        assert len(server.messages) == 1
        assert server.connections == 2
    assert info.value.permanent


@pytest.mark.usefixtures("fast_paths")
def test_a_wait_interrupted_before_the_reply_drops_the_line():
    """KeyboardInterrupt while the server reads the message: no reply read late.

    The reply arriving after the interruption would otherwise answer the
    next command, and every reply after it would be one behind.
    """

    def interrupt(signum: int, frame: object) -> None:
        del signum, frame
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with GroupingServer() as server:
            server.slow = 0.5
            with grouping_mailer(server) as mailer:
                wait = mailer.start_send(outgoing(1), SENDER)
                signal.setitimer(signal.ITIMER_REAL, 0.1)
                with pytest.raises(KeyboardInterrupt):
                    wait()
                time.sleep(0.6)  # the late reply has arrived
                server.slow = 0
                mailer.send(outgoing(2), SENDER)
                mailer.send(outgoing(3), SENDER)
            assert len(server.messages) == 3
            assert server.connections == 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_implicit_tls_against_a_plain_port_fails_cleanly(plain_server, certificates):
    """TLS spoken to a server that does not speak it is a DeliveryError."""
    mailer = secure_mailer(plain_server, certificates, security="tls")
    with mailer, pytest.raises(DeliveryError, match="TLS") as info:
        mailer.send(outgoing(), SENDER)
    assert isinstance(info.value.__cause__, ssl.SSLError)
    assert plain_server.handler.received == []


def test_a_stopped_server_is_a_delivery_error(plain_server):
    """Nobody listening: DeliveryError, with the network error chained."""
    plain_server.stop()
    with plain_mailer(plain_server) as mailer, pytest.raises(DeliveryError) as info:
        mailer.send(outgoing(), SENDER)
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.connection  # the round ends (O3)
    assert TOKEN not in str(info.value)


def test_a_silent_server_times_out():
    """A server that accepts the connection but never answers fails in *timeout*."""
    with socket.create_server((HOST, 0)) as listener:  # never accepts: no greeting
        mailer = SMTPMailer(
            HOST,
            listener.getsockname()[1],
            security="plain",
            timeout=0.2,
            local_hostname="shop.test",
        )
        with (
            mailer,
            pytest.raises(DeliveryError, match="did not answer in time") as info,
        ):
            mailer.send(outgoing(), SENDER)
        assert info.value.connection


@pytest.mark.parametrize("outage", ["stopped", "refusing"])
def test_no_mail_is_lost_while_the_server_is_down(
    outage, auth, uow_factory, clock, shop_settings
):
    """200 reset mails survive an outage, then arrive once each."""
    with LoopbackSMTP() as server:
        mailer = plain_mailer(server)
        dispatcher = OutboxDispatcher(uow_factory, mailer, clock, shop_settings.sender)
        for n in range(200):
            auth.request_password_reset(f"inconnu{n}@exemple.fr")
        with uow_factory() as uow:
            queued = uow.outbox.due(clock.now(), 1000)
        assert len(queued) == 200
        assert {m.kind for m in queued} == {MailKind.RESET_UNKNOWN_EMAIL}
        expected = {message_id(m, shop_settings.sender) for m in queued}

        if outage == "stopped":
            server.stop()
        else:
            server.handler.refusal = "451 4.3.2 System not accepting network messages"
        # A refusal fails each mail; a stopped server fails the mail in hand
        # and ends the round (SPEC O3): one mail per round then.
        failed = 0
        for _ in range(250):
            report = dispatcher.dispatch()
            assert (report.sent, report.dead) == (0, 0)
            if report.failed == 0:
                break
            failed += report.failed
        assert failed == 200
        with uow_factory() as uow:
            assert uow.outbox.pending_count() == 200  # nothing lost

        if outage == "stopped":
            server.start()
        else:
            server.handler.refusal = None
        clock.advance(dispatcher.max_delay)
        sent = 0
        for _ in range(10):
            report = dispatcher.dispatch()
            assert report.failed == 0
            if report.sent == 0:
                break
            sent += report.sent
        assert sent == 200
        with uow_factory() as uow:
            assert uow.outbox.pending_count() == 0
        ids = Counter(server.handler.message_ids())
        assert set(ids) == expected
        assert set(ids.values()) == {1}  # exactly once each


# -- the outbox against real servers (SPEC O1, O3) --------------------------------


def outbox_dispatcher(uow_factory, mailer, clock) -> OutboxDispatcher:
    """Return a dispatcher over *uow_factory* delivering through *mailer*."""
    return OutboxDispatcher(uow_factory, mailer, clock, SENDER)


def test_a_550_refusal_is_dead_lettered_after_one_attempt(
    plain_server, service, uow_factory, clock
):
    """O1: a recipient refused with 550 is dead-lettered; the server sees it once."""
    plain_server.handler.refusal = "550 5.1.1 Unknown mailbox, see jeton-tres-secret"
    dispatcher = outbox_dispatcher(uow_factory, plain_mailer(plain_server), clock)
    service.register_express(express())
    assert dispatcher.dispatch() == DispatchReport(sent=0, failed=0, dead=1)
    for _ in range(5):
        clock.advance(dispatcher.max_delay)
        assert dispatcher.dispatch() == DispatchReport(0, 0)
    assert plain_server.handler.recipient_attempts == 1
    assert plain_server.handler.received == []
    (letter,) = dispatcher.dead_letters()
    assert "550 5.1.1" in letter.last_error
    assert "jeton" not in letter.last_error


def test_a_451_refusal_is_retried_until_the_window_closes(
    plain_server, service, uow_factory, clock
):
    """O1: a server refusing with 451 for days sees a bounded number of attempts."""
    plain_server.handler.refusal = "451 4.3.0 Try again later"
    dispatcher = outbox_dispatcher(uow_factory, plain_mailer(plain_server), clock)
    service.register(form())
    rounds = 0
    while dispatcher.stats().dead == 0:
        rounds += 1
        assert rounds < 300, "the mail is never given up"
        dispatcher.dispatch()
        clock.advance(timedelta(minutes=30))
    attempts = plain_server.handler.recipient_attempts
    assert 10 < attempts < 72 + 20  # backoff: about one an hour once it is old
    (letter,) = dispatcher.dead_letters()
    assert letter.attempts == attempts
    assert "451 4.3.0" in letter.last_error


def test_a_line_dropped_after_the_data_delivers_again_with_one_message_id(
    plain_server, service, uow_factory, clock
):
    """O1: its fate unknown, the mail is sent again, with the same Message-ID."""
    plain_server.handler.drop_next_data = True
    plain_server.handler.keep_dropped = True  # the server got it, never said so
    dispatcher = outbox_dispatcher(uow_factory, plain_mailer(plain_server), clock)
    service.register_express(express())
    assert dispatcher.dispatch() == DispatchReport(sent=0, failed=1)
    clock.advance(dispatcher.min_delay)
    assert dispatcher.dispatch() == DispatchReport(sent=1, failed=0)
    first, second = plain_server.handler.message_ids()
    assert first == second
    assert first.endswith("@lechoppe.fr>")
    assert dispatcher.stats() == OutboxStats(0, None, 0)


def test_a_server_that_never_greets_costs_one_timeout_per_round(
    service, uow_factory, clock
):
    """O3: a silent server ends the round after one connection, not one per mail."""
    for n in range(5):
        service.register_express(express(f"client{n}@exemple.fr"))
    with SilentServer() as server:
        mailer = SMTPMailer(
            HOST, server.port, security="plain", timeout=0.2, local_hostname="t.test"
        )
        dispatcher = outbox_dispatcher(uow_factory, mailer, clock)
        assert dispatcher.dispatch() == DispatchReport(sent=0, failed=1)
        assert server.connections(at_least=1) == 1
        assert dispatcher.dispatch() == DispatchReport(sent=0, failed=1)
        assert server.connections(at_least=2) == 2
    assert dispatcher.stats().pending == 5  # nothing lost, nothing dead


def _storage_down(*args: object, **kwargs: object) -> bool:
    """The outbox's mark when the database has just gone away."""
    del args, kwargs
    msg = "the database is down"
    raise StorageError(msg, retryable=True)


@pytest.mark.parametrize("last", [True, False], ids=["last-mail", "mid-batch"])
def test_a_storage_failure_marking_a_refused_mail_frees_the_mailer_at_once(
    plain_server, service, uow_factory, clock, monkeypatch, last
):
    """The verdict is asked once: the round fails with the storage's error.

    Asking the server again for a reply it already gave would wait out the
    mailer's timeout, and release a lock the mailer no longer holds (one
    another thread sharing the mailer may hold by then).
    """
    for n in range(1 if last else 3):
        service.register_express(express(f"client{n}@exemple.fr"))
    plain_server.handler.message_refusal = "451 4.3.0 Try again later"
    mailer = plain_mailer(plain_server, timeout=3)
    dispatcher = outbox_dispatcher(uow_factory, mailer, clock)
    monkeypatch.setattr(memory._Outbox, "mark_failed", _storage_down)
    started = time.monotonic()
    with pytest.raises(StorageError, match="database is down"):
        dispatcher.dispatch()
    assert time.monotonic() - started < 2  # no reply waited for in vain
    monkeypatch.undo()
    plain_server.handler.message_refusal = None
    clock.advance(dispatcher.lease)  # the claims lapse: the mails come back
    assert dispatcher.dispatch().sent == (1 if last else 3)
    assert len(set(plain_server.handler.message_ids())) == (1 if last else 3)


def test_a_storage_failure_marking_a_refused_mail_releases_the_next_ones(
    plain_server, service, uow_factory, clock, monkeypatch
):
    """The mail opened while the server read the refused one goes back too.

    Its turn had not come: released with the rest, due at once, not left
    to wait for its lease.
    """
    for n in range(3):
        service.register_express(express(f"client{n}@exemple.fr"))
    plain_server.handler.message_refusal = "451 4.3.0 Try again later"
    dispatcher = outbox_dispatcher(uow_factory, plain_mailer(plain_server), clock)
    monkeypatch.setattr(memory._Outbox, "mark_failed", _storage_down)
    with pytest.raises(StorageError, match="database is down"):
        dispatcher.dispatch()
    monkeypatch.undo()
    plain_server.handler.message_refusal = None
    assert dispatcher.dispatch().sent == 2  # the first is still claimed
    clock.advance(dispatcher.lease)
    assert dispatcher.dispatch().sent == 1
