"""Country codes (ISO 3166-1 alpha-2) and country names, from CLDR (SPEC A4, T1).

The Unicode CLDR, read through Babel, names more territories than ISO
3166-1 assigns: numeric regions (``001`` World, ``150`` Europe) and two-letter
codes that ISO 3166/MA keeps out of the assigned list. A CLDR territory is
accepted as a country when its code is two ASCII letters and is neither

- *user-assigned* (``AA``, ``QM``–``QZ``, ``XA``–``XZ``, ``ZZ``: free for
  private use, where CLDR puts ``QO`` Outlying Oceania, ``XA``/``XB`` pseudo
  locales, ``XK`` Kosovo and ``ZZ`` Unknown), nor
- *exceptionally reserved* (``AC``, ``CP``, ``CQ``, ``DG``, ``EA``, ``EU``,
  ``EZ``, ``FX``, ``IC``, ``SU``, ``TA``, ``UK``, ``UN``: reserved at the
  request of a postal or international body, never a country of ISO 3166-1).

What is left is the 249 officially assigned codes, ``TF`` (French Southern
Territories), ``AQ``, ``BV``, ``HM`` and ``UM`` included.

Babel's data is loaded on first use, not when the package is imported.

>>> "TF" in country_codes(), "XK" in country_codes(), len(country_codes())
(True, False, 249)
>>> country_display_name("CI")
'Côte d’Ivoire'
>>> country_display_name("DE", "en")
'Germany'
"""

from __future__ import annotations

import functools

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # string.ascii_uppercase, without its import
_USER_ASSIGNED = frozenset(
    {"AA", "ZZ"}
    | {"Q" + letter for letter in _LETTERS[12:]}  # QM-QZ
    | {"X" + letter for letter in _LETTERS}  # XA-XZ
)
_EXCEPTIONALLY_RESERVED = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "FX", "IC", "SU", "TA", "UK", "UN"}
)
_CODE_LIST_LOCALE = "en"
"""The CLDR locale whose territory names give the list of codes.

Every locale names the same territories; English is CLDR's reference.
"""


def is_assigned_alpha2(code: str) -> bool:
    """Tell whether *code* has the shape of an assigned ISO 3166-1 alpha-2 code.

    Two upper-case ASCII letters, neither user-assigned nor exceptionally
    reserved (see the module documentation). Whether the code is actually
    allocated to a country is :func:`country_codes`' answer.

    .. versionadded:: 0.2.0
    """
    return (
        len(code) == 2  # noqa: PLR2004 - alpha-2
        and code.isascii()
        and code.isalpha()
        and code.isupper()
        and code not in _USER_ASSIGNED
        and code not in _EXCEPTIONALLY_RESERVED
    )


@functools.cache
def country_codes() -> frozenset[str]:
    """Return the ISO 3166-1 alpha-2 codes accepted as the country of an address.

    CLDR's territories, filtered by :func:`is_assigned_alpha2`: the 249
    officially assigned codes. The first call loads Babel's data.

    .. versionadded:: 0.2.0
    """
    return frozenset(filter(is_assigned_alpha2, _territory_names(_CODE_LIST_LOCALE)))


def country_display_name(code: str, locale: str = "fr") -> str:
    """Return CLDR's name of the country *code* in *locale*, as a reader sees it.

    The name is the one a sentence uses (``Côte d’Ivoire``, ``Allemagne``);
    an address prints it in capitals, see
    :func:`echoppe_accounts.domain.address.country_name`. A code CLDR does
    not name is returned as is.

    Args:
        code: An ISO 3166-1 alpha-2 code, upper-case (``"BE"``).
        locale: A locale identifier Babel knows (``"fr"``, ``"en"``,
            ``"fr_BE"``).

    Raises:
        ValueError: *locale* is not a locale CLDR has data for.

    .. versionadded:: 0.2.0
    """
    return _territory_names(locale).get(code, code)


@functools.lru_cache(maxsize=16)  # bounded: callers may pass any locale name
def _territory_names(locale: str) -> dict[str, str]:
    # Imported here: Babel's module and data cost time that a program which
    # never prints a country should not pay at import.
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415

    try:
        territories = Locale.parse(locale).territories
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        msg = f"unknown locale: {locale!r}"
        raise ValueError(msg) from exc
    return dict(territories)
