"""Phone numbers (SPEC F2)."""

from __future__ import annotations

import pytest
from hypothesis import given

from echoppe_accounts import Phone, ValidationError
from strategies import arbitrary_text, french_mobile_writings, outcome, reunion_mobiles


def test_french_mobile_stored_in_e164():
    """F2: ``06 12 34 56 78`` is stored as ``+33612345678``, region FR."""
    phone = Phone.parse("06 12 34 56 78")
    assert phone.e164 == "+33612345678"
    assert phone.region == "FR"
    assert str(phone) == "+33612345678"


def test_reunion_number_accepted_with_its_region():
    """F2: ``0692 12 34 56`` is not metropolitan; it is read as a Réunion mobile."""
    phone = Phone.parse("0692 12 34 56")
    assert phone.e164 == "+262692123456"
    assert phone.region == "RE"


def test_national_form_for_display():
    """F2: the stored number can be shown as written in its own region."""
    assert Phone.parse("+33612345678").national == "06 12 34 56 78"


@pytest.mark.parametrize(
    "value",
    ["+33 6 12 34 56 78", "0033 6 12 34 56 78", "06.12.34.56.78", "0612345678"],
)
def test_french_writings_give_one_number(value):
    """F2: the usual ways of writing one number give the same E.164 form."""
    assert Phone.parse(value).e164 == "+33612345678"


def test_foreign_number_in_international_form():
    """F2: a foreign number given with its country code is kept as such."""
    phone = Phone.parse("+32 470 12 34 56")
    assert phone.e164 == "+32470123456"
    assert phone.region == "BE"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "required"),
        ("  ", "required"),
        ("12", "phone.invalid"),
        ("06 12 34 56", "phone.invalid"),  # too short
        ("06 12 34 56 78 90", "phone.invalid"),  # too long
        ("telephone", "phone.invalid"),
        ("06\u200b12345678", "phone.invalid"),
        ("0" * 65, "phone.invalid"),
        ("+33 0 12 34 56 78", "phone.invalid"),
    ],
)
def test_invalid_numbers_refused(value, code):
    """F2, F8: what is not a valid number is refused with a stable code."""
    with pytest.raises(ValidationError) as info:
        Phone.parse(value)
    assert info.value.codes == {code}
    assert [e.path for e in info.value.errors] == ["phone"]


@given(french_mobile_writings())
def test_french_mobiles_in_any_writing(case):
    """F2: a French mobile typed nationally or with +33/0033 is read correctly."""
    written, e164 = case
    phone = Phone.parse(written)
    assert phone.e164 == e164
    assert phone.region == "FR"


@given(reunion_mobiles())
def test_reunion_mobiles(case):
    """F2: overseas numbers written nationally get their overseas region."""
    written, e164 = case
    phone = Phone.parse(written)
    assert (phone.e164, phone.region) == (e164, "RE")


@given(french_mobile_writings())
def test_accepted_phone_round_trips(case):
    """F2: the stored E.164 form parses back to itself, and so does its display."""
    phone = Phone.parse(case[0])
    assert Phone.parse(phone.e164) == phone
    assert Phone.parse(phone.national).e164 == phone.e164


@given(arbitrary_text())
def test_arbitrary_text_raises_only_validation_error(value):
    """F2, F8: phonenumbers' exceptions never reach the caller; E.164 round-trips."""
    phone, error = outcome(Phone.parse, value)
    if error is not None:
        assert error.codes <= {"required", "phone.invalid"}
    else:
        assert Phone.parse(phone.e164).e164 == phone.e164
