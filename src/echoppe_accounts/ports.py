"""The ports: protocols the library needs and the shop's adapters provide.

Storage, mail, time, randomness and password hashing come in through these
:class:`typing.Protocol` s, so that the domain and the use cases never touch
a database driver, a mail server, the system clock or ``secrets`` directly.
The package ships adapters for each (memory, SQLite, Maildir, system).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from echoppe_accounts.domain.account import Account, Credentials
from echoppe_accounts.domain.audit import AuditRecord
from echoppe_accounts.domain.events import AccountEvent
from echoppe_accounts.domain.mail import DeadLetter, OutboxStats, OutgoingMail
from echoppe_accounts.domain.reset import ResetRequest
from echoppe_accounts.domain.throttle import LoginThrottle
from echoppe_accounts.domain.tokens import TokenPurpose, TokenRecord

if TYPE_CHECKING:
    # Only the analytics sinks use it: the storage ports load no analytics
    # code, which a process imports when it tracks its first hit (issue 22).
    from echoppe_accounts.domain.analytics import AnalyticsEvent


class Clock(Protocol):
    """Protocol: tells the current time, always timezone-aware UTC.

    .. versionadded:: 0.2.0
    """

    def now(self) -> datetime:
        """Return the current UTC time."""
        ...


class SecretSource(Protocol):
    """Protocol: a cryptographically secure source of randomness.

    .. versionadded:: 0.2.0
    """

    def token_bytes(self, nbytes: int) -> bytes:
        """Return *nbytes* random bytes."""
        ...

    def token_urlsafe(self, nbytes: int) -> str:
        """Return *nbytes* random bytes as URL-safe text."""
        ...

    def randbelow(self, upper: int) -> int:
        """Return a random integer in ``range(upper)``."""
        ...


class PasswordHasher(Protocol):
    """Protocol: turns passwords into hashes and checks them.

    .. versionadded:: 0.2.0
    """

    def hash(self, password: str) -> str:
        """Return the hash of *password* (PHC string)."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether *password* matches *password_hash*, in constant time."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether *password_hash* was made with outdated parameters."""
        ...


class Mailer(Protocol):
    """Protocol: hands one mail to a mail server or mailbox.

    Raises :class:`~echoppe_accounts.DeliveryError` when it cannot; the mail
    then stays in the outbox for a later attempt.

    .. versionadded:: 0.2.0
    """

    def send(self, mail: OutgoingMail, sender: str) -> None:
        """Deliver *mail* from *sender*."""
        ...


class TwoStepMailer(Mailer, Protocol):
    """Protocol: a mailer that hands a mail over and hears the verdict later.

    The :class:`~echoppe_accounts.OutboxDispatcher` uses :meth:`start_send`
    when its mailer has it, to open its next mail while the server reads
    the message; :class:`~echoppe_accounts.SMTPMailer` has it.

    .. versionadded:: 0.2.0
    """

    def start_send(
        self,
        mail: OutgoingMail,
        sender: str,
        *,
        ready: Callable[[], bool] | None = None,
    ) -> Callable[[], None]:
        """Hand *mail* over but for the verdict; return the wait for it.

        *ready*, if given, is called before any of the message goes; if it
        returns false the mail does not go, and the wait does nothing. The
        returned function returns once the mail is delivered and raises
        :class:`~echoppe_accounts.DeliveryError` as ``send`` would
        otherwise; it is called before anything else is asked of the mailer.
        """
        ...


class AccountRepository(Protocol):
    """Protocol: stores accounts; the canonical email key is unique.

    .. versionadded:: 0.2.0
    """

    def add(self, *accounts: Account) -> None:
        """Store new accounts; a taken email key raises ``email.taken``.

        All of them or, when one's key is taken (by a stored account or by
        another of *accounts*), none: the unit of work stays usable.
        """
        ...

    def taken_email_keys(self, keys: Collection[str]) -> set[str]:
        """Return those of *keys* that an account's email key holds.

        One look-up for many (an import's batch); an empty set when none.

        .. versionadded:: 0.2.0
        """
        ...

    def get(self, account_id: str) -> Account | None:
        """Return the account *account_id*, or ``None``."""
        ...

    def get_by_email_key(self, key: str) -> Account | None:
        """Return the account whose canonical email key is *key*, or ``None``."""
        ...

    def credentials(self, email_key: str) -> Credentials | None:
        """Return what a login needs of the account of *email_key*, or ``None``.

        One indexed read of one row: no addresses, no consents.

        .. versionadded:: 0.2.0
        """
        ...

    def credentials_by_email_keys(
        self, email_keys: Collection[str]
    ) -> dict[str, Credentials]:
        """Return :meth:`credentials` of the accounts holding any of *email_keys*.

        By email key, for those of *email_keys* that an account holds (the
        keys of :meth:`taken_email_keys`): one look-up of their rows for
        many keys (an import's batch, which must tell its own accounts and
        unproven sign-ups from the others, SPEC M1, X5); an empty dict when
        none.

        .. versionadded:: 0.2.0
        """
        ...

    def session_stamp(self, account_id: str) -> str | None:
        """Return the session stamp of *account_id*, or ``None`` (SPEC P6).

        One indexed read: shops call it on every request of a session.

        .. versionadded:: 0.2.0
        """
        ...

    def lock(self, account_id: str) -> bool:
        """Lock the account *account_id* until the transaction ends; tell if it exists.

        Use cases that change an account through several rows (its links,
        its tokens) take this lock first, so that two of them on one
        account run one after the other and never wait on each other's
        rows in opposite orders (a deadlock).

        .. versionadded:: 0.2.0
        """
        ...

    def save(self, account: Account) -> None:
        """Store the changes to *account*; raise ConcurrencyError on a lost update."""
        ...

    def get_by_former_email_key(self, key: str) -> Account | None:
        """Return the account whose former email has the key *key*, or ``None``.

        The one with the latest restore window when several have (SPEC F10).

        .. versionadded:: 0.2.0
        """
        ...

    def restorable_email_keys(self, keys: Collection[str], now: datetime) -> set[str]:
        """Return those of *keys* that some account can still restore at *now*.

        A key is restorable when an account's former email has it and its
        restore window ends after *now* (SPEC F10): for 7 days after an
        email change the former address stays the account's to take back,
        and nobody else may claim it. The same rule as
        :meth:`get_by_former_email_key` followed by
        :meth:`~echoppe_accounts.Account.can_restore`, for many keys in one
        look-up (an import's batch); an empty set when none.

        .. versionadded:: 0.2.0
        """
        ...

    def remove(self, account_id: str) -> None:
        """Delete the account *account_id*, its addresses, consents and links.

        For an unverified sign-up that expired or was replaced (SPEC X5);
        an erased account is kept (its invoice data, SPEC G3).

        .. versionadded:: 0.2.0
        """
        ...

    def unverified_before(self, cutoff: datetime, limit: int) -> list[str]:
        """Return the ids of at most *limit* unverified sign-ups made before *cutoff*.

        Oldest first (SPEC X5).

        .. versionadded:: 0.2.0
        """
        ...

    def count(self) -> int:
        """Return how many accounts are stored."""
        ...


class TokenRepository(Protocol):
    """Protocol: stores token records by digest.

    .. versionadded:: 0.2.0
    """

    def add(self, record: TokenRecord) -> None:
        """Store a freshly issued token."""
        ...

    def find(self, digest: str) -> TokenRecord | None:
        """Return the record with *digest*, usable or not, or ``None``."""
        ...

    def consume(
        self, digest: str, purpose: TokenPurpose, now: datetime
    ) -> TokenRecord | None:
        """Mark a usable token used and return it; ``None`` if it was not usable.

        Atomic: when several callers consume one token at once, exactly one
        gets the record (SPEC R8).
        """
        ...

    def revoke(
        self, account_id: str, purposes: Sequence[TokenPurpose], now: datetime
    ) -> int:
        """Revoke every usable token of *account_id* for *purposes*; return how many."""
        ...

    def for_account(self, account_id: str) -> list[TokenRecord]:
        """Return every token record of *account_id*, oldest first."""
        ...

    def purge(
        self, account_id: str, purposes: Sequence[TokenPurpose], now: datetime
    ) -> int:
        """Delete the records of *account_id* for *purposes* that are of no more use.

        Those used, revoked or expired at *now*; return how many. Keeps the
        tokens a login issues each time (device tokens) from piling up. An
        adapter may leave rows that a concurrent transaction holds to a
        later purge rather than wait for them.

        .. versionadded:: 0.2.0
        """
        ...

    def delete_for_account(self, account_id: str) -> int:
        """Delete every token record of *account_id* (erasure); return how many."""
        ...


class ResetRepository(Protocol):
    """Protocol: stores password-reset requests.

    .. versionadded:: 0.2.0
    """

    def add(self, request: ResetRequest) -> None:
        """Store a new request."""
        ...

    def find_by_digest(self, digest: str) -> ResetRequest | None:
        """Return the request whose confirm or cancel link has *digest*."""
        ...

    def for_requester(self, requester_key: str, since: datetime) -> list[ResetRequest]:
        """Return the requests for *requester_key* made since *since*, oldest first.

        The requester key stays locked until the transaction ends, so two
        simultaneous requests cannot both pass the cooldown (SPEC R6).
        """
        ...

    def for_account(self, account_id: str) -> list[ResetRequest]:
        """Return every request of *account_id*, oldest first."""
        ...

    def delete_for(self, account_id: str, requester_key: str) -> int:
        """Delete the requests of *account_id* or *requester_key* (erasure)."""
        ...

    def save(self, request: ResetRequest) -> None:
        """Store changes; raise ConcurrencyError if it changed since it was read.

        This is what makes a link or a temporary password single-use under
        concurrency (SPEC R8): of two transactions that read the same
        version, only the first save succeeds.
        """
        ...


class ThrottleRepository(Protocol):
    """Protocol: failed-login counts per login identifier (SPEC P4).

    .. versionadded:: 0.2.0
    """

    def get(self, key: str) -> LoginThrottle:
        """Return the count of *key* (a fresh one if none is stored).

        The key stays locked until the transaction ends: the caller reads,
        changes and saves the count, and a concurrent login must not lose
        a failure in between (SPEC P4).
        """
        ...

    def save(self, throttle: LoginThrottle) -> None:
        """Store *throttle*, replacing the previous count of its key."""
        ...

    def delete(self, key: str) -> None:
        """Forget the count of *key* (erasure)."""
        ...


class AuditLog(Protocol):
    """Protocol: the audit trail, appended to, and redacted only by erasure.

    .. versionadded:: 0.2.0
    """

    def add(self, *records: AuditRecord) -> None:
        """Append *records*, in order."""
        ...

    def for_account(self, account_id: str) -> list[AuditRecord]:
        """Return the records of *account_id*, oldest first."""
        ...

    def redact(self, account_id: str, detail_keys: Collection[str]) -> int:
        """Remove *detail_keys* from the details of every record of *account_id*.

        Erasure uses it for free text typed about the customer, such as a
        provisional password's reason (SPEC G3); the records themselves
        stay. Returns how many records changed.

        .. versionadded:: 0.2.0
        """
        ...


class EventLog(Protocol):
    """Protocol: account events, written with the change they report (SPEC O5).

    Each event has a position, a number that grows in the order events
    become visible to readers (an adapter may leave an event of a
    transaction still open for a later read, never skip it); a handler's
    position is that of the last event it was given.

    .. versionadded:: 0.2.0
    """

    @property
    def written(self) -> bool:
        """Whether this transaction added an event."""
        ...

    def add(self, *events: AccountEvent) -> None:
        """Append *events*, in order; stored only if the transaction commits."""
        ...

    def after(self, position: int, limit: int) -> list[tuple[int, AccountEvent]]:
        """Return up to *limit* events numbered after *position*, oldest first."""
        ...

    def position(self, handler: str) -> int:
        """Return *handler*'s position, 0 at first."""
        ...

    def advance(self, handler: str, position: int) -> None:
        """Record that *handler* was given every event up to *position*.

        A position never moves back: of two dispatchers that delivered the
        same events, the later record changes nothing.
        """
        ...


class AnalyticsSink(Protocol):
    """Protocol: where anonymised analytics events go (SPEC N2, N5).

    .. versionadded:: 0.2.0
    """

    def add(self, event: AnalyticsEvent) -> None:
        """Store one anonymised event."""
        ...

    def purge(self, before: datetime) -> int:
        """Delete the events older than *before*; return how many."""
        ...

    def events(self) -> list[AnalyticsEvent]:
        """Return every stored event, oldest first (for reports and audits)."""
        ...


class Outbox(Protocol):
    """Protocol: mails decided in a transaction, waiting to be delivered.

    A mail is *pending* until it is marked sent, dead (a dead letter, which
    an operator may requeue or purge) or dropped (its secret expired). A
    dispatcher *claims* pending mails under a claim id of its own, for a
    lease; only the holder of a mail's claim can renew it or mark the mail
    (SPEC O1), so a dispatcher whose lease lapsed cannot mark a mail another
    one has taken meanwhile. The marks return whether they took effect.

    *claim_id* ``None`` stands for "no claim": tools and tests may mark a
    mail no dispatcher holds; a mail held under a claim id cannot be marked
    that way.

    .. versionadded:: 0.2.0
    """

    def add(self, mail: OutgoingMail) -> None:
        """Queue *mail*; it is stored only if the transaction commits."""
        ...

    def due(self, now: datetime, limit: int) -> list[OutgoingMail]:
        """Return up to *limit* pending mails whose next attempt is due at *now*."""
        ...

    def claim(
        self,
        now: datetime,
        limit: int,
        until: datetime,
        *,
        claim_id: str | None = None,
    ) -> list[OutgoingMail]:
        """Take up to *limit* due mails that no one holds, and hold them until *until*.

        Several dispatchers may share one outbox: a mail claimed by one is
        not handed to another until its claim lapses (a crashed dispatcher's
        mails come back then). The mails are held under *claim_id*.
        """
        ...

    def renew(
        self, mail_id: str, *, claim_id: str, now: datetime, until: datetime
    ) -> bool:
        """Extend the claim on *mail_id* to *until*, if *claim_id* still holds it.

        Returns false when the claim lapsed at *now* (another dispatcher may
        have taken the mail) or the mail is no longer pending: the caller
        must not hand the mail to the mailer then.

        .. versionadded:: 0.2.0
        """
        ...

    def holds(self, mail_id: str, *, claim_id: str, now: datetime) -> bool:
        """Tell whether *claim_id* still holds *mail_id* at *now*; change nothing.

        True while the mail is pending and its claim, under *claim_id*, runs
        past *now*: what :meth:`renew` checks, read without a write, so that
        a dispatcher can check each mail's claim without committing (and
        waiting for the disk) once per mail.

        .. versionadded:: 0.2.0
        """
        ...

    def release(self, mail_ids: Collection[str], *, claim_id: str) -> int:
        """Give back the mails of *mail_ids* held under *claim_id*; count no attempt.

        They are due again at once, for any dispatcher. Returns how many
        were released.

        .. versionadded:: 0.2.0
        """
        ...

    def mark_sent(
        self, mail_id: str, at: datetime, *, claim_id: str | None = None
    ) -> bool:
        """Record that *mail_id* was delivered, and wipe its bodies."""
        ...

    def mark_failed(
        self,
        mail_id: str,
        retry_at: datetime,
        error: str,
        *,
        claim_id: str | None = None,
    ) -> bool:
        """Record a failed attempt and when to try again; release the claim."""
        ...

    def mark_dead(
        self,
        mail_id: str,
        at: datetime,
        error: str,
        *,
        claim_id: str | None = None,
        attempted: bool = True,
    ) -> bool:
        """Make *mail_id* a dead letter, for *error*; count an attempt if *attempted*.

        The sealed bodies are kept, so that the mail can be requeued.

        .. versionadded:: 0.2.0
        """
        ...

    def mark_dropped(
        self, mail_id: str, at: datetime, reason: str, *, claim_id: str | None = None
    ) -> bool:
        """Give up *mail_id* for good without sending it (its secret expired).

        The bodies are wiped; the mail is neither pending nor a dead letter.

        .. versionadded:: 0.2.0
        """
        ...

    def pending_count(self) -> int:
        """Return how many mails are pending (neither sent, dead nor dropped)."""
        ...

    def stats(self) -> OutboxStats:
        """Return the pending count, the oldest due time and the dead letters.

        .. versionadded:: 0.2.0
        """
        ...

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        """Return up to *limit* dead letters, the most recently dead first.

        .. versionadded:: 0.2.0
        """
        ...

    def requeue(self, mail_ids: Collection[str] | None, now: datetime) -> int:
        """Make dead letters pending again, due at *now*; return how many.

        *mail_ids* ``None`` requeues every dead letter. A requeued mail's
        retry window starts again at *now*
        (:attr:`~echoppe_accounts.OutgoingMail.requeued_at`).

        .. versionadded:: 0.2.0
        """
        ...

    def purge_dead(self, before: datetime | None) -> int:
        """Delete the dead letters that died before *before* (all if ``None``).

        Returns how many were deleted.

        .. versionadded:: 0.2.0
        """
        ...

    def forget(self, *, account_id: str, email_keys: Collection[str]) -> int:
        """Delete every mail about a customer, sent or not (erasure, SPEC G3).

        A mail goes when its :attr:`~echoppe_accounts.OutgoingMail.account_id`
        is *account_id* (mails to a former address included) or its
        :attr:`~echoppe_accounts.OutgoingMail.recipient_key` is one of
        *email_keys* (mails sent before the account existed included).
        Returns how many mails were deleted.
        """
        ...


class UnitOfWork(Protocol):
    """Protocol: one atomic transaction over the repositories.

    Use it as a context manager; changes are kept only if :meth:`commit` is
    called, and everything is rolled back otherwise, an exception included.

    .. versionadded:: 0.2.0
    """

    @property
    def accounts(self) -> AccountRepository:
        """The accounts, inside this transaction."""
        ...

    @property
    def tokens(self) -> TokenRepository:
        """The tokens, inside this transaction."""
        ...

    @property
    def outbox(self) -> Outbox:
        """The outbox, inside this transaction."""
        ...

    @property
    def resets(self) -> ResetRepository:
        """The password-reset requests, inside this transaction."""
        ...

    @property
    def throttles(self) -> ThrottleRepository:
        """The failed-login counts, inside this transaction."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit trail, inside this transaction."""
        ...

    @property
    def events(self) -> EventLog:
        """The account events, inside this transaction (SPEC O5).

        .. versionadded:: 0.2.0
        """
        ...

    def __enter__(self) -> Self:
        """Begin the transaction."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None:
        """Make the changes durable."""
        ...


class UnitOfWorkFactory(Protocol):
    """Make a fresh :class:`UnitOfWork`, one per use case.

    ``store.unit_of_work`` of every shipped store is one.
    """

    def __call__(self, *, durable: bool = True) -> UnitOfWork:
        """Return a new unit of work.

        Args:
            durable: Whether :meth:`UnitOfWork.commit` waits until the
                changes are on disk. ``False`` lets a commit return before:
                a power cut (not a crash of the program) may then lose the
                last such transactions, whole, never corrupt them. The
                library asks for it only where losing a transaction is
                harmless (a login's failure count and audit record); a store
                may always be durable instead.
        """
        ...
