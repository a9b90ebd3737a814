"""Hypothesis strategies shared by the test suites.

Valid values are built from the rules of the references the SPEC names
(INSEE's Luhn keys and La Poste's exception, ARCEP's mobile ranges, La Poste's
postal codes, RFC 5322 dot-atoms), never by asking the library under test, so
that a test can disagree with the library.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Callable
from typing import TypeVar

import phonenumbers
from hypothesis import strategies as st

from echoppe_accounts import (
    AddressForm,
    Category,
    ChorusRequirement,
    DeliveryForm,
    RegistrationForm,
    ValidationError,
)

# --- SIRET -------------------------------------------------------------------

LA_POSTE_PREFIX = "356000000"
"""SIREN of La Poste: its establishments' SIRETs skip the Luhn check."""
LA_POSTE_HEAD_OFFICE = "35600000000048"
"""La Poste's head office, whose SIRET does follow the Luhn rule."""


def luhn_check_digit(payload: str) -> str:
    """Return the digit that, appended to *payload*, makes it pass Luhn."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str(-total % 10)


def luhn_is_valid(number: str) -> bool:
    """Tell whether *number* (digits only) passes the Luhn check."""
    return luhn_check_digit(number[:-1]) == number[-1]


def _digits(size: int) -> st.SearchStrategy[str]:
    return st.text(string.digits, min_size=size, max_size=size)


@st.composite
def luhn_sirets(draw: st.DrawFn) -> str:
    """A SIRET of the general case: a Luhn-valid SIREN, then a Luhn-valid whole."""
    siren = (body := draw(_digits(8))) + luhn_check_digit(body)
    payload = siren + draw(_digits(4))
    siret = payload + luhn_check_digit(payload)
    # La Poste's numbers follow another rule; an all-zero SIREN is refused.
    forbidden = siret.startswith((LA_POSTE_PREFIX, "0" * 9))
    return draw(st.nothing()) if forbidden else siret


@st.composite
def la_poste_sirets(draw: st.DrawFn) -> str:
    """A La Poste establishment SIRET: the sum of its digits is a multiple of 5."""
    payload = LA_POSTE_PREFIX + draw(_digits(4))
    remainder = -sum(map(int, payload)) % 5
    siret = payload + str(remainder + draw(st.sampled_from([0, 5])))
    return draw(st.nothing()) if siret == LA_POSTE_HEAD_OFFICE else siret


def sirets() -> st.SearchStrategy[str]:
    """Any valid SIRET, compact (14 digits)."""
    return st.one_of(luhn_sirets(), la_poste_sirets())


def format_siret(siret: str) -> str:
    """Return *siret* as INSEE prints it: ``732 829 320 00074``."""
    return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"


def siret_writings(siret: str) -> st.SearchStrategy[str]:
    """The ways a person may type *siret*: compact, spaced, dotted, padded."""
    grouped = format_siret(siret)
    return st.sampled_from(
        [
            siret,
            grouped,
            grouped.replace(" ", "."),
            f"{siret[:9]} {siret[9:]}",
            f"  {grouped}  ",
            " ".join(siret),
        ]
    )


# --- Phone numbers -----------------------------------------------------------


@st.composite
def french_mobiles(draw: st.DrawFn) -> str:
    """The 9 significant digits of a metropolitan mobile (ARCEP: 06, 073-079).

    0639 and 069x are left out: parts of them belong to overseas operators.
    """
    head = draw(
        st.one_of(
            st.sampled_from("0124578").map(lambda d: "6" + d),
            st.sampled_from("3456789").map(lambda d: "7" + d),
        )
    )
    return head + draw(_digits(7))


def _pairs(digits: str) -> list[str]:
    return [digits[i : i + 2] for i in range(0, len(digits), 2)]


@st.composite
def french_mobile_writings(draw: st.DrawFn) -> tuple[str, str]:
    """A French mobile as a person types it, and its E.164 form.

    Written nationally (``06 12 34 56 78``, dots, dashes, no separator) or
    internationally (``+33 6 12 34 56 78``, ``0033612345678``).
    """
    significant = draw(french_mobiles())
    national = "0" + significant
    spaced_intl = " ".join([significant[0], *_pairs(significant[1:])])
    written = draw(
        st.sampled_from(
            [
                national,
                " ".join(_pairs(national)),
                ".".join(_pairs(national)),
                "-".join(_pairs(national)),
                f"+33{significant}",
                f"+33 {spaced_intl}",
                f"0033{significant}",
                f"0033 {spaced_intl}",
                f" {national} ",
            ]
        )
    )
    return written, f"+33{significant}"


@st.composite
def reunion_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """A Réunion mobile written nationally (``0692 12 34 56``) and its E.164 form."""
    significant = "692" + draw(_digits(6))
    national = "0" + significant
    written = f"{national[:4]} {' '.join(_pairs(national[4:]))}"
    return written, f"+262{significant}"


# --- Text --------------------------------------------------------------------

# Letters whose upper-case and accent-free forms have one character each, as a
# postal line is printed (NF Z10-011 upper-cases the last lines).
LETTERS = string.ascii_letters + "àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ"


def _words(
    alphabet: str, *, max_length: int, max_words: int = 5
) -> st.SearchStrategy[str]:
    word = st.text(alphabet, min_size=1, max_size=12)
    return (
        st.lists(word, min_size=1, max_size=max_words)
        .map(" ".join)
        .filter(lambda text: len(text) <= max_length)
    )


def names(max_length: int = 38) -> st.SearchStrategy[str]:
    """A person's or an organisation's name: words of letters, - and '."""
    return _words(LETTERS + "-'", max_length=max_length, max_words=4)


def street_lines(max_length: int = 38) -> st.SearchStrategy[str]:
    """One street line (``12 bis rue de l'Église``), at most *max_length* chars."""
    return _words(LETTERS + string.digits + "-',/", max_length=max_length)


def cities(max_length: int = 32) -> st.SearchStrategy[str]:
    """A town name (``Saint-Denis``), at most *max_length* characters."""
    return _words(LETTERS + "-'", max_length=max_length, max_words=3)


# Characters that exercise separators, digits, look-alikes and invisibles.
_TRICKY = (
    string.digits
    + " .-+@()/_'\t\n"
    + "aAzZéÉßıİﬁ"
    + "\u00a0\u200b\u202e\ufeff\x00"
    + "０１２３４５６７８９٣"
)


T = TypeVar("T")


def outcome(
    parse: Callable[..., T], *args: object
) -> tuple[T | None, ValidationError | None]:
    """Return ``(result, None)`` or ``(None, error)``; any other exception escapes.

    Fuzz tests use it to tell "accepted" from "refused the documented way".
    """
    try:
        return parse(*args), None
    except ValidationError as exc:
        return None, exc


def arbitrary_text(max_size: int = 60) -> st.SearchStrategy[str]:
    """Any text at all, for fuzzing: every code point, lone surrogates included."""
    return st.one_of(
        st.text(st.characters(exclude_categories=()), max_size=max_size),
        st.text(_TRICKY, max_size=max_size),
        st.text(st.characters(exclude_categories=()), min_size=200, max_size=400),
    )


# --- Emails ------------------------------------------------------------------

_ATOM = string.ascii_letters + string.digits + "_+-" + "éèçàüö"
_TLDS = ["fr", "com", "org", "net", "eu", "de", "be", "bzh", "paris", "io"]


@st.composite
def emails(draw: st.DrawFn) -> str:
    """A valid address: a dot-atom local part, then a hostname under a real TLD."""
    local = ".".join(
        draw(st.lists(st.text(_ATOM, min_size=1, max_size=10), min_size=1, max_size=3))
    )
    label = st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,10})?", fullmatch=True)
    hosts = draw(st.lists(label, min_size=1, max_size=2))
    return f"{local}@{'.'.join(hosts)}.{draw(st.sampled_from(_TLDS))}"


# --- Postal addresses --------------------------------------------------------

OVERSEAS_PREFIXES = {
    "971": "GP",
    "972": "MQ",
    "973": "GF",
    "974": "RE",
    "976": "YT",
    "984": "TF",
    "986": "WF",
    "987": "PF",
    "988": "NC",
}
"""La Poste's overseas postal-code prefixes and the territory of each."""

OVERSEAS_CODES = {"97133": "BL", "97150": "MF", "97500": "PM"}
"""Overseas territories with one La Poste postal code, which wins over its prefix."""

FOREIGN_COUNTRIES = ["BE", "DE", "CH", "ES", "IT", "GB", "US", "CA", "LU", "JP"]


def metropolitan_postal_codes() -> st.SearchStrategy[str]:
    """A metropolitan postal code: department 01-95, then three digits."""
    departments = st.integers(1, 95).map(lambda n: f"{n:02d}")
    return st.builds(str.__add__, departments, _digits(3))


def overseas_postal_codes() -> st.SearchStrategy[str]:
    """An overseas postal code (97x, 98x), as La Poste allocates them."""
    return st.one_of(
        st.builds(str.__add__, st.sampled_from(sorted(OVERSEAS_PREFIXES)), _digits(2)),
        st.sampled_from(sorted(OVERSEAS_CODES)),
    )


@st.composite
def domestic_addresses(draw: st.DrawFn) -> AddressForm:
    """An address in France or its overseas territories: up to 4 street lines."""
    code = draw(st.one_of(metropolitan_postal_codes(), overseas_postal_codes()))
    territory = OVERSEAS_CODES.get(code) or OVERSEAS_PREFIXES.get(code[:3], "FR")
    country = draw(st.sampled_from(sorted({"FR", territory})))
    return AddressForm(
        draw(st.lists(street_lines(), min_size=1, max_size=4)),
        code,
        draw(cities(max_length=38 - len(code) - 1)),
        draw(st.sampled_from([country, country.lower(), f" {country} "])),
    )


@st.composite
def foreign_addresses(draw: st.DrawFn) -> AddressForm:
    """An address abroad: up to 3 street lines, since the country takes a line."""
    code = draw(st.from_regex(r"[A-Z0-9]{1,4}( ?[A-Z0-9]{1,4})?", fullmatch=True))
    return AddressForm(
        draw(st.lists(street_lines(), min_size=1, max_size=3)),
        code,
        draw(cities(max_length=38 - len(code) - 1)),
        draw(st.sampled_from(FOREIGN_COUNTRIES)),
    )


def address_forms() -> st.SearchStrategy[AddressForm]:
    """Any valid postal address, as typed in a form."""
    return st.one_of(domestic_addresses(), foreign_addresses())


# --- Forms -------------------------------------------------------------------

PASSPHRASE = "tortue violette sous la pluie"
"""A password no generated name, email or organisation can be built on."""


def delivery_forms() -> st.SearchStrategy[DeliveryForm]:
    """A valid delivery address form: contact name, address, optional label."""
    return st.builds(
        DeliveryForm,
        contact_name=names(),
        address=address_forms(),
        label=st.sampled_from(["", "Bureau", "Maison", "Entrepôt n° 2"]),
    )


@st.composite
def chorus_fields(draw: st.DrawFn) -> dict[str, str]:
    """Chorus Pro fields that meet the requirement they state."""
    requirement = draw(st.sampled_from(list(ChorusRequirement)))
    service = draw(st.from_regex(r"[A-Z0-9-]{1,20}", fullmatch=True))
    engagement = draw(st.from_regex(r"[A-Z0-9-]{1,20}", fullmatch=True))
    given = {
        ChorusRequirement.NONE: ("", ""),
        ChorusRequirement.SERVICE: (service, ""),
        ChorusRequirement.ENGAGEMENT: ("", engagement),
        ChorusRequirement.BOTH: (service, engagement),
        ChorusRequirement.EITHER: draw(
            st.sampled_from([(service, ""), ("", engagement), (service, engagement)])
        ),
    }[requirement]
    return {
        "chorus_requirement": requirement.value,
        "chorus_service_code": given[0],
        "chorus_engagement_number": given[1],
    }


@st.composite
def registration_forms(
    draw: st.DrawFn, category: Category | None = None
) -> RegistrationForm:
    """A valid full registration form, of *category* or of any category."""
    if category is None:
        category = draw(st.sampled_from(list(Category)))
    fields: dict[str, object] = {
        "category": draw(st.sampled_from([category.value, category.label_fr])),
        "email": draw(emails()),
        "phone": draw(french_mobile_writings())[0],
        "name": draw(names()),
        "password": PASSPHRASE,
        "billing_address": draw(address_forms()),
        "delivery_addresses": draw(st.lists(delivery_forms(), min_size=1, max_size=3)),
        "language": draw(st.sampled_from(["fr", "en", ""])),
    }
    if category.needs_organisation:
        fields["organisation_name"] = draw(names())
        fields["siret"] = draw(sirets().flatmap(siret_writings))
    if category is Category.PUBLIC_BODY:
        fields.update(draw(chorus_fields()))
    return RegistrationForm(**fields)


# --- Oversized input (SPEC F9) ------------------------------------------------


def huge_texts() -> st.SearchStrategy[str]:
    """Text far beyond any field's size (up to about a megabyte), any code point."""
    return st.builds(
        str.__mul__,
        st.text(st.characters(exclude_categories=()), min_size=1, max_size=4),
        st.integers(1_000, 250_000),
    )


def street_line_lists() -> st.SearchStrategy[list[str]]:
    """Any list of street lines: short or huge lines, few or 100,000 of them."""
    return st.one_of(
        st.lists(arbitrary_text(), max_size=6),
        st.lists(st.one_of(arbitrary_text(), huge_texts()), min_size=1, max_size=6),
        st.builds(
            lambda line, count: [line] * count,
            st.one_of(arbitrary_text(max_size=40), huge_texts()),
            st.integers(5, 100_000),
        ),
    )


# --- Internationalised emails (SPEC F1) ----------------------------------------

_IDN_LETTERS = string.ascii_lowercase + string.digits + "éèçàüößøñσςж"
IDNA_DEVIATIONS = [("ß", "ss"), ("ς", "σ")]
"""Letters IDNA 2008 keeps apart although case folding merges them (UTS 46)."""
COMPATIBILITY_CHARACTERS = (
    [chr(c) for c in range(0xFF21, 0xFF3B)]  # full-width A-Z
    + [chr(c) for c in range(0xFF41, 0xFF5B)]  # full-width a-z
    + [chr(c) for c in range(0xFF10, 0xFF1A)]  # full-width digits
    + ["ﬀ", "ﬁ", "ﬂ", "ﬃ", "ﬄ", "ª", "º", "²", "Ⅸ"]  # ligatures, super-, numerals
)
"""Characters NFKC rewrites into ordinary ones."""


def _idn_label() -> st.SearchStrategy[str]:
    return st.text(_IDN_LETTERS, min_size=1, max_size=10)


def _local_parts() -> st.SearchStrategy[str]:
    atoms = st.lists(st.text(_ATOM, min_size=1, max_size=10), min_size=1, max_size=3)
    return atoms.map(".".join)


@st.composite
def idn_emails(draw: st.DrawFn) -> str:
    """A valid address whose domain labels may hold IDNA letters (ß, ς, é, ж…)."""
    hosts = draw(st.lists(_idn_label(), min_size=1, max_size=2))
    tld = draw(st.sampled_from(_TLDS))
    return f"{draw(_local_parts())}@{'.'.join(hosts)}.{tld}"


@st.composite
def idna_deviation_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """Two addresses whose domains differ only by ``ß``/``ss`` or ``ς``/``σ``."""
    letter, folded = draw(st.sampled_from(IDNA_DEVIATIONS))
    before = draw(st.text(_IDN_LETTERS, max_size=5))
    after = draw(st.text(_IDN_LETTERS, max_size=5))
    local, tld = draw(_local_parts()), draw(st.sampled_from(_TLDS))
    return (
        f"{local}@{before}{letter}{after}.{tld}",
        f"{local}@{before}{folded}{after}.{tld}",
    )


def case_variants(value: str) -> st.SearchStrategy[str]:
    """*value* with any of its letters in upper case, where lower case maps back.

    ``ß`` (upper case ``SS``) and ``ς`` (upper case ``Σ``, lower case ``σ``)
    stay as they are: their upper case is another IDNA domain.
    """
    flippable = [
        i
        for i, c in enumerate(value)
        if len(c.upper()) == 1 and c.upper() != c and c.upper().lower() == c
    ]
    if not flippable:
        return st.just(value)
    return st.sets(st.sampled_from(flippable)).map(
        lambda upper: "".join(
            c.upper() if i in upper else c for i, c in enumerate(value)
        )
    )


@st.composite
def compatibility_local_parts(draw: st.DrawFn) -> str:
    """A valid address but for a full-width letter or ligature in its local part."""
    local = draw(st.text(string.ascii_lowercase, min_size=1, max_size=10))
    at = draw(st.integers(0, len(local)))
    odd = draw(st.sampled_from(COMPATIBILITY_CHARACTERS))
    domain = draw(st.sampled_from(["exemple.fr", "straße.de", "ｅｘｅｍｐｌｅ.fr"]))
    return f"{local[:at]}{odd}{local[at:]}@{domain}"


# --- Phone numbers of the French territories (SPEC F2) -----------------------

FRENCH_TERRITORIES = (
    "FR",
    "RE",
    "GP",
    "MQ",
    "GF",
    "YT",
    "PM",
    "BL",
    "MF",
    "NC",
    "PF",
    "WF",
)
"""France and its overseas regions with a numbering plan of their own."""

_NUMBER_RANGES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)
"""The number types of phonenumbers' metadata, each with its own pattern."""


@st.composite
def territory_numbers(draw: st.DrawFn) -> tuple[str, phonenumbers.PhoneNumber]:
    """A valid number of a French territory, and that territory.

    The digits are drawn from the pattern of one of the region's number
    ranges in *phonenumbers*' metadata (the ARCEP and overseas plans it
    transcribes), and kept when *phonenumbers* says the number is valid in
    that region.
    """
    region = draw(st.sampled_from(FRENCH_TERRITORIES))
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    patterns = [
        desc.national_number_pattern
        for name in _NUMBER_RANGES
        if (desc := getattr(metadata, name)) is not None
        and desc.national_number_pattern
    ]
    pattern = re.compile(draw(st.sampled_from(patterns)), re.ASCII)
    significant = draw(st.from_regex(pattern, fullmatch=True))
    number = phonenumbers.parse(f"+{metadata.country_code}{significant}")
    if not phonenumbers.is_valid_number_for_region(number, region):
        return draw(st.nothing())
    return region, number


# --- Analytics: identifiers in URLs, IPv4 addresses inside IPv6 ----------------

_UNRESERVED = string.ascii_letters + string.digits + "-._~"
_AT_LOOK_ALIKES = ["@", "\uff20", "\ufe6b"]  # @, full-width ＠, small ﹫


def percent_encode(text: str, *, every_byte: bool = False) -> str:
    """Percent-encode *text* once (RFC 3986): all but unreserved, or every byte."""
    return "".join(
        char
        if char in _UNRESERVED and not every_byte
        else "".join(f"%{byte:02X}" for byte in char.encode())
        for char in text
    )


def full_width(text: str, chars: str) -> str:
    """Return *text* with each ASCII character of *chars* in its full-width form."""
    return "".join(chr(ord(c) + 0xFEE0) if c in chars else c for c in text)


@st.composite
def url_spellings(draw: st.DrawFn, text: str) -> str:
    """*text* as it may reach a URL's path (SPEC N2).

    Its ``@`` possibly a look-alike (full-width ``＠``, small ``﹫``), its
    digits possibly full-width, then percent-encoded 0 to 3 times, each time
    either the reserved characters only or every byte.
    """
    spelled = text.replace("@", draw(st.sampled_from(_AT_LOOK_ALIKES)))
    if draw(st.booleans()):
        spelled = full_width(spelled, string.digits)
    for _ in range(draw(st.integers(0, 3))):
        spelled = percent_encode(spelled, every_byte=draw(st.booleans()))
    return spelled


@st.composite
def uuid_writings(draw: st.DrawFn) -> tuple[str, str]:
    """A UUID as URLs carry it (RFC 9562 layout) and its 32 hex digits.

    Lower or upper case, with or without hyphens, possibly in braces.
    """
    digits = f"{draw(st.integers(0, 2**128 - 1)):032x}"
    groups = [digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:]]
    written = draw(st.sampled_from(["-", ""])).join(groups)
    if draw(st.booleans()):
        written = written.upper()
    if draw(st.booleans()):
        written = "{" + written + "}"
    return written, digits


@st.composite
def long_number_writings(draw: st.DrawFn) -> tuple[str, str]:
    """A long number (order, card, customer number) as written, and its digits.

    Either five digits or more in one run, or eight or more in groups of two
    to four apart by a space, a dot or a dash.
    """
    if draw(st.booleans()):
        digits = draw(st.text(string.digits, min_size=5, max_size=20))
        return digits, digits
    groups = draw(
        st.lists(
            st.text(string.digits, min_size=2, max_size=4), min_size=4, max_size=6
        ).filter(lambda g: len("".join(g)) <= 20)
    )
    return draw(st.sampled_from(" .-")).join(groups), "".join(groups)


def ipv4_text(value: int) -> str:
    """The dotted-quad text of the IPv4 address *value* (RFC 791)."""
    return ".".join(str(value >> shift & 0xFF) for shift in (24, 16, 8, 0))


def ipv6_text(value: int) -> str:
    """The uncompressed text of the IPv6 address *value* (RFC 4291)."""
    return ":".join(f"{value >> (112 - 16 * i) & 0xFFFF:x}" for i in range(8))


@st.composite
def ipv4_in_ipv6(draw: st.DrawFn) -> tuple[str, list[str]]:
    """An IPv4 address and every IPv6 address that carries it.

    IPv4-mapped (RFC 4291), 6to4 (RFC 3056, any subnet and interface),
    Teredo (RFC 4380: the client's address inverted, any server, flags and
    port), NAT64's well-known prefix (RFC 6052), IPv4-translated (RFC 2765)
    and IPv4-compatible (RFC 4291, deprecated; not for 0.0.0.0 and 0.0.0.1,
    which are ``::`` and ``::1``), with and without a dotted-quad tail.
    """
    v4 = draw(st.integers(0, 2**32 - 1))
    dotted = ipv4_text(v4)
    low80 = draw(st.integers(0, 2**80 - 1))
    server = draw(st.integers(0, 2**32 - 1))
    flags_port = draw(st.integers(0, 2**32 - 1))
    carriers = [
        f"::ffff:{dotted}",
        ipv6_text(0xFFFF << 32 | v4),
        ipv6_text(0x2002 << 112 | v4 << 80 | low80),
        ipv6_text(0x2001 << 112 | server << 64 | flags_port << 32 | v4 ^ 0xFFFFFFFF),
        f"64:ff9b::{dotted}",
        ipv6_text(0x64FF9B << 96 | v4),
        f"::ffff:0:{dotted}",
    ]
    if v4 > 1:
        carriers += [f"::{dotted}", ipv6_text(v4)]
    return dotted, carriers


# --- Hostile input at the entry points (SPEC F8, F9) ---------------------------


def lone_surrogates() -> st.SearchStrategy[str]:
    """One code point of U+D800–U+DFFF: JSON carries them, UTF-8 cannot."""
    return st.characters(categories=["Cs"])


def hostile_text() -> st.SearchStrategy[str]:
    """Text a hostile client sends: any code point, lone surrogates, long runs."""
    return st.one_of(
        arbitrary_text(),
        st.builds(
            lambda before, surrogate, after: before + surrogate + after,
            st.text(max_size=20),
            lone_surrogates(),
            st.text(max_size=20),
        ),
        st.builds(
            str.__mul__,
            st.sampled_from(["x", " ", "\ud800", "\udfff", "é", "ﬁ", "\n", "0", "@"]),
            st.integers(1, 20_000),
        ),
    )


def spliced(valid: str) -> st.SearchStrategy[str]:
    """*valid* with hostile text inserted at some place, or hostile text alone.

    A value that is valid but for one character reaches deeper than noise.
    """
    return st.one_of(
        hostile_text(),
        st.builds(
            lambda at, junk: valid[:at] + junk + valid[at:],
            st.integers(0, len(valid)),
            st.one_of(lone_surrogates(), arbitrary_text(max_size=5)),
        ),
    )


# -- client keys (SPEC P4) ---------------------------------------------------------


_SPACE = st.sampled_from(["", " ", "  ", "\t", "\n", " \t"])


def _padded(draw: st.DrawFn, text: str) -> str:
    """Return *text* with white space around it, as a header may carry it."""
    return draw(_SPACE) + text + draw(_SPACE)


def _case(draw: st.DrawFn, text: str) -> str:
    """Return *text* with its letters' case changed at random."""
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    pairs = zip(text, flips, strict=True)
    return "".join(c.upper() if flip else c.lower() for c, flip in pairs)


def _hex_groups(groups: list[int], draw: st.DrawFn) -> str:
    """Return eight IPv6 groups written long, short or compressed."""
    style = draw(st.sampled_from(["long", "short", "compressed"]))
    if style == "long":
        return ":".join(f"{g:04x}" for g in groups)
    if style == "short":
        return ":".join(f"{g:x}" for g in groups)
    return str(ipaddress.IPv6Address(int.from_bytes(
        b"".join(g.to_bytes(2, "big") for g in groups), "big"
    )))  # fmt: skip


ipv4_addresses = st.builds(
    ipaddress.IPv4Address, st.integers(min_value=0, max_value=2**32 - 1)
)
"""Any IPv4 address."""


@st.composite
def ipv4_writings(draw: st.DrawFn, address: ipaddress.IPv4Address) -> str:
    """Return one way of writing *address*: dotted, or IPv4-mapped IPv6 forms."""
    high, low = int(address) >> 16, int(address) & 0xFFFF
    groups = [0, 0, 0, 0, 0, 0xFFFF, high, low]
    form = draw(st.sampled_from(["dotted", "mapped", "mapped-hex", "mapped-long"]))
    if form == "dotted":
        text = str(address)
    elif form == "mapped":
        prefix = draw(st.sampled_from(["::ffff:", "0:0:0:0:0:ffff:", "::0:ffff:"]))
        text = prefix + str(address)
    elif form == "mapped-hex":
        text = f"::ffff:{high:x}:{low:x}"
    else:
        text = _hex_groups(groups, draw)
    text = _case(draw, text)
    if draw(st.booleans()) and ":" in text:
        text = f"[{text}]"
    return _padded(draw, text)


def _carries_no_ipv4(prefix: int) -> bool:
    """Whether the /64 *prefix* is outside the blocks that carry IPv4 addresses.

    ``::/64`` (mapped, translated, compatible), ``64:ff9b::/64`` (NAT64),
    ``2002::/16`` (6to4) and ``2001::/32`` (Teredo).
    """
    return (
        prefix not in {0, 0x0064_FF9B_0000_0000}
        and prefix >> 48 != 0x2002
        and prefix >> 32 != 0x2001_0000
    )


ipv6_networks = st.integers(min_value=0, max_value=2**64 - 1).filter(_carries_no_ipv4)
"""The upper 64 bits of an IPv6 /64 network whose addresses carry no IPv4."""


@st.composite
def ipv6_writings(draw: st.DrawFn, network: int) -> str:
    """Return one way of writing some address of the /64 *network*."""
    interface = draw(st.integers(min_value=0, max_value=2**64 - 1))
    value = network << 64 | interface
    groups = [(value >> (16 * (7 - i))) & 0xFFFF for i in range(8)]
    text = _case(draw, _hex_groups(groups, draw))
    if draw(st.booleans()):
        text = f"[{text}]"
    return _padded(draw, text)


# --- street lines of other shops (AFNOR NF Z10-011 roles) ---------------------

ROLE_STARTS = {
    2: ["Chez", "chez", "Service", "c/o"],
    3: ["Bâtiment", "Bât", "Résidence", "Entrée", "Escalier", "Appartement", "Étage"],
    5: ["Lieu-dit", "BP", "CS", "ZI", "ZAC"],
}
"""Words that start each role but the street's, by the norm's line number."""
STREET_TYPES = ["rue", "avenue", "Boulevard", "place", "chemin", "impasse", "allée"]
"""Street types that follow a number to start the street's role (line 4)."""
_KEYWORDS = {
    "".join(c for c in w.upper() if c.isascii())
    for words in (*ROLE_STARTS.values(), STREET_TYPES)
    for w in words
}
_NOT_PLAIN = _KEYWORDS | {
    "CHEZ", "SERVICE", "ATTN", "ATT", "BAT", "RES", "IMM", "IMMEUBLE", "ENT", "ENTREE",
    "ESC", "ETAGE", "ETG", "APPT", "APT", "APP", "PORTE", "TOUR", "BLOC", "COULOIR",
    "PAVILLON", "LIEUDIT", "LD", "TSA", "ZA", "ZONE", "BIS", "TER", "QUATER", "RUE",
    "QUAI", "COURS", "CITE", "ESPLANADE", "PARVIS", "SENTIER", "VOIE", "ALLEE",
    "CARREFOUR", "CHAUSSEE", "FAUBOURG", "LOTISSEMENT", "MONTEE", "PASSAGE",
    "PROMENADE", "QUARTIER", "ROUTE", "RUELLE", "SQUARE", "TRAVERSE", "VILLA",
    "RESIDENCE", "BATIMENT", "APPARTEMENT", "ESCALIER",
}  # fmt: skip


def _plain(word: str) -> bool:
    import unicodedata  # noqa: PLC0415

    folded = unicodedata.normalize("NFKD", word.upper())
    return "".join(c for c in folded if c.isascii()) not in _NOT_PLAIN


PLAIN_WORDS = st.text(alphabet=LETTERS, min_size=1, max_size=14).filter(_plain)
"""Words that start no role: the names of streets, buildings, places."""


@st.composite
def role_pieces(draw: st.DrawFn) -> tuple[int, list[str]]:
    """Return one role's piece of an address: its line number and its words."""
    role = draw(st.sampled_from([2, 3, 4, 5]))
    rest = draw(st.lists(PLAIN_WORDS, min_size=1, max_size=5))
    if role == 4:
        number = str(draw(st.integers(1, 999)))
        return role, [number, draw(st.sampled_from(STREET_TYPES)), *rest]
    return role, [draw(st.sampled_from(ROLE_STARTS[role])), *rest]


@st.composite
def shop_street_fields(draw: st.DrawFn) -> tuple[list[tuple[int, list[str]]], str, str]:
    """Return role pieces, and the two street fields another shop kept of them."""
    pieces = draw(st.lists(role_pieces(), min_size=1, max_size=5))
    words = [w for _, piece in pieces for w in piece]
    cut = draw(st.integers(0, len(pieces)))
    first = " ".join(w for _, p in pieces[:cut] for w in p)
    second = " ".join(w for _, p in pieces[cut:] for w in p)
    assert words
    return pieces, first, second
