"""Sealing mail bodies at rest: AES-256-GCM with a key the database does not hold.

A mail waiting in the outbox may carry a link's token or a temporary
password. The outbox never stores them readable (SPEC O2): the bodies are
sealed when the mail is queued and unsealed by the dispatcher just before
it hands the mail to the mailer. The cipher is AES-GCM from the vetted
``cryptography`` package, an authenticated encryption: a body changed or
sealed with another key does not open, it raises :class:`SealError`. The
associated data is the mail's id, the part's name and the recipient (SPEC
O2), so a sealed body moved to another row, the text swapped with the
HTML, or a row whose recipient was rewritten does not open either.

Bodies sealed before the recipient was bound (prefix ``sealed:v1:``, mails
queued by a 0.2 development version) still open, bound to the id and part only:
they leave the outbox within its retry window (72 hours), and every mail
queued since is sealed ``sealed:v2:``.

A shop rotating its key gives the previous one too: :func:`unseal_mail`
tries each key it is given, the current one first.

The nonce comes from the caller's secret source (96 random bits per body):
this module draws no randomness of its own.

>>> key = bytes(range(32))
>>> sealed = seal(key, "jeton=abc", associated="m1/text", nonce=bytes(12))
>>> sealed.startswith(PREFIX), "abc" in sealed
(True, False)
>>> unseal(key, sealed, associated="m1/text")
'jeton=abc'
>>> unseal(key, sealed, associated="m2/text")
Traceback (most recent call last):
...
echoppe_accounts.domain.sealing.SealError: the sealed body cannot be opened ...
>>> parse_key("00" * 32) == bytes(32)
True
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:  # cryptography is imported by the first seal (issue 22)
    # Mails are only passed through: checking a key (Settings) loads no mail
    # types (issue 22).
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from echoppe_accounts.domain.mail import OutgoingMail

KEY_BYTES = 32
"""Length of an outbox key: 256 bits, for AES-256-GCM."""

NONCE_BYTES = 12
"""Length of a nonce: the 96 bits GCM is designed for."""

PREFIX = "sealed:v2:"
"""How a sealed body starts; the version names the cipher and the layout."""

V1_PREFIX = "sealed:v1:"
"""How bodies sealed by version 0.2.0 start: bound to the mail's id and part only."""

_PREFIXES = (PREFIX, V1_PREFIX)

_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


class SealError(ValueError):
    """A sealed body cannot be opened: another key, another mail, or tampering.

    .. versionadded:: 0.2.0
    """


def check_key(key: bytes) -> bytes:
    """Return *key* if it is a usable outbox key (32 bytes), else raise.

    Raises:
        ValueError: If *key* is not 32 bytes long; the message never shows it.

    .. versionadded:: 0.2.0
    """
    if len(key) != KEY_BYTES:
        msg = f"an outbox key is {KEY_BYTES} bytes (256 bits) of random data"
        raise ValueError(msg)
    return key


def parse_key(text: str) -> bytes:
    """Read an outbox key written as 64 hexadecimal digits or in base64.

    Base64 may be the standard or the URL-safe alphabet, with or without
    its ``=`` padding (``openssl rand -base64 32`` or ``-hex 32`` make
    one).

    Raises:
        ValueError: If *text* is not 32 bytes in either form; the message
            never quotes it.

    .. versionadded:: 0.2.0
    """
    text = text.strip()
    if _HEX_KEY.fullmatch(text):
        return bytes.fromhex(text)
    padded = text.replace("-", "+").replace("_", "/")
    padded += "=" * (-len(padded) % 4)
    try:
        key = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        msg = (
            f"an outbox key is {KEY_BYTES} bytes written as 64 hexadecimal "
            "digits or in base64 (openssl rand -base64 32)"
        )
        raise ValueError(msg)
    return key


@functools.lru_cache(maxsize=4)
def _cipher(key: bytes) -> AESGCM:
    """Return the AES-GCM cipher of *key*, made once for the process.

    A dispatcher opens every mail with the same key, and making the cipher
    costs more than opening a body with it. cryptography is imported here,
    by the first seal or opening: a process that sends no mail never loads it.
    """
    from cryptography.hazmat.primitives.ciphers.aead import (  # noqa: PLC0415
        AESGCM,
    )

    return AESGCM(check_key(key))


def is_sealed(text: str) -> bool:
    """Tell whether *text* is a sealed body (rather than a plain or wiped one).

    .. versionadded:: 0.2.0
    """
    return text.startswith(_PREFIXES)


def seal(key: bytes, plaintext: str, *, associated: str, nonce: bytes) -> str:
    """Return *plaintext* sealed with *key*, bound to *associated*.

    *nonce* must be :data:`NONCE_BYTES` fresh random bytes: never use one
    twice with the same key.

    .. versionadded:: 0.2.0
    """
    if len(nonce) != NONCE_BYTES:
        msg = f"a nonce is {NONCE_BYTES} bytes"
        raise ValueError(msg)
    sealed = _cipher(key).encrypt(
        nonce, plaintext.encode("utf-8"), associated.encode("utf-8")
    )
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, sealed: str, *, associated: str) -> str:
    """Return the text sealed in *sealed*, checking *key* and *associated*.

    Raises:
        SealError: If *sealed* was made with another key or for other
            associated data, was changed, or is not a sealed body.

    .. versionadded:: 0.2.0
    """
    if not is_sealed(sealed):
        msg = "not a sealed body"
        raise SealError(msg)
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415 (see _cipher)

    try:
        raw = base64.urlsafe_b64decode(sealed[len(PREFIX) :].encode("ascii"))
        nonce, body = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        opened = _cipher(key).decrypt(nonce, body, associated.encode("utf-8"))
        return opened.decode("utf-8")
    except (InvalidTag, ValueError, UnicodeError) as exc:
        msg = (
            "the sealed body cannot be opened with this key "
            "(another key, another mail, or a changed row)"
        )
        raise SealError(msg) from exc


def _associated(mail: OutgoingMail, part: str, *, version: str = PREFIX) -> str:
    if version == V1_PREFIX:
        return f"echoppe_accounts.outbox/{mail.id}/{part}"
    # The recipient closes the data: an address may hold "/", never a
    # line break, and it is the last field, so no two mails share a string.
    return f"echoppe_accounts.outbox/v2/{mail.id}/{part}\n{mail.to}"


def seal_mail(
    mail: OutgoingMail, key: bytes, nonces: Callable[[int], bytes]
) -> OutgoingMail:
    """Return *mail* with both bodies sealed, each bound to its id, part and recipient.

    *nonces* is a secret source's ``token_bytes``.

    .. versionadded:: 0.2.0
    """
    return attrs.evolve(
        mail,
        text=seal(
            key,
            mail.text,
            associated=_associated(mail, "text"),
            nonce=nonces(NONCE_BYTES),
        ),
        html=seal(
            key,
            mail.html,
            associated=_associated(mail, "html"),
            nonce=nonces(NONCE_BYTES),
        ),
    )


def _open(mail: OutgoingMail, part: str, body: str, keys: Sequence[bytes]) -> str:
    version = V1_PREFIX if body.startswith(V1_PREFIX) else PREFIX
    associated = _associated(mail, part, version=version)
    for key in keys[:-1]:
        try:
            return unseal(key, body, associated=associated)
        except SealError:
            continue
    return unseal(keys[-1], body, associated=associated)


def unseal_mail(mail: OutgoingMail, key: bytes, *older: bytes) -> OutgoingMail:
    """Return *mail* with its bodies opened, ready for the mailer.

    *older* keys (a rotated key's predecessor) are tried after *key*. A
    body that is not sealed (a wiped one, or one queued before bodies were
    sealed) is returned as it is.

    Raises:
        SealError: If a sealed body cannot be opened with any key given for
            this mail's id, part and recipient.

    .. versionadded:: 0.2.0
    """
    keys = (key, *older)
    text, html = mail.text, mail.html
    if is_sealed(text):
        text = _open(mail, "text", text, keys)
    if is_sealed(html):
        html = _open(mail, "html", html, keys)
    return attrs.evolve(mail, text=text, html=html)
