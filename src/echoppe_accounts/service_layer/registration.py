"""Registration: the full sign-up form, verified sign-up and its expiry (SPEC F, X5)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from echoppe_accounts.domain.account import (
    UNVERIFIED_TTL,
    Account,
    AccountStatus,
)
from echoppe_accounts.domain.address import PostalAddress
from echoppe_accounts.domain.addressbook import AddressBook, DeliveryAddress
from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.consent import ConsentSource
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.events import EventType
from echoppe_accounts.domain.forms import (
    ParsedDelivery,
    RegistrationForm,
    parse_registration,
)
from echoppe_accounts.domain.limits import ClientAction
from echoppe_accounts.domain.mail import MailKind
from echoppe_accounts.domain.reset import COOLDOWN
from echoppe_accounts.domain.throttle import ThrottlePolicy, password_check_key
from echoppe_accounts.domain.tokens import TokenPurpose
from echoppe_accounts.domain.tokens import digest as token_digest
from echoppe_accounts.ports import UnitOfWork
from echoppe_accounts.service_layer import login_throttle
from echoppe_accounts.service_layer._ports import (
    Ports,
    audit,
    count_client,
    invalid_token,
    issue_link,
    linked_account,
    mail_account,
    restoring,
    save,
    signup_notice_key,
    welcome_events,
)
from echoppe_accounts.service_layer.account_lock import lock_account, lock_token_account
from echoppe_accounts.service_layer.consent import send_subscription_link


def address_book(
    ports: Ports, billing: PostalAddress, deliveries: Sequence[ParsedDelivery]
) -> AddressBook:
    """Return a new address book, its delivery addresses given new ids."""
    return AddressBook(
        billing,
        [
            DeliveryAddress(ports.new_id(), d.contact_name, d.address, d.label)
            for d in deliveries
        ],
    )


def register(
    ports: Ports,
    form: RegistrationForm,
    *,
    source: ConsentSource,
    client_key: str | None,
) -> Account:
    """Create a complete account (SPEC F1–F8), or a verified sign-up's (X5)."""
    settings = ports.settings
    parsed = parse_registration(form, settings.password_policy)
    count_client(ports, ClientAction.SIGNUP, client_key)
    password_hash = ports.hasher.hash(parsed.password)
    now = ports.clock.now()
    verified = settings.verified_signup
    account = Account(
        id=ports.new_id(),
        email=parsed.email,
        name=parsed.name,
        category=parsed.category,
        addresses=address_book(ports, parsed.billing, parsed.deliveries),
        created_at=now,
        status=AccountStatus.UNVERIFIED if verified else AccountStatus.ACTIVE,
        phone=parsed.phone,
        organisation=parsed.organisation,
        password_hash=password_hash,
        language=parsed.language,
        session_stamp=ports.new_stamp(),
    )
    if parsed.newsletter_wording_version is not None:
        # The mailbox is not proven yet: the subscription waits (SPEC F7).
        account.subscribe(now, source, parsed.newsletter_wording_version)
    if verified:
        return _register_verified(ports, account, now)
    with ports.uow() as uow:
        add_replacing_unverified(uow, account)
        mail_account(ports, uow, MailKind.WELCOME, account)
        if account.pending_subscription is not None:
            send_subscription_link(ports, uow, account)
        audit(ports, uow, AuditEvent.ACCOUNT_REGISTERED, account.id)
        uow.events.add(*welcome_events(ports, account, EventType.REGISTERED))
        uow.commit()
    return account


def add_replacing_unverified(uow: UnitOfWork, account: Account) -> bool:
    """Store *account*, replacing an unverified sign-up of its email (SPEC X5).

    Nothing of the earlier sign-up is kept: its account, links and mails
    go. Return whether the account was stored; ``False`` when another
    account holds the email and *account* is a verified sign-up or an
    express one, which answer alike (the insertion is tried all the same,
    for equal work, SPEC X4, X5).

    Raises:
        ValidationError: ``email.taken`` when the email is held and
            *account* is an ordinary sign-up.
    """
    held = uow.accounts.get_by_email_key(account.email.key)
    if held is not None and held.status is AccountStatus.UNVERIFIED:
        remove_if_unverified(uow, held)  # unless its link opened it meanwhile
    if restoring(uow, account.email.key, account.created_at):
        # Another account's former address, still its to take back (F10).
        if account.status is AccountStatus.ACTIVE:
            raise ValidationError.single("email", "email.taken")
        return False
    # A new account has no link yet: those its transitions would end (a
    # subscription requested before it was stored, SPEC F7) are none.
    account.collect_effects()
    try:
        uow.accounts.add(account)
    except ValidationError:
        if account.status is AccountStatus.ACTIVE:
            raise
        return False
    return True


def remove_if_unverified(uow: UnitOfWork, account: Account) -> bool:
    """Remove *account* if it is still an unverified sign-up; say if it was (X5).

    The email's count and the account's row are locked first, the order of
    its link's use (PostgreSQL), and the account read again under them:
    one its link opened meanwhile is kept.
    """
    if not lock_account(uow, account):
        return False  # removed meanwhile
    current = uow.accounts.get(account.id)
    if current is None or current.status is not AccountStatus.UNVERIFIED:
        return False
    _delete_unverified(uow, current)
    return True


def remove_unverified(uow: UnitOfWork, account: Account) -> None:
    """Delete an unverified sign-up and everything of it (SPEC X5).

    Its links die, its mails go unsent, its failure counts are forgotten.
    The email's count and the account's row are locked first (PostgreSQL):
    the order of its link's use.
    """
    lock_account(uow, account)
    _delete_unverified(uow, account)


def _delete_unverified(uow: UnitOfWork, account: Account) -> None:
    """Delete *account*'s rows, its locks taken (see :func:`remove_unverified`)."""
    # Its link's wrong passwords (P4), first and under the count's lock:
    # a use of the link writing a failure is waited for, not undone by it.
    check_key = password_check_key(account.id)
    uow.throttles.get(check_key)
    uow.throttles.delete(check_key)
    uow.tokens.delete_for_account(account.id)
    uow.resets.delete_for(account.id, account.email.login_key)
    uow.outbox.forget(account_id=account.id, email_keys=())
    uow.accounts.remove(account.id)


def _register_verified(ports: Ports, account: Account, now: datetime) -> Account:
    """Register without telling whether the email is known (SPEC X5).

    Both cases read the stored account, issue one verification token to
    it and queue one mail (within the cooldown: neither), so the port
    calls are alike.
    """
    settings = ports.settings
    with ports.uow() as uow:
        notice = uow.throttles.get(signup_notice_key(account.email))
        created = add_replacing_unverified(uow, account)
        stored = uow.accounts.get_by_email_key(account.email.key)
        last = notice.last_failure_at
        if stored is not None and (created or last is None or now - last >= COOLDOWN):
            ttl = min(settings.signup_verify_ttl, UNVERIFIED_TTL)
            link = issue_link(
                ports,
                uow,
                stored.id,
                TokenPurpose.SIGNUP_VERIFY,
                ttl,
                settings.signup_verify_path,
            )
            # The owner of a known email is told to log in or reset: its
            # token is made for equal work only and never sent.
            kind = MailKind.SIGNUP_VERIFY if created else MailKind.SIGNUP_EXISTING
            links = (link,) if created else ()
            mail_account(ports, uow, kind, stored, links, expires_at=now + ttl)
            notice.record_failure(now)
        uow.throttles.save(notice)
        event = AuditEvent.ACCOUNT_REGISTERED if created else AuditEvent.SIGNUP_EXISTING
        audit(ports, uow, event, stored.id if stored else None)
        uow.commit()
    return account


def verify_signup(
    ports: Ports, token: str, password: str, *, policy: ThrottlePolicy
) -> None:
    """Open a verified sign-up with its link and its password (SPEC X5).

    The token stays usable when the password is wrong, so that its owner
    can try again; a link that reached the mailbox of somebody else's
    sign-up opens nothing. A wrong password is a guess at the account's
    password: counted on the account's password-check count, as a
    password change's current password is (SPEC P4), and past the cap the
    link is refused before any hash. The password is checked with no
    transaction open (on SQLite one holds the database's write lock, which
    a link tried in a loop would otherwise hold for the shop); the sign-up
    opens only if its session stamp is still the one read.
    """
    now = ports.clock.now()
    key = token_digest(token, TokenPurpose.SIGNUP_VERIFY)
    with ports.uow() as uow:
        account = _signup_of(uow, key, now)
        login_throttle.refuse_password_check(
            uow, policy, account.id, now, path="password"
        )
        stored, stamp = account.password_hash, account.session_stamp
    matched = stored is not None and ports.hasher.verify(stored, password)
    now = ports.clock.now()  # judged when written (see AuthService.login)
    with ports.uow() as uow:
        # The email's failure count, then the account, before its other
        # rows: the order of login, erasure and a replacing sign-up
        # (PostgreSQL), so none of them deadlocks with this one.
        lock_token_account(uow, token, TokenPurpose.SIGNUP_VERIFY)
        account = _signup_of(uow, key, now)
        budget = login_throttle.refuse_password_check(
            uow, policy, account.id, now, path="password"
        )
        if account.session_stamp != stamp:  # opened by a concurrent call
            raise invalid_token()
        if not matched:
            login_throttle.record_failure(uow, budget, now)
            uow.commit()
            raise ValidationError.single("password", "password.wrong_current")
        # The count's row before the token's: the order of erasure and of
        # a replacing sign-up (PostgreSQL); undone below if the token died.
        login_throttle.record_success(uow, budget)
        if uow.tokens.consume(key, TokenPurpose.SIGNUP_VERIFY, now) is None:
            raise invalid_token()  # used by a concurrent call
        opened = account.verify_signup(now, ports.new_stamp)
        save(ports, uow, account)
        if opened:
            mail_account(ports, uow, MailKind.WELCOME, account)
            audit(ports, uow, AuditEvent.SIGNUP_VERIFIED, account.id)
            uow.events.add(*welcome_events(ports, account, EventType.REGISTERED))
        uow.commit()


def _signup_of(uow: UnitOfWork, key: str, now: datetime) -> Account:
    """Return the account a usable sign-up link (its digest *key*) opens.

    Raises:
        ValidationError: ``token.invalid`` for a link unknown, used,
            expired, or whose sign-up was replaced or expired.
    """
    _, account = linked_account(uow, key, now)
    if not account.holds_email(now):
        raise invalid_token()
    return account


def purge_unverified(ports: Ports, *, limit: int = 500) -> int:
    """Remove unverified sign-ups older than 24 hours; return how many (SPEC X5)."""
    now = ports.clock.now()
    with ports.uow() as uow:
        doomed = uow.accounts.unverified_before(now - UNVERIFIED_TTL, limit)
        removed = 0
        for account_id in doomed:
            account = uow.accounts.get(account_id)
            if account is not None and remove_if_unverified(uow, account):
                removed += 1
        uow.commit()
    return removed
