"""What other parts read of an account: a login's row, an invoice's view."""

from __future__ import annotations

import attrs

from echoppe_accounts.domain.category import Category, ChorusPro
from echoppe_accounts.domain.completion import NOTHING_MISSING, Missing
from echoppe_accounts.domain.status import AccountStatus


@attrs.frozen
class Credentials:
    """What a login reads of an account: one row, without its addresses.

    Read by :meth:`~echoppe_accounts.ports.AccountRepository.credentials`.
    A login runs between two password-hash passes that leave every cache
    cold, so it reads no more than it needs.

    Attributes:
        account_id: The account's id.
        password_hash: Its password hash, ``None`` for an express account.
        status: Its status (erased, unverified…).
        session_stamp: Its current session stamp (SPEC P6).
        missing: What the account still misses (SPEC M1), read from the
            same row; a login answers it as :attr:`LoginResult.to_complete
            <echoppe_accounts.LoginResult.to_complete>`.

    .. versionadded:: 0.2.0
    """

    account_id: str
    password_hash: str | None = attrs.field(repr=False)
    status: AccountStatus
    session_stamp: str
    missing: frozenset[Missing] = NOTHING_MISSING

    @property
    def is_erased(self) -> bool:
        """Whether the account was erased (SPEC G3)."""
        return self.status is AccountStatus.ERASED


@attrs.frozen
class InvoiceView:
    """What an invoice shows of an account (SPEC A3).

    It holds the organisation or person name, the billing address, the SIRET
    and the Chorus Pro data, and never a delivery contact name.

    .. versionadded:: 0.2.0
    """

    account_id: str
    category: Category
    name: str
    billing_lines: tuple[str, ...]
    """Empty for an imported account with no address yet (SPEC M1)."""
    siret: str | None
    siren: str | None
    """From the SIRET, or the SIREN an imported company gave alone (SPEC M1)."""
    vat_number: str | None
    chorus: ChorusPro | None
    ape: str | None = None
    """The organisation's APE (NAF) code, when known (SPEC M2).

    .. versionadded:: 0.2.0
    """
