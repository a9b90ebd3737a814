"""Delivering mail to an SMTP server with the standard library's ``smtplib``.

The connection is encrypted by default (STARTTLS, required), authenticated
when credentials are given, and kept open between mails so that a dispatch
round pays for one TLS handshake and one login. Every failure becomes a
:class:`~echoppe_accounts.DeliveryError` with the cause chained; its message
names the mail, the server and the reply code, never the mail's body, which
may carry a token or a temporary password (SPEC R9). The error also says
what the outbox should do (SPEC O1, O3):

- :attr:`~echoppe_accounts.DeliveryError.permanent` for a ``5xx`` reply to
  the mail, a recipient the server refuses for good, or a mail that cannot
  be built or needs an extension the server lacks: dead-lettered at once;
- :attr:`~echoppe_accounts.DeliveryError.connection` when the server cannot
  be reached, does not greet, fails the TLS handshake or the login, closes
  the line (``421`` included) or stops answering: every mail would fail the
  same way, so the dispatcher ends its round;
- neither for a ``4xx`` reply to one mail: retried later.
"""

from __future__ import annotations

import contextlib
import email.errors
import re
import select
import smtplib
import ssl
import threading
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from types import TracebackType
from typing import Literal, Self

from echoppe_accounts.adapters._fastmime import (
    TextPart,
    message_bytes,
    plain_addresses,
    text_part,
)
from echoppe_accounts.adapters.mime import build_message, sender_address
from echoppe_accounts.domain import fast
from echoppe_accounts.domain.errors import DeliveryError
from echoppe_accounts.domain.mail import OutgoingMail

_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "plain": 25}
"""The submission port of each security mode (RFC 6409, RFC 8314, RFC 5321)."""

_OK = 250
"""The reply code of a command that went well."""

_START_DATA = 354
"""The reply inviting the message after ``DATA``."""

_ACCEPTED = frozenset({250, 251})
"""The replies accepting a recipient (251: the server forwards it)."""

_END_OF_DATA = b".\r\n"
"""What ends a message, after its last line break."""

_LEADING_PERIOD = re.compile(rb"^\.", re.MULTILINE)
"""A period starting a line of the message: doubled when sent."""

_CLOSING = 421
"""The reply of a server closing the connection (RFC 5321, 3.8)."""

_PERMANENT = 500
"""The first permanent negative reply code (5yz, RFC 5321, 4.2.1)."""

_ENHANCED_STATUS = re.compile(rb"\s*([245]\.\d{1,3}\.\d{1,3})(?!\S)")
"""An RFC 3463 enhanced status code at the start of a reply (``5.1.1``)."""


class SMTPMailer:
    """Delivers mail to an SMTP server, encrypted unless told otherwise.

    *security* chooses how the connection is protected:

    - ``"starttls"`` (the default): a plain connection upgraded with
      STARTTLS, usually on port 587. STARTTLS is required: if the server
      does not offer it, nothing is sent.
    - ``"tls"``: implicit TLS from the first byte (SMTPS), usually on
      port 465.
    - ``"plain"``: no encryption at all, only for a relay on the same
      machine or a test server; it cannot be combined with credentials.

    The server's certificate is checked against *ssl_context*, by default
    ``ssl.create_default_context()`` (the system's trusted authorities and
    the host name).

    The connection is opened by the first :meth:`send` and kept for the
    next ones: a batch of mails uses one connection, one TLS handshake and
    one login. If the server has closed it meanwhile (an idle timeout, a
    restart), the next :meth:`send` opens a new one without complaint.
    :meth:`close` ends it; the
    :class:`~echoppe_accounts.OutboxDispatcher` calls it after each round,
    and the mailer is also a context manager.

    A mail to an internationalised address (``léa@exemple.fr``) is sent with
    the ``SMTPUTF8`` extension; if the server lacks it, that mail fails and
    the connection stays usable for the others.

    Sends are serialised on the one connection, so threads may share a
    mailer; for deliveries in parallel, give each thread its own.

    Args:
        host: The server's name or address, also the name its certificate
            must carry.
        port: The server's port; by default 587, 465 or 25 depending on
            *security*.
        security: ``"starttls"``, ``"tls"`` or ``"plain"``.
        username: The login, if the server asks for one.
        password: The password that goes with *username*; it is never
            shown in the mailer's ``repr``.
        ssl_context: The TLS settings and trusted authorities.
        timeout: The seconds allowed to connect and then for each reply
            of the server.
        local_hostname: The name given in ``EHLO``; by default the
            machine's fully qualified domain name.

    The arguments are kept as attributes of the same names, except the
    password and the TLS context.

    Raises:
        ValueError: If *security* is unknown, if only one of *username*
            and *password* is given, or if credentials are given with
            ``"plain"``.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        security: Literal["starttls", "tls", "plain"] = "starttls",
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
    ) -> None:
        """Describe the server; nothing is connected before the first mail."""
        if security not in _DEFAULT_PORTS:
            msg = f"unknown security mode {security!r}: use starttls, tls or plain"
            raise ValueError(msg)
        if (username is None) != (password is None):
            msg = "give both a username and a password, or neither"
            raise ValueError(msg)
        if username is not None and security == "plain":
            msg = "credentials are never sent over an unencrypted connection"
            raise ValueError(msg)
        self.host = host
        self.port = _DEFAULT_PORTS[security] if port is None else port
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self.local_hostname = local_hostname
        if ssl_context is None and security != "plain":
            ssl_context = ssl.create_default_context()
        self._context = ssl_context
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Show where mail goes, without the password."""
        return (
            f"SMTPMailer(host={self.host!r}, port={self.port!r}, "
            f"security={self.security!r}, username={self.username!r}, "
            f"timeout={self.timeout!r})"
        )

    def __enter__(self) -> Self:
        """Return the mailer itself; the connection opens with the first mail."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the connection."""
        self.close()

    def send(self, mail: OutgoingMail, sender: str) -> None:
        """Deliver *mail* from *sender* to the stored address of the mail.

        The envelope sender is the address in *sender*, which may carry a
        display name (``"L'Échoppe <bonjour@lechoppe.fr>"``).

        Raises:
            DeliveryError: If the mail could not be handed over:
                :attr:`~echoppe_accounts.DeliveryError.permanent` for a
                ``5xx`` reply or a mail that cannot be built,
                :attr:`~echoppe_accounts.DeliveryError.connection` when the
                server is unreachable, silent or drops the line, neither for
                a ``4xx`` reply (see the module's documentation).
        """
        self.start_send(mail, sender)()

    def start_send(
        self,
        mail: OutgoingMail,
        sender: str,
        *,
        ready: Callable[[], bool] | None = None,
    ) -> Callable[[], None]:
        """Hand *mail* over but for the server's verdict; return the wait for it.

        Everything :meth:`send` does, up to the server's reply to the
        message, which the returned function reads: it returns if the
        server took the mail and raises as :meth:`send` raises otherwise.
        Meanwhile the caller may work while the server reads the message
        (the :class:`~echoppe_accounts.OutboxDispatcher` opens its next
        mail). The mailer is the caller's until the function is called:
        call it, once, before asking anything else of the mailer (a second
        call raises :exc:`RuntimeError`).

        *ready*, if given, is called once the envelope is on its way and
        before any of the message is: the caller's own work then runs while
        the server answers (the dispatcher checks its claim on the mail and
        records the previous mail's fate). If it returns false, the mail is
        not sent: the transaction is abandoned (reset, or the line dropped
        if the server already waits for the message, so that it keeps
        nothing) and the returned function does nothing.

        Raises:
            DeliveryError: As :meth:`send`, for what went wrong before the
                message was written.

        .. versionadded:: 0.2.0
        """
        where = f"cannot deliver mail {mail.id} through {self.host}:{self.port}"
        envelope_from = sender_address(sender)[1]
        # The common mail (plain ASCII addresses) is written directly while
        # the server answers its envelope; any other is built by the
        # standard library's EmailMessage first (see adapters/_fastmime.py).
        common = fast.enabled() and plain_addresses(mail, sender)
        message = None if common else _built(mail, sender, where)
        self._lock.acquire()
        try:
            with self._failures(where):
                smtp = self._connection(where)
                if message is not None:
                    if ready is None or ready():
                        smtp.send_message(message, envelope_from, [mail.to])
                    verdict = _taken
                else:
                    verdict = _sendmail(
                        smtp,
                        envelope_from,
                        mail.to,
                        _Writer(mail, sender),
                        ready or _always,
                        pipelined=smtp.has_extn("pipelining"),
                    )
        except DeliveryError:
            self._lock.release()
            raise
        except BaseException:
            # *ready* failed (its storage) with a transaction half begun:
            # the connection carries no other mail.
            self._discard()
            self._lock.release()
            raise

        asked = False

        def wait() -> None:
            nonlocal asked
            if asked:
                # The mailer may be another caller's by now: its connection
                # and its lock are not this caller's to touch.
                msg = f"the verdict on mail {mail.id} was already asked for"
                raise RuntimeError(msg)
            asked = True
            try:
                with self._failures(where):
                    verdict()
            except DeliveryError:
                raise
            except BaseException:
                # Interrupted (KeyboardInterrupt) while the reply was on its
                # way: a reply read late would answer the next command.
                self._discard()
                raise
            finally:
                self._lock.release()

        return wait

    @contextlib.contextmanager
    def _failures(self, where: str) -> Iterator[None]:
        """Turn what the connection raises into a :class:`DeliveryError`."""
        try:
            yield
        except _Unbuildable as exc:
            # The same mail will never build: no server can help. A
            # message begun is never ended: the line is dropped, and the
            # server keeps nothing of it (RFC 5321, 4.1.1.4).
            self._discard()
            cause = exc.__cause__
            msg = f"{where}: the message cannot be built ({type(cause).__name__})"
            raise DeliveryError(msg, permanent=True) from cause
        except smtplib.SMTPNotSupportedError as exc:
            # The server lacks what this mail needs (SMTPUTF8): retrying
            # the same mail on the same server cannot help.
            msg = f"{where}: {_reason(exc)}"
            raise DeliveryError(msg, permanent=True) from exc
        except smtplib.SMTPServerDisconnected as exc:
            self._discard()
            msg = f"{where}: {_reason(exc)}"
            raise DeliveryError(msg, connection=True) from exc
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPResponseException,
        ) as exc:
            code = _refusal_code(exc)
            if code == _CLOSING:
                # "Service not available, closing transmission channel".
                self._discard()
                msg = f"{where}: {_reason(exc)}"
                raise DeliveryError(msg, connection=True) from exc
            # A refusal: the transaction is reset, so the connection stays
            # for the next mail.
            msg = f"{where}: {_reason(exc)}"
            raise DeliveryError(msg, permanent=code >= _PERMANENT) from exc
        except OSError as exc:
            # The connection is in an unknown state (mid-transaction,
            # half-closed): it must not carry another mail.
            self._discard()
            msg = f"{where}: {_reason(exc)}"
            raise DeliveryError(msg, connection=True) from exc

    def check(self) -> None:
        """Connect, secure the connection and log in, keeping it for the next mail.

        The worker calls it at start-up to wait for a mail server that is
        down (SPEC O4).

        Raises:
            DeliveryError: If the server cannot be reached, secured or
                logged into (``connection`` is true).

        .. versionadded:: 0.2.0
        """
        with self._lock:
            self._connection(f"cannot reach {self.host}:{self.port}")

    def close(self) -> None:
        """Say goodbye to the server and close the connection, if one is open.

        Never raises: a server that is already gone is simply forgotten.
        The next :meth:`send` opens a new connection.
        """
        with self._lock:
            self._discard(polite=True)

    def _connection(self, where: str) -> smtplib.SMTP:
        """Return a live connection: the open one if the server still answers."""
        if self._smtp is not None and not _quiet(self._smtp):
            # The server said something unasked (a 421 before closing, the
            # end of the connection): one NOOP tells a dead connection from
            # a live one before a mail is committed to it, since retrying a
            # mail after a failure in the middle could deliver it twice. A
            # quiet connection is live as far as its socket knows, and the
            # round trip is saved for each mail of a batch.
            try:
                alive = self._smtp.noop()[0] == _OK
            except OSError:
                alive = False
            if not alive:
                self._discard()
        if self._smtp is None:
            # Whatever fails here (connect, greeting, TLS, login) fails
            # every mail alike: a connection failure (SPEC O3).
            try:
                self._smtp = self._open(where)
            except (OSError, UnicodeError) as exc:
                msg = f"{where}: {_reason(exc)}"
                raise DeliveryError(msg, connection=True) from exc
        return self._smtp

    def _open(self, where: str) -> smtplib.SMTP:
        """Connect, secure the connection as configured and log in."""
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                self.local_hostname,
                timeout=self.timeout,
                context=self._context,
            )
        else:
            smtp = smtplib.SMTP(
                self.host, self.port, self.local_hostname, timeout=self.timeout
            )
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    _shut(smtp, polite=True)
                    msg = (
                        f"{where}: the server does not offer STARTTLS, "
                        "and nothing is sent unencrypted"
                    )
                    raise DeliveryError(msg, connection=True)
                smtp.starttls(context=self._context)
                smtp.ehlo_or_helo_if_needed()
            if self.username is not None and self._password is not None:
                smtp.login(self.username, self._password)
        except smtplib.SMTPResponseException:
            # The server answered (a refused login): say goodbye properly.
            _shut(smtp, polite=True)
            raise
        except (OSError, UnicodeError):
            # A broken or half-negotiated connection: a QUIT would only wait.
            _shut(smtp, polite=False)
            raise
        return smtp

    def _discard(self, *, polite: bool = False) -> None:
        """Forget the connection, quitting politely first if asked to."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            _shut(smtp, polite=polite)


class _Unbuildable(Exception):  # noqa: N818 (never leaves the module)
    """The message of a mail cannot be written; its cause is chained."""


def _built(mail: OutgoingMail, sender: str, where: str) -> EmailMessage:
    """Return *mail* built by ``EmailMessage``, or say why it never will be."""
    try:
        return build_message(mail, sender)
    except (ValueError, email.errors.MessageError) as exc:
        msg = f"{where}: the message cannot be built ({type(exc).__name__})"
        raise DeliveryError(msg, permanent=True) from exc


class _Writer:
    """Writes a mail with plain addresses in two steps, to fit two replies' waits."""

    def __init__(self, mail: OutgoingMail, sender: str) -> None:
        self.mail, self.sender = mail, sender
        self.text: TextPart | None = None

    def begin(self) -> None:
        """Encode the text body (the smaller part), in the first wait."""
        self.text = text_part(self.mail)

    def __call__(self) -> bytes:
        """Return the whole message (see :func:`_wire`)."""
        return _wire(self.mail, self.sender, self.text)


def _wire(mail: OutgoingMail, sender: str, text: TextPart | None = None) -> bytes:
    """Return the bytes of a mail with plain addresses, as ``send_message`` would.

    *text* is its text body, encoded beforehand if it was.

    Raises:
        _Unbuildable: ``EmailMessage`` refuses the mail.
    """
    data = message_bytes(mail, sender, text)
    if data is not None:
        return data
    try:
        # What send_message writes for plain addresses: no SMTPUTF8.
        message = build_message(mail, sender)
        return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    except (ValueError, email.errors.MessageError) as exc:
        raise _Unbuildable from exc


_NOT_SENT = (0, b"")
"""The reply to a command not sent, its transaction refused before it."""


def _sendmail(
    smtp: smtplib.SMTP,
    sender: str,
    to: str,
    write: _Writer,
    ready: Callable[[], bool],
    *,
    pipelined: bool,
) -> Callable[[], None]:
    """Send a mail from *sender* to *to*, writing it while the server answers.

    Returns the wait for the server's verdict on the message
    (:func:`_verdict`).

    The message is written (*write*) once ``MAIL`` is on its way, in the
    time its reply takes. With *pipelined* (the server announced
    ``PIPELINING``, RFC 2920), ``MAIL``, ``RCPT`` and ``DATA`` go in one
    write and their replies are read in order: two round trips instead of
    four. A refusal raises what :meth:`smtplib.SMTP.sendmail` raises for it,
    after the transaction is reset (or the connection closed, on ``421``),
    so the connection stays usable as after ``sendmail``. Only mails with
    plain ASCII addresses come here, so no extension is asked for (``SIZE``
    is optional, and the message is not written yet).

    *ready* is called in the next wait for a reply (``RCPT``'s, or the
    group's): when it returns false the mail must not go after all, the
    transaction is abandoned, and the verdict returned does nothing.

    Raises:
        _Unbuildable: *write* failed with a command sent: the connection
            must be dropped (a message never ended is kept by no server).
    """
    if pipelined:
        smtp.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{to}>\r\nDATA\r\n")
        data = write()
        held = ready()
        # Every reply of the group is read, whatever the first ones said:
        # the server answers each command (RFC 2920, 3.1).
        mail_code, mail_reply = smtp.getreply()
        rcpt_code, rcpt_reply = smtp.getreply()
        code, reply = smtp.getreply()
        if not held:
            _withdraw(smtp, waiting=code == _START_DATA, reset=mail_code == _OK)
            return _taken
    else:
        # The work is spread over the three replies' waits: the text body,
        # the rest of the message, then *ready* (the outbox's commit).
        smtp.send(f"MAIL FROM:<{sender}>\r\n")
        write.begin()
        mail_code, mail_reply = smtp.getreply()
        rcpt_code, rcpt_reply = code, reply = _NOT_SENT
        if mail_code == _OK:
            smtp.send(f"RCPT TO:<{to}>\r\n")
            data = write()
            rcpt_code, rcpt_reply = smtp.getreply()
            if rcpt_code in _ACCEPTED:
                smtp.send(b"DATA\r\n")
                held = ready()
                code, reply = smtp.getreply()
                if not held:
                    _withdraw(smtp, waiting=code == _START_DATA, reset=True)
                    return _taken
    accepted = mail_code == _OK and rcpt_code in _ACCEPTED
    if code == _START_DATA:
        if accepted:
            smtp.send(_quote_periods(data) + _END_OF_DATA)
            return lambda: _verdict(smtp)
        # The server took DATA after refusing the sender or the recipient
        # (RFC 2920 forbids it): an empty message ends it, then the refusal.
        smtp.send(_END_OF_DATA)
        smtp.getreply()
    if mail_code != _OK:
        _abandon(smtp, mail_code)
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, sender)
    if rcpt_code not in _ACCEPTED:
        _abandon(smtp, rcpt_code)
        raise smtplib.SMTPRecipientsRefused({to: (rcpt_code, rcpt_reply)})
    _abandon(smtp, code)
    raise smtplib.SMTPDataError(code, reply)


def _withdraw(smtp: smtplib.SMTP, *, waiting: bool, reset: bool) -> None:
    """Abandon a transaction whose mail must not go after all.

    A server *waiting* for the message gets none: the line is dropped, and
    a message never ended is kept by no server (an empty one would be
    delivered). Otherwise a begun transaction (*reset*) is reset.
    """
    if waiting:
        smtp.close()
    elif reset:
        _abandon(smtp, _OK)


def _verdict(smtp: smtplib.SMTP) -> None:
    """Read the server's reply to a message; raise as ``sendmail`` if refused."""
    code, reply = smtp.getreply()
    if code != _OK:
        _abandon(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


def _always() -> bool:
    """The *ready* of a mail sent for its own sake: it always goes."""
    return True


def _taken() -> None:
    """The verdict of a mail ``send_message`` has already read."""


def _quote_periods(data: bytes) -> bytes:
    """Return *data* dot-stuffed and ending with a line break (RFC 5321, 4.5.2)."""
    stuffed = _LEADING_PERIOD.sub(b"..", data)
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


def _abandon(smtp: smtplib.SMTP, code: int) -> None:
    """End a refused transaction as ``sendmail`` does: ``RSET``, or close on 421."""
    if code == _CLOSING:
        smtp.close()
    else:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            smtp.rset()


def _quiet(smtp: smtplib.SMTP) -> bool:
    """Tell whether *smtp*'s server has sent nothing since its last reply.

    Nothing to read on the socket (no data, no end of the connection) and
    nothing buffered by TLS: the server has neither closed the connection
    nor announced it would (``421``), which it does on an idle timeout or a
    restart. A socket that cannot be polled is not quiet.
    """
    sock = getattr(smtp, "sock", None)
    if sock is None:
        return False
    try:
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return False
        readable, _, failed = select.select([sock], [], [sock], 0)
    except (OSError, ValueError):  # closed, or a descriptor select cannot take
        return False
    return not readable and not failed


def _shut(smtp: smtplib.SMTP, *, polite: bool) -> None:
    """Close *smtp*, after a ``QUIT`` if *polite*, ignoring any error."""
    try:
        if polite:
            smtp.quit()
    except OSError:
        pass
    finally:
        smtp.close()


def _refusal_code(
    exc: smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException,
) -> int:
    """Return the reply code of a refusal; for refused recipients, the mildest.

    A mail to one recipient has one code; were there several, the mail is
    permanent only if every recipient was refused for good.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return min((code for code, _ in exc.recipients.values()), default=_PERMANENT)
    return exc.smtp_code


def _reply(code: int, text: bytes | str) -> str:
    """Return *code* and its enhanced status code, leaving out the server's words.

    The words may quote the message (a content filter citing a link), and
    the error text ends up in the outbox and in logs: only codes are kept.
    """
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    enhanced = _ENHANCED_STATUS.match(raw)
    return f"{code} {enhanced.group(1).decode()}" if enhanced else str(code)


_REFUSALS: tuple[tuple[type[smtplib.SMTPResponseException], str], ...] = (
    (smtplib.SMTPSenderRefused, "the sender"),
    (smtplib.SMTPDataError, "the message"),
    (smtplib.SMTPAuthenticationError, "the login"),
)
"""What the server refused, by the exception smtplib raises for it."""


def _reason(exc: OSError | UnicodeError) -> str:
    """Say in a few words why the delivery failed, without data from the mail."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = ", ".join(_reply(c, t) for c, t in exc.recipients.values())
        return f"the server refused the recipient ({replies})"
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        for kind, what in _REFUSALS:
            if isinstance(exc, kind):
                return f"the server refused {what} ({reply})"
        return f"the server answered {reply}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # smtplib's own fixed wording: which extension the server lacks.
        return f"the server lacks a needed extension ({exc})"
    return _failure(exc)


def _failure(exc: OSError | UnicodeError) -> str:
    """Say why the connection failed: timeout, TLS, network."""
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "the server did not answer in time"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the server's certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS negotiation failed ({exc.reason})"
    if isinstance(exc, UnicodeError):
        return "the credentials cannot be sent (non-ASCII characters)"
    return f"network error ({exc.strerror or type(exc).__name__})"
