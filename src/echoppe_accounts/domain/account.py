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

from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

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
    ConsentSource,
    PendingSubscription,
)
from echoppe_accounts.domain.effects import (
    LINKS_BUT_RESTORE,
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
from echoppe_accounts.domain.status import AccountStatus
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
    "StampSource",
    "check_category_fields",
]

NAME_LENGTH = 38
"""Longest customer name: it is the first line of an individual's invoice."""

RESTORE_TTL = timedelta(days=7)
"""How long the former address's link works after an email change (SPEC F10).

Counted from the request: before the confirmation the link cancels the
change, after it the link restores the former address.
"""

UNVERIFIED_TTL = timedelta(hours=24)
"""How long an unverified sign-up holds its email (SPEC X5)."""

StampSource = Callable[[], str]
"""Draws a new session stamp (SPEC P6); the service layer's secret source."""


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


def _invalid_token() -> ValidationError:
    return ValidationError.single("token", "token.invalid")


def _erased() -> ValidationError:
    return ValidationError.single("account", "account.erased")


@attrs.define(eq=False)
class Account:
    """A customer account; two accounts are equal when their ids are.

    Read its fields freely; change it only through its methods, which keep
    its rules. Storage adapters rebuild it with the constructor.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       Every change of its life is a method: services assign no field.
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

    .. versionadded:: 0.3.0
    """
    former_email_until: datetime | None = None
    """Until when the former address's link can restore it (SPEC F10).

    .. versionadded:: 0.3.0
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
    def is_erased(self) -> bool:
        """Whether the account was erased (SPEC G3)."""
        return self.status is AccountStatus.ERASED

    @property
    def mailbox_proven(self) -> bool:
        """Whether a link sent to the current address was followed.

        Until then no mail to the address carries text somebody typed
        (SPEC F10, X5) and no subscription takes effect (F7).

        .. versionadded:: 0.3.0
        """
        return self.email_proven_at is not None

    @property
    def subscribed(self) -> bool:
        """Whether the customer currently receives the newsletter (off by default)."""
        return bool(self.newsletter) and self.newsletter[-1].subscribed

    def holds_email(self, now: datetime) -> bool:
        """Whether the account still holds its email at *now* (SPEC X5).

        An unverified sign-up holds it for ``UNVERIFIED_TTL`` (24 hours) at most;
        after that it counts as absent and is removed.

        .. versionadded:: 0.3.0
        """
        if self.status is AccountStatus.UNVERIFIED:
            return now < self.created_at + UNVERIFIED_TTL
        return True

    def can_restore(self, now: datetime) -> bool:
        """Whether the former address's link would restore it now (SPEC F10).

        .. versionadded:: 0.3.0
        """
        until = self.former_email_until
        return self.former_email is not None and until is not None and now < until

    def addresses_held(self) -> frozenset[Email]:
        """Every address of the account: current, pending and former (SPEC G3).

        .. versionadded:: 0.3.0
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

        .. versionadded:: 0.3.0
        """
        effects, self._effects = self._effects, []
        # Failure counts first: the order in which login locks its rows.
        return sorted(effects, key=lambda e: not isinstance(e, ForgetFailures))

    # -- the one place where sessions end ----------------------------------------------

    def _end_sessions(self, stamps: StampSource) -> None:
        """Give the account a new session stamp: every session ends (SPEC P6)."""
        self.session_stamp = stamps()

    def _guard_live(self) -> None:
        if self.is_erased:
            raise _erased()

    def _prove_mailbox(self, now: datetime) -> None:
        self.email_proven_at = self.email_proven_at or now

    def _drop_email_change(self, now: datetime) -> None:
        """Forget a pending change and kill its confirm link (SPEC F10, R8).

        The former address's link survives while it can still restore.
        """
        self.pending_email = None
        self.pending_email_at = None
        purposes = {TokenPurpose.EMAIL_CHANGE_CONFIRM}
        if not self.can_restore(now):
            purposes.add(TokenPurpose.EMAIL_CHANGE_CANCEL)
        self._effects.append(EndLinks.of(purposes))

    # -- activation and completion -----------------------------------------------------

    def verify_signup(self, now: datetime, stamps: StampSource) -> bool:
        """Open a verified sign-up whose link was followed (SPEC X5); say if it opened.

        The mailbox is proven, and a subscription ticked at sign-up takes
        effect with it (F7). Followed by an open account's owner, the link
        only proves the mailbox again.

        Raises:
            ValidationError: ``token.invalid`` for an erased account.

        .. versionadded:: 0.3.0
        """
        if self.is_erased:
            raise _invalid_token()
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

        .. versionadded:: 0.3.0
        """
        if self.is_erased:
            raise _invalid_token()
        self.change_category(category, organisation)
        self.name = name
        self.phone = phone
        self._set_password(now, stamps, password_hash)

    # -- passwords and the reset's effects ---------------------------------------------

    def _set_password(self, now: datetime, stamps: StampSource, hash_: str) -> None:
        self.password_hash = hash_
        self.status = AccountStatus.ACTIVE
        # A set-password or reset link reached this mailbox.
        self._prove_mailbox(now)
        self._drop_email_change(now)
        self._end_sessions(stamps)
        self._effects.append(ForgetFailures(self.email.login_key))
        self._effects.append(EndLinks.of(LINKS_BUT_RESTORE, resets=True))

    def change_password(
        self, now: datetime, stamps: StampSource, password_hash: str
    ) -> None:
        """Take a new password: sessions, links and temporary passwords end (P6, R8).

        Used by a logged-in change, a reset's completion and an express
        completion alike; the mailbox counts as proven (a link reached it,
        or its owner knew the password). A pending email change dies with
        its link; the former address's link keeps its 7 days (SPEC F10).

        Raises:
            ValidationError: ``account.erased`` (SPEC G3).

        .. versionadded:: 0.3.0
        """
        self._guard_live()
        self._set_password(now, stamps, password_hash)

    def upgrade_hash(self, password_hash: str) -> None:
        """Replace an outdated hash of the same password (SPEC P1); no session ends.

        .. versionadded:: 0.3.0
        """
        self._guard_live()
        self.password_hash = password_hash

    def issue_temporary_password(self, now: datetime, stamps: StampSource) -> None:
        """Take the effects of a confirmed reset (SPEC R3, P6).

        The mail 1 link reached the stored mailbox: the mailbox is proven,
        earlier failures are forgotten, every session ends, and a pending
        email change dies with its confirm link (SPEC F10): a link in a
        thief's mailbox cannot outlive the owner's reset.

        .. versionadded:: 0.3.0
        """
        self._guard_live()
        self._prove_mailbox(now)
        self._drop_email_change(now)
        self._end_sessions(stamps)
        self._effects.append(ForgetFailures(self.email.login_key))

    def issue_provisional_password(self, now: datetime, stamps: StampSource) -> None:
        """Take the effects of customer service's provisional password (SPEC R7).

        Every session, pending link, reset request, temporary password and
        pending email change ends; failed logins are forgotten.

        .. versionadded:: 0.3.0
        """
        self._guard_live()
        self._drop_email_change(now)
        self._end_sessions(stamps)
        self._effects.append(ForgetFailures(self.email.login_key))
        self._effects.append(EndLinks.of(LINKS_BUT_RESTORE, resets=True))

    # -- the email change (SPEC F10) ---------------------------------------------------

    def request_email_change(self, new: Email, now: datetime) -> bool:
        """Ask to change the address to *new*; say whether a change was started.

        ``False`` when *new* is the current address. Earlier confirm links
        die, so at most one is live; the former address's link of an
        earlier confirmed change keeps its 7 days.

        Raises:
            ValidationError: ``account.erased``; ``account.not_active`` for
                an account that cannot log in (express, unverified).

        .. versionadded:: 0.3.0
        """
        self._guard_live()
        if self.status is not AccountStatus.ACTIVE:
            raise ValidationError.single("account", "account.not_active")
        if new == self.email and new.key == self.email.key:
            return False
        self._drop_email_change(now)
        self.pending_email = new
        self.pending_email_at = now
        return True

    def confirm_email_change(self, now: datetime, stamps: StampSource) -> Email:
        """Make the proven pending address the account's; return the former one.

        Every session ends (P6) and every pending link, reset and temporary
        password dies (R8), except the former address's link, which can
        restore it until 7 days after the request (``RESTORE_TTL``).
        Of two changes within that window, the first address stays the one
        restored.

        Raises:
            ValidationError: ``token.invalid`` when no change is pending or
                the account was erased.

        .. versionadded:: 0.3.0
        """
        new, asked_at = self.pending_email, self.pending_email_at
        if self.is_erased or new is None or asked_at is None:
            raise _invalid_token()
        former = self.email
        if not self.can_restore(now):
            self.former_email = former
            self.former_email_until = asked_at + RESTORE_TTL
        self.email = new
        self.pending_email = None
        self.pending_email_at = None
        self.email_proven_at = now
        self._end_sessions(stamps)
        self._effects.append(EndLinks.of(LINKS_BUT_RESTORE, resets=True))
        return former

    def cancel_or_restore_email(self, now: datetime, stamps: StampSource) -> bool:
        """Follow the former address's link; say whether the address was restored.

        Within 7 days of a confirmed change the former address comes back:
        every session ends, every link (this one included), reset and
        temporary password dies, and the password goes, so that only a
        reset sent to the restored address lets anyone in again (SPEC F10).
        Before the confirmation it cancels the pending change, and ends
        the sessions too: whoever asked for it held one.

        Raises:
            ValidationError: ``token.invalid`` when there is nothing to cancel
                or restore, or the account was erased.

        .. versionadded:: 0.3.0
        """
        if self.is_erased:
            raise _invalid_token()
        former = self.former_email
        if former is not None and self.can_restore(now):
            self.email = former
            self.email_proven_at = now
            self.former_email = None
            self.former_email_until = None
            self.pending_email = None
            self.pending_email_at = None
            self.password_hash = None
            self._end_sessions(stamps)
            self._effects.append(EndLinks.of(TokenPurpose, resets=True))
            return True
        if self.pending_email is None:
            raise _invalid_token()
        self._drop_email_change(now)
        self._end_sessions(stamps)
        return False

    def forget_former_email(self, now: datetime) -> None:
        """Drop the former address once its restore window closed (SPEC F10).

        .. versionadded:: 0.3.0
        """
        if not self.can_restore(now):
            self.former_email = None
            self.former_email_until = None

    # -- contact, addresses, category, preferences -------------------------------------

    def update_contact(self, name: str | None, phone: Phone | None) -> None:
        """Correct the name or phone; ``None`` keeps the current one (SPEC G4).

        .. versionadded:: 0.3.0
        """
        self._guard_live()
        self.name = name or self.name
        self.phone = phone or self.phone

    def set_language(self, language: Language) -> None:
        """Choose the language of the customer's mails.

        .. versionadded:: 0.3.0
        """
        self._guard_live()
        self.language = language

    def set_analytics_opt_out(self, *, opted_out: bool) -> None:
        """Refuse, or accept again, audience measurement (SPEC N3).

        .. versionadded:: 0.3.0
        """
        self._guard_live()
        self.analytics_opt_out = opted_out

    def change_billing_address(self, billing: PostalAddress) -> None:
        """Change the billing address, for every delivery address (SPEC A2).

        .. versionadded:: 0.3.0
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

    # -- newsletter consent (SPEC F7) --------------------------------------------------

    def subscribe(
        self, at: datetime, source: ConsentSource, wording_version: str
    ) -> bool:
        """Subscribe; say whether it took effect or awaits a confirm link (SPEC F7).

        A subscription takes effect only for a proven mailbox: otherwise it
        is recorded as pending, and the service sends the confirm link.

        .. versionchanged:: 0.3.0
           Waits for a confirm link when the mailbox is not proven.
        """
        if not self.mailbox_proven:
            self.request_subscription(at, source, wording_version)
            return False
        self._guard_live()
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
        return True

    def request_subscription(
        self, at: datetime, source: ConsentSource, wording_version: str
    ) -> None:
        """Start a double opt-in subscription; it counts once confirmed (SPEC F7)."""
        self._guard_live()
        if not wording_version.strip():
            raise ValidationError.single("wording_version", "consent.wording_required")
        self.pending_subscription = PendingSubscription(
            at, source, wording_version.strip()
        )

    def confirm_subscription(self, at: datetime) -> None:
        """Record the pending subscription, with its request and confirmation times.

        Its link reached the mailbox, which is now proven.
        """
        pending = self.pending_subscription
        if pending is None or self.is_erased:
            raise _invalid_token()
        self._prove_mailbox(at)
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

    def import_subscription(self, at: datetime, wording_version: str) -> None:
        """Keep a subscription another shop recorded, with its proof (SPEC M2, F7).

        .. versionadded:: 0.3.0
        """
        self.newsletter.append(
            ConsentRecord(
                subscribed=True,
                at=at,
                source=ConsentSource.IMPORT,
                wording_version=wording_version.strip() or None,
            )
        )

    def unsubscribe(self, at: datetime, source: ConsentSource) -> None:
        """Record an unsubscription; always possible, always recorded (SPEC F7)."""
        self.pending_subscription = None
        self.newsletter.append(ConsentRecord(subscribed=False, at=at, source=source))

    # -- erasure (SPEC G3) -------------------------------------------------------------

    def erase(self, at: datetime, stamps: StampSource) -> None:
        """Forget everything but what invoices must keep for 10 years (SPEC G3).

        The billing identity (name, organisation, SIRET, Chorus Pro data) and
        the billing address stay; email, phone, password, delivery contacts,
        newsletter history and preferences go, and with them every link,
        reset, failure count and outbox mail to any address the account held
        or asked for. The email is freed for a new registration, every
        session ends and the account is inert.

        .. versionchanged:: 0.3.0
           Reaches pending and former addresses; ends the sessions.
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
