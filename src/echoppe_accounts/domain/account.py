"""The customer account aggregate: the account decides what may happen next.

An :class:`Account` holds the customer's identity and contact, the category
and its organisation data, the address book, the newsletter consent history,
the password hash and where its email stands (proven, being changed, just
changed). Every change of its life is one method with guarded transitions:
activation (SPEC X5), completing an express account (X2), password changes
and the reset's effects (R3, R7, R8), the email change's request,
confirmation, cancellation and restoration (F10), newsletter consent (F7)
erasure (G3), disabling (M2) and completing an imported account (M1).
A method that must end sessions rotates the session stamp
(P6, in :meth:`Account._end_sessions` only), and one that must end pending
links, failed-login counts or mails records it as an effect
(:mod:`echoppe_accounts.domain.effects`) that the service layer applies
when it saves the account, so no use case can forget it.

Times come in as arguments and new stamps from a :data:`StampSource`: the
domain reads no clock and draws no randomness itself.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from echoppe_accounts.domain.addressbook import (
    AddressBook,
    DeliveryAddress,
    new_deliveries,
)
from echoppe_accounts.domain.category import (
    Category,
    CategoryPolicy,
    Offer,
    Organisation,
)
from echoppe_accounts.domain.completion import Missing, missing_pieces
from echoppe_accounts.domain.consent import (
    ConsentRecord,
    PendingSubscription,
)
from echoppe_accounts.domain.effects import (
    Effect,
    EndLinks,
    ForgetEverything,
    ForgetFailures,
)
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import (
    Collector,
    Language,
    ValidationError,
)
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.domain.siret import Siret
from echoppe_accounts.domain.status import AccountStatus
from echoppe_accounts.domain.throttle import password_check_key
from echoppe_accounts.domain.tokens import TokenPurpose
from echoppe_accounts.domain.views import Credentials, InvoiceView

__all__ = [
    "NAME_LENGTH",
    "RESTORE_TTL",
    "UNVERIFIED_TTL",
    "Account",
    "AccountStatus",
    "Credentials",
    "InvoiceView",
    "Missing",
    "StampSource",
    "check_category_fields",
]

NAME_LENGTH = 38
"""Longest customer name: it is the first line of an individual's invoice."""

UNVERIFIED_TTL = timedelta(hours=24)
"""How long an unverified sign-up holds its email (SPEC X5)."""


def check_category_fields(
    category: Category,
    organisation: Organisation | None,
    errors: Collector,
    *,
    imported: bool = False,
) -> None:
    """Record what *category* requires of *organisation* (SPEC C3, C5).

    An *imported* account may lack the organisation or its SIRET: it is
    then to complete (SPEC M1), not refused.
    """
    if category.needs_organisation:
        if organisation is None:
            if not imported:
                errors.add("organisation_name", "required")
                errors.add("siret", "required")
        elif organisation.siret is None and not imported:
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
    addresses: AddressBook | None
    """The billing and delivery addresses; ``None`` only for an imported
    account that had none (SPEC M1), until it is completed."""
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

    @property
    def is_disabled(self) -> bool:
        """Whether the account is disabled, so no login and no reset (SPEC M2, P3, R1).

        .. versionadded:: 0.2.0
        """
        return self.status is AccountStatus.DISABLED

    @property
    def missing(self) -> frozenset[Missing]:
        """What SPEC requires that this account lacks (SPEC M1); empty when complete.

        Computed from what the account holds: a phone, an address book, the
        SIRET of a business category. An erased account misses nothing.

        .. versionadded:: 0.2.0
        """
        org = self.organisation
        return missing_pieces(
            has_phone=self.phone is not None,
            has_addresses=self.addresses is not None,
            needs_organisation=self.category.needs_organisation,
            has_siret=org is not None and org.siret is not None,
            erased=self.is_erased,
        )

    def address_book(self) -> AddressBook:
        """Return the address book, or refuse when the account has none yet.

        Raises:
            ValidationError: ``address.to_complete`` for an imported account
                without addresses: it must be completed first (SPEC M1).

        .. versionadded:: 0.2.0
        """
        if self.addresses is None:
            raise ValidationError.single("addresses", "address.to_complete")
        return self.addresses

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
        book = self.addresses
        siret = org.siret if org is not None else None
        return InvoiceView(
            account_id=self.id,
            category=self.category,
            name=name,
            billing_lines=book.billing.render(name) if book is not None else (),
            siret=siret.formatted if siret is not None else None,
            siren=org.siren if org is not None else None,
            vat_number=org.vat_number if org is not None else None,
            chorus=org.chorus if org else None,
            ape=org.ape.code if org is not None and org.ape is not None else None,
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

        Raises:
            ValidationError: ``account.erased``; ``address.to_complete`` for
                an account without addresses (SPEC M1).

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        self.address_book().billing = billing

    def join_addresses(
        self, billing: PostalAddress | None, deliveries: Iterable[DeliveryAddress]
    ) -> tuple[list[DeliveryAddress], bool]:
        """Take in the addresses another record of this customer held (SPEC M1, M2).

        An old shop may keep one customer in several records (a guest
        checkout beside her registered account). Each of *deliveries* that
        the book lacks (same contact and address, the label aside) becomes
        one of its delivery addresses, up to fifty (SPEC A1); those past the
        cap are returned, for the caller to report, never dropped silently.
        An account without an address book yet takes *billing* as its
        billing address (SPEC A2), and is then no longer to complete for it.

        Returns:
            The deliveries past the cap, and whether the address book was
            created.

        Raises:
            ValidationError: ``account.erased``; ``address.to_complete`` when
                the account has no address book and no *billing* is given
                for the deliveries to share.

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        offered = list(deliveries)
        book = self.addresses
        if book is None:
            if not offered:
                return [], False
            if billing is None:
                raise ValidationError.single("addresses", "address.to_complete")
        taken, beyond = new_deliveries([] if book is None else book.deliveries, offered)
        if book is not None:
            for delivery in taken:
                book.add_delivery(delivery)
            return beyond, False
        assert billing is not None  # noqa: S101 (refused above otherwise)
        self.addresses = AddressBook(billing, taken)
        return beyond, True

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
                frozenset(e.key for e in held),
                frozenset(e.login_key for e in held),
                password_check_key(self.id),
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
        if self.addresses is not None:
            billing = self.addresses.billing
            # The book keeps its one-delivery invariant with no person in it.
            self.addresses.deliveries[:] = [DeliveryAddress("erased", "—", billing)]
        self._end_sessions(stamps)

    # -- disabling (SPEC M2) -----------------------------------------------------------

    def disable(self, now: datetime, stamps: StampSource) -> None:
        """Disable the account: it can no longer log in nor ask for a reset.

        Every session ends (SPEC P6); every pending link, reset request and
        temporary password dies, a pending email change with its link
        (R8, F10). Its email stays taken. Disabling a disabled account
        changes nothing.

        Raises:
            ValidationError: ``account.erased`` (SPEC G3);
                ``account.unverified`` for a sign-up whose mailbox is not
                proven yet (it expires by itself, SPEC X5).

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        if self.is_disabled:
            return
        if self.status is AccountStatus.UNVERIFIED:
            raise ValidationError.single("account", "account.unverified")
        self.status = AccountStatus.DISABLED
        self._drop_email_change(now)
        self._end_sessions(stamps)
        self._effects.append(EndLinks.of(TokenPurpose, resets=True))

    def enable(self, stamps: StampSource) -> None:
        """Enable a disabled account again; enabling an enabled one changes nothing.

        It becomes active, or an express account when it has no password
        yet (SPEC X2). Its status changes, so the session stamp changes too
        (SPEC P6).

        Raises:
            ValidationError: ``account.erased`` (SPEC G3).

        .. versionadded:: 0.2.0
        """
        self._guard_live()
        if not self.is_disabled:
            return
        self.status = (
            AccountStatus.ACTIVE
            if self.password_hash is not None
            else AccountStatus.EXPRESS
        )
        self._end_sessions(stamps)

    # -- completing an imported account (SPEC M1) --------------------------------------

    def complete(
        self,
        *,
        phone: Phone | None = None,
        billing: PostalAddress | None = None,
        delivery: DeliveryAddress | None = None,
        siret: Siret | None = None,
        organisation_name: str | None = None,
    ) -> None:
        """Give the account exactly the pieces it misses (SPEC M1).

        Each missing piece is required and a piece that is not missing is
        refused (``completion.not_missing``: the ordinary operations change
        those); every problem is raised at once (SPEC F8). The addresses
        come as the billing address and a first delivery address. A SIRET
        must belong to the SIREN an imported company kept
        (``siret.siren_mismatch``); *organisation_name* is given only by a
        business account that has no organisation at all.

        Raises:
            ValidationError: ``account.erased``; ``account.disabled``;
                ``account.already_complete``; the problems above.

        .. versionadded:: 0.2.0
        """
        self._guard_enabled()
        missing = self.missing
        if not missing:
            raise ValidationError.single("account", "account.already_complete")
        errors = Collector()
        _expect(errors, "phone", phone, Missing.PHONE in missing)
        wants_address = Missing.ADDRESS in missing
        _expect(errors, "billing_address", billing, wants_address)
        _expect(errors, "delivery", delivery, wants_address)
        wants_siret = Missing.SIRET in missing
        _expect(errors, "siret", siret, wants_siret)
        _expect(
            errors,
            "organisation_name",
            organisation_name,
            wants_siret and self.organisation is None,
        )
        organisation = self._completed_organisation(siret, organisation_name, errors)
        errors.raise_if_any()
        if phone is not None:
            self.phone = phone
        if billing is not None and delivery is not None:
            self.addresses = AddressBook(billing, [delivery])
        if organisation is not None:
            self.organisation = organisation

    def _completed_organisation(
        self, siret: Siret | None, name: str | None, errors: Collector
    ) -> Organisation | None:
        if siret is None:
            return None
        if self.organisation is None:
            return Organisation(name, siret) if name is not None else None
        try:
            return self.organisation.with_siret(siret)
        except ValidationError as exc:
            errors.extend(exc)
            return None

    # -- accounts brought over from another shop (SPEC M1, M2) -------------------------

    @classmethod
    def imported(
        cls,
        *,
        id: str,  # noqa: A002 (the field's name)
        email: Email,
        name: str,
        category: Category,
        created_at: datetime,
        session_stamp: str,
        addresses: AddressBook | None = None,
        phone: Phone | None = None,
        organisation: Organisation | None = None,
        password_hash: str | None = None,
        language: Language = "fr",
        disabled: bool = False,
    ) -> Account:
        """Build an account another shop kept, complete or to complete (SPEC M1, M2).

        What the old shop never asked for may be missing (``None``): the
        phone, the address book, the organisation or its SIRET (a SIREN
        alone, :attr:`Organisation.siren_alone`); :attr:`missing` then says
        what to ask at the next login. *created_at* is the old shop's
        creation time. The account is active with a password hash, else an
        express account (a guest, or a customer to invite: the importer
        decides whom to mail, SPEC M2); *disabled* keeps the old shop's
        disabled state. The mailbox is not proven. Keep a newsletter
        subscription with :meth:`import_subscription`, with its date.

        Raises:
            ValidationError: an organisation for an individual
                (``not_allowed``), Chorus Pro data for another category than
                a public body (SPEC C3).

        .. versionadded:: 0.2.0
        """
        errors = Collector()
        check_category_fields(category, organisation, errors, imported=True)
        errors.raise_if_any()
        if disabled:
            status = AccountStatus.DISABLED
        elif password_hash is not None:
            status = AccountStatus.ACTIVE
        else:
            status = AccountStatus.EXPRESS
        return cls(
            id=id,
            email=email,
            name=name,
            category=category,
            addresses=addresses,
            created_at=created_at,
            status=status,
            phone=phone,
            organisation=organisation,
            password_hash=password_hash,
            language=language,
            session_stamp=session_stamp,
        )


def _expect(errors: Collector, path: str, value: object, wanted: bool) -> None:  # noqa: FBT001
    if wanted and value is None:
        errors.add(path, "required")
    elif not wanted and value is not None:
        errors.add(path, "completion.not_missing")
