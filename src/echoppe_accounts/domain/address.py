"""Postal addresses after the French postal norm AFNOR NF Z10-011 (SPEC A4).

An address is at most six lines of at most 38 characters: the recipient
line (an organisation, a person or a delivery contact, added when the
address is rendered), one to four street lines, the ``postal code CITY``
line, and for an address abroad the country line, which takes one street
line's place. French postal codes are five digits, metropolitan (01–95) or
overseas (97x, 98x); the country is an ISO 3166-1 alpha-2 code.

>>> a = PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
>>> a.render("Jean Dupont")
('Jean Dupont', '12 rue des Lilas', '75011 PARIS')
>>> PostalAddress.parse(["Rue Neuve 3"], "1000", "Bruxelles", "be").render("SA X")
('SA X', 'Rue Neuve 3', '1000 BRUXELLES', 'BELGIQUE')
>>> PostalAddress.parse(["1 rue X"], "96000", "Nulle Part")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: postal_code: The postal code is invalid.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import attrs
import phonenumbers
from phonenumbers import geocoder

from echoppe_accounts.domain.errors import Collector, ValidationError
from echoppe_accounts.domain.text import clean_text

LINE_LENGTH = 38
"""Longest line of a postal address, in characters (AFNOR NF Z10-011)."""
MAX_LINES = 6
"""Most lines of a postal address, recipient included."""

FRENCH_POSTAL_COUNTRIES = frozenset(
    {"FR", "GP", "MQ", "GF", "RE", "PM", "YT", "BL", "MF", "WF", "PF", "NC"}
)
"""Countries and territories served by La Poste's five-digit postal codes."""

_FRENCH_POSTAL_CODE = re.compile(
    r"(?:0[1-9]|[1-8][0-9]|9[0-5])[0-9]{3}"  # metropolitan departments 01-95
    r"|97[1-8][0-9]{2}"  # overseas departments and collectivities
    r"|98[46-9][0-9]{2}",  # TAAF, Wallis-et-Futuna, Polynesia, New Caledonia…
    re.ASCII,
)
_FOREIGN_POSTAL_CODE = re.compile(r"[A-Z0-9](?:[A-Z0-9 -]{0,8}[A-Z0-9])?")


def _country_codes() -> frozenset[str]:
    # phonenumbers' regions are the ISO 3166-1 alpha-2 codes of inhabited
    # places; "001" (non-geographic) is not a country.
    return frozenset(r for r in phonenumbers.SUPPORTED_REGIONS if r.isalpha())


COUNTRIES = _country_codes()
"""ISO 3166-1 alpha-2 codes accepted as the country of an address."""


def _postal_upper(text: str) -> str:
    """Upper-case without accents, as the last lines of an address are written."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def country_name(code: str) -> str:
    """Return the French name of the country *code*, upper-case (``BELGIQUE``)."""
    name = _postal_upper(geocoder._region_display_name(code, "fr") or code)  # noqa: SLF001
    # A handful of official names are longer than a line: cut at a word.
    return name if len(name) <= LINE_LENGTH else name[:LINE_LENGTH].rsplit(" ", 1)[0]


@attrs.frozen
class PostalAddress:
    """A postal address without its recipient line.

    Build it with :meth:`parse`, which validates every rule of SPEC A4.

    Attributes:
        street_lines: One to four lines (three abroad): building, street, etc.
        postal_code: Five digits in France; the local form elsewhere.
        city: The town, as typed (rendered upper-case).
        country: ISO 3166-1 alpha-2 code, upper-case.

    .. versionadded:: 0.1.0
    """

    street_lines: tuple[str, ...]
    postal_code: str
    city: str
    country: str = "FR"

    @property
    def is_domestic(self) -> bool:
        """Whether La Poste's domestic rules apply (no country line)."""
        return self.country in FRENCH_POSTAL_COUNTRIES

    @classmethod
    def parse(
        cls,
        street_lines: Sequence[str],
        postal_code: str,
        city: str,
        country: str = "FR",
    ) -> PostalAddress:
        """Validate raw form fields and return a :class:`PostalAddress`.

        Every problem is reported at once, with paths ``street_lines[i]``,
        ``postal_code``, ``city`` and ``country``.
        """
        errors = Collector()
        code = _parse_country(country, errors)
        domestic = code in FRENCH_POSTAL_COUNTRIES or code not in COUNTRIES
        lines = _parse_street_lines(street_lines, errors, domestic=domestic)
        clean_city = _parse_text(city, "city", errors)
        clean_code = _parse_postal_code(postal_code, errors, domestic=domestic)
        # The last line is printed upper-case without accents, which may
        # lengthen it ("ß" becomes "SS"): measure what will be printed.
        last_line = f"{clean_code} {_postal_upper(clean_city)}"
        if clean_city and clean_code and len(last_line) > LINE_LENGTH:
            errors.add("city", "address.line_too_long")
        errors.raise_if_any()
        return cls(lines, clean_code, clean_city, code)

    def render(self, recipient: str) -> tuple[str, ...]:
        """Return the lines to print on an envelope or invoice, for *recipient*."""
        lines = [
            recipient,
            *self.street_lines,
            f"{self.postal_code} {_postal_upper(self.city)}",
        ]
        if not self.is_domestic:
            lines.append(country_name(self.country))
        return tuple(lines)


def _parse_country(country: str, errors: Collector) -> str:
    code = country.strip().upper()
    if not code:
        errors.add("country", "required")
    elif code not in COUNTRIES:
        errors.add("country", "address.country_invalid")
    return code


def _parse_text(value: str, path: str, errors: Collector) -> str:
    try:
        text = clean_text(value, path, max_length=LINE_LENGTH)
    except ValidationError as exc:
        errors.extend(exc)
        return ""
    if not text:
        errors.add(path, "required")
    return text


def _parse_street_lines(
    street_lines: Sequence[str], errors: Collector, *, domestic: bool
) -> tuple[str, ...]:
    lines: list[str] = []
    found_error = False
    for i, raw in enumerate(street_lines):
        try:
            line = clean_text(raw, f"street_lines[{i}]", max_length=LINE_LENGTH)
        except ValidationError as exc:
            errors.extend(exc)
            found_error = True
        else:
            if line:
                lines.append(line)
    if not lines and not found_error:
        errors.add("street_lines", "required")
    # Recipient and "postal code CITY" lines always; a country line abroad.
    max_lines = MAX_LINES - 2 - (0 if domestic else 1)
    if len(lines) > max_lines:
        errors.add("street_lines", "address.too_many_lines", max=max_lines)
    return tuple(lines)


def _parse_postal_code(postal_code: str, errors: Collector, *, domestic: bool) -> str:
    code = " ".join(postal_code.split()).upper()
    pattern = _FRENCH_POSTAL_CODE if domestic else _FOREIGN_POSTAL_CODE
    if not code:
        errors.add("postal_code", "required")
    elif not pattern.fullmatch(code):
        errors.add("postal_code", "address.postal_code_invalid")
    return code
