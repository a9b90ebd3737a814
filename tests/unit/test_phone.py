"""Phone numbers (SPEC F2)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import Phone, ValidationError
from echoppe_accounts.domain.phone import FRENCH_PLAN_REGIONS
from strategies import (
    arbitrary_text,
    french_mobile_writings,
    outcome,
    reunion_mobiles,
    territory_numbers,
)


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
        ("0" * 33, "text.too_long"),
        ("0" * 65, "text.too_long"),
        ("06 12 34 56 78\ud800", "text.invalid_unicode"),
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
        assert error.codes <= {
            "required",
            "phone.invalid",
            "phone.ambiguous",
            "text.too_long",
            "text.invalid_unicode",
        }
    else:
        assert Phone.parse(phone.e164).e164 == phone.e164


# --- Issue 8, item 10: the region that owns a national number (F2) -----------


@pytest.mark.parametrize("hint", [None, "FR", "MQ", "GP"])
def test_martinique_landline_is_not_a_mainland_number(hint):
    """F2: ``0596 30 12 34`` is Martinique's, though a mainland pattern accepts it."""
    phone = Phone.parse("0596 30 12 34", hint=hint)
    assert (phone.e164, phone.region) == ("+596596301234", "MQ")


@pytest.mark.parametrize(
    ("value", "e164"),
    [("0269 60 12 34", "+262269601234"), ("0639 01 23 45", "+262639012345")],
)
def test_mayotte_numbers_are_mayotte_s(value, e164):
    """F2: Mayotte's ``0269`` landlines and ``0639`` mobiles get +262 and YT."""
    phone = Phone.parse(value)
    assert (phone.e164, phone.region) == (e164, "YT")


@pytest.mark.parametrize(
    ("value", "hint", "e164"),
    [
        ("20 12 34", "NC", "+687201234"),
        ("20.12.34", "nc", "+687201234"),
        ("72 12 34", "WF", "+681721234"),
        ("72 12 34", "NC", "+687721234"),
        ("72 12 34", "PM", "+508721234"),
        ("44 01 23", "PF", "+689440123"),
    ],
)
def test_six_digit_numbers_read_in_the_hinted_region(value, hint, e164):
    """F2: a 6-digit number is read in the customer's address country."""
    phone = Phone.parse(value, hint=hint)
    assert (phone.e164, phone.region) == (e164, hint.upper())


@pytest.mark.parametrize("hint", [None, "FR", "BE", "RE"])
@pytest.mark.parametrize("value", ["20 12 34", "72 12 34", "43 01 23"])
def test_six_digit_numbers_without_a_telling_hint_are_ambiguous(value, hint):
    """F2: a 6-digit number several regions accept, no hint among them: refused.

    New Caledonia's and Wallis-et-Futuna's numbers used to be stored as
    Saint-Pierre-et-Miquelon's, the first region that accepted them.
    """
    with pytest.raises(ValidationError) as info:
        Phone.parse(value, hint=hint)
    assert info.value.codes == {"phone.ambiguous"}
    [error] = info.value.errors
    assert error.path == "phone"
    assert "PM" in error.params["regions"]
    assert "+687" in error.message()
    assert "international form" in error.message("en")


@pytest.mark.parametrize(
    ("value", "e164", "region"),
    [
        ("87 12 34 56", "+68987123456", "PF"),  # 8 digits: Polynesia's alone
        ("05 00 12", "+687050012", "NC"),  # a toll-free range only NC has
        ("043 01 23", "+508430123", "PM"),  # PM's own trunk 0 and six digits
    ],
)
def test_number_only_one_region_accepts_needs_no_hint(value, e164, region):
    """F2: a national number valid in exactly one region is read there."""
    phone = Phone.parse(value)
    assert (phone.e164, phone.region) == (e164, region)


@pytest.mark.parametrize(
    ("value", "hint", "region"),
    [
        ("0590 27 12 34", None, "BL"),  # phonenumbers: a Saint-Barthélemy range
        ("0590 27 12 34", "MF", "MF"),  # valid in Saint-Martin too
        ("0590 27 12 34", "GP", "BL"),  # but not in Guadeloupe
        ("0690 00 12 34", None, "GP"),  # mobiles are shared by the three
        ("0690 00 12 34", "BL", "BL"),
        ("0690 00 12 34", "MF", "MF"),
        ("0690 00 12 34", "FR", "GP"),
    ],
)
def test_guadeloupe_neighbours_told_apart(value, hint, region):
    """F2: GP, BL and MF share +590; phonenumbers, else the hint, names the region."""
    phone = Phone.parse(value, hint=hint)
    assert phone.e164 == "+590" + value.replace(" ", "")[1:]
    assert phone.region == region


@pytest.mark.parametrize(
    ("hint", "e164"),
    [
        (None, "+33800012345"),
        ("FR", "+33800012345"),
        ("BE", "+33800012345"),
        ("GP", "+590800012345"),
        ("RE", "+262800012345"),
        ("PM", "+508800012345"),
    ],
)
def test_shared_numbers_are_the_mainland_s_unless_the_hint_says(hint, e164):
    """F2: ``0800…``, valid in several territories, is mainland but for the hint."""
    assert Phone.parse("0800 01 23 45", hint=hint).e164 == e164


@pytest.mark.parametrize(
    ("value", "e164", "region"),
    [
        ("+508 20 12 34", "+508201234", "PM"),
        ("+687 20 12 34", "+687201234", "NC"),
        ("00 687 20 12 34", "+687201234", "NC"),
        ("+681 72 12 34", "+681721234", "WF"),
        ("+33 5 96 30 12 34", "+33596301234", "FR"),  # as typed, not reinterpreted
        ("+262 269 60 12 34", "+262269601234", "YT"),
    ],
)
def test_international_form_read_as_is(value, e164, region):
    """F2: a number typed with its country code is always accepted, as it is."""
    phone = Phone.parse(value, hint="NC")
    assert (phone.e164, phone.region) == (e164, region)


def test_size_checked_before_any_parsing(monkeypatch):
    """F9: a 10 MB or lone-surrogate value is refused before phonenumbers runs."""

    def fail(*_args, **_kwargs):
        pytest.fail("phonenumbers.parse called on a value refused by its size")

    monkeypatch.setattr(phonenumbers, "parse", fail)
    with pytest.raises(ValidationError) as info:
        Phone.parse("0" * 10_000_000)
    assert info.value.codes == {"text.too_long"}
    with pytest.raises(ValidationError) as info:
        Phone.parse("06 12 34 56 78\udc00" * 600_000)
    assert info.value.codes == {"text.too_long"}
    with pytest.raises(ValidationError) as info:
        Phone.parse("06 12 34 56 78\udc00")
    assert info.value.codes == {"text.invalid_unicode"}


@given(territory_numbers(), st.sampled_from(["E164", "INTERNATIONAL", "00"]))
def test_international_form_round_trips(case, writing):
    """F2: any valid number of the French territories round-trips internationally.

    Typed with its country code (``+…`` or ``00…``), it is stored as that
    number, in its region, whatever the address hint.
    """
    region, number = case
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    written = {
        "E164": e164,
        "INTERNATIONAL": phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ),
        "00": "00" + e164[1:],
    }[writing]
    phone = Phone.parse(written)
    assert phone.e164 == e164
    assert phone.region == phonenumbers.region_code_for_number(number)
    assert Phone.parse(phone.e164) == phone
    assert Phone.parse(written, hint=region) == Phone(e164, region)


def _national(number):
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


@given(territory_numbers())
def test_national_form_with_the_address_hint(case):
    """F2: a national number with its region as the address hint is read there.

    The one exception: a mainland-pattern number in an overseas prefix
    (``05 96…``) goes to the overseas region owning the prefix.
    """
    region, number = case
    phone = Phone.parse(_national(number), hint=region)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phone.e164 != e164:
        assert region == "FR"
        assert phone.region in FRENCH_PLAN_REGIONS
    else:
        assert phone.region == region


@given(territory_numbers())
def test_national_form_never_maps_to_another_territory(case):
    """F2: without a hint a national number never becomes another territory's.

    It is read as itself or refused as ambiguous; a French-plan number typed
    with its 0 may also be read as the mainland's (shared ``08`` numbers) or,
    if it is a mainland one, as the overseas region owning its prefix. A
    Caledonian number is never Saint-Pierre's.
    """
    region, number = case
    national = _national(number)
    phone, error = outcome(Phone.parse, national)
    if error is not None:
        assert error.codes == {"phone.ambiguous"}
        return
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phone.e164 != e164:
        trunk = phonenumbers.normalize_digits_only(national).startswith("0")
        assert trunk
        assert phone.region == "FR" or (
            region == "FR" and phone.region in FRENCH_PLAN_REGIONS
        )
