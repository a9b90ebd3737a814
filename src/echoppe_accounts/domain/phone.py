"""Phone numbers (SPEC F2).

Parsed with *phonenumbers* for region FR, stored in E.164. A number that
is not valid in metropolitan France is tried in the French overseas regions
before it is refused, so ``0692 12 34 56`` is read as a Réunion mobile.

>>> Phone.parse("06 12 34 56 78").e164
'+33612345678'
>>> p = Phone.parse("0692 12 34 56")
>>> p.e164, p.region
('+262692123456', 'RE')
>>> p.national
'0692 12 34 56'
>>> Phone.parse("12")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: phone: The phone number is invalid.
"""

from __future__ import annotations

import attrs
import phonenumbers

from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.text import has_forbidden_character

OVERSEAS_REGIONS: tuple[str, ...] = (
    "RE",
    "GP",
    "MQ",
    "GF",
    "YT",
    "PM",
    "BL",
    "MF",
    "NC",
    "PF",
    "WF",
)
"""French overseas regions tried, in this order, after the default region."""

_MAX_INPUT = 64


def _parse_in(value: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


@attrs.frozen
class Phone:
    """A valid phone number in E.164 form, with the region it belongs to.

    .. versionadded:: 0.1.0
    """

    e164: str
    region: str

    @classmethod
    def parse(cls, value: str, path: str = "phone", region: str = "FR") -> Phone:
        """Validate *value* read in *region* and return a :class:`Phone`."""
        value = value.strip()
        if not value:
            raise ValidationError.single(path, "required")
        if len(value) > _MAX_INPUT or has_forbidden_character(value):
            raise ValidationError.single(path, "phone.invalid")
        regions = (region, *(r for r in OVERSEAS_REGIONS if r != region))
        for candidate in regions:
            number = _parse_in(value, candidate)
            if number is not None:
                return cls(
                    phonenumbers.format_number(
                        number, phonenumbers.PhoneNumberFormat.E164
                    ),
                    phonenumbers.region_code_for_number(number) or candidate,
                )
            if value.startswith(("+", "00")):
                break  # an international number has one reading only
        raise ValidationError.single(path, "phone.invalid")

    @property
    def national(self) -> str:
        """The number as written in its own region (``06 12 34 56 78``)."""
        number = phonenumbers.parse(self.e164)
        return phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.NATIONAL
        )

    def __str__(self) -> str:
        """Return the E.164 form."""
        return self.e164
