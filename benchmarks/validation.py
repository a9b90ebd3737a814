"""Rows 1 and 2: a whole registration form against its dependencies' bare calls.

The candidate validates the whole form, ``parse_registration(form,
policy)``: category, email, phone, name, organisation and SIRET, billing
and delivery addresses, language, and the password policy. The baselines
check three fields of the same records only:

- row 1, the bare calls: ``email_validator.validate_email`` (no network),
  ``phonenumbers.parse`` in France then ``is_valid_number`` and the E.164
  form, and ``stdnum.fr.siret.validate``;
- row 2, a pydantic v2 model of those three fields: ``EmailStr``,
  pydantic-extra-types' ``PhoneNumber`` (region FR, E.164) and a SIRET
  field checked by stdnum.

Rows 1 and 2 read Faker's plain data, where the fast paths answer alone.
The ``validation_mix`` row reads the same records as a real shop's forms
bring them (:func:`benchmarks.data.realistic_mix`: internationalised
domains, phone numbers grouped with no-break spaces, ``+33 (0)``, Belgian
``+32``, decomposed accents), against the same bare calls on the same
odd input: the general paths' cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, ClassVar

import email_validator
import phonenumbers
from pydantic import AfterValidator, BaseModel, EmailStr
from pydantic import ValidationError as PydanticError
from pydantic_extra_types.phone_numbers import PhoneNumber
from stdnum.fr import siret

from benchmarks.data import Record, companies, realistic_mix, registration_form
from benchmarks.harness import Row, at_most, paired, timed
from echoppe_accounts.domain import fast
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.forms import parse_registration
from echoppe_accounts.domain.password import PasswordPolicy

RECORDS = 2_000
"""Distinct company records, as the issue measures."""
ROUNDS = 15


def bare_calls() -> Callable[[Record], None]:
    """Return a function running the three bare dependency calls on a record."""
    e164 = phonenumbers.PhoneNumberFormat.E164

    # try/except rather than suppress(): cheaper, and these calls are timed.
    def check(record: Record) -> None:
        try:  # noqa: SIM105
            email_validator.validate_email(record["email"], check_deliverability=False)
        except email_validator.EmailNotValidError:
            pass
        try:
            number = phonenumbers.parse(record["phone"], "FR")
            if phonenumbers.is_valid_number(number):
                phonenumbers.format_number(number, e164)
        except phonenumbers.NumberParseException:
            pass
        try:  # noqa: SIM105
            siret.validate(record["siret"])
        except ValueError:  # stdnum's ValidationError
            pass

    return check


def pydantic_model() -> type[BaseModel]:
    """Return the pydantic v2 model of the three fields."""

    class FrenchPhoneNumber(PhoneNumber):
        default_region_code: ClassVar[str | None] = "FR"
        phone_format: ClassVar[str] = "E164"  # type: ignore[misc]

    def valid_siret(value: str) -> str:
        return str(siret.validate(value))

    class Company(BaseModel):
        email: EmailStr
        phone: FrenchPhoneNumber
        siret: Annotated[str, AfterValidator(valid_siret)]

    return Company


def _candidate(records: tuple[Record, ...]) -> Callable[[], None]:
    forms = [registration_form(r) for r in records]
    policy = PasswordPolicy()

    def batch() -> None:
        for form in forms:
            try:  # noqa: SIM105
                parse_registration(form, policy)
            except ValidationError:
                pass

    return batch


PLAIN_NOTE = (
    "does not measure: odd input (see validation_mix), the fields the bare "
    "calls do not check (names, addresses, password policy: the candidate "
    "does more work), nor forms that fail"
)
MIX_NOTE = (
    "does not measure: hostile or malformed input (most records here are "
    "valid), other countries' addresses, nor the fields the bare calls do not "
    "check (the candidate does more work)"
)


def run_bare(*, quick: bool = False) -> Row:
    """Row 1: the whole form against the bare calls on the same records."""
    return _bare_row(
        companies(RECORDS),
        quick=quick,
        name="validation",
        title="full registration validation vs bare email-validator + "
        "phonenumbers + stdnum calls",
        limit=1.00,
        note=PLAIN_NOTE,
    )


def run_mix(*, quick: bool = False) -> Row:
    """The whole form against the bare calls, on the realistic mix."""
    return _bare_row(
        realistic_mix(RECORDS),
        quick=quick,
        name="validation_mix",
        title="full registration validation vs the bare calls, on a realistic mix "
        "(IDN domains, NBSP-grouped phones, +33 (0), +32, decomposed accents)",
        limit=1.50,
        note=MIX_NOTE,
    )


def _bare_row(
    records: tuple[Record, ...],
    *,
    quick: bool,
    name: str,
    title: str,
    limit: float,
    note: str,
) -> Row:
    check = bare_calls()

    def baseline() -> None:
        for record in records:
            check(record)

    result = paired(
        timed(baseline, len(records)),
        timed(_candidate(records), len(records)),
        rounds=5 if quick else ROUNDS,
    )
    rounds = 5 if quick else ROUNDS
    candidate = _candidate(records)

    def without_fast_paths() -> None:
        with fast.disabled():
            candidate()

    # The same baseline, interleaved with the candidate with every fast path
    # off: what they pay on this data.
    no_fast = paired(
        timed(baseline, len(records)),
        timed(without_fast_paths, len(records)),
        rounds=rounds,
    )
    valid = 0
    policy = PasswordPolicy()
    for record in records:
        try:
            parse_registration(registration_form(record), policy)
        except ValidationError:
            continue
        valid += 1
    return Row(
        name=name,
        title=title,
        target=f"≤ {limit:.2f}x",
        units="candidate time / baseline time",
        ratio=result.ratio,
        passed=at_most(limit)(result.ratio),
        details={
            "note": note,
            "records": len(records),
            "valid_records": valid,
            "rounds": result.rounds,
            "baseline_us_per_record": round(result.baseline * 1e6, 2),
            "candidate_us_per_record": round(result.candidate * 1e6, 2),
            "ratio_spread": [round(x, 3) for x in result.spread()],
            "ratio_with_every_fast_path_off": round(no_fast.ratio, 3),
            "ratio_with_every_fast_path_off_spread": [
                round(x, 3) for x in no_fast.spread()
            ],
        },
    )


def run_pydantic(*, quick: bool = False) -> Row:
    """Row 2: the whole form against a pydantic v2 model of three fields."""
    records = companies(RECORDS)
    model = pydantic_model()

    def baseline() -> None:
        for record in records:
            try:  # noqa: SIM105
                model(
                    email=record["email"], phone=record["phone"], siret=record["siret"]
                )
            except PydanticError:
                pass

    result = paired(
        timed(baseline, len(records)),
        timed(_candidate(records), len(records)),
        rounds=5 if quick else ROUNDS,
    )
    return Row(
        name="validation_vs_pydantic",
        title="full registration validation vs a pydantic v2 model (EmailStr, "
        "PhoneNumber, stdnum SIRET)",
        target="≤ 0.90x",
        units="candidate time / baseline time",
        ratio=result.ratio,
        passed=at_most(0.90)(result.ratio),
        details={
            "note": PLAIN_NOTE,
            "records": len(records),
            "rounds": result.rounds,
            "baseline_us_per_record": round(result.baseline * 1e6, 2),
            "candidate_us_per_record": round(result.candidate * 1e6, 2),
            "ratio_spread": [round(x, 3) for x in result.spread()],
        },
    )
