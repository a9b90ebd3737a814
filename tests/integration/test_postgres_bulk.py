"""Bulk writes by COPY on PostgreSQL keep the contract of add (issue 22, SPEC O4).

A batch of many new accounts (an import's) is written with ``COPY``, which
has no ``ON CONFLICT``: a taken email must still fail the whole batch as
``email.taken``, leaving nothing of it, and the transaction usable.
"""

from __future__ import annotations

import pytest

from builders import account
from echoppe_accounts import ValidationError
from echoppe_accounts.adapters import postgres

MANY = postgres._COPY_FROM + 4


def test_a_copied_batch_is_stored_whole(postgres_uow_factory):
    """O4: every account of a batch written by COPY reads back, with its children."""
    batch = [account(f"client{i}@exemple.fr") for i in range(MANY)]
    with postgres_uow_factory() as uow:
        uow.accounts.add(*batch)
        uow.commit()
    with postgres_uow_factory() as uow:
        for expected in batch:
            assert uow.accounts.get(expected.id) == expected


def test_a_taken_email_fails_the_copied_batch_and_nothing_of_it_stays(
    postgres_uow_factory,
):
    """O4, F1: one taken email: email.taken, no account of the batch, usable tx."""
    taken = account("deja@exemple.fr")
    with postgres_uow_factory() as uow:
        uow.accounts.add(taken)
        uow.commit()
    batch = [account(f"client{i}@exemple.fr") for i in range(MANY)]
    batch.append(account("deja@exemple.fr"))
    with postgres_uow_factory() as uow:
        with pytest.raises(ValidationError) as info:
            uow.accounts.add(*batch)
        assert [(e.path, e.code) for e in info.value.errors] == [
            ("email", "email.taken")
        ]
        uow.accounts.add(batch[0])  # the transaction goes on after the refusal
        uow.commit()
    with postgres_uow_factory() as uow:
        assert uow.accounts.get(batch[0].id) == batch[0]
        assert all(uow.accounts.get(a.id) is None for a in batch[1:])
