r"""Cleaning of free text typed by people (names, address lines, codes).

Free text is normalised to NFC, stripped, inner runs of white space folded
to one space, and refused when it holds control, format, private-use or
unassigned characters: they are invisible on an invoice and a classic way
to smuggle look-alike data past checks. Text that is not valid Unicode (a
lone surrogate, which JSON can carry) is refused as unreadable.

Size comes before work (SPEC F9): a value far longer than its field allows
is refused from its length alone, before it is scanned, folded or
normalised, so a 10 MB name costs what a short one does.

>>> clean_text("  Jean   Dupont ", "name", max_length=38)
'Jean Dupont'
>>> clean_text("Jean\u200bDupont", "name", max_length=38)
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: name: This field contains an invisible...
>>> clean_text("Jean\ud800", "name", max_length=38)
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: name: This field contains unreadable text...
>>> clean_text("x" * 10_000_000, "name", max_length=38)
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: name: This field cannot exceed 38 characters.
"""

from __future__ import annotations

import re
import unicodedata

from echoppe_accounts.domain.errors import ValidationError

_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Zl", "Zp"})
_SURROGATE = re.compile("[\ud800-\udfff]")

RAW_SLACK = 64
"""Characters of white space a value may carry beyond its field's maximum.

People paste values with spaces around them; anything longer than the
maximum plus this slack cannot clean down to a valid value worth the work.
"""


def raw_limit(max_length: int) -> int:
    """Return the longest raw input examined for a field of *max_length*.

    Anything longer is refused from its length alone (SPEC F9).
    """
    return 2 * max_length + RAW_SLACK


def is_valid_unicode(value: str) -> bool:
    """Tell whether *value* can be encoded (holds no lone surrogate)."""
    return _SURROGATE.search(value) is None


def has_forbidden_character(value: str) -> bool:
    """Tell whether *value* holds a control, format, surrogate or unassigned char.

    Plain printable ASCII, the common case, is answered without looking at
    each character's Unicode category.
    """
    if value.isascii():
        return not value.isprintable()
    if not is_valid_unicode(value):
        return True
    return any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in value)


def check_raw(value: str, path: str, *, max_length: int) -> None:
    """Refuse *value* before any work if it is too large or not valid Unicode.

    Raises:
        ValidationError: ``text.too_long`` when *value* is longer than
            :func:`raw_limit` allows, ``text.invalid_unicode`` when it holds
            a lone surrogate.
    """
    if len(value) > raw_limit(max_length):
        raise ValidationError.single(path, "text.too_long", max=max_length)
    if not is_valid_unicode(value):
        raise ValidationError.single(path, "text.invalid_unicode")


def clean_text(value: str, path: str, *, max_length: int) -> str:
    """Return *value* cleaned, or raise :class:`ValidationError` at *path*.

    The empty result is returned as is: whether a field is required is the
    caller's rule, not this function's.
    """
    check_raw(value, path, max_length=max_length)
    folded = " ".join(value.split())
    if has_forbidden_character(folded):
        raise ValidationError.single(path, "text.control_character")
    cleaned = folded if folded.isascii() else unicodedata.normalize("NFC", folded)
    if len(cleaned) > max_length:
        raise ValidationError.single(path, "text.too_long", max=max_length)
    return cleaned
