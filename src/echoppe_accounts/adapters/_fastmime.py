"""The bytes of a common outgoing mail, written without ``EmailMessage``.

:func:`~echoppe_accounts.adapters.mime.build_message` builds each mail with
the standard library's ``EmailMessage`` and its default policy, which parses
every header it is given and folds it again when the message is written:
for the mails of this library, that costs more than the SMTP conversation.
The mails the library sends are always alike: ASCII addresses, a subject
and a sender's name on one line, a text and an HTML body in UTF-8. For those,
:func:`message_bytes` writes the same message with the standard library's
encoders (``email.utils.formataddr``, ``email.header.Header``) and a
quoted-printable writer of its own, equal to ``email.quoprimime``'s byte
for byte and several times faster; for any other mail it returns
``None``, and the mail is built by ``EmailMessage``. The tests hold the two
to the same message, header by header and part by part
(``tests/unit/test_fast_paths.py``).
"""

from __future__ import annotations

import codecs
import functools
import re
import secrets
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.utils import format_datetime, formataddr
from typing import cast

import attrs

from echoppe_accounts.adapters.mime import message_id, sender_address
from echoppe_accounts.domain.mail import OutgoingMail

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+", re.ASCII)
"""An address that needs no quoting: what the common mail is sent to and from."""

MAX_LINE_LENGTH = 78
"""Lines of headers and bodies, as the default policy writes them."""

_LINESEP = b"\r\n"
_LAST_ASCII = 0x7F


_QP_UNSAFE = re.compile(rb"[^\t\n -~]+")
"""A run of bytes a quoted-printable body writes as ``=XX``, but ``=``
(quoted beforehand): all but the line feed, the tab and printable ASCII
(the body map of ``email.quoprimime``)."""

_EQUALS = ord("=")
_BLANKS = (b" ", b"\t")
_SNIFFED_LINES = 10
"""The lines ``set_content`` encodes both ways to choose an encoding."""


_PRINTABLE = bytes([9, 10, *range(0x20, 0x7F)])
"""The tab, the line feed and printable ASCII."""

_HIGH = bytes(range(0x80, 0x100))

_QP_ERRORS = "echoppe-accounts-quoted-printable"
"""The codec error handler that writes characters past ASCII as ``=XX``."""


def _qp_escape(run: re.Match[bytes]) -> bytes:
    return b"=" + run[0].hex("=").upper().encode("ascii")


_CHARACTER_ESCAPES: dict[str, str] = {}
"""The escapes of runs of at most four bytes past ASCII (``é`` is
``=C3=A9``; two accented letters side by side, ``çé``, are one run),
written once: a French mail holds a few dozen such runs, and the few
hundred characters of Latin scripts are all a process meets. Only bytes
past ASCII are runs, so no token, link or temporary password (all ASCII)
is ever kept here."""

_CHARACTER_BYTES = 4
"""The longest run whose escape is kept, in bytes (one UTF-8 character at most)."""

_MAX_ESCAPES = 2048
"""The most escapes kept; runs beyond are escaped each time."""


def _qp_escape_error(exc: UnicodeError) -> tuple[str, int]:
    """Write a run of latin-1 characters ASCII cannot hold as ``=XX`` each."""
    error = cast("UnicodeEncodeError", exc)  # registered for encoding only
    run = error.object[error.start : error.end]
    escaped = _CHARACTER_ESCAPES.get(run)
    if escaped is None:
        escaped = "=" + run.encode("latin-1").hex("=").upper()
        if len(run) <= _CHARACTER_BYTES and len(_CHARACTER_ESCAPES) < _MAX_ESCAPES:
            _CHARACTER_ESCAPES[run] = escaped
    return escaped, error.end


codecs.register_error(_QP_ERRORS, _qp_escape_error)


def _qp_quote(body: bytes) -> bytes:
    """Return *body* with every byte ``quoprimime`` quotes written ``=XX``.

    ``=`` by one replacement; bytes past ASCII by the ASCII encoder, which
    hands each run of them to :func:`_qp_escape_error` (scanning in C); the
    control characters, which mails hardly hold, by a regular expression.
    """
    quoted = body.replace(b"=", b"=3D")
    if body.translate(None, _PRINTABLE).translate(None, _HIGH):
        return _QP_UNSAFE.sub(_qp_escape, quoted)  # control characters
    return quoted.decode("latin-1").encode("ascii", _QP_ERRORS)


def _qp_split(line: bytes) -> list[bytes]:
    """Return the pieces ``quoprimime`` writes for one quoted *line*.

    A line longer than :data:`MAX_LINE_LENGTH` is cut with soft line
    breaks, never inside an escape sequence; white space ending it is
    quoted, or kept before a soft break. The same steps as
    ``email.quoprimime.body_encode``.
    """
    pieces: list[bytes] = []
    append = pieces.append
    width = MAX_LINE_LENGTH - 1  # room for the "=" of a soft line break
    start = 0
    laststart = len(line) - 1 - MAX_LINE_LENGTH
    while start <= laststart:
        stop = start + width
        if line[stop - 2] == _EQUALS:
            append(line[start : stop - 1])
            start = stop - 2
        elif line[stop - 1] == _EQUALS:
            append(line[start:stop])
            start = stop - 1
        else:
            append(line[start:stop] + b"=")
            start = stop
    if line[-1:] in _BLANKS:
        room = start - laststart
        if room >= 3:  # noqa: PLR2004 (an escape sequence's length)
            tail = b"=%02X" % line[-1]
        elif room == 2:  # noqa: PLR2004
            tail = line[-1:] + b"=\n"
        else:
            tail = b"=\n=%02X" % line[-1]
        append(line[start:-1] + tail)
    else:
        append(line[start:])
    return pieces


def _quoted_printable(body: bytes) -> tuple[bytes, int]:
    """Return *body* in quoted-printable, and the length of its first ten lines'.

    *body* is lines, each ended by a line feed. The text is what
    ``email.quoprimime.body_encode(body.decode("latin-1"), MAX_LINE_LENGTH)``
    writes, byte for byte (line feeds ending its lines); the length is
    that of the same call on the first ten lines, which ``set_content``
    compares with base64. Bytes are quoted by runs (:func:`_qp_quote`)
    rather than a character at a time with ``str.translate``, and only
    lines that are long or end with white space are cut or mended. Proven
    equal with Hypothesis (``tests/unit/test_fast_paths.py``).
    """
    lines = _qp_quote(body).split(b"\n")
    lines.pop()  # after the last line end; an empty body is one empty line
    out: list[bytes] = []
    sniff = -1
    for number, line in enumerate(lines):
        if len(line) <= MAX_LINE_LENGTH and line[-1:] not in _BLANKS:
            out.append(line)
        else:
            out.extend(_qp_split(line))
        if number == _SNIFFED_LINES - 1:
            sniff = sum(map(len, out)) + len(out)
    if sniff < 0:
        sniff = sum(map(len, out)) + len(out)
    return b"\n".join(out) + b"\n", sniff


def _base64_length(size: int) -> int:
    """Return the length of *size* bytes in base64, with ``b2a_base64``'s line end."""
    return 4 * ((size + 2) // 3) + 1


def _encoded_body(text: str) -> tuple[str, bytes] | None:
    """Return the transfer encoding and body ``set_content`` gives *text*.

    The standard library's choice (``email.contentmanager``): 7bit for
    ASCII lines that fit; otherwise the first ten lines are encoded both
    ways, and quoted-printable is kept unless base64 is shorter. Latin text
    favours quoted-printable; other scripts, and text full of ``=`` (which
    quoted-printable writes ``=3D``), favour base64, for which ``None`` is
    returned (the mail is left to ``EmailMessage``), as it is for text that
    cannot be encoded (a lone surrogate). Each line is encoded once, for
    the choice and for the body. The body's lines end with CRLF.
    """
    try:
        lines = text.encode("utf-8").splitlines()
    except UnicodeError:  # a lone surrogate: EmailMessage says it cannot build
        return None
    body = b"\n".join(lines) + b"\n"
    if body.isascii() and max(map(len, lines), default=0) <= MAX_LINE_LENGTH:
        return "7bit", body.replace(b"\n", _LINESEP)
    quoted, sniff_qp = _quoted_printable(body)
    head = lines[:_SNIFFED_LINES]
    sniff = sum(map(len, head)) + max(len(head), 1)  # joined, with a line end
    if sniff_qp > _base64_length(sniff):
        return None
    return "quoted-printable", quoted.replace(b"\n", _LINESEP)


@functools.lru_cache(maxsize=8)
def _part_head(cte: str, subtype: str) -> bytes:
    """Return the headers of one ``text/*`` part, as ``set_content`` writes them."""
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    ).encode("ascii")


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


def _date(at: datetime) -> str:
    """Return ``email.utils.format_datetime(at)``, written directly for UTC.

    The stored instants are UTC: their date is written without the time
    tuple and ``strftime`` of the standard library's function, which any
    other instant still goes through.
    """
    if at.tzinfo is not UTC:
        return format_datetime(at)
    return (
        f"{_DAYS[at.weekday()]}, {at.day:02d} {_MONTHS[at.month - 1]} "
        f"{at.year:04d} {at.hour:02d}:{at.minute:02d}:{at.second:02d} +0000"
    )


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


@functools.lru_cache(maxsize=16)
def _from_header(sender: str) -> str:
    """Return the ``From`` header's value for *sender*, written once.

    A name outside ASCII is an encoded word, which ``formataddr`` writes
    through the ``email.charset`` machinery: the same for every mail.
    """
    name, addr = sender_address(sender)
    return formataddr((name, addr)) if name else addr


def plain_addresses(mail: OutgoingMail, sender: str) -> bool:
    """Tell whether *mail*'s recipient and *sender* are plain ASCII addresses.

    Such a mail needs no SMTP extension (``SMTPUTF8``), whoever writes it.
    """
    return _ADDRESS.fullmatch(mail.to) is not None and _plain_sender(sender)


@attrs.frozen
class TextPart:
    """A mail's text body, encoded ahead of the rest (:func:`text_part`)."""

    encoded: tuple[str, bytes] | None


def text_part(mail: OutgoingMail) -> TextPart:
    """Encode *mail*'s text body now, for :func:`message_bytes` to use later.

    The SMTP mailer writes a message in two steps, each while the server
    answers a command.
    """
    return TextPart(_encoded_body(mail.text))


def message_bytes(
    mail: OutgoingMail, sender: str, text: TextPart | None = None
) -> bytes | None:
    """Return *mail* as bytes to send (CRLF line ends), or ``None`` if uncommon.

    Common: the recipient and the sender's address are plain ASCII
    addresses, the subject and the sender's name are printable (no line
    break; no white space around the subject) and hold nothing that reads
    as an encoded word, and neither body is mostly outside Latin script.
    ``None`` leaves the mail to
    :func:`~echoppe_accounts.adapters.mime.build_message`. *text* is the
    text body :func:`text_part` encoded beforehand, if it did.
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
        or (body := (text or text_part(mail)).encoded) is None
        or (html := _encoded_body(mail.html)) is None
    ):
        return None
    subject = mail.subject
    try:
        if not _fits(subject):
            # Encoded words: any text, folded without a space slipping in.
            subject = Header(subject, "utf-8", header_name="Subject").encode(
                linesep="\r\n", maxlinelen=MAX_LINE_LENGTH
            )
    except UnicodeError:  # a lone surrogate: EmailMessage says it cannot build
        return None
    text_cte, text_body = body
    html_cte, html_body = html
    boundary = f"==============={secrets.token_hex(16)}=="
    while any(f"--{boundary}".encode("ascii") in b for b in (text_body, html_body)):
        boundary = f"==============={secrets.token_hex(16)}=="  # pragma: no cover
    head = (
        f"From: {_from_header(sender)}\r\n"
        f"To: {mail.to}\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {_date(mail.created_at)}\r\n"
        f"Message-ID: {message_id(mail, sender)}\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative;\r\n"
        f' boundary="{boundary}"\r\n\r\n'
        # The line break before a delimiter belongs to it (RFC 2046, 5.1.1).
        f"--{boundary}\r\n"
    )
    # One join: the message is copied once, not once a part.
    return b"".join(
        (
            head.encode("ascii"),
            _part_head(text_cte, "plain"),
            text_body,
            f"\r\n--{boundary}\r\n".encode("ascii"),
            _part_head(html_cte, "html"),
            html_body,
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )
