"""The password policy (SPEC P2): length, NFKC, nothing else changed.

No composition rules (NIST SP 800-63B): a long passphrase of lower-case
words is better than ``P@ssw0rd!``. Passwords are NFKC-normalised before
hashing, and that is the only change made to them.

>>> policy = PasswordPolicy()
>>> policy.check("correct horse battery staple")
'correct horse battery staple'
>>> policy.check("court")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: password: The password must be at least 8...
"""

from __future__ import annotations

import functools
import gzip
import re
import unicodedata
from collections.abc import Iterable
from importlib import resources

import attrs

from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.text import is_valid_unicode

COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"
"""The bundled list (about 19,700 entries, French ones included), in package data."""


@functools.cache
def bundled_common_passwords() -> frozenset[str]:
    """Return the bundled list of common passwords, NFKC and case-folded.

    Read once, on first use.

    >>> {"azerty", "motdepasse", "soleil"} <= bundled_common_passwords()
    True
    """
    data = resources.files("echoppe_accounts.data").joinpath(COMMON_PASSWORDS_FILE)
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        return frozenset(line.strip() for line in text if line.strip())


MAX_LENGTH = 128
"""Longest password accepted, in code points."""
RAW_MAX_LENGTH = 8 * MAX_LENGTH
"""Longest raw input looked at: anything longer is refused unread (SPEC F9)."""
_SIGNIFICANT = 4  # shorter personal words ("jean" is, "jo" is not) are ignored


def normalize(password: str) -> str:
    """Return *password* in NFKC, the only change made before hashing."""
    return unicodedata.normalize("NFKC", password)


def _fold(text: str) -> str:
    """Reduce *text* to lower-case letters and digits without accents.

    People type "lechoppe" for "L'Échoppe": comparisons with personal words
    and the common list ignore case, accents, spaces and punctuation.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", bare))


@attrs.frozen
class PasswordPolicy:
    """Rules a new password must meet; the shop may raise the minimum length.

    .. versionadded:: 0.1.0
    """

    min_length: int = attrs.field(
        default=8, validator=attrs.validators.in_(range(8, 65))
    )
    shop_name: str = "L'Échoppe"
    common_passwords: frozenset[str] = attrs.field(
        factory=bundled_common_passwords, repr=False
    )

    def check(
        self, password: str, *, personal: Iterable[str] = (), path: str = "password"
    ) -> str:
        """Return the normalised *password*, or raise with the reason.

        *personal* holds the customer's email, names and the like: a password
        built on them (or on the shop's name) is refused.
        """
        # Size and validity before work (SPEC F9): NFKC composes at most a
        # few code points into one, so a raw value this long cannot be short
        # enough once normalised.
        if len(password) > RAW_MAX_LENGTH:
            raise ValidationError.single(path, "password.too_long", max=MAX_LENGTH)
        if not is_valid_unicode(password):
            raise ValidationError.single(path, "text.invalid_unicode")
        value = normalize(password)
        if len(value) < self.min_length:
            raise ValidationError.single(
                path, "password.too_short", min=self.min_length
            )
        if len(value) > MAX_LENGTH:
            raise ValidationError.single(path, "password.too_long", max=MAX_LENGTH)
        folded = _fold(value)
        if folded in self.common_passwords or value.casefold() in self.common_passwords:
            raise ValidationError.single(path, "password.common")
        for word in (self.shop_name, *personal):
            for part in personal_parts(word):
                # "Built on" it: the word makes up half the password or more.
                significant = len(part) >= _SIGNIFICANT
                if significant and part in folded and 2 * len(part) >= len(folded):
                    raise ValidationError.single(path, "password.personal")
        return value


@functools.lru_cache(maxsize=1024)
def personal_parts(word: str) -> tuple[str, ...]:
    """Return the folded forms of *word* a password must not be built on.

    The whole word, the local part of an email, and each of its parts
    between spaces and punctuation. A word too long to fit in a password,
    or not valid Unicode, has none: it could not make up half of one, and
    folding it would be work for nothing (SPEC F9). Results are cached, so
    the shop's name is folded once, not at every check.
    """
    if len(word) > RAW_MAX_LENGTH or not is_valid_unicode(word):
        return ()
    local = word.partition("@")[0]
    return (
        _fold(word),
        _fold(local),
        *(_fold(p) for p in re.split(r"[\s@._'-]+", word)),
    )
