"""What every use case works with: a bundle of ports and a few plain helpers.

A use case is a function of a :class:`Ports` and its arguments: it loads an
account, calls one of its methods, saves it with :func:`save` (which applies
the effects the method recorded: links ended, failure counts forgotten,
mails wiped) and queues the mails, audit records and events it decides.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

import attrs

from echoppe_accounts.domain.account import Account
from echoppe_accounts.domain.audit import AuditEvent, AuditRecord
from echoppe_accounts.domain.device import device_failure_key
from echoppe_accounts.domain.effects import (
    Effect,
    EndLinks,
    ForgetEverything,
    ForgetFailures,
)
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import (
    Language,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from echoppe_accounts.domain.events import AccountEvent, EventType
from echoppe_accounts.domain.limits import ClientAction, client_counter_key
from echoppe_accounts.domain.mail import MailKind
from echoppe_accounts.domain.sealing import seal_mail
from echoppe_accounts.domain.tokens import (
    TOKEN_BYTES,
    Secret,
    TokenPurpose,
    TokenRecord,
)
from echoppe_accounts.domain.tokens import digest as token_digest
from echoppe_accounts.ports import (
    Clock,
    PasswordHasher,
    SecretSource,
    UnitOfWork,
    UnitOfWorkFactory,
)
from echoppe_accounts.service_layer import mails
from echoppe_accounts.service_layer.account_lock import lock_account
from echoppe_accounts.service_layer.ids import (
    MAX_ID_LENGTH,
    is_account_id,
    shown,
    unix_ms,
    uuid7_text,
)
from echoppe_accounts.service_layer.outbox import outbox_key
from echoppe_accounts.service_layer.settings import Settings

log = logging.getLogger("echoppe_accounts")
"""The library's logger: event names and account ids, never a secret (SPEC R9)."""

# Ids: re-exported for the use cases and the importer.
__all__ = [
    "MAX_ID_LENGTH",
    "Ports",
    "is_account_id",
    "shown",
    "unix_ms",
    "uuid7_text",
]


@attrs.frozen
class Ports:
    """The ports and settings a use case works with.

    .. versionadded:: 0.2.0
    """

    uow: UnitOfWorkFactory
    clock: Clock
    secrets: SecretSource
    hasher: PasswordHasher
    settings: Settings

    def new_id(self) -> str:
        """Return a new UUIDv7 id, its time from the clock."""
        return uuid7_text(self.secrets.token_bytes(16), unix_ms(self.clock))

    def new_stamp(self) -> str:
        """Return a new session stamp (SPEC P6)."""
        return self.secrets.token_urlsafe(16)


def signup_notice_key(email: Email) -> str:
    """Return the key under which mails about sign-ups with *email* are counted."""
    return hashlib.sha256(f"signup-notice:{email.key}".encode()).hexdigest()


def express_notice_key(email: Email) -> str:
    """Return the key under which mails about checkouts to *email* are counted.

    A digest of the canonical email, like the login throttle's, so that the
    storage keeps no address for it (SPEC X4, R6).
    """
    return hashlib.sha256(f"express-notice:{email.key}".encode()).hexdigest()


def _notice_keys(email_key: str) -> tuple[str, ...]:
    return tuple(
        hashlib.sha256(f"{kind}:{email_key}".encode()).hexdigest()
        for kind in ("express-notice", "signup-notice", "email-taken-notice")
    )


@contextmanager
def open_account(
    ports: Ports, account_id: str, *, erased: bool = False
) -> Iterator[tuple[UnitOfWork, Account]]:
    """Open a unit of work on *account_id*, refusing an erased account.

    An erased account is inert (SPEC G3): only reads pass *erased*.

    Raises:
        NotFoundError: No such account, or *account_id* cannot be an id.
        ValidationError: ``account.erased`` when the account was erased
            and *erased* is false.
    """
    if not is_account_id(account_id):
        raise NotFoundError(shown(account_id))
    with ports.uow() as uow:
        yield uow, live_account(uow, account_id, erased=erased)


@contextmanager
def open_locked_account(
    ports: Ports, account_id: str, *, erased: bool = False
) -> Iterator[tuple[UnitOfWork, Account]]:
    """Open a unit of work on *account_id* with the account's locks taken.

    The email's failure count, then the account's row, then the account
    read again under them: the order in which every use case that ends the
    account's links or rows takes its locks (on PostgreSQL; elsewhere the
    unit of work is alone already), so two of them on one account run one
    after the other instead of deadlocking. For the use cases whose effects
    end links, resets or mails (SPEC P6, R8, G3).

    Raises:
        NotFoundError: No such account, or *account_id* cannot be an id.
        ValidationError: ``account.erased`` when the account was erased
            and *erased* is false.
    """
    with open_account(ports, account_id, erased=erased) as (uow, read):
        lock_account(uow, read)
        yield uow, live_account(uow, account_id, erased=erased)


def live_account(uow: UnitOfWork, account_id: str, *, erased: bool = False) -> Account:
    """Read the account *account_id* in *uow*, refusing an erased one (SPEC G3).

    For a use case that takes its locks before it reads the account; else
    :func:`open_account`.

    Raises:
        NotFoundError: No such account.
        ValidationError: ``account.erased`` when the account was erased
            and *erased* is false.
    """
    account = uow.accounts.get(account_id)
    if account is None:
        raise NotFoundError(account_id)
    if account.is_erased and not erased:
        raise ValidationError.single("account", "account.erased")
    return account


def live_by_email(uow: UnitOfWork, key: str, now: datetime) -> Account | None:
    """Return the account holding the email *key*, or ``None``.

    An unverified sign-up past its 24 hours counts as absent (SPEC X5).
    """
    account = uow.accounts.get_by_email_key(key)
    if account is None or not account.holds_email(now):
        return None
    return account


def restoring(uow: UnitOfWork, key: str, now: datetime) -> Account | None:
    """Return the account that can still restore the email *key*, or ``None``.

    For 7 days after an email change the former address stays the
    account's to take back (SPEC F10): nobody else may claim it.
    """
    account = uow.accounts.get_by_former_email_key(key)
    if account is None or not account.can_restore(now):
        return None
    return account


def _apply(uow: UnitOfWork, account_id: str, effect: Effect, now: datetime) -> None:
    if isinstance(effect, ForgetFailures):
        for key in (effect.login_key, effect.check_key):
            if key:
                throttle = uow.throttles.get(key)
                throttle.reset()
                uow.throttles.save(throttle)
    elif isinstance(effect, EndLinks):
        uow.tokens.revoke(account_id, sorted(effect.purposes), now)
        if effect.resets:
            for request in uow.resets.for_account(account_id):
                if request.is_active(now):
                    request.supersede(now)
                    uow.resets.save(request)
    else:
        _forget_everything(uow, account_id, effect)


def _forget_everything(
    uow: UnitOfWork, account_id: str, effect: ForgetEverything
) -> None:
    """Delete what erasure reaches beside the account's row (SPEC G3)."""
    for login_key in sorted(effect.login_keys):
        uow.throttles.delete(login_key)
    for email_key in sorted(effect.email_keys):
        for notice in _notice_keys(email_key):
            uow.throttles.delete(notice)
    # The count of wrong current passwords given to a password change (P4).
    if effect.check_key:
        uow.throttles.delete(effect.check_key)
    # Each device token's own failure count (SPEC P4) goes with the token.
    for record in uow.tokens.for_account(account_id):
        if record.purpose is TokenPurpose.DEVICE:
            uow.throttles.delete(device_failure_key(record.digest))
    uow.tokens.delete_for_account(account_id)
    for login_key in sorted(effect.login_keys):
        uow.resets.delete_for(account_id, login_key)
    # Mails concerning the account, to any address it held or asked for,
    # and mails to those addresses before the account existed.
    uow.outbox.forget(account_id=account_id, email_keys=effect.email_keys)


def save(ports: Ports, uow: UnitOfWork, account: Account) -> None:
    """Apply what *account*'s transitions recorded, then store it.

    Links die before the caller issues new ones in the same unit of work.
    """
    now = ports.clock.now()
    for effect in account.collect_effects():
        _apply(uow, account.id, effect, now)
    uow.accounts.save(account)


def issue_link(  # noqa: PLR0917 (a link's parts, read in order)
    ports: Ports,
    uow: UnitOfWork,
    account_id: str,
    purpose: TokenPurpose,
    ttl: timedelta,
    path: str,
) -> str:
    """Store a new single-use token of *purpose* and return its link (SPEC R2, R9)."""
    token = Secret(ports.secrets.token_urlsafe(TOKEN_BYTES))
    uow.tokens.add(
        TokenRecord.issue(token, purpose, account_id, now=ports.clock.now(), ttl=ttl)
    )
    return ports.settings.link(path, token.reveal())


def redeem(
    uow: UnitOfWork, token: str, purpose: TokenPurpose, now: datetime
) -> Account | None:
    """Use up a link's *token* for *purpose*; return its account, if any."""
    record = uow.tokens.consume(token_digest(token, purpose), purpose, now)
    return uow.accounts.get(record.account_id) if record else None


def queue_mail(
    ports: Ports,
    uow: UnitOfWork,
    kind: MailKind,
    *,
    to: str,
    language: Language,
    links: Sequence[str] = (),
    account_id: str | None = None,
    expires_at: datetime | None = None,
    **values: object,
) -> None:
    """Queue a mail, its bodies sealed (SPEC O2).

    *expires_at* is when the secret the mail carries stops working: the
    outbox drops the mail rather than send it later (SPEC O1). Erasure
    finds the mail by its account and by its recipient's key (SPEC G3).
    """
    settings = ports.settings
    mail = mails.render(
        kind,
        language,
        mail_id=ports.new_id(),
        to=to,
        created_at=ports.clock.now(),
        values={"shop": settings.shop_name, "name": "", **values},
        links=links,
        settings=settings,
    )
    mail = attrs.evolve(mail, account_id=account_id, expires_at=expires_at)
    key = outbox_key(settings.outbox_key)
    uow.outbox.add(seal_mail(mail, key, ports.secrets.token_bytes))


def mail_account(
    ports: Ports,
    uow: UnitOfWork,
    kind: MailKind,
    account: Account,
    links: Sequence[str] = (),
    *,
    expires_at: datetime | None = None,
    **values: object,
) -> None:
    """Queue a mail to the account's stored address (never a typed one, SPEC R1).

    The greeting holds the account's name only once its mailbox is proven:
    a mail to an unproven address carries no text a requester typed
    (SPEC F10, X5).
    """
    queue_mail(
        ports,
        uow,
        kind,
        to=account.email.address,
        language=account.language,
        links=links,
        account_id=account.id,
        expires_at=expires_at,
        **{"name": account.name if account.mailbox_proven else "", **values},
    )


def audit(
    ports: Ports,
    uow: UnitOfWork,
    event: AuditEvent,
    account_id: str | None,
    *,
    actor: str = "customer",
    **details: str,
) -> None:
    """Add an audit record; log its event name, never a secret (SPEC R9)."""
    # One reading of the clock for the record's time and its id's.
    now = ports.clock.now()
    record_id = uuid7_text(ports.secrets.token_bytes(16), int(now.timestamp() * 1000))
    uow.audit.add(AuditRecord(record_id, now, event, account_id, actor, details))
    log.info("%s account=%s actor=%s", event.value, account_id or "-", actor)


def new_event(
    ports: Ports, event: EventType, account_id: str, **data: str
) -> AccountEvent:
    """Return a new account event happening now (SPEC O5)."""
    return AccountEvent(ports.new_id(), event, account_id, ports.clock.now(), data)


def record_event(
    ports: Ports, uow: UnitOfWork, event: EventType, account_id: str, **data: str
) -> None:
    """Record an account event with the change it reports (SPEC O5)."""
    uow.events.add(new_event(ports, event, account_id, **data))


def count_client(ports: Ports, action: ClientAction, client_key: str | None) -> None:
    """Count one call of *action* for *client_key*; refuse past its limit.

    Counted in a transaction of its own, so that a refused call leaves
    nothing else behind.

    Raises:
        RateLimitedError: The client went past the limit of *action*.
    """
    if client_key is None:  # nothing to count: the limits are not looked up
        return
    limit = ports.settings.client_limits.for_action(action)
    if limit is None:
        return
    count_under(
        ports, client_counter_key(action, client_key), limit.count, limit.window
    )


def count_under(ports: Ports, key: str, count: int, window: timedelta) -> None:
    """Count one call under *key*; refuse past *count* calls per *window*.

    Raises:
        RateLimitedError: Past the limit; the call is not done.
    """
    now = ports.clock.now()
    with ports.uow() as uow:
        counter = uow.throttles.get(key)
        start = counter.last_failure_at
        if start is None or now - start >= window:
            counter.failures, counter.last_failure_at = 0, now
            start = now
        counter.failures += 1
        uow.throttles.save(counter)
        uow.commit()
    if counter.failures > count:
        raise RateLimitedError((start + window - now).total_seconds())


def invalid_token() -> ValidationError:
    """Return the error of a link that is unknown, used, expired or revoked."""
    return ValidationError.single("token", "token.invalid")


def linked_account(
    uow: UnitOfWork, token_digest: str, now: datetime
) -> tuple[TokenRecord, Account]:
    """Return a usable link's token record (by its digest) and its live account.

    Raises:
        ValidationError: ``token.invalid`` for a link unknown, used,
            expired or revoked, or whose account is gone or erased.
    """
    record = uow.tokens.find(token_digest)
    account = uow.accounts.get(record.account_id) if record else None
    if (
        record is None
        or account is None
        or account.is_erased
        or not record.is_usable(now)
    ):
        raise invalid_token()
    return record, account


def welcome_events(
    ports: Ports, account: Account, event: EventType, **data: str
) -> list[AccountEvent]:
    """Return *event* for *account*, and the subscription's if it took effect (O5)."""
    events = [new_event(ports, event, account.id, **data)]
    if account.subscribed:
        events.append(new_event(ports, EventType.NEWSLETTER_SUBSCRIBED, account.id))
    return events
