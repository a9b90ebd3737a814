"""Phone numbers (SPEC F2).

Parsed with *phonenumbers*, stored in E.164. A number typed in national form
is read in every French territory and kept in the one that owns it:

- Numbers with the trunk prefix ``0`` follow the French plan. A fixed,
  mobile or VoIP range that *phonenumbers* gives to one overseas region of
  that plan (``0596`` Martinique, ``0269`` and ``0639`` Mayotte, ``0692``
  Réunion, …) is that region's, even where a mainland pattern accepts it
  too. Which prefixes those are is *phonenumbers*' metadata, not a table
  of ours.
- Otherwise the customer's address country, the *hint*, chooses among the
  readings: it tells New Caledonia's ``20 12 34`` from
  Saint-Pierre-et-Miquelon's, and a Guadeloupe ``0800`` number from the
  mainland one.
- Without a hint a number with one reading is accepted; shared French-plan
  numbers (``08…``) are the mainland's; anything else read several ways is
  refused as ambiguous, with a message asking for the international form.

The international form (``+`` or ``00``) is always accepted, read as is.

Every reading is *phonenumbers*' own: a national number made of digits and
separators is only not offered to the regions that cannot hold it, a
necessary condition read from *phonenumbers*' metadata
(``domain/_phone_regions.py``); the tests hold that to the loop over every
region (``tests/unit/test_fast_switch.py``).

>>> Phone.parse("06 12 34 56 78").e164
'+33612345678'
>>> p = Phone.parse("0692 12 34 56")
>>> p.e164, p.region
('+262692123456', 'RE')
>>> p.national
'0692 12 34 56'
>>> Phone.parse("0596 30 12 34").region  # not the mainland +33 5 96…
'MQ'
>>> Phone.parse("20 12 34", hint="NC").e164
'+687201234'
>>> Phone.parse("20 12 34")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: phone: This number exists in several...
>>> Phone.parse("12")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: phone: The phone number is invalid.
"""

from __future__ import annotations

import functools

import attrs
import phonenumbers
from phonenumbers import PhoneNumberType

from echoppe_accounts.domain import _fast_phone, fast
from echoppe_accounts.domain._phone_regions import plain_digits, readable
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.text import check_raw, has_forbidden_character

FRENCH_PLAN_REGIONS: tuple[str, ...] = ("RE", "YT", "GP", "BL", "MF", "MQ", "GF")
"""Overseas regions numbered like the mainland: ``0`` and nine digits.

Their numbers share the mainland's national form, so their own prefixes
must win over mainland patterns that happen to accept them (SPEC F2).

.. versionadded:: 0.2.0
"""

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
"""French overseas regions in which a national number is read, besides FR.
"""

_TERRITORIAL_TYPES = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.VOIP,
    }
)
"""Ranges a numbering plan gives to one territory (08 numbers are shared)."""

_MAX_LENGTH = 32
"""Longest phone number as typed: ``+33 (0)6 12 34 56 78`` is 20 characters."""

_INTERNATIONAL = ("+", "00")
_HINT_MAX_LENGTH = 8


def _read(value: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _normalised_hint(hint: str | None) -> str | None:
    # The hint is an address country the caller has validated; anything not
    # shaped like one cannot name a territory and is simply not used.
    if hint is None or len(hint) > _HINT_MAX_LENGTH:
        return None
    return hint.strip().upper() or None


def _overseas_owner(
    readings: dict[str, phonenumbers.PhoneNumber],
) -> phonenumbers.PhoneNumber | None:
    """Return the reading of the one overseas French-plan region owning a number.

    The owner's reading must be the only one of every overseas French-plan
    region that accepts the number (Réunion and Mayotte share +262, and
    Guadeloupe, Saint-Barthélemy and Saint-Martin +590, so they can read a
    number alike), and a fixed, mobile or VoIP range: ranges several
    territories accept (``0806``…) or non-geographic ones (``0884``) are
    the shared plan's, not an overseas prefix.
    """
    overseas = [n for r, n in readings.items() if r in FRENCH_PLAN_REGIONS]
    if len({_e164(n) for n in overseas}) != 1:
        return None
    owner = overseas[0]
    return owner if phonenumbers.number_type(owner) in _TERRITORIAL_TYPES else None


@functools.lru_cache(maxsize=64)
def _regions(home: str) -> tuple[str, ...]:
    """The regions a national number is read in: *home*, France, then overseas."""
    return tuple(dict.fromkeys((home, "FR", *OVERSEAS_REGIONS)))


def _read_regions(
    value: str, home: str, hint: str | None
) -> tuple[dict[str, phonenumbers.PhoneNumber], bool | None, bool]:
    """Read national *value* in each region; return the readings, trunk, early stop.

    The regions are read in order, and the reading stops as soon as the
    rest cannot change :func:`_national`'s answer: two readings are in (so
    the number is not read one way only), no overseas region can own it
    (no trunk prefix, or two overseas readings that differ: more readings
    cannot make them one), and the *hint*'s region has read it. The hint's
    reading is then the answer, as it is after reading every region; a
    shared ``08`` number with the mainland as hint costs three readings
    rather than nine. The trunk is ``None`` when not yet looked at.
    """
    readings: dict[str, phonenumbers.PhoneNumber] = {}
    regions = _regions(home)
    # Regions that cannot read these digits are not asked (_phone_regions).
    digits = plain_digits(value) if fast.enabled() else None
    if digits is not None:
        regions = readable(regions, digits)
    overseas: set[str] = set()
    trunk: bool | None = None
    for candidate in regions:
        number = _read(value, candidate)
        if number is None:
            continue
        readings[candidate] = number
        if candidate in FRENCH_PLAN_REGIONS:
            overseas.add(_e164(number))
        if hint is not None and hint in readings and len(readings) > 1:
            if trunk is None:
                trunk = _has_trunk(value)
            if not trunk or len(overseas) > 1:
                return readings, trunk, True
    return readings, trunk, False


def _national(
    value: str, path: str, home: str, hint: str | None
) -> phonenumbers.PhoneNumber:
    """Return the reading of national *value* that SPEC F2 chooses, or raise."""
    readings, trunk, stopped = _read_regions(value, home, hint)
    if stopped and hint is not None:  # the hint's reading, as below
        return readings[hint]
    if not readings:
        raise ValidationError.single(path, "phone.invalid")
    if len(readings) == 1:  # one reading: no owner, hint or home to choose
        return next(iter(readings.values()))
    if trunk is None:
        trunk = _has_trunk(value)
    if trunk and (owner := _overseas_owner(readings)) is not None:
        return owner
    if hint is not None and hint in readings:
        return readings[hint]
    distinct = {_e164(n): n for n in readings.values()}
    if len(distinct) == 1:
        return next(iter(distinct.values()))
    if trunk and home in readings:
        return readings[home]
    regions = tuple(sorted({_region_of(n, None) for n in distinct.values()}))
    raise ValidationError.single(path, "phone.ambiguous", regions=regions)


def _has_trunk(value: str) -> bool:
    """Tell whether national *value* starts with the trunk prefix ``0``."""
    return str(phonenumbers.normalize_digits_only(value)).startswith("0")


def _region_of(number: phonenumbers.PhoneNumber, hint: str | None) -> str:
    """Return the region of *number*, the hint's if *phonenumbers* allows it.

    Regions sharing a country code (GP, BL and MF; RE and YT) are told apart
    by *phonenumbers* where its metadata can (``0590 27…`` is
    Saint-Barthélemy's); where a range is valid in several of them, the
    customer's address country decides, else *phonenumbers*' first choice.
    """
    region = str(phonenumbers.region_code_for_number(number))
    if (
        hint is not None
        and hint != region
        and phonenumbers.is_valid_number_for_region(number, hint)
    ):
        return hint
    return region


@attrs.frozen
class Phone:
    """A valid phone number in E.164 form, with the region it belongs to.

    .. versionadded:: 0.2.0
    """

    e164: str
    region: str

    @classmethod
    def parse(
        cls,
        value: str,
        path: str = "phone",
        region: str = "FR",
        *,
        hint: str | None = None,
    ) -> Phone:
        """Validate *value* and return a :class:`Phone` (SPEC F2).

        Size and Unicode are checked first (SPEC F9). A number in
        international form is read as is; one in national form is read in
        *region*, in France and in every overseas region, and kept as
        described in the module documentation.

        Args:
            value: The number as the customer typed it.
            path: The field path reported in errors.
            region: The shop's home region, whose reading of a shared
                French-plan number (``08…``) is the default.
            hint: The customer's address country (ISO 3166-1 alpha-2, the
                billing address's, else the first delivery address's). It
                chooses among a national number's readings; a country
                outside France and its overseas regions is not used.

        Returns:
            The number in E.164 form, with its region.

        Raises:
            ValidationError: ``required`` when *value* is blank,
                ``text.too_long`` or ``text.invalid_unicode`` before any
                parsing, ``phone.invalid`` when no region reads a valid
                number, ``phone.ambiguous`` when several regions do and
                nothing tells them apart (its *regions* parameter lists
                them).
        """
        check_raw(value, path, max_length=_MAX_LENGTH)
        value = value.strip()
        if not value:
            raise ValidationError.single(path, "required")
        if len(value) > _MAX_LENGTH:
            raise ValidationError.single(path, "text.too_long", max=_MAX_LENGTH)
        if has_forbidden_character(value):
            raise ValidationError.single(path, "phone.invalid")
        hint = _normalised_hint(hint)
        quick = fast.enabled()
        if value.startswith(_INTERNATIONAL):
            if value.startswith("00"):  # every French territory's exit code
                value = "+" + value[2:]
            number = (_fast_phone.international(value) if quick else None) or _read(
                value, None
            )
            if number is None:
                raise ValidationError.single(path, "phone.invalid")
        elif (
            quick
            and region == "FR"
            and (found := _fast_phone.national(value, _regions(region)))
        ):
            number = found
        else:
            number = _national(value, path, region, hint)
        return cls(_e164(number), _region_of(number, hint))

    @property
    def national(self) -> str:
        """The number as written in its own region (``06 12 34 56 78``)."""
        number = phonenumbers.parse(self.e164)
        return str(
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        )

    @property
    def displayed(self) -> str:
        """The number as a customer in France reads it, to show on a page.

        National in France and in the overseas regions that share its plan
        (``06 12 34 56 78``, ``0692 12 34 56``), which are dialled so from
        all of them; international elsewhere (``+32 470 12 34 56``).
        phonenumbers does the formatting.

        >>> Phone.parse("+33612345678").displayed
        '06 12 34 56 78'
        >>> Phone.parse("+32470123456").displayed
        '+32 470 12 34 56'
        """
        if self.region == "FR" or self.region in FRENCH_PLAN_REGIONS:
            return self.national
        number = phonenumbers.parse(self.e164)
        return str(
            phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
        )

    def __str__(self) -> str:
        """Return the E.164 form."""
        return self.e164
