"""SIRET numbers and what derives from them (SPEC C4)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.fr import siret as stdnum_siret
from stdnum.fr import tva

from echoppe_accounts import Siret, ValidationError, known_codes
from strategies import (
    LA_POSTE_HEAD_OFFICE,
    LA_POSTE_PREFIX,
    arbitrary_text,
    format_siret,
    la_poste_sirets,
    luhn_sirets,
    outcome,
    siret_writings,
    sirets,
)


def codes_of(value: str) -> frozenset[str]:
    """Return the error codes raised when *value* is parsed as a SIRET."""
    with pytest.raises(ValidationError) as info:
        Siret.parse(value)
    return info.value.codes


def test_la_poste_number_accepted_though_it_fails_luhn():
    """C4: La Poste's ``35600000049837`` is valid although it fails Luhn."""
    assert Siret.parse("35600000049837").compact == "35600000049837"


def test_wrong_check_digit_refused():
    """C4: ``73282932000079`` (wrong last digit) is refused as a bad checksum."""
    assert codes_of("73282932000079") == {"siret.invalid_checksum"}


@pytest.mark.parametrize(
    "value",
    [
        "00000000000000",
        "000 000 000 00000",
        "00000000000018",  # issue 8, item 9: passed, Luhn holding on 00018
        "000 000 000 00018",
        "000.000.000.00026",
        "00000000000019",  # not even Luhn: the zero SIREN is the first fault
    ],
)
def test_all_zero_siren_refused(value):
    """C4: a SIRET whose SIREN is all zeros, which stdnum accepts, is refused."""
    assert codes_of(value) == {"siret.all_zero"}


@pytest.mark.parametrize(
    "value",
    ["732 829 320 00074", "732.829.320.00074", " 73282932000074 ", "732829320 00074"],
)
def test_spaces_and_dots_accepted_and_stored_compact(value):
    """C4: spaces and dots in the input are allowed; the number is kept compact."""
    assert Siret.parse(value).compact == "73282932000074"


def test_formatted_as_insee_prints_it():
    """C4: the number is shown as ``732 829 320 00074``."""
    assert Siret.parse("73282932000074").formatted == "732 829 320 00074"
    assert str(Siret.parse("73282932000074")) == "732 829 320 00074"


def test_siren_and_vat_number_derived():
    """C4: the SIREN is the first 9 digits, the VAT number derives from it."""
    siret = Siret.parse("73282932000074")
    assert siret.siren == "732829320"
    assert siret.vat_number == "FR44732829320"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("7328293200007", "siret.invalid_format"),  # 13 digits
        ("732829320000740", "siret.invalid_format"),  # 15 digits
        ("7328293200007A", "siret.invalid_format"),
        ("７３２８２９３２０００７４", "siret.invalid_format"),  # full-width digits
        ("1" * 40, "siret.invalid_format"),
    ],
)
def test_malformed_input_refused_with_its_code(value, code):
    """C4, F8: a SIRET is exactly 14 ASCII digits; anything else names the problem."""
    assert codes_of(value) == {code}


def test_error_carries_the_field_path():
    """F8: the error points at the field given by the caller."""
    with pytest.raises(ValidationError) as info:
        Siret.parse("123", path="organisation.siret")
    assert [e.path for e in info.value.errors] == ["organisation.siret"]


@given(sirets())
def test_any_valid_siret_accepted(siret):
    """C4: every SIRET built by the INSEE rules (or La Poste's) is accepted."""
    assert Siret.parse(siret).compact == siret


@given(sirets().flatmap(lambda s: st.tuples(st.just(s), siret_writings(s))))
def test_every_writing_compacts_and_formats_back(case):
    """C4: however it is typed, a SIRET is stored compact and formats as INSEE's."""
    siret, written = case
    parsed = Siret.parse(written)
    assert parsed.compact == siret
    assert parsed.formatted == format_siret(siret)
    assert Siret.parse(parsed.formatted) == parsed


@given(sirets())
def test_siren_and_vat_follow_the_official_formula(siret):
    """C4: SIREN = first 9 digits; VAT key = (12 + 3 × (SIREN mod 97)) mod 97."""
    parsed = Siret.parse(siret)
    siren = siret[:9]
    key = (12 + 3 * (int(siren) % 97)) % 97
    assert parsed.siren == siren
    assert parsed.vat_number == f"FR{key:02d}{siren}"
    assert tva.is_valid(parsed.vat_number)


@given(luhn_sirets(), st.integers(0, 13), st.integers(1, 9))
def test_changing_one_digit_refused(siret, position, shift):
    """C4: Luhn catches every single-digit typo in a (non-La Poste) SIRET."""
    digit = str((int(siret[position]) + shift) % 10)
    typo = siret[:position] + digit + siret[position + 1 :]
    # The typo may land in La Poste's range, which follows another rule.
    assume(not typo.startswith(LA_POSTE_PREFIX))
    assert codes_of(typo) <= {"siret.invalid_checksum", "siret.all_zero"}


@given(la_poste_sirets(), st.integers(1, 4))
def test_la_poste_digit_sum_not_multiple_of_five_refused(siret, shift):
    """C4: a La Poste SIRET whose digit sum is not a multiple of 5 is refused."""
    last = int(siret[-1])
    assume(last + shift <= 9)
    typo = siret[:-1] + str(last + shift)
    assume(typo != LA_POSTE_HEAD_OFFICE)  # the head office follows Luhn
    assert codes_of(typo) == {"siret.invalid_checksum"}


@given(arbitrary_text())
def test_arbitrary_text_raises_only_validation_error(value):
    """F8: any input either parses or raises the library's ValidationError."""
    parsed, error = outcome(Siret.parse, value)
    if error is not None:
        assert error.codes <= known_codes()
    else:
        assert len(parsed.compact) == 14
        assert parsed.compact.isascii()
        assert parsed.compact.isdigit()


@given(st.text("0123456789", min_size=5, max_size=5), st.sampled_from(["", " ", "."]))
def test_any_all_zero_siren_refused(establishment, separator):
    """C4: ``000000000`` followed by any five digits is refused as all-zero."""
    value = separator.join(["000", "000", "000", establishment])
    assert codes_of(value) == {"siret.all_zero"}


def test_size_checked_before_stdnum_runs(monkeypatch):
    """F9: a 10 MB value is refused from its length; stdnum never sees it."""

    def fail(*_args, **_kwargs):
        pytest.fail("stdnum called on a value refused by its size")

    monkeypatch.setattr(stdnum_siret, "compact", fail)
    monkeypatch.setattr(stdnum_siret, "validate", fail)
    assert codes_of("7" * 10_000_000) == {"siret.invalid_format"}
    assert codes_of("732 829 320 00074" * 600_000) == {"siret.invalid_format"}
