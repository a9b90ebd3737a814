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

from echoppe_accounts.domain.addressbook import AddressBook, DeliveryAddress
from echoppe_accounts.domain.category import (
    Category,
    CategoryPolicy,
    ChorusPro,
    Offer,
    Organisation,
)
from echoppe_accounts.domain.consent import (
    ConsentRecord,
    ConsentSource,
    PendingSubscription,
)
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import Collector, Language, ValidationError
from echoppe_accounts.domain.phone import Phone

NAME_LENGTH = 38
"""Longest customer name: it is the first line of an individual's invoice."""


class AccountStatus(enum.StrEnum):
    """Where an account stands.

    .. versionadded:: 0.2.0
    """

    EXPRESS = "express"
    """Created at checkout, with no password yet and the mailbox unproven (SPEC X2)."""
    ACTIVE = "active"
    """Complete, so the customer can log in."""
    ERASED = "erased"
    """Erased at the customer's request (SPEC G3), keeping only invoice data."""
    UNVERIFIED = "unverified"
    """Registered with verified sign-up on, its mailbox not yet proven (SPEC X5).

    It cannot log in until the link of its verification mail is followed.

    .. versionadded:: 0.2.0
    """


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
class Credentials:
    """What a login reads of an account: one row, without its addresses.

    Read by :meth:`~echoppe_accounts.ports.AccountRepository.credentials`.
    A login runs between two password-hash passes that leave every cache
    cold, so it reads no more than it needs.

    Attributes:
        account_id: The account's id.
        password_hash: Its password hash, ``None`` for an express account.
        status: Its status (erased, unverified…).
        session_stamp: Its current session stamp (SPEC P6).

    .. versionadded:: 0.2.0
    """

    account_id: str
    password_hash: str | None = attrs.field(repr=False)
    status: AccountStatus
    session_stamp: str

    @property
    def is_erased(self) -> bool:
        """Whether the account was erased (SPEC G3)."""
        return self.status is AccountStatus.ERASED


@attrs.frozen
class InvoiceView:
    """What an invoice shows of an account (SPEC A3).

    It holds the organisation or person name, the billing address, the SIRET
    and the Chorus Pro data, and never a delivery contact name.

    .. versionadded:: 0.2.0
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

    .. versionadded:: 0.2.0
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
    analytics_opt_out: bool = False
    """The customer refuses audience measurement on this account (SPEC N3)."""
    pending_subscription: PendingSubscription | None = None
    """A double opt-in subscription awaiting confirmation (SPEC F7)."""
    erased_at: datetime | None = None
    """When the account was erased (SPEC G3)."""
    session_stamp: str = attrs.field(default="", repr=False)
    """Changes whenever the password, the email or the status changes (SPEC P6).

    A shop keeps the stamp :meth:`~echoppe_accounts.AuthService.login`
    returned in its session, and ends the session once
    :meth:`~echoppe_accounts.AuthService.is_session_current` says it is no
    longer the account's.

    .. versionadded:: 0.2.0
    """
    pending_email: Email | None = None
    """A new address waiting for its mailbox to be proven (SPEC F10).

    .. versionadded:: 0.2.0
    """
    pending_email_at: datetime | None = None
    """When the change to :attr:`pending_email` was asked for (SPEC F10).

    .. versionadded:: 0.2.0
    """
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

    def request_subscription(
        self, at: datetime, source: ConsentSource, wording_version: str
    ) -> None:
        """Start a double opt-in subscription; it counts once confirmed (SPEC F7)."""
        if not wording_version.strip():
            raise ValidationError.single("wording_version", "consent.wording_required")
        self.pending_subscription = PendingSubscription(
            at, source, wording_version.strip()
        )

    def confirm_subscription(self, at: datetime) -> None:
        """Record the pending subscription, with its request and confirmation times."""
        pending = self.pending_subscription
        if pending is None:
            raise ValidationError.single("token", "token.invalid")
        self.newsletter.append(
            ConsentRecord(
                subscribed=True,
                at=pending.at,
                source=pending.source,
                wording_version=pending.wording_version,
                confirmed_at=at,
            )
        )
        self.pending_subscription = None

    def erase(self, at: datetime) -> None:
        """Forget everything but what invoices must keep for 10 years (SPEC G3).

        The billing identity (name, organisation, SIRET, Chorus Pro data) and
        the billing address stay; email, phone, password, delivery contacts,
        newsletter history and preferences go. The email is freed for a new
        registration, and the account can no longer log in.
        """
        self.email = Email(f"erased-{self.id}@invalid", f"erased:{self.id}")
        self.phone = None
        self.password_hash = None
        self.status = AccountStatus.ERASED
        self.newsletter = []
        self.pending_subscription = None
        self.analytics_opt_out = True
        self.email_proven_at = None
        self.pending_email = None
        self.pending_email_at = None
        self.erased_at = at
        billing = self.addresses.billing
        # The book keeps its one-delivery invariant with no person in it.
        self.addresses.deliveries[:] = [DeliveryAddress("erased", "—", billing)]

    @property
    def is_erased(self) -> bool:
        """Whether the account was erased (SPEC G3)."""
        return self.status is AccountStatus.ERASED

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
