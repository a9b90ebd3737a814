"""Passwords: the two-step reset, changes and provisional passwords (SPEC R1–R10).

A reset request answers the same, with the same calls to storage, mail
and randomness, whether the email is known, unknown, express-only,
blocked or disabled, and inside the four-minute cooldown too (R1, R6); mail
always goes to the stored address of the account.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from echoppe_accounts.domain.account import Account, AccountStatus
from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import (
    Collector,
    ConcurrencyError,
    ValidationError,
)
from echoppe_accounts.domain.events import EventType
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
from echoppe_accounts.domain.throttle import ThrottlePolicy
from echoppe_accounts.domain.tokens import TOKEN_BYTES, Secret, TokenPurpose, digest
from echoppe_accounts.ports import UnitOfWork
from echoppe_accounts.service_layer import login_throttle
from echoppe_accounts.service_layer._ports import (
    Ports,
    audit,
    count_client,
    invalid_token,
    issue_link,
    linked_account,
    live_account,
    live_by_email,
    mail_account,
    open_account,
    queue_mail,
    record_event,
    restoring,
    save,
)
from echoppe_accounts.service_layer.account_lock import lock_account

LOOKBACK = LINK_TTL + TEMPORARY_TTL + timedelta(hours=1)
"""Requests older than this can no longer be active nor cool anything down."""


def _new_request(
    ports: Ports, requester_key: str, account_id: str | None, now: datetime
) -> tuple[ResetRequest, Secret, Secret]:
    confirm = Secret(ports.secrets.token_urlsafe(TOKEN_BYTES))
    cancel = Secret(ports.secrets.token_urlsafe(TOKEN_BYTES))
    request = ResetRequest(
        id=ports.new_id(),
        requester_key=requester_key,
        account_id=account_id,
        requested_at=now,
        link_expires_at=now + LINK_TTL,
        confirm_digest=digest(confirm, TokenPurpose.RESET_CONFIRM),
        cancel_digest=digest(cancel, TokenPurpose.RESET_CANCEL),
    )
    return request, confirm, cancel


def _mail_reset(
    ports: Ports, uow: UnitOfWork, account: Account, confirm: Secret, cancel: Secret
) -> None:
    settings = ports.settings
    links = (
        settings.link(settings.reset_confirm_path, confirm.reveal()),
        settings.link(settings.reset_cancel_path, cancel.reveal()),
    )
    expires_at = ports.clock.now() + LINK_TTL
    mail_account(
        ports, uow, MailKind.RESET_CONFIRM, account, links, expires_at=expires_at
    )


def start_reset(ports: Ports, uow: UnitOfWork, account: Account, now: datetime) -> None:
    """Send mail 1 of a reset to the account's stored address (SPEC R2, F10)."""
    request, confirm, cancel = _new_request(
        ports, account.email.login_key, account.id, now
    )
    uow.resets.add(request)
    _mail_reset(ports, uow, account, confirm, cancel)
    audit(ports, uow, AuditEvent.RESET_REQUESTED, account.id)


def request_reset(ports: Ports, email: str, *, client_key: str | None) -> None:
    """Start a reset, answering alike for every email (SPEC R1, R2, R6)."""
    parsed = Email.parse(email)
    count_client(ports, ClientAction.RESET, client_key)
    now = ports.clock.now()
    with ports.uow() as uow:
        account = live_by_email(uow, parsed.key, now)
        if account is not None and account.status is AccountStatus.UNVERIFIED:
            # Somebody's sign-up, not yet proven: the mailbox's owner must
            # not reset into it (pre-hijacking, SPEC X5); she is told no
            # account uses the address, and her own sign-up replaces it.
            account = None
        # A disabled account answers as any other, with the same work
        # (SPEC M2, R1): its owner is told, without a link, that it is.
        disabled = account if account is not None and account.is_disabled else None
        if disabled is not None:
            account = None
        account_id = account.id if account else None
        request, confirm, cancel = _new_request(
            ports, parsed.login_key, account_id, now
        )
        recent = uow.resets.for_requester(parsed.login_key, now - LOOKBACK)
        asked = [r for r in recent if r.origin is ResetOrigin.CUSTOMER]
        if asked and now - asked[-1].requested_at < COOLDOWN:
            audit(ports, uow, AuditEvent.RESET_REQUEST_IGNORED, account_id)
            uow.commit()
            return
        # Its own row first: its foreign key locks the account's row (KEY
        # SHARE), which must come before the earlier requests' rows, as in
        # every use case (PostgreSQL); they are superseded last.
        uow.resets.add(request)
        # Looked up in every case: the same port calls (SPEC R1).
        former = restoring(uow, parsed.key, now)
        if account is not None:
            _mail_reset(ports, uow, account, confirm, cancel)
        elif disabled is not None:
            # One mail, as for an unknown email, but true and without a
            # link: a link could reopen the account (SPEC M2, R1).
            tell_disabled(ports, uow, disabled, to=disabled.email.address)
        elif former is not None:
            # The address an email change replaced: its owner gets the link
            # that takes the account back, not an "unknown email" (F10);
            # a disabled account's gets the same mail as its address.
            send_restore_link(ports, uow, former, now)
        else:
            # Erasure finds it by its recipient's key (SPEC G3).
            queue_mail(
                ports,
                uow,
                MailKind.RESET_UNKNOWN_EMAIL,
                to=parsed.address,
                language="fr",
            )
        for earlier in recent:
            if earlier.is_active(now):
                earlier.supersede(now)
                uow.resets.save(earlier)
        audit(ports, uow, AuditEvent.RESET_REQUESTED, account_id)
        uow.commit()


def confirm_reset(ports: Ports, token: str) -> None:
    """Confirm a reset with the link of mail 1; mail 2 brings a temporary password.

    The link is checked first, so an unknown or dead link costs no hash;
    the temporary password is then hashed with no transaction open (on
    SQLite one holds the database's write lock, which a hash would hold
    for the shop), and the confirmation written only if the link is still
    usable under the lock: of two confirmations at once, one wins and the
    other gets ``token.invalid``.
    """
    token_digest = digest(token, TokenPurpose.RESET_CONFIRM)
    with ports.uow() as uow:
        _waiting_request(uow, token_digest, ports.clock.now())
    temporary = generate_temporary(ports.secrets.randbelow)
    temporary_hash = ports.hasher.hash(temporary)
    now = ports.clock.now()
    with ports.uow() as uow:
        # Read again under the lock: a concurrent confirmation or a new
        # request may have ended this one meanwhile.
        request, account = _confirmable(uow, token_digest, now)
        request.confirm(now, temporary_hash, TEMPORARY_TTL)
        try:
            uow.resets.save(request)
        except ConcurrencyError:  # a concurrent confirmation won
            raise invalid_token() from None
        # Sessions end, failures are forgotten, a pending email change dies.
        account.issue_temporary_password(now, ports.new_stamp)
        save(ports, uow, account)
        mail_account(
            ports,
            uow,
            MailKind.TEMPORARY_PASSWORD,
            account,
            expires_at=request.temporary_expires_at,
            temporary=format_temporary(temporary),
            hours=int(TEMPORARY_TTL.total_seconds() // 3600),
        )
        audit(ports, uow, AuditEvent.RESET_CONFIRMED, account.id, reset=request.id)
        audit(
            ports,
            uow,
            AuditEvent.TEMPORARY_PASSWORD_ISSUED,
            account.id,
            reset=request.id,
        )
        uow.commit()


def _waiting_request(uow: UnitOfWork, token_digest: str, now: datetime) -> ResetRequest:
    """Return the reset request a confirm link (its digest) confirms.

    Raises:
        ValidationError: ``token.invalid`` for a link unknown, of another
            request, or whose request is no longer waiting for it.
    """
    request = uow.resets.find_by_digest(token_digest)
    if (
        request is None
        or request.confirm_digest != token_digest
        or request.account_id is None
        or request.current_state(now) is not ResetState.REQUESTED
    ):
        raise invalid_token()
    return request


def _confirmable(
    uow: UnitOfWork, token_digest: str, now: datetime
) -> tuple[ResetRequest, Account]:
    """Return the request a confirm link confirms and its account, locked.

    The account's locks are taken (:func:`~.account_lock.lock_account`)
    before it is read for the write: the order of login.

    Raises:
        ValidationError: ``token.invalid``, as :func:`_waiting_request`.
    """
    request = _waiting_request(uow, token_digest, now)
    assert request.account_id is not None  # noqa: S101 (checked there)
    account = uow.accounts.get(request.account_id)
    if account is None or account.is_erased:  # pragma: no cover
        raise invalid_token()  # (requests die with their account)
    # The count, then the account's row (an edit taking no count then
    # waits for the confirmation rather than making its save fail), then
    # read again: a change committed meanwhile is seen, not overwritten.
    lock_account(uow, account)
    account = uow.accounts.get(request.account_id)
    if account is None or account.is_erased:  # pragma: no cover
        raise invalid_token()
    return request, account


def cancel_reset(ports: Ports, token: str) -> None:
    """Cancel a reset with the "this was not me" link of mail 1 (SPEC R2, R5)."""
    now = ports.clock.now()
    token_digest = digest(token, TokenPurpose.RESET_CANCEL)
    with ports.uow() as uow:
        request = uow.resets.find_by_digest(token_digest)
        if request is None or request.cancel_digest != token_digest:
            raise invalid_token()
        try:
            request.cancel(now)
            uow.resets.save(request)
        except (IllegalTransitionError, ConcurrencyError):
            raise invalid_token() from None
        audit(
            ports, uow, AuditEvent.RESET_CANCELLED, request.account_id, reset=request.id
        )
        uow.commit()


def password_changed(ports: Ports, uow: UnitOfWork, account: Account) -> None:
    """Save a password change and tell the customer (SPEC R8, R10, O5)."""
    save(ports, uow, account)
    mail_account(ports, uow, MailKind.PASSWORD_CHANGED, account)
    audit(ports, uow, AuditEvent.PASSWORD_CHANGED, account.id)
    record_event(ports, uow, EventType.PASSWORD_CHANGED, account.id)


def set_new_password(ports: Ports, change_token: str, new_password: str) -> None:
    """Set the new password from a restricted login (SPEC R4).

    The password is checked against the temporary one and hashed with no
    transaction open (see :func:`change_password`); the change token is
    then used up, in a transaction of its own, only if the account's
    session stamp is still the one read.
    """
    now = ports.clock.now()
    token_digest = digest(change_token, TokenPurpose.PASSWORD_CHANGE)
    with ports.uow() as uow:
        account, request = _restricted(uow, token_digest, now)
        stamp = account.session_stamp
        org = account.organisation
        personal = [account.email.address, account.name, org.name if org else None]
        temporary_hash = request.temporary_hash if request is not None else None
    errors = Collector()
    password = parse_password(
        new_password, ports.settings.password_policy, personal, errors
    )
    temporary = canonical_temporary(new_password)
    if (
        temporary_hash is not None
        and temporary is not None
        and ports.hasher.verify(temporary_hash, temporary)
    ):
        errors.add("password", "password.same_as_temporary")
    errors.raise_if_any()
    assert password is not None  # noqa: S101 (raised above)
    new_hash = ports.hasher.hash(password)
    now = ports.clock.now()  # judged when written
    with ports.uow() as uow:
        account, request = _restricted(uow, token_digest, now)
        if account.session_stamp != stamp:  # a concurrent call set it
            raise invalid_token()
        used = uow.tokens.consume(token_digest, TokenPurpose.PASSWORD_CHANGE, now)
        if used is None:  # used by a concurrent call
            raise invalid_token()
        if request is not None:
            try:
                request.complete(now)
            except IllegalTransitionError:
                raise invalid_token() from None
            uow.resets.save(request)
            audit(ports, uow, AuditEvent.RESET_COMPLETED, account.id, reset=request.id)
        account.change_password(now, ports.new_stamp, new_hash)
        try:
            password_changed(ports, uow, account)
        except ConcurrencyError:  # changed since it was read (PostgreSQL)
            raise invalid_token() from None
        uow.commit()


def _restricted(
    uow: UnitOfWork, token_digest: str, now: datetime
) -> tuple[Account, ResetRequest | None]:
    """Return the account of a usable change token, and the reset it ends.

    Raises:
        ValidationError: ``token.invalid`` for a token unknown, used,
            expired or of an erased account.
    """
    record, account = linked_account(uow, token_digest, now)
    # Lock the failure count before the request, in login's order.
    uow.throttles.get(account.email.login_key)
    request = next(
        (r for r in uow.resets.for_account(account.id) if r.id == record.request_id),
        None,
    )
    return account, request


def change_password(
    ports: Ports,
    account_id: str,
    current_password: str,
    new_password: str,
    *,
    dummy_hash: str,
    policy: ThrottlePolicy,
) -> None:
    """Change the password of a logged-in customer (SPEC P2, R8, R10).

    The current password is a guess at the account's password, counted as
    a login's are (SPEC P4) on a count of its own
    (``domain.throttle.password_check_key``): a
    wrong one is a failure, the right one forgets the failures, and past
    the cap the change is refused before any hash, so a stolen session
    cannot guess the password faster than a login could.

    The two hashes (the current password checked, the new one made) run
    with no transaction open: on SQLite a transaction holds the database's
    one write lock, which a session calling this in a loop would otherwise
    hold for the shop. The outcome is written against the budget read
    again, and the change made only if the account's session stamp is
    still the one read (a password change, a reset or a provisional
    password meanwhile changed it: the current password checked is no
    longer current).
    """
    now = ports.clock.now()
    with open_account(ports, account_id) as (uow, account):
        login_throttle.refuse_password_check(uow, policy, account.id, now)
        current = account.password_hash or dummy_hash
        has_password = account.password_hash is not None
        stamp = account.session_stamp
        login_key = account.email.login_key
        personal = [account.email.address, account.name]
    errors = Collector()
    readable = len(current_password) <= RAW_MAX_LENGTH and (
        is_valid_unicode(current_password)
    )
    candidate = current_password if readable else ""
    matched = ports.hasher.verify(current, candidate)
    wrong = not matched or not has_password or not readable
    if wrong:
        errors.add("current_password", "password.wrong_current")
    password = parse_password(
        new_password, ports.settings.password_policy, personal, errors
    )
    new_hash = None if errors.errors else ports.hasher.hash(str(password))
    now = ports.clock.now()  # judged when written (see AuthService.login)
    with ports.uow() as uow:
        # The login's count first, then the account, then this count: the
        # order in which every use case locks them (PostgreSQL), erasure
        # and the change's own effects included.
        uow.throttles.get(login_key)
        account = live_account(uow, account_id)
        budget = login_throttle.refuse_password_check(uow, policy, account.id, now)
        if account.session_stamp != stamp:  # changed meanwhile
            raise ValidationError.single("current_password", "password.wrong_current")
        if wrong:
            login_throttle.record_failure(uow, budget, now)
            uow.commit()
        errors.raise_if_any()
        assert new_hash is not None  # noqa: S101 (raised above)
        # The change forgets the login's failures, then these (P4).
        account.change_password(now, ports.new_stamp, new_hash)
        try:
            password_changed(ports, uow, account)
        except ConcurrencyError:  # changed since it was read (PostgreSQL)
            raise ValidationError.single(
                "current_password", "password.wrong_current"
            ) from None
        uow.commit()


def issue_provisional_password(
    ports: Ports, account_id: str, *, agent_id: str, reason: str
) -> Secret:
    """Give a customer-service agent a provisional password to read out (R7)."""
    errors = Collector()
    agent = attempt(errors, "", lambda: clean_text(agent_id, "agent_id", max_length=64))
    why = attempt(errors, "", lambda: clean_text(reason, "reason", max_length=500))
    if not agent:
        errors.add("agent_id", "required")
    if not why:
        errors.add("reason", "required")
    errors.raise_if_any()
    assert agent is not None  # noqa: S101 (raised above)
    assert why is not None  # noqa: S101 (raised above)
    temporary = generate_temporary(ports.secrets.randbelow)
    # Hashed with no transaction open (see confirm_reset); staff only, so a
    # wrong account id costs a hash nobody can repeat at will.
    temporary_hash = ports.hasher.hash(temporary)
    now = ports.clock.now()
    with open_account(ports, account_id) as (uow, account):
        account.issue_provisional_password(now, ports.new_stamp)
        save(ports, uow, account)
        uow.resets.add(
            ResetRequest(
                id=ports.new_id(),
                requester_key=account.email.login_key,
                account_id=account.id,
                requested_at=now,
                link_expires_at=now,
                origin=ResetOrigin.CUSTOMER_SERVICE,
                state=ResetState.CONFIRMED,
                temporary_hash=temporary_hash,
                temporary_expires_at=now + PROVISIONAL_TTL,
            )
        )
        mail_account(ports, uow, MailKind.PROVISIONAL_PASSWORD_NOTICE, account)
        audit(
            ports,
            uow,
            AuditEvent.PROVISIONAL_PASSWORD_ISSUED,
            account.id,
            actor=f"agent:{agent}",
            reason=why,
        )
        uow.commit()
    return Secret(format_temporary(temporary))


def tell_disabled(ports: Ports, uow: UnitOfWork, account: Account, *, to: str) -> None:
    """Tell *to*, an address of a disabled *account*, that it is disabled (SPEC M2).

    Queued where an enabled account would get a link (a reset, the way
    back of an email change): no link nor secret, so nothing reopens the
    account, and one outbox row, as an unknown email's answer (SPEC R1).
    The greeting names the customer only at the account's proven address;
    erasure finds the mail by its account and by its recipient's key (G3).
    """
    if to == account.email.address:
        mail_account(ports, uow, MailKind.ACCOUNT_DISABLED, account)
        return
    # The former address may never have been proven: no typed name (F10).
    queue_mail(
        ports,
        uow,
        MailKind.ACCOUNT_DISABLED,
        to=to,
        language=account.language,
        account_id=account.id,
    )


def send_restore_link(
    ports: Ports, uow: UnitOfWork, account: Account, now: datetime
) -> None:
    """Mail the account's former address a link that restores it (SPEC F10).

    Valid until the restore window closes; sent to the stored former
    address, with the address the account now uses. A disabled account's
    former address gets no link: it is told the account is disabled.
    """
    former, until = account.former_email, account.former_email_until
    if former is None or until is None or until <= now:
        return
    if account.is_disabled:
        # No way back into a disabled account: its former address is told
        # that it is disabled, without a link (SPEC M2, F10).
        tell_disabled(ports, uow, account, to=former.address)
        return
    link = issue_link(
        ports,
        uow,
        account.id,
        TokenPurpose.EMAIL_CHANGE_CANCEL,
        until - now,
        ports.settings.email_change_cancel_path,
    )
    queue_mail(
        ports,
        uow,
        MailKind.EMAIL_CHANGED,
        to=former.address,
        language=account.language,
        links=(link,),
        account_id=account.id,
        expires_at=until,
        # The former address may never have been proven: no typed name (F10).
        new_email=account.email.address,
        days=max((until - now).days, 1),
    )
