"""Erasure: what the account keeps for invoices, and nothing else (SPEC G3)."""

from __future__ import annotations

from echoppe_accounts.domain.audit import AuditEvent
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.events import EventType
from echoppe_accounts.domain.mail import MailKind
from echoppe_accounts.domain.text import clean_text
from echoppe_accounts.service_layer._ports import (
    Ports,
    audit,
    open_locked_account,
    queue_mail,
    record_event,
    save,
)

STAFF_FREE_TEXT = frozenset({"reason"})
"""Audit details typed by staff about a customer, removed on erasure (SPEC G3)."""


def erase_account(
    ports: Ports, account_id: str, *, actor: str, farewell: bool = False
) -> None:
    """Erase the account; idempotent (SPEC G3).

    The account's :meth:`~echoppe_accounts.domain.account.Account.erase`
    records what storage must forget beside its row: links, resets,
    failure counts and every outbox mail to its current, pending or former
    address, whatever the kind; :func:`~._ports.save` applies it.

    With *farewell*, the mail saying so (SPEC W2) is queued in the same
    transaction, after that wipe, to the address the account had: it names
    nobody, and the outbox wipes its recipient and bodies once sent, like
    any mail. Erasing an erased account again queues nothing.
    """
    actor = clean_text(actor, "actor", max_length=64)
    if not actor:
        raise ValidationError.single("actor", "required")
    now = ports.clock.now()
    # The account's locks before any row erasure deletes: the order of
    # login, a link's use and a password change (PostgreSQL).
    with open_locked_account(ports, account_id, erased=True) as (uow, account):
        if account.is_erased:
            return
        address, language = account.email.address, account.language
        account.erase(now, ports.new_stamp)
        save(ports, uow, account)  # wipes every queued mail of the account
        if farewell:
            queue_mail(
                ports,
                uow,
                MailKind.ACCOUNT_ERASED,
                to=address,
                language=language,
                account_id=account.id,
            )
        # Free text staff typed about the customer goes; the events stay.
        uow.audit.redact(account.id, STAFF_FREE_TEXT)
        audit(ports, uow, AuditEvent.ACCOUNT_ERASED, account.id, actor=actor)
        record_event(ports, uow, EventType.ERASED, account.id)
        uow.commit()
