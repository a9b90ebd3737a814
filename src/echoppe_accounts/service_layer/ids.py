"""Account ids: version 7 UUIDs, and what may be looked up as one (SPEC F9)."""

from __future__ import annotations

from echoppe_accounts.domain.text import is_valid_unicode
from echoppe_accounts.ports import Clock

MAX_ID_LENGTH = 64
"""Longest text looked up as an account id; the library's are 36 characters."""


def is_account_id(value: object) -> bool:
    """Tell whether *value* could be an account id worth looking up (SPEC F9)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ID_LENGTH
        and is_valid_unicode(value)
    )


def shown(value: object) -> str:
    """Return a short, printable stand-in for an id that cannot be one."""
    text = value if isinstance(value, str) else type(value).__name__
    return text[:MAX_ID_LENGTH].encode("utf-8", "replace").decode()


def uuid7_text(raw: bytes, unix_ms: int) -> str:
    """Return a version 7 UUID's text (RFC 9562): *unix_ms*, then *raw*'s bits.

    The first 48 bits are the Unix time in milliseconds, the rest come from
    the 16 random bytes *raw* (74 of their bits are kept, beside the
    version and variant). Ids made one after the other sort in the order
    they were made, so new rows go to the end of the indexes on ids rather
    than to random places of them; an id shows when it was made, to the
    millisecond, so a shop never shows one to a visitor.
    """
    octets = bytearray(raw)
    octets[0:6] = unix_ms.to_bytes(6, "big")
    octets[6] = octets[6] & 0x0F | 0x70  # version 7
    octets[8] = octets[8] & 0x3F | 0x80  # RFC 9562 variant
    h = octets.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def unix_ms(clock: Clock) -> int:
    """Return *clock*'s Unix time in milliseconds (for ids)."""
    return int(clock.now().timestamp() * 1000)
