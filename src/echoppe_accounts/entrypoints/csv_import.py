r"""Import the customers of a shop leaving another platform, from a CSV file.

:class:`~echoppe_accounts.CustomerImporter` reads the file line by line and
gives its customers to the import pipeline every source shares
(:mod:`~echoppe_accounts.service_layer.import_customers`): each is read as
the registration form is read (SPEC F1–F9: the same value objects, codes and
messages), but what SPEC requires and the old shop never asked for (a
phone, an address, a SIRET) makes an account *to complete* at the next
login instead of a refusal (SPEC M1), and every change made on the way is
written in the report (SPEC M2). The accounts are created in transactional
batches; the import keeps no more in memory than one batch, whatever the
size of the file; it can be run again on the same file, which then adds
nothing; and it returns an :class:`~echoppe_accounts.ImportSummary`,
printing nothing (the ``echoppe-accounts import`` command prints it).
:meth:`~echoppe_accounts.CustomerImporter.import_records` does the same for
customers another source reads (the PrestaShop database).

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
  lower or upper case. Only ``email`` and ``name`` are required; a column
  the importer does not know is refused (a misspelt ``newsleter`` would
  otherwise drop every customer's consent without a word).
- **One customer per line, or per run of lines**: consecutive lines with
  the same email (case aside) are one customer, each further line adding a
  delivery address (its ``delivery_*`` cells, else its ``billing_*`` ones);
  the customer's other cells are read from the first line, and a further
  line that gives another value is reported (``import.line_conflict``).
  Sort the export by email (or by customer) so that a customer's lines
  follow each other: the same email further down is refused as
  ``email.taken``. Every line has as many cells as the header (empty cells
  at the end of a line are ignored). Blank lines are skipped.

================================  ========  ==================================
column                            required  content
================================  ========  ==================================
``email``                         yes       the login and contact address
``name``                          yes       the customer's name (invoices)
``phone``                         no        national (``06 12 34 56 78``) or
                                            international (``+33 6…``) form;
                                            empty or invalid: to complete
``category``                      no        ``particulier``, ``professionnel``,
                                            ``entreprise``, ``collectivité``
                                            or their codes (``individual``,
                                            ``professional``, ``company``,
                                            ``public_body``); empty: a
                                            company when an organisation or
                                            a SIRET is given, else an
                                            individual
``organisation_name``             no        the organisation (SPEC C3)
``siret``                         no        a SIRET (14 digits), or a SIREN
                                            (9 digits: kept, the SIRET asked
                                            at completion); spaces and dots
                                            allowed
``ape``                           no        APE (NAF) code: ``62.01Z``
``chorus_requirement``            no        public bodies: ``none``,
                                            ``service``, ``engagement``,
                                            ``both`` or ``either``
``chorus_service_code``           no        public bodies: Chorus Pro code
``chorus_engagement_number``      no        public bodies: engagement number
``billing_street``                no        street lines, separated by ``|``
                                            (or by line breaks inside a
                                            quoted cell); longer than four
                                            lines of 38 characters: laid out
                                            along AFNOR NF Z10-011
``billing_postal_code``           no        ``75011``
``billing_city``                  no        ``Paris``
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
``newsletter_wording_version``    no        with ``newsletter`` 1: the
                                            version of the consent text the
                                            old shop showed (SPEC F7); or
                                            the import's *newsletter_wording*
``newsletter_at``                 no        when the customer subscribed
``created_at``                    no        when the account was created
``language``                      no        ``fr`` (default), ``en`` or a
                                            language the shop added; another
                                            one: the default, reported
``active``                        no        ``0``: the account arrives
                                            disabled; ``1`` or empty: active
``guest``                         no        ``1``: a guest checkout, an
                                            express account never mailed
                                            unless the import is asked to
``optin``                         no        ``1``: partners' offers accepted
                                            (reported; nothing subscribed)
================================  ========  ==================================

Dates are ISO 8601 (``2019-03-31``, ``2019-03-31 14:05``,
``2019-03-31T14:05:00+02:00``); without an offset they are French time
(Europe/Paris). A line's delivery address is its billing address when its
delivery street, postal code and city are all empty; its contact name is
then the customer's name, unless ``delivery_contact_name`` says otherwise.
An address that cannot be used (a wrong postal code, a country that does
not exist, lines that no layout fits in four lines of 38 characters) is
left out and reported with its text; a customer left with no address, or
with no valid phone, or a business without a SIRET, comes in *to complete*
(:attr:`~echoppe_accounts.Account.missing`).

Passwords
---------
A line carries no password, only, optionally, the hash the old platform
kept; the password policy (SPEC P2) is therefore not applied. A bcrypt hash
as PrestaShop 1.7 and later export them (``$2y$10$…``, also
``$2a$``/``$2b$``), and a portable phpass hash as WordPress and WooCommerce
keep them (``$P$B…``; ``$H$`` from phpBB), is kept wrapped in an argon2id
hash (SPEC M3); the customer logs in with the old password, which is
checked once and replaced by an argon2id hash (SPEC P1, through
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
their hash receive no mail; nor do disabled accounts and guests (unless
the import is asked to invite guests). A hash not kept is reported
(``import.hash_not_kept``).

Results
-------
Every problem of a refused customer is reported, not the first one only,
and so is every change made to a customer imported (the codes of
:data:`~echoppe_accounts.service_layer.import_customers.CHANGE_CODES`), in
the report: a CSV file beside the input (``clients.csv.errors.csv``),
written only when there is something to say (an older report at that place
is removed otherwise), in UTF-8 with a byte-order mark so that Excel shows
the accents, with the input's separator and the columns ``line`` (the
number of the customer's first line in the file, the header being line
1), ``field`` (the column concerned, empty for the line as a whole),
``code`` (the stable code of :func:`~echoppe_accounts.known_codes`) and
``message`` (in French, with the original text of what was changed).

An email whose canonical key (SPEC F1) already had an account when the
import began is counted *already present* and its account left untouched:
run the same file twice and the second run adds nothing. Two lines of the
file with one email that do not follow each other: the second is refused
with ``email.taken``. (Run again, that second line counts as already
present, since its email now has an account.) Accounts are written in
transactions of *batch_size* customers; when the storage refuses a batch,
its customers are written again one by one,
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
``motdepasse`` from PrestaShop, a company on two lines (two delivery
addresses) that gave its SIREN and will be invited, a customer without a
phone whose postal code is wrong, and a line refused (see
:data:`~echoppe_accounts.service_layer.import_rows.EXAMPLE`):

>>> import tempfile
>>> from pathlib import Path
>>> from echoppe_accounts import Argon2Hasher, InMemoryStore, LegacyHasher
>>> from echoppe_accounts import Settings, bootstrap
>>> from echoppe_accounts.service_layer.import_rows import EXAMPLE
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
(4, 3, 2, 1)
>>> sorted((str(piece), n) for piece, n in summary.to_complete.items())
[('address', 1), ('phone', 1), ('siret', 1)]
>>> for row in summary.report.read_text(encoding="utf-8-sig").splitlines():
...     print(row.split(";")[:3])
['line', 'field', 'code']
['3', 'siret', 'import.to_complete.siret']
['3', 'siret', 'import.siren_kept']
['5', 'billing_postal_code', 'import.address_unusable']
['5', 'phone', 'import.to_complete.phone']
['5', 'billing_street', 'import.to_complete.address']
['6', 'email', 'email.invalid']
>>> print(summary.report.read_text(encoding="utf-8-sig").splitlines()[3])
5;billing_postal_code;import.address_unusable;Cette adresse n’a pas pu être
reprise (voir le champ) : 1 rue de la Paix, 7500 Paris
>>> app.auth.login("JEAN.DUPONT@exemple.fr", "motdepasse").account_id == (
...     app.accounts.find_by_email("jean.dupont@exemple.fr").id)
True
>>> CustomerImporter(app).import_csv(source, progress=False).already_present
3
>>> folder.cleanup()

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs

from echoppe_accounts.domain.completion import Missing
from echoppe_accounts.domain.legacy_hash import (
    PROBE_HASH,
    PROBE_PASSWORD,
    PROBE_WORDPRESS_HASH,
)
from echoppe_accounts.entrypoints import _csv_lines
from echoppe_accounts.entrypoints._csv_lines import (
    Lines,
    read_header,
    read_rows,
    unreadable,
)
from echoppe_accounts.entrypoints._import_report import (
    Report,
    check_report_path,
    default_report,
    progress_bar,
)
from echoppe_accounts.ports import PasswordHasher
from echoppe_accounts.service_layer._import_cases import Counts
from echoppe_accounts.service_layer._ports import Ports
from echoppe_accounts.service_layer.import_records import ImportedCustomer
from echoppe_accounts.service_layer.importer import start_run

if TYPE_CHECKING:
    from echoppe_accounts.bootstrap import App

log = logging.getLogger("echoppe_accounts.importer")

MAX_LINE_BYTES: Final = _csv_lines.MAX_LINE_BYTES
"""The longest physical line read; a longer one is reported, unread.

.. versionadded:: 0.2.0
"""


@attrs.frozen
class ImportSummary:
    """What an import did, for the command line to print.

    ``imported + already_present + invalid == read``.

    Attributes:
        read: Customers read: in a CSV file, the data lines, consecutive
            lines of one email counting once (the header and blank lines
            not counted).
        imported: Accounts created.
        already_present: Customers whose email already had an account when
            the import began: left untouched.
        invalid: Customers (or CSV lines) refused, each listed in the report.
        invited: Of the accounts created, those without a usable password,
            whose customer was sent the set-password mail.
        report: Where the report was written, or ``None`` when nothing was
            refused or changed.
        to_complete: Of the accounts created, how many miss each piece SPEC
            requires (SPEC M1): they complete it at their next login.
        disabled: Of the accounts created, those the old shop had disabled.
        guests: Of the accounts created, the old shop's guests (express
            accounts, mailed only when asked).
        changes: Entries of the report that say what the import changed on
            the way (SPEC M2), refusals not counted.

    .. versionadded:: 0.2.0
    """

    read: int
    imported: int
    already_present: int
    invalid: int
    invited: int
    report: Path | None
    to_complete: Mapping[Missing, int] = attrs.field(factory=dict)
    disabled: int = 0
    guests: int = 0
    changes: int = 0


def _summary(counts: Counts, report: Path | None) -> ImportSummary:
    return ImportSummary(
        read=counts.read,
        imported=counts.imported,
        already_present=counts.already_present,
        invalid=counts.invalid,
        invited=counts.invited,
        report=report,
        to_complete=dict(counts.to_complete),
        disabled=counts.disabled,
        guests=counts.guests,
        changes=counts.changes,
    )


class CustomerImporter:
    """Import existing customers from a CSV file (SPEC O4).

    The file's format and what becomes of each line are described in the
    documentation of :mod:`echoppe_accounts.entrypoints.csv_import`.

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
        self._ports = Ports(
            accounts.uow,
            accounts.clock,
            accounts.secrets,
            accounts.hasher,
            accounts.settings,
        )
        self._login_hasher: PasswordHasher = app.auth.hasher

    def import_csv(
        self,
        source: Path,
        *,
        report: Path | None = None,
        batch_size: int = 500,
        progress: bool | None = None,
        newsletter_wording: str | None = None,
        invite_guests: bool = False,
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
            newsletter_wording: The version of the consent wording for the
                subscribed customers whose ``newsletter_wording_version``
                cell is empty (SPEC F7); without it, such a line is refused.
            invite_guests: Mail guests (``guest`` 1) the set-password link
                too; by default they are never mailed (SPEC M2).

        Returns:
            The counts, and where the report is.

        .. versionchanged:: 0.2.0
           *newsletter_wording* and *invite_guests*.

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
        report_path = Path(report) if report is not None else default_report(source)
        check_report_path(source, report_path, named=report is not None)
        total = _csv_lines.check_encoding(source)
        try:
            handle = source.open("rb")
        except OSError as exc:  # pragma: no cover (gone since it was read)
            raise unreadable(source) from exc
        with handle, Report(report_path) as errors:
            lines = Lines(handle)
            header = read_header(lines)
            errors.delimiter = header.delimiter
            run = start_run(
                self._ports,
                keep_hashes=self._checks_bcrypt(),
                keep_wordpress=self._checks_wordpress(),
                errors=errors,
                batch_size=batch_size,
                newsletter_wording=newsletter_wording,
                dated="created_at" in header.columns,
                newsletter_dated="newsletter_at" in header.columns,
                invite_guests=invite_guests,
            )
            with progress_bar(total - 1, progress) as bar:
                read_rows(lines, header, run, bar)
            counts = run.counts
            run.cases.finish(run.run, source, counts)
        summary = _summary(counts, report_path if errors.written else None)
        _log(source.name, summary)
        return summary

    def import_records(
        self,
        records: Iterable[ImportedCustomer],
        *,
        source: str,
        report: Path,
        batch_size: int = 500,
        progress: bool | None = None,
        total: int | None = None,
        newsletter_wording: str | None = None,
        invite_guests: bool = False,
    ) -> ImportSummary:
        """Import customers another shop kept, read by a source, and say what was done.

        The same pipeline as :meth:`import_csv` (SPEC M1, M2): each record
        becomes an account, complete or to complete at its next login,
        every change reported; the same batches, the same *already present*
        on a run again, the same audit records. The PrestaShop source
        gives its customers here.

        Args:
            records: The customers, read lazily: one batch is held at a time.
            source: What the records come from, named in the audit trail
                (``"prestashop:db@host"``); no password in it.
            report: Where to write the report: refusals and changes, by the
                record's ``ref`` (column ``ref``).
            batch_size: Customers per transaction.
            progress: Show a progress bar on standard error (``None``: only
                on a terminal).
            total: How many records to expect, for the progress bar.
            newsletter_wording: The version of the consent wording the old
                shop showed (SPEC F7), for the subscribed customers whose
                record names none; required as soon as one is met.
            invite_guests: Mail guests the set-password link too.

        Returns:
            The counts, and where the report is.

        Raises:
            ValidationError: ``import.newsletter_wording_required``: a
                subscribed customer came and no wording was named (nothing
                of its batch is written; the batches before are, and count
                as already present on a run again); or the report cannot be
                written (``import.report_unwritable``, ...).
            StorageError: The storage is unavailable, or refused a whole
                batch one by one. What was written stays written.
            ValueError: *batch_size* is less than 1.

        .. versionadded:: 0.2.0
        """
        if batch_size < 1:
            msg = f"batch_size must be at least 1, not {batch_size}"
            raise ValueError(msg)
        report_path = Path(report)
        check_report_path(None, report_path, named=True)
        with Report(report_path, first_column="ref") as errors:
            run = start_run(
                self._ports,
                keep_hashes=self._checks_bcrypt(),
                keep_wordpress=self._checks_wordpress(),
                errors=errors,
                batch_size=batch_size,
                newsletter_wording=newsletter_wording,
                invite_guests=invite_guests,
                wording_required=True,
            )
            with progress_bar(total, progress) as bar:
                try:
                    for position, record in enumerate(records, start=1):
                        run.add_customer(position, record)
                        bar.update(1)
                except BaseException:
                    run.settle()  # what was validated stays imported
                    raise
                run.flush()
            counts = run.counts
            run.cases.finish(run.run, source, counts)
        summary = _summary(counts, report_path if errors.written else None)
        _log(source, summary)
        return summary

    def _checks_bcrypt(self) -> bool:
        """Ask the login's hasher whether it checks bcrypt hashes (one check)."""
        return self._checks(PROBE_HASH, "bcrypt hashes")

    def _checks_wordpress(self) -> bool:
        """Ask the login's hasher whether it checks WordPress 6.8+ hashes."""
        return self._checks(PROBE_WORDPRESS_HASH, "WordPress 6.8+ hashes ($wp$)")

    def _checks(self, probe: str, kind: str) -> bool:
        """Tell whether the login's hasher checks *probe*; warn if it does not."""
        if self._login_hasher.verify(probe, PROBE_PASSWORD):
            return True
        log.warning(
            "the password hasher cannot check %s: customers who have one are "
            "invited to choose a password (wire LegacyHasher)",
            kind,
        )
        return False


def _log(source: str, summary: ImportSummary) -> None:
    log.info(
        "import of %s: %d read, %d imported, %d already present, "
        "%d invalid, %d invited, %d disabled, %d guests, %d changes",
        source[-200:],
        summary.read,
        summary.imported,
        summary.already_present,
        summary.invalid,
        summary.invited,
        summary.disabled,
        summary.guests,
        summary.changes,
    )
