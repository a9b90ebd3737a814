"""Regression vectors: phonenumbers' example numbers typed nationally (SPEC F2).

The vectors are data, ``tests/data/phones-phonenumbers.tsv``, written by
``tests/data/make_phone_vectors.py`` (which says how each row's hint is
chosen).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import phonenumbers
import pytest

from echoppe_accounts import Phone
from strategies import outcome

VECTORS = Path(__file__).parents[1] / "data" / "phones-phonenumbers.tsv"


class Vector(NamedTuple):
    """One example number: its region, type, national form, hint and E.164."""

    region: str
    kind: str
    national: str
    hint: str
    e164: str


def _vectors() -> list[Vector]:
    lines = VECTORS.read_text(encoding="utf-8").splitlines()
    return [Vector(*line.split("\t")) for line in lines if not line.startswith("#")]


ALL = _vectors()
HINTED = [v for v in ALL if v.hint]


def _ids(vector: Vector) -> str:
    return f"{vector.region}-{vector.kind}"


def test_every_region_has_vectors():
    """F2: the file covers France and the eleven overseas regions, hints included."""
    assert {v.region for v in ALL} == {
        *("FR", "RE", "GP", "MQ", "GF", "YT"),
        *("PM", "BL", "MF", "NC", "PF", "WF"),
    }
    assert {v.region for v in HINTED} >= {"PM", "NC", "PF", "WF"}
    assert all(v.hint in {"", v.region} for v in ALL)


@pytest.mark.parametrize("vector", ALL, ids=_ids)
def test_national_form_read_with_the_hint(vector):
    """F2: each example typed nationally, with the hint F2 needs, is its number.

    With a hint the region is the hinted one; without, one sharing the
    number's country code (Saint-Barthélemy's mobiles are Guadeloupe's +590).
    """
    phone = Phone.parse(vector.national, hint=vector.hint or None)
    assert phone.e164 == vector.e164
    if vector.hint:
        assert phone.region == vector.hint
    else:
        assert phonenumbers.country_code_for_region(
            phone.region
        ) == phonenumbers.country_code_for_region(vector.region)


@pytest.mark.parametrize("vector", HINTED, ids=_ids)
def test_national_form_without_the_hint(vector):
    """F2: without its hint an example is its number or refused as ambiguous.

    Never another region's number, with one exception: a shared French-plan
    number typed with its trunk 0 (``0800…``) is the mainland's by default.
    """
    phone, error = outcome(Phone.parse, vector.national)
    if error is not None:
        assert error.codes == {"phone.ambiguous"}
    elif phone.e164 != vector.e164:
        assert vector.national.startswith("0")
        assert phone.region == "FR"
        assert phone.e164 == "+33" + phonenumbers.normalize_digits_only(
            vector.national
        ).removeprefix("0")


@pytest.mark.parametrize("vector", ALL, ids=_ids)
def test_international_form_read_as_is(vector):
    """F2: each example in E.164 or international form is read as itself."""
    number = phonenumbers.parse(vector.e164)
    international = phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    assert Phone.parse(vector.e164).e164 == vector.e164
    assert Phone.parse(international).e164 == vector.e164
