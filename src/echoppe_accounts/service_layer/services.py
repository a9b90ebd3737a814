"""The account use cases: registration, express checkout, address book, category.

Every public method validates its whole input first and reports every
problem at once (SPEC F8); stored data changes only when the method
succeeds, in one transaction that also queues the mails it decides (the
outbox, delivered by :class:`~echoppe_accounts.OutboxDispatcher`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from echoppe_accounts.domain.account import (
    NAME_LENGTH,
    Account,
    AccountStatus,
    InvoiceView,
)
from echoppe_accounts.domain.address import PostalAddress
from echoppe_accounts.domain.addressbook import AddressBook, DeliveryAddress
from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.category import Category, Offer
from echoppe_accounts.domain.consent import ConsentSource
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import (
    Collector,
    Language,
    NotFoundError,
    ValidationError,
)
from echoppe_accounts.domain.events import EventType
from echoppe_accounts.domain.forms import (
    AddressForm,
    CompletionForm,
    DeliveryForm,
    ExpressForm,
    OrganisationForm,
    ParsedDelivery,
    RegistrationForm,
    attempt,
    parse_address,
    parse_consent,
    parse_delivery,
    parse_language,
    parse_organisation,
    parse_password,
    parse_registration,
    parse_text,
    phone_hint,
)
from echoppe_accounts.domain.limits import ClientAction
from echoppe_accounts.domain.mail import MailKind
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.domain.reset import COOLDOWN
from echoppe_accounts.domain.text import clean_text
from echoppe_accounts.domain.throttle import LoginThrottle
from echoppe_accounts.domain.tokens import (
    TOKEN_BYTES,
    Secret,
    TokenPurpose,
    TokenRecord,
)
from echoppe_accounts.domain.tokens import digest as token_digest
from echoppe_accounts.ports import UnitOfWork
from echoppe_accounts.service_layer._base import UseCases
from echoppe_accounts.service_layer.account_lock import lock_token_account


@attrs.frozen
class ExpressRegistration:
    """The answer to an express creation at checkout (SPEC X2, X3).

    It is the same whether the email was new or already had an account: the
    order is attached to :attr:`account_id`, and the mailbox owner is told
    by mail. It grants no session: order history is shown only once the
    mailbox is proven (a set-password or a reset completed).

    Attributes:
        account_id: The account the order belongs to.

    .. versionadded:: 0.2.0
    """

    account_id: str


@attrs.define
class AccountService(UseCases):
    """The account use cases, wired to storage, mail, clock and randomness.

    Build it with :func:`~echoppe_accounts.bootstrap` or directly.

    .. versionadded:: 0.2.0
    """

    def _issue_set_password(self, uow: UnitOfWork, account: Account) -> None:
        # Earlier links stay valid (SPEC X4): a checkout by someone else must
        # not cancel the link the owner is about to use. Using any one of
        # them kills the others (SPEC R8).
        now = self.clock.now()
        token = Secret(self.secrets.token_urlsafe(TOKEN_BYTES))
        ttl = self.settings.set_password_ttl
        uow.tokens.add(
            TokenRecord.issue(
                token, TokenPurpose.SET_PASSWORD, account.id, now=now, ttl=ttl
            )
        )
        link = self.settings.link(self.settings.set_password_path, token.reveal())
        hours = int(ttl.total_seconds() // 3600)
        self._mail_account(
            uow,
            MailKind.SET_PASSWORD,
            account,
            (link,),
            expires_at=now + ttl,
            hours=hours,
        )

    def _issue_token(
        self,
        uow: UnitOfWork,
        account_id: str,
        purpose: TokenPurpose,
        ttl: timedelta,
        path: str,
    ) -> str:
        """Store a new single-use token of *purpose* and return its link."""
        token = Secret(self.secrets.token_urlsafe(TOKEN_BYTES))
        uow.tokens.add(
            TokenRecord.issue(token, purpose, account_id, now=self.clock.now(), ttl=ttl)
        )
        return self.settings.link(path, token.reveal())

    def _address_book(
        self, billing: PostalAddress, deliveries: Sequence[ParsedDelivery]
    ) -> AddressBook:
        return AddressBook(
            billing,
            [
                DeliveryAddress(self._new_id(), d.contact_name, d.address, d.label)
                for d in deliveries
            ],
        )

    # -- registration ------------------------------------------------------------

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
        parsed = parse_registration(form, self.settings.password_policy)
        self._count_client(ClientAction.SIGNUP, client_key)
        password_hash = self.hasher.hash(parsed.password)
        now = self.clock.now()
        account = Account(
            id=self._new_id(),
            email=parsed.email,
            name=parsed.name,
            category=parsed.category,
            addresses=self._address_book(parsed.billing, parsed.deliveries),
            created_at=now,
            status=AccountStatus.ACTIVE,
            phone=parsed.phone,
            organisation=parsed.organisation,
            password_hash=password_hash,
            language=parsed.language,
            session_stamp=self._new_stamp(),
        )
        if parsed.newsletter_wording_version is not None:
            account.subscribe(now, source, parsed.newsletter_wording_version)
        if self.settings.verified_signup:
            account.status = AccountStatus.UNVERIFIED
            return self._register_verified(account, now)
        with self.uow() as uow:
            uow.accounts.add(account)
            self._mail_account(uow, MailKind.WELCOME, account)
            self._audit(uow, AuditEvent.ACCOUNT_REGISTERED, account.id)
            self._event(uow, EventType.REGISTERED, account.id)
            if account.subscribed:
                self._event(uow, EventType.NEWSLETTER_SUBSCRIBED, account.id)
            uow.commit()
        return account

    def _register_verified(self, account: Account, now: datetime) -> Account:
        """Register without telling whether the email is known (SPEC X5).

        Both cases try the insertion, read the stored account back, issue
        one verification token to it and queue one mail (within the
        cooldown: neither), so the port calls are the same.
        """
        with self.uow() as uow:
            notice = uow.throttles.get(signup_notice_key(account.email))
            try:
                uow.accounts.add(account)
            except ValidationError:
                created = False
            else:
                created = True
            stored = uow.accounts.get_by_email_key(account.email.key)
            if stored is None:  # pragma: no cover (the add found or made it)
                raise NotFoundError(account.email.key)
            last = notice.last_failure_at
            if created or last is None or now - last >= COOLDOWN:
                ttl = self.settings.signup_verify_ttl
                link = self._issue_token(
                    uow,
                    stored.id,
                    TokenPurpose.SIGNUP_VERIFY,
                    ttl,
                    self.settings.signup_verify_path,
                )
                # The owner of a known email is told to log in or reset: its
                # token is made for equal work only and never sent (it
                # would merely prove that mailbox again).
                links: tuple[str, ...]
                if created:
                    kind, links = MailKind.SIGNUP_VERIFY, (link,)
                else:
                    kind, links = MailKind.SIGNUP_EXISTING, ()
                self._mail_account(uow, kind, stored, links, expires_at=now + ttl)
                notice.record_failure(now)
            uow.throttles.save(notice)
            self._audit(
                uow,
                AuditEvent.ACCOUNT_REGISTERED
                if created
                else AuditEvent.SIGNUP_EXISTING,
                stored.id,
            )
            uow.commit()
        return account

    def verify_signup(self, token: str) -> None:
        """Prove the mailbox of a verified sign-up: the account opens (SPEC X5).

        The link of a verification mail sent to an existing account's owner
        only proves that mailbox again.

        Raises:
            ValidationError: ``token.invalid`` for a link that is unknown,
                used, expired or of another purpose.

        .. versionadded:: 0.2.0
        """
        now = self.clock.now()
        with self.uow() as uow:
            account = self._redeem(uow, token, TokenPurpose.SIGNUP_VERIFY, now)
            if account is None or account.is_erased:
                raise ValidationError.single("token", "token.invalid")
            opened = account.status is AccountStatus.UNVERIFIED
            account.email_proven_at = account.email_proven_at or now
            if opened:
                account.status = AccountStatus.ACTIVE
                account.session_stamp = self._new_stamp()
            uow.accounts.save(account)
            if opened:
                self._mail_account(uow, MailKind.WELCOME, account)
                self._audit(uow, AuditEvent.SIGNUP_VERIFIED, account.id)
                self._event(uow, EventType.REGISTERED, account.id)
                if account.subscribed:
                    self._event(uow, EventType.NEWSLETTER_SUBSCRIBED, account.id)
            uow.commit()

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
        errors = Collector()
        email = attempt(errors, "", lambda: Email.parse(form.email))
        delivery = parse_delivery(form.delivery_address, "delivery_address", errors)
        name = attempt(errors, "", lambda: _optional_name(form.name))
        wording = parse_consent(
            form.newsletter, form.newsletter_wording_version, errors
        )
        language = parse_language(form.language, errors)
        errors.raise_if_any()
        assert email is not None  # noqa: S101 (raised above)
        assert delivery is not None  # noqa: S101 (raised above)
        self._count_client(ClientAction.EXPRESS, client_key)
        now = self.clock.now()
        # The same work whether the email is new or known (SPEC X4): the
        # account is built and its insertion tried in both cases; a known
        # email makes the insertion a no-op, and both read the stored
        # account back before deciding which mail, if any, goes out.
        account = Account(
            id=self._new_id(),
            email=email,
            name=name or delivery.contact_name,
            category=Category.INDIVIDUAL,
            addresses=self._address_book(delivery.address, (delivery,)),
            created_at=now,
            status=AccountStatus.EXPRESS,
            language=language,
            session_stamp=self._new_stamp(),
        )
        if wording is not None:
            account.subscribe(now, ConsentSource.CHECKOUT, wording)
        with self.uow() as uow:
            notice = uow.throttles.get(express_notice_key(email))
            try:
                uow.accounts.add(account)
            except ValidationError:
                created = False  # a known email, or a concurrent checkout (X3)
            else:
                created = True
            stored = uow.accounts.get_by_email_key(email.key)
            if stored is None:  # pragma: no cover (the add found or made it)
                raise NotFoundError(email.key)
            if not created:
                return self._express_for_existing(uow, stored, notice, now)
            self._issue_set_password(uow, stored)
            # The set-password mail starts the cooldown of this address too.
            notice.record_failure(now)
            uow.throttles.save(notice)
            self._audit(uow, AuditEvent.EXPRESS_ACCOUNT_CREATED, stored.id)
            events = [self._new_event(EventType.REGISTERED, stored.id, express="yes")]
            if stored.subscribed:
                events.append(
                    self._new_event(EventType.NEWSLETTER_SUBSCRIBED, stored.id)
                )
            uow.events.add(*events)
            uow.commit()
        return ExpressRegistration(account.id)

    def _express_for_existing(
        self,
        uow: UnitOfWork,
        existing: Account,
        notice: LoginThrottle,
        now: datetime,
    ) -> ExpressRegistration:
        """Tell the owner of *existing*, at most once per cooldown (SPEC X3, X4).

        Within four minutes of the last mail to this address nothing new is
        sent (the R6 cooldown), so a burst of checkouts cannot flood the
        owner's mailbox; no pending link of the owner is cancelled.
        """
        last = notice.last_failure_at
        if last is None or now - last >= COOLDOWN:
            if existing.is_express:
                self._issue_set_password(uow, existing)
            else:
                self._mail_account(uow, MailKind.EXISTING_ACCOUNT_CHECKOUT, existing)
            notice.record_failure(now)
        uow.throttles.save(notice)
        self._audit(uow, AuditEvent.EXPRESS_CHECKOUT_EXISTING, existing.id)
        # Nothing happened to the account, but the call is made, empty, as
        # a new email's checkout makes it: the same storage calls (X4).
        uow.events.add()
        uow.commit()
        return ExpressRegistration(existing.id)

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
        now = self.clock.now()
        token_hash = token_digest(token, TokenPurpose.SET_PASSWORD)
        with self.uow() as uow:
            record = uow.tokens.find(token_hash)
            account = uow.accounts.get(record.account_id) if record else None
            if (
                record is None
                or account is None
                or account.is_erased
                or not record.is_usable(now)
            ):
                raise ValidationError.single("token", "token.invalid")
            errors = Collector()
            name = (
                attempt(errors, "", lambda: _optional_name(form.name)) or account.name
            )
            hint = phone_hint(account.addresses.billing)
            phone = attempt(errors, "", lambda: Phone.parse(form.phone, hint=hint))
            category = (
                attempt(errors, "", lambda: Category.parse(form.category))
                if form.category and not form.category.isspace()
                else account.category
            )
            organisation = parse_organisation(category, form.organisation, errors)
            password = parse_password(
                form.password,
                self.settings.password_policy,
                [
                    account.email.address,
                    name,
                    organisation.name if organisation else None,
                ],
                errors,
            )
            if category is not None and not errors.errors:
                attempt(
                    errors, "", lambda: account.change_category(category, organisation)
                )
            errors.raise_if_any()
            assert password is not None  # noqa: S101 (raised above)
            if uow.tokens.consume(token_hash, TokenPurpose.SET_PASSWORD, now) is None:
                raise ValidationError.single("token", "token.invalid")
            account.name = name
            account.phone = phone
            account.email_proven_at = now
            account.password_hash = self.hasher.hash(password)
            account.status = AccountStatus.ACTIVE
            account.session_stamp = self._new_stamp()
            self._kill_pending(uow, account.id, now)
            uow.accounts.save(account)
            self._mail_account(uow, MailKind.WELCOME, account)
            self._audit(uow, AuditEvent.EXPRESS_ACCOUNT_COMPLETED, account.id)
            self._event(uow, EventType.COMPLETED, account.id)
            uow.commit()
        return account

    # -- reading -----------------------------------------------------------------

    def get(self, account_id: str) -> Account:
        """Return the account *account_id* (a copy: save changes through methods).

        Raises:
            NotFoundError: No such account.
        """
        with self._account(account_id, erased=True) as (_, account):
            return account

    def find_by_email(self, email: str) -> Account | None:
        """Return the account of *email* (any case or spelling of it), or ``None``.

        For staff tools and the shop's own lookups; never answer an
        anonymous visitor with it (account enumeration).
        """
        key = Email.parse(email).key
        with self.uow() as uow:
            return uow.accounts.get_by_email_key(key)

    def invoice_view(self, account_id: str) -> InvoiceView:
        """Return what an invoice shows of the account (SPEC A3)."""
        return self.get(account_id).invoice_view()

    def offer(self, account_id: str) -> Offer:
        """Return the payment methods and delivery modes offered (SPEC C2)."""
        return self.get(account_id).offer(self.settings.category_policy)

    # -- address book ------------------------------------------------------------

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
        errors = Collector()
        parsed = parse_delivery(form, "delivery_address", errors)
        billing = (
            parse_address(billing_address, "billing_address", errors)
            if billing_address is not None
            else None
        )
        errors.raise_if_any()
        assert parsed is not None  # noqa: S101 (raised above)
        with self._account(account_id) as (uow, account):
            account.addresses.check_shared_billing(billing)
            delivery = DeliveryAddress(
                self._new_id(), parsed.contact_name, parsed.address, parsed.label
            )
            account.addresses.add_delivery(delivery)
            uow.accounts.save(account)
            uow.commit()
        return delivery

    def update_delivery_address(
        self, account_id: str, delivery_id: str, form: DeliveryForm
    ) -> DeliveryAddress:
        """Replace the contact, address and label of one delivery address."""
        errors = Collector()
        parsed = parse_delivery(form, "delivery_address", errors)
        errors.raise_if_any()
        assert parsed is not None  # noqa: S101 (raised above)
        delivery = DeliveryAddress(
            delivery_id, parsed.contact_name, parsed.address, parsed.label
        )
        with self._account(account_id) as (uow, account):
            account.addresses.replace_delivery(delivery)
            uow.accounts.save(account)
            uow.commit()
        return delivery

    def remove_delivery_address(self, account_id: str, delivery_id: str) -> None:
        """Remove a delivery address; the last one is refused (SPEC A5)."""
        with self._account(account_id) as (uow, account):
            account.addresses.remove_delivery(delivery_id)
            uow.accounts.save(account)
            uow.commit()

    def change_billing_address(self, account_id: str, form: AddressForm) -> None:
        """Change the billing address, for every delivery address (SPEC A2)."""
        errors = Collector()
        billing = parse_address(form, "billing_address", errors)
        errors.raise_if_any()
        assert billing is not None  # noqa: S101 (raised above)
        with self._account(account_id) as (uow, account):
            account.addresses.billing = billing
            uow.accounts.save(account)
            uow.commit()

    # -- category and newsletter ----------------------------------------------------

    def change_category(
        self, account_id: str, category: str, organisation: OrganisationForm
    ) -> None:
        """Move the account to another category, re-validated (SPEC C5).

        An individual who becomes a company must supply an organisation
        name and a SIRET in the same call.
        """
        errors = Collector()
        parsed = attempt(errors, "", lambda: Category.parse(category))
        org = parse_organisation(parsed, organisation, errors)
        errors.raise_if_any()
        assert parsed is not None  # noqa: S101 (raised above)
        with self._account(account_id) as (uow, account):
            before = account.category
            account.change_category(parsed, org)
            uow.accounts.save(account)
            if parsed is not before:
                self._event(
                    uow, EventType.CATEGORY_CHANGED, account.id, category=parsed.value
                )
            uow.commit()

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
        errors = Collector()
        version = parse_consent(True, wording_version, errors)  # noqa: FBT003
        errors.raise_if_any()
        assert version is not None  # noqa: S101 (raised above)
        with self._account(account_id) as (uow, account):
            account.subscribe(self.clock.now(), source, version)
            uow.accounts.save(account)
            self._event(
                uow, EventType.NEWSLETTER_SUBSCRIBED, account.id, source=source.value
            )
            uow.commit()

    def unsubscribe_newsletter(self, account_id: str, *, source: ConsentSource) -> None:
        """Unsubscribe; always possible, always recorded (SPEC F7)."""
        with self._account(account_id) as (uow, account):
            account.unsubscribe(self.clock.now(), source)
            uow.accounts.save(account)
            self._event(
                uow, EventType.NEWSLETTER_UNSUBSCRIBED, account.id, source=source.value
            )
            uow.commit()

    def change_email(self, account_id: str, email: str) -> None:
        """Ask to change the account's email; it changes once proven (SPEC F10).

        A link goes to the new address, valid :attr:`Settings.email_change_ttl`
        and single-use; the current address is told, with a link that
        cancels the change. Until the new mailbox is proven the account
        keeps its address. A new request replaces a pending one.

        Raises:
            ValidationError: The address is invalid, or ``email.taken`` when
                it is another account's.
            NotFoundError: No such account.
        """
        parsed = Email.parse(email)
        now = self.clock.now()
        with self._account(account_id) as (uow, account):
            if parsed.key == account.email.key and parsed == account.email:
                return
            owner = uow.accounts.get_by_email_key(parsed.key)
            if owner is not None and owner.id != account.id:
                raise ValidationError.single("email", "email.taken")
            uow.tokens.revoke(
                account.id,
                [TokenPurpose.EMAIL_CHANGE_CONFIRM, TokenPurpose.EMAIL_CHANGE_CANCEL],
                now,
            )
            ttl = self.settings.email_change_ttl
            confirm = self._issue_token(
                uow,
                account.id,
                TokenPurpose.EMAIL_CHANGE_CONFIRM,
                ttl,
                self.settings.email_change_confirm_path,
            )
            cancel = self._issue_token(
                uow,
                account.id,
                TokenPurpose.EMAIL_CHANGE_CANCEL,
                ttl,
                self.settings.email_change_cancel_path,
            )
            account.pending_email = parsed
            account.pending_email_at = now
            uow.accounts.save(account)
            hours = int(ttl.total_seconds() // 3600)
            self._queue(
                uow,
                MailKind.EMAIL_CHANGE_CONFIRM,
                to=parsed.address,
                language=account.language,
                links=(confirm,),
                account_id=account.id,
                expires_at=now + ttl,
                name=account.name,
                hours=hours,
            )
            self._mail_account(
                uow,
                MailKind.EMAIL_CHANGE_NOTICE,
                account,
                (cancel,),
                expires_at=now + ttl,
                new_email=parsed.address,
                hours=hours,
            )
            self._audit(uow, AuditEvent.EMAIL_CHANGE_REQUESTED, account.id)
            uow.commit()

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
        now = self.clock.now()
        with self.uow() as uow:
            # The account before its links: confirm and cancel never deadlock.
            lock_token_account(uow, token, TokenPurpose.EMAIL_CHANGE_CONFIRM)
            account = self._redeem(uow, token, TokenPurpose.EMAIL_CHANGE_CONFIRM, now)
            if account is None or account.is_erased or account.pending_email is None:
                raise ValidationError.single("token", "token.invalid")
            former, new = account.email, account.pending_email
            owner = uow.accounts.get_by_email_key(new.key)
            if owner is not None and owner.id != account.id:
                raise ValidationError.single("email", "email.taken")
            # The failure count first, then the requests: login's lock order.
            uow.throttles.get(former.login_key)
            account.email = new
            account.pending_email = None
            account.pending_email_at = None
            account.email_proven_at = now
            account.session_stamp = self._new_stamp()
            self._kill_pending(uow, account.id, now)
            uow.accounts.save(account)  # the unique key: a last race is refused
            self._queue(
                uow,
                MailKind.EMAIL_CHANGED,
                to=former.address,
                language=account.language,
                account_id=account.id,
                name=account.name,
                new_email=new.address,
            )
            self._audit(uow, AuditEvent.EMAIL_CHANGED, account.id)
            self._event(uow, EventType.EMAIL_CHANGED, account.id)
            uow.commit()

    def cancel_email_change(self, token: str) -> None:
        """Cancel a pending email change from the current mailbox (SPEC F10).

        Raises:
            ValidationError: ``token.invalid`` for a link that is not a
                pending change's cancel link.

        .. versionadded:: 0.2.0
        """
        now = self.clock.now()
        with self.uow() as uow:
            # The account before its links: confirm and cancel never deadlock.
            lock_token_account(uow, token, TokenPurpose.EMAIL_CHANGE_CANCEL)
            account = self._redeem(uow, token, TokenPurpose.EMAIL_CHANGE_CANCEL, now)
            if account is None or account.pending_email is None:
                raise ValidationError.single("token", "token.invalid")
            uow.tokens.revoke(account.id, [TokenPurpose.EMAIL_CHANGE_CONFIRM], now)
            account.pending_email = None
            account.pending_email_at = None
            uow.accounts.save(account)
            self._audit(uow, AuditEvent.EMAIL_CHANGE_CANCELLED, account.id)
            uow.commit()

    def update_contact(
        self, account_id: str, *, name: str | None = None, phone: str | None = None
    ) -> None:
        """Correct the customer's name or phone, validated as at sign-up (SPEC G4).

        Fields left at ``None`` do not change; all problems come at once.
        """
        errors = Collector()
        new_name = (
            parse_text(name, "name", NAME_LENGTH, errors) if name is not None else None
        )
        with self._account(account_id) as (uow, account):
            # The phone is read in the account's territory (SPEC F2); its
            # problems are reported with the name's, all at once.
            hint = phone_hint(account.addresses.billing)
            new_phone = (
                attempt(errors, "", lambda: Phone.parse(phone, hint=hint))
                if phone is not None
                else None
            )
            errors.raise_if_any()
            account.name = new_name or account.name
            account.phone = new_phone or account.phone
            uow.accounts.save(account)
            uow.commit()

    def set_language(self, account_id: str, language: Language) -> None:
        """Choose the language of the customer's mails."""
        errors = Collector()
        parsed = parse_language(language, errors)
        errors.raise_if_any()
        with self._account(account_id) as (uow, account):
            account.language = parsed
            uow.accounts.save(account)
            uow.commit()


def signup_notice_key(email: Email) -> str:
    """Return the key under which mails about sign-ups with *email* are counted.

    .. versionadded:: 0.2.0
    """
    return hashlib.sha256(f"signup-notice:{email.key}".encode()).hexdigest()


def express_notice_key(email: Email) -> str:
    """Return the key under which mails about checkouts to *email* are counted.

    A digest of the canonical email, like the login throttle's, so that the
    storage keeps no address for it (SPEC X4, R6).

    .. versionadded:: 0.2.0
    """
    return hashlib.sha256(f"express-notice:{email.key}".encode()).hexdigest()


def _optional_name(value: str) -> str | None:
    # clean_text looks at the size before anything else (SPEC F9).
    return clean_text(value, "name", max_length=NAME_LENGTH) or None
