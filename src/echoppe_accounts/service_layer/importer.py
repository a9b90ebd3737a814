r"""Import the customers of a shop leaving another platform, from a CSV file.

:class:`~echoppe_accounts.CustomerImporter` reads the file line by line,
validates every line exactly as the registration form is validated (SPEC
F1–F9: the same codes and messages), and creates the accounts in
transactional batches. It keeps no more in memory than one batch, whatever
the size of the file; it can be run again on the same file, which then adds
nothing; and it returns an :class:`~echoppe_accounts.ImportSummary`,
printing nothing (the ``echoppe-accounts import`` command prints it).

The file
--------
- **Encoding**: UTF-8, with or without the byte-order mark that Excel's
  "CSV UTF-8" writes. A file that is not UTF-8 (Windows-1252 or Latin-1, as
  older exports are) is refused whole before anything is imported, with the
  number of its first unreadable line: save it again as UTF-8.
- **Separator**: ``;``, what French spreadsheets write, or ``,``. The
  header decides: ``;`` if it holds one, otherwise ``,``. Cells holding the
  separator, a quote or a line break are quoted with ``"`` (RFC 4180, as
  spreadsheets do). Lines end with LF or CRLF; a physical line holds at most
  64 KiB.
- **Header**: the first line names the columns below, in any order, in
  lower or upper case. A column the file does not need may be left out,
  but every required column must be there, and a column the importer does
  not know is refused (a misspelt ``newsleter`` would otherwise drop every
  customer's consent without a word).
- **One line per customer**, with as many cells as the header (empty cells
  at the end of a line are ignored). Blank lines are skipped.

================================  ========  ==================================
column                            required  content
================================  ========  ==================================
``email``                         yes       the login and contact address
``name``                          yes       the customer's name (invoices)
``phone``                         yes       national (``06 12 34 56 78``) or
                                            international (``+33 6…``) form
``category``                      yes       ``particulier``, ``professionnel``,
                                            ``entreprise``, ``collectivité``
                                            or their codes (``individual``,
                                            ``professional``, ``company``,
                                            ``public_body``)
``organisation_name``             no        required by every category but
                                            individuals (SPEC C3)
``siret``                         no        likewise; spaces and dots allowed
``chorus_requirement``            no        public bodies: ``none``,
                                            ``service``, ``engagement``,
                                            ``both`` or ``either``
``chorus_service_code``           no        public bodies: Chorus Pro code
``chorus_engagement_number``      no        public bodies: engagement number
``billing_street``                yes       street lines, separated by ``|``
                                            (or by line breaks inside a
                                            quoted cell), at most four
``billing_postal_code``           yes       ``75011``
``billing_city``                  yes       ``Paris``
``billing_country``               no        ISO 3166-1 alpha-2; empty: ``FR``
``delivery_contact_name``         no        empty: the customer's name
``delivery_street``               no        as ``billing_street``
``delivery_postal_code``          no
``delivery_city``                 no
``delivery_country``              no        empty: ``FR``
``delivery_label``                no        ``Bureau``, ``Maison``…
``password_hash``                 no        see *Passwords* below
``newsletter``                    no        ``1`` subscribed; ``0`` or empty
                                            not
``newsletter_wording_version``    no        required with ``newsletter`` 1:
                                            the version of the consent text
                                            the old shop showed (SPEC F7)
``language``                      no        ``fr`` (default) or ``en``
================================  ========  ==================================

The one delivery address a line can carry is the billing address when its
street, postal code and city are all empty; its contact name is then the
customer's name, unless ``delivery_contact_name`` says otherwise. The
customer adds more delivery addresses from the account page.

Passwords
---------
A line carries no password, only, optionally, the hash the old platform
kept; the password policy (SPEC P2) is therefore not applied, and
everything else is. A bcrypt hash as PrestaShop 1.7 and later export them
(``$2y$10$…``, also ``$2a$``/``$2b$``) is kept as it is, without any work at
import; the customer logs in with the old password, which is checked once
and replaced by an argon2id hash (SPEC P1, through
:class:`~echoppe_accounts.LegacyHasher`, which
:func:`~echoppe_accounts.bootstrap` wires by default). An empty cell, an
MD5 hash of PrestaShop 1.6 (``md5(_COOKIE_KEY_ . password)``, which needs
the old shop's secret and protects nothing), or any other hash is not
usable: the account is created like an express account (SPEC X2: status
:attr:`~echoppe_accounts.AccountStatus.EXPRESS`, no password, so no login)
and the customer is *invited* by the set-password mail of express
accounts, through the outbox. The link completes the account with
:meth:`~echoppe_accounts.AccountService.complete_express`; once it has
expired, "J'ai oublié mon mot de passe" works as well (the reset sets a
password and makes the account active), and so does a new express checkout,
which sends a new link. Bcrypt hashes are kept only when the application's
hasher can check them (a one-off probe at the start of the import); with a
hasher that cannot, those customers are invited too. Customers who keep
their hash receive no mail.

Results
-------
Every problem of a line is reported, not the first one only, in the error
report: a CSV file beside the input (``clients.csv.errors.csv``), written
only when there are errors (an older report at that place is removed when
there are none), in UTF-8 with a byte-order mark so that Excel shows
the accents, with the input's separator and the columns ``line`` (the
line's number in the file, the header being line 1), ``field`` (the column
concerned, empty for the line as a whole), ``code`` (the stable code of
:func:`~echoppe_accounts.known_codes`) and ``message`` (in French).

An email whose canonical key (SPEC F1) already had an account when the
import began is counted *already present* and its account left untouched:
run the same file twice and the second run adds nothing. Two lines of the
file with one email: the second is refused with ``email.taken``. (Run
again, that second line counts as already present, since its email now has
an account.) Accounts are written in transactions of *batch_size* lines;
when the storage refuses a batch, its lines are written again one by one,
so that one line the storage refuses does not sink the others (it is
reported as ``import.storage_refused``). A storage that refuses every line
of a batch, or is unavailable, stops the import with its
:class:`~echoppe_accounts.StorageError`: what was written stays written,
and running the import again goes on where it stopped.

Each imported account's audit trail starts with
:attr:`~echoppe_accounts.AuditEvent.ACCOUNT_IMPORTED`, and the import ends
by recording one :attr:`~echoppe_accounts.AuditEvent.CUSTOMERS_IMPORTED`
with the file's name and the counts. The batches are committed without
waiting for the disk, and that last record's commit waits for it: when
:meth:`~echoppe_accounts.CustomerImporter.import_csv` returns, everything it wrote is on
disk; a power cut during an import may lose its last batches, which
running it again writes.

Speed: each batch is validated, then its emails are looked up in one
query and its accounts written together. The import leaves CPython's
garbage collector as the program set it (a web server's other threads
share it): a batch's objects are freed by reference counting once it is
written (the only cycles are those of the invitations' rendered mails,
which the collector's young generations take).

An example, with a customer who keeps the bcrypt hash of the password
``motdepasse`` from PrestaShop, a company whose customer will be invited,
and a line with a bad postal code (see :data:`EXAMPLE`):

>>> import tempfile
>>> from pathlib import Path
>>> from echoppe_accounts import Argon2Hasher, InMemoryStore, LegacyHasher
>>> from echoppe_accounts import Settings, bootstrap
>>> from echoppe_accounts.testing import RecordingMailer
>>> app = bootstrap(
...     InMemoryStore().unit_of_work, RecordingMailer(),
...     Settings(base_url="https://www.lechoppe.fr", outbox_key=bytes(32)),
...     hasher=LegacyHasher(Argon2Hasher(memory_cost=8, time_cost=1)))
>>> folder = tempfile.TemporaryDirectory()
>>> source = Path(folder.name, "clients.csv")
>>> _ = source.write_text(EXAMPLE, encoding="utf-8")
>>> summary = CustomerImporter(app).import_csv(source, progress=False)
>>> summary.read, summary.imported, summary.invited, summary.invalid
(3, 2, 1, 1)
>>> print(summary.report.read_text(encoding="utf-8-sig"), end="")
line;field;code;message
4;billing_postal_code;address.postal_code_invalid;Le code postal est invalide.
>>> app.auth.login("JEAN.DUPONT@exemple.fr", "motdepasse").account_id == (
...     app.accounts.find_by_email("jean.dupont@exemple.fr").id)
True
>>> CustomerImporter(app).import_csv(source, progress=False).already_present
2
>>> folder.cleanup()

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import logging
import os
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Final, Self

import attrs

from echoppe_accounts._files import UnsafeFileError, may_replace, private_file
from echoppe_accounts.domain.account import Account, AccountStatus
from echoppe_accounts.domain.addressbook import AddressBook, DeliveryAddress
from echoppe_accounts.domain.audit import AuditEvent, AuditRecord
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import (
    Collector,
    FieldError,
    StorageError,
    ValidationError,
)
from echoppe_accounts.domain.forms import (
    AddressForm,
    DeliveryForm,
    ParsedRegistration,
    RegistrationForm,
    parse_registration,
)
from echoppe_accounts.domain.legacy_hash import (
    PROBE_HASH,
    PROBE_PASSWORD,
    usable_legacy_hash,
)
from echoppe_accounts.domain.password import PasswordPolicy
from echoppe_accounts.ports import Clock, PasswordHasher, UnitOfWork
from echoppe_accounts.service_layer._ports import Ports, audit, unix_ms, uuid7_text
from echoppe_accounts.service_layer.express import issue_set_password
from echoppe_accounts.service_layer.settings import Settings

if TYPE_CHECKING:
    from _csv import Writer

    from echoppe_accounts.bootstrap import App

log = logging.getLogger("echoppe_accounts.importer")

EXAMPLE: Final = (
    "email;name;phone;category;organisation_name;siret;billing_street;"
    "billing_postal_code;billing_city;delivery_contact_name;delivery_street;"
    "delivery_postal_code;delivery_city;password_hash;newsletter;"
    "newsletter_wording_version\n"
    "jean.dupont@exemple.fr;Jean Dupont;06 12 34 56 78;particulier;;;"
    "12 rue des Lilas|Bâtiment B;75011;Paris;;;;;"
    "$2y$04$TluM/g./pzU6AQZv.NXyP.ylDwtTmSABzeLZJDbUyVCXcktuchUWC;1;2019-03\n"
    "compta@exemple-sa.fr;Claire Martin;+33 4 78 12 34 56;entreprise;Exemple SA;"
    "732 829 320 00074;3 place Bellecour;69002;Lyon;Service courrier;"
    "ZI des Bruyères|Quai 4;69150;Décines-Charpieu;;0;\n"
    "paul@exemple.fr;Paul Martin;06 98 76 54 32;particulier;;;"
    "1 rue de la Paix;7500;Paris;;;;;;;\n"
)
"""Three customers in the format of the import, the last one with a bad postal code.

The first keeps the bcrypt hash of ``motdepasse`` from PrestaShop; the
second has no password and will be invited to choose one.

.. versionadded:: 0.2.0
"""

MAX_LINE_BYTES: Final = 64 * 1024
"""The longest physical line read; a longer one is reported, unread.

.. versionadded:: 0.2.0
"""

REQUIRED_COLUMNS: Final = (
    "email",
    "name",
    "phone",
    "category",
    "billing_street",
    "billing_postal_code",
    "billing_city",
)
"""The columns every file must have (the required fields of sign-up).

.. versionadded:: 0.2.0
"""

OPTIONAL_COLUMNS: Final = (
    "organisation_name",
    "siret",
    "chorus_requirement",
    "chorus_service_code",
    "chorus_engagement_number",
    "billing_country",
    "delivery_contact_name",
    "delivery_street",
    "delivery_postal_code",
    "delivery_city",
    "delivery_country",
    "delivery_label",
    "password_hash",
    "newsletter",
    "newsletter_wording_version",
    "language",
)
"""The columns a file may have besides the required ones.

.. versionadded:: 0.2.0
"""

_COLUMNS = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
_STREET_SEPARATORS = ("|", "\r\n", "\n", "\r")
_MAX_STREET_PARTS = 5  # one more than PostalAddress accepts: enough to refuse
_MAX_SHOWN = 64  # characters of an unknown column's name quoted back
_BOOLEAN_MAX = 16
_CHUNK = 1 << 16  # bytes read at a time when checking the encoding


@attrs.frozen
class ImportSummary:
    """What an import did, for the command line to print.

    ``imported + already_present + invalid == read``.

    Attributes:
        read: Data lines read (the header and blank lines not counted).
        imported: Accounts created.
        already_present: Lines whose email already had an account when the
            import began: left untouched.
        invalid: Lines refused, each listed in the report.
        invited: Of the accounts created, those without a usable password,
            whose customer was sent the set-password mail.
        report: Where the error report was written, or ``None`` when no
            line was refused.

    .. versionadded:: 0.2.0
    """

    read: int
    imported: int
    already_present: int
    invalid: int
    invited: int
    report: Path | None


@attrs.frozen
class _Candidate:
    """A valid line, ready to become an account."""

    line: int
    parsed: ParsedRegistration
    password_hash: str | None = attrs.field(repr=False)


@attrs.define
class _Counts:
    read: int = 0
    imported: int = 0
    already_present: int = 0
    invalid: int = 0
    invited: int = 0


class CustomerImporter:
    """Import existing customers from a CSV file (SPEC O4).

    The file's format and what becomes of each line are described in the
    documentation of :mod:`echoppe_accounts.service_layer.importer`.

    Args:
        app: The wired library (:func:`~echoppe_accounts.bootstrap`): the
            import uses the storage, clock, secret source, settings and
            outbox of its use cases, and asks its login's password hasher
            whether it can check bcrypt hashes.

    .. versionadded:: 0.2.0
    """

    def __init__(self, app: App) -> None:
        """Work with the ports of *app*'s use cases."""
        accounts = app.accounts
        self._cases = _ImportCases(
            Ports(
                accounts.uow,
                accounts.clock,
                accounts.secrets,
                accounts.hasher,
                accounts.settings,
            )
        )
        self._login_hasher: PasswordHasher = app.auth.hasher

    def import_csv(
        self,
        source: Path,
        *,
        report: Path | None = None,
        batch_size: int = 500,
        progress: bool | None = None,
    ) -> ImportSummary:
        """Import the customers of *source*, a CSV file, and say what was done.

        Args:
            source: The file to import (format: see the module's
                documentation).
            report: Where to write the error report; by default beside
                *source*, named ``<source>.errors.csv``. Written only when
                a line is refused; otherwise an older report there (a file
                that starts with the report's header) is removed.
            batch_size: Lines per transaction.
            progress: Show a progress bar on standard error. ``None``, the
                default, shows one only when standard error is a terminal.

        Returns:
            The counts, and where the report is.

        Raises:
            ValidationError: The file cannot be read, is not UTF-8, or its
                header is wrong (``import.file_unreadable``,
                ``import.not_utf8``, ``import.no_header``,
                ``import.missing_column``, ``import.unknown_column``,
                ``import.duplicate_column``); or the report cannot be
                written (``import.report_unwritable``). Nothing is
                imported in the first cases; in the last, the lines before
                stay imported.
            StorageError: The storage is unavailable, or refused a whole
                batch line by line. What was written stays written.
            ValueError: *batch_size* is less than 1.
        """
        if batch_size < 1:
            msg = f"batch_size must be at least 1, not {batch_size}"
            raise ValueError(msg)
        source = Path(source)
        report_path = Path(report) if report is not None else _default_report(source)
        _check_report_path(source, report_path, named=report is not None)
        total = _check_encoding(source)
        try:
            handle = source.open("rb")
        except OSError as exc:  # pragma: no cover (gone since it was read)
            raise _unreadable(source) from exc
        with handle, _Report(report_path) as errors:
            lines = _Lines(handle)
            header = _read_header(lines)
            errors.delimiter = header.delimiter
            run = _Run(
                self._cases,
                keep_hashes=self._checks_bcrypt(),
                errors=errors,
                batch_size=batch_size,
            )
            with _progress_bar(total - 1, progress) as bar:
                counts = run.all(lines, header, bar)
            self._cases.finish(run.run, source, counts)
        summary = ImportSummary(
            read=counts.read,
            imported=counts.imported,
            already_present=counts.already_present,
            invalid=counts.invalid,
            invited=counts.invited,
            report=report_path if errors.written else None,
        )
        log.info(
            "import of %s: %d read, %d imported, %d already present, "
            "%d invalid, %d invited",
            source.name,
            summary.read,
            summary.imported,
            summary.already_present,
            summary.invalid,
            summary.invited,
        )
        return summary

    def _checks_bcrypt(self) -> bool:
        """Ask the login's hasher whether it checks bcrypt hashes (one check)."""
        if self._login_hasher.verify(PROBE_HASH, PROBE_PASSWORD):
            return True
        log.warning(
            "the password hasher cannot check bcrypt hashes: customers who "
            "have one are invited to choose a password (wire LegacyHasher)"
        )
        return False


# -- the use cases of an import ----------------------------------------------------


@attrs.frozen
class _ImportCases:
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

    def store(self, uow: UnitOfWork, candidate: _Candidate, run: _RunId) -> str:
        """Create the account of *candidate* in *uow*; return what became of it.

        ``"present"``: the email had an account before this run;
        ``"taken"``: an earlier line of this run has that email;
        ``"invited"`` or ``"imported"``: the account was created.
        """
        existing = uow.accounts.get_by_email_key(candidate.parsed.email.key)
        if existing is not None:
            return "taken" if _made_by(uow, existing, run) else "present"
        try:
            (outcome,) = self.store_new(uow, [candidate], run)
        except ValidationError:  # registered meanwhile (PostgreSQL): not ours
            return "present"
        return outcome

    def store_new(
        self, uow: UnitOfWork, candidates: Sequence[_Candidate], run: _RunId
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
        self, candidate: _Candidate, now: datetime, ids: Iterator[str]
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

    def finish(self, run: _RunId, source: Path, counts: _Counts) -> None:
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
                file=_shown(source),
                read=str(counts.read),
                imported=str(counts.imported),
                already_present=str(counts.already_present),
                invalid=str(counts.invalid),
                invited=str(counts.invited),
            )
            uow.commit()


@attrs.frozen
class _RunId:
    """Which import run this is, and when it began."""

    id: str
    started: datetime


def _made_by(uow: UnitOfWork, account: Account, run: _RunId) -> bool:
    """Tell whether *account* was created by the import *run*.

    Accounts older than the run are not: their audit trail is not read.
    """
    return account.created_at >= run.started and any(
        record.event is AuditEvent.ACCOUNT_IMPORTED
        and record.details.get("run") == run.id
        for record in uow.audit.for_account(account.id)
    )


# -- one run over a file ---------------------------------------------------------


@attrs.define
class _Run:
    """The state of one import: counts, the batch in hand, the report."""

    cases: _ImportCases
    keep_hashes: bool
    errors: _Report
    batch_size: int
    counts: _Counts = attrs.Factory(_Counts)
    run: _RunId = attrs.Factory(
        lambda self: _RunId(str(uuid.uuid4()), self.cases.clock.now()),
        takes_self=True,
    )
    _rows: list[tuple[int, dict[str, str]]] = attrs.Factory(list)
    _refused: list[tuple[int, FieldError]] = attrs.Factory(list)
    _in_batch: int = 0

    def all(self, lines: _Lines, header: _Header, bar: _Bar) -> _Counts:
        """Import every line after the header; return the counts."""
        reader = csv.reader(lines, delimiter=header.delimiter)
        position = lines.number
        while True:
            start = lines.number + 1
            lines.cut = False
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error:
                self._line_refused(
                    start,
                    [FieldError("", "import.malformed_line", {"last": lines.number})],
                )
            else:
                self._line(start, cells, header, lines.cut)
            bar.update(lines.number - position)
            position = lines.number
        self._flush()
        return self.counts

    def _line(self, number: int, cells: list[str], header: _Header, cut: bool) -> None:  # noqa: FBT001
        if cut:
            self._line_refused(
                number,
                [FieldError("", "import.line_too_long", {"max": MAX_LINE_BYTES})],
            )
            return
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            return  # a blank line
        expected = len(header.columns)
        if len(cells) < expected or any(c.strip() for c in cells[expected:]):
            found = len(cells)
            self._line_refused(
                number,
                [
                    FieldError(
                        "", "import.cell_count", {"found": found, "expected": expected}
                    )
                ],
            )
            return
        row = dict.fromkeys(_COLUMNS, "")
        row.update(zip(header.columns, cells, strict=False))
        self.counts.read += 1
        self._rows.append((number, row))
        self._next_line()

    def _line_refused(self, number: int, problems: Sequence[FieldError]) -> None:
        self.counts.read += 1
        self._refuse(number, problems)
        self._next_line()

    def _refuse(self, number: int, problems: Sequence[FieldError]) -> None:
        self.counts.invalid += 1
        self._refused.extend((number, p) for p in problems)

    def _next_line(self) -> None:
        self._in_batch += 1
        if self._in_batch >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        """Write the batch in hand, then its lines' problems, in line order.

        Every line is validated, then the batch's emails are looked up at
        once: a line whose email had an account when the import began is
        counted already present, whatever else it holds.
        """
        counts = self.counts
        valid, invalid, keys = self._validate(self._rows)
        present, ours = self._look_up(keys)
        for number, problems in invalid:
            if number in present:
                counts.already_present += 1
            else:
                self._refuse(number, problems)
        batch: list[_Candidate] = []
        for candidate in valid:
            if candidate.line in present:
                counts.already_present += 1
            else:
                batch.append(candidate)
        for candidate, outcome in self._store(batch, ours):
            self._count(candidate.line, outcome)
        self._refused.sort(key=lambda refused: refused[0])
        self.errors.write(self._refused)
        self._rows.clear()
        self._refused.clear()
        self._in_batch = 0

    def _count(self, line: int, outcome: str) -> None:
        """Count what became of a valid *line* (see ``_ImportCases.store``)."""
        counts = self.counts
        if outcome == "taken":
            self._refuse(line, [FieldError("email", "email.taken")])
        elif outcome == "refused":
            self._refuse(line, [FieldError("", "import.storage_refused")])
        elif outcome == "present":
            counts.already_present += 1
        else:
            counts.imported += 1
            if outcome == "invited":
                counts.invited += 1

    def _validate(
        self, rows: Sequence[tuple[int, Mapping[str, str]]]
    ) -> tuple[
        list[_Candidate], list[tuple[int, Sequence[FieldError]]], dict[int, str]
    ]:
        """Validate *rows*: the valid lines, the refused ones, and every email key."""
        policy = self.cases.settings.password_policy
        valid: list[_Candidate] = []
        invalid: list[tuple[int, Sequence[FieldError]]] = []
        keys: dict[int, str] = {}
        for number, row in rows:
            try:
                candidate = _candidate(number, row, policy, self.keep_hashes)
            except ValidationError as exc:
                invalid.append((number, exc.errors))
                with contextlib.suppress(ValidationError):  # reported already
                    keys[number] = Email.parse(row["email"]).key
            else:
                valid.append(candidate)
                keys[number] = candidate.parsed.email.key
        return valid, invalid, keys

    def _look_up(self, keys: Mapping[int, str]) -> tuple[set[int], set[str]]:
        """Look up the email *keys* of a batch's lines at once.

        Returns the lines whose email had an account before this run, and
        the email keys of the accounts this run has created.
        """
        if not keys:
            return set(), set()
        before: set[str] = set()
        ours: set[str] = set()
        with self.cases.uow() as uow:
            for key in uow.accounts.taken_email_keys(keys.values()):
                existing = uow.accounts.get_by_email_key(key)
                if existing is None:  # pragma: no cover (erased meanwhile)
                    continue
                (ours if _made_by(uow, existing, self.run) else before).add(key)
        return {n for n, key in keys.items() if key in before}, ours

    def _wrapped(self, batch: list[_Candidate]) -> list[_Candidate]:
        """Return *batch* with its bcrypt hashes wrapped, before any transaction.

        Nothing that bcrypt alone can attack rests in storage (SPEC M3):
        each kept hash is stored wrapped in an argon2id hash by the login's
        :class:`~echoppe_accounts.LegacyHasher`. The hashes are made in
        threads (argon2 releases the GIL), one per core, outside the
        transaction, so no lock is held meanwhile.
        """
        wrap = getattr(self.cases.ports.hasher, "wrap", None)
        hashed = [c for c in batch if c.password_hash is not None]
        if not callable(wrap) or not hashed:
            return batch
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            wrapped = dict(
                zip(
                    (c.line for c in hashed),
                    pool.map(wrap, (c.password_hash for c in hashed)),
                    strict=True,
                )
            )
        return [
            attrs.evolve(c, password_hash=wrapped[c.line]) if c.line in wrapped else c
            for c in batch
        ]

    def _store(
        self, batch: list[_Candidate], ours: set[str]
    ) -> list[tuple[_Candidate, str]]:
        """Write *batch* in one transaction, else line by line.

        A line whose email an earlier line of this run has is ``"taken"``.
        """
        batch = self._wrapped(batch)
        outcomes: list[tuple[_Candidate, str]] = []
        fresh: list[_Candidate] = []
        seen = set(ours)
        for candidate in batch:
            key = candidate.parsed.email.key
            if key in seen:
                outcomes.append((candidate, "taken"))
            else:
                seen.add(key)
                fresh.append(candidate)
        if not fresh:
            return outcomes
        cases = self.cases
        try:
            with cases.uow(durable=False) as uow:  # see _ImportCases.finish
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

    def _store_one_by_one(
        self, batch: list[_Candidate]
    ) -> list[tuple[_Candidate, str]]:
        cases = self.cases
        outcomes: list[tuple[_Candidate, str]] = []
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


# -- reading the file ---------------------------------------------------------------


def _default_report(source: Path) -> Path:
    return source.with_name(f"{source.name}.errors.csv")


def _shown(path: Path) -> str:
    return str(path)[-200:].encode("utf-8", "replace").decode()


def _unreadable(source: Path) -> ValidationError:
    return ValidationError.single("file", "import.file_unreadable", file=_shown(source))


def _check_report_path(source: Path, report: Path, *, named: bool) -> None:
    """Refuse a report that would overwrite the input or cannot be written.

    A symbolic link is refused (the report would overwrite its target), and
    so is an existing file the user did not name unless it is an earlier
    report (SPEC O4).
    """
    try:
        may_replace(report, named=named, ours=_is_report(report))
    except UnsafeFileError as exc:
        # A folder or a device is refused when a line needs the report.
        code = {
            "symlink": "import.report_symlink",
            "not_ours": "import.report_not_ours",
        }.get(exc.reason)
        if code is not None:
            raise ValidationError.single("report", code, file=_shown(report)) from exc
    same = False
    try:
        same = report.exists() and source.exists() and report.samefile(source)
    except OSError:  # pragma: no cover (a folder that cannot be looked into)
        same = True
    folder = report.parent
    if same or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ValidationError.single(
            "report", "import.report_unwritable", file=_shown(report)
        )


def _check_encoding(source: Path) -> int:
    """Read *source* once: refuse it unless UTF-8; return its number of lines."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    last = b"\n"
    try:
        with source.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = lines + chunk.count(b"\n", 0, exc.start) + 1
                    raise ValidationError.single(
                        "file", "import.not_utf8", line=line
                    ) from None
                lines += chunk.count(b"\n")
                last = chunk[-1:]
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise ValidationError.single(
                    "file", "import.not_utf8", line=lines + 1
                ) from None
    except OSError as exc:
        raise _unreadable(source) from exc
    return lines + (last != b"\n")


class _Lines:
    """The file's physical lines, decoded, none longer than MAX_LINE_BYTES.

    A longer line is skipped to its end and given to the CSV reader as an
    empty line, with :attr:`cut` set so that its record is reported.
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.number = 0
        self.cut = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self._handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            raise StopIteration
        self.number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := self._handle.readline(MAX_LINE_BYTES)) and not (
                rest.endswith(b"\n")
            ):
                pass
            self.cut = True
            return "\n"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # changed since it was checked
            raise ValidationError.single(
                "file", "import.not_utf8", line=self.number
            ) from None
        return text.removeprefix("\ufeff") if self.number == 1 else text


@attrs.frozen
class _Header:
    delimiter: str
    columns: tuple[str, ...]


def _read_header(lines: _Lines) -> _Header:
    """Read the header line: the separator and the columns (see the module doc)."""
    try:
        first = next(lines)
    except StopIteration:
        raise ValidationError.single("file", "import.no_header") from None
    if lines.cut or not first.strip():
        raise ValidationError.single("file", "import.no_header")
    delimiter = ";" if ";" in first else ","
    try:
        cells = next(csv.reader([first], delimiter=delimiter))
    except csv.Error:
        raise ValidationError.single("file", "import.no_header") from None
    columns = tuple(c.strip().lower() for c in cells)
    errors = Collector()
    seen: set[str] = set()
    for column in columns:
        if column not in _COLUMNS:
            shown = column[:_MAX_SHOWN].encode("utf-8", "replace").decode()
            errors.add(shown, "import.unknown_column", column=shown)
        elif column in seen:
            errors.add(column, "import.duplicate_column", column=column)
        seen.add(column)
    for column in REQUIRED_COLUMNS:
        if column not in seen:
            errors.add(column, "import.missing_column", column=column)
    errors.raise_if_any()
    return _Header(delimiter, columns)


# -- one line ------------------------------------------------------------------------


def _street(cell: str) -> list[str]:
    """Split a street cell into its lines (``|`` or line breaks)."""
    for separator in _STREET_SEPARATORS[1:]:
        cell = cell.replace(separator, _STREET_SEPARATORS[0])
    # Enough parts to refuse too many lines, never one part per character
    # of a huge cell (SPEC F9).
    return cell.split(_STREET_SEPARATORS[0], _MAX_STREET_PARTS - 1)


def _newsletter(cell: str, errors: Collector) -> bool:
    value = cell.strip() if len(cell) <= _BOOLEAN_MAX else "?"
    if value in {"", "0"}:
        return False
    if value == "1":
        return True
    errors.add("newsletter", "import.boolean_invalid")
    return False


def _candidate(
    line: int,
    row: Mapping[str, str],
    policy: PasswordPolicy,
    keep_hashes: bool,  # noqa: FBT001
) -> _Candidate:
    """Validate one line as the registration form is; raise with every problem."""
    newsletter_errors = Collector()
    subscribe = _newsletter(row["newsletter"], newsletter_errors)
    billing = AddressForm(
        _street(row["billing_street"]),
        row["billing_postal_code"],
        row["billing_city"],
        row["billing_country"] or "FR",
    )
    own_address = any(
        row[c].strip()
        for c in ("delivery_street", "delivery_postal_code", "delivery_city")
    )
    delivery_address = (
        AddressForm(
            _street(row["delivery_street"]),
            row["delivery_postal_code"],
            row["delivery_city"],
            row["delivery_country"] or "FR",
        )
        if own_address
        else billing
    )
    own_contact = bool(row["delivery_contact_name"].strip())
    form = RegistrationForm(
        category=row["category"],
        email=row["email"],
        phone=row["phone"],
        name=row["name"],
        organisation_name=row["organisation_name"],
        siret=row["siret"],
        chorus_requirement=row["chorus_requirement"],
        chorus_service_code=row["chorus_service_code"],
        chorus_engagement_number=row["chorus_engagement_number"],
        billing_address=billing,
        delivery_addresses=(
            DeliveryForm(
                row["delivery_contact_name"] if own_contact else row["name"],
                delivery_address,
                row["delivery_label"],
            ),
        ),
        newsletter=subscribe,
        newsletter_wording_version=row["newsletter_wording_version"],
        language=row["language"],
    )
    errors = Collector()
    parsed: ParsedRegistration | None = None
    try:
        parsed = parse_registration(form, policy, check_password=False)
    except ValidationError as exc:
        for error in exc.errors:
            # What the line left empty was copied from billing and name,
            # whose own problems are reported under their own columns.
            derived = (
                not own_address
                and error.path.startswith("delivery_addresses[0].address")
            ) or (
                not own_contact and error.path == "delivery_addresses[0].contact_name"
            )
            if not derived:
                errors.add(_column(error.path), error.code, **error.params)
    for error in newsletter_errors.errors:
        errors.add(error.path, error.code, **error.params)
    errors.raise_if_any()
    assert parsed is not None  # noqa: S101 (raised above otherwise)
    password_hash = usable_legacy_hash(row["password_hash"]) if keep_hashes else None
    return _Candidate(line, parsed, password_hash)


_PATHS: Final[Mapping[str, str]] = {
    "billing_address.": "billing_",
    "delivery_addresses[0].address.": "delivery_",
    "delivery_addresses[0].": "delivery_",
    "chorus.": "chorus_",
}


def _column(path: str) -> str:
    """Return the CSV column of a registration form's field path."""
    for prefix, column in _PATHS.items():
        if path.startswith(prefix):
            rest = path.removeprefix(prefix)
            if rest.startswith("street_lines"):
                rest = "street"
            return column + rest
    return path


# -- the report and the progress bar ---------------------------------------------------


class _Report:
    """The error report, opened on the first refused line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.delimiter = ";"
        self.written = False
        self._file: IO[str] | None = None
        self._files = contextlib.ExitStack()
        self._writer: Writer | None = None

    def __enter__(self) -> Self:
        return self

    def write(self, refused: Sequence[tuple[int, FieldError]]) -> None:
        if not refused:
            return
        try:
            if self._writer is None:
                # Owner-only, written beside and renamed over the path when
                # the import ends, never through a symbolic link (SPEC O4).
                self._file = self._files.enter_context(
                    private_file(self.path, encoding="utf-8-sig", newline="")
                )
                self._writer = csv.writer(self._file, delimiter=self.delimiter)
                self._writer.writerow(("line", "field", "code", "message"))
                self.written = True
            self._writer.writerows(
                (line, error.path, error.code, error.message("fr"))
                for line, error in refused
            )
        except OSError as exc:
            raise ValidationError.single(
                "report", "import.report_unwritable", file=_shown(self.path)
            ) from exc

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            # The lines refused so far are kept, whatever ended the import.
            try:
                self._files.close()
            except OSError as error:
                raise ValidationError.single(
                    "report", "import.report_unwritable", file=_shown(self.path)
                ) from error
        elif exc is None and not self.path.is_symlink() and _is_report(self.path):
            # No line refused: an older report must not pass for this run's.
            self.path.unlink()


_REPORT_HEADERS = tuple(f"\ufeffline{d}field{d}code{d}message" for d in (";", ","))


def _is_report(path: Path) -> bool:
    """Tell whether *path* is an error report (and nothing else to keep)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline(64).rstrip("\r\n") in _REPORT_HEADERS
    except OSError:  # absent, a folder, unreadable: not a report to remove
        return False


class _Bar:
    """The part of a progress bar the import uses."""

    def update(self, n: int) -> object:
        """Record *n* more lines read."""
        del n
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the bar."""


def _progress_bar(total: int, progress: bool | None) -> _Bar:  # noqa: FBT001
    """Return a progress bar on standard error, or one that shows nothing.

    With *progress* ``None``, the bar shows only when standard error is a
    terminal: piped or redirected, the output stays clean.
    """
    stream = sys.stderr
    if stream is None:  # no standard error at all (pythonw)
        return _Bar()
    show = progress if progress is not None else stream.isatty()
    if not show:
        return _Bar()
    from tqdm import tqdm  # noqa: PLC0415 (loaded only to show a bar)

    bar: _Bar = tqdm(
        total=max(total, 0),
        desc="Import",
        unit=" lignes",
        file=stream,
        mininterval=0.5,
    )
    return bar
