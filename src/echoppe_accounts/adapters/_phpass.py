"""Portable phpass (``$P$``, ``$H$``): how WordPress, WooCommerce and phpBB hash.

Written here rather than taken from a library: the algorithm is some thirty
lines of MD5, and passlib, which has it, is no longer maintained. The
function is checked against the vectors of phpass's own test script and of
John the Ripper (``tests/unit/test_phpass.py``).

>>> phpass("test12345", "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0")
'$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0'
"""

from __future__ import annotations

import hashlib

from echoppe_accounts.domain.legacy_hash import (
    ITOA64,
    PHPASS_SETTING_LENGTH,
    phpass_cost,
)


def _encode64(raw: bytes) -> str:
    """Encode *raw* in phpass's base 64: little-endian groups of 6 bits."""
    out: list[str] = []
    for start in range(0, len(raw), 3):
        chunk = raw[start : start + 3]
        value = int.from_bytes(chunk, "little")
        out.extend(
            ITOA64[(value >> shift) & 0x3F]
            for shift in range(0, 6 * (len(chunk) + 1), 6)
        )
    return "".join(out)


def phpass(password: str, setting: str) -> str | None:
    """Return the phpass hash of *password* under *setting*, or ``None``.

    *setting* is a phpass hash or its first twelve characters (``$P$``, the
    cost's character, eight of salt). ``None`` for a setting whose cost is
    outside what is kept (see :func:`~echoppe_accounts.domain.legacy_hash.phpass_cost`).
    The password is read as UTF-8, as PHP received it from a web form.
    """
    cost = phpass_cost(setting[:PHPASS_SETTING_LENGTH] + "." * 22)
    if cost is None:
        return None
    try:
        secret = password.encode()
    except UnicodeEncodeError:  # a lone surrogate: no stored password has one
        return None
    salt = setting[4:PHPASS_SETTING_LENGTH].encode("ascii")
    digest = hashlib.md5(salt + secret, usedforsecurity=False).digest()
    for _ in range(1 << cost):
        digest = hashlib.md5(digest + secret, usedforsecurity=False).digest()
    return setting[:PHPASS_SETTING_LENGTH] + _encode64(digest)
