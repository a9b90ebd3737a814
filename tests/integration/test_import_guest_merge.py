"""A guest row and a registered customer sharing an email make one account.

SPEC M1 (nobody lost: the registered customer's hash, company and consent
come over), M2 (nothing dropped silently: the merge and every address past
the cap are report entries), M3 (her old hash keeps working), A1 (at most 50
delivery addresses). PrestaShop checks an email's uniqueness among registered
customers only, so guest rows (``is_guest = 1``) may share it, older or newer.
Within one run the registered customer's account wins; a guest account of an
earlier run is never replaced. Over every storage adapter.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FAST_HASHER
from data.import_csv import BCRYPT
from echoppe_accounts import (
    AccountStatus,
    App,
    AuditEvent,
    CustomerImporter,
    InMemoryStore,
    LegacyHasher,
    Missing,
    bootstrap,
)
from echoppe_accounts.domain.addressbook import MAX_DELIVERY_ADDRESSES
from echoppe_accounts.service_layer.import_customers import CHANGE_CODES
from echoppe_accounts.service_layer.import_records import (
    ImportedAddress,
    ImportedCustomer,
)
from echoppe_accounts.testing import FrozenClock, RecordingMailer

CREATED = datetime(2016, 3, 14, 9, 26, tzinfo=UTC)
EMAIL = "client@exemple.fr"
PARIS = ("75011", "Paris")


@pytest.fixture
def uow_factory(each_adapter_uow_factory):
    """Memory, SQLite and PostgreSQL: the merge deletes and writes accounts."""
    return each_adapter_uow_factory


@pytest.fixture
def app(uow_factory, clock, shop_settings) -> App:
    """The library as a shop wires it, checking bcrypt and phpass hashes."""
    return bootstrap(
        uow_factory,
        RecordingMailer(),
        attrs.evolve(shop_settings, outbox_key=bytes(32)),
        clock=clock,
        hasher=LegacyHasher(FAST_HASHER),
    )


def place(ref: str, street: str, city: str = "Paris", **fields: str) -> ImportedAddress:
    """An address of the old shop."""
    values = {
        "first_name": "Marie",
        "last_name": "Curie",
        "address1": street,
        "postal_code": "75011",
        "city": city,
        "country": "FR",
    }
    values.update(fields)
    return ImportedAddress(ref=ref, **values)


def registered(ref: str = "2", **fields: object) -> ImportedCustomer:
    """Marie, a registered customer: her hash, her company, her consent."""
    values: dict[str, object] = {
        "email": EMAIL,
        "first_name": "Marie",
        "last_name": "Curie",
        "phone": "06 12 34 56 78",
        "password_hash": BCRYPT["motdepasse"],
        "company": "Radium SARL",
        "siret": "73282932000074",
        "newsletter": True,
        "newsletter_wording": "ps-2019",
        "language": "fr",
        "created_at": CREATED,
        "addresses": (place("10", "12 rue des Lilas"),),
    }
    values.update(fields)
    return ImportedCustomer(ref=ref, **values)  # type: ignore[arg-type]


def guest(ref: str = "1", **fields: object) -> ImportedCustomer:
    """A guest checkout with Marie's email, and an address of its own."""
    values: dict[str, object] = {
        "email": EMAIL,
        "first_name": "Marie",
        "last_name": "Curie",
        "guest": True,
        "created_at": CREATED,
        "addresses": (place("20", "3 place Bellecour", "Lyon", postal_code="69002"),),
    }
    values.update(fields)
    return ImportedCustomer(ref=ref, **values)  # type: ignore[arg-type]


def other(ref: str) -> ImportedCustomer:
    """Another customer, to fill a batch."""
    return registered(ref, email=f"autre{ref}@exemple.fr", company="", siret="")


def run(app: App, tmp_path: Path, *records: ImportedCustomer, batch_size: int = 500):
    """Import *records* as the PrestaShop source does; the report beside."""
    return CustomerImporter(app).import_records(
        records,
        source="prestashop:test",
        report=tmp_path / "rapport.csv",
        batch_size=batch_size,
        progress=False,
    )


def report(summary) -> list[tuple[str, str, str]]:
    """The report's rows: ref, field, code."""
    if summary.report is None:
        return []
    with summary.report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    return [(r[0], r[1], r[2]) for r in rows[1:]]


def streets(app: App) -> list[str]:
    """The first street line of each delivery address of Marie's account."""
    found = app.accounts.find_by_email(EMAIL)
    assert found is not None
    assert found.addresses is not None
    return [d.address.street_lines[0] for d in found.addresses.deliveries]


def assert_hers(app: App) -> None:
    """Marie's account holds her data: hash (M3), company, consent."""
    assert app.auth.login(EMAIL, "motdepasse").account_id
    found = app.accounts.find_by_email(EMAIL)
    assert found is not None
    assert found.status is AccountStatus.ACTIVE
    assert found.organisation is not None
    assert found.organisation.name == "Radium SARL"


def assert_counted(summary) -> None:
    """O4: every row read is imported, already present or invalid."""
    assert summary.imported + summary.already_present + summary.invalid == (
        summary.read
    )


def imported_records(app: App) -> list[str]:
    """The ids of the accounts the audit trail says an import created."""
    with app.accounts.uow() as uow:
        found = uow.accounts.get_by_email_key(EMAIL)
        assert found is not None
        return [
            r.account_id or ""
            for r in uow.audit.for_account(found.id)
            if r.event is AuditEvent.ACCOUNT_IMPORTED
        ]


@pytest.mark.parametrize("batch_size", [1, 500], ids=["two-batches", "one-batch"])
def test_m1_m3_an_older_guest_row_gives_way_to_the_registered_customer(
    app, tmp_path, batch_size
):
    """M1, M2, M3: guest first: her account is made, the guest's address joins it.

    The guest row counts as already present (its customer is: in her
    account); the merge is reported under the later row, hers.
    """
    summary = run(app, tmp_path, guest(), registered(), batch_size=batch_size)
    assert_hers(app)
    assert streets(app) == ["12 rue des Lilas", "3 place Bellecour"]
    assert (summary.read, summary.imported, summary.already_present) == (2, 1, 1)
    assert (summary.invalid, summary.guests, summary.invited) == (0, 0, 0)
    assert summary.to_complete == dict.fromkeys(Missing, 0)
    assert_counted(summary)
    assert ("2", "email", "import.guest_merged") in report(summary)
    assert not [r for r in report(summary) if r[2] == "email.taken"]
    assert len(imported_records(app)) == 1


@pytest.mark.parametrize("batch_size", [1, 500], ids=["two-batches", "one-batch"])
def test_m1_a_later_guest_row_adds_its_addresses_to_her_account(
    app, tmp_path, batch_size
):
    """M1, M2: registered first: the guest row's address joins her account."""
    summary = run(app, tmp_path, registered("1"), guest("2"), batch_size=batch_size)
    assert_hers(app)
    assert streets(app) == ["12 rue des Lilas", "3 place Bellecour"]
    assert (summary.read, summary.imported, summary.already_present) == (2, 1, 1)
    assert (summary.invalid, summary.guests) == (0, 0)
    assert_counted(summary)
    assert ("2", "email", "import.guest_merged") in report(summary)
    assert not [r for r in report(summary) if r[2] == "email.taken"]


@pytest.mark.parametrize("batch_size", [1, 500], ids=["two-batches", "one-batch"])
@pytest.mark.parametrize("guest_first", [True, False])
def test_a1_every_address_of_the_guest_joins_hers_its_billing_one_too(
    app, tmp_path, guest_first, batch_size
):
    """A1, M2: the guest's billing and delivery addresses both become deliveries."""
    two = guest(
        addresses=(
            place("20", "3 place Bellecour", "Lyon", postal_code="69002"),
            place("21", "5 quai Rambaud", "Lyon", postal_code="69002"),
        ),
    )
    rows = [attrs.evolve(two, ref="1"), registered("2")]
    if not guest_first:
        rows = [registered("1"), attrs.evolve(two, ref="2")]
    summary = run(app, tmp_path, *rows, batch_size=batch_size)
    assert sorted(streets(app)) == [
        "12 rue des Lilas",
        "3 place Bellecour",
        "5 quai Rambaud",
    ]
    assert_counted(summary)


@pytest.mark.parametrize("guest_first", [True, False])
def test_m1_a_guest_without_address_merges_all_the_same(app, tmp_path, guest_first):
    """M1: a guest row without a usable address still gives way (nothing to add)."""
    rows = [guest("1", addresses=()), registered("2")]
    if not guest_first:
        rows = [registered("1"), guest("2", addresses=())]
    summary = run(app, tmp_path, *rows, batch_size=1)
    assert_hers(app)
    assert streets(app) == ["12 rue des Lilas"]
    assert (summary.imported, summary.already_present) == (1, 1)
    assert summary.to_complete == dict.fromkeys(Missing, 0)


def test_m1_neither_with_an_address_stays_to_complete(app, tmp_path):
    """M1: no address on either row: her account is still to complete for it."""
    rows = [registered("1", addresses=()), guest("2", addresses=())]
    summary = run(app, tmp_path, *rows, batch_size=1)
    found = app.accounts.find_by_email(EMAIL)
    assert found is not None
    assert found.addresses is None
    assert summary.to_complete[Missing.ADDRESS] == 1


def test_a1_the_same_address_is_not_added_twice(app, tmp_path):
    """A1: the guest's address that is already hers is not a second delivery."""
    same = guest(addresses=(place("20", "12 rue des Lilas"),))
    run(app, tmp_path, same, registered(), batch_size=1)
    assert streets(app) == ["12 rue des Lilas"]
    run(app, tmp_path, registered(email="b@exemple.fr"), same, batch_size=1)
    assert streets(app) == ["12 rue des Lilas"]


@pytest.mark.parametrize("guest_first", [True, False])
def test_a1_m2_addresses_past_fifty_are_reported_not_dropped_silently(
    app, tmp_path, guest_first
):
    """A1, M2: her 50 deliveries are kept; the guest's one past the cap is reported."""
    hers = tuple(
        place(str(100 + i), f"{i + 1} rue des Lilas")
        for i in range(MAX_DELIVERY_ADDRESSES + 1)
    )  # one is the billing address
    rows = [guest("1"), registered("2", addresses=hers)]
    if not guest_first:
        rows = [registered("1", addresses=hers), guest("2")]
    summary = run(app, tmp_path, *rows, batch_size=1)
    assert len(streets(app)) == MAX_DELIVERY_ADDRESSES
    assert "3 place Bellecour" not in streets(app)
    assert ("2", "delivery_street", "import.address_beyond_max") in report(summary)
    assert_counted(summary)


@pytest.mark.parametrize("batch_size", [1, 500], ids=["two-batches", "one-batch"])
@pytest.mark.parametrize("guest_first", [True, False])
def test_m1_a_guest_gives_her_its_address_when_she_had_none(
    app, tmp_path, guest_first, batch_size
):
    """M1: a registered customer without address takes the guest's, not to complete."""
    rows = [guest("1"), registered("2", addresses=())]
    if not guest_first:
        rows = [registered("1", addresses=()), guest("2")]
    summary = run(app, tmp_path, *rows, batch_size=batch_size)
    assert streets(app) == ["3 place Bellecour"]
    assert summary.to_complete[Missing.ADDRESS] == 0
    assert_counted(summary)
    assert_hers(app)
    summary = run(app, tmp_path, registered(email="b@exemple.fr", addresses=()))
    assert summary.to_complete[Missing.ADDRESS] == 1


def test_m1_a_rerun_adds_nothing(app, tmp_path):
    """M1, O4: run again, both rows are already present; nothing changes."""
    rows = (guest(), other("5"), registered())
    first = run(app, tmp_path, *rows, batch_size=1)
    assert (first.imported, first.already_present) == (2, 1)
    before = app.accounts.find_by_email(EMAIL)
    again = run(app, tmp_path, *rows, batch_size=1)
    assert (again.read, again.imported, again.already_present) == (3, 0, 3)
    assert not [r for r in report(again) if r[2] == "import.guest_merged"]
    assert app.accounts.find_by_email(EMAIL) == before
    assert streets(app) == ["12 rue des Lilas", "3 place Bellecour"]


def test_m1_a_guest_account_of_an_earlier_run_is_never_replaced(app, tmp_path):
    """M1: a live guest account (maybe used since) stays; today's behaviour."""
    run(app, tmp_path, guest())
    kept = app.accounts.find_by_email(EMAIL)
    summary = run(app, tmp_path, registered())
    assert (summary.imported, summary.already_present) == (0, 1)
    assert app.accounts.find_by_email(EMAIL) == kept
    assert streets(app) == ["3 place Bellecour"]


def test_m1_two_guests_and_two_registered_rows_make_one_account(app, tmp_path):
    """M1: guests join, a second registered row is refused as today."""
    rows = (guest("1"), registered("2"), guest("3"), registered("4"))
    summary = run(app, tmp_path, *rows, batch_size=1)
    assert_hers(app)
    assert (summary.imported, summary.already_present, summary.invalid) == (1, 2, 1)
    assert ("4", "email", "email.taken") in report(summary)
    assert_counted(summary)


def test_m1_a_csv_guest_line_gives_way_to_the_registered_line(app, tmp_path):
    """M1, M3: the CSV import, on the same pipeline, merges them too."""
    columns = [
        "email",
        "name",
        "guest",
        "password_hash",
        "billing_street",
        "billing_postal_code",
        "billing_city",
    ]
    rows = [
        [EMAIL, "Marie Curie", "1", "", "3 place Bellecour", "69002", "Lyon"],
        ["autre@exemple.fr", "Anne Roux", "0", "", "8 rue Neuve", "75011", "Paris"],
        [EMAIL, "Marie Curie", "0", BCRYPT["motdepasse"], "12 rue des Lilas", *PARIS],
    ]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerows([columns, *rows])
    source = tmp_path / "clients.csv"
    source.write_text(out.getvalue(), encoding="utf-8")
    summary = CustomerImporter(app).import_csv(source, batch_size=1, progress=False)
    assert app.auth.login(EMAIL, "motdepasse").account_id
    found = app.accounts.find_by_email(EMAIL)
    assert found is not None
    assert found.addresses is not None
    assert found.addresses.billing.street_lines == ("12 rue des Lilas",)
    assert "3 place Bellecour" in streets(app)
    assert (summary.read, summary.imported, summary.already_present) == (3, 2, 1)
    with summary.report.open(encoding="utf-8-sig", newline="") as handle:
        entries = [(r[0], r[2]) for r in csv.reader(handle, delimiter=";")]
    assert ("4", "import.guest_merged") in entries


def test_m2_the_merge_is_a_change_with_both_messages():
    """M2, T1: the new code is a change, with an English and a French message."""
    from echoppe_accounts.domain.errors import message_for  # noqa: PLC0415

    assert "import.guest_merged" in CHANGE_CODES
    english = message_for("import.guest_merged", {}, "en")
    french = message_for("import.guest_merged", {}, "fr")
    assert "guest" in english
    assert english != french


@pytest.mark.parametrize("batch_size", [1, 2, 500], ids=["three", "two", "one"])
def test_m1_m2_several_guest_rows_make_one_guest_account_with_every_address(
    app, tmp_path, batch_size
):
    """M1, M2: the same person checking out three times as a guest is one account.

    PrestaShop keeps a guest row per checkout; the later rows' addresses
    join the first one's account, each merge a report entry, and nothing
    is refused.
    """
    rows = (
        guest("1"),
        guest("2", addresses=(place("21", "8 rue Neuve"),)),
        guest("3", addresses=(place("22", "5 quai Voltaire"),)),
    )
    summary = run(app, tmp_path, *rows, batch_size=batch_size)
    assert (summary.imported, summary.already_present, summary.invalid) == (1, 2, 0)
    assert summary.guests == 1
    assert_counted(summary)
    found = app.accounts.find_by_email(EMAIL)
    assert found is not None
    assert found.status is AccountStatus.EXPRESS
    assert set(streets(app)) == {"3 place Bellecour", "8 rue Neuve", "5 quai Voltaire"}
    assert {r[0] for r in report(summary) if r[2] == "import.guest_merged"} == {
        "2",
        "3",
    }
    assert len(imported_records(app)) == 1
    again = run(app, tmp_path, *rows, batch_size=batch_size)
    assert (again.imported, again.already_present) == (0, 3)
    assert app.accounts.find_by_email(EMAIL) == found


@pytest.mark.parametrize("batch_size", [1, 2, 500], ids=["three", "two", "one"])
def test_m1_o4_to_complete_counts_what_the_accounts_miss_after_merges(
    app, tmp_path, batch_size
):
    """M1, O4: a guest without address, a guest with one, then her own row.

    The account made is complete for its address; the summary never counts
    a missing piece twice nor below zero.
    """
    rows = (
        guest("1", addresses=()),
        guest("2"),
        registered("3", addresses=()),
    )
    summary = run(app, tmp_path, *rows, batch_size=batch_size)
    assert (summary.imported, summary.already_present, summary.invalid) == (1, 2, 0)
    found = app.accounts.find_by_email(EMAIL)
    assert found is not None
    assert Missing.ADDRESS not in found.missing
    assert summary.to_complete[Missing.ADDRESS] == 0
    assert all(n >= 0 for n in summary.to_complete.values())
    assert_hers(app)


@pytest.mark.parametrize("batch_size", [1, 500], ids=["two-batches", "one-batch"])
def test_m2_a_later_guest_rows_phone_and_consent_are_not_dropped(
    app, tmp_path, batch_size
):
    """M1, M2: the phone and the dated consent of a second guest row are kept."""
    consented = datetime(2020, 5, 1, 12, 0, tzinfo=UTC)
    rows = (
        guest("1"),
        guest(
            "2",
            phone="06 12 34 56 78",
            newsletter=True,
            newsletter_wording="ps-2019",
            newsletter_at=consented,
        ),
    )
    summary = run(app, tmp_path, *rows, batch_size=batch_size)
    found = app.accounts.find_by_email(EMAIL)
    assert found is not None
    assert found.phone is not None
    assert found.phone.e164 == "+33612345678"
    assert Missing.PHONE not in found.missing
    assert summary.to_complete[Missing.PHONE] == 0
    assert found.subscribed
    assert (found.newsletter[-1].at, found.newsletter[-1].wording_version) == (
        consented,
        "ps-2019",
    )


@pytest.mark.parametrize("batch_size", [1, 500], ids=["two-batches", "one-batch"])
def test_m2_a_guests_phone_and_consent_complete_her_registered_account(
    app, tmp_path, batch_size
):
    """M1, M2: her registered row has neither; the earlier guest row's are kept."""
    consented = datetime(2019, 2, 3, 8, 0, tzinfo=UTC)
    rows = (
        guest(
            "1",
            phone="06 98 76 54 32",
            newsletter=True,
            newsletter_wording="ps-2018",
            newsletter_at=consented,
        ),
        registered("2", phone="", newsletter=False),
    )
    summary = run(app, tmp_path, *rows, batch_size=batch_size)
    assert_hers(app)
    found = app.accounts.find_by_email(EMAIL)
    assert found is not None
    assert found.phone is not None
    assert found.phone.e164 == "+33698765432"
    assert summary.to_complete[Missing.PHONE] == 0
    assert found.subscribed
    assert found.newsletter[-1].at == consented


@pytest.mark.parametrize("batch_size", [1, 500], ids=["two-batches", "one-batch"])
def test_m2_her_own_phone_and_consent_win_over_a_guest_rows(app, tmp_path, batch_size):
    """M1: what the registered customer's row gives is kept, not the guest's."""
    rows = (
        registered("1"),
        guest("2", phone="06 98 76 54 32", newsletter=True, newsletter_wording="x"),
    )
    run(app, tmp_path, *rows, batch_size=batch_size)
    found = app.accounts.find_by_email(EMAIL)
    assert found is not None
    assert found.phone is not None
    assert found.phone.e164 == "+33612345678"
    assert [r.wording_version for r in found.newsletter] == ["ps-2019"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    kinds=st.lists(st.booleans(), min_size=1, max_size=5),
    batch_size=st.integers(1, 6),
)
def test_m1_o4_any_order_of_guest_and_registered_rows_makes_one_account(
    tmp_path_factory, shop_settings, kinds, batch_size
):
    """M1, O4: guest (True) and registered (False) rows with one email, any order.

    One account; hers when a registered row comes (the first one's), with
    every guest's address; the counts add up; a re-run adds nothing.
    """
    app = bootstrap(
        InMemoryStore().unit_of_work,
        RecordingMailer(),
        attrs.evolve(shop_settings, outbox_key=bytes(32)),
        clock=FrozenClock(),
        hasher=LegacyHasher(FAST_HASHER),
    )
    folder = tmp_path_factory.mktemp("rapport")
    streets_of = [f"{n + 1} rue des Lilas" for n in range(len(kinds))]
    rows = [
        (guest if is_guest else registered)(
            str(n + 1), addresses=(place(str(n + 10), streets_of[n]),)
        )
        for n, is_guest in enumerate(kinds)
    ]
    summary = run(app, folder, *rows, batch_size=batch_size)
    assert_counted(summary)
    assert summary.imported == 1
    first = kinds.index(False) if False in kinds else len(kinds)
    # Only a second registered row is refused (email.taken); every guest
    # row's address joins the one account (M2: nothing dropped).
    assert summary.invalid == max(kinds.count(False) - 1, 0)
    kept = {streets_of[n] for n, is_guest in enumerate(kinds) if is_guest}
    kept |= {streets_of[n] for n in (first,) if n < len(kinds)}
    assert set(streets(app)) == kept
    merged = [r for r in report(summary) if r[2] == "import.guest_merged"]
    assert len(merged) == kinds.count(True) - (first == len(kinds))
    if first < len(kinds):
        assert_hers(app)
    again = run(app, folder, *rows, batch_size=batch_size)
    assert (again.imported, again.already_present) == (0, len(rows))
