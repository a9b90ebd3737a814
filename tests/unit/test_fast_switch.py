"""One switch turns every fast path off (issue 22, SPEC F2, F3).

A shop that meets a divergence between a fast path and its dependency sets
``ECHOPPE_FAST_PATHS=0`` or ``Settings(fast_paths=False)``: every input then
goes to the general path. And the general path of phone numbers asks
phonenumbers only in the regions that could read the number
(``domain/_phone_regions.py``): with the switch off it asks every region,
and both must give the same answer. (The phone number fast path,
``domain/_fast_phone.py``, skips only ``phonenumbers.parse`` for the plain
French shapes and keeps phonenumbers' own validity check; it is held to
the general path in ``tests/unit/test_fast_paths.py``.)
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from unittest import mock

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from echoppe_accounts import (
    Email,
    InMemoryStore,
    Phone,
    PostalAddress,
    Settings,
    Siret,
    ValidationError,
    bootstrap,
)
from echoppe_accounts.domain import _phone_regions, fast
from echoppe_accounts.domain import email as email_module
from echoppe_accounts.domain import phone as phone_module
from echoppe_accounts.domain import siret as siret_module
from echoppe_accounts.domain.phone import FRENCH_PLAN_REGIONS, OVERSEAS_REGIONS
from echoppe_accounts.testing import RecordingMailer

HINTS = (None, "FR", *OVERSEAS_REGIONS, "BE")
SEPARATORS = ("", " ", "\N{NO-BREAK SPACE}", ".", "-", "/")


def outcome(value: str, hint: str | None) -> object:
    """Phone.parse's answer: the number and region, or the error codes."""
    try:
        phone = Phone.parse(value, hint=hint)
    except ValidationError as exc:
        return [(e.code, sorted(e.params.items())) for e in exc.errors]
    return phone.e164, phone.region


def general_paths_agree(value: str, hint: str | None) -> None:
    """The pruned general path answers as phonenumbers asked in every region."""
    pruned = outcome(value, hint)
    with fast.disabled():
        every_region = outcome(value, hint)
    assert pruned == every_region, (value, hint)


def grouped(digits: str, separator: str, size: int) -> str:
    """Write *digits* in groups of *size* between *separator*."""
    return separator.join(digits[i : i + size] for i in range(0, len(digits), size))


def test_every_leading_block_reads_alike_in_the_pruned_general_path():
    """F2: national numbers of every three-digit block, several shapes and hints."""
    draw = random.Random(22)  # noqa: S311 (test data)
    for block in range(1000):
        rest = "".join(draw.choice("0123456789") for _ in range(9))
        head = f"{block:03d}"
        for digits in (
            "0" + head[1:] + rest[:7],
            "0" + head + rest[:6],
            head + rest[:3],
            head + rest[:5],
            "262" + head + rest[:6],
            "590" + head + rest[:6],
            "508" + head + rest[:3],
        ):
            separator = draw.choice(SEPARATORS)
            general_paths_agree(grouped(digits, separator, 2), draw.choice(HINTS))


def test_example_numbers_read_alike_in_the_pruned_general_path():
    """F2: phonenumbers' example number of every type of every French region."""
    for region in ("FR", *OVERSEAS_REGIONS):
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = phonenumbers.format_number(
                example, phonenumbers.PhoneNumberFormat.NATIONAL
            )
            for hint in (None, region, "FR"):
                general_paths_agree(national, hint)
                general_paths_agree(national.replace(" ", ""), hint)


def test_a_country_code_then_two_trunks_reads_alike_in_the_pruned_general_path():
    """F2: parse() strips a trunk with the country code, then one more (Hypothesis).

    ``50800200000`` reads as Saint-Pierre-et-Miquelon's +508 200000 in
    phonenumbers; the pruning once ruled that region out.
    """
    for hint in HINTS:
        for shape in ("{}", "({})", "{} "):
            general_paths_agree(shape.format("50800200000"), hint)
            general_paths_agree(shape.format("590 0 0 590 27 12 34"), hint)


@settings(max_examples=400, deadline=None)
@given(
    digits=st.text(alphabet="0123456789", min_size=2, max_size=13),
    separator=st.sampled_from(SEPARATORS),
    size=st.integers(1, 4),
    hint=st.sampled_from(HINTS),
    wrap=st.sampled_from(["{}", "({})", "{} ", "0{}", "(0){}"]),
)
def test_any_digits_read_alike_in_the_pruned_general_path(
    digits, separator, size, hint, wrap
):
    """F2: random digit strings in typed shapes, pruned or not: the same answer."""
    general_paths_agree(wrap.format(grouped(digits, separator, size)), hint)


def test_the_switch_sends_every_input_to_the_dependencies():
    """F1, F2, F3: with the fast paths off, no fast path is called at all."""
    failing = mock.Mock(side_effect=AssertionError("a fast path ran"))
    with (
        fast.disabled(),
        mock.patch.object(email_module, "_plain", failing),
        mock.patch.object(phone_module, "readable", failing),
        mock.patch.object(siret_module, "_passes_stdnum", failing),
        mock.patch.object(
            sys.modules["echoppe_accounts.domain.address"], "_plain", failing
        ),
    ):
        assert Email.parse("Claire.Martin@exemple.fr").key == "claire.martin@exemple.fr"
        assert Phone.parse("06 12 34 56 78").e164 == "+33612345678"
        assert Siret.parse("732 829 320 00074").compact == "73282932000074"
        assert PostalAddress.parse(["1 rue de la Paix"], "75002", "Paris").city
    assert fast.enabled()


def test_settings_turn_the_fast_paths_off_for_the_process():
    """Settings.fast_paths=False, applied by bootstrap, turns them off; True on."""
    assert fast.enabled()
    try:
        bootstrap(
            InMemoryStore().unit_of_work,
            RecordingMailer(),
            Settings(base_url="https://www.lechoppe.fr", fast_paths=False),
        )
        assert not fast.enabled()
        bootstrap(
            InMemoryStore().unit_of_work,
            RecordingMailer(),
            Settings(base_url="https://www.lechoppe.fr", fast_paths=True),
        )
        assert fast.enabled()
    finally:
        fast.set_enabled(True)


@pytest.mark.parametrize(("value", "on"), [("0", False), ("off", False), ("1", True)])
def test_the_environment_variable_sets_the_switch_at_import(value, on):
    """``ECHOPPE_FAST_PATHS=0`` (or off, false, no) turns them off at import."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from echoppe_accounts.domain import fast; print(fast.enabled())",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, fast.ENVIRONMENT_VARIABLE: value},
    )
    assert done.stdout.strip() == str(on)


def test_french_plan_regions_are_still_told_apart_when_pruned():
    """F2: overseas prefixes keep their region through the pruned general path."""
    assert Phone.parse("0692\N{NO-BREAK SPACE}12 34 56").region == "RE"
    assert Phone.parse("0596/30/12/34").region == "MQ"
    assert "RE" in FRENCH_PLAN_REGIONS


@settings(max_examples=500, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=15))
def test_the_one_expression_per_region_agrees_with_the_candidate_readings(digits):
    """F2: readable() decides as may_read(), region by region."""
    regions = ("FR", *OVERSEAS_REGIONS)
    assert _phone_regions.readable(regions, digits) == tuple(
        r for r in regions if _phone_regions.may_read(r, digits)
    )
