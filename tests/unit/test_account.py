"""The account aggregate: invoice view, category, newsletter (SPEC A3, C3, F7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from echoppe_accounts import (
    DEFAULT_POLICY,
    Account,
    AddressBook,
    Category,
    ChorusPro,
    ChorusRequirement,
    ConsentSource,
    DeliveryAddress,
    Email,
    Organisation,
    PostalAddress,
    Siret,
    ValidationError,
)
from strategies import address_forms, format_siret, names, sirets

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARIS = PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
LYON = PostalAddress.parse(["3 place Bellecour"], "69002", "Lyon")


def account(
    category: Category = Category.INDIVIDUAL,
    organisation: Organisation | None = None,
    *,
    name: str = "Jean Dupont",
    billing: PostalAddress = PARIS,
    contacts: tuple[str, ...] = ("Marie Curie",),
) -> Account:
    """Return an account with one delivery address per contact name."""
    deliveries = [
        DeliveryAddress(f"d{n}", contact, LYON) for n, contact in enumerate(contacts)
    ]
    return Account(
        id="acc-1",
        email=Email.parse("jean.dupont@exemple.fr"),
        name=name,
        category=category,
        addresses=AddressBook(billing, deliveries),
        created_at=NOW,
        organisation=organisation,
        email_proven_at=NOW,  # a proven mailbox: subscriptions take effect (F7)
    )


def strings_of(view: object) -> list[str]:
    """Return every string an invoice view holds, however deeply."""
    if isinstance(view, str):
        return [view]
    if attrs.has(type(view)):
        return strings_of(attrs.asdict(view, recurse=False))
    if isinstance(view, dict):
        return [s for value in view.values() for s in strings_of(value)]
    if isinstance(view, (list, tuple)):
        return [s for value in view for s in strings_of(value)]
    return []


# --- Invoice view (A3) -------------------------------------------------------


def test_individual_invoice_shows_the_person_and_no_siret():
    """A3: an individual's invoice holds their name and billing address only."""
    view = account().invoice_view()
    assert view.account_id == "acc-1"
    assert view.category is Category.INDIVIDUAL
    assert view.name == "Jean Dupont"
    assert view.billing_lines == ("Jean Dupont", "12 rue des Lilas", "75011 PARIS")
    assert view.siret is None
    assert view.siren is None
    assert view.vat_number is None
    assert view.chorus is None


def test_company_invoice_shows_organisation_siret_and_vat():
    """A3, C4: an organisation's invoice shows its name, formatted SIRET and VAT."""
    org = Organisation("Exemple SA", Siret.parse("73282932000074"))
    view = account(Category.COMPANY, org).invoice_view()
    assert view.name == "Exemple SA"
    assert view.billing_lines[0] == "Exemple SA"
    assert view.siret == "732 829 320 00074"
    assert view.siren == "732829320"
    assert view.vat_number == "FR44732829320"
    assert view.chorus is None


def test_public_body_invoice_shows_chorus_data():
    """A3: a public body's invoice carries its Chorus Pro routing data."""
    chorus = ChorusPro(ChorusRequirement.BOTH, "SERV-01", "EJ-2026-42")
    org = Organisation("Mairie de Lyon", Siret.parse("21690123100011"), chorus)
    view = account(Category.PUBLIC_BODY, org).invoice_view()
    assert view.name == "Mairie de Lyon"
    assert view.siret == "216 901 231 00011"
    assert view.chorus == chorus


def test_invoice_never_shows_the_delivery_contact():
    """A3, F3: the delivery contact name is for the carrier, not the invoice."""
    view = account(contacts=("Marie Curie", "Pierre Curie")).invoice_view()
    assert not any("Curie" in s for s in strings_of(view))


@given(
    category=st.sampled_from(list(Category)),
    name=names(),
    org_name=names(),
    siret=sirets(),
    billing=address_forms(),
    contacts=st.lists(names(), min_size=1, max_size=5),
)
def test_invoice_view_never_contains_a_delivery_contact(
    *, category, name, org_name, siret, billing, contacts
):
    """A3: whatever the names, no delivery contact name reaches the invoice view."""
    organisation = (
        Organisation(org_name, Siret.parse(siret))
        if category.needs_organisation
        else None
    )
    address = PostalAddress.parse(
        billing.street_lines, billing.postal_code, billing.city, billing.country
    )
    legitimate = " | ".join(
        [
            "acc-1",
            category.value,
            name,
            org_name if organisation else "",
            *address.render(org_name if organisation else name),
            siret,
            format_siret(siret),
            "FR",
        ]
    )
    # A contact that happens to read like the billing identity could not be
    # told apart from it; such names are not the point of this test.
    assume(all(contact.casefold() not in legitimate.casefold() for contact in contacts))
    view = account(
        category, organisation, name=name, billing=address, contacts=tuple(contacts)
    ).invoice_view()
    for text in strings_of(view):
        for contact in contacts:
            assert contact not in text
    assert view.name == (org_name if organisation else name)
    assert view.billing_lines[0] == view.name
    if organisation:
        assert view.siret == format_siret(siret)
    else:
        assert view.siret is None


# --- Category (C3, C5) -------------------------------------------------------


def test_offer_follows_the_category():
    """C2: what an account is offered is its category's offer in the policy."""
    assert account().offer(DEFAULT_POLICY) == DEFAULT_POLICY.offer(Category.INDIVIDUAL)


def test_change_to_company_without_organisation_refused():
    """C5: becoming a company re-validates C3; nothing changes when it fails."""
    customer = account()
    with pytest.raises(ValidationError) as info:
        customer.change_category(Category.COMPANY, None)
    assert info.value.codes == {"required"}
    assert {e.path for e in info.value.errors} == {"organisation_name", "siret"}
    assert customer.category is Category.INDIVIDUAL
    assert customer.offer(DEFAULT_POLICY) == DEFAULT_POLICY.offer(Category.INDIVIDUAL)


def test_change_of_category_changes_the_invoice():
    """C5, A3: once a company, the invoice shows the organisation and its SIRET."""
    customer = account()
    org = Organisation("Dupont SARL", Siret.parse("73282932000074"))
    customer.change_category(Category.COMPANY, org)
    view = customer.invoice_view()
    assert view.name == "Dupont SARL"
    assert view.siret == "732 829 320 00074"


# --- Newsletter (F7) ---------------------------------------------------------


def test_newsletter_off_by_default():
    """F7: a new account does not receive the newsletter."""
    assert not account().subscribed


def test_subscription_records_its_proof():
    """F7: a subscription keeps its UTC time, source and wording version."""
    customer = account()
    customer.subscribe(NOW, ConsentSource.ACCOUNT_PAGE, " v3 ")
    assert customer.subscribed
    record = customer.newsletter[-1]
    assert (record.at, record.source, record.wording_version) == (
        NOW,
        ConsentSource.ACCOUNT_PAGE,
        "v3",
    )


@pytest.mark.parametrize("wording", ["", "   "])
def test_subscription_without_wording_refused(wording):
    """F7: consent cannot be recorded without the version of the wording shown."""
    customer = account()
    with pytest.raises(ValidationError) as info:
        customer.subscribe(NOW, ConsentSource.ACCOUNT_PAGE, wording)
    assert info.value.codes == {"consent.wording_required"}
    assert customer.newsletter == []


def test_unsubscribe_recorded_and_history_kept():
    """F7: unsubscribing is always possible, recorded, and the history is kept."""
    customer = account()
    customer.unsubscribe(NOW, ConsentSource.UNSUBSCRIBE_LINK)
    assert not customer.subscribed
    customer.subscribe(NOW + timedelta(days=1), ConsentSource.ACCOUNT_PAGE, "v3")
    customer.unsubscribe(NOW + timedelta(days=2), ConsentSource.UNSUBSCRIBE_LINK)
    assert not customer.subscribed
    assert [r.subscribed for r in customer.newsletter] == [False, True, False]


# --- Identity ----------------------------------------------------------------


def test_accounts_compare_by_id():
    """X2: an account is known by its id (kept when completed), not its fields."""
    first, second = account(), account(name="Autre Nom")
    assert first == second
    assert hash(first) == hash(second)
    assert first != attrs.evolve(first, id="acc-2")


def test_a_subscription_request_and_an_unsubscription_end_the_confirm_link():
    """F7, R8: the account says its confirm link dies; no service must remember."""
    from echoppe_accounts.domain.effects import EndLinks  # noqa: PLC0415
    from echoppe_accounts.domain.tokens import TokenPurpose  # noqa: PLC0415

    customer = attrs.evolve(account(), email_proven_at=None)
    customer.request_subscription(NOW, ConsentSource.ACCOUNT_PAGE, "nl-2")
    confirm = EndLinks.of({TokenPurpose.NEWSLETTER_CONFIRM})
    assert customer.collect_effects() == [confirm]
    customer.unsubscribe(NOW, ConsentSource.ACCOUNT_PAGE)
    assert customer.collect_effects() == [confirm]
    assert customer.pending_subscription is None


def test_a_subscription_that_takes_effect_replaces_a_pending_request():
    """F7, R8: subscribed at once (proven mailbox), the pending request goes."""
    from echoppe_accounts.domain.effects import EndLinks  # noqa: PLC0415
    from echoppe_accounts.domain.tokens import TokenPurpose  # noqa: PLC0415

    customer = attrs.evolve(account(), email_proven_at=None)
    customer.request_subscription(NOW, ConsentSource.ACCOUNT_PAGE, "nl-1")
    customer.collect_effects()
    customer.email_proven_at = NOW  # a link to the address was followed since
    assert customer.subscribe(NOW, ConsentSource.ACCOUNT_PAGE, "nl-2")
    assert customer.pending_subscription is None
    assert customer.collect_effects() == [
        EndLinks.of({TokenPurpose.NEWSLETTER_CONFIRM})
    ]
    assert customer.subscribed


def test_a_subscription_without_a_pending_request_ends_no_link():
    """F7: nothing pending, nothing to end."""
    customer = account()
    assert customer.subscribe(NOW, ConsentSource.ACCOUNT_PAGE, "nl-2")
    assert customer.collect_effects() == []
