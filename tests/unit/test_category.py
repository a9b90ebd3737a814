"""Customer categories, their offers and their required fields (SPEC C1–C3, C5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given

from echoppe_accounts import (
    DEFAULT_POLICY,
    Account,
    AddressBook,
    Category,
    CategoryPolicy,
    ChorusPro,
    ChorusRequirement,
    DeliveryAddress,
    DeliveryMode,
    Email,
    Offer,
    Organisation,
    PaymentMethod,
    PostalAddress,
    Siret,
    ValidationError,
)
from strategies import arbitrary_text, outcome

PARIS = PostalAddress(("12 rue des Lilas",), "75011", "Paris")


@pytest.mark.parametrize(
    ("value", "category"),
    [
        ("public_body", Category.PUBLIC_BODY),
        ("company", Category.COMPANY),
        ("individual", Category.INDIVIDUAL),
        ("professional", Category.PROFESSIONAL),
        ("collectivité", Category.PUBLIC_BODY),
        ("collectivite", Category.PUBLIC_BODY),
        ("Collectivité", Category.PUBLIC_BODY),
        ("COLLECTIVITE", Category.PUBLIC_BODY),
        ("collectivite\u0301", Category.PUBLIC_BODY),  # decomposed é
        ("entreprise", Category.COMPANY),
        ("Entreprise ", Category.COMPANY),
        ("particulier", Category.INDIVIDUAL),
        ("  PARTICULIER", Category.INDIVIDUAL),
        ("professionnel", Category.PROFESSIONAL),
        ("Professionnel", Category.PROFESSIONAL),
    ],
)
def test_parse_codes_and_french_names(value, category):
    """C1: a category is read from its code or French name, accents optional."""
    assert Category.parse(value) is category


def test_four_categories():
    """C1: exactly four categories exist."""
    assert {c.value for c in Category} == {
        "public_body",
        "company",
        "individual",
        "professional",
    }


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "required"),
        ("  ", "required"),
        ("association", "category.invalid"),
        ("entreprises", "category.invalid"),
        ("particulier professionnel", "category.invalid"),
    ],
)
def test_unknown_category_refused(value, code):
    """C1, F8: anything else is refused with a stable code at ``category``."""
    with pytest.raises(ValidationError) as info:
        Category.parse(value)
    assert info.value.codes == {code}
    assert [e.path for e in info.value.errors] == ["category"]


@given(arbitrary_text())
def test_arbitrary_text_raises_only_validation_error(value):
    """C1, F8: any input is a category or a ValidationError."""
    category, error = outcome(Category.parse, value)
    if error is not None:
        assert error.codes <= {"required", "category.invalid"}
    else:
        assert category in set(Category)


@pytest.mark.parametrize(
    ("category", "needs"),
    [
        (Category.PUBLIC_BODY, True),
        (Category.COMPANY, True),
        (Category.PROFESSIONAL, True),
        (Category.INDIVIDUAL, False),
    ],
)
def test_which_categories_need_an_organisation(category, needs):
    """C3: public bodies, companies and professionals need a name and a SIRET."""
    assert category.needs_organisation is needs


_P = PaymentMethod
_D = DeliveryMode


@pytest.mark.parametrize(
    ("category", "payments", "deliveries"),
    [
        (
            Category.INDIVIDUAL,
            {_P.CARD, _P.BANK_TRANSFER},
            {_D.HOME, _D.RELAY_POINT},
        ),
        (
            Category.PROFESSIONAL,
            {_P.CARD, _P.BANK_TRANSFER},
            {_D.BUSINESS_ADDRESS, _D.HOME, _D.RELAY_POINT},
        ),
        (
            Category.COMPANY,
            {_P.CARD, _P.BANK_TRANSFER, _P.DEFERRED_INVOICE_30},
            {_D.BUSINESS_ADDRESS},
        ),
        (
            Category.PUBLIC_BODY,
            {_P.ADMINISTRATIVE_MANDATE, _P.BANK_TRANSFER},
            {_D.BUSINESS_ADDRESS},
        ),
    ],
)
def test_default_policy_is_the_spec_table(category, payments, deliveries):
    """C2: the default offers are exactly those of the SPEC's table."""
    offer = DEFAULT_POLICY.offer(category)
    assert offer.payment_methods == payments
    assert offer.delivery_modes == deliveries


def test_default_policy_covers_exactly_the_four_categories():
    """C2: the default policy has one offer per category, no more."""
    assert set(DEFAULT_POLICY.offers) == set(Category)


def test_policy_is_replaceable():
    """C2: a shop may replace the offers; the policy then answers with its own."""
    card_home = Offer(frozenset({_P.CARD}), frozenset({_D.HOME}))
    policy = CategoryPolicy({**DEFAULT_POLICY.offers, Category.INDIVIDUAL: card_home})
    assert policy.offer(Category.INDIVIDUAL) == card_home
    assert policy.offer(Category.COMPANY) == DEFAULT_POLICY.offer(Category.COMPANY)


@pytest.mark.parametrize("missing", list(Category))
def test_policy_missing_a_category_refused(missing):
    """C2: a policy that leaves a category without an offer cannot be built."""
    offers = {c: o for c, o in DEFAULT_POLICY.offers.items() if c is not missing}
    with pytest.raises(ValueError, match=missing.value):
        CategoryPolicy(offers)


@pytest.mark.parametrize(
    "offer",
    [
        Offer(frozenset(), frozenset({_D.HOME})),
        Offer(frozenset({_P.CARD}), frozenset()),
    ],
)
def test_policy_with_an_empty_offer_refused(offer):
    """C2: every category must be offered some payment and some delivery."""
    with pytest.raises(ValueError, match="at least one"):
        CategoryPolicy({**DEFAULT_POLICY.offers, Category.COMPANY: offer})


# --- Chorus Pro (C3) --------------------------------------------------------

SATISFIED = [
    ("none", "", ""),
    ("", "", ""),
    ("none", "SERV-01", "EJ-42"),
    ("service", "SERV-01", ""),
    ("service", "SERV-01", "EJ-42"),
    ("engagement", "", "EJ-42"),
    ("engagement", "SERV-01", "EJ-42"),
    ("both", "SERV-01", "EJ-42"),
    ("either", "SERV-01", ""),
    ("either", "", "EJ-42"),
    ("either", "SERV-01", "EJ-42"),
    (" BOTH ", "SERV-01", "EJ-42"),
]


@pytest.mark.parametrize(("requirement", "service", "engagement"), SATISFIED)
def test_chorus_requirement_satisfied(requirement, service, engagement):
    """C3: routing data that meets the entity's requirement is accepted as given."""
    chorus = ChorusPro.parse(requirement, service, engagement)
    assert chorus.requirement == (requirement.strip().lower() or "none")
    assert chorus.service_code == (service or None)
    assert chorus.engagement_number == (engagement or None)


VIOLATED = [
    ("service", "", "EJ-42", {"chorus.service_code": "chorus.service_code_required"}),
    (
        "engagement",
        "SERV-01",
        "",
        {"chorus.engagement_number": "chorus.engagement_required"},
    ),
    ("both", "SERV-01", "", {"chorus.engagement_number": "chorus.engagement_required"}),
    ("both", "", "EJ-42", {"chorus.service_code": "chorus.service_code_required"}),
    (
        "both",
        "",
        "  ",
        {
            "chorus.service_code": "chorus.service_code_required",
            "chorus.engagement_number": "chorus.engagement_required",
        },
    ),
    ("either", "", "", {"chorus": "chorus.service_or_engagement_required"}),
    ("sometimes", "", "", {"chorus.requirement": "chorus.requirement_invalid"}),
    ("none", "S" * 101, "", {"chorus.service_code": "text.too_long"}),
    ("none", "", "E" * 51, {"chorus.engagement_number": "text.too_long"}),
]


@pytest.mark.parametrize(("requirement", "service", "engagement", "expected"), VIOLATED)
def test_chorus_requirement_violated(requirement, service, engagement, expected):
    """C3, F8: each missing routing field is reported at its own path."""
    with pytest.raises(ValidationError) as info:
        ChorusPro.parse(requirement, service, engagement)
    assert {e.path: e.code for e in info.value.errors} == expected


def test_chorus_empty_when_nothing_required_nor_given():
    """C3: no requirement and no data is the empty routing."""
    assert ChorusPro.parse("", "", "").is_empty
    assert not ChorusPro.parse("none", "S", "").is_empty
    assert not ChorusPro.parse("either", "", "E").is_empty


def test_chorus_requirement_values():
    """C3: the four requirement cases of the SPEC, plus none."""
    assert {r.value for r in ChorusRequirement} == {
        "none",
        "service",
        "engagement",
        "both",
        "either",
    }


# --- Changing category (C5) -------------------------------------------------


def individual() -> Account:
    """Return an individual's account."""
    return Account(
        id="acc-1",
        email=Email.parse("jean.dupont@exemple.fr"),
        name="Jean Dupont",
        category=Category.INDIVIDUAL,
        addresses=AddressBook(PARIS, [DeliveryAddress("d1", "Jean Dupont", PARIS)]),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_individual_to_company_without_organisation_refused():
    """C5: an individual who becomes a company must supply a name and a SIRET."""
    account = individual()
    with pytest.raises(ValidationError) as info:
        account.change_category(Category.COMPANY, None)
    assert {(e.path, e.code) for e in info.value.errors} == {
        ("organisation_name", "required"),
        ("siret", "required"),
    }
    assert account.category is Category.INDIVIDUAL
    assert account.organisation is None


def test_individual_to_company_with_organisation_accepted():
    """C5: with its organisation the change is made."""
    account = individual()
    org = Organisation("Dupont SARL", Siret.parse("73282932000074"))
    account.change_category(Category.COMPANY, org)
    assert account.category is Category.COMPANY
    assert account.organisation == org
    assert account.offer(DEFAULT_POLICY) == DEFAULT_POLICY.offer(Category.COMPANY)


def test_company_to_individual_must_drop_the_organisation():
    """C5, C3: an individual has no organisation name nor SIRET."""
    account = individual()
    org = Organisation("Dupont SARL", Siret.parse("73282932000074"))
    account.change_category(Category.COMPANY, org)
    with pytest.raises(ValidationError) as info:
        account.change_category(Category.INDIVIDUAL, org)
    assert info.value.codes == {"not_allowed"}
    assert account.category is Category.COMPANY
    account.change_category(Category.INDIVIDUAL, None)
    assert account.category is Category.INDIVIDUAL
    assert account.organisation is None


@pytest.mark.parametrize("category", [Category.COMPANY, Category.PROFESSIONAL])
def test_chorus_data_only_for_public_bodies(category):
    """C3, C5: Chorus Pro routing is refused for a company or a professional."""
    account = individual()
    chorus = ChorusPro(ChorusRequirement.SERVICE, "SERV-01")
    org = Organisation("Mairie", Siret.parse("73282932000074"), chorus)
    with pytest.raises(ValidationError) as info:
        account.change_category(category, org)
    assert info.value.codes == {"chorus.not_public_body"}
    account.change_category(Category.PUBLIC_BODY, org)
    assert account.organisation.chorus == chorus
