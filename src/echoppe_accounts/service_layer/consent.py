"""Consent: the newsletter (SPEC F7) and the analytics opt-out (N3)."""

from __future__ import annotations

from echoppe_accounts.domain.account import Account
from echoppe_accounts.domain.consent import ConsentSource
from echoppe_accounts.domain.errors import Collector
from echoppe_accounts.domain.events import EventType
from echoppe_accounts.domain.forms import parse_consent
from echoppe_accounts.domain.mail import MailKind
from echoppe_accounts.domain.tokens import TokenPurpose
from echoppe_accounts.ports import UnitOfWork
from echoppe_accounts.service_layer._ports import (
    Ports,
    invalid_token,
    issue_link,
    mail_account,
    open_account,
    open_locked_account,
    record_event,
    redeem,
    save,
)
from echoppe_accounts.service_layer.account_lock import lock_token_account


def _wording(wording_version: str) -> str:
    errors = Collector()
    version = parse_consent(True, wording_version, errors)  # noqa: FBT003
    errors.raise_if_any()
    assert version is not None  # noqa: S101 (raised above)
    return version


def send_subscription_link(ports: Ports, uow: UnitOfWork, account: Account) -> None:
    """Send the confirm link of the account's pending subscription (SPEC F7).

    The account killed the earlier link when the subscription was requested
    (:meth:`~echoppe_accounts.Account.request_subscription`), and the caller
    saved it before: one pending subscription, one live link.
    """
    settings = ports.settings
    now = ports.clock.now()
    link = issue_link(
        ports,
        uow,
        account.id,
        TokenPurpose.NEWSLETTER_CONFIRM,
        settings.newsletter_confirm_ttl,
        settings.newsletter_confirm_path,
    )
    mail_account(
        ports,
        uow,
        MailKind.NEWSLETTER_CONFIRM,
        account,
        (link,),
        expires_at=now + settings.newsletter_confirm_ttl,
    )


def subscribe(
    ports: Ports, account_id: str, *, source: ConsentSource, wording_version: str
) -> None:
    """Subscribe; for an unproven mailbox, send the confirm link first (SPEC F7)."""
    version = _wording(wording_version)
    with open_locked_account(ports, account_id) as (uow, account):
        took_effect = account.subscribe(ports.clock.now(), source, version)
        save(ports, uow, account)
        if took_effect:
            record_event(
                ports,
                uow,
                EventType.NEWSLETTER_SUBSCRIBED,
                account.id,
                source=source.value,
            )
        else:
            send_subscription_link(ports, uow, account)
        uow.commit()


def unsubscribe(ports: Ports, account_id: str, *, source: ConsentSource) -> None:
    """Unsubscribe; always possible, always recorded (SPEC F7)."""
    with open_locked_account(ports, account_id) as (uow, account):
        account.unsubscribe(ports.clock.now(), source)
        save(ports, uow, account)  # its confirm link dies with it
        record_event(
            ports,
            uow,
            EventType.NEWSLETTER_UNSUBSCRIBED,
            account.id,
            source=source.value,
        )
        uow.commit()


def request_subscription(
    ports: Ports, account_id: str, *, source: ConsentSource, wording_version: str
) -> None:
    """Start a double opt-in subscription: a mail asks to confirm (SPEC F7)."""
    version = _wording(wording_version)
    with open_locked_account(ports, account_id) as (uow, account):
        account.request_subscription(ports.clock.now(), source, version)
        save(ports, uow, account)
        send_subscription_link(ports, uow, account)
        uow.commit()


def confirm_subscription(ports: Ports, token: str) -> None:
    """Confirm a subscription with the link of its mail (SPEC F7)."""
    now = ports.clock.now()
    with ports.uow() as uow:
        # The email's count, then the account, before the link's row: the
        # order of erasure and of every link's use (PostgreSQL).
        lock_token_account(uow, token, TokenPurpose.NEWSLETTER_CONFIRM)
        account = redeem(uow, token, TokenPurpose.NEWSLETTER_CONFIRM, now)
        if account is None:
            raise invalid_token()
        account.confirm_subscription(now)
        save(ports, uow, account)
        source = account.newsletter[-1].source.value
        record_event(
            ports, uow, EventType.NEWSLETTER_SUBSCRIBED, account.id, source=source
        )
        uow.commit()


def set_analytics_opt_out(ports: Ports, account_id: str, *, opted_out: bool) -> None:
    """Refuse (or accept again) audience measurement for this account (SPEC N3)."""
    with open_account(ports, account_id) as (uow, account):
        account.set_analytics_opt_out(opted_out=opted_out)
        save(ports, uow, account)
        uow.commit()
