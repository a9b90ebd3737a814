"""Write CSV files of customers to import, with known bad lines (issue 9, item 4).

Nothing here is committed data: the tests call :func:`write_customers` with a
fixed seed into their temporary folder, and get back what the importer must
find: which lines are bad, with which column and code, and how many
customers must be invited. Every bad line has exactly one problem, chosen
among :data:`BAD_KINDS`, so the expected report is known line by line.

The lines are in the format of :mod:`echoppe_accounts.entrypoints.csv_import`,
with ``;`` as separator. Phones are mostly in international form, as shops
often export them, so a line costs the importer one reading of the number.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = (
    "email",
    "name",
    "phone",
    "category",
    "organisation_name",
    "siret",
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
    "language",
)

BCRYPT = {
    "motdepasse": "$2y$04$xGGqm5R.TyEZ7V8wXJkFN.9YNagM/Z0aAk07be9mzRKrec5ymgTD.",
    "soleil2019": "$2y$04$V02ilwGC45PKzBMGaRwC2.fOnG6jbiIcls8dOWIXtWnpjXIukfw/y",
    "Azerty!123": "$2y$04$uxUvF43z2dU/oEwFGGYfW.5jhdjU3O4HzkLb5gQWUBQf8QlrSfsna",
}
"""PrestaShop-style bcrypt hashes (cost 4, to keep the tests quick) by password."""

MD5 = "9dd4e461268c8034f5c8564e155c67a6"
"""A PrestaShop 1.6 hash: not usable, its owner is invited."""

FIRST = ("Jean", "Marie", "Élodie", "François", "Zoé", "Loïc", "Anne-Sophie")
LAST = ("Dupont", "Martin", "Lefèvre", "Nguyen", "Da Silva", "Müller", "Œuvray")
STREETS = ("rue des Lilas", "avenue Jean-Jaurès", "place Bellecour", "quai de Saône")
PLACES = (
    ("75011", "Paris"),
    ("69002", "Lyon"),
    ("13001", "Marseille"),
    ("33000", "Bordeaux"),
    ("59000", "Lille"),
    ("97400", "Saint-Denis"),
)
SIRETS = ("73282932000074", "21690123100011")


Row = dict[str, str]


@dataclass
class Generated:
    """What a generated file holds, for the tests to check the import against.

    Attributes:
        lines: Data lines written.
        bad: The expected refusals: line number -> (column, code).
        changed: Lines imported with a change: line number -> (column, code)
            among the line's report entries.
        duplicates: The bad lines that repeat an earlier line's email.
        invited: Valid lines without a usable password hash.
    """

    lines: int = 0
    bad: dict[int, tuple[str, str]] = field(default_factory=dict)
    changed: dict[int, tuple[str, str]] = field(default_factory=dict)
    duplicates: set[int] = field(default_factory=set)
    invited: int = 0


def _good(i: int, rng: random.Random) -> Row:
    row = dict.fromkeys(COLUMNS, "")
    row["email"] = f"client.{i}@exemple-{i % 50}.fr"
    row["name"] = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    row["phone"] = (
        f"06 12 {i % 100:02d} {i // 100 % 100:02d} {i // 10000 % 100:02d}"
        if rng.random() < 0.1
        else f"+33 6 12 {i % 100:02d} {i // 100 % 100:02d} {i // 10000 % 100:02d}"
    )
    kind = rng.random()
    if kind < 0.7:
        row["category"] = rng.choice(("particulier", "individual"))
    else:
        row["category"] = rng.choice(
            ("professionnel", "entreprise", "company", "collectivité")
        )
        row["organisation_name"] = f"Société n° {i}"
        row["siret"] = rng.choice(SIRETS)
        if row["category"] == "collectivité":
            row["chorus_requirement"] = "either"
            row["chorus_engagement_number"] = f"EJ-{i}"
    code, city = rng.choice(PLACES)
    street = f"{i % 200 + 1} {rng.choice(STREETS)}"
    row["billing_street"] = street + ("|Bâtiment B" if rng.random() < 0.2 else "")
    row["billing_postal_code"], row["billing_city"] = code, city
    row["billing_country"] = rng.choice(("", "FR"))
    if rng.random() < 0.5:
        row["delivery_contact_name"] = rng.choice(("", "Accueil", "Service courrier"))
        row["delivery_street"] = f"{i % 90 + 1} {rng.choice(STREETS)}"
        row["delivery_postal_code"], row["delivery_city"] = rng.choice(PLACES)
        row["delivery_label"] = rng.choice(("", "Bureau", "Maison"))
    password = rng.random()
    # Most customers of a PrestaShop 1.7 shop have a bcrypt hash; a few
    # still have the MD5 of 1.6, some none (an account made by staff).
    if password < 0.75:
        row["password_hash"] = rng.choice(tuple(BCRYPT.values()))
    # (MD5 hashes would make every such line a change: the invitation
    # path is the empty cell's.)
    if rng.random() < 0.3:
        row["newsletter"], row["newsletter_wording_version"] = "1", "2019-03"
    else:
        row["newsletter"] = rng.choice(("", "0"))
    row["language"] = rng.choice(("", "fr", "en"))
    return row


def _individual(row: Row) -> Row:
    row.update(
        category="particulier",
        organisation_name="",
        siret="",
        chorus_requirement="",
        chorus_engagement_number="",
    )
    return row


def _own_delivery(row: Row) -> Row:
    row.update(delivery_street="1 rue X", delivery_postal_code="75001")
    row.update(delivery_city="Paris")
    return row


BAD_KINDS: dict[tuple[str, str], Callable[[Row], Row]] = {
    ("email", "email.invalid"): lambda r: {**r, "email": r["email"].replace("@", ".")},
    ("category", "category.invalid"): lambda r: {
        **_individual(r),
        "category": "client",
    },
    ("name", "required"): lambda r: {**r, "name": "", "delivery_contact_name": "X"},
    ("newsletter", "import.boolean_invalid"): lambda r: {**r, "newsletter": "oui"},
    ("newsletter_wording_version", "consent.wording_required"): lambda r: {
        **r,
        "newsletter": "1",
        "newsletter_wording_version": "",
    },
    ("siret", "not_allowed"): lambda r: {**_individual(r), "siret": SIRETS[0]},
    ("", "import.cell_count"): lambda r: r,  # written one cell short
}
"""How a good line is spoilt so that it is refused, by the (column, code) reported."""

CHANGED_KINDS: dict[tuple[str, str], Callable[[Row], Row]] = {
    ("billing_postal_code", "import.address_unusable"): lambda r: {
        **r,
        "billing_postal_code": "7501",
        "delivery_street": "",
        "delivery_postal_code": "",
        "delivery_city": "",
    },
    ("billing_street", "import.address_split"): lambda r: {
        **r,
        "billing_street": "12 " + "très longue " * 4 + "rue",
    },
    ("phone", "import.to_complete.phone"): lambda r: {**r, "phone": ""},
    ("phone", "import.phone_unusable"): lambda r: {**r, "phone": "12"},
    ("delivery_country", "import.address_unusable"): lambda r: {
        **_own_delivery(r),
        "delivery_country": "XX",
    },
    ("siret", "import.siret_unusable"): lambda r: {
        **r,
        "category": "entreprise",
        "organisation_name": "Exemple SA",
        "siret": "73282932000075",
        "chorus_requirement": "",
        "chorus_engagement_number": "",
    },
}
"""How a good line is spoilt so that it comes in changed (SPEC M1, M2), by one
of the (column, code) its report lines show."""

DUPLICATE = ("email", "email.taken")


def write_one(path: Path, **cells: str) -> Path:
    """Write a CSV file of one customer with *cells* (every other column empty)."""
    row = dict.fromkeys(COLUMNS, "") | cells
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerow([row[c] for c in COLUMNS])
    return path


def write_customers(
    path: Path, count: int, *, seed: int = 2026, bad_share: float = 0.05
) -> Generated:
    """Write *count* customers to *path*; a *bad_share* of the lines are bad.

    The bad lines are drawn with *seed*; one in eight of them repeats the
    email of an earlier good line (in another case, never the line just
    before: that would be the same customer's next address), the others are
    spoilt as :data:`BAD_KINDS` says. As many other lines are changed as
    :data:`CHANGED_KINDS` says. Every line's ``password_hash`` is bcrypt or
    empty (an MD5 hash would be a change of every such line).
    """
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    spoilt = rng.sample(range(count), 2 * round(count * bad_share))
    bad_lines = set(spoilt[: len(spoilt) // 2])
    changed_lines = set(spoilt[len(spoilt) // 2 :])
    kinds = [*BAD_KINDS, DUPLICATE]
    generated = Generated(lines=count)
    recent: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(count):
            row = _good(i, rng)
            line = i + 2  # the header is line 1
            cells = [row[c] for c in COLUMNS]
            if i in bad_lines:
                kind = rng.choice(kinds) if len(recent) > 1 else kinds[0]
                generated.bad[line] = kind
                if kind == DUPLICATE:
                    generated.duplicates.add(line)
                    row["email"] = rng.choice(recent[:-1]).upper()
                else:
                    row = BAD_KINDS[kind](row)
                cells = [row[c] for c in COLUMNS]
                if kind == ("", "import.cell_count"):
                    cells = cells[:-1]
            else:
                if i in changed_lines:
                    change = rng.choice(list(CHANGED_KINDS))
                    generated.changed[line] = change
                    row = CHANGED_KINDS[change](row)
                    cells = [row[c] for c in COLUMNS]
                recent = [*recent[-499:], row["email"]]
                if row["password_hash"] not in BCRYPT.values():
                    generated.invited += 1
            writer.writerow(cells)
    return generated
