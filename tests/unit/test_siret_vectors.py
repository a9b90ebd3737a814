"""Regression vectors: python-stdnum's SIRET test numbers (SPEC C4).

The vectors are data, ``tests/data/siret-stdnum.txt``; its header says where
each section comes from.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from stdnum.fr import siret as stdnum_siret

from echoppe_accounts import Siret, ValidationError

VECTORS = Path(__file__).parents[1] / "data" / "siret-stdnum.txt"


class Vector(NamedTuple):
    """One SIRET as written, with its compact form or its error code."""

    expectation: str
    written: str
    expected: str


def _vectors() -> list[Vector]:
    lines = VECTORS.read_text(encoding="utf-8").splitlines()
    return [Vector(*line.split("\t")) for line in lines if not line.startswith("#")]


VALID = [v for v in _vectors() if v.expectation == "valid"]
INVALID = [v for v in _vectors() if v.expectation == "invalid"]


def test_the_vectors_are_all_there():
    """C4: stdnum's 55 valid and 2 invalid numbers, and our all-zero SIRENs."""
    assert {v.expectation for v in _vectors()} == {"valid", "invalid"}
    assert len(VALID) == 55
    assert len(INVALID) == 7


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v.written)
def test_valid_numbers_parse_to_their_compact_form(vector):
    """C4: each valid number of stdnum's tests parses, stored compact."""
    parsed = Siret.parse(vector.written)
    assert parsed.compact == vector.expected
    assert parsed.compact == stdnum_siret.compact(vector.written)


@pytest.mark.parametrize("vector", INVALID, ids=lambda v: v.written)
def test_invalid_numbers_refused_with_their_code(vector):
    """C4: each invalid number is refused, with the listed code at the field."""
    with pytest.raises(ValidationError) as info:
        Siret.parse(vector.written)
    assert info.value.codes == {vector.expected}
    assert [e.path for e in info.value.errors] == ["siret"]
