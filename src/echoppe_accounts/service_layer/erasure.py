"""Erasure: what the account keeps for invoices, and nothing else (SPEC G3)."""

from __future__ import annotations

from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.events import EventType
from echoppe_accounts.domain.text import clean_text
from echoppe_accounts.service_layer._ports import (
    Ports,
    audit,
    open_account,
    record_event,
    save,
)

STAFF_FREE_TEXT = frozenset({"reason"})
"""Audit details typed by staff about a customer, removed on erasure (SPEC G3)."""


def erase_account(ports: Ports, account_id: str, *, actor: str) -> None:
    """Erase the account; idempotent (SPEC G3).

    The account's :meth:`~echoppe_accounts.domain.account.Account.erase`
    records what storage must forget beside its row: links, resets,
    failure counts and every outbox mail to its current, pending or former
    address, whatever the kind; :func:`~._ports.save` applies it.
    """
    actor = clean_text(actor, "actor", max_length=64)
    if not actor:
        raise ValidationError.single("actor", "required")
    now = ports.clock.now()
    with open_account(ports, account_id, erased=True) as (uow, account):
        if account.is_erased:
            return
        account.erase(now, ports.new_stamp)
        save(ports, uow, account)
        # Free text staff typed about the customer goes; the events stay.
        uow.audit.redact(account.id, STAFF_FREE_TEXT)
        audit(ports, uow, AuditEvent.ACCOUNT_ERASED, account.id, actor=actor)
        record_event(ports, uow, EventType.ERASED, account.id)
        uow.commit()
