"""The fast path of ``Phone.parse``: a French number as people type it.

``06 12 34 56 78`` (the trunk ``0``, then nine digits) and ``+33 6 12 34 56
78`` (``+33`` or ``0033``, then nine digits, or the trunk and nine digits as
in ``+33 (0)6 12 34 56 78``), grouped by the separators phonenumbers
ignores (spaces, no-break spaces, dots, hyphens, brackets…). For such
input ``phonenumbers.parse`` makes country code 33 and those nine digits:
France's metadata strip a plain ``0`` and no ten-digit number is French,
so the trunk always goes, and ``+33`` is France's code alone. The number
is built so, without ``parse``, and phonenumbers' own
``is_valid_number`` decides; a national number is taken so only when no
overseas region may read it (``domain/_phone_regions.py``), as the
general path would then read it in France alone.

Anything else, a number phonenumbers finds invalid included, goes to the
general path, which says why. The metadata this relies on are checked
when first used, and the path stays off if a release of phonenumbers
changes them. The fast paths' switch (:mod:`echoppe_accounts.domain.fast`)
turns it off; ``tests/unit/test_fast_paths.py`` holds both paths to the
same answers.
"""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from echoppe_accounts.domain._phone_regions import plain_digits, readable

_CODE = 33
_PREFIX = "+33"
_NSN_LENGTH = 9
_TRUNK = "0"


@functools.cache
def _holds() -> bool:
    """Tell whether phonenumbers' metadata for France are as described above."""
    meta = PhoneMetadata.metadata_for_region("FR")
    if meta is None or meta.general_desc is None:  # pragma: no cover
        return False
    return (
        meta.country_code == _CODE
        and tuple(COUNTRY_CODE_TO_REGION_CODE.get(_CODE, ())) == ("FR",)
        and meta.national_prefix_for_parsing == _TRUNK
        and not meta.national_prefix_transform_rule
        and tuple(meta.general_desc.possible_length) == (_NSN_LENGTH,)
    )


def _valid(nsn: str) -> PhoneNumber | None:
    """Return France's number *nsn* if phonenumbers finds it valid, else ``None``."""
    number = PhoneNumber(country_code=_CODE, national_number=int(nsn))
    return number if phonenumbers.is_valid_number(number) else None


def international(value: str) -> PhoneNumber | None:
    """Return ``+33`` *value*'s number when plain and valid, else ``None``.

    *value* is stripped, with ``00`` written ``+``.
    """
    if not value.startswith(_PREFIX) or not _holds():
        return None
    digits = plain_digits(value[len(_PREFIX) :])
    if digits is None:
        return None
    if len(digits) == _NSN_LENGTH + 1 and digits.startswith(_TRUNK):
        digits = digits[1:]  # "+33 (0)6…": parse strips the trunk after the code
    if len(digits) != _NSN_LENGTH or digits.startswith(_TRUNK):
        return None
    return _valid(digits)


def national(value: str, regions: tuple[str, ...]) -> PhoneNumber | None:
    """Return national *value*'s French number when plain and valid, else ``None``.

    *regions* are those the general path reads the number in, France
    first; only a number none of the others may read is taken.
    """
    if not _holds():
        return None
    digits = plain_digits(value)
    if (
        digits is None
        or len(digits) != _NSN_LENGTH + 1
        or not digits.startswith(_TRUNK)
        or digits.startswith(_TRUNK * 2)
        or readable(regions, digits) != ("FR",)
    ):
        return None
    return _valid(digits[1:])
