"""The fast path of ``Siret.parse``: a SIRET typed as digits.

A SIRET of digits, spaces and dots is compacted by deleting the separators
(what stdnum's ``clean`` does to them) and checked with stdnum's own rules
(Luhn, La Poste's digit sum), on bytes; a number that fails, and any other
input, goes to stdnum, the reference, which says why. The fast paths'
switch (:mod:`echoppe_accounts.domain.fast`) turns it off;
``tests/unit/test_fast_paths.py`` holds both paths to the same answers.
"""

from __future__ import annotations

import re

_LENGTH = 14
_SIREN_LENGTH = 9
_LA_POSTE = "356000000"
"""La Poste's SIREN: its establishments' SIRET are checked by their digit sum."""
_LA_POSTE_HEAD_OFFICE = "35600000000048"
"""La Poste's head office, whose SIRET follows Luhn like any other."""

TYPED = re.compile(r"[0-9 .]*")
"""Digits, spaces and dots: what stdnum's ``clean`` only deletes from."""
NO_SEPARATORS = str.maketrans("", "", " .")
_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")
"""Each digit doubled, its two digits summed (Luhn): 7 → 14 → 5."""


def _luhn(digits: bytes) -> bool:
    """Tell whether ASCII *digits* pass Luhn (``stdnum.luhn``, base 10).

    Summing the bytes sums the digits plus 48 (``ord("0")``) for each, a
    sum taken off at the end; doubling maps a digit's byte to its result's.
    """
    total = sum(digits[-1::-2]) + sum(digits[-2::-2].translate(_DOUBLED))
    return (total - 48 * len(digits)) % 10 == 0


def passes_stdnum(number: str) -> bool:
    """Tell whether 14 ASCII digits pass ``stdnum.fr.siret.validate``.

    The same checks in the same order: La Poste's digit sum or Luhn over
    the SIRET, then Luhn over its SIREN.
    """
    digits = number.encode("ascii")
    if number.startswith(_LA_POSTE) and number != _LA_POSTE_HEAD_OFFICE:
        if (sum(digits) - 48 * _LENGTH) % 5 != 0:
            return False
    elif not _luhn(digits):
        return False
    return _luhn(digits[:_SIREN_LENGTH])
