"""The address book, the contact, the category: reading and correcting an account.

SPEC A1–A5, C5, G4: every correction is validated as at sign-up and
reported all at once (F8). An imported account without addresses is
refused the address book's operations (``address.to_complete``) until it
is completed (SPEC M1).
"""

from __future__ import annotations

from echoppe_accounts.domain.account import NAME_LENGTH, Account, InvoiceView
from echoppe_accounts.domain.addressbook import DeliveryAddress
from echoppe_accounts.domain.category import Category, Offer
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import Collector, Language
from echoppe_accounts.domain.events import EventType
from echoppe_accounts.domain.forms import (
    AddressForm,
    DeliveryForm,
    OrganisationForm,
    attempt,
    parse_address,
    parse_delivery,
    parse_language,
    parse_organisation,
    parse_text,
    phone_hint,
)
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.service_layer._ports import (
    Ports,
    live_by_email,
    open_account,
    record_event,
    save,
)


def get(ports: Ports, account_id: str) -> Account:
    """Return the account *account_id*, erased or not."""
    with open_account(ports, account_id, erased=True) as (_, account):
        return account


def find_by_email(ports: Ports, email: str) -> Account | None:
    """Return the account holding *email*, or ``None`` (staff look-ups)."""
    key = Email.parse(email).key
    with ports.uow() as uow:
        return live_by_email(uow, key, ports.clock.now())


def invoice_view(ports: Ports, account_id: str) -> InvoiceView:
    """Return what an invoice shows of the account (SPEC A3)."""
    return get(ports, account_id).invoice_view()


def offer(ports: Ports, account_id: str) -> Offer:
    """Return the payment methods and delivery modes offered (SPEC C2)."""
    return get(ports, account_id).offer(ports.settings.category_policy)


def add_delivery_address(
    ports: Ports,
    account_id: str,
    form: DeliveryForm,
    billing_address: AddressForm | None,
) -> DeliveryAddress:
    """Add a delivery address sharing the billing address (SPEC A1, A2)."""
    errors = Collector()
    parsed = parse_delivery(form, "delivery_address", errors)
    billing = (
        parse_address(billing_address, "billing_address", errors)
        if billing_address is not None
        else None
    )
    errors.raise_if_any()
    assert parsed is not None  # noqa: S101 (raised above)
    with open_account(ports, account_id) as (uow, account):
        book = account.address_book()  # address.to_complete without one (M1)
        book.check_shared_billing(billing)
        delivery = DeliveryAddress(
            ports.new_id(), parsed.contact_name, parsed.address, parsed.label
        )
        book.add_delivery(delivery)
        save(ports, uow, account)
        uow.commit()
    return delivery


def update_delivery_address(
    ports: Ports, account_id: str, delivery_id: str, form: DeliveryForm
) -> DeliveryAddress:
    """Replace the contact, address and label of one delivery address."""
    errors = Collector()
    parsed = parse_delivery(form, "delivery_address", errors)
    errors.raise_if_any()
    assert parsed is not None  # noqa: S101 (raised above)
    delivery = DeliveryAddress(
        delivery_id, parsed.contact_name, parsed.address, parsed.label
    )
    with open_account(ports, account_id) as (uow, account):
        account.address_book().replace_delivery(delivery)
        save(ports, uow, account)
        uow.commit()
    return delivery


def remove_delivery_address(ports: Ports, account_id: str, delivery_id: str) -> None:
    """Remove a delivery address; the last one is refused (SPEC A5)."""
    with open_account(ports, account_id) as (uow, account):
        account.address_book().remove_delivery(delivery_id)
        save(ports, uow, account)
        uow.commit()


def change_billing_address(ports: Ports, account_id: str, form: AddressForm) -> None:
    """Change the billing address, for every delivery address (SPEC A2)."""
    errors = Collector()
    billing = parse_address(form, "billing_address", errors)
    errors.raise_if_any()
    assert billing is not None  # noqa: S101 (raised above)
    with open_account(ports, account_id) as (uow, account):
        account.change_billing_address(billing)
        save(ports, uow, account)
        uow.commit()


def change_category(
    ports: Ports, account_id: str, category: str, organisation: OrganisationForm
) -> None:
    """Move the account to another category, re-validated (SPEC C5)."""
    errors = Collector()
    parsed = attempt(errors, "", lambda: Category.parse(category))
    org = parse_organisation(parsed, organisation, errors)
    errors.raise_if_any()
    assert parsed is not None  # noqa: S101 (raised above)
    with open_account(ports, account_id) as (uow, account):
        before = account.category
        account.change_category(parsed, org)
        save(ports, uow, account)
        if parsed is not before:
            record_event(
                ports,
                uow,
                EventType.CATEGORY_CHANGED,
                account.id,
                category=parsed.value,
            )
        uow.commit()


def update_contact(
    ports: Ports, account_id: str, *, name: str | None, phone: str | None
) -> None:
    """Correct the name or phone, validated as at sign-up (SPEC G4)."""
    errors = Collector()
    new_name = (
        parse_text(name, "name", NAME_LENGTH, errors) if name is not None else None
    )
    with open_account(ports, account_id) as (uow, account):
        # The phone is read in the account's territory (SPEC F2).
        book = account.addresses
        hint = phone_hint(book.billing if book is not None else None)
        new_phone = (
            attempt(errors, "", lambda: Phone.parse(phone, hint=hint))
            if phone is not None
            else None
        )
        errors.raise_if_any()
        account.update_contact(new_name, new_phone)
        save(ports, uow, account)
        uow.commit()


def set_language(ports: Ports, account_id: str, language: Language) -> None:
    """Choose the language of the customer's mails."""
    errors = Collector()
    parsed = parse_language(language, errors)
    errors.raise_if_any()
    with open_account(ports, account_id) as (uow, account):
        account.set_language(parsed)
        save(ports, uow, account)
        uow.commit()
