"""The customer account aggregate.

An :class:`Account` holds the customer's identity and contact, the category
and its organisation data, the address book, the newsletter consent history
and the password hash. Its methods keep the rules of SPEC C3/C5, A1–A5 and
F7; storage and mail are the service layer's business.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from echoppe_accounts.domain.addressbook import AddressBook
from echoppe_accounts.domain.category import (
    Category,
    CategoryPolicy,
    ChorusPro,
    Offer,
    Organisation,
)
from echoppe_accounts.domain.consent import ConsentRecord, ConsentSource
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import Collector, Language, ValidationError
from echoppe_accounts.domain.phone import Phone

NAME_LENGTH = 38
"""Longest customer name: it is the first line of an individual's invoice."""


class AccountStatus(enum.StrEnum):
    """Where an account stands.

    .. versionadded:: 0.1.0
    """

    EXPRESS = "express"
    """Created at checkout, with no password yet and the mailbox unproven (SPEC X2)."""
    ACTIVE = "active"
    """Complete, so the customer can log in."""


def check_category_fields(
    category: Category, organisation: Organisation | None, errors: Collector
) -> None:
    """Record what *category* requires of *organisation* (SPEC C3, C5)."""
    if category.needs_organisation:
        if organisation is None:
            errors.add("organisation_name", "required")
            errors.add("siret", "required")
        elif category is not Category.PUBLIC_BODY and organisation.chorus is not None:
            errors.add("chorus", "chorus.not_public_body")
    elif organisation is not None:
        errors.add("organisation_name", "not_allowed")
        errors.add("siret", "not_allowed")


@attrs.frozen
class InvoiceView:
    """What an invoice shows of an account (SPEC A3).

    It holds the organisation or person name, the billing address, the SIRET
    and the Chorus Pro data, and never a delivery contact name.

    .. versionadded:: 0.1.0
    """

    account_id: str
    category: Category
    name: str
    billing_lines: tuple[str, ...]
    siret: str | None
    siren: str | None
    vat_number: str | None
    chorus: ChorusPro | None


@attrs.define(eq=False)
class Account:
    """A customer account; two accounts are equal when their ids are.

    .. versionadded:: 0.1.0
    """

    id: str
    email: Email
    name: str
    category: Category
    addresses: AddressBook
    created_at: datetime
    status: AccountStatus = AccountStatus.ACTIVE
    phone: Phone | None = None
    organisation: Organisation | None = None
    password_hash: str | None = attrs.field(default=None, repr=False)
    language: Language = "fr"
    newsletter: list[ConsentRecord] = attrs.field(factory=list)
    email_proven_at: datetime | None = None
    version: int = 0
    """Bumped by storage on each save; guards against lost updates."""

    def __eq__(self, other: object) -> bool:
        """Compare by id."""
        return isinstance(other, Account) and other.id == self.id

    def __hash__(self) -> int:
        """Hash by id."""
        return hash(self.id)

    @property
    def is_express(self) -> bool:
        """Whether the account was created at checkout and not yet completed."""
        return self.status is AccountStatus.EXPRESS

    @property
    def subscribed(self) -> bool:
        """Whether the customer currently receives the newsletter (off by default)."""
        return bool(self.newsletter) and self.newsletter[-1].subscribed

    def offer(self, policy: CategoryPolicy) -> Offer:
        """Return the payment methods and delivery modes offered (SPEC C2)."""
        return policy.offer(self.category)

    def change_category(
        self, category: Category, organisation: Organisation | None
    ) -> None:
        """Move to *category*, re-validated against SPEC C3 (SPEC C5)."""
        errors = Collector()
        check_category_fields(category, organisation, errors)
        errors.raise_if_any()
        self.category = category
        self.organisation = organisation

    def subscribe(
        self, at: datetime, source: ConsentSource, wording_version: str
    ) -> None:
        """Record a newsletter subscription with its proof (SPEC F7)."""
        if not wording_version.strip():
            raise ValidationError.single("wording_version", "consent.wording_required")
        self.newsletter.append(
            ConsentRecord(
                subscribed=True,
                at=at,
                source=source,
                wording_version=wording_version.strip(),
            )
        )

    def unsubscribe(self, at: datetime, source: ConsentSource) -> None:
        """Record an unsubscription; always possible, always recorded (SPEC F7)."""
        self.newsletter.append(ConsentRecord(subscribed=False, at=at, source=source))

    def invoice_view(self) -> InvoiceView:
        """Return the account as an invoice shows it (SPEC A3)."""
        org = self.organisation
        name = org.name if org is not None else self.name
        return InvoiceView(
            account_id=self.id,
            category=self.category,
            name=name,
            billing_lines=self.addresses.billing.render(name),
            siret=org.siret.formatted if org else None,
            siren=org.siret.siren if org else None,
            vat_number=org.siret.vat_number if org else None,
            chorus=org.chorus if org else None,
        )
