"""The first locks of a use case that redeems an account's link: the account's.

Confirming an email change and cancelling it both write the same rows (the
account, its two links) but reach them from different links, so each
would lock its own link first and then wait for the other's: on
PostgreSQL one of them was aborted as a deadlock (issue 18). They now take
the account's locks before any of its rows, in the order every use case
that changes how the account opens takes them (login, a reset's
confirmation, a password change):

1. the failure count of the account's email (login's first lock);
2. the account's row.

Two such use cases on one account then run one after the other: one wins,
and the other finds its link dead (``token.invalid``) or reads what the
first one wrote.
"""

from __future__ import annotations

from echoppe_accounts.domain.account import Account
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
    account = uow.accounts.get(record.account_id) if record else None
    if account is not None:
        lock_account(uow, account)


def lock_account(uow: UnitOfWork, account: Account) -> bool:
    """Take *account*'s locks in their order; tell whether it still exists.

    The failure count of its email, then its row (on PostgreSQL; elsewhere
    the unit of work is alone already). Read the account again afterwards
    to see what a previous holder committed.
    """
    uow.throttles.get(account.email.login_key)
    return uow.accounts.lock(account.id)
