"""The writing of imported accounts: candidates in, accounts out, over ports."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import attrs

from echoppe_accounts.domain.account import Account, AccountStatus
from echoppe_accounts.domain.addressbook import AddressBook, DeliveryAddress
from echoppe_accounts.domain.audit import AuditEvent, AuditRecord
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.ports import Clock, UnitOfWork
from echoppe_accounts.service_layer._ports import Ports, audit, unix_ms, uuid7_text
from echoppe_accounts.service_layer.express import issue_set_password
from echoppe_accounts.service_layer.import_rows import Candidate
from echoppe_accounts.service_layer.settings import Settings

log = logging.getLogger("echoppe_accounts.importer")


@attrs.define
class Counts:
    """What became of the lines read so far."""

    read: int = 0
    imported: int = 0
    already_present: int = 0
    invalid: int = 0
    invited: int = 0


@attrs.frozen
class ImportCases:
    """The writing of imported accounts: candidates in, accounts out, over ports."""

    ports: Ports

    @property
    def clock(self) -> Clock:
        """The clock of the ports."""
        return self.ports.clock

    @property
    def settings(self) -> Settings:
        """The settings of the ports."""
        return self.ports.settings

    def uow(self, *, durable: bool = True) -> UnitOfWork:
        """Open a unit of work on the ports' storage."""
        return self.ports.uow(durable=durable)

    def store(self, uow: UnitOfWork, candidate: Candidate, run: RunId) -> str:
        """Create the account of *candidate* in *uow*; return what became of it.

        ``"present"``: the email had an account before this run;
        ``"taken"``: an earlier line of this run has that email;
        ``"invited"`` or ``"imported"``: the account was created.
        """
        existing = uow.accounts.get_by_email_key(candidate.parsed.email.key)
        if existing is not None:
            return "taken" if made_by(uow, existing, run) else "present"
        try:
            (outcome,) = self.store_new(uow, [candidate], run)
        except ValidationError:  # registered meanwhile (PostgreSQL): not ours
            return "present"
        return outcome

    def store_new(
        self, uow: UnitOfWork, candidates: Sequence[Candidate], run: RunId
    ) -> list[str]:
        """Create the accounts of *candidates*, whose emails have none, together.

        Returns ``"invited"`` or ``"imported"`` for each, in order.

        Raises:
            ValidationError: ``email.taken``: an email has an account after
                all (registered since it was looked up); nothing was written.
        """
        now = self.clock.now()
        # One draw of random bytes for the ids of the batch: the accounts,
        # their delivery addresses and their audit records.
        count = 2 * len(candidates) + sum(len(c.parsed.deliveries) for c in candidates)
        ids = self._ids(count)
        accounts = [self._new_account(candidate, now, ids) for candidate in candidates]
        uow.accounts.add(*accounts)
        details = {"run": run.id}
        uow.audit.add(
            *(
                AuditRecord(
                    next(ids),
                    now,
                    AuditEvent.ACCOUNT_IMPORTED,
                    account.id,
                    "system",
                    details,
                )
                for account in accounts
            )
        )
        outcomes = []
        for candidate, account in zip(candidates, accounts, strict=True):
            if candidate.password_hash is None:
                issue_set_password(self.ports, uow, account)
                outcomes.append("invited")
            else:
                outcomes.append("imported")
        log.info(
            "%s: %d accounts by import %s",
            AuditEvent.ACCOUNT_IMPORTED.value,
            len(accounts),
            run.id,
        )
        return outcomes

    def _ids(self, count: int) -> Iterator[str]:
        raw = self.ports.secrets.token_bytes(16 * count)
        now = unix_ms(self.ports.clock)
        return (uuid7_text(raw[i : i + 16], now) for i in range(0, len(raw), 16))

    def _new_account(
        self, candidate: Candidate, now: datetime, ids: Iterator[str]
    ) -> Account:
        parsed = candidate.parsed
        account = Account(
            id=next(ids),
            email=parsed.email,
            name=parsed.name,
            category=parsed.category,
            addresses=AddressBook(
                parsed.billing,
                [
                    DeliveryAddress(next(ids), d.contact_name, d.address, d.label)
                    for d in parsed.deliveries
                ],
            ),
            created_at=now,
            status=(
                AccountStatus.ACTIVE
                if candidate.password_hash
                else AccountStatus.EXPRESS
            ),
            phone=parsed.phone,
            organisation=parsed.organisation,
            password_hash=candidate.password_hash,
            language=parsed.language,
        )
        if parsed.newsletter_wording_version is not None:
            account.import_subscription(now, parsed.newsletter_wording_version)
        return account

    def finish(self, run: RunId, source: Path, counts: Counts) -> None:
        """Record the end of *run* in the audit trail, waiting for the disk.

        The batches were committed without waiting (a power cut would lose
        the last ones, which running the import again writes): this commit
        makes every one of them durable before the import returns.
        """
        with self.uow() as uow:
            audit(
                self.ports,
                uow,
                AuditEvent.CUSTOMERS_IMPORTED,
                None,
                actor="system",
                run=run.id,
                file=shown(source),
                read=str(counts.read),
                imported=str(counts.imported),
                already_present=str(counts.already_present),
                invalid=str(counts.invalid),
                invited=str(counts.invited),
            )
            uow.commit()


@attrs.frozen
class RunId:
    """Which import run this is, and when it began."""

    id: str
    started: datetime


def made_by(uow: UnitOfWork, account: Account, run: RunId) -> bool:
    """Tell whether *account* was created by the import *run*.

    Accounts older than the run are not: their audit trail is not read.
    """
    return account.created_at >= run.started and any(
        record.event is AuditEvent.ACCOUNT_IMPORTED
        and record.details.get("run") == run.id
        for record in uow.audit.for_account(account.id)
    )


def shown(path: Path) -> str:
    """Return *path* as reported: its last 200 characters, valid UTF-8."""
    return str(path)[-200:].encode("utf-8", "replace").decode()
