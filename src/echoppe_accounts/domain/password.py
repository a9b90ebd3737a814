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
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TypeVar

import attrs

from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.text import is_valid_unicode, strip_combining

_T = TypeVar("_T")

COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"
"""The bundled list (about 19,700 entries, French ones included), in package data.

One password a line, grouped by length, the groups apart by an empty line,
so that a check reads only the group of its length (issue 22).
"""


class CommonPasswords(AbstractSet[str]):
    r"""A list of passwords grouped by length, each group made a set on first use.

    A check looks a password up among those of its length only: the first
    check of a process makes one group of a few thousand strings into a
    set, not the whole list (issue 22). Otherwise a read-only set: ``in``,
    ``len``, iteration, comparisons, ``|`` and ``&`` (which give a
    :class:`frozenset`), and the hash of the equal :class:`frozenset`.

    >>> words = CommonPasswords("azerty\nsoleil\n\nmotdepasse")
    >>> "soleil" in words, "soleils" in words, len(words)
    (True, False, 3)
    >>> sorted(words | {"jetaime"})
    ['azerty', 'jetaime', 'motdepasse', 'soleil']

    .. versionadded:: 0.2.0
    """

    __slots__ = ("_groups", "_length", "_sets")

    def __init__(self, text: str) -> None:
        """Read *text*: one password a line, each length's group after an empty line."""
        self._groups: dict[int, str] = {}
        self._sets: dict[int, frozenset[str]] = {}
        for group in text.strip("\n").split("\n\n"):
            first = group.find("\n")
            length = len(group) if first < 0 else first
            self._groups[length] = (
                f"{self._groups[length]}\n{group}" if length in self._groups else group
            )
        self._length = sum(group.count("\n") + 1 for group in self._groups.values())

    def _words(self, length: int) -> frozenset[str]:
        words = self._sets.get(length)
        if words is None:
            # Two threads may make the same group at once: equal sets, the
            # second replacing the first.
            group = self._groups.get(length, "")
            words = frozenset(group.split("\n")) if group else frozenset()
            self._sets[length] = words
        return words

    def __contains__(self, word: object) -> bool:
        """Tell whether *word* is on the list."""
        return isinstance(word, str) and word in self._words(len(word))

    def __iter__(self) -> Iterator[str]:
        """Iterate over the passwords, shortest first."""
        for length in sorted(self._groups):
            yield from self._words(length)

    def __len__(self) -> int:
        """Return how many passwords the list holds."""
        return self._length

    def __hash__(self) -> int:
        """Return the hash of the equal :class:`frozenset`."""
        return self._hash()

    @classmethod
    def _from_iterable(cls, it: Iterable[_T]) -> frozenset[_T]:
        # What the set operators of collections.abc.Set build: a frozenset.
        return frozenset(it)


@functools.cache
def bundled_common_passwords() -> CommonPasswords:
    """Return the bundled list of common passwords, NFKC and case-folded.

    Read once, on first use; each length's passwords are made a set when
    a password of that length is first checked.

    >>> {"azerty", "motdepasse", "soleil"} <= bundled_common_passwords()
    True
    """
    # The package's data folder, read without importlib.resources, whose
    # readers import tempfile, shutil, zipfile and the compressors (issue 22).
    data = Path(__file__).resolve().parent.parent / "data" / COMMON_PASSWORDS_FILE
    # zlib reads the gzip format itself (wbits 16 + 15), without the gzip
    # module and its imports.
    text = zlib.decompress(data.read_bytes(), wbits=31).decode("utf-8")
    return CommonPasswords(text)


MAX_LENGTH = 128
"""Longest password accepted, in code points."""
RAW_MAX_LENGTH = 8 * MAX_LENGTH
"""Longest raw input looked at: anything longer is refused unread (SPEC F9)."""
_SIGNIFICANT = 4  # shorter personal words ("jean" is, "jo" is not) are ignored


def normalize(password: str) -> str:
    """Return *password* in NFKC, the only change made before hashing."""
    return unicodedata.normalize("NFKC", password)


_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")
_WORD_SEPARATORS = re.compile(r"[\s@._'-]+")

# ASCII text, the common case, is folded as bytes: NFKD and NFKC leave it as
# it is, it has no accents to drop, lower() is its case folding, and among
# its characters ``[\W_]`` is everything but letters and digits, which one
# bytes.translate() deletes. _WORD_SEPARATORS' characters become spaces for
# bytes.split(), which splits on ASCII white space but for \x1c-\x1f, the
# ASCII characters \s also matches.
_ASCII_NOT_LETTER_OR_DIGIT = bytes(c for c in range(128) if not chr(c).isalnum())
_ASCII_SEPARATORS = bytes.maketrans(b"@._'-\x1c\x1d\x1e\x1f", b" " * 9)


def _fold(text: str) -> str:
    """Reduce *text* to lower-case letters and digits without accents.

    People type "lechoppe" for "L'Échoppe": comparisons with personal words
    and the common list ignore case, accents, spaces and punctuation.
    """
    if text.isascii():
        lowered = text.encode("ascii").lower()
        return lowered.translate(None, _ASCII_NOT_LETTER_OR_DIGIT).decode("ascii")
    return _fold_unicode(text)


@functools.lru_cache(maxsize=4096)
def _fold_unicode(text: str) -> str:
    """:func:`_fold` of non-ASCII text, cached: names and their parts recur."""
    bare = strip_combining(unicodedata.normalize("NFKD", text.casefold()))
    return _NOT_LETTER_OR_DIGIT.sub("", unicodedata.normalize("NFKC", bare))


def _ascii_parts(word: str) -> tuple[bytes, ...]:
    """:func:`personal_parts` of an ASCII *word*, folded, short parts left out."""
    lowered = word.encode("ascii").lower()
    local, at, _ = lowered.partition(b"@")
    pieces = lowered.translate(_ASCII_SEPARATORS).split()
    return (
        lowered,
        local if at else b"",
        # Folding only removes characters: a short piece stays short.
        *(p for p in pieces if len(p) >= _SIGNIFICANT),
    )


@attrs.frozen
class PasswordPolicy:
    """Rules a new password must meet; the shop may raise the minimum length.

    Attributes:
        min_length: The fewest code points a password may have (8 to 64).
        shop_name: The shop's name, which no password may be built on;
            none by default (:class:`~echoppe_accounts.Settings` gives its
            own).
        common_passwords: The folded passwords refused as too common.

    .. versionadded:: 0.2.0
    """

    min_length: int = attrs.field(
        default=8, validator=attrs.validators.in_(range(8, 65))
    )
    shop_name: str = ""
    common_passwords: AbstractSet[str] = attrs.field(
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
        # "Built on" a word: one of its parts makes up half the password or
        # more. Parts are at least _SIGNIFICANT long, so none can when the
        # folded password is shorter than that.
        shortest = max(_SIGNIFICANT, (len(folded) + 1) // 2)
        if len(folded) < shortest:
            return value
        for word in _words_to_fold((self.shop_name, *personal), folded, shortest):
            for part in personal_parts(word):
                if 2 * len(part) >= len(folded) and part in folded:
                    raise ValidationError.single(path, "password.personal")
        return value


def _words_to_fold(
    words: tuple[str, ...], folded: str, shortest: int
) -> tuple[str, ...]:
    """Return the *words* whose parts must be worked out, a password folded *folded*.

    Only a part at least *shortest* long and inside *folded* refuses the
    password. For an ASCII word, folding deletes characters one by one, so
    every part (the whole word, its local part, each piece between
    separators) folds to a stretch of the whole word folded; a part inside
    *folded* then puts its first *shortest* characters, a stretch of
    *folded*, inside the word folded. When no stretch of *folded* that long
    is inside any ASCII word folded, those words need no more work. They
    are folded at once, joined by ``ÿ`` (U+00FF), which no ASCII word holds
    and the bytes' folding leaves: every word's folded form stays whole
    between two of them (a stretch across one only makes the test say yes
    more often). Other words are always worked out in full: Unicode
    normalisation is not done one character at a time.
    """
    ascii_words: list[str] = []
    others: list[str] = []
    for word in words:
        if word.isascii() and len(word) <= RAW_MAX_LENGTH:
            ascii_words.append(word)
        else:
            others.append(word)
    joined = _JOINER.join(ascii_words).encode("latin-1")
    text = joined.lower().translate(None, _ASCII_NOT_LETTER_OR_DIGIT).decode("latin-1")
    if any(folded[i : i + shortest] in text for i in range(len(folded) - shortest + 1)):
        return words
    return tuple(others)


_JOINER = "\xff"


@functools.lru_cache(maxsize=1024)
def personal_parts(word: str) -> tuple[str, ...]:
    """Return the folded forms of *word* a password must not be built on.

    The whole word, the local part of an email, and each of its parts
    between spaces and punctuation, each once, leaving out those too short
    to count (``"jean"`` counts, ``"jo"`` does not). A word too long to fit
    in a password, or not valid Unicode, has none: it could not make up
    half of one, and folding it would be work for nothing (SPEC F9).
    Results are cached, so the shop's name is folded once, not at every
    check.
    """
    if len(word) > RAW_MAX_LENGTH or not is_valid_unicode(word):
        return ()
    folded: list[str]
    if word.isascii():
        folded = [
            b.decode("ascii")
            for p in _ascii_parts(word)
            if len(b := p.translate(None, _ASCII_NOT_LETTER_OR_DIGIT)) >= _SIGNIFICANT
        ]
    else:
        local, at, _ = word.partition("@")
        folded = [
            f
            for p in (word, local if at else "", *_WORD_SEPARATORS.split(word))
            if len(f := _fold(p)) >= _SIGNIFICANT
        ]
    return tuple(dict.fromkeys(folded))
