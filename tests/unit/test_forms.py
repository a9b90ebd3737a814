"""Validation of the registration form, every error at once (SPEC F1–F8, C3, A1)."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import (
    AddressForm,
    Category,
    ChorusRequirement,
    DeliveryForm,
    Email,
    PasswordPolicy,
    Phone,
    PostalAddress,
    RegistrationForm,
    Siret,
    ValidationError,
    known_codes,
)
from echoppe_accounts.domain.forms import ParsedRegistration, parse_registration
from strategies import (
    PASSPHRASE,
    arbitrary_text,
    outcome,
    registration_forms,
)

PARIS = AddressForm(["12 rue des Lilas"], "75011", "Paris")
LYON = AddressForm(["3 place Bellecour"], "69002", "Lyon")

ORGANISATIONS = {
    Category.INDIVIDUAL: {},
    Category.PROFESSIONAL: {
        "organisation_name": "Cabinet Martin",
        "siret": "732 829 320 00074",
    },
    Category.COMPANY: {
        "organisation_name": "Exemple SA",
        "siret": "732.829.320.00074",
    },
    Category.PUBLIC_BODY: {
        "organisation_name": "Mairie de Lyon",
        "siret": "21690123100011",
        "chorus_requirement": "either",
        "chorus_engagement_number": "EJ-2026-42",
    },
}


def form(category: Category = Category.INDIVIDUAL, **overrides) -> RegistrationForm:
    """Return a valid registration form for *category*, with *overrides*."""
    fields = {
        "category": category.label_fr,
        "email": "Jean.Dupont@Exemple.FR",
        "phone": "06 12 34 56 78",
        "name": "Jean Dupont",
        "password": PASSPHRASE,
        "billing_address": PARIS,
        "delivery_addresses": [DeliveryForm("Marie Curie", LYON, "Bureau")],
        **ORGANISATIONS[category],
        **overrides,
    }
    return RegistrationForm(**fields)


def errors_of(registration: RegistrationForm) -> dict[str, set[str]]:
    """Return ``{path: codes}`` of the ValidationError raised for *registration*."""
    with pytest.raises(ValidationError) as info:
        parse_registration(registration)
    found: dict[str, set[str]] = {}
    for error in info.value.errors:
        found.setdefault(error.path, set()).add(error.code)
    return found


@pytest.mark.parametrize("category", list(Category))
def test_valid_form_of_each_category_parses(category):
    """F1–F6, C3: a complete form of any of the four categories is accepted."""
    parsed = parse_registration(form(category))
    assert parsed.category is category
    assert parsed.email.key == "jean.dupont@exemple.fr"
    assert parsed.phone.e164 == "+33612345678"
    assert parsed.name == "Jean Dupont"
    assert parsed.password == PASSPHRASE
    assert parsed.billing == PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
    assert [(d.contact_name, d.label) for d in parsed.deliveries] == [
        ("Marie Curie", "Bureau")
    ]
    assert parsed.newsletter_wording_version is None
    assert parsed.language == "fr"
    if category.needs_organisation:
        assert parsed.organisation.name == ORGANISATIONS[category]["organisation_name"]
        assert parsed.organisation.siret == Siret.parse(
            ORGANISATIONS[category]["siret"]
        )
    else:
        assert parsed.organisation is None


def test_public_body_keeps_chorus_data():
    """C3: a public body's Chorus Pro routing data is kept with its organisation."""
    chorus = parse_registration(form(Category.PUBLIC_BODY)).organisation.chorus
    assert chorus.requirement is ChorusRequirement.EITHER
    assert chorus.engagement_number == "EJ-2026-42"
    assert chorus.service_code is None


def test_public_body_without_chorus_data():
    """C3: Chorus Pro data is optional for a public body that requires none."""
    registration = form(
        Category.PUBLIC_BODY, chorus_requirement="", chorus_engagement_number=""
    )
    assert parse_registration(registration).organisation.chorus is None


def test_public_body_missing_required_chorus_data():
    """C3, F8: what the entity requires is reported at the field's path."""
    registration = form(
        Category.PUBLIC_BODY, chorus_requirement="both", chorus_engagement_number=""
    )
    assert errors_of(registration) == {
        "chorus.service_code": {"chorus.service_code_required"},
        "chorus.engagement_number": {"chorus.engagement_required"},
    }


@given(registration_forms())
def test_any_valid_form_parses_to_its_values(registration):
    """F1–F6, C3: every valid form is accepted and each value lands in its place."""
    parsed = parse_registration(registration)
    assert parsed.category is Category.parse(registration.category)
    assert parsed.email == Email.parse(registration.email)
    assert parsed.phone == Phone.parse(registration.phone)
    assert len(parsed.deliveries) == len(registration.delivery_addresses)
    for typed, kept in zip(
        registration.delivery_addresses, parsed.deliveries, strict=True
    ):
        assert kept.contact_name == " ".join(typed.contact_name.split())
    if parsed.category.needs_organisation:
        assert parsed.organisation.siret == Siret.parse(registration.siret)
    else:
        assert parsed.organisation is None


def test_many_bad_fields_reported_at_once():
    """F8: one ValidationError lists every bad field, each at its own path."""
    registration = RegistrationForm(
        category="entreprise",
        email="jean.dupont@",
        phone="12",
        name="",
        password="court",
        organisation_name="",
        siret="73282932000079",
        chorus_service_code="SERV-01",
        billing_address=AddressForm(["1 rue X"], "96000", "Paris"),
        delivery_addresses=[
            DeliveryForm("", PARIS),
            DeliveryForm("Marie Curie", AddressForm(["1 rue X"], "75001", "Y", "ZZ")),
        ],
        newsletter=True,
        newsletter_wording_version="",
        language="de",
    )
    assert errors_of(registration) == {
        "email": {"email.invalid"},
        "phone": {"phone.invalid"},
        "name": {"required"},
        "password": {"password.too_short"},
        "organisation_name": {"required"},
        "siret": {"siret.invalid_checksum"},
        "chorus": {"chorus.not_public_body"},
        "billing_address.postal_code": {"address.postal_code_invalid"},
        "delivery_addresses[0].contact_name": {"required"},
        "delivery_addresses[1].address.country": {"address.country_invalid"},
        "newsletter_wording_version": {"consent.wording_required"},
        "language": {"language.invalid"},
    }


def test_empty_form_reports_every_required_field():
    """F8: an empty form names everything missing, not only the first field."""
    assert errors_of(RegistrationForm()) == {
        "category": {"required"},
        "email": {"required"},
        "phone": {"required"},
        "name": {"required"},
        "password": {"required"},
        "billing_address.street_lines": {"required"},
        "billing_address.postal_code": {"required"},
        "billing_address.city": {"required"},
        "delivery_addresses": {"address.delivery_required"},
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("siret", "732 829 320 00074"),
        ("organisation_name", "Dupont SARL"),
        ("chorus_service_code", "SERV-01"),
        ("chorus_engagement_number", "EJ-42"),
    ],
)
def test_individual_with_organisation_fields_refused(field, value):
    """C3: an individual has no organisation name, SIRET nor Chorus Pro data."""
    assert errors_of(form(Category.INDIVIDUAL, **{field: value})) == {
        field: {"not_allowed"}
    }


@pytest.mark.parametrize("category", [Category.COMPANY, Category.PROFESSIONAL])
@pytest.mark.parametrize(
    "chorus",
    [
        {"chorus_service_code": "SERV-01"},
        {"chorus_engagement_number": "EJ-42"},
        {"chorus_service_code": "SERV-01", "chorus_engagement_number": "EJ-42"},
    ],
)
def test_chorus_data_on_a_non_public_body_refused(category, chorus):
    """C3: Chorus Pro routing only applies to public bodies."""
    assert errors_of(form(category, **chorus)) == {"chorus": {"chorus.not_public_body"}}


@pytest.mark.parametrize("category", [Category.COMPANY, Category.PROFESSIONAL])
def test_organisation_fields_required(category):
    """C3: companies and professionals must give an organisation name and SIRET."""
    registration = form(category, organisation_name="  ", siret="")
    assert errors_of(registration) == {
        "organisation_name": {"required"},
        "siret": {"required"},
    }


def test_delivery_address_required():
    """A1, X1: at least one delivery address."""
    assert errors_of(form(delivery_addresses=[])) == {
        "delivery_addresses": {"address.delivery_required"}
    }


def test_fifty_deliveries_accepted_fifty_one_refused():
    """A1: a form may bring 50 delivery addresses, not 51."""
    deliveries = [DeliveryForm(f"Contact {n}", LYON) for n in range(51)]
    parsed = parse_registration(form(delivery_addresses=deliveries[:50]))
    assert len(parsed.deliveries) == 50
    assert errors_of(form(delivery_addresses=deliveries)) == {
        "delivery_addresses": {"address.too_many_deliveries"}
    }


def test_delivery_errors_point_into_the_list():
    """F8: a delivery error names the index and the field within it."""
    deliveries = [
        DeliveryForm("Marie Curie", LYON),
        DeliveryForm("x" * 39, AddressForm(["1 rue X"], "75001", ""), "y" * 41),
    ]
    assert errors_of(form(delivery_addresses=deliveries)) == {
        "delivery_addresses[1].contact_name": {"text.too_long"},
        "delivery_addresses[1].label": {"text.too_long"},
        "delivery_addresses[1].address.city": {"required"},
    }


def test_newsletter_off_unless_ticked():
    """F7: no subscription is recorded unless the box is ticked."""
    assert parse_registration(form()).newsletter_wording_version is None
    ticked = form(newsletter=True, newsletter_wording_version=" v3 ")
    assert parse_registration(ticked).newsletter_wording_version == "v3"


@pytest.mark.parametrize(
    ("typed", "language"), [("", "fr"), ("EN", "en"), ("fr", "fr")]
)
def test_language(typed, language):
    """F8: messages go out in French unless the customer chose English."""
    assert parse_registration(form(language=typed)).language == language


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("", "required"),
        ("jeandupont2024", "password.personal"),  # the email's local part
        ("Jean Dupont !", "password.personal"),  # the name
        ("Exemple SA 2024", "password.personal"),  # the organisation
    ],
)
def test_password_checked_against_the_form(password, code):
    """P2: the password may not be built on the email, name or organisation."""
    assert errors_of(form(Category.COMPANY, password=password)) == {"password": {code}}


def test_shop_policy_applies():
    """P2: the shop's policy (here a 30-character minimum) is the one enforced."""
    with pytest.raises(ValidationError) as info:
        parse_registration(form(), PasswordPolicy(min_length=30))
    assert info.value.codes == {"password.too_short"}


def test_repr_hides_the_password():
    """R9: a form in a log line or traceback does not show the password."""
    assert PASSPHRASE not in repr(form())


# --- Fuzzing -----------------------------------------------------------------

text = arbitrary_text(max_size=40)
address_form_fuzz = st.builds(
    AddressForm,
    street_lines=st.lists(text, max_size=5),
    postal_code=text,
    city=text,
    country=text,
)
delivery_form_fuzz = st.builds(
    DeliveryForm, contact_name=text, address=address_form_fuzz, label=text
)


@given(
    st.builds(
        RegistrationForm,
        category=st.one_of(text, st.sampled_from([c.value for c in Category])),
        email=text,
        phone=text,
        name=text,
        password=text,
        organisation_name=text,
        siret=text,
        chorus_requirement=text,
        chorus_service_code=text,
        chorus_engagement_number=text,
        billing_address=address_form_fuzz,
        delivery_addresses=st.lists(delivery_form_fuzz, max_size=3),
        newsletter=st.booleans(),
        newsletter_wording_version=text,
        language=text,
    )
)
def test_arbitrary_form_raises_only_validation_error(registration):
    """F8: any form is parsed or refused with ValidationError listing known codes."""
    parsed, error = outcome(parse_registration, registration)
    if error is not None:
        assert error.codes <= known_codes()
        assert all(isinstance(e.path, str) for e in error.errors)
    else:
        assert isinstance(parsed, ParsedRegistration)


# Fields whose errors belong to them alone: a bad value there is reported
# there and nowhere else (the password's personal words come from email,
# name and organisation name, so those are not in this list).
LOCAL_FIELDS = {
    "phone": lambda f, v: attrs.evolve(f, phone=v),
    "siret": lambda f, v: attrs.evolve(f, siret=v),
    "language": lambda f, v: attrs.evolve(f, language=v),
    "billing_address": lambda f, v: attrs.evolve(
        f, billing_address=attrs.evolve(f.billing_address, city=v)
    ),
    "delivery_addresses[0]": lambda f, v: attrs.evolve(
        f,
        delivery_addresses=[
            attrs.evolve(f.delivery_addresses[0], contact_name=v),
            *f.delivery_addresses[1:],
        ],
    ),
}


@given(
    registration_forms(Category.COMPANY),
    st.sampled_from(sorted(LOCAL_FIELDS)),
    arbitrary_text(max_size=40),
)
def test_bad_field_reported_at_its_own_path(registration, field, value):
    """F8: replacing one field by junk is either accepted or reported at that field."""
    _, error = outcome(parse_registration, LOCAL_FIELDS[field](registration, value))
    if error is not None:
        assert all(e.path.startswith(field) for e in error.errors), error.errors
