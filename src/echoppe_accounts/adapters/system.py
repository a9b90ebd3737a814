"""Adapters to the running system: the real clock, ``secrets``, argon2id."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import attrs

from echoppe_accounts.domain.password import normalize

if TYPE_CHECKING:
    import argon2


class SystemClock:
    """The system's clock, in UTC.

    .. versionadded:: 0.2.0
    """

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class SystemSecrets:
    """Randomness from the operating system's CSPRNG (the ``secrets`` module).

    .. versionadded:: 0.2.0
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


_MIN_MEMORY = 8  # KiB: argon2's least memory for one lane
log = logging.getLogger("echoppe_accounts.hashing")


@attrs.define
class Argon2Hasher:
    """argon2id in PHC format, OWASP's minimum parameters by default (SPEC P1).

    With a *pepper* (a secret kept outside the database), the password is
    first keyed with HMAC-SHA256, so a stolen database alone cannot be
    attacked offline.

    Every :meth:`verify` costs the work of one hash at *these* parameters,
    whatever the stored hash (SPEC P5), so that timing tells nothing about
    an account: a hash made with cheaper parameters is padded with the
    missing work (as Django's ``harden_runtime`` does), and a malformed hash
    or one made with dearer parameters (more memory × passes than these) is
    not computed at all but answered "no match" after the same work. Such
    dearer hashes appear only when a shop *lowers* its parameters; their
    owners then set a new password through the reset (a warning is logged
    once). This also keeps a stored hash from making the server allocate
    gigabytes. Work alone is not time: a smaller hash runs faster per block
    (it fits the caches), so a padded check also waits for what remains of
    the usual duration of a current one, learnt from the checks made.

    >>> hasher = Argon2Hasher(memory_cost=8, time_cost=1)  # tiny, for the example
    >>> h = hasher.hash("correct horse")
    >>> h.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    True
    >>> hasher.verify(h, "correct horse"), hasher.verify(h, "wrong horse")
    (True, False)

    .. versionadded:: 0.2.0
    """

    memory_cost: int = 19456
    time_cost: int = 2
    parallelism: int = 1
    pepper: bytes | None = attrs.field(default=None, repr=False)
    _built: tuple[argon2.PasswordHasher, argon2.Parameters] | None = attrs.field(
        init=False, repr=False, default=None
    )
    _typical: float = attrs.field(init=False, repr=False, default=0.0)
    _warned: bool = attrs.field(init=False, repr=False, default=False)

    def __attrs_post_init__(self) -> None:
        """Check the parameters' types now; argon2-cffi loads on the first hash."""
        # The check argon2-cffi's PasswordHasher makes when it is built:
        # the hasher itself waits for the first hash or check, so that
        # wiring a process loads no argon2 (issue 22).
        given: tuple[tuple[str, object], ...] = (
            ("time_cost", self.time_cost),
            ("memory_cost", self.memory_cost),
            ("parallelism", self.parallelism),
        )
        wrong = [
            f"'{name}' must be a int (got {type(value).__name__})"
            for name, value in given
            if not isinstance(value, int)
        ]
        if wrong:
            raise TypeError(", ".join(wrong) + ".")

    def _argon2(self) -> tuple[argon2.PasswordHasher, argon2.Parameters]:
        """The argon2-cffi hasher (128-bit salt, 256-bit hash) and its parameters."""
        if self._built is None:
            import argon2  # noqa: PLC0415 (on the first hash, issue 22)
            import argon2.low_level  # noqa: PLC0415

            hasher = argon2.PasswordHasher(
                time_cost=self.time_cost,
                memory_cost=self.memory_cost,
                parallelism=self.parallelism,
                hash_len=32,
                salt_len=16,
                type=argon2.Type.ID,
            )
            current = argon2.Parameters(
                type=argon2.Type.ID,
                version=argon2.low_level.ARGON2_VERSION,
                salt_len=16,
                hash_len=32,
                time_cost=self.time_cost,
                memory_cost=self.memory_cost,
                parallelism=self.parallelism,
            )
            self._built = (hasher, current)
        return self._built

    @property
    def work(self) -> int:
        """The work of one hash at these parameters, in KiB-passes (m × t)."""
        return self.memory_cost * self.time_cost

    def _keyed(self, password: str) -> str:
        password = normalize(password)
        if self.pepper is None:
            return password
        return hmac.new(self.pepper, password.encode(), hashlib.sha256).hexdigest()

    def hash(self, password: str) -> str:
        """Return the PHC string of *password*."""
        return self._argon2()[0].hash(self._keyed(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether *password* matches, after one hash's worth of work (P5).

        Malformed hashes and hashes dearer than these parameters simply do
        not match.
        """
        import argon2  # noqa: PLC0415 (on the first check, issue 22)

        hasher, _ = self._argon2()
        started = time.perf_counter()
        try:
            stored = _parameters(password_hash)
        except argon2.exceptions.InvalidHashError:
            self._pad(self.work, 0)
            return False
        stored_work = stored.memory_cost * stored.time_cost
        if stored_work > self.work:
            if not self._warned:
                self._warned = True
                log.warning(
                    "password hashes dearer than the current parameters (m=%d, "
                    "t=%d) are refused; their owners must reset their password",
                    stored.memory_cost,
                    stored.time_cost,
                )
            self._pad(self.work, 0)
            return False
        matched: bool
        try:
            matched = hasher.verify(password_hash, self._keyed(password))
        except (
            argon2.exceptions.VerificationError,
            argon2.exceptions.InvalidHashError,
        ):
            matched = False
        if self._is_current(stored):
            self._learn(time.perf_counter() - started)
        else:
            self._pad(self.work - stored_work, stored.memory_cost)
            # Smaller memory runs faster per block (caches): top up the
            # last fraction to the usual time of a current check.
            rest = self._typical - (time.perf_counter() - started)
            if rest > 0:
                time.sleep(rest)
        return matched

    def _is_current(self, stored: argon2.Parameters) -> bool:
        return (stored.memory_cost, stored.time_cost, stored.parallelism) == (
            self.memory_cost,
            self.time_cost,
            self.parallelism,
        )

    def _learn(self, seconds: float) -> None:
        """Follow the usual duration of a current check (a moving average)."""
        if self._typical == 0:
            self._typical = seconds
        else:
            self._typical += (seconds - self._typical) / 16

    def _pad(self, work: int, memory_done: int) -> None:
        """Spend *work* KiB-passes on a throw-away hash (SPEC P5).

        The padding fills the memory the stored hash did not touch, so that
        a padded check also touches as much fresh memory as a current one.
        """
        if work < _MIN_MEMORY:
            return
        memory = self.memory_cost - memory_done
        if memory < _MIN_MEMORY or memory > work:
            memory = work
        passes = max(1, round(work / memory))
        import argon2  # noqa: PLC0415 (on the first check, issue 22)

        argon2.low_level.hash_secret_raw(
            secret=b"padding",
            salt=bytes(16),
            time_cost=passes,
            memory_cost=max(_MIN_MEMORY, work // passes),
            parallelism=1,
            hash_len=32,
            type=argon2.Type.ID,
        )

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether the hash was made with other parameters than these."""
        import argon2  # noqa: PLC0415 (on the first check, issue 22)

        try:
            return _parameters(password_hash) != self._argon2()[1]
        except argon2.exceptions.InvalidHashError:
            return True


@functools.lru_cache(maxsize=16)
def _parameters(password_hash: str) -> argon2.Parameters:
    # Read once for a login's check and its needs_rehash() that follows.
    import argon2  # noqa: PLC0415 (on the first check, issue 22)

    return argon2.extract_parameters(password_hash)


_SCRYPT_PHC = re.compile(
    r"\$scrypt\$ln=(?P<ln>[1-9]\d?),r=(?P<r>[1-9]\d?),p=(?P<p>[1-9]\d?)"
    r"\$(?P<salt>[A-Za-z0-9+/]{16,})\$(?P<hash>[A-Za-z0-9+/]{16,})"
)


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

    .. versionadded:: 0.2.0
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

        Every check costs one derivation at *these* parameters, whatever
        is stored (SPEC P5): a cheaper hash is padded with the missing work;
        a malformed hash, or one dearer than these parameters (a stored
        hash must not make the server allocate gigabytes), does not match
        after the same work.
        """
        found = _SCRYPT_PHC.fullmatch(password_hash)
        if found is None:
            self._pad(self.work)
            return False
        ln, r, p = (int(found[name]) for name in ("ln", "r", "p"))
        stored_work = (1 << ln) * r * p
        if stored_work > self.work:
            self._pad(self.work)
            return False
        expected = _unb64(found["hash"])
        derived = self._derive(password, _unb64(found["salt"]), ln, r, p)
        self._pad(self.work - stored_work)
        return hmac.compare_digest(derived, expected)

    @property
    def work(self) -> int:
        """The work of one derivation at these parameters (N × r × p)."""
        return (1 << self.log2_n) * self.block_size * self.parallelism

    def _pad(self, work: int) -> None:
        """Spend *work* on throw-away derivations, largest first (SPEC P5)."""
        r = self.block_size
        while work >= 2 * r:
            ln = (work // r).bit_length() - 1
            hashlib.scrypt(
                b"padding", salt=bytes(16), n=1 << ln, r=r, p=1, dklen=32,
                maxmem=256 * 1024 * 1024,
            )  # fmt: skip
            work -= (1 << ln) * r

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether the hash was made with other parameters than these."""
        found = _SCRYPT_PHC.fullmatch(password_hash)
        return found is None or not password_hash.startswith(
            f"$scrypt${self._params()}$"
        )
