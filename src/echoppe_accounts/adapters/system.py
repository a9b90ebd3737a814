"""Adapters to the running system: the real clock, ``secrets``, argon2id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

import argon2
import attrs

from echoppe_accounts.domain.password import normalize


class SystemClock:
    """The system's clock, in UTC.

    .. versionadded:: 0.1.0
    """

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class SystemSecrets:
    """Randomness from the operating system's CSPRNG (the ``secrets`` module).

    .. versionadded:: 0.1.0
    """

    def token_bytes(self, nbytes: int) -> bytes:
        """Return *nbytes* random bytes."""
        return secrets.token_bytes(nbytes)

    def token_urlsafe(self, nbytes: int) -> str:
        """Return *nbytes* random bytes as URL-safe base64 text."""
        return secrets.token_urlsafe(nbytes)

    def randbelow(self, upper: int) -> int:
        """Return a random integer in ``range(upper)``."""
        return secrets.randbelow(upper)


@attrs.define
class Argon2Hasher:
    """argon2id in PHC format, OWASP's minimum parameters by default (SPEC P1).

    With a *pepper* (a secret kept outside the database), the password is
    first keyed with HMAC-SHA256, so a stolen database alone cannot be
    attacked offline.

    >>> hasher = Argon2Hasher(memory_cost=8, time_cost=1)  # tiny, for the example
    >>> h = hasher.hash("correct horse")
    >>> h.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    True
    >>> hasher.verify(h, "correct horse"), hasher.verify(h, "wrong horse")
    (True, False)

    .. versionadded:: 0.1.0
    """

    memory_cost: int = 19456
    time_cost: int = 2
    parallelism: int = 1
    pepper: bytes | None = attrs.field(default=None, repr=False)
    _hasher: argon2.PasswordHasher = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        """Build the argon2-cffi hasher (128-bit salt, 256-bit hash)."""
        self._hasher = argon2.PasswordHasher(
            time_cost=self.time_cost,
            memory_cost=self.memory_cost,
            parallelism=self.parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )

    def _keyed(self, password: str) -> str:
        password = normalize(password)
        if self.pepper is None:
            return password
        return hmac.new(self.pepper, password.encode(), hashlib.sha256).hexdigest()

    def hash(self, password: str) -> str:
        """Return the PHC string of *password*."""
        return self._hasher.hash(self._keyed(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether *password* matches; malformed hashes simply do not match."""
        try:
            return self._hasher.verify(password_hash, self._keyed(password))
        except (
            argon2.exceptions.VerificationError,
            argon2.exceptions.InvalidHashError,
        ):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether the hash was made with other parameters than these."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except argon2.exceptions.InvalidHashError:
            return True


_SCRYPT_PHC = re.compile(
    r"\$scrypt\$ln=(?P<ln>[1-9]\d?),r=(?P<r>[1-9]\d?),p=(?P<p>[1-9]\d?)"
    r"\$(?P<salt>[A-Za-z0-9+/]{16,})\$(?P<hash>[A-Za-z0-9+/]{16,})"
)
_SCRYPT_MAX_LN, _SCRYPT_MAX_R, _SCRYPT_MAX_P = 20, 16, 4


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


@attrs.define
class ScryptHasher:
    """scrypt from the standard library, the alternative to argon2id (SPEC P1).

    Hashes are PHC-style strings, ``$scrypt$ln=17,r=8,p=1$<salt>$<hash>``;
    the defaults are OWASP's (N=2^17, r=8, p=1: 128 MiB). Use it where the
    argon2 C library cannot be installed.

    >>> hasher = ScryptHasher(log2_n=4)  # tiny, for the example
    >>> h = hasher.hash("correct horse")
    >>> h.startswith("$scrypt$ln=4,r=8,p=1$")
    True
    >>> hasher.verify(h, "correct horse"), hasher.verify(h, "wrong horse")
    (True, False)

    .. versionadded:: 0.1.0
    """

    log2_n: int = 17
    block_size: int = 8
    parallelism: int = 1
    pepper: bytes | None = attrs.field(default=None, repr=False)

    def _params(self) -> str:
        return f"ln={self.log2_n},r={self.block_size},p={self.parallelism}"

    def _derive(self, password: str, salt: bytes, ln: int, r: int, p: int) -> bytes:
        secret = normalize(password).encode()
        if self.pepper is not None:
            secret = hmac.new(self.pepper, secret, hashlib.sha256).digest()
        return hashlib.scrypt(
            secret, salt=salt, n=1 << ln, r=r, p=p, dklen=32, maxmem=256 * 1024 * 1024
        )

    def hash(self, password: str) -> str:
        """Return the PHC-style string of *password*, with a 128-bit salt."""
        salt = secrets.token_bytes(16)
        key = self._derive(
            password, salt, self.log2_n, self.block_size, self.parallelism
        )
        return f"$scrypt${self._params()}${_b64(salt)}${_b64(key)}"

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether *password* matches, comparing in constant time.

        Malformed hashes, and parameters beyond sane bounds (a stored hash
        must not make the server allocate gigabytes), simply do not match.
        """
        found = _SCRYPT_PHC.fullmatch(password_hash)
        if found is None:
            return False
        ln, r, p = (int(found[name]) for name in ("ln", "r", "p"))
        if not (ln <= _SCRYPT_MAX_LN and r <= _SCRYPT_MAX_R and p <= _SCRYPT_MAX_P):
            return False
        expected = _unb64(found["hash"])
        derived = self._derive(password, _unb64(found["salt"]), ln, r, p)
        return hmac.compare_digest(derived, expected)

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether the hash was made with other parameters than these."""
        found = _SCRYPT_PHC.fullmatch(password_hash)
        return found is None or not password_hash.startswith(
            f"$scrypt${self._params()}$"
        )
