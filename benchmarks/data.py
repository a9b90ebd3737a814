"""The benchmark data: Faker ``fr_FR`` companies from a fixed seed.

Faker is a benchmark-only dependency (the ``bench`` extra). The records are
made the way ``tests/data/make_faker_customers.py`` makes its corpus, but
all of them companies (a SIRET each, as the issue's rows want), with
distinct email addresses, and a password each.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from echoppe_accounts.domain.forms import AddressForm, DeliveryForm, RegistrationForm

if TYPE_CHECKING:  # Faker is imported when data is made: the bench extra
    from faker import Faker

SEED = 12
"""The seed of every benchmark's data: the same records on every run."""

Record = dict[str, Any]

SECOND_LINE_SHARE = 0.2
"""One address in five has a second street line."""
COMPANY_EMAIL_SHARE = 0.5
"""Half the addresses are Faker's company emails, half its other emails."""


def _address(fake: Faker) -> dict[str, Any]:
    lines = [fake.street_address()]
    if fake.random.random() < SECOND_LINE_SHARE:
        lines.insert(0, f"Bâtiment {fake.random.randint(1, 40)}")
    return {
        "street_lines": lines,
        "postal_code": fake.postcode(),
        "city": fake.city(),
        "country": "FR",
    }


@cache
def companies(count: int, seed: int = SEED) -> tuple[Record, ...]:
    """Return *count* company records with distinct emails, the same every run."""
    from faker import Faker  # noqa: PLC0415 (the bench extra, loaded when used)

    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    records: list[Record] = []
    seen: set[str] = set()
    while len(records) < count:
        draw = fake.random.random()
        email = fake.company_email() if draw < COMPANY_EMAIL_SHARE else fake.email()
        if email.lower() in seen:
            continue
        seen.add(email.lower())
        records.append(
            {
                "category": fake.random.choice(["entreprise", "company"]),
                "email": email,
                "phone": fake.phone_number(),
                "name": fake.name(),
                "password": fake.password(length=14),
                "organisation_name": fake.company(),
                "siret": fake.siret(),
                "billing_address": _address(fake),
                "delivery_addresses": [
                    {
                        "contact_name": fake.name(),
                        "label": "",
                        "address": _address(fake),
                    }
                ],
            }
        )
    return tuple(records)


def address_form(address: Record) -> AddressForm:
    """Return the form of one address record."""
    return AddressForm(
        address["street_lines"],
        address["postal_code"],
        address["city"],
        address["country"],
    )


def registration_form(record: Record) -> RegistrationForm:
    """Return the registration form a company record fills in."""
    return RegistrationForm(
        category=record["category"],
        email=record["email"],
        phone=record["phone"],
        name=record["name"],
        password=record["password"],
        organisation_name=record["organisation_name"],
        siret=record["siret"],
        billing_address=address_form(record["billing_address"]),
        delivery_addresses=[
            DeliveryForm(d["contact_name"], address_form(d["address"]), d["label"])
            for d in record["delivery_addresses"]
        ],
    )
