"""The fast path of ``PostalAddress.parse``: plain French addresses.

A plain French address (country ``FR``, one to four street lines, five
ASCII digits La Poste gives to France, and a city, every field already as
cleaning leaves it and short enough to print) is what the general path,
``PostalAddress._parse``, the reference, returns unchanged; :func:`plain`
tells it, and ``False`` sends any other address to the general path. The
fast paths' switch (:mod:`echoppe_accounts.domain.fast`) turns it off;
``tests/unit/test_fast_paths.py`` holds both paths to the same answers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from echoppe_accounts.domain._postal import (
    CODE_DIGITS,
    FRENCH_REPUBLIC,
    LINE_LENGTH,
    MAX_STREET_LINES,
    postal_upper,
    territory_of_digits,
)


def _plain_line(text: object) -> bool:
    """Tell whether *text* is a line that cleaning leaves as it is, and fits.

    Printable text holds no white space but the space (the others are
    unprintable, as are lone surrogates), so it is folded when no space
    starts, ends or doubles in it; it is then left as it is when it is in
    Unicode's composed form (NFC) already.
    """
    return (
        isinstance(text, str)
        and 0 < len(text) <= LINE_LENGTH
        and text.isprintable()
        and text[0] != " "
        and text[-1] != " "
        and "  " not in text
        and (text.isascii() or unicodedata.is_normalized("NFC", text))
    )


def plain(
    street_lines: Sequence[str], postal_code: str, city: str, country: str
) -> bool:
    """Tell whether the general path would return these fields unchanged.

    Then the address is ``PostalAddress(tuple(street_lines), postal_code,
    city, "FR")``, exactly what the general path returns for it, without
    its work; ``False`` sends the fields to the general path.
    """
    # A condition, not ``return not (...)``: CPython 3.11 specialises a
    # comparison that jumps, not one whose value is kept (``country != "FR"``).
    if (  # noqa: SIM103
        country != "FR"
        or isinstance(street_lines, str)
        or not 0 < len(street_lines) <= MAX_STREET_LINES
        or not all(map(_plain_line, street_lines))
        or len(postal_code) != CODE_DIGITS
        or not postal_code.isascii()
        or not postal_code.isdigit()
        # The last line is "75011 CITY", upper case without accents.
        or not _plain_line(city)
        or len(city if city.isascii() else postal_upper(city))
        > LINE_LENGTH - CODE_DIGITS - 1
        # Five ASCII digits, checked above.
        or territory_of_digits(postal_code) not in FRENCH_REPUBLIC
    ):
        return False
    return True
