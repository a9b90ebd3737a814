"""The bytes of a common outgoing mail, written without ``EmailMessage``.

:func:`~echoppe_accounts.adapters.mime.build_message` builds each mail with
the standard library's ``EmailMessage`` and its default policy, which parses
every header it is given and folds it again when the message is written:
for the mails of this library, that costs more than the SMTP conversation.
The mails the library sends are always alike: ASCII addresses, a subject
and a sender's name on one line, a text and an HTML body in UTF-8. For those,
:func:`message_bytes` writes the same message with the standard library's
encoders (``email.utils.formataddr``, ``email.header.Header``,
``email.quoprimime``) and nothing else; for any other mail it returns
``None``, and the mail is built by ``EmailMessage``. The tests hold the two
to the same message, header by header and part by part
(``tests/unit/test_fast_paths.py``).
"""

from __future__ import annotations

import binascii
import functools
import re
import secrets
from email import quoprimime
from email.header import Header
from email.headerregistry import Address
from email.utils import format_datetime, formataddr

from echoppe_accounts.adapters.mime import message_id, sender_address
from echoppe_accounts.domain.mail import OutgoingMail

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+", re.ASCII)
"""An address that needs no quoting: what the common mail is sent to and from."""

MAX_LINE_LENGTH = 78
"""Lines of headers and bodies, as the default policy writes them."""

_LINESEP = b"\r\n"
_LAST_ASCII = 0x7F


def _text_part(text: str, subtype: str) -> bytes:
    """Return one ``text/*`` part, headers and body, as ``set_content`` encodes it.

    The same choice as the standard library's: 7bit for ASCII lines that
    fit, else quoted-printable (always shorter than base64 for Latin text,
    which is checked: other text is left to ``EmailMessage``).
    """
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if max((len(x) for x in lines), default=0) <= MAX_LINE_LENGTH and body.isascii():
        cte, payload = "7bit", body
    else:
        encoded = quoprimime.body_encode(body.decode("latin-1"), MAX_LINE_LENGTH)
        cte, payload = "quoted-printable", encoded.encode("ascii")
    head = (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode("ascii") + payload.replace(b"\n", _LINESEP)


def _base64_would_be_shorter(text: str) -> bool:
    """Tell whether ``set_content`` would choose base64 over quoted-printable.

    The standard library's own choice (``email.contentmanager``): text
    that is not 7bit is encoded both ways on its first ten lines, and
    base64 wins when it is shorter. Latin text favours quoted-printable;
    other scripts, and text full of ``=`` (which quoted-printable writes
    ``=3D``), favour base64. Text that cannot be encoded steps aside too.
    """
    try:
        lines = text.encode("utf-8").splitlines()
    except UnicodeError:  # a lone surrogate: EmailMessage says it cannot build
        return True
    body = b"\n".join(lines) + b"\n"
    if max((len(x) for x in lines), default=0) <= MAX_LINE_LENGTH and body.isascii():
        return False  # 7bit
    sniff = b"\n".join(lines[:10]) + b"\n"
    quoted = quoprimime.body_encode(sniff.decode("latin-1"), MAX_LINE_LENGTH)
    return len(quoted) > len(binascii.b2a_base64(sniff))


def _fits(subject: str) -> bool:
    """Tell whether *subject* can be written as it is: short ASCII words."""
    return (
        subject.isascii()
        and len(subject) <= MAX_LINE_LENGTH - len("Subject: ")
        and subject == " ".join(subject.split())
    )


@functools.lru_cache(maxsize=16)
def _plain_sender(sender: str) -> bool:
    """Tell whether *sender* is a plain address that ``EmailMessage`` takes as is."""
    name, addr = sender_address(sender)
    if _ADDRESS.fullmatch(addr) is None or not name.isprintable() or "=?" in name:
        return False
    try:
        Address(display_name=name, addr_spec=addr)
    except Exception:  # noqa: BLE001 (whatever refuses it, EmailMessage will say)
        return False
    return True


def message_bytes(mail: OutgoingMail, sender: str) -> bytes | None:
    """Return *mail* as bytes to send (CRLF line ends), or ``None`` if uncommon.

    Common: the recipient and the sender's address are plain ASCII
    addresses, the subject and the sender's name are printable (no line
    break; no white space around the subject) and hold nothing that reads
    as an encoded word, and neither body is mostly outside Latin script.
    ``None`` leaves the mail to
    :func:`~echoppe_accounts.adapters.mime.build_message`.
    """
    if (
        not _plain_sender(sender)
        or _ADDRESS.fullmatch(mail.to) is None
        or not mail.subject.isprintable()
        # The policy drops white space around a subject; an encoded word
        # would keep it.
        or mail.subject != mail.subject.strip()
        # Text that reads as an encoded word is left to the policy's care.
        or "=?" in mail.subject
        or _base64_would_be_shorter(mail.text)
        or _base64_would_be_shorter(mail.html)
    ):
        return None
    name, addr = sender_address(sender)
    subject = mail.subject
    try:
        if not _fits(subject):
            # Encoded words: any text, folded without a space slipping in.
            subject = Header(subject, "utf-8", header_name="Subject").encode(
                linesep="\r\n", maxlinelen=MAX_LINE_LENGTH
            )
        parts = [_text_part(mail.text, "plain"), _text_part(mail.html, "html")]
    except UnicodeError:  # a lone surrogate: EmailMessage says it cannot build
        return None
    boundary = f"==============={secrets.token_hex(16)}=="
    while any(f"--{boundary}".encode("ascii") in part for part in parts):
        boundary = f"==============={secrets.token_hex(16)}=="  # pragma: no cover
    head = (
        f"From: {formataddr((name, addr)) if name else addr}\r\n"
        f"To: {mail.to}\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {format_datetime(mail.created_at)}\r\n"
        f"Message-ID: {message_id(mail, sender)}\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative;\r\n"
        f' boundary="{boundary}"\r\n\r\n'
    )
    # The line break before a delimiter belongs to it (RFC 2046, 5.1.1).
    delimiter = f"--{boundary}\r\n".encode("ascii")
    return (
        head.encode("ascii")
        + b"".join(delimiter + part + _LINESEP for part in parts)
        + f"--{boundary}--\r\n".encode("ascii")
    )
