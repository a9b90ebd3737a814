"""Passwords and login: the two-step reset, temporary and provisional passwords.

The rules are SPEC P1–P4 and R1–R10. What an attacker could learn from this
module is kept to nothing:

- a reset request answers the same, with the same calls to storage, mail
  and randomness, whether the email is known, unknown, express-only or
  blocked, and inside the four-minute cooldown too (R1, R6);
- a login does exactly one password-hash check, whether the account exists,
  has no password yet, or has an outdated hash (P3); failures are counted
  per email digest, known or not, so throttling tells nothing either (P4);
- links and temporary passwords are single-use, expire, are bound to their
  purpose, and are stored only as digests (R2, R3, R8);
- mail always goes to the stored address of the account (R1).
"""

from __future__ import annotations

import contextlib
import hmac
import threading
from datetime import datetime, timedelta

import attrs

from echoppe_accounts.domain.account import Account, AccountStatus
from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import (
    AuthenticationError,
    ConcurrencyError,
    ValidationError,
)
from echoppe_accounts.domain.limits import ClientAction
from echoppe_accounts.domain.password import RAW_MAX_LENGTH
from echoppe_accounts.domain.reset import (
    ResetRequest,
    canonical_temporary,
)
from echoppe_accounts.domain.text import is_valid_unicode
from echoppe_accounts.domain.throttle import LoginBudget, LoginThrottle, ThrottlePolicy
from echoppe_accounts.domain.tokens import (
    TOKEN_BYTES,
    Secret,
    TokenPurpose,
    TokenRecord,
)
from echoppe_accounts.domain.views import Credentials
from echoppe_accounts.ports import (
    Clock,
    PasswordHasher,
    SecretSource,
    UnitOfWork,
    UnitOfWorkFactory,
)
from echoppe_accounts.service_layer import completion, login_throttle, reset
from echoppe_accounts.service_layer._ports import (
    Ports,
    audit,
    count_client,
    is_account_id,
    live_account,
    open_account,
)
from echoppe_accounts.service_layer.login_result import LoginResult
from echoppe_accounts.service_layer.settings import Settings

__all__ = ["CHANGE_TTL", "AuthService", "LoginResult"]

CHANGE_TTL = timedelta(hours=1)
"""Lifetime of the restricted session that follows a temporary password (R4)."""


_MAX_STAMP = 64

_CLOSED = frozenset({AccountStatus.DISABLED})
"""Statuses whose login fails whatever the password (SPEC M2)."""
_NO_PASSWORD_CHECK = frozenset({AccountStatus.UNVERIFIED, AccountStatus.DISABLED})
"""Statuses whose stored hash is never checked: the dummy is (SPEC P3, X5)."""


_DUMMY_LOCK = threading.Lock()
"""Makes a service's dummy hash once, whichever thread asks first."""


@attrs.define
class AuthService:
    """Login, password changes, the two-step reset and customer service's help.

    A thin front door: login and sessions live here, the reset and the
    password changes in ``echoppe_accounts.service_layer.reset``.

    .. versionadded:: 0.2.0
    """

    uow: UnitOfWorkFactory
    clock: Clock
    secrets: SecretSource
    hasher: PasswordHasher
    settings: Settings
    throttle_policy: ThrottlePolicy = attrs.field(factory=ThrottlePolicy)
    _dummy: list[str] = attrs.field(init=False, repr=False, factory=list)

    @property
    def _ports(self) -> Ports:
        """The ports the use cases work with."""
        return Ports(self.uow, self.clock, self.secrets, self.hasher, self.settings)

    @property
    def _dummy_hash(self) -> str:
        """The hash of a random password, to check against when there is no hash.

        Made by the first login or password change rather than at wiring
        (issue 22: a password hash costs tens of milliseconds and its
        memory), before any account is read, so that the extra hash falls
        on the first call whatever its email (SPEC P3); once per service,
        the same object ever after.
        """
        if not self._dummy:
            made = self.hasher.hash(self.secrets.token_urlsafe(TOKEN_BYTES))
            with _DUMMY_LOCK:
                if not self._dummy:
                    self._dummy.append(made)
        return self._dummy[0]

    # -- login -------------------------------------------------------------------

    def login(
        self,
        email: str,
        password: str,
        *,
        client_key: str | None = None,
        device_token: str | None = None,
    ) -> LoginResult:
        """Check *email* and *password*; return the login or raise.

        One password-hash check is made in every case (SPEC P3). A password
        in the shape of a temporary one (``K7QM-4XPR-9TBW-HC3D``) is checked
        against the account's pending temporary password, if it has one, and
        gives a restricted login (SPEC R4). An outdated hash is replaced on
        success (SPEC P1).

        Failures are counted per account, whatever client keys the
        attempts carry (SPEC P4). With a *client_key* (an IP address or a
        session id, chosen by the shop, compared in its canonical form),
        they are also counted per client: the client making them is
        slowed down first, and the client itself is limited over all
        emails (:class:`~echoppe_accounts.ClientLimits`). Per-client counts
        restart whenever the session stamp changes (a reset, a provisional
        password). A client presenting the *device_token* a previous login
        of this account gave it (:attr:`LoginResult.device_token`) answers
        to that token's own count instead, so the owner still logs in
        while the account is attacked; a token that is not a valid one of
        this account counts as none.

        Raises:
            AuthenticationError: ``login.failed`` (wrong password or unknown
                email, indistinguishably), ``login.throttled`` with
                ``retry_after``, or ``login.blocked`` after one hundred
                consecutive failures (SPEC P4).
            RateLimitedError: *client_key* went past its login limit.
        """
        ports = self._ports  # built once for the whole login
        count_client(ports, ClientAction.LOGIN, client_key)
        now = self.clock.now()
        dummy = self._dummy_hash  # made by the first login, whatever its email
        # Size and validity before work (SPEC F9): a password no policy could
        # have accepted is not hashed, but costs the same as a wrong one.
        readable = len(password) <= RAW_MAX_LENGTH and is_valid_unicode(password)
        password = password if readable else ""
        try:
            parsed = Email.parse(email)
        except ValidationError:
            self.hasher.verify(dummy, password)
            raise AuthenticationError("login.failed") from None
        temporary = canonical_temporary(password)
        attempt = _Attempt(parsed, temporary, client_key, device_token, now)
        # A login's own writes (the failure count, the audit record, an
        # upgraded hash) may be lost to a power cut without harm, so its
        # commits do not wait for the disk; using a temporary password
        # (single use, SPEC R4) does.
        durable = temporary is not None
        # What the attempt answers to is read in a transaction of its own,
        # and the hash is checked with none open: on SQLite a transaction
        # holds the database's one write lock, and a hash held under it
        # (tens of milliseconds) would queue every write of the shop behind
        # each login, and let a stream of logins starve them.
        with self.uow(durable=durable) as uow:
            seen = self._read_attempt(uow, attempt)
        target, candidate = seen.target(dummy, password, temporary)
        matched = self.hasher.verify(target, candidate)
        upgrade = self._replacement(
            target,
            password,
            # A temporary password is used up, never kept as a hash (R4).
            opened=(
                matched and readable and target is not dummy and seen.request is None
            ),
        )
        # The outcome is judged and written at the time it is written: a
        # failure counted during the hash is older than this attempt.
        now = self.clock.now()
        attempt = attrs.evolve(attempt, now=now)
        with self.uow(durable=durable) as uow:
            # Read again under the write lock: failures counted meanwhile
            # by concurrent attempts throttle this one as if it came after
            # them (no verdict past the cap, SPEC P4), and a verdict on a
            # password, temporary password or status changed meanwhile
            # counts for nothing.
            now_seen = self._read_attempt(uow, attempt)
            budget = now_seen.budget
            account = now_seen.account
            if (
                account is None
                or not matched
                or not readable
                or target is dummy
                or not now_seen.same_as(seen)
            ):
                login_throttle.record_failure(uow, budget, now)
                audit(ports, uow, AuditEvent.LOGIN_FAILED, now_seen.account_id)
                uow.commit()
                raise AuthenticationError("login.failed")
            login_throttle.record_success(uow, budget)
            request = now_seen.request
            if request is not None:
                return self._restricted_login(uow, account.account_id, request, now)
            if upgrade is not None:
                self._upgrade_hash(uow, account.account_id, target, upgrade)
            audit(ports, uow, AuditEvent.LOGIN_SUCCEEDED, account.account_id)
            device = login_throttle.issue_device(
                uow,
                self.secrets,
                self.throttle_policy,
                account.account_id,
                budget,
                presented=device_token,
                now=now,
            )
            uow.commit()
            return LoginResult(
                account.account_id,
                session_stamp=account.session_stamp,
                device_token=device,
                to_complete=account.missing,
            )

    def _read_attempt(self, uow: UnitOfWork, attempt: _Attempt) -> _Seen:
        """Read what a login *attempt* answers to; refuse it if throttled.

        The account (``None`` when there is none, or it was erased: inert,
        SPEC G3), the failure counts (SPEC P4), and with a temporary
        password the account's pending reset request that may take it
        (SPEC R4).

        Raises:
            AuthenticationError: ``login.throttled`` or ``login.blocked``
                (the refusal is audited and committed).
        """
        now = attempt.now
        # The email's count first (on PostgreSQL, its lock), then the
        # account: what a concurrent change wrote is read whole, in the
        # order every use case takes them.
        count = uow.throttles.get(attempt.email.login_key)
        account = uow.accounts.credentials(attempt.email.key)
        if account is not None and account.is_erased:  # inert (SPEC G3)
            account = None
        budget = login_throttle.load_budget(
            uow,
            self.throttle_policy,
            attempt.email,
            account,
            client_key=attempt.client_key,
            device_token=attempt.device_token,
            now=now,
            account_count=count,
        )
        account_id = account.account_id if account is not None else None
        self._refuse_if_throttled(uow, budget, account_id, now)
        # A disabled account fails as a wrong password does, after the
        # same work (SPEC P3, M2).
        disabled = account is not None and account.status in _CLOSED
        request = None
        if account is not None and attempt.temporary is not None and not disabled:
            usable = [
                r
                for r in uow.resets.for_account(account.account_id)
                if r.temporary_usable(now)
            ]
            request = usable[-1] if usable else None
        return _Seen(account, budget, request, disabled=disabled)

    def check_password(
        self,
        account_id: str,
        password: str,
        *,
        client_key: str | None = None,
        device_token: str | None = None,
    ) -> bool:
        """Tell whether *password* is the logged-in customer's password.

        For the steps that ask for the password again (self-service
        erasure, SPEC W2). It is counted as a login attempt on the
        account (SPEC P4): a wrong password is a failure, the right one
        forgets the failures, and a throttled or blocked account is refused
        as a login would be, with the same *client_key* and *device_token*
        rules. It does one password-hash check whatever the account holds,
        no password, an unverified sign-up's or an outdated hash (SPEC P3),
        and upgrades an outdated hash on success (P5). A temporary password
        is not the password. Nothing else changes: no session ends, no
        device token is issued.

        Raises:
            AuthenticationError: ``login.throttled`` with ``retry_after``,
                or ``login.blocked`` (SPEC P4).
            RateLimitedError: *client_key* went past its login limit.
            NotFoundError: No such account.
            ValidationError: ``account.erased`` for an erased account.

        .. versionadded:: 0.2.0
        """
        count_client(self._ports, ClientAction.LOGIN, client_key)
        now = self.clock.now()
        dummy = self._dummy_hash
        readable = len(password) <= RAW_MAX_LENGTH and is_valid_unicode(password)
        password = password if readable else ""
        # Read, then hash with no transaction open, then write against what
        # storage holds by then, as a login does (see login).
        with open_account(self._ports, account_id) as (uow, account):
            login_key = account.email.login_key
            seen = self._read_check(uow, account, client_key, device_token, now)
        stored = seen.account.password_hash if seen.account is not None else None
        target = dummy if stored is None or seen.disabled else stored
        matched = self.hasher.verify(target, password)
        upgrade = self._replacement(
            target, password, opened=matched and readable and target is not dummy
        )
        now = self.clock.now()  # judged when written (see login)
        with self.uow() as uow:
            # The email's count first (its lock on PostgreSQL), then the
            # account, as a login reads them.
            count = uow.throttles.get(login_key)
            current = live_account(uow, account_id)
            now_seen = self._read_check(
                uow, current, client_key, device_token, now, account_count=count
            )
            budget = now_seen.budget
            if (
                not matched
                or not readable
                or target is dummy
                or not now_seen.same_as(seen)
            ):
                login_throttle.record_failure(uow, budget, now)
                audit(self._ports, uow, AuditEvent.LOGIN_FAILED, current.id)
                uow.commit()
                return False
            login_throttle.record_success(uow, budget)
            if upgrade is not None:
                self._upgrade_hash(uow, current.id, target, upgrade)
            uow.commit()
            return True

    def _read_check(
        self,
        uow: UnitOfWork,
        account: Account,
        client_key: str | None,
        device_token: str | None,
        now: datetime,
        *,
        account_count: LoginThrottle | None = None,
    ) -> _Seen:
        """Read what a password check on *account* answers to; refuse if throttled.

        *account_count* is the email's count when already read (and locked).

        Raises:
            AuthenticationError: ``login.throttled`` or ``login.blocked``
                (the refusal is audited and committed).
        """
        credentials = Credentials(
            account.id, account.password_hash, account.status, account.session_stamp
        )
        budget = login_throttle.load_budget(
            uow,
            self.throttle_policy,
            account.email,
            credentials,
            client_key=client_key,
            device_token=device_token,
            now=now,
            account_count=account_count,
        )
        self._refuse_if_throttled(uow, budget, account.id, now)
        disabled = account.status in _NO_PASSWORD_CHECK
        return _Seen(credentials, budget, None, disabled=disabled)

    def _replacement(self, target: str, password: str, *, opened: bool) -> str | None:
        """Return a new hash of *password* if it *opened* *target*, an outdated hash.

        Made with no transaction open, before the outcome is written
        (SPEC P1); ``None`` when there is nothing to replace.
        """
        if not opened or not self.hasher.needs_rehash(target):
            return None
        return self.hasher.hash(password)

    def _upgrade_hash(
        self, uow: UnitOfWork, account_id: str, checked: str, new_hash: str
    ) -> None:
        """Replace *checked*, an outdated hash of the password just checked (P1).

        *new_hash* was made with no transaction open. A hash another login
        upgraded meanwhile is left as it is.
        """
        stored = uow.accounts.get(account_id)
        if stored is None or stored.password_hash != checked:
            return
        stored.upgrade_hash(new_hash)
        # A concurrent login may have upgraded it already: that one wins,
        # and this login succeeds all the same.
        with contextlib.suppress(ConcurrencyError):
            uow.accounts.save(stored)

    def is_session_current(self, account_id: str, stamp: str) -> bool:
        """Tell whether a session opened with *stamp* may go on (SPEC P6).

        False once the account's password, email or status changed since
        the login that gave *stamp*, when the account was erased, or when
        there is no such account. One indexed read; the comparison takes
        the same time wherever the stamps differ.

        .. versionadded:: 0.2.0
        """
        if not is_account_id(account_id) or not stamp or len(stamp) > _MAX_STAMP:
            return False
        with self.uow() as uow:
            current = uow.accounts.session_stamp(account_id)
        if not current:
            return False
        return hmac.compare_digest(
            current.encode(), stamp.encode("utf-8", "surrogatepass")
        )

    def _refuse_if_throttled(
        self,
        uow: UnitOfWork,
        budget: LoginBudget,
        account_id: str | None,
        now: datetime,
    ) -> None:
        refusal = budget.refusal(self.throttle_policy, now)
        if refusal is None:
            return
        audit(self._ports, uow, AuditEvent.LOGIN_THROTTLED, account_id)
        uow.commit()
        if refusal.blocked or refusal.retry_at is None:
            raise AuthenticationError("login.blocked")
        wait = (refusal.retry_at - now).total_seconds()
        raise AuthenticationError("login.throttled", wait)

    def _restricted_login(
        self, uow: UnitOfWork, account_id: str, request: ResetRequest, now: datetime
    ) -> LoginResult:
        request.use_temporary(now)
        uow.resets.save(request)
        change = Secret(self.secrets.token_urlsafe(TOKEN_BYTES))
        deadline = request.temporary_expires_at or now + CHANGE_TTL
        record = TokenRecord.issue(
            change,
            TokenPurpose.PASSWORD_CHANGE,
            account_id,
            now=now,
            ttl=min(CHANGE_TTL, deadline - now),
            request_id=request.id,
        )
        uow.tokens.add(record)
        audit(
            self._ports, uow, AuditEvent.LOGIN_SUCCEEDED, account_id, restricted="yes"
        )
        uow.commit()
        stamp = uow.accounts.session_stamp(account_id) or ""
        return LoginResult(
            account_id, restricted=True, change_token=change, session_stamp=stamp
        )

    # -- the two-step reset ------------------------------------------------------

    def request_password_reset(
        self, email: str, *, client_key: str | None = None
    ) -> None:
        """Start a reset: "J'ai oublié mon mot de passe" (SPEC R1, R2, R6).

        The answer is ``None`` in every case, and the work done is the same
        whether the email is known, unknown, express-only, blocked or
        disabled. The account's owner gets mail 1 with a confirm link and a
        "this was not me" link, at the *stored* address; an unknown address
        is told that no account uses it, a disabled account's that it is
        disabled, without a link (SPEC M2). Within four minutes of the
        previous request for the same email nothing new is sent; after
        that, a new request supersedes the previous one.

        With a *client_key*, the client is limited over all emails (a
        limit that depends on the client only, so it reveals nothing).

        Raises:
            ValidationError: Only when *email* is not an email address at all.
            RateLimitedError: *client_key* went past its reset limit.
        """
        reset.request_reset(self._ports, email, client_key=client_key)

    def confirm_password_reset(self, token: str) -> None:
        """Confirm a reset with the link of mail 1; mail 2 brings a temporary password.

        The temporary password is drawn from the secret source, stored only
        as a password hash, valid 24 hours and single-use (SPEC R3).

        Raises:
            ValidationError: ``token.invalid`` for a link that is unknown,
                used, expired, cancelled, superseded or of another purpose.
                Of concurrent confirmations of one link, one succeeds.
        """
        reset.confirm_reset(self._ports, token)

    def cancel_password_reset(self, token: str) -> None:
        """Cancel a reset with the "this was not me" link of mail 1 (SPEC R2, R5).

        Raises:
            ValidationError: ``token.invalid`` for a link that is not a
                pending request's cancel link.
        """
        reset.cancel_reset(self._ports, token)

    def set_new_password(self, change_token: str, new_password: str) -> None:
        """Set the new password from a restricted login (SPEC R4).

        The password follows the policy (SPEC P2) and must differ from the
        temporary one. On success the reset is completed, every other pending
        link and temporary password dies, and the customer is told (SPEC R10).

        Raises:
            ValidationError: ``token.invalid`` for a bad or used change token;
                otherwise the password's problems, leaving the token usable.
        """
        reset.set_new_password(self._ports, change_token, new_password)

    def change_password(
        self, account_id: str, current_password: str, new_password: str
    ) -> None:
        """Change the password of a logged-in customer (SPEC P2, R8, R10).

        The current password is counted as a login attempt is (SPEC P4),
        on a count of its own: a wrong one is a failure, the right one
        forgets the failures, and past the cap the change is refused before
        any hash, so a stolen session cannot guess the password faster than
        a login could, while an attack on the account's logins does not
        stop its owner, logged in, from changing it. Every other session
        ends (P6) and the customer is told by mail (R10).

        Raises:
            ValidationError: ``password.wrong_current`` at ``current_password``,
                and the new password's problems, all at once;
                ``login.throttled`` (with ``seconds``) or ``login.blocked``
                at ``current_password`` when wrong current passwords throttle
                the change; ``password.wrong_current`` too when the password
                was changed by another call meanwhile.
            NotFoundError: No such account.

        .. versionchanged:: 0.2.0
           Wrong current passwords are counted and capped (SPEC P4).
        """
        reset.change_password(
            self._ports,
            account_id,
            current_password,
            new_password,
            dummy_hash=self._dummy_hash,
            policy=self.throttle_policy,
        )

    def issue_provisional_password(
        self, account_id: str, *, agent_id: str, reason: str
    ) -> Secret:
        """Give a customer-service agent a provisional password to read out (SPEC R7).

        The library draws it; it is returned once, valid one hour, and forces
        a new password at first login (SPEC R4). Every pending link and
        temporary password dies, failed logins are forgotten, the agent and
        the reason go to the audit trail, and the customer is told by mail.

        Raises:
            ValidationError: An empty agent id or reason; ``account.disabled``
                (enable it first, SPEC M2); ``account.unverified`` for a
                sign-up whose mailbox is not proven (only its link opens
                it, SPEC X5).
            NotFoundError: No such account.
        """
        return reset.issue_provisional_password(
            self._ports, account_id, agent_id=agent_id, reason=reason
        )

    def disable_account(self, account_id: str, *, agent_id: str, reason: str) -> None:
        """Disable an account at customer service's request (SPEC M2).

        It can no longer log in (refused as a wrong password, SPEC P3) nor
        ask for a reset (answered as every reset request, its mailbox told
        that it is disabled, without a link, R1); every session ends (P6),
        every pending link, reset and temporary password dies (R8). Its
        email stays taken. The agent and the reason go to the audit trail.
        Disabling a disabled account does nothing.

        Raises:
            ValidationError: An empty agent id or reason; ``account.erased``;
                ``account.unverified`` for an unproven sign-up (it expires).
            NotFoundError: No such account.

        .. versionadded:: 0.2.0
        """
        completion.disable_account(
            self._ports, account_id, agent_id=agent_id, reason=reason
        )

    def enable_account(self, account_id: str, *, agent_id: str, reason: str) -> None:
        """Enable a disabled account again, audited (SPEC M2).

        It becomes active, or an express account when it has no password
        yet; its session stamp changes. Enabling an enabled account does
        nothing.

        Raises:
            ValidationError: An empty agent id or reason; ``account.erased``.
            NotFoundError: No such account.

        .. versionadded:: 0.2.0
        """
        completion.enable_account(
            self._ports, account_id, agent_id=agent_id, reason=reason
        )


@attrs.frozen
class _Attempt:
    """A login attempt: what the customer (or an attacker) sent, read once."""

    email: Email
    temporary: str | None
    client_key: str | None
    device_token: str | None
    now: datetime


@attrs.frozen
class _Seen:
    """What a login attempt answers to in storage, read in one transaction."""

    account: Credentials | None
    budget: LoginBudget
    request: ResetRequest | None
    disabled: bool

    @property
    def account_id(self) -> str | None:
        """The id of the account the email names, if it has a live one."""
        return self.account.account_id if self.account is not None else None

    def target(
        self, dummy: str, password: str, temporary: str | None
    ) -> tuple[str, str]:
        """Return the hash to check and what to check against it (SPEC P3, R4).

        The pending temporary password's hash, the account's password hash,
        or the dummy hash when there is nothing to check: one hash check in
        every case.
        """
        account = self.account
        request = self.request
        if request is not None and request.temporary_hash is not None:
            return request.temporary_hash, temporary or ""
        if (
            account is not None
            and account.password_hash is not None
            # A verified sign-up opens once its mailbox is proven (X5).
            and account.status is not AccountStatus.UNVERIFIED
            and not self.disabled
        ):
            return account.password_hash, password
        return dummy, password

    def same_as(self, before: _Seen) -> bool:
        """Tell whether the check made against *before* still holds.

        The account, its status and its session stamp, and the reset
        request whose temporary password was checked, unchanged. The
        password hash may differ: a concurrent login may have upgraded it
        (SPEC P1), which leaves the password and the stamp as they were;
        every change of the password changes the stamp (SPEC P6).
        """
        account, earlier = self.account, before.account
        if account is None or earlier is None:
            return account is earlier
        request, earlier_request = self.request, before.request
        return (
            account.account_id == earlier.account_id
            and account.status is earlier.status
            and account.session_stamp == earlier.session_stamp
            and (request.id if request is not None else None)
            == (earlier_request.id if earlier_request is not None else None)
            and (request.temporary_hash if request is not None else None)
            == (earlier_request.temporary_hash if earlier_request is not None else None)
        )
