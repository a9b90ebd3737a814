r"""Cleaning of free text typed by people (names, address lines, codes).

Free text is normalised to NFC, stripped, inner runs of white space folded
to one space, and refused when it holds control, format or surrogate
characters: they are invisible on an invoice and a classic way to smuggle
look-alike data past checks.

>>> clean_text("  Jean   Dupont ", "name", max_length=38)
'Jean Dupont'
>>> clean_text("Jean\u200bDupont", "name", max_length=38)
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: name: This field contains an invisible...
"""

from __future__ import annotations

import unicodedata

from echoppe_accounts.domain.errors import ValidationError

_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def has_forbidden_character(value: str) -> bool:
    """Tell whether *value* holds a control, format, surrogate or unassigned char."""
    return any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in value)


def clean_text(value: str, path: str, *, max_length: int) -> str:
    """Return *value* cleaned, or raise :class:`ValidationError` at *path*.

    The empty result is returned as is: whether a field is required is the
    caller's rule, not this function's.
    """
    folded = " ".join(value.split())
    if has_forbidden_character(folded):
        raise ValidationError.single(path, "text.control_character")
    cleaned = unicodedata.normalize("NFC", folded)
    if len(cleaned) > max_length:
        raise ValidationError.single(path, "text.too_long", max=max_length)
    return cleaned
