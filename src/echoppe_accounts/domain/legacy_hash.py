"""Password hashes of the platform a shop leaves: which ones can be kept.

PrestaShop 1.7 and later store a customer's password as PHP's
``password_hash($password, PASSWORD_BCRYPT)``: a bcrypt hash of the password
itself, without the shop's ``_COOKIE_KEY_``, written ``$2y$10$`` followed by
22 characters of salt and 31 of hash (``$2a$`` and ``$2b$`` are the same
algorithm under the names other libraries use). Such a hash is kept as it is
at import, checked once at the customer's first login and replaced by an
argon2id hash then (SPEC P1, P5; see
:class:`~echoppe_accounts.LegacyHasher`).

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

PROBE_PASSWORD = "echoppe-accounts probe"  # noqa: S105 (a public test vector)
"""The password of :data:`PROBE_HASH`.

.. versionadded:: 0.2.0
"""

_BCRYPT = re.compile(r"\$2[aby]\$(?P<cost>\d\d)\$[./A-Za-z0-9]{53}")
_BCRYPT_LENGTH = 60


def is_bcrypt_family(password_hash: str) -> bool:
    """Tell whether *password_hash* claims to be a bcrypt hash (``$2…$``).

    Such a hash is never handed to another hasher, even when malformed.

    .. versionadded:: 0.2.0
    """
    return password_hash.startswith("$2")


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
    :data:`MIN_BCRYPT_COST` to :data:`MAX_BCRYPT_COST`, surrounding white
    space removed. Anything else, MD5 included, is not usable.

    .. versionadded:: 0.2.0
    """
    if len(text) > 2 * _BCRYPT_LENGTH:  # size before work (SPEC F9)
        return None
    candidate = text.strip()
    cost = bcrypt_cost(candidate)
    if cost is None or not MIN_BCRYPT_COST <= cost <= MAX_BCRYPT_COST:
        return None
    return candidate
