"""Password hashes of the platform a shop leaves: which ones can be kept.

PrestaShop 1.7 and later store a customer's password as PHP's
``password_hash($password, PASSWORD_BCRYPT)``: a bcrypt hash of the password
itself, without the shop's ``_COOKIE_KEY_``, written ``$2y$10$`` followed by
22 characters of salt and 31 of hash (``$2a$`` and ``$2b$`` are the same
algorithm under the names other libraries use). Such a hash is kept at
import *wrapped*, as Django wraps legacy hashes: the bcrypt setting (cost
and salt) stays readable, and the bcrypt output is hashed again with
argon2id, so what rests in storage costs an attacker bcrypt *and* argon2id
per guess (:data:`WRAPPED_PREFIX`). It is checked once at the customer's
first login and replaced by a plain argon2id hash then (SPEC P1, P5, M3;
see :class:`~echoppe_accounts.LegacyHasher`). A typed password longer than
bcrypt's 72 bytes never matches: bcrypt would have compared its first 72
bytes only, and a login must never upgrade a hash from such a match (M3).

WordPress (so WooCommerce) before 6.8, phpBB 3 and many PHP shops kept
*portable phpass* hashes: ``$P$`` (``$H$`` in phpBB), one character for the
base-2 logarithm of the number of MD5 rounds (``B``: 2¹³ in WordPress), eight
of salt and 22 of hash. They are kept wrapped the same way
(:data:`PHPASS_WRAPPED_PREFIX`), checked at the first login and replaced.

WordPress 6.8 and later write ``$wp$2y$10$…``: ``$wp`` before a bcrypt
hash of ``base64(HMAC-SHA384(password, key "wp-sha384"))``, so that bcrypt
reads the whole password however long (:data:`WORDPRESS_PREFIX`). Such a
hash is kept wrapped like a bcrypt one, ``$wp`` kept in front, checked at the
first login against the pre-hashed password and replaced.

PrestaShop 1.6 stored ``md5(_COOKIE_KEY_ . password)``: a single unsalted
MD5, which no longer protects anything and needs the old shop's secret key.
It is not kept: its owner is invited to choose a password, as is the owner of
any hash this module does not recognise.

>>> usable_legacy_hash("$2y$10$" + "N" * 53) == "$2y$10$" + "N" * 53
True
>>> bcrypt_cost("$2y$10$" + "N" * 53)
10
>>> usable_legacy_hash("9dd4e461268c8034f5c8564e155c67a6") is None  # MD5 (1.6)
True
>>> usable_legacy_hash("$2y$13$" + "N" * 53) is None  # dearer than the cap
True
>>> usable_legacy_hash("$P$B12345678L6Lpt4BxNotVIMILOa9u81")  # WordPress
'$P$B12345678L6Lpt4BxNotVIMILOa9u81'
>>> phpass_cost("$P$B12345678L6Lpt4BxNotVIMILOa9u81")
13
>>> usable_legacy_hash("$wp$2y$10$" + "N" * 53) == "$wp$2y$10$" + "N" * 53
True
>>> wrapped = wrapped_hash("$2y$10$" + "N" * 53, "$argon2id$v=19$...")
>>> wrapped
'$bcrypt-argon2id$2y$10$NNNNNNNNNNNNNNNNNNNNNN$argon2id$v=19$...'
>>> unwrap(wrapped)
('$2y$10$NNNNNNNNNNNNNNNNNNNNNN', '$argon2id$v=19$...')

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import re

MAX_BCRYPT_COST = 12
"""The dearest bcrypt cost kept: PHP's default is 10 (12 since PHP 8.4).

A dearer hash would let a stored value make each login cost seconds; its
owner is invited to choose a password instead.

.. versionadded:: 0.2.0
"""

MIN_BCRYPT_COST = 4
"""The cheapest cost bcrypt defines."""

PROBE_HASH = "$2y$04$WG1o5qGJIIeurrPH/DnBWuw4v6vdtMWPjWm3wDL5tjBRYJ3Ji4D6O"
"""A bcrypt hash of :data:`PROBE_PASSWORD`: ask a hasher whether it checks bcrypt.

.. versionadded:: 0.2.0
"""

PROBE_WORDPRESS_HASH = "$wp$2y$04$u8cwCPrvnA3EvfJZgFh4y.5IFH3tut7bXI3ntUDDLjBl4HcH2apM."
"""A WordPress 6.8+ hash of :data:`PROBE_PASSWORD`: does a hasher check those?

.. versionadded:: 0.2.0
"""

PROBE_PASSWORD = "echoppe-accounts probe"  # noqa: S105 (a public test vector)
"""The password of :data:`PROBE_HASH`.

.. versionadded:: 0.2.0
"""

_BCRYPT = re.compile(r"\$2[aby]\$(?P<cost>\d\d)\$[./A-Za-z0-9]{53}")
_BCRYPT_LENGTH = 60


WRAPPED_PREFIX = "$bcrypt-argon2id$"
"""How a wrapped bcrypt hash starts: ``$bcrypt-argon2id$2y$10$<salt>$argon2id$…``.

.. versionadded:: 0.2.0
"""

BCRYPT_PASSWORD_BYTES = 72
"""bcrypt reads this many bytes of a password; PHP ignored the rest.

.. versionadded:: 0.2.0
"""

_SETTING_LENGTH = 29
"""``$2y$10$`` and 22 characters of salt: what bcrypt needs to hash again."""


PHPASS_WRAPPED_PREFIX = "$phpass-argon2id$"
"""How a wrapped phpass hash starts: ``$phpass-argon2id$P$B<salt>$argon2id$…``.

.. versionadded:: 0.2.0
"""

ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
"""phpass's alphabet: its cost character and its base 64.

.. versionadded:: 0.2.0
"""

MIN_PHPASS_COST = 7
"""The cheapest phpass cost (2⁷ MD5 rounds) phpass itself accepts.

.. versionadded:: 0.2.0
"""

MAX_PHPASS_COST = 16
"""The dearest phpass cost kept (2¹⁶ MD5 rounds; WordPress writes 13, phpBB 11).

.. versionadded:: 0.2.0
"""

PHPASS_SETTING_LENGTH = 12
"""``$P$``, the cost character and 8 characters of salt.

.. versionadded:: 0.2.0
"""

_PHPASS = re.compile(r"\$[PH]\$[./0-9A-Za-z]{31}")
_PHPASS_LENGTH = 34


WORDPRESS_PREFIX = "$wp"
"""What WordPress 6.8+ writes before a bcrypt hash of its pre-hashed password.

The stored form of such a hash, wrapped, is this prefix before a wrapped
bcrypt hash: ``$wp$bcrypt-argon2id$2y$10$<salt>$argon2id$…``.

.. versionadded:: 0.2.0
"""

WORDPRESS_KEY = b"wp-sha384"
"""The HMAC-SHA384 key WordPress 6.8+ pre-hashes a password with.

.. versionadded:: 0.2.0
"""


def is_bcrypt_family(password_hash: str) -> bool:
    """Tell whether *password_hash* claims to be a kept legacy hash, wrapped or not.

    bcrypt (``$2…``), WordPress's (``$wp$``) and phpass (``$P$``, ``$H$``),
    plain or wrapped: such a hash is never handed to another hasher, even
    when malformed.

    .. versionadded:: 0.2.0
    """
    return password_hash.startswith(
        ("$2", WRAPPED_PREFIX, "$P$", "$H$", PHPASS_WRAPPED_PREFIX, "$wp$")
    )


def wordpress_bcrypt(password_hash: str) -> str | None:
    """Return the bcrypt hash inside a WordPress 6.8+ hash (``$wp$…``), or ``None``.

    Plain (``$2y$…``) or wrapped (``$bcrypt-argon2id$…``); ``None`` when
    *password_hash* is not a WordPress hash or holds neither.

    .. versionadded:: 0.2.0
    """
    if not password_hash.startswith(WORDPRESS_PREFIX + "$"):
        return None
    inner = password_hash[len(WORDPRESS_PREFIX) :]
    if inner.startswith(WRAPPED_PREFIX) or bcrypt_cost(inner) is not None:
        return inner
    return None


def phpass_cost(password_hash: str) -> int | None:
    """Return the cost (log₂ of MD5 rounds) of a well-formed phpass hash, or ``None``.

    Only costs from :data:`MIN_PHPASS_COST` to :data:`MAX_PHPASS_COST`.

    .. versionadded:: 0.2.0
    """
    if len(password_hash) != _PHPASS_LENGTH or not _PHPASS.fullmatch(password_hash):
        return None
    cost = ITOA64.index(password_hash[3])
    return cost if MIN_PHPASS_COST <= cost <= MAX_PHPASS_COST else None


def wrapped_phpass(phpass_hash: str, inner: str) -> str:
    """Return the stored form of *phpass_hash*: its setting, then *inner*.

    .. versionadded:: 0.2.0
    """
    return f"{PHPASS_WRAPPED_PREFIX}{phpass_hash[1:PHPASS_SETTING_LENGTH]}{inner}"


def unwrap_phpass(password_hash: str) -> tuple[str, str] | None:
    """Return the phpass setting and the inner hash of a wrapped one, or ``None``.

    .. versionadded:: 0.2.0
    """
    if not password_hash.startswith(PHPASS_WRAPPED_PREFIX):
        return None
    rest = password_hash[len(PHPASS_WRAPPED_PREFIX) :]
    cut = PHPASS_SETTING_LENGTH - 1
    setting, inner = "$" + rest[:cut], rest[cut:]
    if phpass_cost(setting + "." * 22) is None or not inner.startswith("$"):
        return None
    return setting, inner


def wrapped_hash(bcrypt_hash: str, inner: str) -> str:
    """Return the stored form of *bcrypt_hash*: its setting, then *inner*.

    *inner* is the current hasher's hash of the whole bcrypt hash.

    .. versionadded:: 0.2.0
    """
    return f"{WRAPPED_PREFIX}{bcrypt_hash[1:_SETTING_LENGTH]}{inner}"


def unwrap(password_hash: str) -> tuple[str, str] | None:
    """Return the bcrypt setting and the inner hash of a wrapped hash, or ``None``.

    .. versionadded:: 0.2.0
    """
    if not password_hash.startswith(WRAPPED_PREFIX):
        return None
    rest = password_hash[len(WRAPPED_PREFIX) :]
    setting, inner = "$" + rest[: _SETTING_LENGTH - 1], rest[_SETTING_LENGTH - 1 :]
    if bcrypt_cost(setting + "N" * 31) is None or not inner.startswith("$"):
        return None
    return setting, inner


def too_long_for_bcrypt(password: str) -> bool:
    """Tell whether bcrypt would read only part of *password* (over 72 bytes).

    .. versionadded:: 0.2.0
    """
    return len(password.encode("utf-8", "surrogatepass")) > BCRYPT_PASSWORD_BYTES


def bcrypt_cost(password_hash: str) -> int | None:
    """Return the cost of a well-formed bcrypt hash, or ``None``.

    .. versionadded:: 0.2.0
    """
    if len(password_hash) != _BCRYPT_LENGTH:  # size before work (SPEC F9)
        return None
    found = _BCRYPT.fullmatch(password_hash)
    return None if found is None else int(found["cost"])


def usable_legacy_hash(text: str) -> str | None:
    """Return *text* as a hash to keep, or ``None`` when its owner must be invited.

    Kept: bcrypt hashes (``$2y$``, ``$2a$``, ``$2b$``) of a cost from
    :data:`MIN_BCRYPT_COST` to :data:`MAX_BCRYPT_COST`, WordPress 6.8+'s
    (``$wp$2y$…``) of the same costs, and portable phpass hashes (``$P$``,
    ``$H$``) of a cost from :data:`MIN_PHPASS_COST` to
    :data:`MAX_PHPASS_COST`, surrounding white space removed. Anything
    else, MD5 included, is not usable.

    .. versionadded:: 0.2.0
    """
    if len(text) > 2 * _BCRYPT_LENGTH:  # size before work (SPEC F9)
        return None
    candidate = text.strip()
    if phpass_cost(candidate) is not None:
        return candidate
    if candidate.startswith(WORDPRESS_PREFIX + "$2"):
        cost = bcrypt_cost(candidate[len(WORDPRESS_PREFIX) :])
    else:
        cost = bcrypt_cost(candidate)
    if cost is None or not MIN_BCRYPT_COST <= cost <= MAX_BCRYPT_COST:
        return None
    return candidate
