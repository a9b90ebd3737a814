"""What every group of use cases shares: ports, ids, mails, audit, password changes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import attrs

from echoppe_accounts.domain.account import Account, AccountStatus
from echoppe_accounts.domain.audit import AuditEvent, AuditRecord
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
from echoppe_accounts.domain.text import is_valid_unicode
from echoppe_accounts.domain.tokens import TokenPurpose
from echoppe_accounts.domain.tokens import digest as token_digest
from echoppe_accounts.ports import (
    Clock,
    PasswordHasher,
    SecretSource,
    UnitOfWork,
    UnitOfWorkFactory,
)
from echoppe_accounts.service_layer import mails
from echoppe_accounts.service_layer.outbox import outbox_key
from echoppe_accounts.service_layer.settings import Settings

log = logging.getLogger("echoppe_accounts")
"""The library's logger: event names and account ids, never a secret (SPEC R9)."""


MAX_ID_LENGTH = 64
"""Longest text looked up as an account id; the library's are 36 characters."""


def is_account_id(value: object) -> bool:
    """Tell whether *value* could be an account id worth looking up (SPEC F9)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ID_LENGTH
        and is_valid_unicode(value)
    )


def _shown(value: object) -> str:
    """Return a short, printable stand-in for an id that cannot be one."""
    text = value if isinstance(value, str) else type(value).__name__
    return text[:MAX_ID_LENGTH].encode("utf-8", "replace").decode()


def uuid7_text(raw: bytes, unix_ms: int) -> str:
    """Return a version 7 UUID's text (RFC 9562): *unix_ms*, then *raw*'s bits.

    The first 48 bits are the Unix time in milliseconds, the rest come from
    the 16 random bytes *raw* (74 of their bits are kept, beside the
    version and variant). Ids made one after the other sort in the order
    they were made, so new rows go to the end of the indexes on ids rather
    than to random places of them (an import writes a tenth faster, and
    stays as fast as its database grows); an id shows when it was made,
    to the millisecond.
    """
    octets = bytearray(raw)
    octets[0:6] = unix_ms.to_bytes(6, "big")
    octets[6] = octets[6] & 0x0F | 0x70  # version 7
    octets[8] = octets[8] & 0x3F | 0x80  # RFC 9562 variant
    h = octets.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def unix_ms() -> int:
    """Return the system clock's Unix time in milliseconds (for ids)."""
    return time.time_ns() // 1_000_000


@attrs.define
class UseCases:
    """The ports and settings the use cases work with.

    .. versionadded:: 0.2.0
    """

    uow: UnitOfWorkFactory
    clock: Clock
    secrets: SecretSource
    hasher: PasswordHasher
    settings: Settings

    def _new_id(self) -> str:
        return uuid7_text(self.secrets.token_bytes(16), unix_ms())

    @contextmanager
    def _account(
        self, account_id: str, *, erased: bool = False
    ) -> Iterator[tuple[UnitOfWork, Account]]:
        """Open a unit of work on *account_id*, refusing an erased account.

        An erased account is inert (SPEC G3): only reads pass *erased*.

        Raises:
            NotFoundError: No such account, or *account_id* cannot be an id
                (too long, not valid Unicode: SPEC F9).
            ValidationError: ``account.erased`` when the account was erased
                and *erased* is false.
        """
        if not is_account_id(account_id):
            raise NotFoundError(_shown(account_id))
        with self.uow() as uow:
            account = uow.accounts.get(account_id)
            if account is None:
                raise NotFoundError(account_id)
            if account.is_erased and not erased:
                raise ValidationError.single("account", "account.erased")
            yield uow, account

    def _queue(
        self,
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

        *expires_at* is when the token or temporary password the mail
        carries stops working: the outbox drops the mail rather than send
        it later (SPEC O1).
        """
        mail = mails.render(
            kind,
            language,
            mail_id=self._new_id(),
            to=to,
            created_at=self.clock.now(),
            values={"shop": self.settings.shop_name, "name": "", **values},
            links=links,
            settings=self.settings,
        )
        # Erasure finds the mail by its account, whatever address it goes
        # to, and by the canonical key of its recipient (SPEC G3).
        mail = attrs.evolve(mail, account_id=account_id, expires_at=expires_at)
        key = outbox_key(self.settings.outbox_key)
        uow.outbox.add(seal_mail(mail, key, self.secrets.token_bytes))

    def _mail_account(
        self,
        uow: UnitOfWork,
        kind: MailKind,
        account: Account,
        links: Sequence[str] = (),
        *,
        expires_at: datetime | None = None,
        **values: object,
    ) -> None:
        # Always the stored address: never one a requester typed (SPEC R1).
        self._queue(
            uow,
            kind,
            to=account.email.address,
            language=account.language,
            links=links,
            account_id=account.id,
            expires_at=expires_at,
            name=account.name,
            **values,
        )

    def _audit(
        self,
        uow: UnitOfWork,
        event: AuditEvent,
        account_id: str | None,
        *,
        actor: str = "customer",
        **details: str,
    ) -> None:
        uow.audit.add(
            AuditRecord(
                self._new_id(), self.clock.now(), event, account_id, actor, details
            )
        )
        log.info("%s account=%s actor=%s", event.value, account_id or "-", actor)

    def _redeem(
        self, uow: UnitOfWork, token: str, purpose: TokenPurpose, now: datetime
    ) -> Account | None:
        """Use up a link's *token* for *purpose*; return its account, if any.

        ``None`` when the token is unknown, used, expired, revoked or of
        another purpose, or its account is gone.
        """
        record = uow.tokens.consume(token_digest(token, purpose), purpose, now)
        return uow.accounts.get(record.account_id) if record else None

    def _kill_pending(self, uow: UnitOfWork, account_id: str, now: datetime) -> None:
        """End every pending reset, link and temporary password (SPEC R8)."""
        uow.tokens.revoke(account_id, list(TokenPurpose), now)
        for request in uow.resets.for_account(account_id):
            if request.is_active(now):
                request.supersede(now)
                uow.resets.save(request)

    def _set_password(
        self, uow: UnitOfWork, account: Account, password: str, now: datetime
    ) -> None:
        """Store a new password and do what every password change implies.

        Pending tokens and temporary passwords die (SPEC R8), failed logins
        are forgotten, the mailbox counts as proven, and the customer is
        told by mail (SPEC R10). An erased account stays erased (SPEC G3).
        """
        if account.is_erased:
            raise ValidationError.single("account", "account.erased")
        account.password_hash = self.hasher.hash(password)
        account.status = AccountStatus.ACTIVE
        account.email_proven_at = account.email_proven_at or now
        # Every other session of the account ends (SPEC P6).
        account.session_stamp = self._new_stamp()
        # The failure count first, then the requests: login's lock order.
        throttle = uow.throttles.get(account.email.login_key)
        throttle.reset()
        uow.throttles.save(throttle)
        self._kill_pending(uow, account.id, now)
        uow.accounts.save(account)
        self._mail_account(uow, MailKind.PASSWORD_CHANGED, account)
        self._audit(uow, AuditEvent.PASSWORD_CHANGED, account.id)
        self._event(uow, EventType.PASSWORD_CHANGED, account.id)

    def _count_client(self, action: ClientAction, client_key: str | None) -> None:
        """Count one call of *action* for *client_key*; refuse past its limit.

        Counted in a transaction of its own, so that a refused call leaves
        nothing else behind; the count holds across processes because it
        is stored like the login failures.

        Raises:
            RateLimitedError: The client went past the limit of *action*.
        """
        limit = self.settings.client_limits.for_action(action)
        if client_key is None or limit is None:
            return
        now = self.clock.now()
        with self.uow() as uow:
            counter = uow.throttles.get(client_counter_key(action, client_key))
            start = counter.last_failure_at
            if start is None or now - start >= limit.window:
                counter.failures, counter.last_failure_at = 0, now
                start = now
            counter.failures += 1
            uow.throttles.save(counter)
            uow.commit()
        if counter.failures > limit.count:
            raise RateLimitedError((start + limit.window - now).total_seconds())

    def _new_stamp(self) -> str:
        """Return a new session stamp (SPEC P6)."""
        return self.secrets.token_urlsafe(16)

    def _event(
        self, uow: UnitOfWork, event: EventType, account_id: str, **data: str
    ) -> None:
        """Record an account event with the change it reports (SPEC O5)."""
        uow.events.add(self._new_event(event, account_id, **data))

    def _new_event(
        self, event: EventType, account_id: str, **data: str
    ) -> AccountEvent:
        """Return a new account event happening now (SPEC O5)."""
        return AccountEvent(self._new_id(), event, account_id, self.clock.now(), data)
