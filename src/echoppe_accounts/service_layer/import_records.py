"""A customer as another shop kept it, before any validation (SPEC M1, M2).

Every source of an import (a CSV file, a PrestaShop database) reads its
customers into :class:`ImportedCustomer` records: raw text as the old shop
stored it, nothing checked, nothing dropped. The importer validates a
record as the sign-up form is validated, makes an account of it (complete,
or to complete at the next login when the old shop never asked for what
SPEC requires) and reports every change it made on the way.

>>> home = ImportedAddress(
...     ref="7",
...     first_name="Marie",
...     last_name="Curie",
...     address1="12 rue des Lilas",
...     postal_code="75011",
...     city="Paris",
... )
>>> customer = ImportedCustomer(
...     ref="42", email="marie@exemple.fr", first_name="Marie", last_name="Curie",
...     addresses=(home,), billing_ref="7",
... )
>>> customer.name, customer.billing.city
('Marie Curie', 'Paris')

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["ImportedAddress", "ImportedCustomer"]


def _full_name(first: str, last: str) -> str:
    return " ".join(part for part in (first.strip(), last.strip()) if part)


@attrs.frozen
class ImportedAddress:
    """One address of an old shop's customer, as the shop stored it.

    Attributes:
        ref: The old shop's id of the address (``id_address``), for the report.
        first_name: The contact's first name (the person to hand parcels to).
        last_name: The contact's last name.
        company: The company written on the address, if any.
        address1: The street line (AFNOR line 4: number and street).
        address2: The complement (building, staircase, lieu-dit…), if any.
        postal_code: The postal code.
        city: The city.
        country: ISO 3166-1 alpha-2 code of the country (``FR`` if empty).
        phone: A landline phone written on the address.
        mobile: A mobile phone written on the address.
        alias: The name the customer gave the address ("Maison", "Bureau").
        updated_at: When the old shop last changed it, timezone-aware (the
            newest is the billing address when no order names one).

    .. versionadded:: 0.2.0
    """

    ref: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address1: str = ""
    address2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    phone: str = ""
    mobile: str = ""
    alias: str = ""
    updated_at: datetime | None = None

    @property
    def contact_name(self) -> str:
        """The contact's full name, first name first."""
        return _full_name(self.first_name, self.last_name)


@attrs.frozen
class ImportedCustomer:
    """A customer of an old shop, as the shop stored it (SPEC M1, M2).

    Attributes:
        ref: The old shop's id of the customer (``id_customer``), or the
            file's line number, for the report.
        email: The login email.
        first_name: First name.
        last_name: Last name.
        company: Company name; a customer with one is a business.
        siret: SIRET (14 digits) or SIREN (9 digits) as typed.
        ape: APE (NAF) code as typed.
        phone: A phone the customer gave outside any address.
        password_hash: The old shop's password hash (bcrypt ``$2y$``,
            phpass ``$P$``; others are not kept).
        language: The language's ISO 639-1 code (``fr``, ``en``, ``de``…).
        created_at: When the account was created in the old shop,
            timezone-aware (a source converts the old shop's local times).
        newsletter: Whether the customer subscribed to the newsletter.
        newsletter_at: When the subscription was recorded, timezone-aware.
        optin: Whether the customer accepted partners' offers (reported,
            never acted on: the shop decides).
        active: ``False`` for an account the old shop disabled.
        guest: A guest checkout: an express account, never mailed unless
            the shop asks.
        addresses: Every address, in the old shop's order.
        billing_ref: The :attr:`ImportedAddress.ref` of the billing address
            (the last invoiced one); ``None`` to take the newest.
        dropped: Fields the old shop kept that an account has no place for
            (``birthday``, ``gender``…), named in the report.
        category: The customer category as the source names it
            (``particulier``, ``company``…); empty: a company when
            :attr:`company` or :attr:`siret` is given, else an individual.
        chorus_requirement: A public body's Chorus Pro requirement.
        chorus_service_code: A public body's Chorus Pro service code.
        chorus_engagement_number: A public body's engagement number.
        newsletter_wording: The version of the consent wording the
            customer was shown, when the source keeps one per customer.

    .. versionadded:: 0.2.0
    """

    ref: str
    email: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    siret: str = ""
    ape: str = ""
    phone: str = ""
    password_hash: str = attrs.field(default="", repr=False)
    language: str = ""
    created_at: datetime | None = None
    newsletter: bool = False
    newsletter_at: datetime | None = None
    optin: bool = False
    active: bool = True
    guest: bool = False
    addresses: tuple[ImportedAddress, ...] = ()
    billing_ref: str | None = None
    dropped: tuple[str, ...] = ()
    category: str = ""
    chorus_requirement: str = ""
    chorus_service_code: str = ""
    chorus_engagement_number: str = ""
    newsletter_wording: str = ""

    @property
    def name(self) -> str:
        """The customer's full name, first name first."""
        return _full_name(self.first_name, self.last_name)

    @property
    def billing(self) -> ImportedAddress | None:
        """The billing address: the one named, else the newest, else none."""
        if not self.addresses:
            return None
        for address in self.addresses:
            if address.ref == self.billing_ref:
                return address
        dated = [
            (a.updated_at, i) for i, a in enumerate(self.addresses) if a.updated_at
        ]
        if dated:
            return self.addresses[max(dated)[1]]
        return self.addresses[-1]
