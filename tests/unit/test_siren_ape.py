"""SIREN kept alone and APE codes: what imported companies bring (SPEC C4, M1, M2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import ApeCode, Organisation, Siren, Siret, ValidationError
from echoppe_accounts.domain.siret import validate_siren
from strategies import ape_codes, luhn_check_digit, sirens, sirets_of


@given(sirens())
def test_c4_every_luhn_valid_siren_is_accepted_and_formatted(siren):
    """C4: a valid SIREN parses, spaced or not, to its 9 digits."""
    spaced = f"{siren[:3]} {siren[3:6]} {siren[6:]}"
    assert Siren.parse(spaced).compact == siren
    assert Siren.parse(siren).formatted == spaced


@given(sirens(), st.integers(1, 9))
def test_c4_a_wrong_check_digit_is_refused(siren, shift):
    """C4: changing the Luhn digit makes the SIREN invalid."""
    wrong = siren[:8] + str((int(siren[8]) + shift) % 10)
    with pytest.raises(ValidationError) as info:
        Siren.parse(wrong)
    assert info.value.errors[0].code == "siren.invalid_checksum"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "required"),
        ("12345678", "siren.invalid_format"),
        ("73282932000074", "siren.invalid_format"),
        ("000000000", "siret.all_zero"),
        ("x" * 40, "siren.invalid_format"),
        ("7328293a0", "siren.invalid_format"),
    ],
)
def test_c4_f9_malformed_sirens_are_refused_with_a_code(value, code):
    """C4, F9: shape, size and all-zero problems have their own codes."""
    with pytest.raises(ValidationError) as info:
        validate_siren(value)
    assert info.value.errors[0].code == code


@given(ape_codes())
def test_m2_ape_codes_are_normalised(case):
    """M2: four digits and a letter, however typed, read as ``62.01Z``."""
    typed, normal = case
    assert ApeCode.parse(typed).code == normal


@pytest.mark.parametrize(
    "value", ["62-01", "6201", "620Z", "62.01ZZ", "A201Z", "x" * 20]
)
def test_m2_malformed_ape_codes_are_refused(value):
    """M2: anything else is ``ape.invalid``."""
    with pytest.raises(ValidationError) as info:
        ApeCode.parse(value)
    assert info.value.errors[0].code == "ape.invalid"


@given(sirens().flatmap(lambda s: st.tuples(st.just(s), sirets_of(s))))
def test_c4_m1_a_siret_of_the_siren_kept_completes_the_organisation(pair):
    """C4, M1: the SIRET replaces the SIREN kept alone, which it derives again."""
    siren, siret = pair
    org = Organisation("ACME", siren_alone=Siren(siren))
    completed = org.with_siret(Siret(siret))
    assert completed.siret == Siret(siret)
    assert completed.siren_alone is None
    assert completed.siren == org.siren == siren
    assert completed.vat_number == org.vat_number


@given(sirens(), sirens())
def test_c4_m1_a_siret_of_another_company_is_refused(kept, other):
    """C4, M1: ``siret.siren_mismatch`` names the SIREN kept."""
    payload = other + "0001"
    siret = Siret(payload + luhn_check_digit(payload))
    org = Organisation("ACME", siren_alone=Siren(kept))
    if kept == other:
        assert org.with_siret(siret).siren == kept
        return
    with pytest.raises(ValidationError) as info:
        org.with_siret(siret)
    error = info.value.errors[0]
    assert (error.path, error.code) == ("siret", "siret.siren_mismatch")
    assert Siren(kept).formatted in error.message("en")


def test_an_organisation_never_keeps_a_siren_beside_its_siret():
    """C4: with a SIRET, the SIREN is derived, never kept apart."""
    with pytest.raises(ValueError, match="SIREN alone"):
        Organisation("ACME", Siret("73282932000074"), siren_alone=Siren("732829320"))
