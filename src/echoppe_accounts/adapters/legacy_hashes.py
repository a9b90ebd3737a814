"""Logins with the bcrypt hashes of an imported shop, upgraded to argon2id.

:class:`LegacyHasher` wraps the shop's current hasher (argon2id by default)
and also checks the bcrypt hashes that an import of PrestaShop customers
kept, wrapped at import in an argon2id hash (:meth:`~LegacyHasher.wrap`,
see :mod:`echoppe_accounts.domain.legacy_hash`). Its
:meth:`~LegacyHasher.needs_rehash` says yes for them, so the first successful
login stores a plain argon2id hash instead (SPEC P1), and bcrypt is never
used for that customer again. A typed password longer than bcrypt's 72
bytes never matches a bcrypt hash (SPEC M3): bcrypt would compare its first
72 bytes only, and the login would then store a hash of the whole typed
password, locking out the owner; such a customer resets their password.

The ``bcrypt`` package is imported on the first bcrypt hash only, so that
``import echoppe_accounts`` stays quick and shops that import nothing never
load it.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import base64
import hmac
import threading
import time

import attrs

from echoppe_accounts.adapters._phpass import phpass
from echoppe_accounts.domain.legacy_hash import (
    BCRYPT_PASSWORD_BYTES,
    MAX_BCRYPT_COST,
    MIN_BCRYPT_COST,
    WORDPRESS_KEY,
    WORDPRESS_PREFIX,
    bcrypt_cost,
    is_bcrypt_family,
    phpass_cost,
    too_long_for_bcrypt,
    unwrap,
    unwrap_phpass,
    wordpress_bcrypt,
    wrapped_hash,
    wrapped_phpass,
)
from echoppe_accounts.ports import PasswordHasher


def _check_cost(_: object, __: object, value: int | None) -> None:
    if value is not None and not MIN_BCRYPT_COST <= value <= MAX_BCRYPT_COST:
        msg = (
            f"equal_cost must be a bcrypt cost from {MIN_BCRYPT_COST} to "
            f"{MAX_BCRYPT_COST}, or None, not {value!r}"
        )
        raise ValueError(msg)


@attrs.define
class LegacyHasher:
    """A password hasher that also checks imported bcrypt and phpass hashes.

    bcrypt (``$2y$``, PrestaShop 1.7+), WordPress 6.8+'s (``$wp$2y$``,
    bcrypt over a SHA-384 HMAC of the password, WooCommerce included) and
    portable phpass (``$P$``, WordPress and WooCommerce before 6.8; ``$H$``,
    phpBB) hashes are kept wrapped at import (:meth:`wrap`) and replaced at
    the first login.

    New hashes, and every hash that is not bcrypt, are *current*'s
    business. A bcrypt hash is checked against the password exactly as
    typed (PHP hashed it without Unicode normalisation or pepper), on its
    first 72 bytes as PHP does, and is reported as needing a rehash: the
    login that succeeds with it stores *current*'s hash instead.

    Timing (SPEC P3, P5), a choice the shop makes with *equal_cost*
    (:attr:`Settings.imported_hash_cost
    <echoppe_accounts.Settings.imported_hash_cost>` in
    :func:`~echoppe_accounts.bootstrap`):

    - ``None`` (the default): a login on an imported hash costs bcrypt and
      argon2id, any other login argon2id alone. Someone timing many login
      attempts can tell an imported account not yet upgraded from the
      others (the figures are in the security page of the documentation),
      until its owner's first login.
    - a bcrypt cost (PrestaShop's 10): every check of another hash,
      unknown emails included, also computes a bcrypt hash of that cost,
      so every login costs the same, at the price of that bcrypt work on
      every login while imported hashes remain; an imported hash of a
      lower cost waits for the rest. Give the highest cost of the imported
      hashes (a dearer one still shows), and set it back to ``None`` once
      the imported customers have logged in or been invited again.

    A bcrypt hash kept unwrapped (imported by an earlier 0.2 development
    version) is checked as it is, then padded to *current*'s usual
    duration. Hashes dearer than cost 12 (PHP 8.4's default), and
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
    >>> wrapped = hasher.wrap(PROBE_HASH)
    >>> wrapped.startswith("$bcrypt-argon2id$2y$04$"), PROBE_HASH[29:] in wrapped
    (True, False)
    >>> hasher.verify(wrapped, PROBE_PASSWORD), hasher.verify(wrapped, "no")
    (True, False)
    >>> hasher.hash("correct horse").startswith("$argon2id$")
    True

    Args:
        current: The hasher of new passwords, argon2id by default in
            :func:`~echoppe_accounts.bootstrap`.
        equal_cost: ``None``, or the bcrypt cost every other check pays too
            (see above).

    .. versionadded:: 0.2.0
    """

    current: PasswordHasher
    equal_cost: int | None = attrs.field(default=None, validator=_check_cost)
    _equal_setting: bytes | None = attrs.field(default=None, init=False, repr=False)
    _typical_equal: float = attrs.field(default=0.0, init=False, repr=False)
    _typical: float = attrs.field(default=0.0, init=False, repr=False)
    _padding_hash: str | None = attrs.field(default=None, init=False, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    def hash(self, password: str) -> str:
        """Return *current*'s hash of *password*."""
        return self.current.hash(password)

    def wrap(self, bcrypt_hash: str) -> str:
        """Return *bcrypt_hash* as stored: its setting, and *current*'s hash of it.

        The importer stores this instead of the bcrypt hash (SPEC M3), so
        nothing that bcrypt alone can attack rests in storage.

        A portable phpass hash (``$P$``, ``$H$``) is wrapped alike (SPEC M3),
        and a WordPress 6.8+ one (``$wp$2y$…``) keeps its ``$wp`` before
        its wrapped bcrypt hash.

        Raises:
            ValueError: *bcrypt_hash* is not a bcrypt or phpass hash of a kept
                cost.

        .. versionadded:: 0.2.0
        """
        if phpass_cost(bcrypt_hash) is not None:
            return wrapped_phpass(bcrypt_hash, self.current.hash(bcrypt_hash))
        if bcrypt_hash.startswith(WORDPRESS_PREFIX + "$2"):
            return WORDPRESS_PREFIX + self.wrap(bcrypt_hash[len(WORDPRESS_PREFIX) :])
        cost = bcrypt_cost(bcrypt_hash)
        if cost is None or not MIN_BCRYPT_COST <= cost <= MAX_BCRYPT_COST:
            msg = "not a bcrypt hash of a cost from 4 to 12"
            raise ValueError(msg)
        return wrapped_hash(bcrypt_hash, self.current.hash(bcrypt_hash))

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether *password* matches, bcrypt hashes included.

        A password over 72 bytes never matches a bcrypt hash (SPEC M3). The
        time a check takes follows *equal_cost* (see the class
        documentation).
        """
        started = time.perf_counter()
        if not is_bcrypt_family(password_hash):
            matched = self.current.verify(password_hash, password)
            self._learn(time.perf_counter() - started)
            if self.equal_cost is not None:
                self._equal_work(password)
                self._typical_equal = _average(
                    self._typical_equal, time.perf_counter() - started
                )
            return matched
        if password_hash.startswith(("$P$", "$H$", "$phpass-")):
            return self._verify_phpass(password_hash, password, started)
        if password_hash.startswith(WORDPRESS_PREFIX):
            # bcrypt over the pre-hashed password: the same checks, on a
            # 64-character secret that bcrypt reads whole (no truncation).
            inner = wordpress_bcrypt(password_hash) or _MALFORMED
            return self.verify(inner, wordpress_secret(password))
        parts = unwrap(password_hash)
        if parts is not None:
            return self._verify_wrapped_bcrypt(*parts, password, started)
        cost = bcrypt_cost(password_hash)
        matched = (
            cost is not None
            and cost <= MAX_BCRYPT_COST
            and _bcrypt_matches(password_hash, password)
            and not too_long_for_bcrypt(password)
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

    def _verify_wrapped_bcrypt(
        self, setting: str, inner: str, password: str, started: float
    ) -> bool:
        """Check a wrapped bcrypt hash: bcrypt, then argon2id over its output."""
        computed = _bcrypt_of(setting, password)
        # The argon2id check runs whatever bcrypt gave: the same time.
        matched = self.current.verify(inner, computed or setting)
        too_long = too_long_for_bcrypt(password)
        if self.equal_cost is not None:
            # A hash cheaper than equal_cost waits for the rest; before
            # any other check was timed, it does the equal work itself.
            rest = self._typical_equal - (time.perf_counter() - started)
            if self._typical_equal == 0:
                cheaper = (bcrypt_cost(setting + "." * 31) or 0) < self.equal_cost
                if cheaper:
                    self._equal_work(password)
            elif rest > 0:
                time.sleep(rest)
        return matched and computed is not None and not too_long

    def _verify_phpass(self, password_hash: str, password: str, started: float) -> bool:
        """Check a phpass hash, wrapped (argon2id after it) or plain (padded).

        phpass costs milliseconds of MD5: a wrapped hash costs about what a
        current check does; a plain one waits for a current check's usual
        time (SPEC P3, P5).
        """
        parts = unwrap_phpass(password_hash)
        if parts is not None:
            setting, inner = parts
            computed = phpass(password, setting)
            matched = self.current.verify(inner, computed or setting)
            if self.equal_cost is not None:
                self._equal_work(password)  # as dear as any other check
            return matched and computed is not None
        computed = phpass(password, password_hash)
        matched = computed is not None and hmac.compare_digest(
            computed.encode(), password_hash.encode()
        )
        rest = self._typical - (time.perf_counter() - started)
        if self._typical == 0:
            padding_started = time.perf_counter()
            self.current.verify(self._padding(), password)
            self._learn(time.perf_counter() - padding_started)
        elif rest > 0:
            time.sleep(rest)
        return matched

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether to store a new hash: always for bcrypt, else *current*'s say."""
        return is_bcrypt_family(password_hash) or self.current.needs_rehash(
            password_hash
        )

    def _equal_work(self, password: str) -> None:
        """Compute a bcrypt hash of *equal_cost*, as an imported login does."""
        import bcrypt  # noqa: PLC0415 (loaded when needed only)

        with self._lock:
            if self._equal_setting is None:
                self._equal_setting = bcrypt.gensalt(rounds=self.equal_cost or 10)
        secret = password.encode("utf-8", "replace")[:BCRYPT_PASSWORD_BYTES]
        bcrypt.hashpw(secret, self._equal_setting)

    def _learn(self, seconds: float) -> None:
        """Follow the usual duration of *current*'s check (a moving average)."""
        self._typical = _average(self._typical, seconds)

    def _padding(self) -> str:
        """Return a throw-away hash by *current*, made on first need."""
        with self._lock:
            if self._padding_hash is None:
                self._padding_hash = self.current.hash("echoppe-accounts padding")
            return self._padding_hash


_MALFORMED = "$2-malformed"
"""A bcrypt hash that never matches: what a malformed ``$wp$`` hash is checked as."""


def wordpress_secret(password: str) -> str:
    """Return what WordPress 6.8+ hands bcrypt for *password*.

    ``base64(HMAC-SHA384(password, key "wp-sha384"))`` over the password's
    UTF-8 bytes as typed, as ``wp_check_password`` computes it: 64 ASCII
    characters, so bcrypt reads the whole password. A lone surrogate (no
    browser sends one) is written as such and matches no stored hash.

    .. versionadded:: 0.2.0
    """
    digest = hmac.digest(
        WORDPRESS_KEY, password.encode("utf-8", "surrogatepass"), "sha384"
    )
    return base64.b64encode(digest).decode("ascii")


def _average(typical: float, seconds: float) -> float:
    """Move the moving average *typical* towards *seconds* (0: not known yet)."""
    return seconds if typical == 0 else typical + (seconds - typical) / 16


def _bcrypt_of(setting: str, password: str) -> str | None:
    """Return bcrypt's hash of *password* under *setting*, or ``None``."""
    import bcrypt  # noqa: PLC0415 (loaded on the first bcrypt hash only)

    secret = password.encode("utf-8", "replace")[:BCRYPT_PASSWORD_BYTES]
    try:
        computed = bcrypt.hashpw(secret, setting.encode()).decode()
    except ValueError:  # a salt bcrypt refuses: the hash cannot match anything
        return None
    # bcrypt writes $2b$ whatever the setting said; the wrapped hash was
    # made over the stored form, $2y$ from PHP.
    return setting[:4] + computed[4:]


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
