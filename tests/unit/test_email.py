"""Email addresses and their uniqueness key (SPEC F1, F8, F9)."""

from __future__ import annotations

import unicodedata

import email_validator
import idna
import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import Email, ValidationError
from echoppe_accounts.domain import email as email_module
from echoppe_accounts.domain.email import canonical_key
from strategies import (
    arbitrary_text,
    case_variants,
    compatibility_local_parts,
    emails,
    idn_emails,
    idna_deviation_pairs,
    outcome,
)


def any_emails() -> st.SearchStrategy[str]:
    """Valid addresses with ASCII or internationalised domains."""
    return st.one_of(emails(), idn_emails())


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
        ("STRASSE@exemple.de", "straße@exemple.de"),  # ß: casefold, not lower
        ("ÉLODIE@exemple.fr", "élodie@exemple.fr"),
        ("e\u0301lodie@exemple.fr", "élodie@exemple.fr"),  # decomposed accent
    ],
)
def test_local_part_key_applies_nfkc_and_casefold(typed, plain):
    """F1: the key folds the local part's case (casefold, not lower) and forms."""
    assert Email.parse(typed).key == Email.parse(plain).key


def test_strasse_with_eszett_and_with_double_s_are_two_accounts():
    """F1: ``info@straße.de`` and ``info@strasse.de`` are two IDNA domains, two keys."""
    eszett, double_s = Email.parse("info@straße.de"), Email.parse("info@strasse.de")
    assert eszett.key == "info@xn--strae-oqa.de"
    assert double_s.key == "info@strasse.de"
    assert eszett.address == "info@straße.de"


def test_final_sigma_is_another_domain():
    """F1: ``ς`` and ``σ`` are two IDNA domains although casefold merges them."""
    final = Email.parse("x@σοφιας.gr")
    medial = Email.parse("x@σοφιασ.gr")
    assert final.key != medial.key
    assert final.key == "x@" + idna.encode("σοφιας.gr").decode()


@pytest.mark.parametrize(
    "typed",
    [
        "info@straße.de",
        "info@Straße.DE",
        "info@xn--strae-oqa.de",
        "INFO@XN--STRAE-OQA.DE",
        "info@ｓｔｒａßｅ.ｄｅ",  # full-width domain: mapped by IDNA, fine
    ],
)
def test_spellings_of_one_idna_domain_are_one_account(typed):
    """F1: every spelling of one IDNA domain is stored and keyed alike."""
    email = Email.parse(typed)
    assert email.address == "info@straße.de"
    assert email.key == "info@xn--strae-oqa.de"


def test_full_width_domain_is_stored_as_mapped():
    """F1: a full-width domain is stored as its IDNA mapping, so store and key agree."""
    email = Email.parse("jean@ｅｘｅｍｐｌｅ.ｆｒ")
    assert (email.address, email.key) == ("jean@exemple.fr", "jean@exemple.fr")


@pytest.mark.parametrize(
    "typed",
    [
        "ｊｅａｎ@exemple.fr",  # full-width letters
        "ﬁnance@exemple.fr",  # ligature
        "jean２@exemple.fr",  # full-width digit
        "ｊｅａｎ@ｅｘｅｍｐｌｅ.ｆｒ",
    ],
)
def test_compatibility_characters_in_the_local_part_are_refused(typed):
    """F1: a local part NFKC would change is refused, never stored as typed."""
    with pytest.raises(ValidationError) as info:
        Email.parse(typed)
    assert info.value.codes == {"email.not_normalized"}
    assert [e.path for e in info.value.errors] == ["email"]


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
        ("a" * 10_000_000 + "@exemple.fr", "text.too_long"),
        ("jean\ud800@exemple.fr", "text.invalid_unicode"),  # lone surrogate
    ],
)
def test_invalid_addresses_refused(value, code):
    """F1, F8, F9: a syntactically invalid address is refused with a stable code."""
    with pytest.raises(ValidationError) as info:
        Email.parse(value)
    assert info.value.codes == {code}
    assert [e.path for e in info.value.errors] == ["email"]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (" " * 600 + "jean@exemple.fr", "text.too_long"),
        ("j" * 5_000_000, "text.too_long"),
        ("jean@exemple.fr\udfff", "text.invalid_unicode"),
    ],
)
def test_size_and_unicode_are_checked_before_email_validator(monkeypatch, value, code):
    """F9: an oversized or unreadable value is refused before email-validator runs."""

    def must_not_run(*_args, **_kwargs):
        pytest.fail("email-validator ran")

    monkeypatch.setattr(email_module.email_validator, "validate_email", must_not_run)
    with pytest.raises(ValidationError) as info:
        Email.parse(value)
    assert info.value.codes == {code}


def test_error_path_is_the_callers():
    """F8: the error is reported at the path the caller names."""
    with pytest.raises(ValidationError) as info:
        Email.parse("nope", path="contact.email")
    assert [e.path for e in info.value.errors] == ["contact.email"]


@pytest.mark.parametrize(
    "address",
    [
        "no-at-sign",
        "@exemple.fr",
        "jean@",
        "jean@\u0301x.de",  # a label may not start with a combining mark
        "jean@" + "é" * 300 + ".fr",
        "j" * 300 + "@exemple.fr",
    ],
)
def test_canonical_key_of_an_address_without_one_is_a_validation_error(address):
    """F1, F8: an address without a key raises ``email.invalid``, not idna's error."""
    with pytest.raises(ValidationError) as info:
        canonical_key(address)
    assert info.value.codes == {"email.invalid"}


@given(emails())
def test_valid_addresses_accepted_with_their_domain_lower_cased(value):
    """F1: a valid address is accepted; its ASCII domain is stored in lower case."""
    email = Email.parse(value)
    assert email.domain == value.rpartition("@")[2].lower()


@given(any_emails())
def test_key_is_the_folded_local_part_and_the_a_label_of_the_domain(value):
    """F1: key = NFKC+casefold(local) + ``@`` + lower-case A-label of the domain."""
    email = Email.parse(value)
    expected = email_validator.validate_email(value, check_deliverability=False)
    assert email.address == expected.normalized
    local, _, domain = email.address.rpartition("@")
    a_label = idna.encode(domain, uts46=True).decode("ascii").lower()
    assert email.key == unicodedata.normalize("NFKC", local).casefold() + "@" + a_label
    assert a_label == expected.ascii_domain.lower()
    assert canonical_key(email.address) == email.key


@given(any_emails())
def test_parse_is_idempotent(value):
    """F1: parsing the stored address again gives the same address and key."""
    email = Email.parse(value)
    assert Email.parse(email.address) == email


@given(idna_deviation_pairs())
def test_domains_differing_by_an_idna_deviation_are_two_accounts(pair):
    """F1: ``ß``/``ss`` or ``ς``/``σ`` in the domain make two IDNA domains, two keys."""
    deviation, folded = pair
    assert Email.parse(deviation).key != Email.parse(folded).key


@given(any_emails().flatmap(lambda v: st.tuples(st.just(v), case_variants(v))))
def test_key_ignores_case_of_local_part_and_domain(pair):
    """F1: the same address typed in any mix of upper and lower case is one account."""
    value, variant = pair
    assert Email.parse(variant).key == Email.parse(value).key


@given(emails())
def test_key_ignores_case(value):
    """F1: the same address typed in upper or lower case is the same account."""
    assert Email.parse(value.upper()).key == Email.parse(value.lower()).key


@given(compatibility_local_parts())
def test_any_compatibility_character_in_the_local_part_is_refused(value):
    """F1: no local part that NFKC would change is ever stored."""
    with pytest.raises(ValidationError) as info:
        Email.parse(value)
    assert info.value.codes == {"email.not_normalized"}


@given(arbitrary_text())
def test_arbitrary_text_raises_only_validation_error(value):
    """F8, F9: no email-validator or codec exception reaches the caller."""
    email, error = outcome(Email.parse, value)
    if error is not None:
        assert error.codes <= {
            "required",
            "email.invalid",
            "email.not_normalized",
            "text.too_long",
            "text.invalid_unicode",
        }
    else:
        assert Email.parse(email.address) == email
        assert canonical_key(email.address) == email.key
        local = email.address.rpartition("@")[0]
        assert unicodedata.normalize("NFKC", local) == local
