"""The first lock of a use case that redeems a link: its account's.

Confirming an email change and cancelling it both write the same rows (the
account, its two links) but reach them from different links, so each
would lock its own link first and then wait for the other's: on
PostgreSQL one of them was aborted as a deadlock. Taking the account's
lock before any of its rows makes them run one after the other: one wins,
and the other finds its link dead (``token.invalid``).
"""

from __future__ import annotations

from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.tokens import TokenPurpose, digest
from echoppe_accounts.ports import UnitOfWork


def lock_token_account(uow: UnitOfWork, token: str, purpose: TokenPurpose) -> None:
    """Lock the account of the link *token* of *purpose*, if there is one.

    A token that is unknown or no token at all locks nothing: the use case
    refuses it as before.
    """
    try:
        token_digest = digest(token, purpose)
    except ValidationError:
        return
    record = uow.tokens.find(token_digest)
    if record is not None:
        uow.accounts.lock(record.account_id)
