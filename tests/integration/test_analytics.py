"""Anonymised analytics with opt-out, on the memory and SQLite sinks (SPEC N1–N5)."""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from echoppe_accounts import (
    AnalyticsService,
    Hit,
    InMemoryAnalyticsSink,
    IpPolicy,
    Purpose,
    RetentionPolicy,
    SQLiteAnalyticsSink,
    SystemSecrets,
    reminder_due,
)
from echoppe_accounts.testing import FrozenClock
from strategies import arbitrary_text, ipv4_in_ipv6

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
EMAIL = re.compile(r"[^\s/@]+@[^\s/@]+")


@pytest.fixture(params=["memory", "sqlite"])
def sink(request, tmp_path):
    """Each analytics sink."""
    if request.param == "memory":
        return InMemoryAnalyticsSink()
    return SQLiteAnalyticsSink(tmp_path / "analytics.sqlite3")


def service(sink, clock=None, ip_policy=IpPolicy.DROP):
    """The analytics use cases over *sink*."""
    return AnalyticsService(sink, clock or FrozenClock(), SystemSecrets(), ip_policy)


def test_an_event_holds_nothing_personal(sink):
    """The stored event keeps the page, a browser class, and no IP by default (N2)."""
    account_id = str(uuid.uuid4())
    result = service(sink).track(
        Hit(
            url=f"https://www.lechoppe.fr/compte/{account_id}/commandes?email=jean@x.fr",
            user_agent=CHROME,
            ip="203.0.113.42",
            referrer="https://www.google.com/search?q=jean+dupont",
        )
    )
    (event,) = sink.events()
    assert result.recorded
    assert event.path == "/compte/:id/commandes"
    assert (event.browser, event.browser_major, event.device) == (
        "Chrome",
        124,
        "desktop",
    )
    assert event.referrer_host == "www.google.com"
    assert event.ip is None
    assert event.purpose is Purpose.AUDIENCE_MEASUREMENT
    assert account_id not in repr(event)


@pytest.mark.parametrize(
    ("raw", "policy", "masked"),
    [
        ("198.51.100.7", IpPolicy.MASK_2_BYTES, "198.51.0.0"),
        ("198.51.100.7", IpPolicy.MASK_3_BYTES, "198.0.0.0"),
        ("2001:db8:1234:5678:9abc::1", IpPolicy.MASK_2_BYTES, "2001:db8:1234::"),
        ("2001:db8:1234:5678:9abc::1", IpPolicy.MASK_3_BYTES, "2001:db8::"),
        ("::ffff:198.51.100.7", IpPolicy.MASK_2_BYTES, "198.51.0.0"),
        ("2002:c633:6407::1", IpPolicy.MASK_2_BYTES, "198.51.0.0"),  # 6to4
        ("2002:c633:6407::1", IpPolicy.MASK_3_BYTES, "198.0.0.0"),
        ("2001:0:4136:e378:8000:63bf:39cc:9bf8", IpPolicy.MASK_2_BYTES, "198.51.0.0"),
        ("64:ff9b::198.51.100.7", IpPolicy.MASK_2_BYTES, "198.51.0.0"),  # NAT64
        ("::ffff:0:198.51.100.7", IpPolicy.MASK_2_BYTES, "198.51.0.0"),
        ("::198.51.100.7", IpPolicy.MASK_2_BYTES, "198.51.0.0"),
        ("not an ip", IpPolicy.MASK_2_BYTES, None),
        pytest.param(
            "198.51.100.7" + " " * 10_000_000,
            IpPolicy.MASK_2_BYTES,
            None,
            id="10 MB",
        ),
    ],
)
def test_kept_addresses_are_masked(sink, raw, policy, masked):
    """Where a shop keeps IPs: v4 /16 or less, v6 /48 or less (N2).

    An IPv6 address carrying an IPv4 one (6to4, Teredo, NAT64, translated,
    compatible) is masked as that IPv4; a 10 MB "address" is not read (F9).
    """
    service(sink, ip_policy=policy).track(Hit(url="/", ip=raw))
    (event,) = sink.events()
    assert event.ip == masked


@pytest.mark.parametrize(
    "opt_out",
    [
        {"headers": {"Sec-GPC": "1"}},
        {"headers": {"DNT": "1"}},
        {"browser_opt_out": True},
    ],
)
def test_opted_out_visitors_leave_nothing(sink, opt_out):
    """GPC, DNT and the opt-out cookie each mean no event and no identifier (N3)."""
    result = service(sink).track(
        Hit(url="/", visitor_cookie="v1.20260101.abcdefghijklmnop", **opt_out)
    )
    assert not result.recorded
    assert result.visitor_cookie is None
    assert result.clear_cookie
    assert sink.events() == []


def test_account_opt_out_leaves_nothing(sink):
    """An account's opt-out means no event either (N3)."""
    result = service(sink).track(Hit(url="/"), account_opt_out=True)
    assert (result.recorded, result.visitor_cookie, sink.events()) == (False, None, [])


def test_visitor_identifier_is_not_extended_by_visits(sink):
    """An identifier lives 13 months from creation, whatever the visits (N5)."""
    clock = FrozenClock(datetime(2026, 1, 15, 10, tzinfo=UTC))
    analytics = service(sink, clock)
    first = analytics.track(Hit(url="/"))
    assert first.cookie_expires == datetime(2027, 2, 15, tzinfo=UTC)
    cookie = first.visitor_cookie
    for _ in range(12):
        clock.advance(timedelta(days=30))
        again = analytics.track(Hit(url="/", visitor_cookie=cookie))
        assert (again.visitor_cookie, again.cookie_expires) == (
            cookie,
            first.cookie_expires,
        )
    clock.current = datetime(2027, 2, 15, tzinfo=UTC)
    renewed = analytics.track(Hit(url="/", visitor_cookie=cookie))
    assert renewed.visitor_cookie != cookie


def test_purge_keeps_at_most_25_months(sink):
    """Raw events older than the retention period are purged (N5)."""
    clock = FrozenClock(datetime(2024, 1, 1, tzinfo=UTC))
    analytics = service(sink, clock)
    analytics.track(Hit(url="/old"))
    clock.current = datetime(2024, 3, 1, tzinfo=UTC)
    analytics.track(Hit(url="/recent"))
    clock.current = datetime(2026, 2, 15, tzinfo=UTC)
    assert analytics.purge() == 1
    assert [e.path for e in sink.events()] == ["/recent"]


def test_retention_can_shorten_never_lengthen():
    """Shops may keep less, never more than the CNIL's limits (N5)."""
    assert RetentionPolicy(identifier_months=6, event_months=12).event_months == 12
    with pytest.raises(ValueError, match="13"):
        RetentionPolicy(identifier_months=14)


def test_reminder_once_per_session_over_a_day():
    """The notice is due at each new session and only then (N4)."""
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    # Visits in minutes after 8:00; gaps of 30 minutes or more open a session.
    visits = [0, 5, 20, 49, 80, 81, 110, 300, 329, 358, 400, 700, 729]
    sessions = [0, 80, 300, 400, 700]
    last = None
    due_at = []
    for minute in visits:
        now = start + timedelta(minutes=minute)
        if reminder_due(last, now):
            due_at.append(minute)
        last = now
    assert due_at == sessions


def test_no_advertising_purpose_exists():
    """Targeted advertising and profiling cannot be expressed (N1)."""
    assert {p.value for p in Purpose} == {
        "audience_measurement",
        "performance",
        "technical_optimisation",
    }
    with pytest.raises(ValueError, match="advertising"):
        Purpose("advertising")


ips = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.ip_addresses(v=4).map(lambda a: f"::ffff:{a}"),
    ipv4_in_ipv6().flatmap(lambda found: st.sampled_from(found[1])),
    st.text(max_size=40),
)
emails = st.emails().map(str)
tokens = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789_-", min_size=20, max_size=60
).filter(lambda t: any(c.isdigit() for c in t))


@st.composite
def hits(draw):
    """Arbitrary request data, with personal data hidden in the URL."""
    email = draw(emails)
    account_id = str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))
    token = draw(tokens)
    segment = draw(st.sampled_from([email, account_id, token, "produits"]))
    query = draw(st.sampled_from([f"?email={email}", f"?jeton={token}", "", "?q=x"]))
    url = draw(
        st.one_of(
            st.just(f"https://www.lechoppe.fr/{segment}/page{query}#{email}"),
            st.text(max_size=80),
        )
    )
    return (
        Hit(
            url=url,
            user_agent=draw(st.one_of(st.just(CHROME), st.text(max_size=200))),
            ip=draw(ips),
            referrer=draw(
                st.one_of(st.just(f"https://x.fr/{email}"), st.text(max_size=60))
            ),
            headers=draw(
                st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3)
            ),
            visitor_cookie=draw(st.one_of(st.just(""), st.text(max_size=40))),
        ),
        (email, account_id, token),
    )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=hits(), policy=st.sampled_from(list(IpPolicy)))
def test_no_stored_event_carries_personal_data(sink, data, policy):
    """For any request, no event holds the raw IP, an email or an account id (N2)."""
    hit, secrets = data
    before = len(sink.events())
    service(sink, ip_policy=policy).track(hit)
    events = sink.events()[before:]
    for event in events:
        stored = " ".join(str(v) for v in attrs.astuple(event))
        for secret in secrets:
            if len(secret) >= 8 and secret in hit.url + hit.referrer:
                assert secret not in stored
        assert not EMAIL.search(" ".join(str(v) for v in attrs.astuple(event)[3:5]))
        if event.ip is not None:
            address = ipaddress.ip_address(event.ip)
            raw = hit.ip.strip()
            assert event.ip != raw or address.packed.endswith(b"\0\0")
            if address.version == 4:
                assert address.packed[2:] == b"\0\0"
            else:
                assert address.packed[6:] == bytes(10)


def stored_text(event):
    """Every text field of *event*, joined: what a sink writes."""
    return " ".join(str(v) for v in attrs.astuple(event))


def test_surrogates_and_huge_fields_are_stored_clean(sink):
    """F9: lone surrogates and 10 MB fields give a clean event, never an exception."""
    huge = "\ud800" + "a" * 10_000_000
    result = service(sink, ip_policy=IpPolicy.MASK_2_BYTES).track(
        Hit(
            url="https://www.lechoppe.fr/compte/jean\ud800.dupont@exemple.fr/" + huge,
            user_agent=CHROME + huge,
            ip=huge,
            referrer="https://www.google.com/" + huge,
            headers={huge: huge, "DNT": huge},
            visitor_cookie=huge,
        )
    )
    (event,) = sink.events()
    assert result.recorded
    assert (event.path, event.referrer_host, event.ip) == (
        "/compte/:id/:id",
        None,
        None,
    )
    assert (event.browser, event.browser_major) == ("Chrome", 124)
    assert stored_text(event).isascii()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.tuples(*[arbitrary_text(120)] * 6),
    policy=st.sampled_from(list(IpPolicy)),
)
def test_arbitrary_text_in_every_field_never_raises(sink, fields, policy):
    """F9: any text in any field of a hit is recorded cleanly or not at all (N2)."""
    url, agent, ip, referrer, header, cookie = fields
    before = len(sink.events())
    service(sink, ip_policy=policy).track(
        Hit(url, agent, ip, referrer, {header: header, "Sec-GPC": header}, cookie)
    )
    for event in sink.events()[before:]:
        assert stored_text(event).isascii()
