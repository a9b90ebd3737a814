"""SIRET numbers, with the SIREN and VAT number derived from them (SPEC C4).

Validation is *python-stdnum*'s (Luhn, with La Poste's exception); on top of
it the library refuses every number whose SIREN is all zeros, which stdnum
accepts whenever the last five digits pass Luhn. The size of the input is
checked before anything else (SPEC F9).

A number typed as digits, spaces and dots, the common case, is compacted
once and its checksums computed here, with stdnum's rules; any other input,
and every number that fails, goes to stdnum, which says why. The tests hold
both paths to the same answers (``tests/unit/test_fast_paths.py``).

>>> s = Siret.parse("732 829 320 00074")
>>> s.compact, s.formatted
('73282932000074', '732 829 320 00074')
>>> s.siren, s.vat_number
('732829320', 'FR44732829320')
>>> Siret.parse("35600000049837").compact  # La Poste: valid, though not Luhn
'35600000049837'
>>> Siret.parse("73282932000079")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: siret: The SIRET number is invalid (wrong...).
>>> Siret.parse("000 000 000 00018")  # passes Luhn, but no company has SIREN 0
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: siret: The SIRET number cannot be all zeros.

A SIREN alone (the company, not one of its establishments) is what some
shops kept; an import keeps it as such until the customer gives the SIRET
(SPEC M1):

>>> Siren.parse("732 829 320").formatted
'732 829 320'
>>> Siren.parse("732829321")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: siret: The SIREN number is invalid (wrong...).
"""

from __future__ import annotations

import attrs
from stdnum import exceptions as stdnum_errors
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from echoppe_accounts.domain import fast
from echoppe_accounts.domain._fast_siret import (
    NO_SEPARATORS as _NO_SEPARATORS,
)
from echoppe_accounts.domain._fast_siret import TYPED as _TYPED
from echoppe_accounts.domain._fast_siret import passes_stdnum as _passes_stdnum
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.text import has_forbidden_character

_MAX_INPUT = 32
_LENGTH = 14
_SIREN_LENGTH = 9
_ALL_ZERO_SIREN = "0" * 9


def compact(value: str) -> str:
    """Remove spaces and dots from *value*."""
    if fast.enabled() and _TYPED.fullmatch(value):
        return value.translate(_NO_SEPARATORS)
    return str(stdnum_siret.compact(value))


def validate(value: str, path: str = "siret") -> str:
    """Return the compact form of a valid SIRET, or raise at *path*.

    Args:
        value: The number as typed; spaces and dots are allowed.
        path: The field path reported in errors.

    Returns:
        The 14 digits.

    Raises:
        ValidationError: ``required``, ``siret.invalid_format`` (also for an
            input too long to be a SIRET, refused before any other work),
            ``siret.all_zero`` when the SIREN is all zeros, or
            ``siret.invalid_checksum``.
    """
    if len(value) > _MAX_INPUT or has_forbidden_character(value):
        raise ValidationError.single(path, "siret.invalid_format")
    number = compact(value)
    if not number:
        raise ValidationError.single(path, "required")
    if not (len(number) == _LENGTH and number.isascii() and number.isdigit()):
        raise ValidationError.single(path, "siret.invalid_format")
    if number.startswith(_ALL_ZERO_SIREN):
        raise ValidationError.single(path, "siret.all_zero")
    if fast.enabled() and _passes_stdnum(number):
        return number
    # Compacted already: stdnum only tells why the number fails.
    try:
        return str(stdnum_siret.validate(number))
    except stdnum_errors.InvalidChecksum:
        raise ValidationError.single(path, "siret.invalid_checksum") from None
    except stdnum_errors.ValidationError:
        raise ValidationError.single(path, "siret.invalid_format") from None


def is_valid(value: str) -> bool:
    """Tell whether *value* is a valid SIRET."""
    try:
        validate(value)
    except ValidationError:
        return False
    return True


@attrs.frozen
class Siret:
    """A valid SIRET (establishment number), kept compact (14 digits).

    .. versionadded:: 0.2.0
    """

    compact: str

    @classmethod
    def parse(cls, value: str, path: str = "siret") -> Siret:
        """Validate *value* (spaces and dots allowed) and return a :class:`Siret`.

        See ``validate()`` in this module for the errors raised.
        """
        return cls(validate(value, path))

    @property
    def formatted(self) -> str:
        """The number as shown to people, such as ``732 829 320 00074``."""
        return str(stdnum_siret.format(self.compact))

    @property
    def siren(self) -> str:
        """The company's SIREN (the first 9 digits)."""
        return str(stdnum_siret.to_siren(self.compact))

    @property
    def vat_number(self) -> str:
        """The intra-EU VAT number derived from the SIREN (``FR44732829320``)."""
        return "FR" + str(stdnum_siret.to_tva(self.compact))

    def __str__(self) -> str:
        """Return the formatted number."""
        return self.formatted


def validate_siren(value: str, path: str = "siret") -> str:
    """Return the compact form of a valid SIREN (9 digits), or raise at *path*.

    Spaces and dots are allowed, as in a SIRET (SPEC C4); an all-zero SIREN
    is refused although stdnum accepts it.

    Raises:
        ValidationError: ``required``, ``siren.invalid_format``,
            ``siret.all_zero`` or ``siren.invalid_checksum``.

    .. versionadded:: 0.2.0
    """
    if len(value) > _MAX_INPUT or has_forbidden_character(value):
        raise ValidationError.single(path, "siren.invalid_format")
    number = str(stdnum_siren.compact(value))
    if not number:
        raise ValidationError.single(path, "required")
    if not (len(number) == _SIREN_LENGTH and number.isascii() and number.isdigit()):
        raise ValidationError.single(path, "siren.invalid_format")
    if number == _ALL_ZERO_SIREN:
        raise ValidationError.single(path, "siret.all_zero")
    try:
        return str(stdnum_siren.validate(number))
    except stdnum_errors.InvalidChecksum:
        raise ValidationError.single(path, "siren.invalid_checksum") from None
    except stdnum_errors.ValidationError:  # pragma: no cover (checked above)
        raise ValidationError.single(path, "siren.invalid_format") from None


@attrs.frozen
class Siren:
    """A valid SIREN (company number) kept alone, compact (9 digits).

    An imported company that gave its SIREN but no SIRET keeps it here until
    it completes its account with a SIRET of the same company (SPEC M1, C4).

    .. versionadded:: 0.2.0
    """

    compact: str

    @classmethod
    def parse(cls, value: str, path: str = "siret") -> Siren:
        """Validate *value* (spaces and dots allowed) and return a :class:`Siren`.

        See :func:`validate_siren` for the errors raised.
        """
        return cls(validate_siren(value, path))

    @property
    def formatted(self) -> str:
        """The number as shown to people, such as ``732 829 320``."""
        return str(stdnum_siren.format(self.compact))

    @property
    def vat_number(self) -> str:
        """The intra-EU VAT number derived from the SIREN (``FR44732829320``)."""
        return "FR" + str(stdnum_siren.to_tva(self.compact))

    def __str__(self) -> str:
        """Return the formatted number."""
        return self.formatted
