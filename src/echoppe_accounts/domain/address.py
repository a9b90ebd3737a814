"""Postal addresses after the French postal norm AFNOR NF Z10-011 (SPEC A4).

An address is at most six lines of at most 38 characters: the recipient
line (an organisation, a person or a delivery contact, added when the
address is rendered), one to four street lines, the ``postal code CITY``
line, and for an address abroad the country line, which takes one street
line's place. The country is an ISO 3166-1 alpha-2 code
(:func:`~echoppe_accounts.domain.countries.country_codes`), and the country
line is its French name from CLDR, in capitals without accents.

La Poste's five-digit postal codes serve France, its overseas departments
and collectivities, and Monaco. An address there has no country line, and
its postal code must belong to its country (:func:`la_poste_territory`):

=======  ==========================  =======  ==========================
Country  Postal codes                Country  Postal codes
=======  ==========================  =======  ==========================
FR       01xxx–95xxx (departments)   BL       97133 (Saint-Barthélemy)
GP       971xx except 97133, 97150   MF       97150 (Saint-Martin)
MQ       972xx                       MC       980xx (Monaco)
GF       973xx                       TF       984xx (TAAF)
RE       974xx                       WF       986xx
PM       97500                       PF       987xx
YT       976xx                       NC       988xx
=======  ==========================  =======  ==========================

French forms often give the country as ``FR`` for an overseas address, so
``FR`` also accepts the code of any territory of the French Republic
(``FR`` with ``97400`` is Réunion); Monaco is a state of its own, so its
codes need ``MC``. A code given with an explicit territory must be that
territory's: ``RE`` with ``75001`` is refused.

Size comes before work (SPEC F9): the number of street lines is checked
before any line is looked at, every field's raw size before it is cleaned,
and a refused address carries at most :data:`MAX_ERRORS` errors.

>>> a = PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
>>> a.render("Jean Dupont")
('Jean Dupont', '12 rue des Lilas', '75011 PARIS')
>>> PostalAddress.parse(["Rue Neuve 3"], "1000", "Bruxelles", "be").render("SA X")
('SA X', 'Rue Neuve 3', '1000 BRUXELLES', 'BELGIQUE')
>>> PostalAddress.parse(["2 bd Albert Ier"], "98000", "Monaco", "MC").render("X")
('X', '2 bd Albert Ier', '98000 MONACO')
>>> PostalAddress.parse(["1 rue X"], "75001", "Saint-Denis", "RE")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: postal_code: The postal code is invalid.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from echoppe_accounts.domain import _postal, fast
from echoppe_accounts.domain._fast_address import plain as _plain
from echoppe_accounts.domain._postal import FRENCH_REPUBLIC as _FRENCH_REPUBLIC
from echoppe_accounts.domain._postal import postal_upper as _postal_upper
from echoppe_accounts.domain._postal import territory_of_digits as _territory_of_digits
from echoppe_accounts.domain.countries import country_codes, country_display_name
from echoppe_accounts.domain.errors import Collector, ValidationError
from echoppe_accounts.domain.text import check_raw, clean_text

# The line limits and La Poste's countries are defined in ``_postal``, which
# the fast path (``_fast_address``) reads too; they are documented here.
LINE_LENGTH = _postal.LINE_LENGTH
"""Longest line of a postal address, in characters (AFNOR NF Z10-011)."""
MAX_LINES = _postal.MAX_LINES
"""Most lines of a postal address, recipient included."""
MAX_STREET_LINES = _postal.MAX_STREET_LINES
"""Most street lines of an address: six lines less the recipient and city lines.

An address abroad has one fewer, for its country line. This is also the
most street-line entries :meth:`PostalAddress.parse` reads; blank entries
count, so that a longer list is refused without being looked at (SPEC F9).

.. versionadded:: 0.2.0
"""
POSTAL_CODE_LENGTH = 10
"""Longest postal code, in characters (the longest local form abroad).

.. versionadded:: 0.2.0
"""
MAX_ERRORS = MAX_STREET_LINES + 4
"""Most errors a refused address carries (SPEC F9).

One per street line, one for their number, and one each for the postal
code, the city and the country.

.. versionadded:: 0.2.0
"""

FRENCH_POSTAL_COUNTRIES = _postal.FRENCH_POSTAL_COUNTRIES
"""Countries and territories served by La Poste's five-digit postal codes.

Their addresses print without a country line.
"""
_FIVE_DIGITS = re.compile(r"[0-9]{5}", re.ASCII)
_FOREIGN_POSTAL_CODE = re.compile(r"[A-Z0-9](?:[A-Z0-9 -]{0,8}[A-Z0-9])?")


def la_poste_territory(postal_code: str) -> str | None:
    """Return the country or territory a La Poste postal code belongs to.

    >>> la_poste_territory("75011"), la_poste_territory("97133")
    ('FR', 'BL')
    >>> la_poste_territory("98000"), la_poste_territory("96000")
    ('MC', None)

    Args:
        postal_code: Five ASCII digits; anything else belongs nowhere.

    Returns:
        The ISO 3166-1 alpha-2 code of the territory (``"FR"`` for the
        departments 01 to 95), or ``None`` for a code La Poste does not use.

    .. versionadded:: 0.2.0
    """
    if not _FIVE_DIGITS.fullmatch(postal_code):
        return None
    return _territory_of_digits(postal_code)


def _fit_line(text: str) -> str:
    """Cut *text* at a word so that it fits in a line."""
    if len(text) <= LINE_LENGTH:
        return text
    return text[: LINE_LENGTH + 1].rsplit(" ", 1)[0][:LINE_LENGTH]


def country_name(code: str, locale: str = "fr") -> str:
    """Return the country line of an address in *code*: ``BELGIQUE``.

    The CLDR name in *locale* (French by default, the language of the
    sending country as the Universal Postal Union asks), in capitals without
    accents and with a plain apostrophe, cut at a word to fit in 38
    characters.

    >>> country_name("CI"), country_name("DE", "en")
    ("COTE D'IVOIRE", 'GERMANY')
    >>> country_name("IO")
    "TERRITOIRE BRITANNIQUE DE L'OCEAN"

    Raises:
        ValueError: *locale* is not a locale CLDR has data for.
    """
    name = _postal_upper(country_display_name(code, locale)).replace("\u2019", "'")
    return _fit_line(name)


@attrs.frozen
class PostalAddress:
    """A postal address without its recipient line.

    Build it with :meth:`parse`, which validates every rule of SPEC A4.

    Attributes:
        street_lines: One to four lines (three abroad): building, street, etc.
        postal_code: Five digits where La Poste serves; the local form elsewhere.
        city: The town, as typed (rendered upper-case).
        country: ISO 3166-1 alpha-2 code, upper-case.

    .. versionadded:: 0.2.0
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

        Every problem is reported at once, at most eight of them, with paths
        ``street_lines``, ``street_lines[i]``, ``postal_code``, ``city`` and
        ``country``. Blank street lines are dropped, but more than four
        entries are refused before any is read (SPEC F9).

        Raises:
            ValidationError: With ``address.too_many_lines`` for more than
                four entries (or more lines than fit abroad, three),
                ``address.line_too_long`` for a street line or a
                ``postal code CITY`` line longer than 38 characters,
                ``address.postal_code_invalid``,
                ``address.country_invalid``, ``text.invalid_unicode``,
                ``text.control_character`` or ``required``.
        """
        if fast.enabled() and _plain(street_lines, postal_code, city, country):
            return cls(tuple(street_lines), postal_code, city, "FR")
        return cls._parse(street_lines, postal_code, city, country)

    @classmethod
    def _parse(
        cls,
        street_lines: Sequence[str],
        postal_code: str,
        city: str,
        country: str,
    ) -> PostalAddress:
        """Validate any address: what :meth:`parse` does beyond the common case."""
        errors = Collector()
        country_errors = Collector()
        code = _parse_country(country, country_errors)
        known = not country_errors.errors
        domestic = code in FRENCH_POSTAL_COUNTRIES or not known
        lines = _parse_street_lines(
            street_lines,
            errors,
            max_lines=MAX_STREET_LINES if domestic else MAX_STREET_LINES - 1,
        )
        clean_code = _parse_postal_code(postal_code, code if known else None, errors)
        clean_city = _clean_line(city, "city", errors)
        if clean_city == "":
            errors.add("city", "required")
        # The last line is printed upper-case without accents, which may
        # lengthen it ("ß" becomes "SS"): measure what will be printed.
        if clean_city and clean_code:
            last_line = f"{clean_code} {_postal_upper(clean_city)}"
            if len(last_line) > LINE_LENGTH:
                errors.add("city", "address.line_too_long", max=LINE_LENGTH)
        errors.errors.extend(country_errors.errors)  # in form order
        errors.raise_if_any()
        return cls(lines, clean_code, clean_city or "", code)

    def render(self, recipient: str, locale: str = "fr") -> tuple[str, ...]:
        """Return the lines to print on an envelope or invoice, for *recipient*.

        Args:
            recipient: The first line: organisation, person or contact name.
            locale: The CLDR locale of the country line of an address
                abroad (``"fr"``, ``"en"``…).

        Raises:
            ValueError: *locale* is not a locale CLDR has data for.
        """
        lines = [
            recipient,
            *self.street_lines,
            f"{self.postal_code} {_postal_upper(self.city)}",
        ]
        if not self.is_domestic:
            lines.append(country_name(self.country, locale))
        return tuple(lines)


def _add_raw_errors(
    error: ValidationError, errors: Collector, *, too_long: str, **params: object
) -> None:
    """Record *error* from the text checks, a size error under code *too_long*."""
    for e in error.errors:
        if e.code == "text.too_long":
            errors.add(e.path, too_long, **params)
        else:
            errors.add(e.path, e.code, **e.params)


def _parse_country(country: str, errors: Collector) -> str:
    try:
        check_raw(country, "country", max_length=2)
    except ValidationError as exc:
        _add_raw_errors(exc, errors, too_long="address.country_invalid")
        return ""
    code = country.strip()
    if not code:
        errors.add("country", "required")
    # Non-ASCII letters may upper-case to ASCII ones ("ﬁ" is "FI"): refused.
    elif not code.isascii() or not _is_country(code.upper()):
        errors.add("country", "address.country_invalid")
    return code.upper()


def _is_country(code: str) -> bool:
    # La Poste's countries first: a French address needs no CLDR data.
    return code in FRENCH_POSTAL_COUNTRIES or code in country_codes()


def _clean_line(value: str, path: str, errors: Collector) -> str | None:
    """Return the cleaned line, or ``None`` once its problem is recorded."""
    try:
        return clean_text(value, path, max_length=LINE_LENGTH)
    except ValidationError as exc:
        _add_raw_errors(exc, errors, too_long="address.line_too_long", max=LINE_LENGTH)
        return None


def _parse_street_lines(
    street_lines: Sequence[str], errors: Collector, *, max_lines: int
) -> tuple[str, ...]:
    if isinstance(street_lines, str):  # one line, not a sequence of characters
        street_lines = (street_lines,)
    # Counted before any line is looked at (SPEC F9): 100,000 lines cost one
    # error and no cleaning.
    if len(street_lines) > MAX_STREET_LINES:
        errors.add("street_lines", "address.too_many_lines", max=max_lines)
        return ()
    lines: list[str] = []
    refused = 0
    for i, raw in enumerate(street_lines):
        line = _clean_line(raw, f"street_lines[{i}]", errors)
        if line is None:
            refused += 1
        elif line:
            lines.append(line)
    if not lines and not refused:
        errors.add("street_lines", "required")
    if len(lines) + refused > max_lines:
        errors.add("street_lines", "address.too_many_lines", max=max_lines)
    return tuple(lines)


def _parse_postal_code(postal_code: str, country: str | None, errors: Collector) -> str:
    """Return the postal code cleaned; *country* is ``None`` when unknown."""
    try:
        check_raw(postal_code, "postal_code", max_length=POSTAL_CODE_LENGTH)
    except ValidationError as exc:
        _add_raw_errors(exc, errors, too_long="address.postal_code_invalid")
        return ""
    code = " ".join(postal_code.split()).upper()
    if not code:
        errors.add("postal_code", "required")
    elif not _postal_code_fits(code, country):
        errors.add("postal_code", "address.postal_code_invalid")
    return code


def _postal_code_fits(code: str, country: str | None) -> bool:
    if country is not None and country not in FRENCH_POSTAL_COUNTRIES:
        return _FOREIGN_POSTAL_CODE.fullmatch(code) is not None
    territory = la_poste_territory(code)
    if country is None:  # an unknown country: any La Poste code will do
        return territory is not None
    if country == "FR":
        return territory in _FRENCH_REPUBLIC
    return territory == country
