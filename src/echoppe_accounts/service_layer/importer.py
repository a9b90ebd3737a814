"""The writing of imported customers in batches, over the ports (SPEC O4, M1, M2).

The entry point that owns the source (a CSV file,
:mod:`echoppe_accounts.entrypoints.csv_import`, or any iterable of
:class:`~echoppe_accounts.service_layer.import_records.ImportedCustomer`)
gives each customer to a run (:func:`start_run`), or a CSV line refused
whole; the run validates the customers of a batch into candidates
(:mod:`~echoppe_accounts.service_layer.import_customers`), looks their
emails up at once, writes them in one transaction (else one by one) and
hands the refusals and changes of the batch, in source order, to the report.
A batch's kept hashes are wrapped in threads while the next batch is
validated; it is written then (or at the end, or when the source fails).

A guest row and a registered customer's row with one email make one
account within a run: hers, with the guest's addresses, the merge
reported under the later row
(``import.guest_merged``). The guest row counts *already present* (its
customer is, in her account): a guest account an earlier batch made is
uncounted when her row replaces it, so imported, already present and
invalid still add up to the rows read. A guest account of an earlier run
is never replaced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

import attrs

from echoppe_accounts.domain.completion import Missing
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import FieldError, StorageError, ValidationError
from echoppe_accounts.domain.i18n import available_languages
from echoppe_accounts.domain.status import AccountStatus
from echoppe_accounts.service_layer import _guest_merge as merge
from echoppe_accounts.service_layer._import_cases import (
    Counts,
    ImportCases,
    RunId,
    made_by,
)
from echoppe_accounts.service_layer._ports import Ports, save
from echoppe_accounts.service_layer.import_customers import (
    Candidate,
    ImportContext,
    validate_customer,
)
from echoppe_accounts.service_layer.import_records import ImportedCustomer
from echoppe_accounts.service_layer.import_rows import (
    EXAMPLE,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
)
from echoppe_accounts.service_layer.registration import (
    remove_if_unverified,
    remove_unverified,
)

if TYPE_CHECKING:
    from echoppe_accounts.domain.account import Account
    from echoppe_accounts.ports import UnitOfWork

__all__ = [
    "EXAMPLE",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Counts",
    "ImportCases",
    "ImportRun",
    "RefusalReport",
    "start_run",
]

log = logging.getLogger("echoppe_accounts.importer")


class RefusalReport(Protocol):
    """Where a run writes its refusals and changes (a protocol)."""

    def write(self, entries: Sequence[tuple[str, FieldError]]) -> None:
        """Write *entries*: a customer's reference (or line), a problem or change."""
        ...


def start_run(
    ports: Ports,
    *,
    keep_hashes: bool,
    errors: RefusalReport,
    batch_size: int,
    newsletter_wording: str | None = None,
    dated: bool = True,
    newsletter_dated: bool = True,
    invite_guests: bool = False,
    wording_required: bool = False,
    keep_wordpress: bool = False,
) -> _Run:
    """Begin an import run over *ports*, writing batches of *batch_size* customers.

    With *keep_hashes*, a usable bcrypt or phpass hash is kept (wrapped),
    and with *keep_wordpress* too a WordPress 6.8+ one; otherwise its
    customer is invited to choose a password. With
    *wording_required*, a subscribed customer without a wording's version
    stops the import (a source that keeps none: the shop must name it);
    otherwise that customer alone is refused.
    """
    context = ImportContext(
        keep_hashes=keep_hashes,
        keep_wordpress=keep_hashes and keep_wordpress,
        languages=available_languages(),
        newsletter_wording=newsletter_wording,
        dated=dated,
        invite_guests=invite_guests,
        newsletter_dated=newsletter_dated,
    )
    return _Run(
        ImportCases(ports),
        context=context,
        errors=errors,
        batch_size=batch_size,
        wording_required=wording_required,
    )


_Pending = tuple[int, ImportedCustomer, Sequence[FieldError], Sequence[FieldError]]
_Refused = list[tuple[int, str, FieldError]]


@attrs.frozen
class _Guest:
    """How a guest account this run made was counted, to undo when it is replaced."""

    ref: str
    invited: bool
    disabled: bool


def _wrap_all(wrap: Callable[[str], str], hashes: Sequence[str]) -> list[str]:
    return [wrap(h) for h in hashes]


@attrs.define
class _Validated:
    """A batch validated and looked up, its kept hashes being wrapped meanwhile.

    It is written when the next batch has been validated (or at the end):
    the wrapping, in threads, runs beside that validation.
    """

    batch: list[Candidate]
    ours: set[str]
    refused: _Refused
    wrapped: Callable[[], list[Candidate]]


@attrs.define
class _Run:
    """The state of one import: counts, the batch in hand, the report."""

    cases: ImportCases
    context: ImportContext
    errors: RefusalReport
    batch_size: int
    wording_required: bool = False
    counts: Counts = attrs.Factory(Counts)
    run: RunId = attrs.Factory(
        lambda self: RunId(str(uuid.uuid4()), self.cases.clock.now()),
        takes_self=True,
    )
    _customers: list[_Pending] = attrs.Factory(list)
    _refused: _Refused = attrs.Factory(list)
    _in_batch: int = 0
    _validated: _Validated | None = None
    _guests: dict[str, _Guest] = attrs.Factory(dict)
    """The guest accounts this run made, by email key (a registered
    customer's row replaces them, SPEC M1)."""
    _notes: dict[int, list[FieldError]] = attrs.Factory(dict)

    def add_customer(
        self,
        line: int,
        record: ImportedCustomer,
        problems: Sequence[FieldError] = (),
        changes: Sequence[FieldError] = (),
    ) -> None:
        """Take *record*, at *line* of the source (its position, for the report).

        *problems* are those the source found reading it (they refuse it),
        *changes* those it made (reported with the others).
        """
        self.counts.read += 1
        self._customers.append((line, record, problems, changes))
        self._next_line()

    def refuse_line(self, number: int, problems: Sequence[FieldError]) -> None:
        """Count line *number* read and refused for *problems*."""
        self.counts.read += 1
        self._refuse(self._refused, number, str(number), problems)
        self._next_line()

    def flush(self) -> None:
        """Write the batch in hand and the one before it (at the end of the file)."""
        self._flush()
        self._write_validated()

    def settle(self) -> None:
        """Write the batch validated last, not the one in hand (on the source's error).

        A batch is written once the next one is validated; when the source
        fails, what was validated before stays imported, as each batch did
        when it was written at once.
        """
        self._write_validated()

    def _refuse(
        self, into: _Refused, number: int, ref: str, problems: Sequence[FieldError]
    ) -> None:
        self.counts.invalid += 1
        into.extend((number, ref, p) for p in problems)

    def _next_line(self) -> None:
        self._in_batch += 1
        if self._in_batch >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        """Validate the batch in hand, write the one before it, then look this one up.

        Every customer is validated, then the previous batch is written
        (its hashes were wrapped meanwhile), then this batch's emails are
        looked up at once: a customer whose email had an account when the
        import began is counted already present, whatever else it holds.
        Its hashes are wrapped while the next batch is validated.
        """
        customers, refused = self._customers, self._refused
        self._customers, self._refused, self._in_batch = [], [], 0
        try:
            valid, invalid, keys = self._validate(customers)
        finally:  # what was validated before stays imported
            self._write_validated()
        counts = self.counts
        present, ours, replaced = self._look_up(keys)
        for number, ref, problems in invalid:
            if number in present:
                counts.already_present += 1
            else:
                self._refuse(refused, number, ref, problems)
        batch: list[Candidate] = []
        for candidate in valid:
            if candidate.line in present:
                counts.already_present += 1
            elif candidate.email.key in replaced:  # said in the report (M2)
                entry = FieldError("email", "import.unverified_replaced")
                changes = (*candidate.changes, entry)
                batch.append(attrs.evolve(candidate, changes=changes))
            else:
                batch.append(candidate)
        self._validated = _Validated(batch, ours, refused, self._wrapping(batch))

    def _write_validated(self) -> None:
        """Write the batch validated last, then its refusals and changes in order."""
        validated, self._validated = self._validated, None
        if validated is None:
            return
        refused = validated.refused
        for candidate, outcome in self._store(validated.wrapped(), validated.ours):
            self._count(refused, candidate, outcome)
        refused.sort(key=lambda entry: entry[0])
        self.errors.write([(ref, error) for _, ref, error in refused])

    def _count(self, refused: _Refused, candidate: Candidate, outcome: str) -> None:
        """Count what became of a valid customer (see ``ImportCases.store``)."""
        counts = self.counts
        line, ref = candidate.line, candidate.ref
        if outcome == "taken":
            self._refuse(refused, line, ref, [FieldError("email", "email.taken")])
        elif outcome == "refused":
            self._refuse(refused, line, ref, [FieldError("", "import.storage_refused")])
        elif outcome == "present":
            counts.already_present += 1
        elif outcome == "merged":  # its addresses joined a registered account
            counts.already_present += 1
            notes = self._notes.pop(line, [])
            counts.changes += len(notes)
            refused.extend((line, ref, note) for note in notes)
        else:
            invited = outcome == "invited"
            counts.add(candidate, invited=invited)
            refused.extend((line, ref, change) for change in candidate.changes)
            if candidate.guest:
                self._guests[candidate.email.key] = _Guest(
                    ref, invited, candidate.disabled
                )

    def _validate(
        self, customers: Sequence[_Pending]
    ) -> tuple[
        list[Candidate], list[tuple[int, str, Sequence[FieldError]]], dict[int, str]
    ]:
        """Validate *customers*: the valid ones, the refused ones, and every email key.

        Raises:
            ValidationError: ``import.newsletter_wording_required`` when a
                subscribed customer comes without the wording's version and
                the run needs the shop to name it; nothing of the batch is
                written.
        """
        context = self.context
        valid: list[Candidate] = []
        invalid: list[tuple[int, str, Sequence[FieldError]]] = []
        keys: dict[int, str] = {}
        for line, record, problems, changes in customers:
            try:
                candidate = validate_customer(record, context, line, problems, changes)
            except ValidationError as exc:
                if self.wording_required and "consent.wording_required" in exc.codes:
                    raise ValidationError.single(
                        "newsletter_wording", "import.newsletter_wording_required"
                    ) from None
                invalid.append((line, record.ref, exc.errors))
                with contextlib.suppress(ValidationError):  # reported already
                    keys[line] = Email.parse(record.email).key
            else:
                valid.append(candidate)
                keys[line] = candidate.email.key
        return valid, invalid, keys

    def _look_up(self, keys: Mapping[int, str]) -> tuple[set[int], set[str], set[str]]:
        """Look up the email *keys* of a batch's lines at once.

        Returns the lines whose email had an account before this run, the
        email keys of the accounts this run has created, and those of the
        unproven sign-ups removed; an address another account can still
        restore counts as present. A sign-up whose mailbox is not proven
        only holds its email (SPEC X5): anybody may have typed a customer's
        address, so the customer's account replaces it rather than being
        counted present and lost (SPEC M1), and the report says so (M2).
        """
        if not keys:
            return set(), set(), set()
        before: set[str] = set()
        ours: set[str] = set()
        removed: set[str] = set()
        # Nothing is written but the removal of an unproven sign-up now and
        # then: no commit waits for the disk (a removal lost to a power cut
        # is made again by the re-run), and the connection keeps its setting
        # instead of switching it back and forth every batch.
        with self.cases.uow(durable=False) as uow:
            replaced = False
            # The holders' rows in one look-up: a re-run, whose emails all
            # have accounts, reads no account whole, line by line.
            held = uow.accounts.credentials_by_email_keys(keys.values())
            for key, holder in held.items():
                if holder.status is AccountStatus.UNVERIFIED:
                    existing = uow.accounts.get_by_email_key(key)
                    if existing is None:  # pragma: no cover (removed meanwhile)
                        continue
                    if remove_if_unverified(uow, existing):
                        replaced = True
                        removed.add(key)
                        continue
                    before.add(key)  # its link opened it meanwhile
                    continue
                mine = made_by(uow, holder.account_id, self.run)
                (ours if mine else before).add(key)
            if replaced:
                uow.commit()
            # An address an email change replaced stays its account's to
            # take back for 7 days (SPEC F10): nobody else's, as at sign-up.
            # One look-up for the batch, as for the taken keys.
            free = set(keys.values()) - before - ours
            if free:
                now = self.cases.clock.now()
                before |= uow.accounts.restorable_email_keys(free, now)
        if removed:
            log.info(
                "%d unproven sign-ups gave way to imported customers", len(removed)
            )
        return {n for n, key in keys.items() if key in before}, ours, removed

    def _wrapping(self, batch: list[Candidate]) -> Callable[[], list[Candidate]]:
        """Begin wrapping the bcrypt hashes of *batch*; return how to wait for it.

        Nothing that bcrypt alone can attack rests in storage (SPEC M3):
        each kept hash is stored wrapped in an argon2id hash by the login's
        :class:`~echoppe_accounts.LegacyHasher`. The hashes are made in
        threads (argon2 releases the GIL), one per core and a slice of the
        batch each (a task per hash costs the pool more than a cheap hash),
        outside any transaction, so no lock is held meanwhile.
        """
        wrap = getattr(self.cases.ports.hasher, "wrap", None)
        hashed = [c for c in batch if c.password_hash is not None]
        if not callable(wrap) or not hashed:
            return lambda: batch
        hashes = [c.password_hash for c in hashed if c.password_hash is not None]
        workers = min(os.cpu_count() or 1, len(hashes))
        size = -(-len(hashes) // workers)
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            parts = [
                pool.submit(_wrap_all, wrap, hashes[i : i + size])
                for i in range(0, len(hashes), size)
            ]
        finally:
            pool.shutdown(wait=False)  # its threads end with their tasks

        def wrapped() -> list[Candidate]:
            made = [h for part in parts for h in part.result()]
            by_line = dict(zip((c.line for c in hashed), made, strict=True))
            return [
                attrs.evolve(c, password_hash=by_line[c.line])
                if c.line in by_line
                else c
                for c in batch
            ]

        return wrapped

    def _store(
        self, batch: list[Candidate], ours: set[str]
    ) -> list[tuple[Candidate, str]]:
        """Write *batch* in one transaction, else line by line.

        A line whose email an earlier line of this run has is ``"taken"``,
        unless one of the two is a guest row and the other a registered
        customer's (:meth:`_pair`): then they make one account.
        """
        outcomes, fresh, later = self._sort_out(batch, ours)
        outcomes += [self._store_later(c) for c in later]
        if not fresh:
            return outcomes
        cases = self.cases
        try:
            with cases.uow(durable=False) as uow:  # see ImportCases.finish
                written = cases.store_new(uow, fresh, self.run)
                uow.commit()
        except ValidationError:  # an email registered since the look-up
            log.info("an email of the batch was registered meanwhile: line by line")
        except StorageError as exc:
            if len(fresh) == 1:
                if exc.retryable:
                    raise
                return [*outcomes, (fresh[0], "refused")]
            log.warning("the storage refused a batch (%s): line by line", exc)
        else:
            return [*outcomes, *zip(fresh, written, strict=True)]
        return [*outcomes, *self._store_one_by_one(fresh)]

    def _sort_out(
        self, batch: list[Candidate], ours: set[str]
    ) -> tuple[list[tuple[Candidate, str]], list[Candidate], list[Candidate]]:
        """Sort *batch* out: what became of some, the new accounts, the later lines.

        The later lines are those whose email has an account this run made
        in an earlier batch (:meth:`_store_later`).
        """
        outcomes: list[tuple[Candidate, str]] = []
        by_key: dict[str, Candidate] = {}
        later: list[Candidate] = []
        for candidate in batch:
            key = candidate.email.key
            earlier = by_key.get(key)
            if key in ours:
                later.append(candidate)
            elif earlier is None:
                by_key[key] = candidate
            else:
                paired = self._pair(earlier, candidate)
                if paired is None:
                    outcomes.append((candidate, "taken"))
                else:
                    by_key[key], guest = paired
                    outcomes.append((guest, "merged"))
        return outcomes, list(by_key.values()), later

    def _pair(
        self, earlier: Candidate, later: Candidate
    ) -> tuple[Candidate, Candidate] | None:
        """Make one candidate of a guest row and another row of its email (SPEC M1).

        A guest row and a registered one: returns the registered customer's
        candidate with the guest's addresses, and the guest's (whose row is
        then ``"merged"``). Two guest rows (the same person checking out
        twice): the earlier one, with the later one's addresses. ``None``
        for two registered rows. The merge is reported under the later row.
        """
        if not (earlier.guest or later.guest):
            return None
        guest, registered = (earlier, later) if earlier.guest else (later, earlier)
        if later.guest:  # the earlier row stays: the registered one, or a guest
            guest, registered = later, earlier
        addresses = merge.guest_addresses(guest.billing, guest.deliveries, guest.name)
        merged, beyond = merge.registered_with(registered, guest.billing, addresses)
        merged = merge.with_guest_extras(merged, guest.phone, guest.newsletter)
        notes = merge.address_changes(guest)
        entries = [merge.merged_entry(), *beyond]
        if registered is later:
            merged = attrs.evolve(merged, changes=(*merged.changes, *entries))
        else:
            notes += entries
        self._notes[guest.line] = notes
        return merged, guest

    def _store_later(self, candidate: Candidate) -> tuple[Candidate, str]:
        """Store *candidate*, whose email has an account this run made.

        A registered customer replaces the guest account this run made of a
        guest row with her email; a guest row's addresses join the account
        this run made of a registered customer or of an earlier guest row.
        A second registered customer is ``"taken"``.
        Returns the candidate counted (the registered one with the guest's
        addresses) and what became of it.
        """
        key = candidate.email.key
        guest = self._guests.get(key)
        if not candidate.guest and guest is None:
            return candidate, "taken"
        cases = self.cases
        try:
            with cases.uow(durable=False) as uow:
                existing = uow.accounts.get_by_email_key(key)
                if existing is None or not made_by(uow, existing.id, self.run):
                    return candidate, "taken"  # removed meanwhile
                replaces = guest is not None and not candidate.guest
                # What the guest account misses now, joins included (counted).
                missed = existing.missing
                if replaces:
                    candidate, outcome = self._replace(uow, candidate, existing)
                else:
                    outcome = self._join(uow, candidate, existing)
                uow.commit()
        except ValidationError:  # registered meanwhile
            return candidate, "taken"
        except StorageError as exc:
            if exc.retryable:
                raise
            return candidate, "refused"
        if replaces:
            assert guest is not None  # noqa: S101 (replaces says so)
            del self._guests[key]
            self._uncount(guest, missed)
        return candidate, outcome

    def _replace(
        self, uow: UnitOfWork, registered: Candidate, account: Account
    ) -> tuple[Candidate, str]:
        """Replace the guest *account* with *registered*'s, with its addresses."""
        book = account.addresses
        merged, beyond = merge.registered_with(
            registered,
            None if book is None else book.billing,
            merge.account_addresses(account),
        )
        merged = merge.with_guest_extras(
            merged, account.phone, merge.stored_subscription(account)
        )
        merged = attrs.evolve(
            merged, changes=(*merged.changes, merge.merged_entry(), *beyond)
        )
        remove_unverified(uow, account)  # its links die, its mails go unsent
        (outcome,) = self.cases.store_new(uow, [merged], self.run)
        return merged, outcome

    def _join(self, uow: UnitOfWork, guest: Candidate, account: Account) -> str:
        """Add a guest row's addresses, phone and consent to *account* (this run's).

        What the account no longer misses is counted so.
        """
        missing = account.missing
        addresses = merge.guest_addresses(guest.billing, guest.deliveries, guest.name)
        beyond, _ = merge.add_to_account(
            account, guest.billing, addresses, self.cases.ports.new_id
        )
        merge.join_extras(account, guest, self.cases.clock.now())
        save(self.cases.ports, uow, account)
        for piece in missing - account.missing:
            self.counts.to_complete[piece] -= 1
        self._notes[guest.line] = [
            *merge.address_changes(guest),
            merge.merged_entry(),
            *beyond,
        ]
        return "merged"

    def _uncount(self, guest: _Guest, missed: frozenset[Missing]) -> None:
        """Count a replaced guest account's row present, no longer imported.

        *missed* is what the stored account missed when it was replaced.
        """
        counts = self.counts
        counts.imported -= 1
        counts.already_present += 1
        counts.guests -= 1
        counts.invited -= guest.invited
        counts.disabled -= guest.disabled
        for piece in missed:
            counts.to_complete[piece] -= 1

    def _store_one_by_one(self, batch: list[Candidate]) -> list[tuple[Candidate, str]]:
        cases = self.cases
        outcomes: list[tuple[Candidate, str]] = []
        last: StorageError | None = None
        for candidate in batch:
            try:
                with cases.uow(durable=False) as uow:
                    outcome = cases.store(uow, candidate, self.run)
                    uow.commit()
            except StorageError as exc:
                if exc.retryable:
                    raise  # the storage is unavailable: no line is at fault
                last, outcome = exc, "refused"
            outcomes.append((candidate, outcome))
        if last is not None and all(o == "refused" for _, o in outcomes):
            raise last
        return outcomes


ImportRun = _Run
"""The type of a run (:func:`start_run`), for the entry point that reads the file."""
