"""The rows of a CSV import: its columns, and consecutive lines read into customers.

A row is a mapping from every column to its cell (empty when the file has
no such column). Consecutive rows with the same email are one customer
(each further row adds a delivery address); :func:`customer_of_rows` reads
them into an :class:`~echoppe_accounts.service_layer.import_records.ImportedCustomer`,
which :func:`~echoppe_accounts.service_layer.import_customers.validate_customer`
validates as every import source's customers are. The file itself (its
encoding, separator and header) is read by
:mod:`echoppe_accounts.entrypoints.csv_import`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from echoppe_accounts.domain.errors import FieldError
from echoppe_accounts.domain.i18n import DEFAULT_TIMEZONE
from echoppe_accounts.service_layer.import_customers import Candidate
from echoppe_accounts.service_layer.import_records import (
    ImportedAddress,
    ImportedCustomer,
)

__all__ = [
    "COLUMNS",
    "EXAMPLE",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Candidate",
    "customer_of_rows",
    "email_of_row",
]

EXAMPLE: Final = (
    "email;name;phone;category;organisation_name;siret;billing_street;"
    "billing_postal_code;billing_city;delivery_contact_name;delivery_street;"
    "delivery_postal_code;delivery_city;password_hash;newsletter;"
    "newsletter_wording_version;created_at\n"
    "jean.dupont@exemple.fr;Jean Dupont;06 12 34 56 78;particulier;;;"
    "12 rue des Lilas|Bâtiment B;75011;Paris;;;;;"
    "$2y$04$TluM/g./pzU6AQZv.NXyP.ylDwtTmSABzeLZJDbUyVCXcktuchUWC;1;2019-03;"
    "2018-06-01 10:30\n"
    "compta@exemple-sa.fr;Claire Martin;+33 4 78 12 34 56;entreprise;Exemple SA;"
    "732 829 320;3 place Bellecour;69002;Lyon;Service courrier;"
    "ZI des Bruyères|Quai 4;69150;Décines-Charpieu;;0;;2020-01-15\n"
    "compta@exemple-sa.fr;Claire Martin;;entreprise;Exemple SA;"
    "732 829 320;;;;Magasin;8 rue de la République;69001;Lyon;;;;\n"
    "paul@exemple.fr;Paul Martin;;particulier;;;"
    "1 rue de la Paix;7500;Paris;;;;;;;;2021-09-30\n"
    "pas-une-adresse;Zoé Roux;;;;;;;;;;;;;;;2022-02-02\n"
)
"""Four customers in the format of the import, one on two lines, one refused.

The first keeps the bcrypt hash of ``motdepasse`` from PrestaShop; the
company (lines 3 and 4: a second delivery address) gave its SIREN but no
SIRET, and will be invited to choose a password and to complete its
account; Paul's postal code is wrong and he gave no phone: his account is
to complete; the last line has no valid email and is refused.

.. versionadded:: 0.2.0
"""

REQUIRED_COLUMNS: Final = ("email", "name")
"""The columns every file must have.

.. versionadded:: 0.2.0
"""

OPTIONAL_COLUMNS: Final = (
    "phone",
    "category",
    "organisation_name",
    "siret",
    "ape",
    "chorus_requirement",
    "chorus_service_code",
    "chorus_engagement_number",
    "billing_street",
    "billing_postal_code",
    "billing_city",
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
    "newsletter_at",
    "language",
    "created_at",
    "active",
    "guest",
    "optin",
)
"""The columns a file may have besides the required ones.

.. versionadded:: 0.2.0
"""

COLUMNS: Final = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
"""Every column a file may have."""

_STREET_SEPARATORS = ("|", "\r\n", "\r")
_BOOLEAN_MAX = 16
_DATE_MAX = 40
_ZONE = ZoneInfo(DEFAULT_TIMEZONE)
_BILLING = ("billing_street", "billing_postal_code", "billing_city")
_DELIVERY = ("delivery_street", "delivery_postal_code", "delivery_city")
_ADDRESS_COLUMNS = frozenset(
    (*_BILLING, "billing_country", *_DELIVERY, "delivery_country")
) | {"delivery_contact_name", "delivery_label"}
_CUSTOMER_COLUMNS = tuple(sorted(COLUMNS - _ADDRESS_COLUMNS - {"email"}))


def email_of_row(row: Mapping[str, str]) -> str:
    """Return what groups consecutive rows into one customer: the email, folded.

    Cheap on purpose (it runs on every row): rows whose emails differ only
    in a way the canonical key forgives beyond case (SPEC F1) are two
    customers, the second refused as ``email.taken``.
    """
    return row["email"].strip().casefold()


def _street(cell: str) -> str:
    """Return a street cell with its lines (``|`` or line breaks) on lines."""
    for separator in _STREET_SEPARATORS:
        cell = cell.replace(separator, "\n")
    return cell


def _boolean(
    row: Mapping[str, str], column: str, problems: list[FieldError], *, empty: bool
) -> bool:
    cell = row[column]
    value = cell.strip() if len(cell) <= _BOOLEAN_MAX else "?"
    if value == "":
        return empty
    if value in {"0", "1"}:
        return value == "1"
    problems.append(FieldError(column, "import.boolean_invalid"))
    return empty


def _date(
    row: Mapping[str, str], column: str, problems: list[FieldError]
) -> datetime | None:
    """Read an ISO 8601 date or time; without an offset, in French time."""
    cell = row[column].strip() if len(row[column]) <= _DATE_MAX else "?"
    if not cell:
        return None
    try:
        value = datetime.fromisoformat(cell)
    except ValueError:
        problems.append(FieldError(column, "import.date_invalid", {"value": cell}))
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=_ZONE)


def _address(
    row: Mapping[str, str], kind: str, ref: str, contact: str, label: str
) -> ImportedAddress:
    return ImportedAddress(
        ref=ref,
        last_name=contact,
        address1=_street(row[f"{kind}_street"]),
        postal_code=row[f"{kind}_postal_code"],
        city=row[f"{kind}_city"],
        country=row[f"{kind}_country"],
        alias=label,
    )


def _addresses_of(
    number: int, row: Mapping[str, str], *, first: bool
) -> tuple[ImportedAddress | None, ImportedAddress | None]:
    """Return the billing address a row gives (first row only) and its delivery one."""
    own_billing = any(row[c].strip() for c in _BILLING)
    own_delivery = any(row[c].strip() for c in _DELIVERY)
    contact = row["delivery_contact_name"]
    label = row["delivery_label"]
    delivery = (
        _address(row, "delivery", f"{number}d", contact, label)
        if own_delivery
        else None
    )
    if not own_billing:
        return None, delivery
    if first:
        # Alone on the row, the billing address is also delivered to, to
        # the contact the row names.
        alone = delivery is None
        billing = _address(
            row,
            "billing",
            f"{number}b",
            contact if alone else "",
            label if alone else "",
        )
        return billing, delivery
    if delivery is None:  # a further row's address: one more delivery address
        return None, _address(row, "billing", f"{number}b", contact, label)
    return None, delivery


def customer_of_rows(
    rows: Sequence[tuple[int, Mapping[str, str]]],
) -> tuple[ImportedCustomer, list[FieldError], list[FieldError]]:
    """Read consecutive *rows* of one email into a customer.

    Returns the customer, the problems that refuse it (cells that cannot
    be read), and the changes to report (a further row that gives another
    value than the first: the first row's is kept).
    """
    (number, row), *further = rows
    problems: list[FieldError] = []
    changes: list[FieldError] = []
    billing, delivery = _addresses_of(number, row, first=True)
    addresses = [a for a in (billing, delivery) if a is not None]
    for later, other in further:
        _, extra = _addresses_of(later, other, first=False)
        if extra is not None:
            addresses.append(extra)
        for column in _CUSTOMER_COLUMNS:
            cell = other[column].strip()
            if cell and cell != row[column].strip():
                changes.append(
                    FieldError(column, "import.line_conflict", {"line": later})
                )
    customer = ImportedCustomer(
        ref=str(number),
        email=row["email"],
        last_name=row["name"],
        company=row["organisation_name"],
        siret=row["siret"],
        ape=row["ape"],
        phone=row["phone"],
        password_hash=row["password_hash"],
        language=row["language"],
        created_at=_date(row, "created_at", problems),
        newsletter=_boolean(row, "newsletter", problems, empty=False),
        newsletter_at=_date(row, "newsletter_at", problems),
        optin=_boolean(row, "optin", problems, empty=False),
        active=_boolean(row, "active", problems, empty=True),
        guest=_boolean(row, "guest", problems, empty=False),
        addresses=tuple(addresses),
        billing_ref=billing.ref if billing is not None else None,
        category=row["category"],
        chorus_requirement=row["chorus_requirement"],
        chorus_service_code=row["chorus_service_code"],
        chorus_engagement_number=row["chorus_engagement_number"],
        newsletter_wording=row["newsletter_wording_version"],
    )
    return customer, problems, changes
