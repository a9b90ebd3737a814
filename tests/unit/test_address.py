"""Postal addresses after AFNOR NF Z10-011 (SPEC A4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import AddressForm, PostalAddress, ValidationError, known_codes
from echoppe_accounts.domain.address import COUNTRIES, FRENCH_POSTAL_COUNTRIES
from strategies import (
    LETTERS,
    address_forms,
    arbitrary_text,
    domestic_addresses,
    foreign_addresses,
    metropolitan_postal_codes,
    names,
    outcome,
    overseas_postal_codes,
)

LINE_LENGTH = 38
MAX_LINES = 6


def parse(form: AddressForm) -> PostalAddress:
    """Parse the fields of an address form."""
    return PostalAddress.parse(
        form.street_lines, form.postal_code, form.city, form.country
    )


def errors_of(*args: object, **kwargs: object) -> dict[str, set[str]]:
    """Return ``{path: codes}`` of the ValidationError raised by PostalAddress.parse."""
    with pytest.raises(ValidationError) as info:
        PostalAddress.parse(*args, **kwargs)
    found: dict[str, set[str]] = {}
    for error in info.value.errors:
        found.setdefault(error.path, set()).add(error.code)
    return found


def assert_fits_the_norm(lines: tuple[str, ...]) -> None:
    """Check the AFNOR limits: at most 6 lines of at most 38 characters."""
    assert len(lines) <= MAX_LINES, lines
    assert all(len(line) <= LINE_LENGTH for line in lines), lines


def test_domestic_address_renders_without_country_line():
    """A4: a French address is recipient, street lines, ``CODE CITY``."""
    address = PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
    assert address.render("Jean Dupont") == (
        "Jean Dupont",
        "12 rue des Lilas",
        "75011 PARIS",
    )


def test_city_line_upper_case_without_accents():
    """A4: the ``CODE CITY`` line is written in capitals without accents."""
    address = PostalAddress.parse(
        ["1 place de l'Église"], "69002", "Lyon Saint-Exupéry"
    )
    assert address.render("X")[-1] == "69002 LYON SAINT-EXUPERY"


@pytest.mark.parametrize(("code", "territory"), [("97400", "FR"), ("97400", "RE")])
def test_reunion_postal_code_accepted(code, territory):
    """A4: overseas departments have 97xxx codes, in France or their own code."""
    address = PostalAddress.parse(["5 rue de Paris"], code, "Saint-Denis", territory)
    assert address.postal_code == "97400"
    assert address.render("X")[-1] == "97400 SAINT-DENIS"


def test_new_caledonia_postal_code_accepted():
    """A4: the 98xxx codes of the Pacific collectivities are accepted."""
    address = PostalAddress.parse(["1 rue de Sébastopol"], "98800", "Nouméa", "NC")
    assert address.render("X") == ("X", "1 rue de Sébastopol", "98800 NOUMEA")


@pytest.mark.parametrize("code", ["96000", "00100", "99000", "7501", "750011", "ABCDE"])
def test_invalid_french_postal_codes_refused(code):
    """A4: French postal codes are 5 digits, departments 01-95 or 97x/98x."""
    assert errors_of(["1 rue X"], code, "Paris") == {
        "postal_code": {"address.postal_code_invalid"}
    }


def test_foreign_address_renders_country_line():
    """A4: an address abroad ends with the country's name on its own line."""
    address = PostalAddress.parse(["Rue Neuve 3"], "1000", "Bruxelles", "BE")
    assert address.render("SA Exemple") == (
        "SA Exemple",
        "Rue Neuve 3",
        "1000 BRUXELLES",
        "BELGIQUE",
    )


def test_foreign_postal_code_follows_local_form():
    """A4: abroad, the postal code is the local one (letters allowed)."""
    address = PostalAddress.parse(["10 Downing Street"], "sw1a 2aa", "London", "GB")
    assert address.postal_code == "SW1A 2AA"
    assert address.render("X")[-1] == "ROYAUME-UNI"


@pytest.mark.parametrize("country", ["be", " Be ", "BE"])
def test_country_case_insensitive(country):
    """A4: the ISO 3166-1 code may be typed in lower case; it is stored upper."""
    address = PostalAddress.parse(["Rue Neuve 3"], "1000", "Bruxelles", country)
    assert address.country == "BE"


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("XX", "address.country_invalid"),
        ("FRA", "address.country_invalid"),
        ("France", "address.country_invalid"),
        ("F", "address.country_invalid"),
        ("", "required"),
    ],
)
def test_invalid_country_refused(country, code):
    """A4: the country must be an ISO 3166-1 alpha-2 code."""
    assert errors_of(["1 rue X"], "75001", "Paris", country) == {"country": {code}}


def test_five_street_lines_refused_in_france():
    """A4: recipient + 4 street lines + city line is the most a French address has."""
    assert errors_of(["a", "b", "c", "d", "e"], "75001", "Paris") == {
        "street_lines": {"address.too_many_lines"}
    }


def test_four_street_lines_accepted_in_france():
    """A4: four street lines fit in six lines with the recipient and city."""
    address = PostalAddress.parse(["a", "b", "c", "d"], "75001", "Paris")
    assert len(address.render("X")) == 6


def test_four_street_lines_refused_abroad():
    """A4: abroad, the country line takes a street line's place: three at most."""
    assert errors_of(["a", "b", "c", "d"], "1000", "Bruxelles", "BE") == {
        "street_lines": {"address.too_many_lines"}
    }


def test_blank_street_lines_dropped():
    """A4: empty lines of a form are ignored rather than printed."""
    address = PostalAddress.parse(["", "  12  rue   des Lilas ", " "], "75011", "Paris")
    assert address.street_lines == ("12 rue des Lilas",)


@pytest.mark.parametrize(
    ("street", "path"),
    [([], "street_lines"), (["", " "], "street_lines")],
)
def test_at_least_one_street_line(street, path):
    """A4: an address needs a street line."""
    assert errors_of(street, "75001", "Paris") == {path: {"required"}}


def test_street_line_longer_than_38_refused():
    """A4: a line of more than 38 characters is refused, at its index."""
    assert errors_of(["1 rue X", "x" * 39], "75001", "Paris") == {
        "street_lines[1]": {"text.too_long"}
    }


def test_city_line_longer_than_38_refused():
    """A4: ``CODE CITY`` must fit in 38 characters too."""
    assert errors_of(["1 rue X"], "75001", "x" * 33) == {
        "city": {"address.line_too_long"}
    }
    assert PostalAddress.parse(["1 rue X"], "75001", "x" * 32)


def test_control_characters_refused():
    """A4: invisible characters cannot be smuggled into an address line."""
    assert errors_of(["1 rue\u200bX"], "75001", "Pa\x00ris") == {
        "street_lines[0]": {"text.control_character"},
        "city": {"text.control_character"},
    }


def test_every_error_reported_at_once():
    """F8: several bad fields give one error each, each at its own path."""
    assert errors_of(["ok", "y" * 39, "\x07"], "96000", "", "ZZ") == {
        "street_lines[1]": {"text.too_long"},
        "street_lines[2]": {"text.control_character"},
        "postal_code": {"address.postal_code_invalid"},
        "city": {"required"},
        "country": {"address.country_invalid"},
    }


def test_city_line_error_reported_with_other_errors():
    """F8, A4: a too-long ``CODE CITY`` line is reported along with other errors."""
    assert errors_of(["a", "b", "c", "d", "e"], "75001", "x" * 33) == {
        "street_lines": {"address.too_many_lines"},
        "city": {"address.line_too_long"},
    }


@pytest.mark.parametrize("code", ["7５0０1", "7٥٠٠١", "974٠٠"])
def test_postal_code_with_non_ascii_digits_refused(code):
    """A4: a French postal code is five ASCII digits, not look-alike digits."""
    assert errors_of(["1 rue X"], code, "Paris") == {
        "postal_code": {"address.postal_code_invalid"}
    }


@pytest.mark.parametrize(
    ("city", "country"),
    [("Straßberg-Großräschen-Weißwasser", "DE"), ("ﬁﬂﬃﬄ" * 8, "FR")],
)
def test_city_line_measured_as_printed(city, country):
    """A4: ``ß`` prints ``SS`` and ligatures split: the printed line must fit."""
    assert len(f"01968 {city}") <= LINE_LENGTH  # fits only as typed
    assert errors_of(["1 rue X"], "01968", city, country) == {
        "city": {"address.line_too_long"}
    }


@pytest.mark.parametrize("country", sorted(COUNTRIES))
def test_country_line_fits_for_every_accepted_country(country):
    """A4: whatever the accepted country, every rendered line fits in 38 chars."""
    code = "75001" if country in FRENCH_POSTAL_COUNTRIES else "BBND 1ZZ"
    address = PostalAddress.parse(["1 Main Road"], code, "Diego Garcia", country)
    assert_fits_the_norm(address.render("X" * 38))


@given(metropolitan_postal_codes())
def test_metropolitan_postal_codes_accepted(code):
    """A4: every metropolitan department 01-95 has valid five-digit codes."""
    assert PostalAddress.parse(["1 rue X"], code, "Ville").postal_code == code


@given(overseas_postal_codes())
def test_overseas_postal_codes_accepted(code):
    """A4: the 97x and 98x codes of La Poste's overseas territories are accepted."""
    assert PostalAddress.parse(["1 rue X"], code, "Ville").postal_code == code


@given(address_forms(), names())
def test_rendered_address_fits_the_norm(form, recipient):
    """A4: any accepted address prints in at most 6 lines of at most 38 chars."""
    assert_fits_the_norm(parse(form).render(recipient))


@given(domestic_addresses(), names())
def test_domestic_address_has_no_country_line(form, recipient):
    """A4: in France and overseas, the last line is ``CODE CITY``."""
    address = parse(form)
    lines = address.render(recipient)
    assert lines[0] == recipient
    assert lines[-1].startswith(address.postal_code + " ")
    assert len(lines) == len(address.street_lines) + 2


@given(foreign_addresses(), names())
def test_foreign_address_has_a_country_line(form, recipient):
    """A4: abroad, a country line follows the ``CODE CITY`` line."""
    address = parse(form)
    lines = address.render(recipient)
    assert lines[-2].startswith(address.postal_code + " ")
    assert len(lines) == len(address.street_lines) + 3


@given(address_forms())
def test_parsing_is_stable(form):
    """A4: an accepted address parsed again from its own fields is unchanged."""
    address = parse(form)
    again = PostalAddress.parse(
        address.street_lines, address.postal_code, address.city, address.country
    )
    assert again == address


@given(
    st.lists(arbitrary_text(), max_size=6),
    arbitrary_text(),
    arbitrary_text(),
    arbitrary_text(),
)
def test_arbitrary_text_raises_only_validation_error(street, code, city, country):
    """A4, F8: any input either parses or raises ValidationError, never else."""
    address, error = outcome(PostalAddress.parse, street, code, city, country)
    if error is not None:
        assert error.codes <= known_codes()
    else:
        assert 1 <= len(address.street_lines) <= 4
        assert_fits_the_norm(address.render("X" * 38))


@given(
    st.lists(arbitrary_text(max_size=45), min_size=1, max_size=5),
    st.one_of(metropolitan_postal_codes(), overseas_postal_codes()),
    st.one_of(
        arbitrary_text(max_size=40),
        # Letters that grow when printed upper-case without accents.
        st.text(LETTERS + "ßﬁﬂﬃﬄŉǰΐ -", min_size=1, max_size=38),
    ),
    st.sampled_from(["FR", "RE", "BE", "DE", "IO"]),
)
def test_any_accepted_address_fits_the_norm(street, code, city, country):
    """A4: whatever was typed, an accepted address prints within the norm."""
    address, error = outcome(PostalAddress.parse, street, code, city, country)
    if error is None:
        assert_fits_the_norm(address.render("X" * 38))
    else:
        assert error.codes <= known_codes()
