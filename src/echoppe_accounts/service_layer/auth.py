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

from echoppe_accounts.domain.account import AccountStatus
from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import (
    AuthenticationError,
    Collector,
    ConcurrencyError,
    ValidationError,
)
from echoppe_accounts.domain.forms import attempt, parse_password
from echoppe_accounts.domain.limits import ClientAction
from echoppe_accounts.domain.mail import MailKind
from echoppe_accounts.domain.password import RAW_MAX_LENGTH
from echoppe_accounts.domain.reset import (
    COOLDOWN,
    LINK_TTL,
    PROVISIONAL_TTL,
    TEMPORARY_TTL,
    IllegalTransitionError,
    ResetOrigin,
    ResetRequest,
    ResetState,
    canonical_temporary,
    format_temporary,
    generate_temporary,
)
from echoppe_accounts.domain.text import clean_text, is_valid_unicode
from echoppe_accounts.domain.throttle import LoginBudget, ThrottlePolicy
from echoppe_accounts.domain.tokens import (
    TOKEN_BYTES,
    Secret,
    TokenPurpose,
    TokenRecord,
    digest,
)
from echoppe_accounts.ports import UnitOfWork
from echoppe_accounts.service_layer import login_throttle
from echoppe_accounts.service_layer._base import UseCases, is_account_id

CHANGE_TTL = timedelta(hours=1)
"""Lifetime of the restricted session that follows a temporary password (R4)."""
_LOOKBACK = LINK_TTL + TEMPORARY_TTL + timedelta(hours=1)
"""Requests older than this can no longer be active nor cool anything down."""


@attrs.frozen
class LoginResult:
    """A successful login.

    A *restricted* login comes from a temporary or provisional password: its
    only use is :meth:`AuthService.set_new_password` with
    :attr:`change_token` (SPEC R4). The shop keeps that token in its session
    and offers nothing but the new-password form.

    Attributes:
        account_id: The account logged in.
        restricted: Whether a new password must be set before anything else.
        change_token: With a restricted login, the single-use token that
            sets the new password.
        session_stamp: The account's session stamp (SPEC P6): keep it in the
            session and check it with :meth:`AuthService.is_session_current`
            on each request; once the password, the email or the status
            changes, it no longer matches and the session must end.
        device_token: After a full login, a new device token for this
            client and account (SPEC P4): keep it in a signed, HttpOnly
            cookie and pass it to the next :meth:`AuthService.login`, so
            that this client keeps its own budget of failures while the
            account is attacked. It replaces the one presented.

    .. versionadded:: 0.2.0
    """

    account_id: str
    restricted: bool = False
    change_token: Secret | None = None
    session_stamp: str = attrs.field(default="", repr=False)
    device_token: Secret | None = None


_MAX_STAMP = 64


_DUMMY_LOCK = threading.Lock()
"""Makes a service's dummy hash once, whichever thread asks first."""


def _invalid_token() -> ValidationError:
    return ValidationError.single("token", "token.invalid")


@attrs.define
class AuthService(UseCases):
    """Login, password changes, the two-step reset and customer service's help.

    .. versionadded:: 0.2.0
    """

    throttle_policy: ThrottlePolicy = attrs.field(factory=ThrottlePolicy)
    _dummy: list[str] = attrs.field(init=False, repr=False, factory=list)

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
        self._count_client(ClientAction.LOGIN, client_key)
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
        # A login's own writes (the failure count, the audit record, an
        # upgraded hash) may be lost to a power cut without harm, so its
        # commit does not wait for the disk; using a temporary password
        # (single use, SPEC R4) does.
        with self.uow(durable=temporary is not None) as uow:
            account = uow.accounts.credentials(parsed.key)
            if account is not None and account.is_erased:  # inert (SPEC G3)
                account = None
            account_id = account.account_id if account else None
            budget = login_throttle.load_budget(
                uow,
                self.throttle_policy,
                parsed,
                account,
                client_key=client_key,
                device_token=device_token,
                now=now,
            )
            self._refuse_if_throttled(uow, budget, account_id, now)
            request = None
            if account is not None and temporary is not None:
                usable = [
                    r
                    for r in uow.resets.for_account(account.account_id)
                    if r.temporary_usable(now)
                ]
                request = usable[-1] if usable else None
            if request is not None and request.temporary_hash is not None:
                target, candidate = request.temporary_hash, temporary or ""
            elif (
                account is not None
                and account.password_hash is not None
                # A verified sign-up opens once its mailbox is proven (X5).
                and account.status is not AccountStatus.UNVERIFIED
            ):
                target, candidate = account.password_hash, password
            else:
                target, candidate = dummy, password
            matched = self.hasher.verify(target, candidate)
            if account is None or not matched or not readable or target is dummy:
                login_throttle.record_failure(uow, budget, now)
                self._audit(uow, AuditEvent.LOGIN_FAILED, account_id)
                uow.commit()
                raise AuthenticationError("login.failed")
            login_throttle.record_success(uow, budget)
            if request is not None:
                return self._restricted_login(uow, account.account_id, request, now)
            if self.hasher.needs_rehash(target):
                self._upgrade_hash(uow, account.account_id, password)
            self._audit(uow, AuditEvent.LOGIN_SUCCEEDED, account.account_id)
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
            )

    def _upgrade_hash(self, uow: UnitOfWork, account_id: str, password: str) -> None:
        """Replace an outdated hash of the password just checked (SPEC P1)."""
        stored = uow.accounts.get(account_id)
        if stored is None:  # pragma: no cover (read in this transaction)
            return
        stored.password_hash = self.hasher.hash(password)
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
        self._audit(uow, AuditEvent.LOGIN_THROTTLED, account_id)
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
        self._audit(uow, AuditEvent.LOGIN_SUCCEEDED, account_id, restricted="yes")
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
        whether the email is known, unknown, express-only or blocked. The
        account's owner gets mail 1 with a confirm link and a "this was not
        me" link, at the *stored* address; an unknown address is told that
        no account uses it. Within four minutes of the previous request for
        the same email nothing new is sent; after that, a new request
        supersedes the previous one.

        With a *client_key*, the client is limited over all emails (a
        limit that depends on the client only, so it reveals nothing).

        Raises:
            ValidationError: Only when *email* is not an email address at all.
            RateLimitedError: *client_key* went past its reset limit.
        """
        parsed = Email.parse(email)
        self._count_client(ClientAction.RESET, client_key)
        now = self.clock.now()
        confirm = Secret(self.secrets.token_urlsafe(TOKEN_BYTES))
        cancel = Secret(self.secrets.token_urlsafe(TOKEN_BYTES))
        request_id = self._new_id()
        with self.uow() as uow:
            account = uow.accounts.get_by_email_key(parsed.key)
            account_id = account.id if account else None
            recent = uow.resets.for_requester(parsed.login_key, now - _LOOKBACK)
            asked = [r for r in recent if r.origin is ResetOrigin.CUSTOMER]
            if asked and now - asked[-1].requested_at < COOLDOWN:
                self._audit(uow, AuditEvent.RESET_REQUEST_IGNORED, account_id)
                uow.commit()
                return
            for earlier in recent:
                if earlier.is_active(now):
                    earlier.supersede(now)
                    uow.resets.save(earlier)
            uow.resets.add(
                ResetRequest(
                    id=request_id,
                    requester_key=parsed.login_key,
                    account_id=account_id,
                    requested_at=now,
                    link_expires_at=now + LINK_TTL,
                    confirm_digest=digest(confirm, TokenPurpose.RESET_CONFIRM),
                    cancel_digest=digest(cancel, TokenPurpose.RESET_CANCEL),
                )
            )
            if account is not None:
                links = (
                    self.settings.link(
                        self.settings.reset_confirm_path, confirm.reveal()
                    ),
                    self.settings.link(
                        self.settings.reset_cancel_path, cancel.reveal()
                    ),
                )
                self._mail_account(
                    uow,
                    MailKind.RESET_CONFIRM,
                    account,
                    links,
                    expires_at=now + LINK_TTL,
                )
            else:
                self._queue(
                    uow, MailKind.RESET_UNKNOWN_EMAIL, to=parsed.address, language="fr"
                )
            self._audit(uow, AuditEvent.RESET_REQUESTED, account_id)
            uow.commit()

    def confirm_password_reset(self, token: str) -> None:
        """Confirm a reset with the link of mail 1; mail 2 brings a temporary password.

        The temporary password is drawn from the secret source, stored only
        as a password hash, valid 24 hours and single-use (SPEC R3).

        Raises:
            ValidationError: ``token.invalid`` for a link that is unknown,
                used, expired, cancelled, superseded or of another purpose.
                Of concurrent confirmations of one link, one succeeds.
        """
        now = self.clock.now()
        token_digest = digest(token, TokenPurpose.RESET_CONFIRM)
        with self.uow() as uow:
            request = uow.resets.find_by_digest(token_digest)
            if (
                request is None
                or request.confirm_digest != token_digest
                or request.account_id is None
                or request.current_state(now) is not ResetState.REQUESTED
            ):
                raise _invalid_token()
            account = uow.accounts.get(request.account_id)
            if account is None or account.is_erased:  # pragma: no cover
                raise _invalid_token()  # (requests die with their account)
            # The mailbox is proven: earlier failures no longer block the
            # temporary password's login (SPEC P4). The failure count is
            # locked before the request, in the order login takes them, so
            # the two cannot deadlock.
            throttle = uow.throttles.get(account.email.login_key)
            throttle.reset()
            uow.throttles.save(throttle)
            temporary = generate_temporary(self.secrets.randbelow)
            request.confirm(now, self.hasher.hash(temporary), TEMPORARY_TTL)
            try:
                uow.resets.save(request)
            except ConcurrencyError:
                raise _invalid_token() from None
            # A temporary password changes how the account opens: sessions
            # end, per-client failure counts restart (SPEC P6).
            account.session_stamp = self._new_stamp()
            uow.accounts.save(account)
            hours = int(TEMPORARY_TTL.total_seconds() // 3600)
            self._mail_account(
                uow,
                MailKind.TEMPORARY_PASSWORD,
                account,
                expires_at=request.temporary_expires_at,
                temporary=format_temporary(temporary),
                hours=hours,
            )
            self._audit(uow, AuditEvent.RESET_CONFIRMED, account.id, reset=request.id)
            self._audit(
                uow, AuditEvent.TEMPORARY_PASSWORD_ISSUED, account.id, reset=request.id
            )
            uow.commit()

    def cancel_password_reset(self, token: str) -> None:
        """Cancel a reset with the "this was not me" link of mail 1 (SPEC R2, R5).

        Raises:
            ValidationError: ``token.invalid`` for a link that is not a
                pending request's cancel link.
        """
        now = self.clock.now()
        token_digest = digest(token, TokenPurpose.RESET_CANCEL)
        with self.uow() as uow:
            request = uow.resets.find_by_digest(token_digest)
            if request is None or request.cancel_digest != token_digest:
                raise _invalid_token()
            try:
                request.cancel(now)
                uow.resets.save(request)
            except (IllegalTransitionError, ConcurrencyError):
                raise _invalid_token() from None
            self._audit(
                uow, AuditEvent.RESET_CANCELLED, request.account_id, reset=request.id
            )
            uow.commit()

    def set_new_password(self, change_token: str, new_password: str) -> None:
        """Set the new password from a restricted login (SPEC R4).

        The password follows the policy (SPEC P2) and must differ from the
        temporary one. On success the reset is completed, every other pending
        link and temporary password dies, and the customer is told (SPEC R10).

        Raises:
            ValidationError: ``token.invalid`` for a bad or used change token;
                otherwise the password's problems, leaving the token usable.
        """
        now = self.clock.now()
        token_digest = digest(change_token, TokenPurpose.PASSWORD_CHANGE)
        with self.uow() as uow:
            record = uow.tokens.find(token_digest)
            account = uow.accounts.get(record.account_id) if record else None
            if (
                record is None
                or account is None
                or account.is_erased
                or not record.is_usable(now)
            ):
                raise _invalid_token()
            # Lock the failure count before the request, in login's order.
            uow.throttles.get(account.email.login_key)
            request = next(
                (
                    r
                    for r in uow.resets.for_account(account.id)
                    if r.id == record.request_id
                ),
                None,
            )
            errors = Collector()
            password = parse_password(
                new_password,
                self.settings.password_policy,
                [
                    account.email.address,
                    account.name,
                    account.organisation.name if account.organisation else None,
                ],
                errors,
            )
            temporary = canonical_temporary(new_password)
            if (
                request is not None
                and request.temporary_hash is not None
                and temporary is not None
                and self.hasher.verify(request.temporary_hash, temporary)
            ):
                errors.add("password", "password.same_as_temporary")
            errors.raise_if_any()
            assert password is not None  # noqa: S101 (raised above)
            used = uow.tokens.consume(token_digest, TokenPurpose.PASSWORD_CHANGE, now)
            if used is None:  # pragma: no cover (the unit of work serialises)
                raise _invalid_token()
            if request is not None:
                try:
                    request.complete(now)
                except IllegalTransitionError:
                    raise _invalid_token() from None
                uow.resets.save(request)
                self._audit(
                    uow, AuditEvent.RESET_COMPLETED, account.id, reset=request.id
                )
            self._set_password(uow, account, password, now)
            uow.commit()

    # -- passwords of logged-in customers and customer service -----------------

    def change_password(
        self, account_id: str, current_password: str, new_password: str
    ) -> None:
        """Change the password of a logged-in customer (SPEC P2, R8, R10).

        Raises:
            ValidationError: ``password.wrong_current`` at ``current_password``,
                and the new password's problems, all at once.
        """
        now = self.clock.now()
        dummy = self._dummy_hash  # made before the account is read (SPEC P3)
        with self._account(account_id) as (uow, account):
            errors = Collector()
            current = account.password_hash or dummy
            readable = len(current_password) <= RAW_MAX_LENGTH and (
                is_valid_unicode(current_password)
            )
            candidate = current_password if readable else ""
            matched = self.hasher.verify(current, candidate)
            if not matched or account.password_hash is None or not readable:
                errors.add("current_password", "password.wrong_current")
            password = parse_password(
                new_password,
                self.settings.password_policy,
                [account.email.address, account.name],
                errors,
            )
            errors.raise_if_any()
            assert password is not None  # noqa: S101 (raised above)
            self._set_password(uow, account, password, now)
            uow.commit()

    def issue_provisional_password(
        self, account_id: str, *, agent_id: str, reason: str
    ) -> Secret:
        """Give a customer-service agent a provisional password to read out (SPEC R7).

        The library draws it; it is returned once, valid one hour, and forces
        a new password at first login (SPEC R4). Every pending link and
        temporary password dies, failed logins are forgotten, the agent and
        the reason go to the audit trail, and the customer is told by mail.

        Raises:
            ValidationError: An empty agent id or reason.
            NotFoundError: No such account.
        """
        errors = Collector()
        agent = attempt(
            errors, "", lambda: clean_text(agent_id, "agent_id", max_length=64)
        )
        why = attempt(errors, "", lambda: clean_text(reason, "reason", max_length=500))
        if not agent:
            errors.add("agent_id", "required")
        if not why:
            errors.add("reason", "required")
        errors.raise_if_any()
        assert agent is not None  # noqa: S101 (raised above)
        assert why is not None  # noqa: S101 (raised above)
        now = self.clock.now()
        temporary = generate_temporary(self.secrets.randbelow)
        with self._account(account_id) as (uow, account):
            # The failure count first, then the requests: login's lock order.
            throttle = uow.throttles.get(account.email.login_key)
            throttle.reset()
            uow.throttles.save(throttle)
            self._kill_pending(uow, account.id, now)
            account.session_stamp = self._new_stamp()  # sessions end (SPEC P6)
            uow.accounts.save(account)
            uow.resets.add(
                ResetRequest(
                    id=self._new_id(),
                    requester_key=account.email.login_key,
                    account_id=account.id,
                    requested_at=now,
                    link_expires_at=now,
                    origin=ResetOrigin.CUSTOMER_SERVICE,
                    state=ResetState.CONFIRMED,
                    temporary_hash=self.hasher.hash(temporary),
                    temporary_expires_at=now + PROVISIONAL_TTL,
                )
            )
            self._mail_account(uow, MailKind.PROVISIONAL_PASSWORD_NOTICE, account)
            self._audit(
                uow,
                AuditEvent.PROVISIONAL_PASSWORD_ISSUED,
                account.id,
                actor=f"agent:{agent}",
                reason=why,
            )
            uow.commit()
        return Secret(format_temporary(temporary))
