"""The email change: request, confirm, cancel and restore (SPEC F10).

The account decides each step (:meth:`~echoppe_accounts.domain.account.
Account.request_email_change` and the next ones); these functions check
the password and the limits, issue the links and queue the mails.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from echoppe_accounts.domain.account import RESTORE_TTL, Account
from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import (
    Collector,
    RateLimitedError,
    ValidationError,
)
from echoppe_accounts.domain.events import EventType
from echoppe_accounts.domain.forms import attempt
from echoppe_accounts.domain.limits import ClientAction
from echoppe_accounts.domain.mail import MailKind
from echoppe_accounts.domain.password import RAW_MAX_LENGTH
from echoppe_accounts.domain.reset import COOLDOWN
from echoppe_accounts.domain.text import is_valid_unicode
from echoppe_accounts.domain.tokens import TokenPurpose
from echoppe_accounts.ports import UnitOfWork
from echoppe_accounts.service_layer._ports import (
    Ports,
    audit,
    count_client,
    invalid_token,
    issue_link,
    live_by_email,
    mail_account,
    open_account,
    queue_mail,
    record_event,
    redeem,
    restoring,
    save,
)
from echoppe_accounts.service_layer.account_lock import lock_account, lock_token_account
from echoppe_accounts.service_layer.reset import send_restore_link, start_reset

DAY = timedelta(days=1)


def _requests_key(account_id: str) -> str:
    return hashlib.sha256(f"email-change:{account_id}".encode()).hexdigest()


def _taken_notice_key(email: Email) -> str:
    return hashlib.sha256(f"email-taken-notice:{email.key}".encode()).hexdigest()


def check_password(ports: Ports, account: Account, password: str) -> bool:
    """Tell whether *password* is the account's password (SPEC F10)."""
    readable = len(password) <= RAW_MAX_LENGTH and is_valid_unicode(password)
    stored = account.password_hash
    if stored is None or not readable:
        return False
    return ports.hasher.verify(stored, password)


def change_email(
    ports: Ports,
    account_id: str,
    email: str,
    current_password: str,
    *,
    client_key: str | None,
) -> None:
    """Ask to change the account's email, with its password (SPEC F10)."""
    errors = Collector()
    parsed = attempt(errors, "", lambda: Email.parse(email))
    count_client(ports, ClientAction.EMAIL_CHANGE, client_key)
    now = ports.clock.now()
    with open_account(ports, account_id) as (uow, account):
        _count_request(ports, uow, account.id, now)
        if not check_password(ports, account, current_password):
            errors.add("current_password", "password.wrong_current")
        if errors.errors or parsed is None:
            # The count stays: the daily limit also bounds password guesses.
            uow.commit()
            errors.raise_if_any()
            raise AssertionError  # pragma: no cover (raised above)
        owner = live_by_email(uow, parsed.key, now) or restoring(uow, parsed.key, now)
        if owner is not None and owner.id != account.id:
            if not ports.settings.verified_signup:
                raise ValidationError.single("email", "email.taken")
            _tell_owner(ports, uow, owner, now)
            audit(ports, uow, AuditEvent.EMAIL_CHANGE_REQUESTED, account.id)
            uow.commit()
            return
        # The email's count, then the account's row, before the pending
        # link's row is revoked: the order of the link's confirmation
        # (PostgreSQL). An account changed since it was read is refused by
        # its version (ConcurrencyError), its password checked again.
        lock_account(uow, account)
        if not account.request_email_change(parsed, now):
            uow.commit()
            return
        save(ports, uow, account)  # earlier confirm links die first
        _send_change_links(ports, uow, account, parsed, now)
        audit(ports, uow, AuditEvent.EMAIL_CHANGE_REQUESTED, account.id)
        uow.commit()


def _count_request(
    ports: Ports, uow: UnitOfWork, account_id: str, now: datetime
) -> None:
    """Count one request of the account; refuse past the daily limit (F10).

    Raises:
        RateLimitedError: Past :attr:`Settings.email_changes_per_day` in 24
            hours; nothing is counted.
    """
    counter = uow.throttles.get(_requests_key(account_id))
    start = counter.last_failure_at
    if start is None or now - start >= DAY:
        counter.reset()
        start = now
    if counter.failures >= ports.settings.email_changes_per_day:
        raise RateLimitedError((start + DAY - now).total_seconds())
    counter.record_failure(now)
    if counter.failures > 1:
        counter.last_failure_at = start  # the window starts at its first call
    uow.throttles.save(counter)


def _tell_owner(ports: Ports, uow: UnitOfWork, owner: Account, now: datetime) -> None:
    """Tell the owner of a taken address, at most once per cooldown (F10, R6)."""
    notice = uow.throttles.get(_taken_notice_key(owner.email))
    last = notice.last_failure_at
    if last is None or now - last >= COOLDOWN:
        mail_account(ports, uow, MailKind.SIGNUP_EXISTING, owner)
        notice.record_failure(now)
    uow.throttles.save(notice)


def _send_change_links(
    ports: Ports, uow: UnitOfWork, account: Account, new: Email, now: datetime
) -> None:
    settings = ports.settings
    # Confirmed within the restore window, whatever the setting: the former
    # address must stay restorable after the confirmation (F10).
    ttl = min(settings.email_change_ttl, RESTORE_TTL - timedelta(hours=1))
    confirm = issue_link(
        ports,
        uow,
        account.id,
        TokenPurpose.EMAIL_CHANGE_CONFIRM,
        ttl,
        settings.email_change_confirm_path,
    )
    restore_ttl = _restore_ttl(account, now)
    cancel = issue_link(
        ports,
        uow,
        account.id,
        TokenPurpose.EMAIL_CHANGE_CANCEL,
        restore_ttl,
        settings.email_change_cancel_path,
    )
    # The new address is not proven: no text the requester typed (F10).
    queue_mail(
        ports,
        uow,
        MailKind.EMAIL_CHANGE_CONFIRM,
        to=new.address,
        language=account.language,
        links=(confirm,),
        account_id=account.id,
        expires_at=now + ttl,
        hours=int(ttl.total_seconds() // 3600),
    )
    mail_account(
        ports,
        uow,
        MailKind.EMAIL_CHANGE_NOTICE,
        account,
        (cancel,),
        expires_at=now + restore_ttl,
        new_email=new.address,
        hours=int(ttl.total_seconds() // 3600),
        days=restore_ttl.days,
    )


def _restore_ttl(account: Account, now: datetime) -> timedelta:
    until = account.former_email_until
    if account.can_restore(now) and until is not None:
        return until - now
    return RESTORE_TTL


def confirm_email_change(ports: Ports, token: str) -> None:
    """Make the proven pending address the account's (SPEC F10, R8, P6)."""
    now = ports.clock.now()
    with ports.uow() as uow:
        # The account before its links: confirm and cancel never deadlock.
        lock_token_account(uow, token, TokenPurpose.EMAIL_CHANGE_CONFIRM)
        account = redeem(uow, token, TokenPurpose.EMAIL_CHANGE_CONFIRM, now)
        if account is None or account.pending_email is None:
            raise invalid_token()
        new = account.pending_email
        owner = live_by_email(uow, new.key, now)
        if owner is not None and owner.id != account.id:
            raise ValidationError.single("email", "email.taken")
        account.confirm_email_change(now, ports.new_stamp)
        save(ports, uow, account)  # the unique key: a last race is refused
        # The former address is told, with the link that takes the account
        # back; after a second change within 7 days, the first address is
        # the one restored and told again.
        send_restore_link(ports, uow, account, now)
        audit(ports, uow, AuditEvent.EMAIL_CHANGED, account.id)
        record_event(ports, uow, EventType.EMAIL_CHANGED, account.id)
        uow.commit()


def cancel_email_change(ports: Ports, token: str) -> None:
    """Follow the former address's link: cancel, or restore it (SPEC F10).

    Restoring ends every session and link and leaves the account with no
    password: a reset, sent now to the restored address, lets its owner in.
    """
    now = ports.clock.now()
    with ports.uow() as uow:
        # The account before its links: confirm and cancel never deadlock.
        lock_token_account(uow, token, TokenPurpose.EMAIL_CHANGE_CANCEL)
        account = redeem(uow, token, TokenPurpose.EMAIL_CHANGE_CANCEL, now)
        if account is None:
            raise invalid_token()
        restored = account.cancel_or_restore_email(now, ports.new_stamp)
        save(ports, uow, account)
        if restored:
            start_reset(ports, uow, account, now)
            audit(ports, uow, AuditEvent.EMAIL_CHANGED, account.id, restored="yes")
            record_event(ports, uow, EventType.EMAIL_CHANGED, account.id)
        else:
            audit(ports, uow, AuditEvent.EMAIL_CHANGE_CANCELLED, account.id)
        uow.commit()
