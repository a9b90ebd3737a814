"""The customer account aggregate: the account decides what may happen next.

An :class:`Account` holds the customer's identity and contact, the category
and its organisation data, the address book, the newsletter consent history,
the password hash and where its email stands (proven, being changed, just
changed). Every change of its life is one method with guarded transitions:
activation (SPEC X5), completing an express account (X2), password changes
and the reset's effects (R3, R7, R8), the email change's request,
confirmation, cancellation and restoration (F10), newsletter consent (F7)
and erasure (G3). A method that must end sessions rotates the session stamp
(P6, in :meth:`Account._end_sessions` only), and one that must end pending
links, failed-login counts or mails records it as an effect
(:mod:`echoppe_accounts.domain.effects`) that the service layer applies
when it saves the account, so no use case can forget it.

Times come in as arguments and new stamps from a :data:`StampSource`: the
domain reads no clock and draws no randomness itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from echoppe_accounts.domain._account_state import (
    RESTORE_TTL,
    StampSource,
    invalid_token,
)
from echoppe_accounts.domain._consent import ConsentSteps
from echoppe_accounts.domain._email_change import EmailChangeSteps
from echoppe_accounts.domain._passwords import PasswordSteps
from echoppe_accounts.domain.address import PostalAddress
from echoppe_accounts.domain.addressbook import AddressBook, DeliveryAddress
from echoppe_accounts.domain.category import (
    Category,
    CategoryPolicy,
    Offer,
    Organisation,
)
from echoppe_accounts.domain.consent import (
    ConsentRecord,
    PendingSubscription,
)
from echoppe_accounts.domain.effects import (
    Effect,
    ForgetEverything,
    ForgetFailures,
)
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import (
    Collector,
    Language,
)
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.domain.status import AccountStatus
from echoppe_accounts.domain.views import Credentials, InvoiceView

__all__ = [
    "NAME_LENGTH",
    "RESTORE_TTL",
    "UNVERIFIED_TTL",
    "Account",
    "AccountStatus",
    "Credentials",
    "InvoiceView",
    "StampSource",
    "check_category_fields",
]

NAME_LENGTH = 38
"""Longest customer name: it is the first line of an individual's invoice."""

UNVERIFIED_TTL = timedelta(hours=24)
"""How long an unverified sign-up holds its email (SPEC X5)."""


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


@attrs.define(eq=False)
class Account(ConsentSteps, EmailChangeSteps, PasswordSteps):
    """A customer account; two accounts are equal when their ids are.

    Read its fields freely; change it only through its methods, which keep
    its rules. Storage adapters rebuild it with the constructor. Its steps
    are grouped by feature in private base classes: passwords and the
    reset's effects, the email change, newsletter consent.

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
    """A subscription awaiting the confirmation of its link (SPEC F7)."""
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
    former_email: Email | None = None
    """The address an email change replaced, restorable for a while (SPEC F10).

    .. versionadded:: 0.2.0
    """
    former_email_until: datetime | None = None
    """Until when the former address's link can restore it (SPEC F10).

    .. versionadded:: 0.2.0
    """
    version: int = 0
    """Bumped by storage on each save; guards against lost updates."""
    _effects: list[Effect] = attrs.field(
        factory=list, init=False, repr=False, alias="_effects"
    )

    def __eq__(self, other: object) -> bool:
        """Compare by id."""
        return isinstance(other, Account) and other.id == self.id

    def __hash__(self) -> int:
        """Hash by id."""
        return hash(self.id)

    # -- reading -----------------------------------------------------------------------

    @property
    def is_express(self) -> bool:
        """Whether the account was created at checkout and not yet completed."""
        return self.status is AccountStatus.EXPRESS

    def holds_email(self, now: datetime) -> bool:
        """Whether the account still holds its email at *now* (SPEC X5).

        An unverified sign-up holds it for ``UNVERIFIED_TTL`` (24 hours) at most;
        after that it counts as absent and is removed.

        .. versionadded:: 0.2.0
        """
        if self.status is AccountStatus.UNVERIFIED:
            return now < self.created_at + UNVERIFIED_TTL
        return True

    def addresses_held(self) -> frozenset[Email]:
        """Every address of the account: current, pending and former (SPEC G3).

        .. versionadded:: 0.2.0
        """
        held = (self.email, self.pending_email, self.former_email)
        return frozenset(e for e in held if e is not None)

    def offer(self, policy: CategoryPolicy) -> Offer:
        """Return the payment methods and delivery modes offered (SPEC C2)."""
        return policy.offer(self.category)

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

    def collect_effects(self) -> list[Effect]:
        """Return and clear what the last transitions ask of storage.

        The service layer applies them when it saves the account.

        .. versionadded:: 0.2.0
        """
        effects, self._effects = self._effects, []
        # Failure counts first: the order in which login locks its rows.
        return sorted(effects, key=lambda e: not isinstance(e, ForgetFailures))

    # -- activation and completion -----------------------------------------------------

    def verify_signup(self, now: datetime, stamps: StampSource) -> bool:
        """Open a verified sign-up whose link was followed (SPEC X5); say if it opened.

        The mailbox is proven, and a subscription ticked at sign-up takes
        effect with it (F7). Followed by an open account's owner, the link
        only proves the mailbox again.

        Raises:
            ValidationError: ``token.invalid`` for an erased account.

        .. versionadded:: 0.2.0
        """
        if self.is_erased:
            raise invalid_token()
        self._prove_mailbox(now)
        if self.status is not AccountStatus.UNVERIFIED:
            return False
        self.status = AccountStatus.ACTIVE
        self._end_sessions(stamps)
        if self.pending_subscription is not None:
            self.confirm_subscription(now)
        return True

    def complete_express(
        self,
        now: datetime,
        stamps: StampSource,
        *,
        password_hash: str,
        name: str,
        phone: Phone | None,
        category: Category,
        organisation: Organisation | None,
    ) -> None:
        """Complete an account whose set-password link was followed (SPEC X2).

        It keeps its id, orders and addresses, gains a password, a phone and
        the category's fields; the mailbox is proven, every session and
        pending link ends.

        Raises:
            ValidationError: ``token.invalid`` for an erased account; the
                category's problems (SPEC C3).

        .. versionadded:: 0.2.0
        """
        if self.is_erased:
            raise invalid_token()
        self.change_category(category, organisation)
        self.name = name
        self.phone = phone
        self._set_password(now, stamps, password_hash)

    # -- contact, addresses, category, preferences -------------------------------------

    def update_contact(self, name: str | None, phone: Phone | None) -> None:
        """Correct the name or phone; ``None`` keeps the current one (SPEC G4).

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        self.name = name or self.name
        self.phone = phone or self.phone

    def set_language(self, language: Language) -> None:
        """Choose the language of the customer's mails.

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        self.language = language

    def set_analytics_opt_out(self, *, opted_out: bool) -> None:
        """Refuse, or accept again, audience measurement (SPEC N3).

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        self.analytics_opt_out = opted_out

    def change_billing_address(self, billing: PostalAddress) -> None:
        """Change the billing address, for every delivery address (SPEC A2).

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        self.addresses.billing = billing

    def change_category(
        self, category: Category, organisation: Organisation | None
    ) -> None:
        """Move to *category*, re-validated against SPEC C3 (SPEC C5)."""
        self._guard_live()
        errors = Collector()
        check_category_fields(category, organisation, errors)
        errors.raise_if_any()
        self.category = category
        self.organisation = organisation

    # -- erasure (SPEC G3) -------------------------------------------------------------

    def erase(self, at: datetime, stamps: StampSource) -> None:
        """Forget everything but what invoices must keep for 10 years (SPEC G3).

        The billing identity (name, organisation, SIRET, Chorus Pro data) and
        the billing address stay; email, phone, password, delivery contacts,
        newsletter history and preferences go, and with them every link,
        reset, failure count and outbox mail to any address the account held
        or asked for. The email is freed for a new registration, every
        session ends and the account is inert.
        """
        if self.is_erased:
            return
        held = self.addresses_held()
        self._effects.append(
            ForgetEverything(
                frozenset(e.key for e in held), frozenset(e.login_key for e in held)
            )
        )
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
        self.former_email = None
        self.former_email_until = None
        self.erased_at = at
        billing = self.addresses.billing
        # The book keeps its one-delivery invariant with no person in it.
        self.addresses.deliveries[:] = [DeliveryAddress("erased", "—", billing)]
        self._end_sessions(stamps)
