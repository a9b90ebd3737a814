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

_SPACE_SEPARATORS = {
    code: " "
    for code in (0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)
    if unicodedata.category(chr(code)) == "Zs"
}
"""Unicode's space separators but the ASCII space, each to an ASCII space.

Read from ``unicodedata`` at import: a character listed here that a later
Unicode moved out of Zs is left out, and one it added is only examined
character by character, as before.
"""

RAW_SLACK = 64
"""Characters of white space a value may carry beyond its field's maximum.

People paste values with spaces around them; anything longer than the
maximum plus this slack cannot clean down to a valid value worth the work.
"""


_COMBINING_DIACRITICS = re.compile(
    "[{}]+".format(
        "".join(
            chr(code)
            for code in range(0x0300, 0x0370)
            if unicodedata.combining(chr(code))
        )
    )
)
"""The combining diacritical marks (U+0300–U+036F) that have a combining class.

Decomposed French text carries its accents among them; U+034F, the
grapheme joiner, has none and stays, as :func:`strip_combining` wants.
"""


def strip_combining(text: str) -> str:
    """Return *text* without its combining characters (``unicodedata.combining``).

    Applied to decomposed text (NFD, NFKD), this removes the accents:
    ``é`` decomposed is ``e`` and U+0301. The accents of Latin scripts are
    deleted in one regular-expression substitution; only text left holding other
    combining characters is filtered character by character, so the result
    is the same as keeping each character whose combining class is 0.

    >>> import unicodedata
    >>> strip_combining(unicodedata.normalize("NFKD", "Échoppe"))
    'Echoppe'

    .. versionadded:: 0.2.0
    """
    if text.isascii():
        return text
    stripped = _COMBINING_DIACRITICS.sub("", text)
    if stripped.isascii() or not any(map(unicodedata.combining, stripped)):
        return stripped
    return "".join(c for c in stripped if not unicodedata.combining(c))


def raw_limit(max_length: int) -> int:
    """Return the longest raw input examined for a field of *max_length*.

    Anything longer is refused from its length alone (SPEC F9).
    """
    return 2 * max_length + RAW_SLACK


def is_valid_unicode(value: str) -> bool:
    """Tell whether *value* can be encoded (holds no lone surrogate)."""
    return value.isascii() or _SURROGATE.search(value) is None


def has_forbidden_character(value: str) -> bool:
    """Tell whether *value* holds a control, format, surrogate or unassigned char.

    Printable text, the common case, is answered by :meth:`str.isprintable`
    alone, without looking at each character's Unicode category: the
    characters it calls unprintable are the categories ``C*`` (control,
    format, surrogate, private use, unassigned) and ``Z*`` but the ASCII
    space, a superset of the forbidden ones. Only text holding one of them
    (a no-break space, say) is examined character by character.
    """
    if value.isprintable():
        return False
    if value.isascii():
        return True
    # The space separators (Zs) are unprintable but allowed: with each made
    # an ASCII space, printable text holds none of the forbidden characters
    # (a no-break space in a phone number, say); anything else is examined.
    if value.translate(_SPACE_SEPARATORS).isprintable():
        return False
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
    # raw_limit() and is_valid_unicode(), written out: this runs for every
    # field of every form.
    if len(value) > 2 * max_length + RAW_SLACK:
        raise ValidationError.single(path, "text.too_long", max=max_length)
    if not value.isascii() and _SURROGATE.search(value) is not None:
        raise ValidationError.single(path, "text.invalid_unicode")


def clean_text(value: str, path: str, *, max_length: int) -> str:
    """Return *value* cleaned, or raise :class:`ValidationError` at *path*.

    The empty result is returned as is: whether a field is required is the
    caller's rule, not this function's.
    """
    if len(value) > 2 * max_length + RAW_SLACK or not value.isascii():
        check_raw(value, path, max_length=max_length)
    folded = " ".join(value.split())
    # Folding removed every other space separator (str.split() splits on
    # all of Zs, Zl and Zp): the folded text is free of forbidden
    # characters exactly when it is printable.
    if not folded.isprintable():
        raise ValidationError.single(path, "text.control_character")
    cleaned = folded if folded.isascii() else unicodedata.normalize("NFC", folded)
    if len(cleaned) > max_length:
        raise ValidationError.single(path, "text.too_long", max=max_length)
    return cleaned
