"""Ten thousand Faker fr_FR customers register, save those whose data is bad.

The corpus (``tests/data/faker-fr-customers.jsonl.gz``) is made by
``tests/data/make_faker_customers.py``; these tests need no Faker. Whether a
record should be refused is decided by an oracle built on the references the
SPEC names (*phonenumbers*, *python-stdnum*, *email-validator*, the postal
norm), never by asking the library under test (issue 8, "Checked by").
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import email_validator
import phonenumbers
import pytest
from stdnum.fr import siret as stdnum_siret

from conftest import FAST_HASHER
from echoppe_accounts import (
    Account,
    AccountService,
    AddressForm,
    DeliveryForm,
    InMemoryStore,
    RegistrationForm,
    Settings,
    SystemSecrets,
    ValidationError,
)
from echoppe_accounts.testing import FrozenClock

pytestmark = pytest.mark.slow  # 10,000 customers: a scale check, `make check` runs it

CORPUS = Path(__file__).parents[1] / "data" / "faker-fr-customers.jsonl.gz"
CORPUS_SIZE = 10_000

Record = dict[str, Any]
Expected = frozenset[tuple[str, str]]

# --- The oracle ----------------------------------------------------------------

OVERSEAS_REGIONS = ("RE", "YT", "GP", "BL", "MF", "MQ", "GF", "PM", "NC", "PF", "WF")
"""The French overseas regions that have a numbering plan of their own."""
OVERSEAS_PREFIXES = (
    "0262",
    "0263",
    "0269",
    "0590",
    "0594",
    "0596",
    "0639",
    "0690",
    "0691",
    "0692",
    "0693",
    "0694",
    "0696",
    "0697",
)
"""National prefixes the French plan gives the overseas regions (SPEC F2, ARCEP)."""
LINE = 38
"""NF Z10-011: at most 38 characters a line (SPEC A4); names share the limit."""
POSTAL_CODE = re.compile(r"(0[1-9]|[1-8][0-9]|9[0-5])[0-9]{3}|9[78][0-9]{3}", re.ASCII)
"""A French postal code: a metropolitan department (01–95), or 97x/98x (SPEC A4)."""


def _international(typed: str) -> bool:
    return typed.lstrip().startswith(("+", "00"))


def phone_readings(typed: str) -> dict[str, str]:
    """Return the valid readings of *typed*, a national number: ``{region: E.164}``.

    A reading in a region counts only when *phonenumbers* says the number is
    valid there and belongs to that region, not to a neighbour sharing its
    country code (Réunion and Mayotte share +262).
    """
    readings = {}
    for region in ("FR", *OVERSEAS_REGIONS):
        try:
            number = phonenumbers.parse(typed, region)
        except phonenumbers.NumberParseException:
            continue
        if (
            phonenumbers.is_valid_number(number)
            and phonenumbers.region_code_for_number(number) == region
        ):
            readings[region] = phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164
            )
    return readings


def expected_e164(typed: str) -> str | None:
    """Return the E.164 form *typed* must be stored in, or ``None`` if invalid.

    An international number has one reading. A national one is read in the
    region owning it: overseas prefixes win over the mainland patterns that
    accept them too (``05 96 …`` is Martinique's), otherwise the mainland
    reading does (SPEC F2).
    """
    if _international(typed):
        try:
            number = phonenumbers.parse(typed, "FR")
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    readings = phone_readings(typed)
    overseas = {e164 for region, e164 in readings.items() if region != "FR"}
    digits = "".join(c for c in typed if c.isdigit())
    if overseas and (digits.startswith(OVERSEAS_PREFIXES) or "FR" not in readings):
        assert len(overseas) == 1, f"{typed}: several overseas owners {overseas}"
        return overseas.pop()
    return readings.get("FR")


def _folded(text: str) -> str:
    return " ".join(text.split())


def _postal_upper(text: str) -> str:
    bare = unicodedata.normalize("NFKD", text)
    return "".join(c for c in bare if not unicodedata.combining(c)).upper()


def _text_errors(path: str, value: str) -> set[tuple[str, str]]:
    if not _folded(value):
        return {(path, "required")}
    return {(path, "text.too_long")} if len(_folded(value)) > LINE else set()


def _address_errors(path: str, address: Record) -> set[tuple[str, str]]:
    errors: set[tuple[str, str]] = set()
    for i, line in enumerate(address["street_lines"]):
        errors |= _text_errors(f"{path}.street_lines[{i}]", line)
    errors |= _text_errors(f"{path}.city", address["city"])
    code = address["postal_code"]
    if not POSTAL_CODE.fullmatch(code):
        errors.add((f"{path}.postal_code", "address.postal_code_invalid"))
    elif len(f"{code} {_postal_upper(_folded(address['city']))}") > LINE:
        errors.add((f"{path}.city", "address.line_too_long"))
    return errors


def email_key(typed: str) -> str | None:
    """Return the uniqueness key of SPEC F1, or ``None`` for an invalid address."""
    try:
        valid = email_validator.validate_email(typed, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None
    local = unicodedata.normalize("NFKC", valid.local_part).casefold()
    return f"{local}@{valid.ascii_domain.lower()}"


def expected_errors(record: Record) -> set[tuple[str, str]]:
    """Return the ``(path, code)`` pairs a registration of *record* must raise.

    Uniqueness of the email is left to :func:`expected_outcomes`.
    """
    errors = _text_errors("name", record["name"])
    if expected_e164(record["phone"]) is None:
        errors.add(("phone", "phone.invalid"))
    if email_key(record["email"]) is None:
        errors.add(("email", "email.invalid"))
    if record["siret"]:
        errors |= _text_errors("organisation_name", record["organisation_name"])
        compact = stdnum_siret.compact(record["siret"])
        if not (len(compact) == 14 and compact.isdigit()):
            errors.add(("siret", "siret.invalid_format"))
        elif not stdnum_siret.is_valid(compact) or set(compact) == {"0"}:
            errors.add(("siret", "siret.invalid_checksum"))
    errors |= _address_errors("billing_address", record["billing_address"])
    for i, delivery in enumerate(record["delivery_addresses"]):
        path = f"delivery_addresses[{i}]"
        errors |= _text_errors(f"{path}.contact_name", delivery["contact_name"])
        errors |= _address_errors(f"{path}.address", delivery["address"])
    return errors


def expected_outcomes(records: list[Record]) -> list[Expected]:
    """Return, record by record in order, the errors registering it must raise.

    An email already registered by an earlier, accepted record is taken.
    """
    taken: set[str] = set()
    outcomes = []
    for record in records:
        errors = expected_errors(record)
        key = email_key(record["email"])
        if not errors and key in taken:
            errors = {("email", "email.taken")}
        if not errors:
            taken.add(str(key))
        outcomes.append(frozenset(errors))
    return outcomes


# --- The corpus as forms --------------------------------------------------------


def load_corpus() -> list[Record]:
    """Return the corpus, one dictionary per customer."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def password_for(index: int) -> str:
    """Return a strong password for record *index*, the same on every run."""
    digest = hashlib.sha256(f"faker-corpus:{index}".encode()).digest()
    return base64.urlsafe_b64encode(digest)[:20].decode()


def _address_form(address: Record) -> AddressForm:
    return AddressForm(
        address["street_lines"],
        address["postal_code"],
        address["city"],
        address["country"],
    )


def registration_form(index: int, record: Record) -> RegistrationForm:
    """Return the registration form a customer typing *record* sends."""
    return RegistrationForm(
        category=record["category"],
        email=record["email"],
        phone=record["phone"],
        name=record["name"],
        password=password_for(index),
        organisation_name=record["organisation_name"],
        siret=record["siret"],
        chorus_requirement=record.get("chorus_requirement", ""),
        chorus_service_code=record.get("chorus_service_code", ""),
        chorus_engagement_number=record.get("chorus_engagement_number", ""),
        billing_address=_address_form(record["billing_address"]),
        delivery_addresses=[
            DeliveryForm(d["contact_name"], _address_form(d["address"]), d["label"])
            for d in record["delivery_addresses"]
        ],
    )


def register_all(records: list[Record]) -> list[Account | ValidationError]:
    """Register every record, in order, on a fresh in-memory store.

    Return, record by record, the account made or the error raised.
    """
    service = AccountService(
        uow=InMemoryStore().unit_of_work,
        clock=FrozenClock(),
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=Settings(base_url="https://www.lechoppe.fr"),
    )
    outcomes: list[Account | ValidationError] = []
    for index, record in enumerate(records):
        try:
            outcomes.append(service.register(registration_form(index, record)))
        except ValidationError as exc:
            outcomes.append(exc)
    return outcomes


@pytest.fixture(scope="module")
def corpus() -> list[Record]:
    """The ten thousand customers."""
    records = load_corpus()
    assert len(records) == CORPUS_SIZE
    return records


@pytest.fixture(scope="module")
def outcomes(corpus) -> list[Account | ValidationError]:
    """What registering each customer, in order, gave."""
    return register_all(corpus)


def _codes(outcome: Account | ValidationError) -> Expected:
    if isinstance(outcome, ValidationError):
        return frozenset((e.path, e.code) for e in outcome.errors)
    return frozenset()


# --- The tests ------------------------------------------------------------------


def test_the_oracle_finds_bad_records_in_the_corpus(corpus):
    """The corpus holds both kinds: mostly good customers, some bad phones (F2).

    Faker writes overseas landlines as ``+33 5 90 …``, which no region owns:
    without such records the test below would prove nothing.
    """
    refused = [e for e in expected_outcomes(corpus) if e]
    assert 0 < len(refused) < CORPUS_SIZE // 10
    assert ("phone", "phone.invalid") in set().union(*refused)
    assert expected_e164("+33 5 90 12 34 56") is None
    assert expected_e164("05 90 27 12 34") == "+590590271234"


def test_every_valid_customer_registers_and_only_they(corpus, outcomes):
    """Exactly the records the oracle refuses are refused, with its codes (F1–F8).

    Phones follow *phonenumbers* read in FR and in the overseas region owning
    the number (F2), SIRETs *python-stdnum* (C4), emails *email-validator*
    and the uniqueness key of F1, addresses the postal norm (A4).
    """
    expected = expected_outcomes(corpus)
    mismatches = {
        index: (corpus[index]["phone"], sorted(want), sorted(_codes(outcome)))
        for index, (want, outcome) in enumerate(zip(expected, outcomes, strict=True))
        if want != _codes(outcome)
    }
    assert not mismatches, dict(list(mismatches.items())[:20])


def test_every_refusal_is_reported_in_both_languages(outcomes):
    """Each refusal of the corpus has a path and a French and English message (F8)."""
    for outcome in outcomes:
        if isinstance(outcome, ValidationError):
            for field in outcome.errors:
                assert field.path
                assert field.message("fr") != field.message("en")


def test_every_phone_is_stored_in_the_region_that_owns_it(corpus, outcomes):
    """An accepted phone is stored in E.164 as read in its own region (F2).

    ``05 96 …`` and ``02 69 …`` are Martinique's and Mayotte's although
    mainland patterns accept them; ``08 …`` stays mainland.
    """
    wrong = {
        record["phone"]: (expected_e164(record["phone"]), outcome.phone.e164)
        for record, outcome in zip(corpus, outcomes, strict=True)
        if isinstance(outcome, Account)
        and outcome.phone is not None
        and outcome.phone.e164 != expected_e164(record["phone"])
    }
    assert not wrong, wrong
