"""Completing an imported account, and customer service disabling one (SPEC M1, M2).

An account brought over from another shop may miss what SPEC requires and
the old shop never asked for (:class:`~echoppe_accounts.Missing`); the
shop shows the completion form after login until nothing is missing. A
disabled account (the old shop's, or customer service's doing) cannot log
in nor ask for a reset until customer service enables it again.
"""

from __future__ import annotations

from echoppe_accounts.domain.account import Account
from echoppe_accounts.domain.addressbook import DeliveryAddress
from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.completion import AccountCompletionForm, parse_completion
from echoppe_accounts.domain.errors import Collector, ValidationError
from echoppe_accounts.domain.forms import attempt
from echoppe_accounts.domain.text import clean_text
from echoppe_accounts.service_layer._ports import (
    Ports,
    audit,
    open_account,
    open_locked_account,
    save,
)

_AGENT_LENGTH = 64
_REASON_LENGTH = 500


def complete_account(
    ports: Ports, account_id: str, form: AccountCompletionForm
) -> Account:
    """Give an imported account what it misses; nothing is stored on failure."""
    with open_account(ports, account_id) as (uow, account):
        if account.is_disabled:  # no session can reach here; a shop's code might
            raise ValidationError.single("account", "account.disabled")
        org = account.organisation
        book = account.addresses
        missing = account.missing
        parsed = parse_completion(
            form,
            missing,
            organisation=org,
            phone_region=book.billing.country if book is not None else None,
        )
        d = parsed.delivery
        account.complete(
            phone=parsed.phone,
            billing=parsed.billing,
            delivery=None
            if d is None
            else DeliveryAddress(ports.new_id(), d.contact_name, d.address, d.label),
            siret=parsed.siret,
            organisation_name=parsed.organisation_name,
        )
        save(ports, uow, account)
        audit(
            ports,
            uow,
            AuditEvent.ACCOUNT_COMPLETED,
            account.id,
            pieces=",".join(sorted(m.value for m in missing)),
        )
        uow.commit()
    return account


def _staff(agent_id: str, reason: str) -> tuple[str, str]:
    errors = Collector()
    agent = attempt(
        errors, "", lambda: clean_text(agent_id, "agent_id", max_length=_AGENT_LENGTH)
    )
    why = attempt(
        errors, "", lambda: clean_text(reason, "reason", max_length=_REASON_LENGTH)
    )
    if not agent:
        errors.add("agent_id", "required")
    if not why:
        errors.add("reason", "required")
    errors.raise_if_any()
    assert agent is not None  # noqa: S101 (raised above)
    assert why is not None  # noqa: S101 (raised above)
    return agent, why


def disable_account(
    ports: Ports, account_id: str, *, agent_id: str, reason: str
) -> None:
    """Disable an account at customer service's request, audited (SPEC M2, P6, R8)."""
    agent, why = _staff(agent_id, reason)
    now = ports.clock.now()
    # The account's locks first: it ends links and resets (PostgreSQL).
    with open_locked_account(ports, account_id) as (uow, account):
        if account.is_disabled:
            return
        account.disable(now, ports.new_stamp)
        save(ports, uow, account)
        audit(
            ports,
            uow,
            AuditEvent.ACCOUNT_DISABLED,
            account.id,
            actor=f"agent:{agent}",
            reason=why,
        )
        uow.commit()


def enable_account(
    ports: Ports, account_id: str, *, agent_id: str, reason: str
) -> None:
    """Enable a disabled account again at customer service's request, audited."""
    agent, why = _staff(agent_id, reason)
    with open_account(ports, account_id) as (uow, account):
        if not account.is_disabled:
            return
        account.enable(ports.new_stamp)
        save(ports, uow, account)
        audit(
            ports,
            uow,
            AuditEvent.ACCOUNT_ENABLED,
            account.id,
            actor=f"agent:{agent}",
            reason=why,
        )
        uow.commit()
