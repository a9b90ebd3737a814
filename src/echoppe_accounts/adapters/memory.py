"""In-memory adapters: storage for tests and prototypes, shipped in the package.

:class:`InMemoryStore` holds the data; each :class:`InMemoryUnitOfWork`
holds the store's lock from ``__enter__`` to ``__exit__``, so transactions
are serialised, and buffers its writes until :meth:`~InMemoryUnitOfWork.commit`.
Objects handed out are copies: changing one without saving it changes nothing.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self, cast

import attrs

from echoppe_accounts.domain.account import Account, AccountStatus, Credentials
from echoppe_accounts.domain.audit import AuditRecord
from echoppe_accounts.domain.errors import ConcurrencyError, ValidationError
from echoppe_accounts.domain.events import AccountEvent
from echoppe_accounts.domain.mail import (
    ADDRESS_WIPED_WHEN_SENT,
    DeadLetter,
    OutboxStats,
    OutgoingMail,
)
from echoppe_accounts.domain.reset import ResetRequest
from echoppe_accounts.domain.throttle import LoginThrottle
from echoppe_accounts.domain.tokens import TokenPurpose, TokenRecord


def _stored(account: Account) -> Account:
    """Return the copy of *account* storage keeps: its state, not its pending effects.

    Effects are what the service applies when it saves an account (links
    to end, counts to forget); like SQLite and PostgreSQL, the store keeps
    none, so an account read back has none to apply again.
    """
    stored = copy.deepcopy(account)
    stored.collect_effects()
    return stored


@attrs.frozen
class _OutboxEntry:
    mail: OutgoingMail
    due_at: datetime
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None
    claimed_until: datetime | None = None
    claim_id: str | None = None
    dead_at: datetime | None = None
    dropped_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.sent_at is None and self.dead_at is None and self.dropped_at is None


@attrs.define
class InMemoryStore:
    """The data behind in-memory units of work.

    .. versionadded:: 0.2.0
    """

    accounts: dict[str, Account] = attrs.field(factory=dict)
    email_keys: dict[str, str] = attrs.field(factory=dict)
    tokens: dict[str, TokenRecord] = attrs.field(factory=dict)
    outbox: dict[str, _OutboxEntry] = attrs.field(factory=dict)
    resets: dict[str, ResetRequest] = attrs.field(factory=dict)
    throttles: dict[str, LoginThrottle] = attrs.field(factory=dict)
    audit: list[AuditRecord] = attrs.field(factory=list)
    events: list[AccountEvent] = attrs.field(factory=list)
    event_positions: dict[str, int] = attrs.field(factory=dict)
    lock: threading.RLock = attrs.field(factory=threading.RLock, repr=False)

    def unit_of_work(self, *, durable: bool = True) -> InMemoryUnitOfWork:
        """Return a new unit of work over this store.

        *durable* is accepted and ignored: nothing here is on disk.
        """
        del durable
        return InMemoryUnitOfWork(self)


class _Accounts:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    def _current(self, account_id: str) -> Account | None:
        if account_id in self._uow.removed_accounts:
            return None
        pending = self._uow.pending_accounts
        if account_id in pending:
            return pending[account_id]
        return self._uow.store.accounts.get(account_id)

    def add(self, *accounts: Account) -> None:
        keys = [a.email.key for a in accounts]
        if len(set(keys)) < len(keys) or any(
            self._key_owner(key) is not None for key in keys
        ):
            raise ValidationError.single("email", "email.taken")
        for account in accounts:
            self._uow.pending_accounts[account.id] = _stored(account)

    def taken_email_keys(self, keys: Collection[str]) -> set[str]:
        return {key for key in keys if self._key_owner(key) is not None}

    def _key_owner(self, key: str) -> str | None:
        for pending in self._uow.pending_accounts.values():
            if pending.email.key == key:
                return pending.id
        owner = self._uow.store.email_keys.get(key)
        return None if owner in self._uow.removed_accounts else owner

    def get(self, account_id: str) -> Account | None:
        found = self._current(account_id)
        return copy.deepcopy(found)

    def get_by_email_key(self, key: str) -> Account | None:
        owner = self._key_owner(key)
        return None if owner is None else self.get(owner)

    def credentials(self, email_key: str) -> Credentials | None:
        owner = self._key_owner(email_key)
        found = None if owner is None else self._current(owner)
        if found is None:
            return None
        return Credentials(
            found.id,
            found.password_hash,
            found.status,
            found.session_stamp,
            found.missing,
        )

    def credentials_by_email_keys(
        self, email_keys: Collection[str]
    ) -> dict[str, Credentials]:
        found = {key: self.credentials(key) for key in email_keys}
        return {key: held for key, held in found.items() if held is not None}

    def session_stamp(self, account_id: str) -> str | None:
        found = self._current(account_id)
        return None if found is None else found.session_stamp

    def lock(self, account_id: str) -> bool:
        # The unit of work holds the store's lock: it is alone already.
        return self._current(account_id) is not None

    def save(self, account: Account) -> None:
        current = self._current(account.id)
        if current is None or current.version != account.version:
            raise ConcurrencyError(account.id)
        owner = self._key_owner(account.email.key)
        if owner not in {None, account.id}:
            raise ValidationError.single("email", "email.taken")
        account.version += 1
        self._uow.pending_accounts[account.id] = _stored(account)

    def get_by_former_email_key(self, key: str) -> Account | None:
        found = sorted(
            (a.former_email_until, a.id)
            for i in {*self._uow.store.accounts, *self._uow.pending_accounts}
            if (a := self._current(i)) is not None
            and a.former_email is not None
            and a.former_email.key == key
            and a.former_email_until is not None
        )
        return self.get(found[-1][1]) if found else None

    def restorable_email_keys(self, keys: Collection[str], now: datetime) -> set[str]:
        wanted = set(keys)
        found: set[str] = set()
        if not wanted:
            return found
        for i in {*self._uow.store.accounts, *self._uow.pending_accounts}:
            a = self._current(i)
            if a is not None and a.former_email is not None:
                key = a.former_email.key
                if key in wanted and a.can_restore(now):
                    found.add(key)
        return found

    def remove(self, account_id: str) -> None:
        self._uow.pending_accounts.pop(account_id, None)
        self._uow.removed_accounts.add(account_id)

    def unverified_before(self, cutoff: datetime, limit: int) -> list[str]:
        found = sorted(
            (a.created_at, a.id)
            for i in {*self._uow.store.accounts, *self._uow.pending_accounts}
            if (a := self._current(i)) is not None
            and a.status is AccountStatus.UNVERIFIED
            and a.created_at < cutoff
        )
        return [account_id for _, account_id in found[:limit]]

    def count(self) -> int:
        store = self._uow.store.accounts
        added = sum(1 for i in self._uow.pending_accounts if i not in store)
        removed = sum(1 for i in self._uow.removed_accounts if i in store)
        return len(store) + added - removed


class _Tokens:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    def _all(self) -> dict[str, TokenRecord]:
        return {**self._uow.store.tokens, **self._uow.pending_tokens}

    def add(self, record: TokenRecord) -> None:
        self._uow.pending_tokens[record.digest] = record

    def find(self, digest: str) -> TokenRecord | None:
        return self._all().get(digest)

    def consume(
        self, digest: str, purpose: TokenPurpose, now: datetime
    ) -> TokenRecord | None:
        record = self.find(digest)
        if record is None or record.purpose is not purpose or not record.is_usable(now):
            return None
        used = attrs.evolve(record, used_at=now)
        self._uow.pending_tokens[digest] = used
        return used

    def revoke(
        self, account_id: str, purposes: Sequence[TokenPurpose], now: datetime
    ) -> int:
        count = 0
        for record in self._all().values():
            if (
                record.account_id == account_id
                and record.purpose in purposes
                and record.is_usable(now)
            ):
                self._uow.pending_tokens[record.digest] = attrs.evolve(
                    record, revoked_at=now
                )
                count += 1
        return count

    def for_account(self, account_id: str) -> list[TokenRecord]:
        records = [r for r in self._all().values() if r.account_id == account_id]
        return sorted(records, key=lambda r: r.created_at)

    def purge(
        self, account_id: str, purposes: Sequence[TokenPurpose], now: datetime
    ) -> int:
        doomed = [
            d
            for d, r in self._all().items()
            if r.account_id == account_id
            and r.purpose in purposes
            and not r.is_usable(now)
        ]
        self._uow.deletions.extend(("tokens", d) for d in doomed)
        for digest in doomed:
            self._uow.pending_tokens.pop(digest, None)
        return len(doomed)

    def delete_for_account(self, account_id: str) -> int:
        doomed = [d for d, r in self._all().items() if r.account_id == account_id]
        self._uow.deletions.extend(("tokens", d) for d in doomed)
        for digest in doomed:
            self._uow.pending_tokens.pop(digest, None)
        return len(doomed)


class _Outbox:
    """The outbox seen through the transaction's changes (copy on write)."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    def _get(self, mail_id: str) -> _OutboxEntry | None:
        changes = self._uow.outbox_changes
        if mail_id in changes:
            return changes[mail_id]
        return self._uow.store.outbox.get(mail_id)

    def _entries(self) -> list[_OutboxEntry]:
        """Every entry, in queue order (stored ones first, as committed)."""
        merged: dict[str, _OutboxEntry | None] = dict(self._uow.store.outbox)
        merged.update(self._uow.outbox_changes)
        return [e for e in merged.values() if e is not None]

    def _put(self, entry: _OutboxEntry) -> None:
        self._uow.outbox_changes[entry.mail.id] = entry

    def add(self, mail: OutgoingMail) -> None:
        self._put(_OutboxEntry(mail, mail.created_at))

    def _due(self, now: datetime) -> list[_OutboxEntry]:
        entries = [e for e in self._entries() if e.pending and e.due_at <= now]
        entries.sort(key=lambda e: e.due_at)  # stable: queue order breaks ties
        return entries

    def due(self, now: datetime, limit: int) -> list[OutgoingMail]:
        return [e.mail for e in self._due(now)[:limit]]

    def claim(
        self,
        now: datetime,
        limit: int,
        until: datetime,
        *,
        claim_id: str | None = None,
    ) -> list[OutgoingMail]:
        free = [
            e
            for e in self._due(now)
            if e.claimed_until is None or e.claimed_until <= now
        ][:limit]
        for entry in free:
            self._put(attrs.evolve(entry, claimed_until=until, claim_id=claim_id))
        return [e.mail for e in free]

    def _held(self, mail_id: str, claim_id: str | None) -> _OutboxEntry | None:
        entry = self._get(mail_id)
        if entry is None or not entry.pending or entry.claim_id != claim_id:
            return None
        return entry

    def renew(
        self, mail_id: str, *, claim_id: str, now: datetime, until: datetime
    ) -> bool:
        entry = self._held(mail_id, claim_id)
        if entry is None or entry.claimed_until is None or entry.claimed_until <= now:
            return False
        self._put(attrs.evolve(entry, claimed_until=until))
        return True

    def holds(self, mail_id: str, *, claim_id: str, now: datetime) -> bool:
        entry = self._held(mail_id, claim_id)
        return (
            entry is not None
            and entry.claimed_until is not None
            and entry.claimed_until > now
        )

    def release(self, mail_ids: Collection[str], *, claim_id: str) -> int:
        released = 0
        for mail_id in set(mail_ids):
            entry = self._get(mail_id)
            if entry is not None and entry.claim_id == claim_id:
                self._put(attrs.evolve(entry, claimed_until=None, claim_id=None))
                released += 1
        return released

    @staticmethod
    def _wiped(entry: _OutboxEntry) -> OutgoingMail:
        # Sealed or not, a delivered or dropped mail's bodies are no longer
        # needed: nothing of them is kept (SPEC O2, R9).
        return attrs.evolve(entry.mail, text="", html="")

    @classmethod
    def _wiped_sent(cls, entry: _OutboxEntry) -> OutgoingMail:
        mail = cls._wiped(entry)
        if mail.kind in ADDRESS_WIPED_WHEN_SENT:  # an erased account's (G3)
            mail = attrs.evolve(mail, to="", recipient_key=None)
        return mail

    def mark_sent(
        self, mail_id: str, at: datetime, *, claim_id: str | None = None
    ) -> bool:
        entry = self._held(mail_id, claim_id)
        if entry is None:
            return False
        # Only the claim's holder marks (SPEC O1); the claim ends with the mark.
        self._put(
            attrs.evolve(
                entry,
                claimed_until=None,
                claim_id=None,
                sent_at=at,
                attempts=entry.attempts + 1,
                mail=self._wiped_sent(entry),
            )
        )
        return True

    def mark_failed(
        self,
        mail_id: str,
        retry_at: datetime,
        error: str,
        *,
        claim_id: str | None = None,
    ) -> bool:
        entry = self._held(mail_id, claim_id)
        if entry is None:
            return False
        self._put(
            attrs.evolve(
                entry,
                claimed_until=None,
                claim_id=None,
                due_at=retry_at,
                attempts=entry.attempts + 1,
                last_error=error,
            )
        )
        return True

    def mark_dead(
        self,
        mail_id: str,
        at: datetime,
        error: str,
        *,
        claim_id: str | None = None,
        attempted: bool = True,
    ) -> bool:
        entry = self._held(mail_id, claim_id)
        if entry is None:
            return False
        self._put(
            attrs.evolve(
                entry,
                claimed_until=None,
                claim_id=None,
                dead_at=at,
                attempts=entry.attempts + int(attempted),
                last_error=error,
            )
        )
        return True

    def mark_dropped(
        self, mail_id: str, at: datetime, reason: str, *, claim_id: str | None = None
    ) -> bool:
        entry = self._held(mail_id, claim_id)
        if entry is None:
            return False
        self._put(
            attrs.evolve(
                entry,
                claimed_until=None,
                claim_id=None,
                dropped_at=at,
                last_error=reason,
                mail=self._wiped(entry),
            )
        )
        return True

    def pending_count(self) -> int:
        return sum(1 for e in self._entries() if e.pending)

    def stats(self) -> OutboxStats:
        entries = self._entries()
        pending = [e.due_at for e in entries if e.pending]
        dead = sum(1 for e in entries if e.dead_at is not None)
        return OutboxStats(len(pending), min(pending, default=None), dead)

    def _dead(self) -> list[_OutboxEntry]:
        return [e for e in self._entries() if e.dead_at is not None]

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        # The latest dead first; of those dead at once, the last queued.
        ordered = sorted(
            enumerate(self._dead()),
            key=lambda pair: (cast("datetime", pair[1].dead_at), pair[0]),
            reverse=True,
        )
        dead = [entry for _, entry in ordered]
        return [
            DeadLetter(
                id=e.mail.id,
                kind=e.mail.kind,
                to=e.mail.to,
                attempts=e.attempts,
                last_error=e.last_error or "",
                dead_at=cast("datetime", e.dead_at),
                created_at=e.mail.created_at,
            )
            for e in dead[:limit]
        ]

    def requeue(self, mail_ids: Collection[str] | None, now: datetime) -> int:
        wanted = None if mail_ids is None else frozenset(mail_ids)
        count = 0
        for entry in self._dead():
            if wanted is None or entry.mail.id in wanted:
                self._put(
                    attrs.evolve(
                        entry,
                        dead_at=None,
                        due_at=now,
                        claimed_until=None,
                        claim_id=None,
                        mail=attrs.evolve(entry.mail, requeued_at=now),
                    )
                )
                count += 1
        return count

    def purge_dead(self, before: datetime | None) -> int:
        doomed = [
            e.mail.id
            for e in self._dead()
            if before is None or cast("datetime", e.dead_at) < before
        ]
        for mail_id in doomed:
            self._uow.outbox_changes[mail_id] = None
        return len(doomed)

    def forget(self, *, account_id: str, email_keys: Collection[str]) -> int:
        keys = frozenset(email_keys)
        doomed = [
            e.mail.id
            for e in self._entries()
            if e.mail.account_id == account_id or e.mail.recipient_key in keys
        ]
        for mail_id in doomed:
            self._uow.outbox_changes[mail_id] = None
        return len(doomed)


class _Resets:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    def _all(self) -> dict[str, ResetRequest]:
        return {**self._uow.store.resets, **self._uow.pending_resets}

    def add(self, request: ResetRequest) -> None:
        self._uow.pending_resets[request.id] = copy.deepcopy(request)

    def find_by_digest(self, digest: str) -> ResetRequest | None:
        for request in self._all().values():
            if digest in {request.confirm_digest, request.cancel_digest}:
                return copy.deepcopy(request)
        return None

    def for_requester(self, requester_key: str, since: datetime) -> list[ResetRequest]:
        return [
            copy.deepcopy(r)
            for r in self._all().values()
            if r.requester_key == requester_key and r.requested_at >= since
        ]

    def for_account(self, account_id: str) -> list[ResetRequest]:
        return [
            copy.deepcopy(r) for r in self._all().values() if r.account_id == account_id
        ]

    def delete_for(self, account_id: str, requester_key: str) -> int:
        doomed = [
            i
            for i, r in self._all().items()
            if r.account_id == account_id or r.requester_key == requester_key
        ]
        self._uow.deletions.extend(("resets", i) for i in doomed)
        for request_id in doomed:
            self._uow.pending_resets.pop(request_id, None)
        return len(doomed)

    def save(self, request: ResetRequest) -> None:
        current = self._all().get(request.id)
        if current is None or current.version != request.version:
            raise ConcurrencyError(request.id)
        request.version += 1
        self._uow.pending_resets[request.id] = copy.deepcopy(request)


class _Throttles:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> LoginThrottle:
        found = self._uow.pending_throttles.get(key) or self._uow.store.throttles.get(
            key
        )
        return copy.deepcopy(found) if found else LoginThrottle(key)

    def save(self, throttle: LoginThrottle) -> None:
        self._uow.pending_throttles[throttle.key] = copy.deepcopy(throttle)

    def delete(self, key: str) -> None:
        self._uow.pending_throttles.pop(key, None)
        self._uow.deletions.append(("throttles", key))


class _Audit:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    def add(self, *records: AuditRecord) -> None:
        self._uow.pending_audit.extend(records)

    def for_account(self, account_id: str) -> list[AuditRecord]:
        stored = [_redacted(r, self._uow.redactions) for r in self._uow.store.audit]
        records = [*stored, *self._uow.pending_audit]
        return [r for r in records if r.account_id == account_id]

    def redact(self, account_id: str, detail_keys: Collection[str]) -> int:
        keys = frozenset(detail_keys)
        redactions = self._uow.redactions
        count = sum(
            1
            for r in self._uow.store.audit
            if r.account_id == account_id
            and not keys.isdisjoint(_redacted(r, redactions).details)
        )
        redactions.append((account_id, keys))
        pending = self._uow.pending_audit
        for i, record in enumerate(pending):
            if record.account_id == account_id and not keys.isdisjoint(record.details):
                pending[i] = _redacted(record, [(account_id, keys)])
                count += 1
        return count


def _redacted(
    record: AuditRecord, redactions: Sequence[tuple[str, frozenset[str]]]
) -> AuditRecord:
    """Return *record* without the detail keys *redactions* name for its account."""
    doomed = {
        key
        for account_id, keys in redactions
        if account_id == record.account_id
        for key in keys
    }
    if doomed.isdisjoint(record.details):
        return record
    details = {k: v for k, v in record.details.items() if k not in doomed}
    return attrs.evolve(record, details=details)


class _Events:
    """Events are numbered from 1 in the order they were committed."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def written(self) -> bool:
        return bool(self._uow.pending_events)

    def add(self, *events: AccountEvent) -> None:
        self._uow.pending_events.extend(events)

    def after(self, position: int, limit: int) -> list[tuple[int, AccountEvent]]:
        stored = self._uow.store.events
        end = min(len(stored), max(position, 0) + limit)
        return [(seq, stored[seq - 1]) for seq in range(max(position, 0) + 1, end + 1)]

    def position(self, handler: str) -> int:
        pending = self._uow.pending_positions
        return pending.get(handler, self._uow.store.event_positions.get(handler, 0))

    def advance(self, handler: str, position: int) -> None:
        self._uow.pending_positions[handler] = max(position, self.position(handler))


class InMemoryUnitOfWork:
    """A serialised transaction over an :class:`InMemoryStore`.

    .. versionadded:: 0.2.0
    """

    def __init__(self, store: InMemoryStore) -> None:
        """Work on *store*."""
        self.store = store
        self.accounts = _Accounts(self)
        self.tokens = _Tokens(self)
        self.outbox = _Outbox(self)
        self.resets = _Resets(self)
        self.throttles = _Throttles(self)
        self.audit = _Audit(self)
        self.events = _Events(self)
        self._reset()

    def _reset(self) -> None:
        self.pending_accounts: dict[str, Account] = {}
        self.removed_accounts: set[str] = set()
        self.pending_tokens: dict[str, TokenRecord] = {}
        self.outbox_changes: dict[str, _OutboxEntry | None] = {}
        self.pending_resets: dict[str, ResetRequest] = {}
        self.pending_throttles: dict[str, LoginThrottle] = {}
        self.pending_audit: list[AuditRecord] = []
        self.deletions: list[tuple[str, str]] = []
        self.redactions: list[tuple[str, frozenset[str]]] = []
        self.pending_events: list[AccountEvent] = []
        self.pending_positions: dict[str, int] = {}

    def __enter__(self) -> Self:
        """Take the store's lock."""
        self.store.lock.acquire()
        self._reset()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drop uncommitted changes and release the lock."""
        self._reset()
        self.store.lock.release()

    def _commit_removals(self) -> None:
        """Remove the accounts removed in this unit of work, before any addition."""
        store = self.store
        for account_id in self.removed_accounts:
            removed = store.accounts.pop(account_id, None)
            if removed is not None:
                store.email_keys.pop(removed.email.key, None)
            for digest, token in list(store.tokens.items()):
                if token.account_id == account_id:
                    del store.tokens[digest]

    def commit(self) -> None:
        """Apply the buffered changes to the store."""
        store = self.store
        self._commit_removals()
        for account in self.pending_accounts.values():
            old = store.accounts.get(account.id)
            if old is not None:
                store.email_keys.pop(old.email.key, None)
            store.accounts[account.id] = account
            store.email_keys[account.email.key] = account.id
        store.tokens.update(self.pending_tokens)
        store.resets.update(self.pending_resets)
        store.throttles.update(self.pending_throttles)
        if self.redactions:
            store.audit[:] = [_redacted(r, self.redactions) for r in store.audit]
        store.audit.extend(self.pending_audit)
        store.events.extend(self.pending_events)
        store.event_positions.update(self.pending_positions)
        for table, key in self.deletions:
            getattr(store, table).pop(key, None)
        for mail_id, entry in self.outbox_changes.items():
            if entry is None:
                store.outbox.pop(mail_id, None)
            else:
                store.outbox[mail_id] = entry
        self._reset()
