"""Another shop's customers imported, none refused for what it never asked (issue 21).

SPEC M1 (accounts to complete instead of refusals), M2 (nothing dropped
silently: every change in the report), M3 (old hashes kept until the first
login), X1–X2 (express accounts), A1–A5 (every address kept, AFNOR lines),
F7 (the newsletter's proof). Through ``CustomerImporter.import_records``, the
entry every source calls, and the CSV import built on the same pipeline.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FAST_HASHER
from data.import_csv import BCRYPT, MD5
from echoppe_accounts import (
    AccountStatus,
    App,
    AuthenticationError,
    ConsentSource,
    CustomerImporter,
    LegacyHasher,
    MailKind,
    Missing,
    ValidationError,
    bootstrap,
)
from echoppe_accounts.domain.i18n import available_languages
from echoppe_accounts.service_layer.import_customers import (
    CHANGE_CODES,
    ImportContext,
    validate_customer,
)
from echoppe_accounts.service_layer.import_records import (
    ImportedAddress,
    ImportedCustomer,
)
from echoppe_accounts.testing import RecordingMailer
from sample_forms import pending
from strategies import LETTERS

WORDPRESS = ("JohnRipper", "$P$B12345678L6Lpt4BxNotVIMILOa9u81")
"""A WordPress (WooCommerce) phpass hash and its password, from John the Ripper."""
CREATED = datetime(2016, 3, 14, 9, 26, tzinfo=UTC)


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


def home(ref: str = "1", **fields: object) -> ImportedAddress:
    """A PrestaShop address that fits as it is."""
    values: dict[str, object] = {
        "first_name": "Marie",
        "last_name": "Curie",
        "address1": "12 rue des Lilas",
        "postal_code": "75011",
        "city": "Paris",
        "country": "FR",
    }
    values.update(fields)
    return ImportedAddress(ref=ref, **values)  # type: ignore[arg-type]


def customer(ref: str = "1", **fields: object) -> ImportedCustomer:
    """A complete PrestaShop customer with *fields* changed."""
    values: dict[str, object] = {
        "email": f"client{ref}@exemple.fr",
        "first_name": "Marie",
        "last_name": "Curie",
        "phone": "06 12 34 56 78",
        "password_hash": BCRYPT["motdepasse"],
        "language": "fr",
        "created_at": CREATED,
        "addresses": (home(),),
    }
    values.update(fields)
    return ImportedCustomer(ref=ref, **values)  # type: ignore[arg-type]


def run(app: App, tmp_path: Path, *records: ImportedCustomer, **options):
    """Import *records* as the PrestaShop source does; the report beside."""
    options.setdefault("newsletter_wording", "ps-2019")
    return CustomerImporter(app).import_records(
        records, source="prestashop:test", report=tmp_path / "rapport.csv", **options
    )


def report(summary) -> list[tuple[str, str, str]]:
    """The report's rows: ref, field, code."""
    if summary.report is None:
        return []
    with summary.report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0] == ["ref", "field", "code", "message"]
    return [(r[0], r[1], r[2]) for r in rows[1:]]


def account(app: App, ref: str = "1"):
    """The account imported from record *ref*."""
    found = app.accounts.find_by_email(f"client{ref}@exemple.fr")
    assert found is not None
    return found


# -- accounts to complete, never refusals (M1) ---------------------------------------


def test_a_customer_without_address_nor_phone_comes_in_to_complete(app, tmp_path):
    """M1, X2: no address, no phone: an account to complete, counted and reported."""
    summary = run(app, tmp_path, customer(addresses=(), phone=""))
    assert (summary.read, summary.imported, summary.invalid) == (1, 1, 0)
    assert summary.to_complete == {
        Missing.PHONE: 1,
        Missing.ADDRESS: 1,
        Missing.SIRET: 0,
    }
    imported = account(app)
    assert imported.addresses is None
    assert imported.missing == {Missing.PHONE, Missing.ADDRESS}
    assert imported.status is AccountStatus.ACTIVE  # its bcrypt hash was kept
    assert report(summary) == [
        ("1", "phone", "import.to_complete.phone"),
        ("1", "billing_street", "import.to_complete.address"),
    ]
    assert summary.changes == 2


def test_the_phone_is_taken_from_the_addresses_when_the_customer_has_none(
    app, tmp_path
):
    """M1, F2: PrestaShop keeps phones on addresses: the billing one's first."""
    record = customer(
        phone="",
        addresses=(home("1", phone="12"), home("2", mobile="06 98 76 54 32")),
        billing_ref="1",
    )
    summary = run(app, tmp_path, record)
    assert account(app).phone.e164 == "+33698765432"
    assert ("1", "phone", "import.phone_unusable") in report(summary)


def test_a_company_keeps_its_name_siren_and_ape_and_is_asked_its_siret(app, tmp_path):
    """M1, M2, C3: company without SIRET: name, SIREN, APE kept; SIRET to complete."""
    summary = run(
        app,
        tmp_path,
        customer("1", company="Exemple SA", siret="732 829 320", ape="6201z"),
        customer("2", company="Autre SARL", siret="123"),
    )
    first = account(app, "1")
    assert first.organisation.name == "Exemple SA"
    assert first.organisation.siret is None
    assert first.organisation.siren == "732829320"
    assert first.organisation.ape.code == "62.01Z"
    assert first.missing == {Missing.SIRET}
    second = account(app, "2")
    assert second.organisation.name == "Autre SARL"
    assert second.organisation.siren is None
    assert summary.to_complete[Missing.SIRET] == 2
    assert report(summary) == [
        ("1", "siret", "import.to_complete.siret"),
        ("1", "siret", "import.siren_kept"),
        ("2", "siret", "import.siret_unusable"),
        ("2", "siret", "import.to_complete.siret"),
    ]


def test_a_company_with_its_siret_is_complete(app, tmp_path):
    """C3, C4: a valid SIRET makes a complete business account."""
    summary = run(app, tmp_path, customer(company="Exemple SA", siret=BUSINESS_SIRET))
    assert account(app).organisation.siret.compact == BUSINESS_SIRET
    assert account(app).missing == frozenset()
    assert summary.report is None


BUSINESS_SIRET = "73282932000074"


# -- every address kept (A1, A4, X1, M2) ---------------------------------------------


def test_every_address_is_kept_billing_the_last_invoiced_one(app, tmp_path):
    """A1, A2, F3: billing = the last invoiced; the others delivery, with contacts."""
    record = customer(
        addresses=(
            home("10", first_name="Pierre", alias="Maison"),
            home("11", address1="3 place Bellecour", postal_code="69002", city="Lyon"),
            home(
                "12",
                address1="1 rue de la Paix",
                postal_code="75002",
                city="Paris",
                first_name="Irène",
                last_name="Joliot",
                company="Bureau",
            ),
        ),
        billing_ref="11",
    )
    summary = run(app, tmp_path, record)
    book = account(app).addresses
    assert book.billing.city == "Lyon"
    assert [(d.contact_name, d.address.city, d.label) for d in book.deliveries] == [
        ("Pierre Curie", "Paris", "Maison"),
        ("Irène Joliot", "Paris", None),
    ]
    assert summary.report is None


def test_without_an_invoice_the_newest_address_is_billing(app, tmp_path):
    """M2: no order names one: the newest address bills; the only one delivers too."""
    old = home("1", updated_at=CREATED)
    new = home("2", city="Lyon", postal_code="69002", updated_at=CREATED + timedelta(1))
    run(app, tmp_path, customer("1", addresses=(new, old)), customer("2"))
    assert account(app, "1").addresses.billing.city == "Lyon"
    (only,) = account(app, "2").addresses.deliveries
    assert only.address == account(app, "2").addresses.billing
    assert only.contact_name == "Marie Curie"


def test_long_street_lines_are_laid_out_by_role_and_reported(app, tmp_path):
    """A4, M2: lines over 38 characters are split along AFNOR roles, never cut."""
    long_street = home(
        address1="Résidence Les Jardins de la Source 12 avenue du Général de Gaulle",
        address2="Bâtiment C escalier 4 appartement 12",
    )
    summary = run(app, tmp_path, customer(addresses=(long_street,)))
    lines = account(app).addresses.billing.street_lines
    assert all(len(line) <= 38 for line in lines)
    assert lines[-1].startswith("12 ")  # the street after the building
    ((ref, field, code),) = report(summary)
    assert (ref, field, code) == ("1", "billing_street", "import.address_split")
    message = summary.report.read_text(encoding="utf-8-sig").splitlines()[1]
    assert "Résidence Les Jardins de la Source 12 avenue" in message  # the original


def test_an_address_that_cannot_be_used_is_reported_with_its_text(app, tmp_path):
    """M1, M2: a wrong postal code: the address is left out, its text reported."""
    wrong = home("1", postal_code="7501")
    summary = run(app, tmp_path, customer(addresses=(wrong,)))
    assert account(app).missing == {Missing.ADDRESS}
    rows = summary.report.read_text(encoding="utf-8-sig").splitlines()
    assert rows[1].startswith("1;billing_postal_code;import.address_unusable;")
    assert "12 rue des Lilas, 7501 Paris" in rows[1]
    assert rows[2].startswith("1;billing_street;import.to_complete.address;")


def test_past_fifty_delivery_addresses_the_rest_are_reported(app, tmp_path):
    """A1: at most 50 delivery addresses; the others reported, not silently lost."""
    addresses = tuple(home(str(i), address1=f"{i} rue des Lilas") for i in range(1, 53))
    summary = run(app, tmp_path, customer(addresses=addresses, billing_ref="1"))
    assert len(account(app).addresses.deliveries) == 50
    assert [code for _, _, code in report(summary)] == ["import.address_beyond_max"]


# -- dates, consent, flags (M2, F7) ----------------------------------------------------


def test_creation_and_subscription_keep_their_dates_and_the_shops_wording(
    app, tmp_path
):
    """F7, M2: date_add is the creation; the consent keeps its date and wording."""
    subscribed = CREATED + timedelta(days=30)
    summary = run(
        app, tmp_path, customer(newsletter=True, newsletter_at=subscribed, optin=True)
    )
    imported = account(app)
    assert imported.created_at == CREATED
    (consent,) = imported.newsletter
    assert (consent.at, consent.source, consent.wording_version) == (
        subscribed,
        ConsentSource.IMPORT,
        "ps-2019",
    )
    assert report(summary) == [("1", "optin", "import.optin_reported")]


def test_a_subscribed_customer_needs_the_wording_the_shop_names(app, tmp_path):
    """F7, M2: no wording version and none named: a clear error, nothing written."""
    with pytest.raises(ValidationError) as info:
        run(
            app,
            tmp_path,
            customer(),
            customer("2", newsletter=True),
            newsletter_wording=None,
        )
    assert info.value.codes == {"import.newsletter_wording_required"}
    assert app.accounts.find_by_email("client1@exemple.fr") is None


def test_undated_customers_are_dated_from_the_import_and_reported(app, clock, tmp_path):
    """M2: no creation date: the import's time, reported; so for the consent."""
    summary = run(app, tmp_path, customer(created_at=None, newsletter=True))
    imported = account(app)
    assert imported.created_at == clock.now()
    assert imported.newsletter[0].at == clock.now()
    assert report(summary) == [
        ("1", "newsletter_at", "import.newsletter_undated"),
        ("1", "created_at", "import.created_at_missing"),
    ]


def test_disabled_accounts_stay_disabled_and_are_not_mailed(app, tmp_path):
    """M2: active=0 arrives disabled, with no mail, even without a password."""
    summary = run(
        app,
        tmp_path,
        customer("1", active=False),
        customer("2", active=False, password_hash=MD5),
    )
    assert account(app, "1").status is AccountStatus.DISABLED
    assert account(app, "2").status is AccountStatus.DISABLED
    assert (summary.disabled, summary.invited) == (2, 0)
    assert pending(app.accounts) == []


def test_guests_are_express_accounts_never_mailed_unless_asked(app, tmp_path):
    """M2, X2: is_guest: an express account; the set-password mail only on request."""
    summary = run(app, tmp_path, customer("1", guest=True, password_hash=""))
    assert account(app, "1").status is AccountStatus.EXPRESS
    assert (summary.guests, summary.invited) == (1, 0)
    assert pending(app.accounts) == []
    assert report(summary) == [("1", "guest", "import.guest_not_invited")]
    asked = run(
        app, tmp_path, customer("2", guest=True, password_hash=""), invite_guests=True
    )
    assert (asked.guests, asked.invited) == (1, 1)
    assert [m.kind for m in pending(app.accounts)] == [MailKind.SET_PASSWORD]


def test_languages_without_a_catalogue_get_the_default_reported(app, tmp_path):
    """T1, M2: ps_lang's de becomes fr, reported; en is kept."""
    summary = run(
        app, tmp_path, customer("1", language="de"), customer("2", language="EN")
    )
    assert account(app, "1").language == "fr"
    assert account(app, "2").language == "en"
    assert report(summary) == [("1", "language", "import.language_unknown")]


def test_fields_an_account_has_no_place_for_are_named(app, tmp_path):
    """M2: birthday, gender… are named in the report, not dropped silently."""
    summary = run(app, tmp_path, customer(dropped=("birthday", "id_gender")))
    assert report(summary) == [
        ("1", "birthday", "import.field_dropped"),
        ("1", "id_gender", "import.field_dropped"),
    ]


# -- passwords (M3) --------------------------------------------------------------------


def test_a_wordpress_phpass_hash_logs_in_once_then_is_argon2id(app, tmp_path):
    """M3, P1: a $P$ hash is kept wrapped, checks the old password, is replaced."""
    password, hashed = WORDPRESS
    summary = run(app, tmp_path, customer(password_hash=hashed))
    assert summary.invited == 0
    stored = account(app).password_hash
    assert stored.startswith("$phpass-argon2id$P$B12345678$argon2id$")
    assert app.auth.login("client1@exemple.fr", password).account_id
    assert account(app).password_hash.startswith("$argon2id$")


def test_an_md5_hash_invites_its_owner_and_is_reported(app, tmp_path):
    """M2, X2: PrestaShop 1.6's MD5 is not kept: invited, reported."""
    summary = run(app, tmp_path, customer(password_hash=MD5))
    assert summary.invited == 1
    assert account(app).status is AccountStatus.EXPRESS
    assert report(summary) == [("1", "password_hash", "import.hash_not_kept")]


# -- refusals, re-runs ----------------------------------------------------------------


def test_only_what_makes_no_account_is_refused(app, tmp_path):
    """M1, F8: no valid email, no name: refused with sign-up's codes."""
    summary = run(
        app,
        tmp_path,
        customer("1", email="pas-une-adresse"),
        customer("2", first_name="", last_name=""),
        customer("3"),
    )
    assert (summary.read, summary.imported, summary.invalid) == (3, 1, 2)
    assert report(summary) == [
        ("1", "email", "email.invalid"),
        ("2", "name", "required"),
    ]
    assert {code for _, _, code in report(summary)}.isdisjoint(CHANGE_CODES)


def test_a_second_run_imports_nothing_twice(app, clock, tmp_path):
    """M1, O4: run again, every customer is already present; no second mail."""
    records = [customer("1"), customer("2", password_hash=MD5, addresses=())]
    first = run(app, tmp_path, *records)
    mails = len(pending(app.accounts))
    clock.advance(timedelta(minutes=5))
    second = run(app, tmp_path, *records)
    assert (first.imported, second.imported, second.already_present) == (2, 0, 2)
    assert second.report is None
    assert len(pending(app.accounts)) == mails


def test_records_are_read_lazily_in_batches(app, tmp_path):
    """O4: a generator of records is consumed as batches are written."""
    seen = []

    def records():
        for i in range(1, 8):
            seen.append(i)
            yield customer(str(i))

    summary = CustomerImporter(app).import_records(
        records(),
        source="test",
        report=tmp_path / "r.csv",
        batch_size=3,
        total=7,
        progress=False,
    )
    assert (summary.read, summary.imported) == (7, 7)
    assert seen == list(range(1, 8))


def test_a_source_failing_midway_keeps_the_batches_validated_before(app, tmp_path):
    """O4: what was validated before a source fails stays imported.

    A batch is written once the next is validated (its hashes wrapped
    meanwhile); a source that fails after two full batches leaves both
    imported and the customer in hand not, as when each batch was written
    at once. Running the import again adds the rest.
    """

    def records(*, fail: bool):
        for i in range(1, 8):
            yield customer(str(i))
        if fail:
            msg = "the old shop's database went away"
            raise OSError(msg)

    importer = CustomerImporter(app)
    options = {"source": "test", "batch_size": 3, "total": 7, "progress": False}
    with pytest.raises(OSError, match="went away"):
        importer.import_records(records(fail=True), report=tmp_path / "a", **options)
    found = [app.accounts.find_by_email(f"client{i}@exemple.fr") for i in range(1, 8)]
    assert [a is not None for a in found] == [True] * 6 + [False]
    report = tmp_path / "b"
    again = importer.import_records(records(fail=False), report=report, **options)
    assert (again.imported, again.already_present) == (1, 6)


# -- the property: none refused for what the old shop never required (M1) --------------

ANY_TEXT = st.text(alphabet=LETTERS + " 0123456789-'/.,|+()\n", max_size=150)


@st.composite
def shop_addresses(draw) -> ImportedAddress:
    """Any address another shop may hold: free text in every field."""
    return ImportedAddress(
        ref=str(draw(st.integers(1, 10**6))),
        first_name=draw(ANY_TEXT),
        last_name=draw(ANY_TEXT),
        address1=draw(ANY_TEXT),
        address2=draw(ANY_TEXT),
        postal_code=draw(st.sampled_from(["75011", "7501", "", "1000", "97400"])),
        city=draw(ANY_TEXT),
        country=draw(st.sampled_from(["FR", "", "BE", "XX", "fr"])),
        phone=draw(ANY_TEXT),
        mobile=draw(ANY_TEXT),
        alias=draw(ANY_TEXT),
    )


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    addresses=st.lists(shop_addresses(), max_size=4),
    phone=ANY_TEXT,
    company=ANY_TEXT,
    siret=st.sampled_from(["", "732829320", "73282932000074", "123", "x" * 200]),
    ape=ANY_TEXT,
    language=st.sampled_from(["", "fr", "en", "de", "x" * 40]),
)
def test_a_customer_with_an_email_and_a_name_is_never_refused(
    addresses, phone, company, siret, ape, language
):
    """M1, M2, A1, A4: any address, phone or company data makes an account.

    Every address is kept (billing or delivery) or reported with its text;
    what is kept follows A1 and A4.
    """
    record = ImportedCustomer(
        ref="7",
        email="marie@exemple.fr",
        first_name="Marie",
        last_name="Curie",
        company=company,
        siret=siret,
        ape=ape,
        phone=phone,
        language=language,
        addresses=tuple(addresses),
    )
    context = ImportContext(keep_hashes=True, languages=available_languages())
    candidate = validate_customer(record, context)
    assert {c.code for c in candidate.changes} <= CHANGE_CODES
    assert (candidate.billing is None) == (not candidate.deliveries)
    assert len(candidate.deliveries) <= 50
    kept = [candidate.billing] if candidate.billing else []
    kept += [d.address for d in candidate.deliveries]
    for address in kept:
        assert len(address.street_lines) <= 4
        assert all(len(line) <= 38 for line in address.street_lines)
    unusable = sum(c.code == "import.address_unusable" for c in candidate.changes)
    if addresses and candidate.billing is None:
        assert unusable >= 1
    if candidate.phone is None:
        assert "import.to_complete.phone" in {c.code for c in candidate.changes}


# -- the CSV import on the same pipeline ----------------------------------------------


def csv_file(folder: Path, rows: list[dict[str, str]]) -> Path:
    """Write *rows* under the union of their columns, in order."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([row.get(c, "") for c in columns] for row in rows)
    path = folder / "clients.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def csv_report(summary) -> list[tuple[int, str, str]]:
    """The CSV report's rows: line, field, code."""
    if summary.report is None:
        return []
    with summary.report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    return [(int(r[0]), r[1], r[2]) for r in rows[1:]]


def test_a_file_with_only_email_and_name_makes_accounts_to_complete(app, tmp_path):
    """M1: email and name are the only required columns; the rest is to complete."""
    source = csv_file(tmp_path, [{"email": "a@exemple.fr", "name": "Anne Roux"}])
    summary = CustomerImporter(app).import_csv(source, progress=False)
    assert (summary.imported, summary.invited) == (1, 1)
    imported = app.accounts.find_by_email("a@exemple.fr")
    assert imported.missing == {Missing.PHONE, Missing.ADDRESS}
    assert [code for _, _, code in csv_report(summary)] == [
        "import.to_complete.phone",
        "import.to_complete.address",
    ]


def test_consecutive_lines_of_one_email_are_one_customer(app, tmp_path):
    """A1, M2: each further line of an email adds a delivery address."""
    base = {
        "email": "a@exemple.fr",
        "name": "Anne Roux",
        "phone": "06 12 34 56 78",
        "billing_street": "12 rue des Lilas",
        "billing_postal_code": "75011",
        "billing_city": "Paris",
        "delivery_contact_name": "",
        "delivery_street": "",
        "delivery_postal_code": "",
        "delivery_city": "",
        "created_at": "2019-05-04 10:00",
    }
    rows = [
        base,
        {
            **base,
            "email": "A@exemple.fr",
            "delivery_contact_name": "Accueil",
            "delivery_street": "3 place Bellecour",
            "delivery_postal_code": "69002",
            "delivery_city": "Lyon",
        },
        {
            **base,
            "billing_street": "8 rue Neuve",
            "billing_city": "Paris",
            "phone": "01 23 45 67 89",
        },
        {**base, "email": "b@exemple.fr"},
    ]
    summary = CustomerImporter(app).import_csv(csv_file(tmp_path, rows), progress=False)
    assert (summary.read, summary.imported, summary.invalid) == (2, 2, 0)
    book = app.accounts.find_by_email("a@exemple.fr").addresses
    assert book.billing.street_lines == ("12 rue des Lilas",)
    assert [(d.contact_name, d.address.street_lines[0]) for d in book.deliveries] == [
        ("Accueil", "3 place Bellecour"),
        ("Anne Roux", "8 rue Neuve"),
    ]
    assert csv_report(summary) == [(2, "phone", "import.line_conflict")]
    created = app.accounts.find_by_email("a@exemple.fr").created_at
    assert created == datetime(2019, 5, 4, 8, 0, tzinfo=UTC)  # French summer time


def test_the_new_columns_of_the_file(app, tmp_path):
    """M2, F7: SIREN in siret, ape, newsletter_at, active, guest, optin."""
    row = {
        "email": "c@exemple.fr",
        "name": "Claire Martin",
        "category": "entreprise",
        "organisation_name": "Exemple SA",
        "siret": "732 829 320",
        "ape": "62.01Z",
        "newsletter": "1",
        "newsletter_wording_version": "2019-03",
        "newsletter_at": "2020-02-01T12:00:00+00:00",
        "created_at": "2018-01-01",
        "active": "0",
        "optin": "1",
        "guest": "0",
    }
    summary = CustomerImporter(app).import_csv(
        csv_file(
            tmp_path,
            [
                row,
                {**row, "email": "d@exemple.fr", "active": "oui", "created_at": "hier"},
            ],
        ),
        progress=False,
    )
    imported = app.accounts.find_by_email("c@exemple.fr")
    assert imported.status is AccountStatus.DISABLED
    assert imported.organisation.siren == "732829320"
    assert imported.organisation.ape.code == "62.01Z"
    assert imported.newsletter[0].at == datetime(2020, 2, 1, 12, tzinfo=UTC)
    assert (summary.imported, summary.invalid, summary.disabled) == (1, 1, 1)
    refused = [(n, f, c) for n, f, c in csv_report(summary) if c not in CHANGE_CODES]
    assert refused == [
        (3, "created_at", "import.date_invalid"),
        (3, "active", "import.boolean_invalid"),
    ]


# -- every storage adapter, and the login afterwards ---------------------------------


@pytest.fixture
def stores_app(each_adapter_uow_factory, clock, shop_settings) -> App:
    """The library over each storage adapter (memory, SQLite, PostgreSQL)."""
    return bootstrap(
        each_adapter_uow_factory,
        RecordingMailer(),
        attrs.evolve(shop_settings, outbox_key=bytes(32)),
        clock=clock,
        hasher=LegacyHasher(FAST_HASHER),
    )


def test_imported_accounts_round_trip_through_every_adapter(stores_app, tmp_path):
    """M1, M2: to complete, SIREN alone, APE, disabled: stored and read back alike."""
    summary = run(
        stores_app,
        tmp_path,
        customer(
            "1",
            addresses=(),
            phone="",
            company="Exemple SA",
            siret="732 829 320",
            ape="62.01Z",
        ),
        customer("2", active=False),
        customer("3", password_hash=WORDPRESS[1]),
    )
    assert summary.imported == 3
    first = account(stores_app, "1")
    assert first.missing == {Missing.PHONE, Missing.ADDRESS, Missing.SIRET}
    assert (first.organisation.siren, first.organisation.ape.code) == (
        "732829320",
        "62.01Z",
    )
    assert first.created_at == CREATED
    assert account(stores_app, "2").status is AccountStatus.DISABLED
    login = stores_app.auth.login("client1@exemple.fr", "motdepasse")
    assert login.to_complete == {Missing.PHONE, Missing.ADDRESS, Missing.SIRET}
    assert stores_app.auth.login("client3@exemple.fr", WORDPRESS[0]).account_id
    with pytest.raises(AuthenticationError):  # disabled: as a wrong password
        stores_app.auth.login("client2@exemple.fr", "motdepasse")


def test_a_source_without_a_count_shows_a_bar_without_total(
    app, tmp_path, capsys, monkeypatch
):
    """O4: records read lazily, total unknown: the bar counts them all the same."""
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    summary = CustomerImporter(app).import_records(
        iter([customer("1"), customer("2")]),
        source="test",
        report=tmp_path / "r.csv",
        progress=True,
    )
    assert summary.imported == 2
    assert "Import" in capsys.readouterr().err


def test_contacts_too_long_for_a_label_leave_the_customers_own_name(app, tmp_path):
    """A1, X1, F3: contact names over 38 characters: reported; the customer's name."""
    long_contact = home(
        "2", first_name="Marie-Christine-Antoinette", last_name="Dupont-Lajoie"
    )
    record = customer(addresses=(home("1"), long_contact), billing_ref="1")
    summary = run(app, tmp_path, record)
    (delivery,) = account(app).addresses.deliveries
    assert delivery.contact_name == "Marie Curie"
    assert report(summary) == [
        ("1", "delivery_contact_name", "import.address_unusable"),
    ]


def test_a_public_bodys_chorus_problems_refuse_it_under_their_columns(app, tmp_path):
    """C3, F8: Chorus Pro data that break C3 refuse the customer, by column."""
    summary = run(
        app,
        tmp_path,
        customer(
            category="collectivité",
            company="Mairie",
            siret=BUSINESS_SIRET,
            chorus_requirement="either",
        ),
    )
    assert report(summary) == [("1", "chorus", "chorus.service_or_engagement_required")]


# -- names too long for an invoice's first line (A4, M1) -----------------------------


def _context() -> ImportContext:
    return ImportContext(keep_hashes=True, languages=available_languages())


def test_m1_a_long_name_keeps_its_last_name_and_shortens_first_names_to_initials():
    """M1, A4: a name over 38 characters comes in, first names as initials, reported."""
    record = ImportedCustomer(
        ref="8",
        email="mc@exemple.fr",
        first_name="Marie-Christine Anne",
        last_name="Dupont-de-la-Rochefoucauld",
    )
    candidate = validate_customer(record, _context())
    assert candidate.name == "M.-C. A. Dupont-de-la-Rochefoucauld"
    (change,) = [c for c in candidate.changes if c.code == "import.name_shortened"]
    assert "Marie-Christine Anne" in change.message("en")


def test_m1_a_name_too_long_even_as_initials_is_refused_with_its_reason():
    """M1: only a name that cannot fit even with initials makes no account."""
    record = ImportedCustomer(
        ref="9", email="x@exemple.fr", first_name="Jean", last_name="X" * 60
    )
    with pytest.raises(ValidationError) as refused:
        validate_customer(record, _context())
    assert [e.path for e in refused.value.errors] == ["name"]


@pytest.mark.parametrize(
    "company",
    ["Société Coopérative Agricole des Producteurs de Lait", "Atelier\u202eMartin"],
)
def test_m1_a_company_name_an_invoice_cannot_hold_is_asked_at_the_next_login(company):
    """M1, M2: a company name too long or unreadable is reported, never refused."""
    record = ImportedCustomer(
        ref="10",
        email="compta@exemple.fr",
        first_name="Claire",
        last_name="Martin",
        company=company,
        siret="73282932000074",
    )
    candidate = validate_customer(record, _context())
    codes = {c.code for c in candidate.changes}
    assert "import.organisation_name_unusable" in codes
    assert "import.to_complete.siret" in codes
    assert candidate.organisation is None
