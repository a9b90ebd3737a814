"""What both readings of a postal address share: line limits and La Poste's codes.

:mod:`echoppe_accounts.domain.address` (the general path,
``PostalAddress._parse``) imports its fast path,
:mod:`echoppe_accounts.domain._fast_address`; both read what is here, so
the fast path need not import ``address`` back. ``address`` binds the
public names again and documents them, with La Poste's table of codes.
"""

from __future__ import annotations

import unicodedata

from echoppe_accounts.domain.text import strip_combining

LINE_LENGTH = 38
"""Longest line of a postal address, in characters (AFNOR NF Z10-011)."""
MAX_LINES = 6
"""Most lines of a postal address, recipient included."""
MAX_STREET_LINES = MAX_LINES - 2
"""Most street lines of an address: six lines less the recipient and city lines."""
CODE_DIGITS = 5
"""Length of a La Poste postal code, in ASCII digits."""

FRENCH_POSTAL_COUNTRIES = frozenset(
    {"FR", "GP", "MQ", "GF", "RE", "PM", "YT", "BL", "MF", "TF", "WF", "PF", "NC", "MC"}
)
"""Countries and territories served by La Poste's five-digit postal codes."""
FRENCH_REPUBLIC = FRENCH_POSTAL_COUNTRIES - {"MC"}
"""The territories ``FR`` stands for in an address: all but Monaco."""

# La Poste's table (see address's module docstring): whole codes first,
# since Saint-Barthélemy and Saint-Martin kept codes of Guadeloupe's range.
_TERRITORY_OF_CODE = {"97133": "BL", "97150": "MF", "97500": "PM"}
_TERRITORY_OF_PREFIX = {
    "971": "GP",
    "972": "MQ",
    "973": "GF",
    "974": "RE",
    "976": "YT",
    "980": "MC",
    "984": "TF",
    "986": "WF",
    "987": "PF",
    "988": "NC",
}


def territory_of_digits(postal_code: str) -> str | None:
    """``address.la_poste_territory`` of five ASCII digits, already checked."""
    if territory := _TERRITORY_OF_CODE.get(postal_code):
        return territory
    if "01" <= postal_code[:2] <= "95":  # the departments 01 to 95
        return "FR"
    return _TERRITORY_OF_PREFIX.get(postal_code[:3])


def postal_upper(text: str) -> str:
    """Upper-case without accents, as the last lines of an address are written."""
    if text.isascii():  # NFKD leaves ASCII as it is
        return text.upper()
    return strip_combining(unicodedata.normalize("NFKD", text)).upper()
