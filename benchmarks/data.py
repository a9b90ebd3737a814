"""The benchmark data: Faker ``fr_FR`` companies from a fixed seed.

Faker is a benchmark-only dependency (the ``bench`` extra). The records are
made the way ``tests/data/make_faker_customers.py`` makes its corpus, but
all of them companies (a SIRET each, as the issue's rows want), with
distinct email addresses, and a password each.
"""

from __future__ import annotations

import unicodedata
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


IDN_DOMAINS = (
    "société-générale-exemple.fr",
    "crème-brûlée.fr",
    "bücherei-exemple.de",
    "échoppe-exemple.com",
    "maçonnerie-exemple.fr",
)
"""Internationalised domains (IDNA): email-validator's general path."""


def _odd_phone(phone: str, n: int) -> str:
    """Write *phone* as real customers do: NBSP groups, ``+33 (0)``, or Belgian."""
    digits = "".join(c for c in phone if c.isdigit())[-9:]
    kind = n % 4
    head, pairs = digits[0], [digits[i : i + 2] for i in range(1, 9, 2)]
    if kind == 0:  # national, grouped with no-break spaces (a copied number)
        national = "0" + digits
        return "\N{NO-BREAK SPACE}".join(national[i : i + 2] for i in range(0, 10, 2))
    if kind == 1:  # international with the trunk prefix in brackets
        return f"+33 (0){head} " + " ".join(pairs)
    if kind == 2:  # noqa: PLR2004 (a Belgian mobile, +32)
        return f"+32 47{head} " + " ".join(pairs[1:])
    # the international 00 prefix, grouped with no-break spaces
    return "\N{NO-BREAK SPACE}".join(("0033", head, *pairs))


def _decomposed(address: dict[str, Any]) -> dict[str, Any]:
    return {
        **address,
        "street_lines": [
            unicodedata.normalize("NFD", x) for x in address["street_lines"]
        ],
        "city": unicodedata.normalize("NFD", address["city"]),
    }


@cache
def realistic_mix(count: int, seed: int = SEED) -> tuple[Record, ...]:
    """Return *count* company records as a real shop's forms bring them.

    The :func:`companies` records, each with odd but valid input: an
    internationalised domain for one email in three, every phone number
    written otherwise (grouped with no-break spaces, ``+33 (0)…``, a
    Belgian ``+32`` mobile, ``0033`` and no-break spaces), and names, street
    lines and cities in Unicode's decomposed form (``e`` then the
    combining accent, as some macOS and copy-paste sources send them) for
    one record in two.
    """
    records = []
    for n, record in enumerate(companies(count, seed)):
        odd = dict(record)
        if n % 3 == 0:
            local = record["email"].partition("@")[0]
            odd["email"] = f"{local}@{IDN_DOMAINS[n % len(IDN_DOMAINS)]}"
        odd["phone"] = _odd_phone(record["phone"], n)
        if n % 2 == 0:
            odd["name"] = unicodedata.normalize("NFD", record["name"])
            odd["organisation_name"] = unicodedata.normalize(
                "NFD", record["organisation_name"]
            )
            odd["billing_address"] = _decomposed(record["billing_address"])
            odd["delivery_addresses"] = [
                {**d, "address": _decomposed(d["address"])}
                for d in record["delivery_addresses"]
            ]
        records.append(odd)
    return tuple(records)
