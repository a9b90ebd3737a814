"""The account front door: registration, express checkout, email change, address book.

:class:`AccountService` is a thin facade: each method validates nothing
itself and calls the use case of its feature module
(:mod:`~echoppe_accounts.service_layer.registration`,
:mod:`~echoppe_accounts.service_layer.express`,
:mod:`~echoppe_accounts.service_layer.email_change`,
:mod:`~echoppe_accounts.service_layer.address_book`,
:mod:`~echoppe_accounts.service_layer.consent`). Every use case validates
its whole input first and reports every problem at once (SPEC F8); stored
data changes only when it succeeds, in one transaction that also queues
the mails it decides (the outbox).
"""

from __future__ import annotations

import attrs

from echoppe_accounts.domain.account import Account, InvoiceView
from echoppe_accounts.domain.addressbook import DeliveryAddress
from echoppe_accounts.domain.category import Offer
from echoppe_accounts.domain.completion import AccountCompletionForm
from echoppe_accounts.domain.consent import ConsentSource
from echoppe_accounts.domain.errors import Language
from echoppe_accounts.domain.forms import (
    AddressForm,
    CompletionForm,
    DeliveryForm,
    ExpressForm,
    OrganisationForm,
    RegistrationForm,
)
from echoppe_accounts.domain.throttle import ThrottlePolicy
from echoppe_accounts.ports import (
    Clock,
    PasswordHasher,
    SecretSource,
    UnitOfWorkFactory,
)
from echoppe_accounts.service_layer import (
    address_book,
    completion,
    consent,
    email_change,
    express,
    registration,
)
from echoppe_accounts.service_layer._ports import (
    Ports,
    express_notice_key,
    signup_notice_key,
)
from echoppe_accounts.service_layer.express import ExpressRegistration
from echoppe_accounts.service_layer.settings import Settings

__all__ = [
    "AccountService",
    "ExpressRegistration",
    "express_notice_key",
    "signup_notice_key",
]


@attrs.define
class AccountService:
    """The account use cases, wired to storage, mail, clock and randomness.

    Build it with :func:`~echoppe_accounts.bootstrap` or directly.

    .. versionadded:: 0.2.0
    """

    uow: UnitOfWorkFactory
    clock: Clock
    secrets: SecretSource
    hasher: PasswordHasher
    settings: Settings
    throttle_policy: ThrottlePolicy = attrs.field(factory=ThrottlePolicy)
    """The waits and block of a sign-up link's wrong passwords (SPEC P4, X5)."""

    @property
    def _ports(self) -> Ports:
        """The ports the use cases work with."""
        return Ports(self.uow, self.clock, self.secrets, self.hasher, self.settings)

    def register(
        self,
        form: RegistrationForm,
        *,
        source: ConsentSource = ConsentSource.SIGNUP_FORM,
        client_key: str | None = None,
    ) -> Account:
        """Create a complete account from the registration form (SPEC F1–F8).

        With :attr:`Settings.verified_signup` on (SPEC X5), a known email
        is answered exactly as a new one, with the same work: the owner is
        told by mail (at most once per four minutes) instead, and the
        account returned is the one the form describes, never stored. A new
        account is ``unverified`` until the link of its verification mail is
        followed (:meth:`verify_signup`); only then can it log in. Show the
        customer "check your mailbox", never the returned id.

        Raises:
            ValidationError: With every problem of the form; ``email.taken``
                when the canonical email already has an account and verified
                sign-up is off. Nothing is stored.
            RateLimitedError: *client_key* went past its sign-up limit.
        """
        return registration.register(
            self._ports, form, source=source, client_key=client_key
        )

    def verify_signup(self, token: str, password: str) -> None:
        """Prove the mailbox of a verified sign-up: the account opens (SPEC X5).

        Following the link also asks for the password chosen at that
        sign-up, so that a link reaching a mailbox for somebody else's
        sign-up opens nothing. The link of a verification mail sent to an
        existing account's owner only proves that mailbox again.

        Raises:
            ValidationError: ``token.invalid`` for a link that is unknown,
                used, expired, of another purpose or whose sign-up was
                replaced or expired (24 hours); ``password.wrong_current``
                at ``password`` for another password, the link staying
                usable; ``login.throttled`` (with ``seconds``) or
                ``login.blocked`` at ``password`` once wrong passwords
                have spent the account's password-check count (SPEC P4),
                before any hash.

        .. versionadded:: 0.2.0
        """
        registration.verify_signup(
            self._ports, token, password, policy=self.throttle_policy
        )

    def purge_unverified(self, *, limit: int = 500) -> int:
        """Remove unverified sign-ups older than 24 hours; return how many (SPEC X5).

        Run it now and then (the worker or a cron job): such a sign-up
        already counts as absent, this frees its storage. Nothing of it is
        kept: account, links, queued mails.

        .. versionadded:: 0.2.0
        """
        return registration.purge_unverified(self._ports, limit=limit)

    def register_express(
        self, form: ExpressForm, *, client_key: str | None = None
    ) -> ExpressRegistration:
        """Create an account at checkout from an email and a delivery address.

        No password is asked: the customer receives a set-password mail
        (SPEC X2). If the email already has an account, no second one is
        made, the owner is told by mail, and the answer is the same as for a
        new account (SPEC X3).

        Raises:
            ValidationError: Every problem of the form.
            RateLimitedError: *client_key* went past its checkout limit.
        """
        return express.register_express(self._ports, form, client_key=client_key)

    def complete_express(self, token: str, form: CompletionForm) -> Account:
        """Complete an express account with the token of its set-password mail.

        The account keeps its id, orders and addresses; it gains a password,
        a phone, and the category fields (SPEC X2). The mailbox is proven.
        The token is single-use, expires, and serves this purpose only.

        Raises:
            ValidationError: ``token.invalid`` for an unknown, used, expired
                or revoked token; otherwise every problem of *form*. The
                token stays usable when the form is refused.
        """
        return express.complete_express(self._ports, token, form)

    def complete_account(self, account_id: str, form: AccountCompletionForm) -> Account:
        """Give an imported account what it misses, and return it (SPEC M1).

        Show the completion form after a login whose
        :attr:`~echoppe_accounts.LoginResult.to_complete` is not empty, asking
        for those pieces only: the phone, the billing and a first delivery
        address, the SIRET (and the organisation's name when the account has
        no organisation). A SIRET must be of the SIREN the old shop kept.

        Raises:
            ValidationError: every problem at once (SPEC F8): a missing
                piece not given (``required``), a piece given that is not
                missing (``completion.not_missing``), ``siret.siren_mismatch``,
                the fields' own problems; ``account.already_complete`` when
                nothing is missing, ``account.disabled``,
                ``account.erased``. Nothing is stored then.
            NotFoundError: No such account.

        .. versionadded:: 0.2.0
        """
        return completion.complete_account(self._ports, account_id, form)

    def get(self, account_id: str) -> Account:
        """Return the account *account_id* (a copy: save changes through methods).

        Raises:
            NotFoundError: No such account.
        """
        return address_book.get(self._ports, account_id)

    def find_by_email(self, email: str) -> Account | None:
        """Return the account of *email* (any case or spelling of it), or ``None``.

        For staff tools and the shop's own lookups; never answer an
        anonymous visitor with it (account enumeration).
        """
        return address_book.find_by_email(self._ports, email)

    def invoice_view(self, account_id: str) -> InvoiceView:
        """Return what an invoice shows of the account (SPEC A3)."""
        return address_book.invoice_view(self._ports, account_id)

    def offer(self, account_id: str) -> Offer:
        """Return the payment methods and delivery modes offered (SPEC C2)."""
        return address_book.offer(self._ports, account_id)

    def add_delivery_address(
        self,
        account_id: str,
        form: DeliveryForm,
        *,
        billing_address: AddressForm | None = None,
    ) -> DeliveryAddress:
        """Add a delivery address; it shares the account's billing address.

        A form may send a billing address with it: if it differs from the
        account's, the address is refused with ``address.separate_billing``
        (SPEC A2). Past fifty addresses: ``address.too_many_deliveries``.
        """
        return address_book.add_delivery_address(
            self._ports, account_id, form, billing_address
        )

    def update_delivery_address(
        self, account_id: str, delivery_id: str, form: DeliveryForm
    ) -> DeliveryAddress:
        """Replace the contact, address and label of one delivery address."""
        return address_book.update_delivery_address(
            self._ports, account_id, delivery_id, form
        )

    def remove_delivery_address(self, account_id: str, delivery_id: str) -> None:
        """Remove a delivery address; the last one is refused (SPEC A5)."""
        address_book.remove_delivery_address(self._ports, account_id, delivery_id)

    def change_billing_address(self, account_id: str, form: AddressForm) -> None:
        """Change the billing address, for every delivery address (SPEC A2)."""
        address_book.change_billing_address(self._ports, account_id, form)

    def change_category(
        self, account_id: str, category: str, organisation: OrganisationForm
    ) -> None:
        """Move the account to another category, re-validated (SPEC C5).

        An individual who becomes a company must supply an organisation
        name and a SIRET in the same call.
        """
        address_book.change_category(self._ports, account_id, category, organisation)

    def subscribe_newsletter(
        self,
        account_id: str,
        *,
        source: ConsentSource,
        wording_version: str,
    ) -> None:
        """Subscribe, recording time, source and wording version (SPEC F7).

        Raises:
            ValidationError: The wording version is missing, too long or not
                readable text (``consent.wording_required``,
                ``text.too_long``…).
        """
        consent.subscribe(
            self._ports, account_id, source=source, wording_version=wording_version
        )

    def unsubscribe_newsletter(self, account_id: str, *, source: ConsentSource) -> None:
        """Unsubscribe; always possible, always recorded (SPEC F7)."""
        consent.unsubscribe(self._ports, account_id, source=source)

    def change_email(
        self,
        account_id: str,
        email: str,
        current_password: str,
        *,
        client_key: str | None = None,
    ) -> None:
        """Ask to change the account's email; it changes once proven (SPEC F10).

        The current password is required: a session alone is not enough.
        A link goes to the new address, valid
        :attr:`Settings.email_change_ttl`, single-use, and carrying no text
        the requester typed; the current address is told at once, with a
        link valid 7 days that cancels the change before its confirmation
        and restores the former address after it. Until the new mailbox is
        proven the account keeps its address. A new request replaces a
        pending one. At most :attr:`Settings.email_changes_per_day` requests
        per account in 24 hours, and the client limit of
        :attr:`ClientLimits.email_change`.

        With verified sign-up on (SPEC X5), an address that is another
        account's is answered exactly as a free one: its owner is told by
        mail instead (at most once per four minutes), and nothing changes.

        Raises:
            ValidationError: The address is invalid;
                ``password.wrong_current`` at ``current_password``;
                ``email.taken`` when it is another account's and verified
                sign-up is off; ``account.not_active`` for an account that
                cannot log in.
            RateLimitedError: The account or *client_key* went past its
                limit.
            NotFoundError: No such account.
        """
        email_change.change_email(
            self._ports, account_id, email, current_password, client_key=client_key
        )

    def confirm_email_change(self, token: str) -> None:
        """Make the pending address the account's: its mailbox is proven (F10).

        Its uniqueness is checked again, in the same transaction as the
        change. Every pending link and temporary password dies (SPEC R8),
        every session ends (P6), and the former address is told. Of
        concurrent confirmations of one link, exactly one succeeds.

        Raises:
            ValidationError: ``token.invalid`` for a link that is unknown,
                used, expired, cancelled or of another purpose;
                ``email.taken`` when the address became another account's
                meanwhile (the change is then dropped).

        .. versionadded:: 0.2.0
        """
        email_change.confirm_email_change(self._ports, token)

    def cancel_email_change(self, token: str) -> None:
        """Follow the former address's link: cancel the change, or restore (F10).

        Before the new address is confirmed, the change is cancelled and
        every session ends. After it, for 7 days from the request, the
        former address is restored: every session ends (P6), every pending
        link and temporary password dies, and the password is dropped, so
        that only a reset, sent at once to the restored address, lets
        anyone in again.

        Raises:
            ValidationError: ``token.invalid`` for a link that is unknown,
                used, expired or has nothing left to cancel or restore.

        .. versionadded:: 0.2.0
        """
        email_change.cancel_email_change(self._ports, token)

    def update_contact(
        self, account_id: str, *, name: str | None = None, phone: str | None = None
    ) -> None:
        """Correct the customer's name or phone, validated as at sign-up (SPEC G4).

        Fields left at ``None`` do not change; all problems come at once.
        """
        address_book.update_contact(self._ports, account_id, name=name, phone=phone)

    def set_language(self, account_id: str, language: Language) -> None:
        """Choose the language of the customer's mails."""
        address_book.set_language(self._ports, account_id, language)
