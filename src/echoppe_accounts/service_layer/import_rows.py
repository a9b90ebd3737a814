"""The rows of an import: its columns, and one row validated into a candidate.

A row is a mapping from every column to its cell (empty when the file has
no such column); :func:`validate_row` validates it exactly as the registration
form is validated (SPEC F1–F9) and returns what the importer writes. The
file itself (its encoding, separator and header) is read by
:mod:`echoppe_accounts.entrypoints.csv_import`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from echoppe_accounts.domain.errors import Collector, ValidationError
from echoppe_accounts.domain.forms import (
    AddressForm,
    DeliveryForm,
    ParsedRegistration,
    RegistrationForm,
    parse_registration,
)
from echoppe_accounts.domain.legacy_hash import usable_legacy_hash
from echoppe_accounts.domain.password import PasswordPolicy

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

COLUMNS: Final = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
"""Every column a file may have."""

_STREET_SEPARATORS = ("|", "\r\n", "\n", "\r")
_MAX_STREET_PARTS = 5  # one more than PostalAddress accepts: enough to refuse
_BOOLEAN_MAX = 16


@attrs.frozen
class Candidate:
    """A valid line, ready to become an account."""

    line: int
    parsed: ParsedRegistration
    password_hash: str | None = attrs.field(repr=False)


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


def validate_row(
    line: int,
    row: Mapping[str, str],
    policy: PasswordPolicy,
    keep_hashes: bool,  # noqa: FBT001
) -> Candidate:
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
    return Candidate(line, parsed, password_hash)


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
