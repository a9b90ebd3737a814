"""Write ``faker-fr-customers.jsonl.gz``: 10,000 customers made by Faker (fr_FR).

The corpus is committed, so the tests that read it need no Faker; this script
regenerates it, byte for byte, from a fixed seed (the committed file was made
with Faker 40.x; another Faker version may draw other customers)::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python tests/data/make_faker_customers.py

Each line is one JSON object with the fields of a registration form:
``category`` (a French label or a code), ``email``, ``phone``, ``name``,
``organisation_name`` and ``siret`` (empty for individuals), the Chorus Pro
fields of public bodies, ``billing_address`` and one or two
``delivery_addresses`` (each with a contact name). Values are Faker's, as it
makes them: some of its phone numbers are not valid, which is the point
(issue 8).
"""

from __future__ import annotations

import gzip
import json
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported in main(): pytest imports this file without Faker
    from faker import Faker

SEED = 2026
COUNT = 10_000
TARGET = Path(__file__).with_name("faker-fr-customers.jsonl.gz")

CATEGORIES = [
    "collectivité",
    "collectivite",
    "public_body",
    "entreprise",
    "company",
    "particulier",
    "individual",
    "professionnel",
    "professional",
]
"""The accepted spellings of the four categories: French labels and codes."""
INDIVIDUAL = {"particulier", "individual"}
PUBLIC_BODY = {"collectivité", "collectivite", "public_body"}
LABELS = ["", "", "Bureau", "Maison", "Entrepôt", "Accueil", "Chantier n° 2"]
SECOND_LINES = ["Bâtiment {}", "Appartement {}", "Escalier {}", "BP {}", "Porte {}"]


def _address(fake: Faker) -> dict[str, object]:
    lines = [fake.street_address()]
    if fake.random.random() < 0.2:  # one address in five
        template = fake.random.choice(SECOND_LINES)
        lines.insert(0, template.format(fake.random.randint(1, 40)))
    return {
        "street_lines": lines,
        "postal_code": fake.postcode(),
        "city": fake.city(),
        "country": "FR",
    }


def _accented_email(fake: Faker) -> str:
    """An address built on a name, accents kept (``hélène.leduc@free.fr``)."""
    name = unicodedata.normalize("NFC", fake.name().lower())
    local = ".".join(part for part in name.replace("'", " ").split() if part)
    return f"{local}@{fake.free_email_domain()}"


def _email(fake: Faker) -> str:
    draw = fake.random.random()
    if draw < 0.1:
        return _accented_email(fake)
    if draw < 0.4:
        return fake.free_email()
    return fake.email()


def _chorus(fake: Faker) -> dict[str, str]:
    requirement = fake.random.choice(["", "none", "service", "engagement", "both"])
    service = fake.bothify("SERV-###") if requirement in {"service", "both"} else ""
    engagement = (
        fake.bothify("EJ-2026-####") if requirement in {"engagement", "both"} else ""
    )
    return {
        "chorus_requirement": requirement,
        "chorus_service_code": service,
        "chorus_engagement_number": engagement,
    }


def customer(fake: Faker) -> dict[str, object]:
    """Return one customer as a registration form would send it."""
    category = fake.random.choice(CATEGORIES)
    record: dict[str, object] = {
        "category": category,
        "email": _email(fake),
        "phone": fake.phone_number(),
        "name": fake.name(),
        "organisation_name": "",
        "siret": "",
        "billing_address": _address(fake),
        "delivery_addresses": [
            {
                "contact_name": fake.name(),
                "label": fake.random.choice(LABELS),
                "address": _address(fake),
            }
            for _ in range(fake.random.choice([1, 1, 2]))
        ],
    }
    if category not in INDIVIDUAL:
        record["organisation_name"] = fake.company()
        record["siret"] = fake.siret()
    if category in PUBLIC_BODY:
        record.update(_chorus(fake))
    return record


def main() -> None:
    """Write the corpus next to this script."""
    from faker import Faker  # noqa: PLC0415 (the bench extra; see the docstring)

    Faker.seed(SEED)
    fake = Faker("fr_FR")
    lines = [
        json.dumps(customer(fake), ensure_ascii=False, sort_keys=True)
        for _ in range(COUNT)
    ]
    data = ("\n".join(lines) + "\n").encode()
    # mtime=0: the same seed gives the same bytes, so regenerating is a no-op.
    TARGET.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


if __name__ == "__main__":
    main()
