"""Address book, category changes and the invoice view, on every storage adapter."""

from __future__ import annotations

import pytest

from echoppe_accounts import (
    MAX_DELIVERY_ADDRESSES,
    AddressForm,
    Category,
    ConsentSource,
    DeliveryForm,
    DeliveryMode,
    OrganisationForm,
    PaymentMethod,
    ValidationError,
)
from sample_forms import LYON, ORGANISATIONS, PARIS, form

MARSEILLE = AddressForm(["7 quai du Port"], "13002", "Marseille")


def test_fifty_deliveries_then_an_explicit_error(service):
    """The 51st delivery address is refused, never silently dropped (A1)."""
    account = service.register(form())
    for i in range(MAX_DELIVERY_ADDRESSES - 1):
        service.add_delivery_address(account.id, DeliveryForm(f"Contact {i}", LYON))
    with pytest.raises(ValidationError) as info:
        service.add_delivery_address(account.id, DeliveryForm("Contact 51", LYON))
    assert info.value.codes == {"address.too_many_deliveries"}
    names = [d.contact_name for d in service.get(account.id).addresses.deliveries]
    assert len(names) == MAX_DELIVERY_ADDRESSES
    assert "Contact 51" not in names


def test_a_separate_billing_address_is_refused(service):
    """A delivery address cannot bring a billing address of its own (A2)."""
    account = service.register(form())
    with pytest.raises(ValidationError) as info:
        service.add_delivery_address(
            account.id, DeliveryForm("Pierre", MARSEILLE), billing_address=MARSEILLE
        )
    assert info.value.codes == {"address.separate_billing"}
    assert len(service.get(account.id).addresses.deliveries) == 1
    same = service.add_delivery_address(
        account.id, DeliveryForm("Pierre", MARSEILLE), billing_address=PARIS
    )
    assert service.get(account.id).addresses.delivery(same.id).contact_name == "Pierre"


def test_changing_the_billing_address_changes_it_for_all(service):
    """Every delivery address shares the one billing address (A2)."""
    account = service.register(form())
    service.add_delivery_address(account.id, DeliveryForm("Pierre", MARSEILLE))
    service.change_billing_address(account.id, MARSEILLE)
    stored = service.get(account.id)
    assert stored.addresses.billing.city == "Marseille"
    assert service.invoice_view(account.id).billing_lines[-1] == "13002 MARSEILLE"


def test_last_delivery_address_cannot_be_removed(service):
    """Removing the last delivery address is refused (A5)."""
    account = service.register(form())
    extra = service.add_delivery_address(account.id, DeliveryForm("Pierre", MARSEILLE))
    first = account.addresses.deliveries[0]
    service.remove_delivery_address(account.id, first.id)
    with pytest.raises(ValidationError) as info:
        service.remove_delivery_address(account.id, extra.id)
    assert info.value.codes == {"address.last_delivery"}
    assert [d.id for d in service.get(account.id).addresses.deliveries] == [extra.id]


def test_update_a_delivery_address(service):
    """A delivery address can be corrected in place, keeping its id."""
    account = service.register(form())
    first = account.addresses.deliveries[0]
    service.update_delivery_address(
        account.id, first.id, DeliveryForm("Irène", MARSEILLE)
    )
    (updated,) = service.get(account.id).addresses.deliveries
    assert (updated.id, updated.contact_name) == (first.id, "Irène")
    with pytest.raises(ValidationError) as info:
        service.update_delivery_address(account.id, "unknown", DeliveryForm("X", PARIS))
    assert info.value.codes == {"address.unknown_delivery"}


@pytest.mark.parametrize("category", list(Category))
def test_invoice_view_never_shows_a_contact_name(service, category):
    """The invoice shows billing identity, never a delivery contact name (A3)."""
    account = service.register(form(category, **ORGANISATIONS[category]))
    service.add_delivery_address(account.id, DeliveryForm("Gaston Lagaffe", MARSEILLE))
    view = service.invoice_view(account.id)
    rendered = repr(view)
    assert "Marie Curie" not in rendered
    assert "Gaston Lagaffe" not in rendered
    if category is Category.INDIVIDUAL:
        assert view.name == "Jean Dupont"
        assert view.siret is None
    else:
        assert view.siret is not None
        assert view.vat_number.startswith("FR")
        assert view.billing_lines[0] == view.name


def test_category_change_is_revalidated(service):
    """An individual who becomes a company must give a SIRET (C5)."""
    account = service.register(form())
    with pytest.raises(ValidationError) as info:
        service.change_category(account.id, "entreprise", OrganisationForm())
    assert {e.path for e in info.value.errors} == {"organisation_name", "siret"}
    assert service.get(account.id).category is Category.INDIVIDUAL
    assert (
        PaymentMethod.DEFERRED_INVOICE_30
        not in service.offer(account.id).payment_methods
    )
    service.change_category(
        account.id, "company", OrganisationForm("Exemple SA", "732 829 320 00074")
    )
    offer = service.offer(account.id)
    assert PaymentMethod.DEFERRED_INVOICE_30 in offer.payment_methods
    assert offer.delivery_modes == {DeliveryMode.BUSINESS_ADDRESS}
    service.change_category(account.id, "particulier", OrganisationForm())
    assert service.get(account.id).organisation is None


def test_subscribe_later_from_the_account_page(service):
    """A customer may subscribe later; the proof is recorded (F7)."""
    account = service.register(form())
    service.subscribe_newsletter(
        account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-2026-02"
    )
    # Amended F7: the mailbox is not proven yet, a confirm link goes first.
    assert not service.get(account.id).subscribed
    assert service.get(account.id).pending_subscription.wording_version == (
        "nl-2026-02"
    )
    with pytest.raises(ValidationError):
        service.subscribe_newsletter(
            account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="  "
        )


def test_language_of_mails(service):
    """The customer's language is kept and an unknown one refused."""
    account = service.register(form())
    service.set_language(account.id, "en")
    assert service.get(account.id).language == "en"
    with pytest.raises(ValidationError):
        service.set_language(account.id, "de")
