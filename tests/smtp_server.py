"""A real SMTP server on loopback for the tests, and a test certificate authority.

:class:`LoopbackSMTP` runs aiosmtpd in a thread on ``127.0.0.1`` (a free port
chosen by the system, kept across restarts); its :class:`Recorder` handler
keeps what arrived, counts connections, logins, recipients and goodbyes,
and can be told to refuse recipients or to drop the line after a message.
:class:`SilentServer` accepts connections and never greets.
:func:`make_certificates` writes a throwaway CA and a server certificate for
``127.0.0.1`` with the ``openssl`` command line.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self

import attrs
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
USERNAME = "boutique"
PASSWORD = "mot de passe du relais"
WAIT_STEPS = 500
"""How many 10 ms naps the server may take to see its connections close."""


@attrs.frozen
class Received:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    smtp_utf8: bool
    encrypted: bool
    authenticated: bool
    content: bytes

    @property
    def message(self) -> EmailMessage:
        """The message, parsed as a mail client would."""
        parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Recorder:
    """An aiosmtpd handler that records envelopes and counts connections."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.connections: list[SMTP] = []
        self.logins: list[tuple[bytes, bool]] = []
        self.quits = 0
        self.refusal: str | None = None
        """When set (``"550 5.1.1 …"``), the reply to every ``RCPT TO``."""
        self.drop_next_data = False
        """When set, the next message is read, then the line drops unanswered."""
        self.keep_dropped = False
        """When set, a dropped message is kept first: delivered, never confirmed."""
        self.recipient_attempts = 0
        """How many ``RCPT TO`` commands arrived, refused ones included."""
        self.pipelining = False
        """When set, ``EHLO`` announces PIPELINING (RFC 2920)."""
        self.sender_refusal: str | None = None
        """When set, the reply to every ``MAIL FROM``."""
        self.message_refusal: str | None = None
        """When set, the reply to every message, once read."""
        self._lock = threading.Lock()

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        del envelope
        session.host_name = hostname
        with self._lock:
            # One SMTP protocol object per TCP connection, greeted again
            # after STARTTLS: count objects, not greetings.
            if not any(known is server for known in self.connections):
                self.connections.append(server)
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        del server, session
        if self.sender_refusal is not None:
            return self.sender_refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        del server, session
        with self._lock:
            self.recipient_attempts += 1
        if self.refusal is not None:
            return self.refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        assert envelope.mail_from is not None
        received = Received(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            smtp_utf8=envelope.smtp_utf8,
            encrypted=server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None,
            authenticated=bool(session.authenticated),
            content=envelope.content,
        )
        if self.drop_next_data:
            self.drop_next_data = False
            if self.keep_dropped:
                with self._lock:
                    self.received.append(received)
            assert server.transport is not None
            server.transport.abort()
            return "451 4.4.2 Connection dropped"  # never reaches the client
        if self.message_refusal is not None:
            return self.message_refusal
        with self._lock:
            self.received.append(received)
        return "250 2.0.0 Message accepted"

    async def handle_QUIT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        del server, session, envelope
        with self._lock:
            self.quits += 1
        return "221 2.0.0 Bye"

    def authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        """Accept :data:`USERNAME` with :data:`PASSWORD` only."""
        del server, session, envelope, mechanism
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login == USERNAME.encode() and (
            auth_data.password == PASSWORD.encode()
        )
        with self._lock:
            self.logins.append((auth_data.login, ok))
        # handled=False: aiosmtpd itself answers 535 to a refused login.
        return AuthResult(success=ok, handled=False)

    def message_ids(self) -> list[str]:
        """Return the Message-ID of every message received, in order."""
        return [r.message["Message-ID"] for r in self.received]


class _Controller(Controller):
    """aiosmtpd's threaded controller, able to listen on port 0."""

    def _trigger_server(self) -> None:
        if self.port == 0:
            assert self.server is not None
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class LoopbackSMTP:
    """A real SMTP server on ``127.0.0.1``, started and stopped by the test.

    *starttls* offers STARTTLS with that server context; *implicit_tls*
    speaks TLS from the first byte; *auth* offers AUTH (after TLS only);
    *smtputf8* advertises SMTPUTF8; *pipelining*, PIPELINING.
    """

    def __init__(
        self,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        auth: bool = False,
        smtputf8: bool = True,
        pipelining: bool = False,
    ) -> None:
        self.handler = Recorder()
        self.handler.pipelining = pipelining
        self.port = 0
        self._options: dict[str, Any] = {
            "ssl_context": implicit_tls,
            "tls_context": starttls,
            "enable_SMTPUTF8": smtputf8,
            "server_hostname": "smtp.test",
        }
        if auth:
            self._options["authenticator"] = self.handler.authenticate
            # aiosmtpd only knows of TLS it negotiated itself (STARTTLS).
            self._options["auth_require_tls"] = implicit_tls is None
        self._controller: _Controller | None = None

    def start(self) -> Self:
        """Start listening, on the same port as before if it ran already."""
        assert self._controller is None, "already running"
        controller = _Controller(
            self.handler, hostname=HOST, port=self.port, **self._options
        )
        controller.start()
        self.port = controller.port
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening and drop every connection; nothing if not running."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def drop_connections(self) -> None:
        """Close every open connection from the server's side, as an idle timeout."""
        assert self._controller is not None

        async def drop() -> None:
            for server in self.handler.connections:
                if server.transport is not None:
                    server.transport.abort()  # no TLS goodbye: the line drops
            for _ in range(WAIT_STEPS):
                if all(s.transport is None for s in self.handler.connections):
                    return
                await asyncio.sleep(0.01)
            msg = "the connections did not close"
            raise AssertionError(msg)

        asyncio.run_coroutine_threadsafe(drop(), self._controller.loop).result(
            timeout=WAIT_STEPS * 0.01 + 5
        )

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class SilentServer:
    """A TCP server on ``127.0.0.1`` that accepts connections and never greets.

    It counts the connections it accepted (:attr:`accepted`); a client
    waiting for the SMTP greeting times out.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._held.append(conn)  # kept open, silent, until the end
            self.accepted += 1

    def connections(self, *, at_least: int) -> int:
        """Return :attr:`accepted` once it reaches *at_least* (or after 5 s).

        Connections are accepted by a thread of their own: this waits for
        it to catch up, without asserting any time.
        """
        for _ in range(WAIT_STEPS):
            if self.accepted >= at_least:
                break
            time.sleep(0.01)
        return self.accepted

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._listener.close()


class GroupingServer:
    """An ESMTP server that announces PIPELINING and answers a group at once.

    It answers ``MAIL`` and ``RCPT`` only when ``DATA`` ends their group,
    stricter than RFC 2920 asks of a server (3.2: replies pending when its
    input runs out are sent): a client that waits for each reply before its
    next command waits forever, so a mail that arrives proves the client
    sent the group in one write. *replies* replaces the reply to
    ``MAIL``, ``RCPT``, ``DATA`` or the message (``"."``), to play a server
    that refuses, or one that takes ``DATA`` after a refusal (which RFC 2920
    forbids). It keeps every command line (:attr:`commands`) and every
    message it read to its end (:attr:`messages`); a message cut short by
    the client is not kept, as a server keeps nothing of it.
    """

    def __init__(self, replies: dict[str, bytes] | None = None) -> None:
        self.replies = dict(replies or {})
        self.slow = 0.0
        """The seconds taken to answer a message once read."""
        self.commands: list[str] = []
        self.messages: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _reply(self, command: str, default: bytes) -> bytes:
        return self.replies.get(command, default)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn, conn.makefile("rb") as lines:
                conn.settimeout(5)
                try:
                    self._session(conn, lines)
                except OSError:
                    continue

    def _session(self, conn: socket.socket, lines: Any) -> None:
        conn.sendall(b"220 grouping.test ESMTP\r\n")
        group: list[bytes] = []
        while line := lines.readline():
            self.commands.append(line.decode("ascii").rstrip("\r\n"))
            verb = line[:4].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-grouping.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                group.append(self._reply("MAIL", b"250 2.1.0 OK\r\n"))
            elif verb == b"RCPT":
                group.append(self._reply("RCPT", b"250 2.1.5 OK\r\n"))
            elif verb == b"DATA":
                data = self._reply("DATA", b"354 Go ahead\r\n")
                conn.sendall(b"".join((*group, data)))
                group = []
                if data.startswith(b"354"):
                    message = []
                    while (body := lines.readline()) != b".\r\n":
                        if not body:
                            return  # cut short: nothing kept
                        message.append(body)
                    self.messages.append(b"".join(message))
                    time.sleep(self.slow)
                    conn.sendall(self._reply(".", b"250 2.0.0 Accepted\r\n"))
            elif verb == b"QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                return
            else:  # RSET, NOOP
                conn.sendall(b"250 2.0.0 OK\r\n")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


@attrs.frozen
class Certificates:
    """A throwaway certificate authority and a server certificate it signed."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """Return the TLS context of the test server."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a client context that trusts the test authority only."""
        return ssl.create_default_context(cafile=self.ca)


_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def make_certificates(folder: Path) -> Certificates | None:
    """Write a CA and a certificate for ``127.0.0.1`` in *folder*.

    Returns ``None`` when the ``openssl`` command is not installed.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    (folder / "openssl.cnf").write_text(_OPENSSL_CONFIG)
    ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    for command in (
        (
            f"req -x509 -config openssl.cnf -extensions ca {ec} -keyout ca.key"
            " -out ca.pem -days 2 -subj /CN=test-ca"
        ),
        (
            f"req -new -config openssl.cnf {ec} -keyout server.key -out server.csr"
            " -subj /CN=localhost"
        ),
        (
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2"
            " -extfile openssl.cnf -extensions server -out server.pem"
        ),
    ):
        subprocess.run(  # noqa: S603 (fixed arguments, no shell)
            [openssl, *command.split()], cwd=folder, check=True, capture_output=True
        )
    return Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
