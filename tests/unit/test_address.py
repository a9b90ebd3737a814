"""Postal addresses after AFNOR NF Z10-011 (SPEC A4), with sizes first (SPEC F9)."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
import zoneinfo
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import AddressForm, PostalAddress, ValidationError, known_codes
from echoppe_accounts.domain import address as address_module
from echoppe_accounts.domain.address import (
    FRENCH_POSTAL_COUNTRIES,
    MAX_ERRORS,
    MAX_STREET_LINES,
    country_name,
    la_poste_territory,
)
from echoppe_accounts.domain.countries import (
    country_codes,
    country_display_name,
    is_assigned_alpha2,
)
from echoppe_accounts.domain.text import clean_text
from strategies import (
    LETTERS,
    OVERSEAS_CODES,
    OVERSEAS_PREFIXES,
    address_forms,
    arbitrary_text,
    domestic_addresses,
    foreign_addresses,
    huge_texts,
    metropolitan_postal_codes,
    names,
    outcome,
    overseas_postal_codes,
    street_line_lists,
)

LINE_LENGTH = 38
MAX_LINES = 6
TEN_MB = 10_000_000
ONE_MB = 1_000_000

MONACO_POSTAL_CODE = "98000"
"""Monaco's postal code, in La Poste's range (CEDEX codes are 980xx too)."""

SAMPLE_POSTAL_CODES = {
    "FR": "75001",
    "MC": MONACO_POSTAL_CODE,
    **{territory: prefix + "10" for prefix, territory in OVERSEAS_PREFIXES.items()},
    **{territory: code for code, territory in OVERSEAS_CODES.items()},
}
"""One valid postal code for each country La Poste serves."""

NOT_ASSIGNED = [
    # Exceptionally reserved (ISO 3166/MA), named by CLDR.
    *["AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "TA", "UN"],
    # User-assigned, named by CLDR: Outlying Oceania, pseudo-locales,
    # Kosovo, Unknown.
    *["QO", "XA", "XB", "XK", "ZZ"],
    # Exceptionally reserved or user-assigned, unknown to CLDR.
    *["FX", "SU", "UK", "AA", "QM"],
]
"""Two-letter codes that are not officially assigned ISO 3166-1 codes."""


def parse(form: AddressForm) -> PostalAddress:
    """Parse the fields of an address form."""
    return PostalAddress.parse(
        form.street_lines, form.postal_code, form.city, form.country
    )


def raised(*args: object, **kwargs: object) -> ValidationError:
    """Return the ValidationError raised by PostalAddress.parse."""
    with pytest.raises(ValidationError) as info:
        PostalAddress.parse(*args, **kwargs)
    return info.value


def errors_of(*args: object, **kwargs: object) -> dict[str, set[str]]:
    """Return ``{path: codes}`` of the ValidationError raised by PostalAddress.parse."""
    found: dict[str, set[str]] = {}
    for error in raised(*args, **kwargs).errors:
        found.setdefault(error.path, set()).add(error.code)
    return found


def assert_fits_the_norm(lines: tuple[str, ...]) -> None:
    """Check the AFNOR limits: at most 6 lines of at most 38 characters."""
    assert len(lines) <= MAX_LINES, lines
    assert all(len(line) <= LINE_LENGTH for line in lines), lines


def assert_bounded(error: ValidationError) -> None:
    """Check F9 and F8: few errors, each with a documented code."""
    assert len(error.errors) <= MAX_ERRORS, error.codes
    assert error.codes <= known_codes()


def peak_memory_of_parse(*args: object) -> int:
    """Return the peak of memory allocated while PostalAddress.parse runs."""
    PostalAddress.parse(["1 rue X"], "1000", "Bruxelles", "BE")  # load CLDR first
    tracemalloc.start()
    try:
        outcome(PostalAddress.parse, *args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- Rendering -----------------------------------------------------------------


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


def test_a_single_string_is_one_street_line():
    """A4: a street line passed as a bare string is one line, not one per letter."""
    address = PostalAddress.parse("12 rue des Lilas", "75011", "Paris")
    assert address.street_lines == ("12 rue des Lilas",)


# --- Country codes: ISO 3166-1 alpha-2 from CLDR --------------------------------


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
        ("001", "address.country_invalid"),
        ("150", "address.country_invalid"),
        ("ﬁ", "address.country_invalid"),  # upper-cases to "FI"
        ("ıt", "address.country_invalid"),  # dotless i upper-cases to "IT"
        ("", "required"),
    ],
)
def test_invalid_country_refused(country, code):
    """A4: the country must be an ISO 3166-1 alpha-2 code, in ASCII letters."""
    assert errors_of(["1 rue X"], "75001", "Paris", country) == {"country": {code}}


def test_country_codes_are_the_249_assigned_codes():
    """A4: the accepted countries are exactly ISO 3166-1's 249 assigned codes."""
    codes = country_codes()
    assert len(codes) == 249
    assert {"TF", "AQ", "BV", "HM", "UM", "FR", "MC", "BQ", "SS"} <= codes
    assert codes.isdisjoint(NOT_ASSIGNED)
    assert codes >= FRENCH_POSTAL_COUNTRIES


def test_country_codes_agree_with_the_tz_database():
    """A4: the list matches the tz database's copy of ISO 3166-1 (iso3166.tab)."""
    tables = [Path(d) / "iso3166.tab" for d in zoneinfo.TZPATH]
    table = next((t for t in tables if t.is_file()), None)
    if table is None:
        pytest.skip("no iso3166.tab from the tz database on this system")
    lines = table.read_text(encoding="utf-8").splitlines()
    iso = {line.split("\t")[0] for line in lines if line and not line.startswith("#")}
    assert country_codes() == iso


def test_country_codes_agree_with_cldr_numeric_codes():
    """A4: the assigned codes are those CLDR maps from an ISO numeric code < 900.

    ISO 3166-1 gives every assigned code a numeric one, and keeps 900-999
    for user-assigned codes; exceptionally reserved codes have none. This
    reaches the 249 codes by another road than the module's rule.
    """
    from babel.core import get_global  # noqa: PLC0415

    aliases = get_global("territory_aliases")
    from_numeric = {
        alpha2
        for numeric, targets in aliases.items()
        if numeric.isdigit() and int(numeric) < 900
        for alpha2 in targets
        if alpha2.isalpha()
    }
    assert country_codes() == from_numeric


@pytest.mark.parametrize("code", ["FR", "TF", "AQ", "UM", "BV", "HM", "AX"])
def test_assigned_codes_have_the_shape(code):
    """A4: officially assigned codes pass the alpha-2 rule."""
    assert is_assigned_alpha2(code)


@pytest.mark.parametrize("code", [*NOT_ASSIGNED, "fr", "F", "FRA", "001", "Ｆ", "ÉT"])
def test_unassigned_codes_fail_the_shape(code):
    """A4: reserved, user-assigned, numeric and malformed codes are not countries."""
    assert not is_assigned_alpha2(code)


@pytest.mark.parametrize("country", ["XK", "AC", "TA", "EU", "UN", "ZZ", "QO"])
def test_unassigned_codes_refused_as_country(country):
    """A4: Kosovo's XK and the reserved AC, TA, EU, UN, ZZ are not ISO 3166-1."""
    assert errors_of(["1 Main Road"], "10000", "Town", country) == {
        "country": {"address.country_invalid"}
    }


def test_french_southern_territories_accepted():
    """A4: TF (TAAF) is an ISO 3166-1 code and La Poste serves it with 984xx."""
    address = PostalAddress.parse(["Base Alfred Faure"], "98413", "Crozet", "TF")
    assert address.render("X") == ("X", "Base Alfred Faure", "98413 CROZET")


def test_babel_and_geocoder_not_loaded_at_import():
    """A4: importing the package loads neither Babel nor phonenumbers' geocoder.

    CLDR's data is read on first use; the geocoder is gone.
    """
    probe = (
        "import sys, echoppe_accounts\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'babel'"
        " or m == 'phonenumbers.geocoder'))"
    )
    result = subprocess.run(  # noqa: S603 - our interpreter, a fixed script
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- Country names from CLDR ------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("BE", "BELGIQUE"),
        ("CZ", "TCHEQUIE"),
        ("SZ", "ESWATINI"),
        ("MK", "MACEDOINE DU NORD"),
        ("CI", "COTE D'IVOIRE"),
        ("TF", "TERRES AUSTRALES FRANCAISES"),
    ],
)
def test_country_line_is_cldr_french_name(code, name):
    """A4, T1: the country line is CLDR's French name, capitals without accents."""
    assert country_name(code) == name


def test_country_line_in_another_language():
    """T1: the country line can be printed in another CLDR locale."""
    address = PostalAddress.parse(["Rue Neuve 3"], "1000", "Bruxelles", "BE")
    assert address.render("X", locale="en")[-1] == "BELGIUM"
    assert country_display_name("CZ", "en") == "Czechia"


def test_long_country_name_cut_at_a_word():
    """A4: a name longer than a line is cut after its last whole word."""
    assert country_display_name("IO") == "Territoire britannique de l’océan Indien"
    assert country_name("IO") == "TERRITOIRE BRITANNIQUE DE L'OCEAN"


def test_unknown_locale_is_a_value_error():
    """T1: a locale CLDR does not know is the caller's error, said as such."""
    with pytest.raises(ValueError, match="locale"):
        country_display_name("BE", "xx_NOWHERE")


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_country_name_fits_a_line(locale):
    """A4: every country has a name of plain capitals fitting in 38 characters."""
    for code in country_codes():
        name = country_name(code, locale)
        assert name, code
        assert len(name) <= LINE_LENGTH, name
        assert name.isascii(), name
        assert name == name.upper(), name


@pytest.mark.parametrize("country", sorted(country_codes()))
def test_country_line_fits_for_every_accepted_country(country):
    """A4: whatever the accepted country, every rendered line fits in 38 chars."""
    code = SAMPLE_POSTAL_CODES.get(country, "BBND 1ZZ")
    address = PostalAddress.parse(["1 Main Road"], code, "Diego Garcia", country)
    assert_fits_the_norm(address.render("X" * 38))


# --- Postal codes: La Poste's territories -------------------------------------------


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


def test_monaco_has_no_country_line():
    """A4: La Poste serves Monaco like France: ``98000 MONACO`` is the last line."""
    address = PostalAddress.parse(["2 boulevard Albert Ier"], "98000", "Monaco", "MC")
    assert address.is_domestic
    assert address.render("SAM Exemple") == (
        "SAM Exemple",
        "2 boulevard Albert Ier",
        "98000 MONACO",
    )


def test_monaco_has_four_street_lines_like_france():
    """A4: without a country line, a Monaco address has room for four street lines."""
    address = PostalAddress.parse(["a", "b", "c", "d"], "98000", "Monaco", "MC")
    assert len(address.render("X")) == MAX_LINES


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("FR", "75001"),
        ("FR", "20000"),  # Corsica
        ("FR", "97400"),  # overseas, country given as France
        ("FR", "97133"),
        ("FR", "97500"),
        ("FR", "98413"),
        ("FR", "98800"),
        ("GP", "97110"),
        ("MQ", "97200"),
        ("GF", "97300"),
        ("RE", "97400"),
        ("PM", "97500"),
        ("YT", "97600"),
        ("BL", "97133"),
        ("MF", "97150"),
        ("TF", "98413"),
        ("WF", "98600"),
        ("PF", "98714"),
        ("NC", "98800"),
        ("MC", "98000"),
        ("MC", "98025"),  # a CEDEX code
    ],
)
def test_postal_code_of_its_territory_accepted(country, code):
    """A4: a La Poste code is accepted with the territory it belongs to."""
    assert PostalAddress.parse(["1 rue X"], code, "Ville", country).postal_code == code


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("RE", "75001"),  # mainland code on Réunion
        ("NC", "97400"),
        ("GP", "97133"),  # Saint-Barthélemy's code
        ("GP", "97150"),  # Saint-Martin's code
        ("BL", "97100"),
        ("BL", "97700"),  # INSEE's code of Saint-Barthélemy, not a postal code
        ("MF", "97800"),
        ("PM", "97501"),
        ("MC", "75001"),
        ("MC", "98800"),
        ("TF", "97400"),
        ("FR", "98000"),  # Monaco is a state of its own: country MC
        ("FR", "97700"),
        ("FR", "98500"),
    ],
)
def test_postal_code_of_another_territory_refused(country, code):
    """A4: with an explicit territory, the postal code must be that territory's."""
    assert errors_of(["1 rue X"], code, "Ville", country) == {
        "postal_code": {"address.postal_code_invalid"}
    }


@pytest.mark.parametrize(
    ("code", "territory"),
    [
        ("01000", "FR"),
        ("95999", "FR"),
        ("97133", "BL"),
        ("97150", "MF"),
        ("97134", "GP"),
        ("97500", "PM"),
        ("98000", "MC"),
        ("98413", "TF"),
        ("00100", None),
        ("96000", None),
        ("97000", None),
        ("97501", None),
        ("97700", None),
        ("98100", None),
        ("99000", None),
        ("7501", None),
        ("7５0０1", None),
    ],
)
def test_la_poste_territory(code, territory):
    """A4: each La Poste postal code belongs to one territory, others to none."""
    assert la_poste_territory(code) == territory


@pytest.mark.parametrize("code", ["96000", "00100", "99000", "7501", "750011", "ABCDE"])
def test_invalid_french_postal_codes_refused(code):
    """A4: French postal codes are 5 digits, departments 01-95 or 97x/98x."""
    assert errors_of(["1 rue X"], code, "Paris") == {
        "postal_code": {"address.postal_code_invalid"}
    }


@pytest.mark.parametrize("code", ["7５0０1", "7٥٠٠١", "974٠٠"])
def test_postal_code_with_non_ascii_digits_refused(code):
    """A4: a French postal code is five ASCII digits, not look-alike digits."""
    assert errors_of(["1 rue X"], code, "Paris") == {
        "postal_code": {"address.postal_code_invalid"}
    }


@given(metropolitan_postal_codes())
def test_metropolitan_postal_codes_accepted(code):
    """A4: every metropolitan department 01-95 has valid five-digit codes."""
    assert PostalAddress.parse(["1 rue X"], code, "Ville").postal_code == code


@given(overseas_postal_codes())
def test_overseas_postal_codes_accepted(code):
    """A4: the 97x and 98x codes of La Poste's overseas territories are accepted."""
    assert PostalAddress.parse(["1 rue X"], code, "Ville").postal_code == code


@given(
    st.one_of(metropolitan_postal_codes(), overseas_postal_codes()),
    st.sampled_from(sorted(FRENCH_POSTAL_COUNTRIES - {"FR"})),
)
def test_code_of_another_territory_refused(code, country):
    """A4: a La Poste code given with another territory than its own is refused."""
    own = OVERSEAS_CODES.get(code) or OVERSEAS_PREFIXES.get(code[:3], "FR")
    address, error = outcome(PostalAddress.parse, ["1 rue X"], code, "Ville", country)
    if own == country:
        assert address is not None
    else:
        assert error is not None
        assert error.codes == {"address.postal_code_invalid"}


# --- Lines: number and length ---------------------------------------------------


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
    error = raised(["a", "b", "c", "d"], "1000", "Bruxelles", "BE")
    assert [(e.path, e.code, e.params) for e in error.errors] == [
        ("street_lines", "address.too_many_lines", {"max": 3})
    ]


def test_a_refused_line_counts_as_a_line_abroad():
    """A4, F8: four typed lines abroad are too many even if one is also invalid."""
    assert errors_of(["a", "b", "c", "\x07"], "1000", "Bruxelles", "BE") == {
        "street_lines": {"address.too_many_lines"},
        "street_lines[3]": {"text.control_character"},
    }


def test_blank_street_lines_dropped():
    """A4: empty lines of a form are ignored rather than printed."""
    address = PostalAddress.parse(["", "  12  rue   des Lilas ", " "], "75011", "Paris")
    assert address.street_lines == ("12 rue des Lilas",)


def test_a_blank_fourth_entry_abroad_accepted():
    """A4: a form with four street fields may leave one blank for an address abroad."""
    address = PostalAddress.parse(["a", "b", "c", ""], "1000", "Bruxelles", "BE")
    assert address.street_lines == ("a", "b", "c")


def test_blank_entries_count_towards_the_entry_limit():
    """F9: more than four entries are refused before any is read, blank or not."""
    assert errors_of(["a", "", "", "", "b"], "75001", "Paris") == {
        "street_lines": {"address.too_many_lines"}
    }


@pytest.mark.parametrize(
    ("street", "path"),
    [([], "street_lines"), (["", " "], "street_lines")],
)
def test_at_least_one_street_line(street, path):
    """A4: an address needs a street line."""
    assert errors_of(street, "75001", "Paris") == {path: {"required"}}


@pytest.mark.parametrize(
    ("street_size", "city_size", "path"),
    [
        (39, 5, "street_lines[1]"),
        (TEN_MB, 5, "street_lines[1]"),
        (7, 39, "city"),
        (7, TEN_MB, "city"),
        (7, 33, "city"),  # "75001 " + 33 = 39
    ],
)
def test_every_too_long_line_has_one_code(street_size, city_size, path):
    """A4: a line over 38 characters is ``address.line_too_long``, whichever line.

    Street lines, the city and the ``postal code CITY`` line alike, with the
    maximum as a parameter and the path on the field.
    """
    error = raised(["1 rue X", "x" * street_size], "75001", "x" * city_size)
    assert [(e.path, e.code, e.params) for e in error.errors] == [
        (path, "address.line_too_long", {"max": LINE_LENGTH})
    ]
    assert "38" in error.errors[0].message()


def test_city_line_of_38_characters_accepted():
    """A4: ``CODE CITY`` of exactly 38 characters fits."""
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
        "street_lines[1]": {"address.line_too_long"},
        "street_lines[2]": {"text.control_character"},
        "postal_code": {"address.postal_code_invalid"},
        "city": {"required"},
        "country": {"address.country_invalid"},
    }


def test_errors_in_form_order():
    """F8: errors come in the order of the form's fields, country last."""
    error = raised(["y" * 39], "96000", "", "ZZ")
    assert [e.path for e in error.errors] == [
        "street_lines[0]",
        "postal_code",
        "city",
        "country",
    ]


def test_city_line_error_reported_with_other_errors():
    """F8, A4: a too-long ``CODE CITY`` line is reported along with other errors."""
    assert errors_of(["a", "b", "c", "d", "e"], "75001", "x" * 33) == {
        "street_lines": {"address.too_many_lines"},
        "city": {"address.line_too_long"},
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


# --- Size before work (F9) --------------------------------------------------------


def test_a_hundred_thousand_lines_give_one_error():
    """F9: 100,000 street lines are one ``too_many_lines`` error, none per line."""
    error = raised(["x" * 39] * 100_000, "75001", "Paris")
    assert [(e.path, e.code, e.params) for e in error.errors] == [
        ("street_lines", "address.too_many_lines", {"max": MAX_STREET_LINES})
    ]


def test_too_many_lines_are_not_cleaned(monkeypatch):
    """F9: the number of street lines is checked before any line is cleaned."""
    calls = []

    def counting_clean_text(value, path, *, max_length):
        calls.append(path)
        return clean_text(value, path, max_length=max_length)

    monkeypatch.setattr(address_module, "clean_text", counting_clean_text)
    raised(["1 rue X"] * 100_000, "75001", "Paris")
    assert calls == ["city"]


@pytest.mark.parametrize(
    "field", ["street_lines[0]", "street_lines[3]", "postal_code", "city", "country"]
)
def test_lone_surrogate_is_invalid_unicode(field):
    """F9: a lone surrogate in any field is ``text.invalid_unicode`` on that field."""
    fields = {
        "street_lines": ["1 rue X", "b", "c", "d"],
        "postal_code": "75001",
        "city": "Paris",
        "country": "FR",
    }
    bad = "7\ud800"
    if field.startswith("street_lines"):
        fields["street_lines"][int(field[-2])] = bad
    else:
        fields[field] = bad
    assert errors_of(**fields) == {field: {"text.invalid_unicode"}}


@pytest.mark.parametrize(
    ("field", "filler", "path", "code"),
    [
        ("street_line", "x", "street_lines[0]", "address.line_too_long"),
        ("street_lines", "x", "street_lines", "address.too_many_lines"),
        ("city", "x", "city", "address.line_too_long"),
        ("city", " ", "city", "address.line_too_long"),
        ("postal_code", "7", "postal_code", "address.postal_code_invalid"),
        ("postal_code", " ", "postal_code", "address.postal_code_invalid"),
        ("country", "F", "country", "address.country_invalid"),
        ("country", " ", "country", "address.country_invalid"),
    ],
)
def test_huge_field_costs_no_more_memory_than_a_short_one(field, filler, path, code):
    """F9: a 10 MB field is refused with under 1 MB allocated: it is never copied.

    Likewise 100,000 street lines: the list is neither copied nor walked.
    """
    form: dict[str, object] = {
        "street_lines": ["1 rue X"],
        "postal_code": "75001",
        "city": "Paris",
        "country": "FR",
    }
    if field == "street_line":
        form["street_lines"] = [filler * TEN_MB]
    elif field == "street_lines":
        form["street_lines"] = [filler] * 100_000
    else:
        form[field] = filler * TEN_MB
    assert errors_of(**form) == {path: {code}}
    assert peak_memory_of_parse(*form.values()) < ONE_MB


@given(street_line_lists(), arbitrary_text(), arbitrary_text(), arbitrary_text())
def test_any_street_lines_give_an_address_or_few_errors(street, code, city, country):
    """F9, F8: any list of lines gives an address or a bounded ValidationError.

    Huge lists, huge lines and lone surrogates included; no more lines are
    cleaned than an address can hold, plus the city.
    """
    with mock.patch.object(address_module, "clean_text", wraps=clean_text) as spy:
        address, error = outcome(PostalAddress.parse, street, code, city, country)
    assert spy.call_count <= MAX_STREET_LINES + 1
    if error is not None:
        assert_bounded(error)
    else:
        assert 1 <= len(address.street_lines) <= MAX_STREET_LINES
        assert_fits_the_norm(address.render("X" * 38))


@given(huge_texts(), st.sampled_from(["street", "postal_code", "city", "country"]))
def test_any_huge_field_refused_with_one_error(text, field):
    """F9: a field of a megabyte is refused with one error on that field alone."""
    form = {"street": ["1 rue X"], "postal_code": "75001", "city": "Paris"}
    form["country"] = "FR"
    form[field] = [text] if field == "street" else text
    error = raised(*form.values())
    path = "street_lines[0]" if field == "street" else field
    assert {e.path for e in error.errors} == {path}
    assert len(error.errors) == 1


# --- Properties -------------------------------------------------------------------


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
        assert_bounded(error)
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
    st.sampled_from(["FR", "RE", "BE", "DE", "IO", "MC", "TF"]),
)
def test_any_accepted_address_fits_the_norm(street, code, city, country):
    """A4: whatever was typed, an accepted address prints within the norm."""
    address, error = outcome(PostalAddress.parse, street, code, city, country)
    if error is None:
        assert_fits_the_norm(address.render("X" * 38))
    else:
        assert_bounded(error)
