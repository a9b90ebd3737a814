"""Differential tests: every fast path answers as its dependency alone (issue 12).

The library reads the common case itself (plain ASCII emails, French phone
numbers as people type them, SIRET typed as digits, ASCII and accented text)
and hands anything else to its dependency. Each fast path is switched off
here (by the switch of ``echoppe_accounts.domain.fast``, the one a shop
uses) or compared with the code it replaced,
kept below as the reference; Hypothesis and the peer corpora (phonenumbers'
example numbers, stdnum's SIRET vectors, the Faker customers) must get the
same result, error code and stored form either way.
"""

from __future__ import annotations

import binascii
import contextlib
import email
import email.errors
import email.message
import email.policy
import email.utils
import gzip
import itertools
import json
import re
import string
import textwrap
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import quoprimime
from pathlib import Path
from typing import Any
from unittest import mock

import email_validator
import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stdnum import exceptions as stdnum_errors
from stdnum.fr import siret as stdnum_siret

from echoppe_accounts import (
    AddressForm,
    Category,
    DeliveryForm,
    Email,
    PasswordPolicy,
    Phone,
    PostalAddress,
    RegistrationForm,
    Siret,
    ValidationError,
)
from echoppe_accounts.adapters import _fastmime as fastmime
from echoppe_accounts.adapters.mime import build_message
from echoppe_accounts.domain import address as address_module
from echoppe_accounts.domain import email as email_module
from echoppe_accounts.domain import fast, i18n
from echoppe_accounts.domain import password as password_module
from echoppe_accounts.domain import siret as siret_module
from echoppe_accounts.domain import text as text_module
from echoppe_accounts.domain.forms import parse_registration
from echoppe_accounts.domain.mail import MailKind, OutgoingMail
from echoppe_accounts.service_layer import templating
from echoppe_accounts.service_layer.mails import render_sample
from strategies import arbitrary_text, emails, idn_emails, sirets

DATA = Path(__file__).parents[1] / "data"
_FORBIDDEN = frozenset({"Cc", "Cf", "Co", "Cn", "Zl", "Zp"})
_SURROGATE = re.compile("[\ud800-\udfff]")

# --- helpers -------------------------------------------------------------------


def _result(parse: Callable[[], object]) -> tuple[str, object]:
    """What a parse gave: its value, or its errors' paths, codes and parameters."""
    try:
        return "ok", parse()
    except ValidationError as exc:
        return "error", [(e.path, e.code, e.params) for e in exc.errors]


@contextlib.contextmanager
def dependencies_only() -> Iterator[None]:
    """Switch every fast path off, by the switch a shop uses (issue 22)."""
    with fast.disabled():
        yield


def _corpus() -> list[dict[str, Any]]:
    path = DATA / "faker-fr-customers.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


CORPUS = _corpus()


def _address(record: dict[str, Any]) -> AddressForm:
    return AddressForm(
        record["street_lines"],
        record["postal_code"],
        record["city"],
        record["country"],
    )


# --- text: references are the code the fast paths replaced ---------------------


def reference_has_forbidden_character(value: str) -> bool:
    """The category loop ``has_forbidden_character`` ran on every non-ASCII text."""
    if value.isascii():
        return not value.isprintable()
    if _SURROGATE.search(value) is not None:
        return True
    return any(unicodedata.category(ch) in _FORBIDDEN for ch in value)


def reference_clean_text(value: str, path: str, *, max_length: int) -> str:
    """``clean_text`` before: the folded text checked by the category loop."""
    text_module.check_raw(value, path, max_length=max_length)
    folded = " ".join(value.split())
    if reference_has_forbidden_character(folded):
        raise ValidationError.single(path, "text.control_character")
    cleaned = folded if folded.isascii() else unicodedata.normalize("NFC", folded)
    if len(cleaned) > max_length:
        raise ValidationError.single(path, "text.too_long", max=max_length)
    return cleaned


def reference_strip_combining(text: str) -> str:
    """Every character whose combining class is not 0, left out one by one."""
    return "".join(c for c in text if not unicodedata.combining(c))


_TEXTS = st.one_of(
    arbitrary_text(),
    st.text(string.printable + "àéèêçœÉÈ’«»\u00a0\u202f\u2028\u0301\u034f\u0338ﬁß"),
)


@given(_TEXTS)
@example("Jean\u00a0Dupont")
@example("a\u2028b")
@example("\x1fJean")
def test_has_forbidden_character_is_the_category_loop(value):
    """F9: printable text short-circuits, the answer is the category loop's."""
    expected = reference_has_forbidden_character(value)
    assert text_module.has_forbidden_character(value) is expected


@given(_TEXTS, st.integers(1, 40))
@example("  Sainte   Emmanuel-la-Forêt ", 38)
@example("Jean\u200bDupont", 38)
@example("Jean\u00a0\u202fDupont", 38)
def test_clean_text_is_the_reference(value, max_length):
    """Free text cleans to the same text, or the same error, as before."""
    fast = _result(lambda: text_module.clean_text(value, "f", max_length=max_length))
    slow = _result(lambda: reference_clean_text(value, "f", max_length=max_length))
    assert fast == slow


@given(_TEXTS)
@example("e\u0301\u034f\u0338")
@example("\u0301é")
def test_strip_combining_keeps_the_characters_of_class_zero(value):
    """Accents go in one substitution; the result is the per-character filter's."""
    for form in (value, unicodedata.normalize("NFKD", value)):
        expected = reference_strip_combining(form)
        assert text_module.strip_combining(form) == expected


# --- passwords and the other folds ------------------------------------------------


def reference_fold(text: str) -> str:
    """``password._fold`` before its ASCII path and cache."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", bare))


def reference_personal_parts(word: str) -> tuple[str, ...]:
    """``personal_parts`` before, less the parts too short to count, each once."""
    if len(word) > password_module.RAW_MAX_LENGTH or _SURROGATE.search(word):
        return ()
    local = word.partition("@")[0]
    parts = (
        reference_fold(word),
        reference_fold(local),
        *(reference_fold(p) for p in re.split(r"[\s@._'-]+", word)),
    )
    return tuple(dict.fromkeys(p for p in parts if len(p) >= 4))


def reference_check(policy: PasswordPolicy, password: str, personal: list[str]) -> str:
    """``PasswordPolicy.check`` before, on the reference folds."""
    path = "password"
    if len(password) > password_module.RAW_MAX_LENGTH:
        raise ValidationError.single(path, "password.too_long", max=128)
    if _SURROGATE.search(password):
        raise ValidationError.single(path, "text.invalid_unicode")
    value = unicodedata.normalize("NFKC", password)
    if len(value) < policy.min_length:
        raise ValidationError.single(path, "password.too_short", min=policy.min_length)
    if len(value) > password_module.MAX_LENGTH:
        raise ValidationError.single(path, "password.too_long", max=128)
    folded = reference_fold(value)
    common = policy.common_passwords
    if folded in common or value.casefold() in common:
        raise ValidationError.single(path, "password.common")
    for word in (policy.shop_name, *personal):
        for part in reference_personal_parts(word):
            if part in folded and 2 * len(part) >= len(folded):
                raise ValidationError.single(path, "password.personal")
    return value


_WORDS = st.one_of(
    _TEXTS,
    emails(),
    idn_emails(),
    st.text(string.ascii_letters + string.punctuation + " \t\x1c\x1f", max_size=40),
)


@given(_WORDS)
@example("Lamy Petitjean S.A.R.L.")
@example("hélène.leduc@free.fr")
@example("jean.@exemple.fr")
@example("a\x1cb_c'd-e@f.g")
@example("L'Échoppe")
def test_personal_parts_fold_as_before(word):
    """P2: the ASCII folding as bytes finds the parts the Unicode folding found."""
    assert password_module._fold(word) == reference_fold(word)
    assert password_module.personal_parts(word) == reference_personal_parts(word)


@given(
    st.one_of(_WORDS, st.sampled_from(["lechoppe2026", "JeanDupont!", "soleil"])),
    st.lists(_WORDS, max_size=3),
)
@example("maurice-dubois", ["Maurice Dubois"])
@example("Échoppe-2026!", [])
def test_password_policy_is_the_reference(password, personal):
    """P2: the same passwords pass, and the same are refused for the same reason."""
    policy = PasswordPolicy()
    fast = _result(lambda: policy.check(password, personal=personal))
    slow = _result(lambda: reference_check(policy, password, personal))
    assert fast == slow


def reference_postal_upper(text: str) -> str:
    """``address._postal_upper`` before."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


@given(_TEXTS)
@example("Sainte Emmanuel-la-Forêt")
@example("Straße")
def test_postal_upper_is_the_reference(city):
    """A4: the last line of an address is printed as before."""
    assert address_module._postal_upper(city) == reference_postal_upper(city)


@given(st.one_of(_TEXTS, st.sampled_from(["Collectivité", " ENTREPRISE ", "ﬁrm"])))
def test_category_is_read_as_before(value):
    """C1: codes and French names, accents and case aside, as before."""

    def reference() -> Category:
        key = reference_strip_combining(
            unicodedata.normalize("NFKD", value.strip().casefold())
        )
        if len(value) > 64:
            raise ValidationError.single("category", "category.invalid")
        if not key:
            raise ValidationError.single("category", "required")
        for category in Category:
            labels = {category.value, reference_fold_accents(category.label_fr)}
            if key in labels:
                return category
        raise ValidationError.single("category", "category.invalid")

    assert _result(lambda: Category.parse(value)) == _result(reference)


def reference_fold_accents(text: str) -> str:
    """``category._strip_accents`` before."""
    return reference_strip_combining(unicodedata.normalize("NFKD", text.casefold()))


# --- emails: the fast path never disagrees with email-validator -------------------

_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
_SPECIAL_TLDS = ["arpa", "invalid", "local", "localhost", "onion", "test"]


@st.composite
def ascii_addresses(draw: st.DrawFn) -> str:
    """ASCII addresses near the edges of the plain shape, valid or not."""
    local = draw(st.text(_ATEXT + ".", min_size=0, max_size=70))
    labels = draw(
        st.lists(
            st.one_of(
                st.text(string.ascii_letters + string.digits + "-", max_size=8),
                st.sampled_from(["xn--strae-oqa", "ab--cd", "a" * 63, "a" * 64]),
            ),
            min_size=1,
            max_size=4,
        )
    )
    tld = draw(
        st.one_of(
            st.sampled_from(["fr", "COM", "Org", "bzh", "1fr", "f1", *_SPECIAL_TLDS]),
            st.text(string.ascii_letters + string.digits + "-", max_size=5),
        )
    )
    return f"{local}@{'.'.join([*labels, tld])}"


_ADDRESSES = st.one_of(
    ascii_addresses(),
    emails(),
    idn_emails(),
    st.from_regex(r"[a-z.]{1,12}@[a-z.-]{1,20}", fullmatch=True),
    arbitrary_text(),
)


@given(_ADDRESSES)
@example("Jean.Dupont@Exemple.FR")
@example("Postmaster@exemple.fr")
@example("jean@exemple.test")
@example("jean@localhost")
@example("jean@exemple.fr.")
@example("jean@1.2.3.4")
@example("jean@ab--cd.fr")
@example("jean@exemple.-fr")
@example("jean@exemple.f-r")
@example("jean@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".fr")
@example("jean@xn--strae-oqa.de")
@example("jean..dupont@exemple.fr")
@example('"jean"@exemple.fr')
@example("a" * 65 + "@exemple.fr")
def test_email_is_what_email_validator_says(value):
    """F1: the same stored address, key and error code as email-validator alone."""
    fast = _result(lambda: Email.parse(value))
    with dependencies_only():
        slow = _result(lambda: Email.parse(value))
    assert fast == slow


@given(st.one_of(ascii_addresses(), emails()))
@example("jean@exemple.-fr")
@example("jean@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".fr")
def test_a_plain_address_is_email_validators_normal_form(value):
    """F1: what the fast path reads is email-validator's own reading."""
    plain = email_module._plain(value)
    if plain is None:
        return
    result = email_validator.validate_email(value, check_deliverability=False)
    local, domain = plain
    assert (result.local_part, result.ascii_domain, result.domain) == (
        local,
        domain,
        domain,
    )
    assert result.normalized == f"{local}@{domain}"


def test_the_fast_path_follows_email_validators_settings():
    """F1: special-use names are read from email-validator at each call."""
    assert email_module._plain("jean@exemple.example") is not None
    names = email_validator.SPECIAL_USE_DOMAIN_NAMES
    with mock.patch.object(
        email_validator, "SPECIAL_USE_DOMAIN_NAMES", [*names, "example"]
    ):
        assert email_module._plain("jean@exemple.example") is None


@pytest.mark.parametrize("record", CORPUS[::7], ids=lambda r: r["email"])
def test_the_corpus_emails_read_alike(record):
    """F1: the Faker customers' addresses, fast and through email-validator."""
    fast = _result(lambda: Email.parse(record["email"]))
    with dependencies_only():
        slow = _result(lambda: Email.parse(record["email"]))
    assert fast == slow


# --- phones: the fast path never disagrees with phonenumbers ----------------------
# (domain/_fast_phone.py; the slow side asks phonenumbers in every region)

_HINTS = [None, "FR", "RE", "YT", "GP", "BL", "MF", "MQ", "GF", "PM", "NC", "PF", "WF"]
_ODD_HINTS = ["BE", "001", "fr", " re ", "ZZ", "", "XXXXXXXXX"]


def _both(value: str, hint: str | None, region: str = "FR") -> None:
    fast = _result(lambda: Phone.parse(value, region=region, hint=hint))
    with dependencies_only():
        slow = _result(lambda: Phone.parse(value, region=region, hint=hint))
    assert fast == slow, (value, hint, region)


def _example_numbers() -> list[str]:
    """Return phonenumbers' example number of every type of every French-plan region."""
    found = []
    for region in ("FR", "RE", "YT", "GP", "BL", "MF", "MQ", "GF", "PM"):
        for kind in phonenumbers.PhoneNumberType.values():
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append(str(number.national_number))
    return sorted(set(found))


EXAMPLES = _example_numbers()


@st.composite
def typed_numbers(draw: st.DrawFn) -> str:
    """Nine digits near phonenumbers' ranges, typed as people type them."""
    base = draw(st.sampled_from(EXAMPLES)).rjust(9, "1")[-9:]
    kept = draw(st.integers(1, 9))
    tail = draw(st.text(string.digits, min_size=9 - kept, max_size=9 - kept))
    nsn = base[:kept] + tail
    prefix = draw(
        st.sampled_from(
            ["0", "+33", "+33 (0)", "+330", "0033 ", "+262 ", "+590", "+594 ",
             "+596(0)", "00262 0", "+508 ", "+687 ", "+1 "]
        )
    )  # fmt: skip
    digits = prefix + nsn
    separators = draw(st.lists(st.sampled_from(["", " ", ".", "-", "  ", "/"])))
    typed = "".join(
        ch + (separators[i] if i < len(separators) else "")
        for i, ch in enumerate(digits)
    )
    return typed.strip()


@given(typed_numbers(), st.sampled_from(_HINTS + _ODD_HINTS))
@example("06 12 34 56 78", None)
@example("0596 30 12 34", None)
@example("0590 27 12 34", "BL")
@example("0 806 12 34 56", "RE")
@example("+33 (0)4 20 52 05 99", None)
@example("0033 6 12 34 56 78", "FR")
@example("+262 269 12 34 56", "RE")
@example("0890 12 34 56", None)
@example("-06.12-34 56 78.", None)
def test_a_number_reads_as_phonenumbers_reads_it(value, hint):
    """F2: the same E.164 form, region, error code and parameters as phonenumbers."""
    _both(value, hint)


@given(typed_numbers(), st.sampled_from(["RE", "BE", "GP"]))
def test_another_home_region_goes_to_phonenumbers(value, region):
    """F2: only the default home region (FR) is read without phonenumbers."""
    _both(value, None, region)


@pytest.mark.parametrize("block", range(100, 1000, 1))
def test_every_leading_block_reads_alike(block):
    """F2: all 900 blocks of three leading digits, national and international."""
    for tail, hint in zip(
        ("123456", "000000", "987654"), (None, "RE", "GP"), strict=True
    ):
        nsn = f"{block}{tail}"
        _both(f"0{nsn}", hint)
        _both(f"+33 {nsn}", hint)
    _both(f"0{block} 12 34 56", "MQ")


def _vectors() -> list[tuple[str, str]]:
    rows = (DATA / "phones-phonenumbers.tsv").read_text(encoding="utf-8").splitlines()
    return [
        (fields[2], fields[3])
        for fields in (row.split("\t") for row in rows if not row.startswith("#"))
    ]


@pytest.mark.parametrize(("national", "hint"), _vectors())
def test_the_phonenumbers_vectors_read_alike(national, hint):
    """F2: phonenumbers' example numbers, with their hints, without and with none."""
    for given_hint in (hint or None, None, "FR"):
        _both(national, given_hint)


@pytest.mark.slow  # the whole 10,000-customer corpus: `make check`
def test_the_corpus_phones_read_alike():
    """F2: the Faker customers' numbers, with the hint of their billing address."""
    for record in CORPUS:
        _both(record["phone"], record["billing_address"]["country"])


@pytest.mark.parametrize(
    "value",
    [
        "06 12 34 56 78",
        "01.42.68.53.00",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "0033\u00a06\u00a012\u00a034\u00a056\u00a078",
    ],
)
def test_a_plain_french_number_is_read_without_parse(value):
    """Issue 22: the common shapes skip ``phonenumbers.parse``, not its validity."""
    with (
        mock.patch.object(phonenumbers, "parse", side_effect=AssertionError),
        mock.patch.object(
            phonenumbers, "is_valid_number", wraps=phonenumbers.is_valid_number
        ) as checked,
    ):
        phone = Phone.parse(value)
    assert phone.region == "FR"
    assert phone.e164.startswith("+33")
    assert checked.call_count == 1


@pytest.mark.parametrize(
    "value",
    ["0596 30 12 34", "+33 (0)0 12 34 56 78", "0692 12 34 56", "+32 470 12 34 56"],
)
def test_other_shapes_go_to_phonenumbers(value):
    """F2: an overseas prefix or region, two trunks, another code: parsed."""
    with mock.patch.object(phonenumbers, "parse", wraps=phonenumbers.parse) as parse:
        _result(lambda: Phone.parse(value))
    assert parse.call_count >= 1


def test_the_path_turns_itself_off_if_france_shares_its_code(monkeypatch):
    """F2: the metadata it relies on are checked, not assumed (a new release)."""
    from echoppe_accounts.domain import _fast_phone  # noqa: PLC0415

    codes = dict(phonenumbers.phonenumberutil.COUNTRY_CODE_TO_REGION_CODE)
    codes[33] = ("FR", "XX")
    monkeypatch.setattr(_fast_phone, "COUNTRY_CODE_TO_REGION_CODE", codes)
    _fast_phone._holds.cache_clear()
    try:
        assert _fast_phone.national("0612345678", ("FR",)) is None
        assert _fast_phone.international("+33612345678") is None
    finally:
        monkeypatch.undo()
        _fast_phone._holds.cache_clear()
    assert _fast_phone.national("0612345678", ("FR",)) is not None


# --- SIRET: the fast path never disagrees with stdnum ------------------------------


def reference_validate(value: str) -> str:
    """``siret.validate`` before: stdnum compacts, stdnum validates."""
    path = "siret"
    if len(value) > 32 or reference_has_forbidden_character(value):
        raise ValidationError.single(path, "siret.invalid_format")
    number = str(stdnum_siret.compact(value))
    if not number:
        raise ValidationError.single(path, "required")
    if not (len(number) == 14 and number.isascii() and number.isdigit()):
        raise ValidationError.single(path, "siret.invalid_format")
    if number.startswith("0" * 9):
        raise ValidationError.single(path, "siret.all_zero")
    try:
        return str(stdnum_siret.validate(number))
    except stdnum_errors.InvalidChecksum:
        raise ValidationError.single(path, "siret.invalid_checksum") from None
    except stdnum_errors.ValidationError:
        raise ValidationError.single(path, "siret.invalid_format") from None


@st.composite
def typed_sirets(draw: st.DrawFn) -> str:
    """Valid and nearly valid SIRET, with spaces and dots."""
    number = draw(
        st.one_of(
            sirets(),
            st.text(string.digits, min_size=14, max_size=14),
            st.builds(
                lambda s: "356000000" + s,
                st.text(string.digits, min_size=5, max_size=5),
            ),
            st.just("35600000000048"),
            st.builds(
                lambda s: "0" * 9 + s, st.text(string.digits, min_size=5, max_size=5)
            ),
        )
    )
    seps = draw(st.lists(st.sampled_from(["", " ", ".", " . ", "-", "\u00a0"])))
    return "".join(
        ch + (seps[i] if i < len(seps) else "") for i, ch in enumerate(number)
    )


@given(
    st.one_of(typed_sirets(), arbitrary_text(), st.text(" .0123456789", max_size=40))
)
@example("732 829 320 00074")
@example("35600000049837")
@example("35600000000048")
@example("35600000000049")
@example("000 000 000 00018")
@example(" 732.829.320.00074 ")
def test_siret_is_what_stdnum_says(value):
    """C4: the same compact number, or the same error code, as stdnum alone."""
    assert _result(lambda: siret_module.validate(value)) == _result(
        lambda: reference_validate(value)
    )
    assert siret_module.compact(value) == stdnum_siret.compact(value)


def _siret_vectors() -> list[str]:
    lines = (DATA / "siret-stdnum.txt").read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[1] for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize("value", _siret_vectors())
def test_the_stdnum_vectors_validate_alike(value):
    """C4: stdnum's own test numbers."""
    assert _result(lambda: Siret.parse(value)) == _result(
        lambda: Siret(reference_validate(value))
    )


# --- the whole form ----------------------------------------------------------------


def _form(record: dict[str, Any], index: int) -> RegistrationForm:
    return RegistrationForm(
        category=record["category"],
        email=record["email"],
        phone=record["phone"],
        name=record["name"],
        password=f"tortue violette {index}",
        organisation_name=record["organisation_name"],
        siret=record["siret"],
        chorus_requirement=record.get("chorus_requirement", ""),
        chorus_service_code=record.get("chorus_service_code", ""),
        chorus_engagement_number=record.get("chorus_engagement_number", ""),
        billing_address=_address(record["billing_address"]),
        delivery_addresses=[
            DeliveryForm(d["contact_name"], _address(d["address"]), d["label"])
            for d in record["delivery_addresses"]
        ],
    )


@pytest.mark.slow  # the whole 10,000-customer corpus: `make check`
def test_the_corpus_registers_alike():
    """F1–F8: every Faker customer's form gives the same result either way."""
    policy = PasswordPolicy()
    for index, record in enumerate(CORPUS):
        form = _form(record, index)
        fast = _result(lambda form=form: parse_registration(form, policy))
        with dependencies_only():
            slow = _result(lambda form=form: parse_registration(form, policy))
        assert fast == slow, record


@given(st.lists(st.text(string.printable + "éèàçôÉ", max_size=40), max_size=5))
@settings(max_examples=50)
def test_addresses_parse_alike(lines):
    """A4: street lines, postal codes and cities with the text fast paths."""
    for code, city, country in itertools.product(
        ["75011", "97400", "1000", ""], ["Paris", "Saint-Étienne", ""], ["FR", "BE"]
    ):

        def parse(code=code, city=city, country=country):
            return PostalAddress.parse(lines, code, city, country)

        got = _result(parse)
        with (
            mock.patch.object(address_module, "clean_text", reference_clean_text),
            mock.patch.object(address_module, "_postal_upper", reference_postal_upper),
            mock.patch.object(address_module, "_plain", return_value=False),
        ):
            want = _result(parse)
        assert got == want


# --- outgoing mails: the bytes written directly are EmailMessage's message -------


def _parsed(data: bytes) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def _meaning(message: email.message.EmailMessage) -> tuple[object, ...]:
    """What a reader gets of a message: its headers' values and its parts."""
    sender = message["From"].addresses[0]
    return (
        (sender.display_name, sender.addr_spec),
        str(message["To"]),
        str(message["Subject"]),
        str(message["Date"]),
        str(message["Message-ID"]),
        str(message["Auto-Submitted"]),
        str(message["MIME-Version"]),
        message.get_content_type(),
        [
            (part.get_content_type(), part.get_content_charset(), part.get_content())
            for part in message.iter_parts()
        ],
        message.defects,
    )


def _stdlib_bytes(mail: OutgoingMail, sender: str) -> bytes:
    return build_message(mail, sender).as_bytes(policy=email.policy.SMTP)


def _same_message(mail: OutgoingMail, sender: str) -> bool:
    """Whether the direct bytes, when written, mean what EmailMessage's mean."""
    fast = fastmime.message_bytes(mail, sender)
    if fast is None:
        return False
    assert all(len(line) <= 998 for line in fast.split(b"\r\n"))  # RFC 5322
    assert b"\n" not in fast.replace(b"\r\n", b"")
    assert _meaning(_parsed(fast)) == _meaning(_parsed(_stdlib_bytes(mail, sender)))
    return True


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("kind", list(MailKind), ids=lambda k: k.value)
def test_every_mail_of_the_library_is_written_alike(kind, language):
    """O1: each kind of mail, in each language, as the dispatcher sends it."""
    mail = render_sample(kind, language)
    assert _same_message(mail, "L'Échoppe <ne-pas-repondre@lechoppe.fr>")
    assert _same_message(mail, "boutique@lechoppe.fr")


_BODIES = st.one_of(
    _TEXTS,
    st.text(string.printable + "àéèç’€ \t.=", max_size=400),
    st.builds(lambda s: s * 40, st.text("é .=\n", min_size=1, max_size=4)),
    st.just(".\n..\nFrom here\n.\n"),
)


@given(
    subject=st.one_of(
        _TEXTS, st.sampled_from(["Bienvenue", "x" * 200, "=?q?x?=", " ", " é ", "a "])
    ),
    name=st.one_of(st.just(""), _TEXTS, st.sampled_from(["L'Échoppe", 'a"b', "a,b"])),
    to=st.one_of(st.sampled_from(["jean@exemple.fr", "léa@exemple.fr"]), _TEXTS),
    text=_BODIES,
    html=_BODIES,
)
@settings(max_examples=150)
@example(subject=" ", name="", to="jean@exemple.fr", text="", html="")
# Found by Hypothesis: so many "=" that EmailMessage chooses base64.
@example(subject="", name="", to="jean@exemple.fr", text="", html="0" * 65 + "=" * 14)
def test_direct_bytes_mean_what_email_message_writes(subject, name, to, text, html):
    """O1: any mail the direct writer takes is read as EmailMessage's would be."""
    mail = OutgoingMail(
        id="4b1f0f7e-0000-4000-8000-000000000001",
        kind=MailKind.WELCOME,
        to=to,
        subject=subject,
        text=text,
        html=html,
        created_at=datetime(2026, 11, 25, 15, 7, tzinfo=UTC),
    )
    try:
        sender = email.utils.formataddr((name, "ne-pas-repondre@lechoppe.fr"))
    except UnicodeError:
        sender = f"{name} <ne-pas-repondre@lechoppe.fr>"
    try:
        _stdlib_bytes(mail, sender)
    except Exception:  # noqa: BLE001 (whatever EmailMessage refuses)
        # EmailMessage refuses it: the direct writer must not take it either.
        assert fastmime.message_bytes(mail, sender) is None
        return
    _same_message(mail, sender)


@given(
    at=st.one_of(
        st.datetimes(timezones=st.just(UTC)),
        st.datetimes(timezones=st.timezones()),
        st.datetimes(),
    )
)
@example(at=datetime(2026, 11, 25, 15, 7, tzinfo=UTC))
def test_the_date_header_is_format_datetimes(at):
    """O1: the ``Date`` of a mail is what ``email.utils.format_datetime`` writes."""
    assert fastmime._date(at) == email.utils.format_datetime(at)


def reference_encoded_body(text: str) -> tuple[str, bytes] | None:
    """The body encoding before: ``email.quoprimime`` for the sniff and the body."""
    try:
        lines = text.encode("utf-8").splitlines()
    except UnicodeError:
        return None
    body = b"\n".join(lines) + b"\n"
    width = fastmime.MAX_LINE_LENGTH
    if max((len(x) for x in lines), default=0) <= width and body.isascii():
        return "7bit", body.replace(b"\n", b"\r\n")
    sniff = b"\n".join(lines[:10]) + b"\n"
    quoted = quoprimime.body_encode(sniff.decode("latin-1"), width)
    if len(quoted) > len(binascii.b2a_base64(sniff)):
        return None
    encoded = quoprimime.body_encode(body.decode("latin-1"), width)
    return "quoted-printable", encoded.encode("ascii").replace(b"\n", b"\r\n")


# Lines near the width of 78, blanks and "=" where a line is cut, every byte.
_QP_LINES = st.lists(
    st.one_of(
        st.text(string.printable + "àéèç’€\x00\x7f\x85\u2028", max_size=200),
        st.builds(
            lambda n, tail: "x" * n + tail,
            st.integers(70, 240),
            st.sampled_from(["", " ", "\t", "=", "é", "= ", "é ", "  ", "=\t"]),
        ),
        st.builds(
            lambda s, n: s * n,
            st.text("é= \t.a", min_size=1, max_size=3),
            st.integers(1, 90),
        ),
        st.binary(max_size=120).map(lambda b: b.decode("latin-1")),
    ),
    max_size=14,
)


@given(lines=_QP_LINES)
@example(lines=[])
@example(lines=[""])
@example(lines=["x" * 76 + " ", "x" * 77 + " ", "x" * 78 + " ", "x" * 155 + "\t"])
@example(lines=["x" * 75 + "=", "x" * 76 + "é", "x" * 77 + "==", "."])
@settings(max_examples=400)
def test_quoted_printable_is_quoprimimes_byte_for_byte(lines):
    """O1: the direct writer's quoted-printable is the standard library's.

    The body and the sniff's length (which chooses base64 over it) equal
    ``email.quoprimime.body_encode`` at the policy's width, on any bytes:
    lines near the width, ending in blanks, cut next to ``=`` or an escape.
    """
    body = "\n".join(lines).encode("utf-8", "surrogatepass")
    body = b"\n".join(body.splitlines()) + b"\n"
    width = fastmime.MAX_LINE_LENGTH
    quoted, sniff = fastmime._quoted_printable(body)
    assert quoted.decode("ascii") == quoprimime.body_encode(
        body.decode("latin-1"), width
    )
    first = b"\n".join(body.splitlines()[:10]) + b"\n"
    assert sniff == len(quoprimime.body_encode(first.decode("latin-1"), width))


@given(text=st.one_of(_BODIES, _QP_LINES.map("\n".join), arbitrary_text()))
@example(text="")
@example(text="0" * 65 + "=" * 14)
@settings(max_examples=300)
def test_body_encoding_is_chosen_and_written_as_before(text):
    """O1: 7bit, quoted-printable or base64 (``None``) as before, the same bytes."""
    assert fastmime._encoded_body(text) == reference_encoded_body(text)


def reference_tidy_text(text: str) -> str:
    """``templating.tidy_text`` before: textwrap on every line."""
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        wrapped = textwrap.wrap(
            line.rstrip(),
            width=templating.TEXT_WIDTH,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.extend(wrapped or [""])
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


@given(
    st.lists(
        st.one_of(
            _TEXTS,
            st.text(" ab\t\x0b\x0c\r\u00a0é-", max_size=120),
            st.builds(lambda n, w: " " * n + w, st.integers(0, 4), st.text("ab ")),
            st.builds(
                " ".join,
                st.lists(st.text("abcé-/:.", min_size=1, max_size=90), max_size=30),
            ),
        ),
        max_size=8,
    )
)
@example(["  indented", "a  b", "x" * 76, "x" * 77, "tab\there", ""])
@example([" ".join(["mot"] * 40), "x" * 80 + " y", "y " + "x" * 80 + " z " * 30])
def test_tidy_text_keeps_textwraps_lines(lines):
    """T1: a plain-text body is tidied as textwrap alone tidies it."""
    text = "\n".join(lines)
    assert templating.tidy_text(text) == reference_tidy_text(text)


@given(st.one_of(_TEXTS, st.sampled_from(["fr", "en", "FR", " en ", "pt-br", "de"])))
def test_a_language_resolves_as_before(language):
    """T1: a catalogue's own name is taken as is; any other is normalised first."""
    catalogues = i18n.catalogues()
    name = i18n.normalise(language)
    expected = name if name in catalogues.languages() else i18n.DEFAULT_LANGUAGE
    assert catalogues.resolve(language) == expected


# -- ids and stored text (issue 12: the import's storage) ----------------------------


@given(
    st.binary(min_size=16, max_size=16), st.integers(min_value=0, max_value=2**48 - 1)
)
@example(bytes(16), 0)
@example(b"\xff" * 16, 2**48 - 1)
def test_ids_are_version_7_uuids_of_their_time_and_bytes(raw, unix_ms):
    """Every id is an RFC 9562 version 7 UUID: the time, then the random bits."""
    import uuid  # noqa: PLC0415

    from echoppe_accounts.service_layer._ports import uuid7_text  # noqa: PLC0415

    text = uuid7_text(raw, unix_ms)
    value = uuid.UUID(text)
    assert str(value) == text
    assert (value.version, value.variant) == (7, uuid.RFC_4122)
    assert value.int >> 80 == unix_ms
    random_bits = int.from_bytes(raw, "big") & ((1 << 80) - 1)
    kept = ~(0xF << 76 | 0x3 << 62) & ((1 << 80) - 1)  # less version, variant
    assert value.int & kept == random_bits & kept


@given(st.lists(st.integers(min_value=0, max_value=2**48 - 1), min_size=2))
def test_ids_sort_in_the_order_they_were_made(times):
    """Ids of later milliseconds sort after earlier ones, as text too."""
    import os  # noqa: PLC0415

    from echoppe_accounts.service_layer._ports import uuid7_text  # noqa: PLC0415

    ids = [uuid7_text(os.urandom(16), ms) for ms in sorted(set(times))]
    assert ids == sorted(ids)


@given(st.lists(st.text(), max_size=5), st.dictionaries(st.text(), st.text()))
def test_stored_json_is_json_dumps(lines, details):
    """Street lines and audit details are stored as json.dumps wrote them."""
    from echoppe_accounts.adapters import _records  # noqa: PLC0415

    assert _records._JSON.encode(tuple(lines)) == json.dumps(
        tuple(lines), ensure_ascii=False
    )
    assert _records._details_text(details) == json.dumps(
        details, ensure_ascii=False, sort_keys=True
    )


@given(st.datetimes(min_value=datetime(1000, 1, 2), timezones=st.timezones()))  # noqa: DTZ001
def test_cached_iso_text_is_the_instants(value):
    """Stored times are strftime's fixed-width UTC text; equal instants, one text."""
    from echoppe_accounts.adapters._records import iso  # noqa: PLC0415

    utc = value.astimezone(UTC)
    assert iso(value) == utc.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    assert iso(utc) == iso(value)
    assert len(iso(value)) == len("2026-11-25T09:00:00.000000+00:00")


# -- postal addresses (domain/address.py) ---------------------------------------------

_ODD_CHARS = ["é", "É", "ß", "ﬁ", "e\u0301", "\u00a0", "\t", "\u2028", "\ud800", "İ"]
_ADDRESS_CHARS = st.sampled_from([*"abcXYZ019 ,.'-’", *_ODD_CHARS])
_ADDRESS_TEXT = st.one_of(
    st.lists(_ADDRESS_CHARS, max_size=45).map("".join),
    st.text(max_size=45),
    st.sampled_from(["12 rue des Lilas", "Bâtiment B", "Saint-Étienne", "Paris"]),
)
_POSTAL_CODES = st.one_of(
    st.from_regex(r"\A[0-9]{5}\Z"),
    st.sampled_from(["75011", "97133", "98000", "20000", "00000", "7501", "750110"]),
    st.sampled_from(["７５０１１", "75 011", " 75011", "2A004"]),
    st.text(max_size=8),
)


def _outcome(parse, *args):
    try:
        return parse(*args)
    except ValidationError as exc:
        return [(e.path, e.code, e.params) for e in exc.errors]


@given(
    st.one_of(st.lists(_ADDRESS_TEXT, max_size=6), _ADDRESS_TEXT),
    _POSTAL_CODES,
    _ADDRESS_TEXT,
    st.sampled_from(["FR", "fr", " FR", "MC", "RE", "BE", ""]),
)
@example(["x" * 38], "75011", "y" * 32, "FR")
@example(["x" * 38], "75011", "y" * 33, "FR")
@example(["x" * 39], "75011", "Paris", "FR")
@example(["a", "b", "c", "d"], "75011", "Paris", "FR")
@example(["a", "b", "c", "d", "e"], "75011", "Paris", "FR")
@example(["12 rue des Lilas"], "98000", "Monaco", "FR")
@example(["12 rue des Lilas"], "75011", "ß" * 17, "FR")
@example(["12 rue des Lilas"], "75011", "ß" * 16, "FR")
@example(["12 rue  des Lilas"], "75011", "Paris", "FR")
@example(["Rue de l'E\u0301glise"], "75011", "Paris", "FR")
@example([""], "75011", "Paris", "FR")
def test_plain_french_addresses_read_as_the_general_path_reads_them(
    lines, postal_code, city, country
):
    """The common case's reading is the general one's: same address or errors."""
    assert _outcome(PostalAddress.parse, lines, postal_code, city, country) == (
        _outcome(PostalAddress._parse, lines, postal_code, city, country)
    )


@pytest.mark.parametrize("stored", [(8, 1, 1), (8, 2, 1), (16, 1, 1), (16, 1, 2)])
def test_needs_rehash_is_argon2s_check(stored):
    """P1: a hash needs rehashing exactly when argon2-cffi says so."""
    import argon2  # noqa: PLC0415

    from echoppe_accounts.adapters.system import Argon2Hasher  # noqa: PLC0415

    current = Argon2Hasher(memory_cost=8, time_cost=1, parallelism=1)
    m, t, p = stored
    other = argon2.PasswordHasher(time_cost=t, memory_cost=m, parallelism=p)
    hashes = [
        Argon2Hasher(memory_cost=m, time_cost=t, parallelism=p).hash("motdepasse"),
        other.hash("motdepasse"),  # argon2-cffi's default lengths
        argon2.PasswordHasher(
            time_cost=t, memory_cost=m, parallelism=p, type=argon2.Type.I
        ).hash("motdepasse"),
    ]
    for password_hash in hashes:
        assert current.needs_rehash(password_hash) is (
            current._argon2()[0].check_needs_rehash(password_hash)
        )
    assert current.needs_rehash("$argon2id$v=19$m=8,t=1,p=1$bm9wZQ") is True
    assert current.needs_rehash("not a hash") is True
