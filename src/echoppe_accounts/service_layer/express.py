"""Express checkout: an account from an email and a delivery address (SPEC X1–X4)."""

from __future__ import annotations

from datetime import datetime

import attrs

from echoppe_accounts.domain.account import (
    NAME_LENGTH,
    Account,
    AccountStatus,
    check_category_fields,
)
from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.category import Category, Organisation
from echoppe_accounts.domain.consent import ConsentSource
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import Collector, NotFoundError
from echoppe_accounts.domain.events import EventType
from echoppe_accounts.domain.forms import (
    CompletionForm,
    ExpressForm,
    attempt,
    parse_consent,
    parse_delivery,
    parse_language,
    parse_organisation,
    parse_password,
    phone_hint,
)
from echoppe_accounts.domain.limits import ClientAction
from echoppe_accounts.domain.mail import MailKind
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.domain.reset import COOLDOWN
from echoppe_accounts.domain.text import clean_text
from echoppe_accounts.domain.throttle import LoginThrottle
from echoppe_accounts.domain.tokens import TokenPurpose
from echoppe_accounts.domain.tokens import digest as token_digest
from echoppe_accounts.ports import UnitOfWork
from echoppe_accounts.service_layer._ports import (
    Ports,
    audit,
    count_client,
    express_notice_key,
    invalid_token,
    issue_link,
    linked_account,
    mail_account,
    new_event,
    restoring,
    save,
)
from echoppe_accounts.service_layer.account_lock import lock_token_account
from echoppe_accounts.service_layer.consent import send_subscription_link
from echoppe_accounts.service_layer.registration import (
    add_replacing_unverified,
    address_book,
)
from echoppe_accounts.service_layer.reset import send_restore_link


@attrs.frozen
class ExpressRegistration:
    """The answer to an express creation at checkout (SPEC X2, X3).

    It is the same whether the email was new or already had an account: the
    order is attached to :attr:`account_id`, and the mailbox owner is told
    by mail. It grants no session: order history is shown only once the
    mailbox is proven (a set-password or a reset completed). An account id
    is a UUIDv7 and shows when the account was made: never show it to the
    visitor.

    Attributes:
        account_id: The account the order belongs to.

    .. versionadded:: 0.2.0
    """

    account_id: str


def optional_name(value: str) -> str | None:
    """Return the cleaned *value*, or ``None`` when empty (SPEC F9)."""
    return clean_text(value, "name", max_length=NAME_LENGTH) or None


def issue_set_password(ports: Ports, uow: UnitOfWork, account: Account) -> None:
    """Send a set-password link to the account's stored address (SPEC X2).

    Earlier links stay valid (SPEC X4): a checkout by someone else must not
    cancel the link the owner is about to use. Using any one of them kills
    the others (SPEC R8).
    """
    settings = ports.settings
    ttl = settings.set_password_ttl
    link = issue_link(
        ports,
        uow,
        account.id,
        TokenPurpose.SET_PASSWORD,
        ttl,
        settings.set_password_path,
    )
    hours = int(ttl.total_seconds() // 3600)
    mail_account(
        ports,
        uow,
        MailKind.SET_PASSWORD,
        account,
        (link,),
        expires_at=ports.clock.now() + ttl,
        hours=hours,
    )


def register_express(
    ports: Ports, form: ExpressForm, *, client_key: str | None
) -> ExpressRegistration:
    """Create an account at checkout; the same answer for a known email (X2–X4)."""
    errors = Collector()
    email = attempt(errors, "", lambda: Email.parse(form.email))
    delivery = parse_delivery(form.delivery_address, "delivery_address", errors)
    name = attempt(errors, "", lambda: optional_name(form.name))
    wording = parse_consent(form.newsletter, form.newsletter_wording_version, errors)
    language = parse_language(form.language, errors)
    errors.raise_if_any()
    assert email is not None  # noqa: S101 (raised above)
    assert delivery is not None  # noqa: S101 (raised above)
    count_client(ports, ClientAction.EXPRESS, client_key)
    now = ports.clock.now()
    # The same work whether the email is new or known (SPEC X4).
    account = Account(
        id=ports.new_id(),
        email=email,
        name=name or delivery.contact_name,
        category=Category.INDIVIDUAL,
        addresses=address_book(ports, delivery.address, (delivery,)),
        created_at=now,
        status=AccountStatus.EXPRESS,
        language=language,
        session_stamp=ports.new_stamp(),
    )
    if wording is not None:
        # An unproven mailbox: the tick waits for its confirm link (SPEC F7).
        account.subscribe(now, ConsentSource.CHECKOUT, wording)
    with ports.uow() as uow:
        notice = uow.throttles.get(express_notice_key(email))
        # False for a known email, or a concurrent checkout (X3).
        created = add_replacing_unverified(uow, account)
        stored = uow.accounts.get_by_email_key(email.key)
        former_of = restoring(uow, email.key, now)
        if stored is None and former_of is not None:
            # Another account's former address, still its to take back
            # (F10): its mailbox is told how, as a known email's is (X3).
            return _express_for_former(ports, uow, former_of, notice, now)
        if stored is None:  # pragma: no cover (the add found or made it)
            raise NotFoundError(email.key)
        if not created:
            return _express_for_existing(ports, uow, stored, notice, now)
        issue_set_password(ports, uow, stored)
        if stored.pending_subscription is not None:
            send_subscription_link(ports, uow, stored)
        # The set-password mail starts the cooldown of this address too.
        notice.record_failure(now)
        uow.throttles.save(notice)
        audit(ports, uow, AuditEvent.EXPRESS_ACCOUNT_CREATED, stored.id)
        uow.events.add(new_event(ports, EventType.REGISTERED, stored.id, express="yes"))
        uow.commit()
    return ExpressRegistration(account.id)


def _express_for_existing(
    ports: Ports,
    uow: UnitOfWork,
    existing: Account,
    notice: LoginThrottle,
    now: datetime,
) -> ExpressRegistration:
    """Tell the owner of *existing*, at most once per cooldown (SPEC X3, X4)."""
    last = notice.last_failure_at
    if last is None or now - last >= COOLDOWN:
        if existing.is_express:
            issue_set_password(ports, uow, existing)
        else:
            mail_account(ports, uow, MailKind.EXISTING_ACCOUNT_CHECKOUT, existing)
        notice.record_failure(now)
    uow.throttles.save(notice)
    audit(ports, uow, AuditEvent.EXPRESS_CHECKOUT_EXISTING, existing.id)
    # Nothing happened to the account, but the call is made, empty, as a
    # new email's checkout makes it: the same storage calls (X4).
    uow.events.add()
    uow.commit()
    return ExpressRegistration(existing.id)


def _express_for_former(
    ports: Ports,
    uow: UnitOfWork,
    account: Account,
    notice: LoginThrottle,
    now: datetime,
) -> ExpressRegistration:
    """Answer a checkout with an address an email change just replaced (F10, X3).

    No second account: the order belongs to the account the address can
    still restore, and that mailbox gets the restore link, at most once per
    cooldown (R6).
    """
    last = notice.last_failure_at
    if last is None or now - last >= COOLDOWN:
        send_restore_link(ports, uow, account, now)
        notice.record_failure(now)
    uow.throttles.save(notice)
    audit(ports, uow, AuditEvent.EXPRESS_CHECKOUT_EXISTING, account.id)
    uow.events.add()
    uow.commit()
    return ExpressRegistration(account.id)


def complete_express(ports: Ports, token: str, form: CompletionForm) -> Account:
    """Complete an express account with its set-password link (SPEC X2).

    The form is checked against the account first, so a bad form or a dead
    link costs no hash; the password is then hashed with no transaction
    open (on SQLite one holds the database's write lock, which a hash would
    hold for the shop), and the account completed only if the link is
    still usable and the account's session stamp unchanged: of two
    completions at once, one wins and the other gets ``token.invalid``.
    """
    now = ports.clock.now()
    token_hash = token_digest(token, TokenPurpose.SET_PASSWORD)
    with ports.uow() as uow:
        _, account = linked_account(uow, token_hash, now)
        if account.is_disabled:
            raise invalid_token()
        completion = _completion(ports, account, form)
        stamp = account.session_stamp
    password_hash = ports.hasher.hash(completion.password)
    now = ports.clock.now()
    with ports.uow() as uow:
        # The email's failure count, then the account, before the link's
        # row: the order of login, a reset and a new password (PostgreSQL).
        lock_token_account(uow, token, TokenPurpose.SET_PASSWORD)
        _, account = linked_account(uow, token_hash, now)
        if account.is_disabled or account.session_stamp != stamp:
            raise invalid_token()  # changed meanwhile
        if uow.tokens.consume(token_hash, TokenPurpose.SET_PASSWORD, now) is None:
            raise invalid_token()
        account.complete_express(
            now,
            ports.new_stamp,
            password_hash=password_hash,
            name=completion.name,
            phone=completion.phone,
            category=completion.category,
            organisation=completion.organisation,
        )
        save(ports, uow, account)
        mail_account(ports, uow, MailKind.WELCOME, account)
        audit(ports, uow, AuditEvent.EXPRESS_ACCOUNT_COMPLETED, account.id)
        uow.events.add(new_event(ports, EventType.COMPLETED, account.id))
        uow.commit()
    return account


@attrs.frozen
class _Completion:
    """An express completion form, checked against its account."""

    password: str
    name: str
    phone: Phone
    category: Category
    organisation: Organisation | None


def _completion(ports: Ports, account: Account, form: CompletionForm) -> _Completion:
    """Check *form* against *account*; return its parts or raise every problem.

    Raises:
        ValidationError: With every problem of the form (SPEC F1–F8, X2).
    """
    errors = Collector()
    name = attempt(errors, "", lambda: optional_name(form.name)) or account.name
    book = account.addresses
    hint = phone_hint(book.billing if book is not None else None)
    phone = attempt(errors, "", lambda: Phone.parse(form.phone, hint=hint))
    category = (
        attempt(errors, "", lambda: Category.parse(form.category))
        if form.category and not form.category.isspace()
        else account.category
    )
    organisation = parse_organisation(category, form.organisation, errors)
    password = parse_password(
        form.password,
        ports.settings.password_policy,
        [account.email.address, name, organisation.name if organisation else None],
        errors,
    )
    if category is not None and not errors.errors:
        check_category_fields(category, organisation, errors)
    errors.raise_if_any()
    assert password is not None  # noqa: S101 (raised above)
    assert phone is not None  # noqa: S101 (raised above)
    assert category is not None  # noqa: S101 (raised above)
    return _Completion(str(password), name, phone, category, organisation)
