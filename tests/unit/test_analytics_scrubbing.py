"""Scrubbing of URLs, referrers and IP addresses before analytics store them.

SPEC N2 (amended): identifiers in all their spellings, IPv4 addresses inside
IPv6 ones; SPEC F9: size before work, lone surrogates never an exception.
"""

from __future__ import annotations

import ipaddress
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import IpPolicy, ValidationError, VisitorId
from echoppe_accounts.domain.analytics import (
    MAX_URL_LENGTH,
    PATH_LENGTH,
    embedded_ipv4,
    mask_ip,
    opted_out,
    reduce_user_agent,
    referrer_host,
    scrub_path,
)
from strategies import (
    arbitrary_text,
    emails,
    french_mobile_writings,
    ipv4_in_ipv6,
    long_number_writings,
    outcome,
    url_spellings,
    uuid_writings,
)

MASKS = [IpPolicy.MASK_2_BYTES, IpPolicy.MASK_3_BYTES]
UUID = "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
HUGE = 10_000_000
KEPT_BYTES = {
    (4, IpPolicy.MASK_2_BYTES): 2,
    (4, IpPolicy.MASK_3_BYTES): 1,
    (6, IpPolicy.MASK_2_BYTES): 6,
    (6, IpPolicy.MASK_3_BYTES): 4,
}
"""Bytes an address keeps under each policy (SPEC N2, Matomo's levels)."""


class UnreadText(str):
    """A string whose methods all fail: only ``len()`` and slicing work.

    A function given one proves that it measures and cuts its raw input
    before doing any work on it (SPEC F9), without timing anything.
    """

    __slots__ = ()

    def __getattribute__(self, name: str) -> object:
        msg = f"str.{name} used on raw input past its size cap"
        raise AssertionError(msg)


# --- Paths: identifiers in every spelling (N2) ----------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/compte/jean.dupont\uff20exemple.fr/commandes",  # full-width ＠
        "/compte/jean.dupont\ufe6bexemple.fr/commandes",  # small ﹫
        "/compte/jean.dupont%40exemple.fr/commandes",
        "/compte/jean.dupont%2540exemple.fr/commandes",
        "/compte/jean.dupont%252540exemple.fr/commandes",
        "/compte/jean.dupont%EF%BC%A0exemple.fr/commandes",  # ＠, percent-encoded
        "/compte/jean.dupont%u0040exemple.fr/commandes",  # IIS's %u escape
        "/compte/jean.dupont%26%2364%3Bexemple.fr/commandes",  # &#64;, encoded
        "/compte/jean.dupont(at)exemple.fr/commandes",
        "/compte/jean.dupont [at] exemple.fr/commandes",
        "/compte/06.12.34.56.78/commandes",
        "/compte/06 12 34 56 78/commandes",
        "/compte/06%2012%2034%2056%2078/commandes",
        "/compte/+33 6 12 34 56 78/commandes",
        "/compte/+33 (0)6 12-34-56-78/commandes",
        "/compte/0033612345678/commandes",
        "/compte/\uff10\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18/commandes",
        f"/compte/{UUID}/commandes",
        f"/compte/{UUID.upper().replace('-', '')}/commandes",
        "/compte/abcdefab-cdef-abcd-efab-cdefabcdefab/commandes",  # no digit at all
        "/compte/client-1234-5678/commandes",
        "/compte/mQpXzRtKwLbNvHyJ/commandes",  # a digit-free random token
    ],
)
def test_identifier_spellings_become_id(url):
    """N2: an email, phone or UUID is scrubbed however it is spelled."""
    assert scrub_path(url) == "/compte/:id/commandes"


@pytest.mark.parametrize(
    ("url", "scrubbed"),
    [
        (f"/commande;id={UUID}/suivi", "/commande/suivi"),
        (f"/commande%3Bid%3D{UUID}/suivi", "/commande/suivi"),
        ("/produits;jsessionid=ABC;couleur=rouge/chaussures", "/produits/chaussures"),
        ("/compte;email=jean@exemple.fr", "/compte"),
        ("/;id=1/commandes", "//commandes"),
    ],
)
def test_matrix_parameters_are_dropped(url, scrubbed):
    """N2: matrix parameters (``;name=value``) never reach the stored path."""
    assert scrub_path(url) == scrubbed


@pytest.mark.parametrize(
    "url",
    [
        "/produits/caf%C3%A9-cr%C3%A8me/taille-42",
        "/blog/2024/01/15/soldes-d-hiver",
        "/aide/livraison",
        "/",
    ],
)
def test_ordinary_paths_are_kept(url):
    """N2: a path with nothing personal in it is kept as written."""
    assert scrub_path(url) == url


def test_encoding_that_never_settles_is_scrubbed():
    """N2: a segment still percent-encoded after the decoding bound is ``:id``."""
    assert scrub_path("/compte/" + "%25" * 9 + "40") == "/compte/:id"


def test_a_decoded_slash_stays_inside_its_segment():
    """N2: ``%2F`` decodes inside its segment and is encoded again when kept."""
    assert scrub_path("/aide/livraison%2Fretours") == "/aide/livraison%2Fretours"


# --- Referrers: the host only, and only a name (N2) ------------------------------


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        ("https://jean.dupont@exemple.fr@www.google.com/?q=x", "www.google.com"),
        ("https://jean.dupont:secret@www.qwant.com/", "www.qwant.com"),
        ("https://jean.dupont%40exemple.fr/", None),
        ("https://jean.dupont\uff20exemple.fr/", None),
        ("https://203.0.113.7/page", None),
        ("https://[2001:db8::1]/page", None),
        ("https://06.12.34.56.78.exemple.fr/", None),
        ("https://client-0612345678.exemple.fr/", None),
        (f"https://{UUID}.exemple.fr/", None),
        ("https://www2.lechoppe.fr/panier", "www2.lechoppe.fr"),
    ],
)
def test_referrer_hosts_carry_no_identifier(referrer, host):
    """N2: a referrer keeps a host name, never user info, an IP or an identifier."""
    assert referrer_host(referrer) == host


# --- IPv4 addresses inside IPv6 ones (N2) ----------------------------------------


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:203.0.113.77", "203.0.113.77"),
        ("2002:cb00:714d::1", "203.0.113.77"),
        ("2002:cb00:714d:1234:5678:9abc:def0:1", "203.0.113.77"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"),  # RFC 4380's example
        ("64:ff9b::192.0.2.33", "192.0.2.33"),  # RFC 6052's example
        ("64:ff9b::cb00:714d", "203.0.113.77"),
        ("::ffff:0:203.0.113.77", "203.0.113.77"),
        ("::203.0.113.77", "203.0.113.77"),
        ("::", None),
        ("::1", None),
        ("64:ff9b:1::cb00:714d", None),
        ("2001:db8:1234:5678:0:5efe:203.0.113.77", None),
    ],
)
def test_embedded_ipv4_is_found(address, carried):
    """N2: the IPv4 address an IPv6 address carries, by RFC layout."""
    found = embedded_ipv4(ipaddress.IPv6Address(address))
    assert (None if found is None else str(found)) == carried


@pytest.mark.parametrize(
    ("address", "two_bytes", "three_bytes"),
    [
        ("2002:cb00:714d::1", "203.0.0.0", "203.0.0.0"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.0.0", "192.0.0.0"),
        ("64:ff9b::c633:6407", "198.51.0.0", "198.0.0.0"),
        ("::198.51.100.7", "198.51.0.0", "198.0.0.0"),
        # NAT64 local use: wherever the operator put the IPv4, a /48 drops it.
        ("64:ff9b:1:c633:6407::", "64:ff9b:1::", "64:ff9b::"),
        # ISATAP: the IPv4 address is in the interface id, masked with it.
        ("2001:db8:1234:5678:0:5efe:198.51.100.7", "2001:db8:1234::", "2001:db8::"),
        ("2001:db8:1234:5678:200:5efe:198.51.100.7", "2001:db8:1234::", "2001:db8::"),
    ],
)
def test_ipv6_carrying_ipv4_is_masked_as_that_ipv4(address, two_bytes, three_bytes):
    """N2: 6to4, Teredo, NAT64 and IPv4-compatible addresses keep no more of it."""
    assert mask_ip(address, keep=IpPolicy.MASK_2_BYTES) == two_bytes
    assert mask_ip(address, keep=IpPolicy.MASK_3_BYTES) == three_bytes


@given(data=ipv4_in_ipv6())
def test_every_ipv6_carrier_masks_like_its_ipv4(data):
    """N2: for any IPv4, every IPv6 embedding of it masks to the masked IPv4."""
    dotted, carriers = data
    for policy in MASKS:
        expected = mask_ip(dotted, keep=policy)
        kept = 4 - policy.value
        assert expected == ".".join(dotted.split(".")[:kept] + ["0"] * policy.value)
        for carrier in carriers:
            assert mask_ip(carrier, keep=policy) == expected, carrier


@given(address=st.ip_addresses(v=6), policy=st.sampled_from(MASKS))
def test_masked_ipv6_keeps_at_most_48_bits(address, policy):
    """N2: an IPv6 keeps 48 bits at most (32 at level 3), an IPv4 it carries 16 (8)."""
    masked = ipaddress.ip_address(mask_ip(str(address), keep=policy) or "")
    kept = KEPT_BYTES[masked.version, policy]
    assert masked.packed[kept:] == bytes(len(masked.packed) - kept)


# --- Properties: no trace of an identifier, whatever its spelling (N2) -----------

# Each context holds one identifier spelled some way; the digit-free skeleton
# is what must be left of it.
CONTEXTS = [
    ("/compte/{}/commandes", "/compte/:id/commandes"),
    ("https://www.lechoppe.fr/compte/{}?jeton=x#haut", "/compte/:id"),
    ("/commande;id={}/suivi", "/commande/suivi"),
    ("/commande%3Bid%3D{}/suivi", "/commande/suivi"),
    ("/fiche-{}-client/adresse", "/:id/adresse"),
]


def windows(text: str, size: int) -> set[str]:
    """Every run of *size* consecutive characters of *text* (or *text* if shorter)."""
    if len(text) <= size:
        return {text}
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def digits_of(text: str) -> str:
    """The ASCII digits of *text*, in order."""
    return re.sub(r"[^0-9]", "", text)


@st.composite
def hidden_identifiers(draw):
    """An identifier, its spelling in a URL, and the traces it must not leave."""
    kind = draw(st.sampled_from(["email", "phone", "uuid", "number"]))
    if kind == "email":
        written = draw(emails())
        local = written.rsplit("@", 1)[0].lower()
        traces = {local} if len(local) >= 3 else set()
        digit_traces: set[str] = set()
    elif kind == "phone":
        written, e164 = draw(french_mobile_writings())
        traces, digit_traces = set(), windows(e164[3:], 6)
    elif kind == "uuid":
        written, hex_digits = draw(uuid_writings())
        traces, digit_traces = windows(hex_digits, 8), set()
    else:
        written, number = draw(long_number_writings())
        traces, digit_traces = set(), windows(number, 6)
    return draw(url_spellings(written.strip())), traces, digit_traces


@given(hidden=hidden_identifiers(), context=st.sampled_from(CONTEXTS))
def test_no_trace_of_an_identifier_in_any_spelling(hidden, context):
    """N2: emails, phones, UUIDs and long numbers leave no trace in the path.

    Spellings: percent-encoded 0 to 3 times, full-width ``＠`` and digits,
    phones dotted, dashed or spaced, in a segment, inside one or in a
    matrix parameter.
    """
    spelled, traces, digit_traces = hidden
    template, skeleton = context
    scrubbed = scrub_path(template.format(spelled))
    assert scrubbed == skeleton
    for trace in traces - {t for t in traces if t in skeleton}:
        assert trace not in scrubbed.lower()
    for trace in digit_traces:
        assert trace not in digits_of(scrubbed)


# --- Size before work and unreadable text (F9) -----------------------------------


def test_raw_inputs_are_measured_before_any_work():
    """F9: a 10 MB URL, referrer, IP, user agent, header or cookie is only cut."""
    huge = UnreadText("x" * HUGE)
    assert scrub_path(huge) == "/:id"
    assert referrer_host(huge) is None
    assert mask_ip(huge, keep=IpPolicy.MASK_2_BYTES) is None
    assert reduce_user_agent(huge).browser == "Other"
    assert not opted_out({huge: huge}, browser_opt_out=False, account_opt_out=False)
    with pytest.raises(ValidationError):
        VisitorId.parse(huge)


def test_a_url_cut_in_its_path_loses_the_cut_segment():
    """F9, N2: past the cap nothing is read, and the segment cut in two is ``:id``."""
    url = "/compte/" + "jean.dupont" * MAX_URL_LENGTH + "@exemple.fr/commandes"
    assert scrub_path(url) == "/compte/:id"


def test_a_url_cut_in_its_query_keeps_its_path():
    """F9: when the cap falls in the query string, the whole path was read."""
    url = "/aide/livraison?q=" + "x" * HUGE
    assert scrub_path(url) == "/aide/livraison"


@pytest.mark.parametrize(
    ("url", "scrubbed"),
    [
        ("/a\ud800b/commandes", "/ab/commandes"),
        ("/compte/jean\udfff@exemple.fr", "/compte/:id"),
        ("/compte/06\ud83d12345678", "/compte/:id"),
        ("\ud800", "/"),
    ],
)
def test_lone_surrogates_are_dropped_from_paths(url, scrubbed):
    """F9: a lone surrogate is dropped, never an exception or a stored character."""
    assert scrub_path(url) == scrubbed


def test_lone_surrogates_elsewhere_give_nothing_or_library_errors():
    """F9: surrogates elsewhere are dropped or refused, never an exception."""
    assert referrer_host("https://www.google\ud800.com/") == "www.google.com"
    assert mask_ip("203.0.113.\ud800", keep=IpPolicy.MASK_2_BYTES) is None
    assert reduce_user_agent("Firefox/\ud800125").browser == "Other"
    assert not opted_out(
        {"DNT\ud800": "1"}, browser_opt_out=False, account_opt_out=False
    )
    with pytest.raises(ValidationError):
        VisitorId.parse("v1.20260101.abcdefghijklmnop\ud800")


@given(text=arbitrary_text(), policy=st.sampled_from(list(IpPolicy)))
def test_arbitrary_text_gives_only_library_errors(text, policy):
    """F9: any text to any public analytics function raises only ValidationError."""
    path = scrub_path(text)
    assert path.startswith("/")
    assert path.isascii()
    assert len(path) <= PATH_LENGTH
    host = referrer_host(text)
    assert host is None or (host.isascii() and host == host.lower())
    masked = mask_ip(text, keep=policy)
    assert masked is None or ipaddress.ip_address(masked)
    assert reduce_user_agent(text).device in {"bot", "tablet", "mobile", "desktop"}
    opted_out({text: text}, browser_opt_out=False, account_opt_out=False)
    visitor, _ = outcome(VisitorId.parse, text)
    assert visitor is None or visitor.value.isascii()


@given(text=st.text(string.printable + "\uff20\ufe6b%", max_size=120))
def test_scrubbing_twice_changes_nothing(text):
    """N2: a scrubbed path is already clean, so scrubbing it again keeps it."""
    once = scrub_path(text)
    assert scrub_path(once) == once
