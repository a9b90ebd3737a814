"""Which regions can read a national phone number, before asking phonenumbers.

The general path of :meth:`Phone.parse <echoppe_accounts.Phone.parse>` reads
a national number in France and each of its twelve overseas regions, one
``phonenumbers.parse`` and ``is_valid_number`` each. Most regions cannot
read a given number at all: a valid number's national significant number
must match one of the number types (fixed line, mobile, toll free…) of a
region of its country code, at one of that type's possible lengths. For
input made only of digits and the separators phonenumbers ignores, the
national significant numbers ``parse`` can produce are known without
calling it: the digits, less the trunk prefix ``0`` where the region
strips one, less the region's country code where the digits start with it
(and then one or two trunks: ``parse`` strips one with the code and one
more as for any national number).
:func:`may_read` says whether any of them matches; a region for which none
does is skipped, since phonenumbers would find no valid number there.

This is a necessary condition only: every region that passes it is still
read by phonenumbers, which decides. Input with anything else (letters,
``+``, ``#``, extensions…) is never pruned; nor is a region whose
metadata strip anything but a plain ``0``, or whose international prefix
starts the digits (``parse`` then reads a country code after it). The
tests hold the general path to the loop over every region
(``tests/unit/test_fast_paths.py``), and the fast paths' switch
(:mod:`echoppe_accounts.domain.fast`) turns this off with them.
"""

from __future__ import annotations

import functools
import re

from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

_PLAIN = re.compile(r"[0-9 \u00a0.\-()/]+")
"""Digits and separators: what phonenumbers reduces to the digits alone."""

_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)
"""The number types phonenumbers' ``_number_type_helper`` tries."""

_TRUNK = "0"

_Shapes = dict[int | None, re.Pattern[str]]
"""Valid national significant numbers by length: one expression per length
(``None``: the types that list no possible length, at any length)."""

_Rules = tuple[re.Pattern[str], str, bool, _Shapes]
"""A region's international prefix, country code, trunk stripping, and valid
shapes."""


def _by_length(shapes: list[tuple[frozenset[int], re.Pattern[str]]]) -> _Shapes:
    """Join the type patterns allowed at each length into one expression."""
    patterns: dict[int | None, list[str]] = {}
    for lengths, pattern in shapes:
        for length in lengths or (None,):
            patterns.setdefault(length, []).append(f"(?:{pattern.pattern})")
    return {n: re.compile("|".join(ps)) for n, ps in patterns.items()}


def _descriptions(region: str) -> list[tuple[frozenset[int], re.Pattern[str]]]:
    """Return the (possible lengths, pattern) of every number type of *region*."""
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:  # pragma: no cover (phonenumbers knows every French region)
        return []
    found = []
    for name in _TYPES:
        desc = getattr(meta, name, None)
        pattern = getattr(desc, "national_number_pattern", None)
        if pattern:
            lengths = frozenset(getattr(desc, "possible_length", ()) or ())
            found.append((lengths, re.compile(pattern)))
    return found


@functools.cache
def _rules(region: str) -> _Rules | None:
    """Return *region*'s international prefix, country code, trunk, valid shapes.

    ``None`` when its metadata do more than strip a plain ``0`` (or nothing):
    such a region is always read.
    """
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.country_code is None:  # pragma: no cover
        return None
    prefix = meta.national_prefix_for_parsing
    if meta.national_prefix_transform_rule or prefix not in (None, _TRUNK):
        return None
    code = int(meta.country_code)
    shapes = _by_length(
        [
            shape
            for sibling in COUNTRY_CODE_TO_REGION_CODE.get(code, ())
            for shape in _descriptions(sibling)
        ]
    )
    international = re.compile(str(meta.international_prefix or "(?!)"))
    strips = prefix == _TRUNK
    return international, str(code), strips, shapes


def plain_digits(value: str) -> str | None:
    """Return the digits of *value* if only digits and separators, else ``None``."""
    if _PLAIN.fullmatch(value) is None:
        return None
    return value.translate(_KEEP_DIGITS)


_KEEP_DIGITS = {ord(c): None for c in " \u00a0.-()/"}


def may_read(region: str, digits: str) -> bool:
    """Tell whether ``phonenumbers.parse(value, region)`` could be a valid number.

    *digits* are :func:`plain_digits` of the value. ``False`` only when no
    national significant number ``parse`` can make of them matches a
    number type of a region of *region*'s country code.
    """
    rules = _rules(region)
    if rules is None:
        return True
    international, code, strips_trunk, shapes = rules
    if international.match(digits):
        return True  # parse() reads a country code after the prefix: any region
    bases = [digits]
    if digits.startswith(code):
        bases.append(digits[len(code) :])
    candidates = set(bases)
    if strips_trunk:
        candidates.update(b[1:] for b in bases if b.startswith(_TRUNK))
        # After a country code, parse() strips a trunk twice: once with the
        # code, once as for any national number ("508 0 0 200000").
        if len(bases) > 1 and bases[1].startswith(_TRUNK * 2):
            candidates.add(bases[1][2:])
    for nsn in candidates:
        for length in (len(nsn), None):
            pattern = shapes.get(length)
            if pattern is not None and pattern.fullmatch(nsn) is not None:
                return True
    return False


def readable(regions: tuple[str, ...], digits: str) -> tuple[str, ...]:
    """Return the *regions* for which :func:`may_read` holds, in their order.

    Regions with the same rules (a country code's regions share their
    shapes) are decided once, and every rule in one regular-expression
    match (:func:`_plan`).
    """
    pattern, where = _plan(regions, len(digits))
    found = pattern.match(digits)
    # A row of optional look-aheads: the expression always matches.
    groups = () if found is None else found.groups()
    return tuple(
        region
        for region, international, shaped in where
        if international < 0
        or groups[international] is not None
        or groups[shaped] is not None
    )


def _fitting(code: str, strips_trunk: bool, shapes: _Shapes, length: int) -> str:  # noqa: FBT001
    """Return one expression for the digits of *length* whose readings may be valid.

    A reading is the digits less nothing, the trunk, the country code, or
    the country code and one or two trunks (:func:`may_read`), so at a
    known length each takes the shapes of one length: the prefix, then
    those shapes, with no look-ahead counting the digits left. The shapes
    of no listed length follow the country code and the trunks, each
    optional.
    """
    prefixes = (
        ("", _TRUNK, code, code + _TRUNK, code + _TRUNK * 2)
        if strips_trunk
        else ("", code)
    )
    alternatives = [
        f"{prefix}(?:{shape.pattern})"
        for prefix in prefixes
        if (shape := shapes.get(length - len(prefix))) is not None
    ]
    if (any_length := shapes.get(None)) is not None:
        if strips_trunk:
            lead = f"(?:{code}(?:{_TRUNK})?)?(?:{_TRUNK})?"
        else:
            lead = f"(?:{code})?"
        alternatives.append(f"{lead}(?:{any_length.pattern})")
    return "|".join(alternatives) or "(?!)"


@functools.lru_cache(maxsize=256)
def _plan(
    regions: tuple[str, ...], length: int
) -> tuple[re.Pattern[str], tuple[tuple[str, int, int], ...]]:
    r"""Return one expression deciding every rule of *regions*, and where to look.

    For digits of *length*. For each distinct rule (international prefix,
    country code, trunk), two optional look-aheads at the start of the
    digits, each capturing a group: the international prefix (``match``)
    and the readings that fit a shape (:func:`_fitting`; ``fullmatch``, as
    ``\Z`` ends it). A group that captured is a rule that holds;
    ``readable`` keeps a region whose rule's international or shape group
    captured, and a region without rules (index ``-1``) always. Named
    groups, so that the groups of phonenumbers' own patterns inside them do
    not shift the indexes. Made once per order of regions and length (a
    number is at most 32 characters).
    """
    pieces: list[str] = []
    decided: dict[tuple[str, bool, str], int] = {}
    named: list[tuple[str, int]] = []
    for region in regions:
        rules = _rules(region)
        if rules is None:
            named.append((region, -1))
            continue
        international, code, strips, shapes = rules
        key = (code, strips, international.pattern)
        if key not in decided:
            n = decided[key] = len(decided)
            pieces.append(
                f"(?:(?=(?P<i{n}>{international.pattern})))?"
                f"(?:(?=(?P<d{n}>{_fitting(code, strips, shapes, length)})\\Z))?"
            )
        named.append((region, decided[key]))
    pattern = re.compile("".join(pieces))
    index = pattern.groupindex
    where = tuple(
        (region, -1, -1) if n < 0 else (region, index[f"i{n}"] - 1, index[f"d{n}"] - 1)
        for region, n in named
    )
    return pattern, where
