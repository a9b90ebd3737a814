"""Email addresses and their uniqueness key (SPEC F1)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given

from echoppe_accounts import Email, ValidationError
from strategies import arbitrary_text, emails, outcome


def test_case_variants_share_one_key():
    """F1: ``Jean.Dupont@Exemple.FR`` and ``jean.dupont@exemple.fr`` are one account."""
    assert (
        Email.parse("Jean.Dupont@Exemple.FR").key
        == Email.parse("jean.dupont@exemple.fr").key
    )


def test_address_keeps_the_local_part_as_typed():
    """F1: mail goes to the normalised address, whose local part keeps its case."""
    email = Email.parse("  Jean.Dupont@Exemple.FR ")
    assert email.address == "Jean.Dupont@exemple.fr"
    assert str(email) == email.address
    assert email.domain == "exemple.fr"


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("ｊｅａｎ@exemple.fr", "jean@exemple.fr"),  # full-width letters: NFKC
        ("STRASSE@exemple.de", "straße@exemple.de"),  # ß: casefold, not lower
        ("ÉLODIE@exemple.fr", "élodie@exemple.fr"),
        ("e\u0301lodie@exemple.fr", "élodie@exemple.fr"),  # decomposed accent
    ],
)
def test_key_applies_nfkc_and_casefold(typed, plain):
    """F1: the key folds compatibility forms and case over the whole address."""
    assert Email.parse(typed).key == Email.parse(plain).key


def test_dotless_i_is_another_account():
    """F1: ``mıke`` (dotless ı) is not ``mike``: casefold keeps them apart."""
    assert Email.parse("mıke@example.org").key != Email.parse("mike@example.org").key


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("jean.dupont@", "email.invalid"),
        ("jean.dupont", "email.invalid"),
        ("jean..dupont@exemple.fr", "email.invalid"),
        ("jean@localhost", "email.invalid"),
        ("jean dupont@exemple.fr", "email.invalid"),
        ("jean\u200b@exemple.fr", "email.invalid"),  # zero-width space
        ("a" * 250 + "@exemple.fr", "email.invalid"),
    ],
)
def test_invalid_addresses_refused(value, code):
    """F1, F8: a syntactically invalid address is refused with a stable code."""
    with pytest.raises(ValidationError) as info:
        Email.parse(value)
    assert info.value.codes == {code}
    assert [e.path for e in info.value.errors] == ["email"]


def test_error_path_is_the_callers():
    """F8: the error is reported at the path the caller names."""
    with pytest.raises(ValidationError) as info:
        Email.parse("nope", path="contact.email")
    assert [e.path for e in info.value.errors] == ["contact.email"]


@given(emails())
def test_valid_addresses_accepted_with_key_of_their_address(value):
    """F1: a valid address is accepted; its key is NFKC + casefold of the address."""
    email = Email.parse(value)
    assert email.key == unicodedata.normalize("NFKC", email.address).casefold()
    assert email.domain == value.rpartition("@")[2].lower()


@given(emails())
def test_key_ignores_case(value):
    """F1: the same address typed in upper or lower case is the same account."""
    assert Email.parse(value.upper()).key == Email.parse(value.lower()).key


@given(emails())
def test_parse_is_idempotent(value):
    """F1: parsing the stored address again gives the same address and key."""
    email = Email.parse(value)
    assert Email.parse(email.address) == email


@given(arbitrary_text())
def test_arbitrary_text_raises_only_validation_error(value):
    """F8: no email-validator or codec exception reaches the caller."""
    email, error = outcome(Email.parse, value)
    if error is not None:
        assert error.codes <= {"required", "email.invalid"}
    else:
        assert Email.parse(email.address) == email
