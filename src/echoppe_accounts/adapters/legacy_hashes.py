"""Logins with the bcrypt hashes of an imported shop, upgraded to argon2id.

:class:`LegacyHasher` wraps the shop's current hasher (argon2id by default)
and also checks the bcrypt hashes that an import of PrestaShop customers
kept (see :mod:`echoppe_accounts.domain.legacy_hash`). Its
:meth:`~LegacyHasher.needs_rehash` says yes for them, so the first successful
login stores an argon2id hash instead (SPEC P1), and bcrypt is never used
for that customer again.

The ``bcrypt`` package is imported on the first bcrypt hash only, so that
``import echoppe_accounts`` stays quick and shops that import nothing never
load it.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import threading
import time

import attrs

from echoppe_accounts.domain.legacy_hash import (
    MAX_BCRYPT_COST,
    bcrypt_cost,
    is_bcrypt_family,
)
from echoppe_accounts.ports import PasswordHasher

BCRYPT_PASSWORD_BYTES = 72
"""bcrypt reads this many bytes of a password; PHP ignores the rest."""


@attrs.define
class LegacyHasher:
    """A password hasher that also checks imported bcrypt hashes (``$2y$``).

    New hashes, and every hash that is not bcrypt, are *current*'s
    business. A bcrypt hash is checked against the password exactly as
    typed (PHP hashed it without Unicode normalisation or pepper), on its
    first 72 bytes as PHP does, and is reported as needing a rehash: the
    login that succeeds with it stores *current*'s hash instead.

    Equal time (SPEC P3, P5): the hasher learns how long *current* usually
    takes to check a hash (a moving average over the checks it hands on,
    which *current* already makes equal), and a bcrypt check that took less
    waits for the rest, so an imported account answers no faster than an
    unknown email. Before any such check was seen, a bcrypt check is
    followed by one check of a throw-away hash by *current*, which teaches
    it. A bcrypt check that takes *longer* cannot be hidden: at
    PrestaShop's cost of 10 it takes about 55 ms on one core, where
    argon2id's default takes about 25 ms, so until an imported customer's
    first login, someone timing many login attempts can tell that an email
    belongs to an imported account not yet upgraded. A shop that will not
    accept this for the time of the migration imports without the
    ``password_hash`` column, and every customer is invited to choose a
    password instead. Hashes dearer than cost 12 (PHP 8.4's default), and
    malformed ones, are not computed at all: they do not match.

    >>> from echoppe_accounts import Argon2Hasher
    >>> from echoppe_accounts.domain.legacy_hash import PROBE_HASH, PROBE_PASSWORD
    >>> hasher = LegacyHasher(Argon2Hasher(memory_cost=8, time_cost=1))
    >>> hasher.verify(PROBE_HASH, PROBE_PASSWORD)
    True
    >>> hasher.verify(PROBE_HASH, "another one")
    False
    >>> hasher.needs_rehash(PROBE_HASH)
    True
    >>> hasher.hash("correct horse").startswith("$argon2id$")
    True

    Args:
        current: The hasher of new passwords, argon2id by default in
            :func:`~echoppe_accounts.bootstrap`.

    .. versionadded:: 0.2.0
    """

    current: PasswordHasher
    _typical: float = attrs.field(default=0.0, init=False, repr=False)
    _padding_hash: str | None = attrs.field(default=None, init=False, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    def hash(self, password: str) -> str:
        """Return *current*'s hash of *password*."""
        return self.current.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether *password* matches, bcrypt hashes included.

        A bcrypt check lasts at least as long as *current*'s usual check
        (see the class documentation); any other hash is *current*'s.
        """
        started = time.perf_counter()
        if not is_bcrypt_family(password_hash):
            matched = self.current.verify(password_hash, password)
            self._learn(time.perf_counter() - started)
            return matched
        cost = bcrypt_cost(password_hash)
        matched = (
            cost is not None
            and cost <= MAX_BCRYPT_COST
            and _bcrypt_matches(password_hash, password)
        )
        if self._typical == 0:
            # Nothing learnt yet: do a current check's real work, and learn.
            padding_started = time.perf_counter()
            self.current.verify(self._padding(), password)
            self._learn(time.perf_counter() - padding_started)
        else:
            rest = self._typical - (time.perf_counter() - started)
            if rest > 0:
                time.sleep(rest)
        return matched

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether to store a new hash: always for bcrypt, else *current*'s say."""
        return is_bcrypt_family(password_hash) or self.current.needs_rehash(
            password_hash
        )

    def _learn(self, seconds: float) -> None:
        """Follow the usual duration of *current*'s check (a moving average)."""
        if self._typical == 0:
            self._typical = seconds
        else:
            self._typical += (seconds - self._typical) / 16

    def _padding(self) -> str:
        """Return a throw-away hash by *current*, made on first need."""
        with self._lock:
            if self._padding_hash is None:
                self._padding_hash = self.current.hash("echoppe-accounts padding")
            return self._padding_hash


def _bcrypt_matches(password_hash: str, password: str) -> bool:
    import bcrypt  # noqa: PLC0415 (loaded on the first bcrypt hash only)

    try:
        secret = password.encode()
    except UnicodeEncodeError:  # a lone surrogate: no stored password has one
        return False
    try:
        return bcrypt.checkpw(secret[:BCRYPT_PASSWORD_BYTES], password_hash.encode())
    except ValueError:  # a salt bcrypt refuses: the hash cannot match anything
        return False
