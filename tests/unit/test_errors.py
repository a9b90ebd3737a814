"""Errors: stable codes, field paths, French and English messages (SPEC F8)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

import echoppe_accounts.exceptions
from echoppe_accounts import (
    AuthenticationError,
    EchoppeError,
    FieldError,
    ValidationError,
    known_codes,
)
from echoppe_accounts.domain import errors as errors_module
from echoppe_accounts.domain.i18n import Plural


def placeholders(code: str) -> set[str]:
    """Return the names of the values the messages of *code* quote."""
    message = errors_module._MESSAGES[code]
    templates = (
        (message.singular, message.plural)
        if isinstance(message, Plural)
        else (message,)
    )
    return {
        name
        for template in templates
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }


@pytest.mark.parametrize("code", sorted(known_codes()))
def test_every_code_has_french_and_english_messages(code):
    """F8: each code has a non-empty message in French and another in English."""
    error = FieldError("field", code, dict.fromkeys(placeholders(code), 7))
    french, english = error.message("fr"), error.message("en")
    assert french.strip()
    assert english.strip()
    assert french != english
    assert "{" not in french
    assert "{" not in english


def test_french_is_the_default_language():
    """F8: messages are in French unless English is asked for."""
    error = FieldError("email", "required")
    assert error.message() == error.message("fr") == "Ce champ est obligatoire."
    assert error.message("en") == "This field is required."


def test_message_fills_in_its_parameters():
    """F8: a limit quoted in a message is the one of the error."""
    error = FieldError("name", "text.too_long", {"max": 38})
    assert "38" in error.message("fr")
    assert "38" in error.message("en")


def test_known_codes_cover_the_documented_ones():
    """F8: the codes the SPEC rules rely on are all known and stable."""
    assert {
        "required",
        "not_allowed",
        "email.invalid",
        "phone.invalid",
        "siret.invalid_checksum",
        "siret.all_zero",
        "address.too_many_deliveries",
        "address.last_delivery",
        "address.separate_billing",
        "password.personal",
        "chorus.not_public_body",
    } <= known_codes()


def test_validation_error_is_a_value_error_of_the_library():
    """F8: callers may catch the library's root or ValueError."""
    error = ValidationError.single("email", "required")
    assert isinstance(error, EchoppeError)
    assert isinstance(error, ValueError)
    assert echoppe_accounts.exceptions.ValidationError is ValidationError


def test_validation_error_needs_an_error():
    """F8: an empty ValidationError would hide the problem; it cannot be built."""
    with pytest.raises(ValueError, match="at least one"):
        ValidationError([])


def test_validation_error_keeps_every_error_in_order():
    """F8: all problems are kept, not only the first one."""
    errors = [
        FieldError("email", "email.invalid", {"reason": "x"}),
        FieldError("phone", "phone.invalid"),
        FieldError("siret", "siret.all_zero"),
    ]
    error = ValidationError(errors)
    assert error.errors == tuple(errors)
    assert error.codes == {"email.invalid", "phone.invalid", "siret.all_zero"}


def test_messages_name_each_path():
    """F8: the one-line summary names every field with its message."""
    error = ValidationError(
        [FieldError("email", "required"), FieldError("", "account.not_found")]
    )
    assert error.messages("en") == (
        "email: This field is required.; (form): Account not found."
    )
    assert "email: Ce champ est obligatoire." in error.messages()
    assert "email: This field is required." in str(error)


def test_as_dict_groups_by_path():
    """F8: a form or an API gets every message of a field under its path."""
    error = ValidationError(
        [
            FieldError("name", "required"),
            FieldError("siret", "siret.invalid_format"),
            FieldError("name", "text.control_character"),
        ]
    )
    assert error.as_dict("en") == {
        "name": [
            {"code": "required", "message": "This field is required."},
            {
                "code": "text.control_character",
                "message": "This field contains an invisible or control character.",
            },
        ],
        "siret": [
            {
                "code": "siret.invalid_format",
                "message": "The SIRET number must have 14 digits.",
            }
        ],
    }
    assert error.as_dict()["name"][0]["message"] == "Ce champ est obligatoire."


@pytest.mark.parametrize(
    ("prefix", "path", "expected"),
    [
        ("a", "b", "a.b"),
        ("a", "[0].b", "a[0].b"),
        ("a[0]", "b", "a[0].b"),
        (
            "delivery_addresses[2]",
            "address.postal_code",
            "delivery_addresses[2].address.postal_code",
        ),
        ("a", "", "a"),
        ("", "b", "b"),
        ("", "", ""),
    ],
)
def test_under_builds_paths(prefix, path, expected):
    """F8: nesting an error under a form part builds ``a.b`` and ``a[0].b`` paths."""
    moved = FieldError(path, "required", {"max": 1}).under(prefix)
    assert moved.path == expected
    assert moved.code == "required"
    assert moved.params == {"max": 1}


@given(
    st.lists(
        st.from_regex(r"[a-z_]{1,8}(\[\d\])?", fullmatch=True), min_size=1, max_size=4
    ),
)
def test_under_composes(parts):
    """F8: nesting level by level gives the dotted path of all levels."""
    error = FieldError(parts[-1], "required")
    for part in reversed(parts[:-1]):
        error = error.under(part)
    assert error.path == ".".join(parts)


@pytest.mark.parametrize(
    ("seconds", "french", "english"),
    [
        (0.2, "réessayez dans 1 seconde.", "try again in 1 second."),
        (1, "réessayez dans 1 seconde.", "try again in 1 second."),
        (1.5, "réessayez dans 2 secondes.", "try again in 2 seconds."),
        (30, "réessayez dans 30 secondes.", "try again in 30 seconds."),
    ],
)
def test_throttled_login_says_the_wait_with_the_right_plural(seconds, french, english):
    """F8, T1: "1 seconde" and "2 secondes", never "1 secondes", in both languages."""
    error = AuthenticationError("login.throttled", retry_after=seconds)
    assert error.message().endswith(french)
    assert error.message("en").endswith(english)


@given(st.integers(min_value=0, max_value=10_000))
def test_plurals_follow_each_language_rule(count):
    """T1: French uses the singular for 0 and 1, English for 1 only."""
    error = FieldError("name", "text.too_long", {"max": count})
    french_singular = count <= 1
    english_singular = count == 1
    assert error.message("fr").endswith(
        f"{count} caractère." if french_singular else f"{count} caractères."
    )
    assert error.message("en").endswith(
        f"{count} character." if english_singular else f"{count} characters."
    )


def test_a_language_without_catalogue_gets_french():
    """T1: a language the shop has no catalogue for is answered in French."""
    error = FieldError("email", "required")
    assert error.message("de") == error.message("fr")
    assert error.message("../../etc/passwd") == error.message("fr")


def test_a_missing_parameter_shows_its_name_instead_of_failing():
    """F8: a message whose parameter was not given still renders."""
    assert "{max}" in FieldError("name", "form.too_many_errors").message("en")
