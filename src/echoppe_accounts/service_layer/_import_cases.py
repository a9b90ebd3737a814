"""The writing of imported accounts: candidates in, accounts out, over ports."""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import attrs

from echoppe_accounts.domain.account import Account
from echoppe_accounts.domain.addressbook import AddressBook, DeliveryAddress
from echoppe_accounts.domain.audit import AuditEvent, AuditRecord
from echoppe_accounts.domain.completion import Missing, missing_pieces
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.ports import Clock, UnitOfWork
from echoppe_accounts.service_layer._ports import Ports, audit, unix_ms, uuid7_text
from echoppe_accounts.service_layer.express import issue_set_password
from echoppe_accounts.service_layer.import_customers import Candidate
from echoppe_accounts.service_layer.settings import Settings

log = logging.getLogger("echoppe_accounts.importer")
_UUID_VERSION = 7


@attrs.define
class Counts:
    """What became of the customers read so far."""

    read: int = 0
    imported: int = 0
    already_present: int = 0
    invalid: int = 0
    invited: int = 0
    to_complete: dict[Missing, int] = attrs.Factory(lambda: dict.fromkeys(Missing, 0))
    disabled: int = 0
    guests: int = 0
    changes: int = 0

    def add(self, candidate: Candidate, *, invited: bool) -> None:
        """Count *candidate*'s account, created."""
        self.imported += 1
        self.invited += invited
        self.disabled += candidate.disabled
        self.guests += candidate.guest
        self.changes += len(candidate.changes)
        for piece in missing(candidate):
            self.to_complete[piece] += 1


def missing(candidate: Candidate) -> frozenset[Missing]:
    """What the account of *candidate* will lack (SPEC M1)."""
    organisation = candidate.organisation
    return missing_pieces(
        has_phone=candidate.phone is not None,
        has_addresses=candidate.billing is not None,
        needs_organisation=candidate.category.needs_organisation,
        has_siret=organisation is not None and organisation.siret is not None,
    )


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
        existing = uow.accounts.get_by_email_key(candidate.email.key)
        if existing is not None:
            return "taken" if made_by(uow, existing.id, run) else "present"
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
        # their session stamps, their delivery addresses and their audit records.
        count = 2 * len(candidates) + sum(len(c.deliveries) for c in candidates)
        raw = self.ports.secrets.token_bytes(16 * (count + len(candidates)))
        ms = unix_ms(self.ports.clock)
        ids = (uuid7_text(raw[i : i + 16], ms) for i in range(0, 16 * count, 16))
        stamps = (
            base64.urlsafe_b64encode(raw[i : i + 16]).rstrip(b"=").decode()
            for i in range(16 * count, len(raw), 16)
        )
        accounts = [
            self._new_account(candidate, now, ids, next(stamps))
            for candidate in candidates
        ]
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
            if candidate.invite:
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

    def _new_account(
        self, candidate: Candidate, now: datetime, ids: Iterator[str], stamp: str
    ) -> Account:
        """Make the account of *candidate*; *stamp* is 16 random bytes (SPEC P6)."""
        account_id = next(ids)
        billing = candidate.billing
        account = Account.imported(
            id=account_id,
            email=candidate.email,
            name=candidate.name,
            category=candidate.category,
            created_at=candidate.created_at or now,
            session_stamp=stamp,
            addresses=None
            if billing is None
            else AddressBook(
                billing,
                [
                    DeliveryAddress(next(ids), d.contact_name, d.address, d.label)
                    for d in candidate.deliveries
                ],
            ),
            phone=candidate.phone,
            organisation=candidate.organisation,
            password_hash=candidate.password_hash,
            language=candidate.language,
            disabled=candidate.disabled,
        )
        if candidate.newsletter is not None:
            at, version = candidate.newsletter
            account.import_subscription(at or candidate.created_at or now, version)
        return account

    def finish(self, run: RunId, source: Path | str, counts: Counts) -> None:
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
                to_complete=",".join(
                    f"{piece.value}:{n}" for piece, n in counts.to_complete.items()
                ),
                disabled=str(counts.disabled),
                guests=str(counts.guests),
                changes=str(counts.changes),
            )
            uow.commit()


@attrs.frozen
class RunId:
    """Which import run this is, and when it began."""

    id: str
    started: datetime


def made_by(uow: UnitOfWork, account_id: str, run: RunId) -> bool:
    """Tell whether the account *account_id* was created by the import *run*.

    Accounts stored before the run are not: their audit trail is not read.
    When it was stored shows in its UUIDv7 id; an imported account's
    ``created_at`` is the old shop's date, so it cannot tell.
    """
    return _stored_since(account_id, run.started) and any(
        record.event is AuditEvent.ACCOUNT_IMPORTED
        and record.details.get("run") == run.id
        for record in uow.audit.for_account(account_id)
    )


def _stored_since(account_id: str, started: datetime) -> bool:
    """Tell whether the account *account_id* may have been stored since *started*.

    Its id's first 48 bits are when it was made, in Unix milliseconds
    (:func:`~echoppe_accounts.service_layer.ids.uuid7_text`); an id of
    another form may have been made any time.
    """
    try:
        made = uuid.UUID(account_id)
    except ValueError:
        return True
    if made.version != _UUID_VERSION:
        return True
    return made.int >> 80 >= int(started.timestamp() * 1000)


def shown(path: Path | str) -> str:
    """Return *path* (or a source's name) as reported: its last 200 characters."""
    return str(path)[-200:].encode("utf-8", "replace").decode()
