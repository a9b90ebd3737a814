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

A number typed as people usually type a French one (ten digits starting
with ``0``, or ``+33``, ``+262``, ``+590``, ``+594``, ``+596`` and nine
digits, grouped with spaces, dots or hyphens, ``(0)`` allowed after the
country code) is read without calling *phonenumbers*' parser: the same
rules are applied to the same metadata, compiled once (see
:func:`fast_read`). Every other input, and an ambiguous national number,
goes to *phonenumbers*. The tests hold both paths to the same answers
(``tests/unit/test_fast_paths.py``).

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
import re
from collections.abc import Mapping

import attrs
import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

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


def _national(
    value: str, path: str, home: str, hint: str | None
) -> phonenumbers.PhoneNumber:
    """Return the reading of national *value* that SPEC F2 chooses, or raise."""
    readings: dict[str, phonenumbers.PhoneNumber] = {}
    for candidate in dict.fromkeys((home, "FR", *OVERSEAS_REGIONS)):
        number = _read(value, candidate)
        if number is not None:
            readings[candidate] = number
    if not readings:
        raise ValidationError.single(path, "phone.invalid")
    trunk = str(phonenumbers.normalize_digits_only(value)).startswith("0")
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


# -- the fast path -------------------------------------------------------------
#
# phonenumbers.parse() spends most of its time on what any input might be
# (letters, extensions, RFC 3966, carrier codes). The numbers people type
# here are digits in a few shapes, and phonenumbers' answer for them depends
# on the national significant number alone: the tables below hold its
# metadata for the French numbering plans, compiled once, and the functions
# follow phonenumbers' own (named in each docstring) step for step.

_SEPARATORS = str.maketrans("", "", " .-")
"""What people put between digit groups; phonenumbers ignores them."""
_NATIONAL_TYPED = re.compile(r"0[1-9][0-9]{8}")
"""A national number of the French plans: the trunk ``0`` and nine digits."""
_INTERNATIONAL_TYPED = re.compile(r"\+(33|262|590|594|596)(?:\(0\)|0)?([1-9][0-9]{8})")
"""A French-plan number in international form, the trunk ``(0)`` allowed."""
_NSN_LENGTH = 9
_TRUNK = "0"
_HOME = "FR"
"""The only home region read without phonenumbers (the default one)."""
_TYPED_COUNTRY_CODES = (33, 262, 590, 594, 596)
"""The country codes :data:`_INTERNATIONAL_TYPED` reads."""
_FRENCH_COUNTRY_CODES = (*_TYPED_COUNTRY_CODES, 508, 687, 689, 681)
"""France's country code and its overseas regions' (FR and OVERSEAS_REGIONS)."""

# The order of phonenumbers' _number_type_helper, fixed lines and mobiles last.
_SPECIAL_TYPES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)

_NEVER = re.compile("(?!)")


def _nine_digit_pattern(desc: object) -> re.Pattern[str] | None:
    """Return the pattern of a number description if nine digits can match it.

    phonenumbers' ``_is_number_matching_desc``: no description or pattern
    matches nothing; listed possible lengths come before the pattern.
    """
    pattern = getattr(desc, "national_number_pattern", None)
    lengths = getattr(desc, "possible_length", ())
    if not pattern or (lengths and _NSN_LENGTH not in lengths):
        return None
    return re.compile(pattern)


def _full(pattern: re.Pattern[str] | None, nsn: str) -> bool:
    return pattern is not None and pattern.fullmatch(nsn) is not None


@attrs.frozen
class _RegionRules:
    """One region's metadata for nine-digit national significant numbers."""

    country_code: int
    leading_digits: re.Pattern[str] | None
    general: re.Pattern[str] | None
    specials: tuple[tuple[re.Pattern[str] | None, int], ...]
    fixed_line: re.Pattern[str] | None
    mobile: re.Pattern[str] | None
    same_mobile_and_fixed_line_pattern: bool
    reads_trunk: bool | None
    """How ``parse("0" + nine digits, region)`` reads: as those nine digits
    (True), never as a valid number (False), or otherwise (None: the fast
    path stays off)."""
    valid: re.Pattern[str]
    """Nine digits of a type other than ``UNKNOWN``: the general pattern and
    any type's, in one expression (the order of the types only matters to
    :meth:`number_type`)."""

    @classmethod
    def of(cls, meta: PhoneMetadata) -> _RegionRules:
        general = meta.general_desc
        lengths = tuple(getattr(general, "possible_length", ()))
        local_only = tuple(getattr(general, "possible_length_local_only", ()))
        prefix = meta.national_prefix_for_parsing
        reads: bool | None = None
        if prefix == _TRUNK and not meta.national_prefix_transform_rule:
            # The trunk is stripped, leaving a possible length (parse()).
            if _NSN_LENGTH in lengths and _NSN_LENGTH not in local_only:
                reads = True
        elif not prefix and lengths and _NSN_LENGTH + 1 not in lengths:
            reads = False  # ten digits, the "0" kept: never a possible length
        same = bool(meta.same_mobile_and_fixed_line_pattern)
        specials = tuple(
            (_nine_digit_pattern(getattr(meta, name)), kind)
            for name, kind in _SPECIAL_TYPES
        )
        fixed_line = _nine_digit_pattern(meta.fixed_line)
        mobile = _nine_digit_pattern(meta.mobile)
        typed = [p for p, _ in specials] + [fixed_line] + ([] if same else [mobile])
        kinds = "|".join(f"(?:{p.pattern})" for p in typed if p is not None)
        general_pattern = _nine_digit_pattern(general)
        valid = (
            re.compile(f"(?=(?:{general_pattern.pattern})\\Z)(?:{kinds})\\Z")
            if general_pattern is not None and kinds
            else _NEVER
        )
        return cls(
            country_code=int(meta.country_code or 0),
            leading_digits=(
                re.compile(meta.leading_digits) if meta.leading_digits else None
            ),
            general=general_pattern,
            specials=specials,
            fixed_line=fixed_line,
            mobile=mobile,
            same_mobile_and_fixed_line_pattern=same,
            reads_trunk=reads,
            valid=valid,
        )

    def is_valid(self, nsn: str) -> bool:
        """Tell whether :meth:`number_type` is not ``UNKNOWN``, in one match."""
        return self.valid.match(nsn) is not None

    def number_type(self, nsn: str) -> int:
        """Return phonenumbers' ``_number_type_helper`` for a nine-digit *nsn*."""
        if not _full(self.general, nsn):
            return PhoneNumberType.UNKNOWN
        for pattern, kind in self.specials:
            if _full(pattern, nsn):
                return kind
        if _full(self.fixed_line, nsn):
            if self.same_mobile_and_fixed_line_pattern or _full(self.mobile, nsn):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_mobile_and_fixed_line_pattern and _full(self.mobile, nsn):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


@attrs.frozen
class _Plan:
    """The regions of the French numbering plans and their country codes."""

    regions: Mapping[str, _RegionRules]
    by_country_code: Mapping[int, tuple[str, ...]]
    valid_by_country_code: Mapping[int, re.Pattern[str] | None]
    """For a country code whose regions have no leading digits: a number is
    valid when one of them finds it valid (``region_code_for_number`` picks
    the first such region), so one expression answers."""
    trunk_viable: re.Pattern[str]
    """The general patterns of the regions whose trunk is ``0``: a national
    number one of them accepts with its ``0`` is not stripped (parse())."""
    enabled: bool

    def region_of(self, country_code: int, nsn: str) -> str | None:
        """Return phonenumbers' ``region_code_for_number``."""
        regions = self.by_country_code[country_code]
        if len(regions) == 1:
            return regions[0]
        for region in regions:
            rules = self.regions[region]
            if rules.leading_digits is not None:
                if rules.leading_digits.match(nsn):
                    return region
            elif rules.is_valid(nsn):
                return region
        return None

    def valid_for(self, country_code: int, nsn: str, region: str | None) -> bool:
        """Return phonenumbers' ``is_valid_number_for_region``."""
        rules = self.regions.get(region) if region is not None else None
        return (
            rules is not None
            and rules.country_code == country_code
            and rules.is_valid(nsn)
        )

    def valid(self, country_code: int, nsn: str) -> bool:
        """Return phonenumbers' ``is_valid_number``."""
        pattern = self.valid_by_country_code[country_code]
        if pattern is not None:
            return pattern.match(nsn) is not None
        return self.valid_for(country_code, nsn, self.region_of(country_code, nsn))

    def number_type(self, country_code: int, nsn: str) -> int:
        """Return phonenumbers' ``number_type`` of a valid number."""
        region = self.region_of(country_code, nsn)
        rules = self.regions.get(region) if region is not None else None
        return PhoneNumberType.UNKNOWN if rules is None else rules.number_type(nsn)

    def region_with_hint(self, country_code: int, nsn: str, hint: str | None) -> str:
        """Return :func:`_region_of` of a valid number, on these tables."""
        region = self.region_of(country_code, nsn)
        if (
            hint is not None
            and hint != region
            and self.valid_for(country_code, nsn, hint)
        ):
            return hint
        return str(region)


def _metadata(region: str) -> PhoneMetadata:
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:  # pragma: no cover (phonenumbers knows every French region)
        msg = f"phonenumbers has no metadata for {region}"
        raise LookupError(msg)
    return meta


@functools.cache
def _plan() -> _Plan:
    """Compile phonenumbers' metadata for the French plans, once."""
    by_cc = {
        cc: tuple(COUNTRY_CODE_TO_REGION_CODE.get(cc, ()))
        for cc in _FRENCH_COUNTRY_CODES
    }
    regions = {
        r: _RegionRules.of(_metadata(r)) for codes in by_cc.values() for r in codes
    }
    # No shorter code is a prefix of a code the international shape reads
    # (phonenumbers takes the shortest), and every region read nationally
    # is known and reads the trunk in a known way.
    enabled = all(
        int(str(cc)[:n]) not in COUNTRY_CODE_TO_REGION_CODE
        for cc in _TYPED_COUNTRY_CODES
        for n in range(1, len(str(cc)))
    ) and all(
        r in regions and regions[r].reads_trunk is not None
        for r in (_HOME, *OVERSEAS_REGIONS)
    )
    viable = "|".join(
        f"(?:{getattr(_metadata(r).general_desc, 'national_number_pattern', '(?!)')})"
        for r, rules in regions.items()
        if rules.reads_trunk
    )
    valid_by_cc = {
        cc: (
            re.compile("|".join(f"(?:{regions[r].valid.pattern})" for r in codes))
            if codes and all(regions[r].leading_digits is None for r in codes)
            else None
        )
        for cc, codes in by_cc.items()
    }
    return _Plan(
        regions, by_cc, valid_by_cc, re.compile(viable or "(?!)"), enabled=enabled
    )


def _fast_international(plan: _Plan, value: str, path: str) -> tuple[int, str] | None:
    """Return the number *value* is in international form, as parse() reads it."""
    if value.startswith("00"):
        value = "+" + value[2:]
    typed = _INTERNATIONAL_TYPED.fullmatch(value.translate(_SEPARATORS))
    if typed is None or plan.trunk_viable.fullmatch(_TRUNK + typed[2]):
        return None
    cc, nsn = int(typed[1]), typed[2]
    if not plan.valid(cc, nsn):
        raise ValidationError.single(path, "phone.invalid")
    return cc, nsn


def _readings(plan: _Plan, nsn: str) -> dict[str, int]:
    """Return the regions reading ``0`` + *nsn* as valid, and the code they read.

    The regions :func:`_national` tries, in its order; a region whose trunk
    is ``0`` reads the nine digits under its own country code.
    """
    valid: dict[int, bool] = {}
    readings: dict[str, int] = {}
    for candidate in dict.fromkeys((_HOME, *OVERSEAS_REGIONS)):
        rules = plan.regions[candidate]
        if rules.reads_trunk:
            cc = rules.country_code
            if cc not in valid:
                valid[cc] = plan.valid(cc, nsn)
            if valid[cc]:
                readings[candidate] = cc
    return readings


def _fast_national(
    plan: _Plan, value: str, path: str, hint: str | None
) -> tuple[int, str] | None:
    """Return the reading of national *value* :func:`_national` chooses."""
    digits = value.translate(_SEPARATORS)
    if _NATIONAL_TYPED.fullmatch(digits) is None or plan.trunk_viable.fullmatch(digits):
        return None
    nsn = digits[1:]
    readings = _readings(plan, nsn)
    if not readings:
        raise ValidationError.single(path, "phone.invalid")
    overseas = {cc for r, cc in readings.items() if r in FRENCH_PLAN_REGIONS}
    if len(overseas) == 1:
        (cc,) = overseas
        if plan.number_type(cc, nsn) in _TERRITORIAL_TYPES:
            return cc, nsn  # the overseas owner's (SPEC F2)
    if hint is not None and hint in readings:
        return readings[hint], nsn
    distinct = set(readings.values())
    if len(distinct) == 1:
        return distinct.pop(), nsn
    if _HOME in readings:
        return readings[_HOME], nsn
    return None  # ambiguous: phonenumbers' error names the regions


def fast_read(
    value: str, path: str, region: str, hint: str | None
) -> tuple[str, str] | None:
    """Read a number typed in a common French shape, as :meth:`Phone.parse` does.

    *value* is stripped and checked for size and characters, *hint*
    normalised. Returns the E.164 form and region, or ``None`` for any
    input to hand to *phonenumbers*: other shapes, another home *region*
    than ``FR``, an ambiguous national number.

    Raises:
        ValidationError: ``phone.invalid`` for a number of these shapes
            that no region reads as valid.

    .. versionadded:: 0.2.0
    """
    plan = _plan()
    if not plan.enabled:
        return None
    if value.startswith(_INTERNATIONAL):
        number = _fast_international(plan, value, path)
    elif region == _HOME:
        number = _fast_national(plan, value, path, hint)
    else:
        return None
    if number is None:
        return None
    cc, nsn = number
    return f"+{cc}{nsn}", plan.region_with_hint(cc, nsn, hint)


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
        if (fast := fast_read(value, path, region, hint)) is not None:
            return cls(*fast)
        if value.startswith(_INTERNATIONAL):
            if value.startswith("00"):  # every French territory's exit code
                value = "+" + value[2:]
            number = _read(value, None)
            if number is None:
                raise ValidationError.single(path, "phone.invalid")
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
