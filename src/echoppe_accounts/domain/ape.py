"""APE codes: the activity of a French company in the NAF classification (SPEC M2).

INSEE gives every company an APE code from the NAF (rév. 2): two digits
of division, two of class and subclass, and a letter (``62.01Z``). Shops
such as PrestaShop keep it beside the SIRET; an import keeps it as the
organisation's data. python-stdnum has no NAF module, so the shape is
checked here: four digits and a letter, with the usual dot, spaces and
case forgiven, size checked before any work (SPEC F9).

>>> ApeCode.parse("6201z").code
'62.01Z'
>>> ApeCode.parse(" 62.01 Z ").code
'62.01Z'
>>> ApeCode.parse("62-01")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: ape: The APE code must be four digits and a...

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import re

import attrs

from echoppe_accounts.domain.errors import ValidationError

_MAX_INPUT = 16
_SHAPE = re.compile(r"([0-9]{2})([0-9]{2})([A-Z])", re.ASCII)
_SEPARATORS = str.maketrans("", "", " .\t")


def validate(value: str, path: str = "ape") -> str:
    """Return *value* as a normalised APE code (``62.01Z``), or raise at *path*.

    Raises:
        ValidationError: ``required`` or ``ape.invalid``.

    .. versionadded:: 0.2.0
    """
    if len(value) > _MAX_INPUT:
        raise ValidationError.single(path, "ape.invalid")
    compact = value.translate(_SEPARATORS).upper()
    if not compact:
        raise ValidationError.single(path, "required")
    match = _SHAPE.fullmatch(compact)
    if match is None:
        raise ValidationError.single(path, "ape.invalid")
    division, rest, letter = match.groups()
    return f"{division}.{rest}{letter}"


@attrs.frozen
class ApeCode:
    """A company's APE (NAF) activity code, normalised like ``62.01Z``.

    .. versionadded:: 0.2.0
    """

    code: str

    @classmethod
    def parse(cls, value: str, path: str = "ape") -> ApeCode:
        """Validate *value* and return an :class:`ApeCode`; see :func:`validate`."""
        return cls(validate(value, path))

    def __str__(self) -> str:
        """Return the normalised code."""
        return self.code
