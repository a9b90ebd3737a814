"""Differential tests: the general paths made cheaper answer as before (issue 22).

The validation rows are won by making the general path cheaper, not by more
bypasses (issue 22). Each restructured piece keeps its previous code below,
verbatim, as the reference, and Hypothesis holds the new code to it on
generated input, odd input included: internationalised domains, no-break
spaces, ``+32``, ``+33 (0)``, decomposed accents, ligatures, lone
surrogates. The fast paths' switch (``ECHOPPE_FAST_PATHS=0``) is the
reference of the fast paths themselves (``test_fast_paths.py``,
``test_fast_switch.py``); what is tested here holds with it on or off.
"""

from __future__ import annotations

import contextlib
import re
import string
import unicodedata
from collections.abc import Callable
from unittest import mock

import email_validator
import phonenumbers
from email_validator import rfc_constants
from hypothesis import example, given, settings
from hypothesis import strategies as st

from echoppe_accounts import (
    Category,
    Email,
    PasswordPolicy,
    Phone,
    RegistrationForm,
    ValidationError,
)
from echoppe_accounts.domain import _fast_email as fast_email
from echoppe_accounts.domain import _phone_regions, fast
from echoppe_accounts.domain import category as category_module
from echoppe_accounts.domain import email as email_module
from echoppe_accounts.domain import forms as forms_module
from echoppe_accounts.domain import password as password_module
from echoppe_accounts.domain import phone as phone_module
from echoppe_accounts.domain import text as text_module
from echoppe_accounts.domain.errors import Collector
from echoppe_accounts.domain.phone import OVERSEAS_REGIONS
from strategies import arbitrary_text, emails, idn_emails

NBSP = "\N{NO-BREAK SPACE}"


def _result(run: Callable[[], object]) -> tuple[str, object]:
    """What a call gave: its value, or its errors' paths, codes and parameters."""
    try:
        return "ok", run()
    except ValidationError as exc:
        return "error", [(e.path, e.code, e.params) for e in exc.errors]


# --- P2: the password policy's personal words -------------------------------------


def previous_check(policy: PasswordPolicy, password: str, personal: list[str]) -> str:
    """``PasswordPolicy.check`` before issue 22: every word's parts worked out."""
    path = "password"
    if len(password) > password_module.RAW_MAX_LENGTH:
        raise ValidationError.single(
            path, "password.too_long", max=password_module.MAX_LENGTH
        )
    if not password_module.is_valid_unicode(password):
        raise ValidationError.single(path, "text.invalid_unicode")
    value = password_module.normalize(password)
    if len(value) < policy.min_length:
        raise ValidationError.single(path, "password.too_short", min=policy.min_length)
    if len(value) > password_module.MAX_LENGTH:
        raise ValidationError.single(
            path, "password.too_long", max=password_module.MAX_LENGTH
        )
    folded = password_module._fold(value)
    if folded in policy.common_passwords or value.casefold() in policy.common_passwords:
        raise ValidationError.single(path, "password.common")
    for word in (policy.shop_name, *personal):
        for part in password_module.personal_parts(word):
            if 2 * len(part) >= len(folded) and part in folded:
                raise ValidationError.single(path, "password.personal")
    return value


_ODD = "àéèêçœÉÈ’«»ßﬁ\u00a0\u202f\u0301\u0327\u2028_@.'-\x1c"
_WORD_TEXT = st.text(
    string.ascii_letters + string.digits + " .@'-_" + _ODD, max_size=40
)
_WORDS = st.one_of(
    _WORD_TEXT,
    emails(),
    idn_emails(),
    arbitrary_text(),
    _WORD_TEXT.map(lambda w: unicodedata.normalize("NFD", w)),
)


@st.composite
def built_on(draw: st.DrawFn) -> tuple[str, list[str], str]:
    """A password, the customer's words, and a shop name, often sharing a stretch."""
    personal = draw(st.lists(_WORDS, max_size=3))
    shop = draw(st.sampled_from(["", "L'Échoppe", "lechoppe", "Boutique Ré"]))
    sources = [w for w in (*personal, shop) if w]
    password = draw(_WORDS)
    if sources and draw(st.integers(0, 3)):
        # A stretch of one of the words, cased, accented or decomposed otherwise,
        # with something around it: what "built on" looks for.
        source = draw(st.sampled_from(sources))
        start = draw(st.integers(0, max(0, len(source) - 4)))
        stretch = source[start : start + draw(st.integers(4, max(4, len(source))))]
        stretch = draw(
            st.sampled_from(
                [
                    stretch,
                    stretch.upper(),
                    unicodedata.normalize("NFD", stretch),
                    stretch.replace(".", ""),
                ]
            )
        )
        # Mostly punctuation around it, which folding drops, and a few
        # letters or digits, which it keeps: half the password, or not.
        around = st.text("!?#* .-_'" + _ODD + "x7", max_size=6)
        password = draw(around) + stretch + draw(around) + "!" * 8
    return password, personal, shop


@settings(max_examples=600, deadline=None)
@given(built_on())
@example(("guy60guillet!!", ["guy60@guillet.org", "Antoine de la Sanchez"], ""))
@example(("Michèle2026!", ["m@x.fr", "Michèle Guillaume"], ""))
@example(("Miche\u0300le2026!", ["m@x.fr", "Michèle Guillaume"], ""))
@example(("crème-brûlée-77", ["info@crème-brûlée.fr"], ""))
@example(("lechoppe2026", [], "L'Échoppe"))
@example(("a.b.c.d.e.f.g.h", ["a b c d e f g h"], ""))
@example(("ﬁleﬁleﬁle", ["file"], ""))
@example(("Strasse1234", ["info@straße.de"], ""))
@example(("jean\u00a0dupont", ["Jean\u00a0Dupont"], ""))
@example(("x" * 9, ["\ud800xxxxx"], ""))
def test_personal_words_refuse_the_same_passwords_as_before(case):
    """P2: the words a password is built on are found as before, and only they."""
    password, personal, shop = case
    policy = PasswordPolicy(shop_name=shop)
    new = _result(lambda: policy.check(password, personal=personal))
    old = _result(lambda: previous_check(policy, password, personal))
    assert new == old


# --- F2: the regions a national phone number is offered to -------------------------


_REGION_ORDERS = st.sampled_from(
    [
        ("FR", *OVERSEAS_REGIONS),
        tuple(dict.fromkeys(("RE", "FR", *OVERSEAS_REGIONS))),
        tuple(dict.fromkeys(("BE", "FR", *OVERSEAS_REGIONS))),
        ("NC", "PF", "WF"),
        ("FR",),
    ]
)


@settings(max_examples=800, deadline=None)
@given(
    regions=_REGION_ORDERS,
    digits=st.one_of(
        st.text(alphabet="0123456789", max_size=17),
        st.sampled_from(["0033", "00262", "262", "590", "508", "687", "0"]).flatmap(
            lambda head: st.text(alphabet="0123456789", max_size=12).map(
                lambda tail: head + tail
            )
        ),
    ),
)
@example(regions=("FR", *OVERSEAS_REGIONS), digits="0692123456")
@example(regions=("FR", *OVERSEAS_REGIONS), digits="201234")
@example(regions=("FR", *OVERSEAS_REGIONS), digits="0033612345678")
@example(regions=("FR", *OVERSEAS_REGIONS), digits="")
@example(regions=("FR", *OVERSEAS_REGIONS), digits="50800746230")
def test_one_expression_keeps_the_regions_their_readings_keep(regions, digits):
    """F2: the single match keeps the regions, in order, that may_read() keeps.

    ``508 00 746230`` is a valid Saint-Pierre-et-Miquelon number read in
    PM (its country code, then two trunks that ``parse`` strips): the loop
    over one expression per rule that came before pruned PM there, which
    the one expression per length does not.
    """
    assert _phone_regions.readable(regions, digits) == tuple(
        r for r in regions if _phone_regions.may_read(r, digits)
    )


def test_a_country_code_and_two_trunks_are_read_in_saint_pierre():
    """F2: the reading the previous loop pruned is a valid number."""
    number = phonenumbers.parse("50800746230", "PM")
    assert phonenumbers.is_valid_number(number)
    assert "PM" in _phone_regions.readable(("FR", *OVERSEAS_REGIONS), "50800746230")


def _phone(value: str, hint: str | None) -> object:
    try:
        phone = Phone.parse(value, hint=hint)
    except ValidationError as exc:
        return [(e.code, sorted(e.params.items())) for e in exc.errors]
    return phone.e164, phone.region


@st.composite
def typed_numbers(draw: st.DrawFn) -> str:
    """Numbers as customers type them: +32, +33 (0), 0033, NBSP groups, odd digits."""
    digits = draw(st.text(alphabet="0123456789", min_size=6, max_size=11))
    separator = draw(st.sampled_from(["", " ", NBSP, ".", "-", "/", "\u202f"]))
    body = separator.join(digits[i : i + 2] for i in range(0, len(digits), 2))
    head = draw(
        st.sampled_from(
            ["", "0", "+33 ", "+33 (0)", "0033" + NBSP, "+32 ", "+262 ", "00", "(0)"]
        )
    )
    return draw(st.sampled_from(["{}", " {} ", "{}\u200b"])).format(head + body)


@settings(max_examples=300, deadline=None)
@given(typed_numbers(), st.sampled_from([None, "FR", "RE", "GP", "NC", "BE"]))
@example("06\u00a012\u00a034\u00a056\u00a078", "FR")
@example("+33 (0)6 12 34 56 78", "FR")
@example("+32 470 12 34 56", None)
@example("0033\u00a06\u00a012\u00a034\u00a056\u00a078", None)
@example("0692 12 34 56", None)
def test_phone_numbers_read_alike_with_the_switch_on_and_off(value, hint):
    """F2: typed numbers read alike whichever way the regions are chosen."""
    on = _phone(value, hint)
    with fast.disabled():
        off = _phone(value, hint)
    assert on == off


def previous_national(
    value: str, path: str, home: str, hint: str | None
) -> phonenumbers.PhoneNumber:
    """``phone._national`` before it stopped reading early: every region read."""
    readings: dict[str, phonenumbers.PhoneNumber] = {}
    regions = phone_module._regions(home)
    digits = _phone_regions.plain_digits(value) if fast.enabled() else None
    if digits is not None:
        regions = _phone_regions.readable(regions, digits)
    for candidate in regions:
        number = phone_module._read(value, candidate)
        if number is not None:
            readings[candidate] = number
    if not readings:
        raise ValidationError.single(path, "phone.invalid")
    if len(readings) == 1:
        return next(iter(readings.values()))
    trunk = str(phonenumbers.normalize_digits_only(value)).startswith("0")
    if trunk and (owner := phone_module._overseas_owner(readings)) is not None:
        return owner
    if hint is not None and hint in readings:
        return readings[hint]
    distinct = {phone_module._e164(n): n for n in readings.values()}
    if len(distinct) == 1:
        return next(iter(distinct.values()))
    if trunk and home in readings:
        return readings[home]
    regions = tuple(
        sorted({phone_module._region_of(n, None) for n in distinct.values()})
    )
    raise ValidationError.single(path, "phone.ambiguous", regions=regions)


@st.composite
def shared_numbers(draw: st.DrawFn) -> str:
    """National numbers several regions read: 08, overseas prefixes, short plans."""
    head = draw(
        st.sampled_from(
            [
                "08",
                "080",
                "0806",
                "0809",
                "089",
                "0596",
                "0590",
                "0262",
                "0692",
                "0269",
                "0639",
                "0594",
                "0690",
                "06",
                "09",
                "5",
                "20",
                "4",
                "87",
                "",
            ]
        )
    )
    tail = draw(st.text(alphabet="0123456789", min_size=2, max_size=9))
    digits = head + tail
    separator = draw(st.sampled_from(["", " ", NBSP, "."]))
    body = separator.join(digits[i : i + 2] for i in range(0, len(digits), 2))
    return draw(st.sampled_from(["{}", "(0){}", "{}x"])).format(body)


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(shared_numbers(), typed_numbers()),
    st.sampled_from([None, "FR", "RE", "YT", "GP", "BL", "MQ", "GF", "PM", "NC", "BE"]),
    st.sampled_from(["FR", "RE", "GP"]),
    st.booleans(),
)
@example(value="08 08 81 46 10", hint="FR", home="FR", fast_on=True)
@example(value="0808814610", hint="GP", home="FR", fast_on=True)
@example(value="0809511019", hint=None, home="FR", fast_on=True)
@example(value="05 96 52 60 76", hint="FR", home="FR", fast_on=True)
@example(value="0590 27 12 34", hint="BL", home="FR", fast_on=True)
@example(value="20 12 34", hint="NC", home="FR", fast_on=True)
@example(value="20 12 34", hint=None, home="FR", fast_on=False)
def test_national_numbers_stop_reading_without_changing_the_answer(
    value, hint, home, fast_on
):
    """F2: reading regions until the answer is known answers as reading them all."""

    def parsed() -> object:
        try:
            phone = Phone.parse(value, region=home, hint=hint)
        except ValidationError as exc:
            return [(e.code, sorted(e.params.items())) for e in exc.errors]
        return phone.e164, phone.region

    with fast.disabled() if not fast_on else contextlib.nullcontext():
        now = parsed()
        with mock.patch.object(phone_module, "_national", previous_national):
            before = parsed()
    assert now == before


def test_the_plan_is_made_once_per_order_of_regions():
    """The single expression is compiled once for the regions a parse asks."""
    regions = ("FR", *OVERSEAS_REGIONS)
    assert _phone_regions._plan(regions, 10) is _phone_regions._plan(regions, 10)
    assert re.compile(_phone_regions._plan(regions, 10)[0].pattern)


# --- F9: forbidden characters, with the space separators allowed -----------------


def previous_has_forbidden_character(value: str) -> bool:
    """``text.has_forbidden_character`` before: the category loop after isprintable."""
    if value.isprintable():
        return False
    if value.isascii():
        return True
    if not text_module.is_valid_unicode(value):
        return True
    forbidden = {"Cc", "Cf", "Co", "Cn", "Zl", "Zp"}
    return any(unicodedata.category(ch) in forbidden for ch in value)


_SPACES = (
    "".join(chr(c) for c in range(0x3001) if unicodedata.category(chr(c)) == "Zs")
    + "\u205f\u3000"
)


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        arbitrary_text(),
        st.text(string.printable + _SPACES + _ODD + "\u200b\u00ad\ue000\U000e0001"),
        typed_numbers(),
    )
)
@example("06\u00a012\u00a034\u00a056\u00a078")
@example("06\u202f12\u2009 34")
@example("06\u00a012\u200b34")
@example("06\u00a012\ud80034")
@example("a\u2028b\u00a0")
@example("\u1680\u3000\u205f")
def test_space_separators_do_not_hide_a_forbidden_character(value):
    """F9: with Zs made spaces, the answer is the category loop's."""
    expected = previous_has_forbidden_character(value)
    assert text_module.has_forbidden_character(value) is expected


# --- F1: email addresses ------------------------------------------------------------


def previous_plain(value: str) -> tuple[str, str] | None:
    """``_fast_email.plain`` before: the special-use suffixes built at each call."""
    if not value.isascii():
        return None
    local, _, domain = value.partition("@")
    domain = domain.lower()
    if (
        len(local) > rfc_constants.LOCAL_PART_MAX_LENGTH
        or len(domain) > rfc_constants.DOMAIN_MAX_LENGTH
        or rfc_constants.DOT_ATOM_TEXT.match(local) is None
        or local.lower() in rfc_constants.CASE_INSENSITIVE_MAILBOX_NAMES
        or fast_email._PLAIN_DOMAIN.fullmatch(domain) is None
        or "--" in domain
    ):
        return None
    special = email_validator.SPECIAL_USE_DOMAIN_NAMES
    if domain in special or domain.endswith(tuple(f".{d}" for d in special)):
        return None
    return local, domain


_SPECIAL_DOMAINS = st.sampled_from(
    ["localhost", "x.local", "a.b.test", "onion", "y.invalid", "home.arpa", "arpa"]
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        emails(),
        idn_emails(),
        st.tuples(
            st.from_regex(r"[a-z0-9.]{1,12}", fullmatch=True), _SPECIAL_DOMAINS
        ).map("@".join),
        st.text(string.ascii_letters + string.digits + ".@-", max_size=30),
    ),
    st.sampled_from([[], ["example"], ["home.arpa"], ["b.test", "com"]]),
)
@example("jean@exemple.local", [])
@example("jean@local", [])
@example("jean@x.home.arpa", ["home.arpa"])
@example("jean@xhome.arpa", ["home.arpa"])
def test_special_use_domains_are_left_to_email_validator_as_before(value, extra):
    """F1: a special-use domain or subdomain is not read by the fast path, as before."""
    names = [*email_validator.SPECIAL_USE_DOMAIN_NAMES, *extra]
    with mock.patch.object(email_validator, "SPECIAL_USE_DOMAIN_NAMES", names):
        assert fast_email.plain(value) == previous_plain(value)


@settings(max_examples=200, deadline=None)
@given(st.one_of(idn_emails(), emails()))
@example("info@straße.de")
@example("Jean.Dupont@Crème-Brûlée.FR")
@example("e\u0301lodie@exemple.fr")
def test_the_general_path_keys_an_address_as_canonical_key_does(value):
    """F1: the key of email-validator's reading is _key() of it, computed once."""
    with fast.disabled():
        parsed = _result(lambda: Email.parse(value))
    if parsed[0] == "ok":
        email = parsed[1]
        assert isinstance(email, Email)
        assert email.key == email_module.canonical_key(email.address)
        result = email_validator.validate_email(value, check_deliverability=False)
        assert email.key == email_module._key(result.local_part, result.ascii_domain)


# --- C1: categories ----------------------------------------------------------------


def previous_category(value: str) -> Category:
    """``Category.parse`` before: every value folded, then looked up."""
    if len(value) > 64:
        raise ValidationError.single("category", "category.invalid")
    key = category_module._strip_accents(value.strip())
    if not key:
        raise ValidationError.single("category", "required")
    category = category_module._by_key().get(key)
    if category is None:
        raise ValidationError.single("category", "category.invalid")
    return category


@given(
    st.one_of(
        st.sampled_from(
            [*category_module._by_key(), "Entreprise", " company ", "Collectivité"]
        ),
        st.text(max_size=12),
        _WORD_TEXT.map(lambda w: unicodedata.normalize("NFD", w)),
    )
)
@example("collectivite\u0301")
@example("ＣＯＭＰＡＮＹ")
def test_categories_read_as_before(value):
    """C1: codes and French names, typed any way, give the same category or error."""
    assert _result(lambda: Category.parse(value)) == _result(
        lambda: previous_category(value)
    )


# --- C3: the organisation fields read from the registration form itself -----------


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([*Category, None]),
    st.fixed_dictionaries(
        {
            name: st.one_of(
                st.sampled_from(["", " ", "ACME", "732 829 320 00074", "x" * 300]),
                arbitrary_text(),
            )
            for name in (
                "organisation_name",
                "siret",
                "chorus_requirement",
                "chorus_service_code",
                "chorus_engagement_number",
            )
        }
    ),
)
def test_the_registration_form_reads_its_organisation_as_before(category, fields):
    """C3: the form's own fields give what its copied OrganisationForm gave."""
    form = RegistrationForm(**fields)
    now, before = Collector(), Collector()
    got = _result(lambda: forms_module.parse_organisation(category, form, now))
    was = _result(
        lambda: forms_module.parse_organisation(category, form.organisation, before)
    )
    assert got == was
    assert [(e.path, e.code, e.params) for e in now.errors] == [
        (e.path, e.code, e.params) for e in before.errors
    ]
