"""The import of existing customers from CSV (issue 9, item 4; SPEC O4).

Every test states the SPEC rule it checks. The storage-dependent ones run on
memory, SQLite and PostgreSQL (marker ``postgres``) through ``uow_factory``;
the two that import 100,000 lines use SQLite, the embedded default.
"""

from __future__ import annotations

import csv
import gc
import io
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import FAST_HASHER
from data.import_csv import BCRYPT, COLUMNS, MD5, write_customers
from echoppe_accounts import (
    Account,
    AccountStatus,
    AddressForm,
    App,
    AuditEvent,
    AuthenticationError,
    CompletionForm,
    ConsentSource,
    CustomerImporter,
    DeliveryForm,
    EchoppeError,
    FieldError,
    InMemoryStore,
    LegacyHasher,
    MailKind,
    Missing,
    RegistrationForm,
    Settings,
    SQLiteStore,
    StorageError,
    ValidationError,
    bootstrap,
)
from echoppe_accounts.adapters import legacy_hashes
from echoppe_accounts.domain.legacy_hash import (
    PROBE_HASH,
    PROBE_PASSWORD,
    usable_legacy_hash,
)
from echoppe_accounts.entrypoints import _csv_lines
from echoppe_accounts.entrypoints.csv_import import MAX_LINE_BYTES
from echoppe_accounts.service_layer import importer
from echoppe_accounts.service_layer.importer import EXAMPLE
from echoppe_accounts.testing import FrozenClock, RecordingMailer
from sample_forms import form, link_token, links, pending, temporary_password
from spies import SpyHasher

HEADER = ";".join(COLUMNS)


def line(**cells: str) -> str:
    """Return one CSV line of a valid individual customer, with *cells* changed."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        email="jean.dupont@exemple.fr",
        name="Jean Dupont",
        phone="06 12 34 56 78",
        category="particulier",
        billing_street="12 rue des Lilas",
        billing_postal_code="75011",
        billing_city="Paris",
    )
    row.update(cells)
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerow(
        [row[c] for c in COLUMNS]
    )
    return out.getvalue()


def write(folder: Path, *lines: str, header: str = HEADER, name="clients.csv"):
    """Write a CSV file of *lines* under *header* in *folder*; return its path."""
    path = folder / name
    path.write_text(header + "\n" + "".join(lines), encoding="utf-8")
    return path


def report_rows(path: Path) -> list[tuple[int, str, str, str]]:
    """Return the rows of an error report: line, field, code, message."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        assert next(reader) == ["line", "field", "code", "message"]
        return [(int(n), field, code, message) for n, field, code, message in reader]


def make_app(uow_factory, clock, settings, hasher=None) -> App:
    """Wire the library as a shop would, with a cheap argon2id behind bcrypt."""
    return bootstrap(
        uow_factory,
        RecordingMailer(),
        attrs.evolve(settings, outbox_key=bytes(32)),
        clock=clock,
        hasher=hasher or LegacyHasher(FAST_HASHER),
    )


@pytest.fixture
def app(uow_factory, clock, shop_settings) -> App:
    """The library over each storage adapter, checking bcrypt hashes."""
    return make_app(uow_factory, clock, shop_settings)


def run(app: App, source: Path, **options):
    """Import *source* without a progress bar."""
    return CustomerImporter(app).import_csv(source, progress=False, **options)


def audit_records(app: App) -> list:
    """Return every audit record, of any account or none."""
    with app.accounts.uow() as uow:
        store = getattr(uow, "store", None)
        if store is not None and hasattr(store, "audit"):  # in memory
            return list(store.audit)
        conn = uow._conn
        rows = conn.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()
    from echoppe_accounts.adapters._records import audit_from_row  # noqa: PLC0415

    return [audit_from_row(row) for row in rows]


def stored(app: App, email: str) -> Account:
    """Return the account of *email*."""
    account = app.accounts.find_by_email(email)
    assert account is not None
    return account


# -- validation exactly as at sign-up ----------------------------------------------


def test_a_valid_file_creates_one_account_per_line(app, tmp_path):
    """O4, F1–F7: each line becomes an account with what it says."""
    source = write(
        tmp_path,
        line(
            email="Claire.Martin@Exemple.FR",
            name="Claire Martin",
            phone="+33 4 78 12 34 56",
            category="entreprise",
            organisation_name="Exemple SA",
            siret="732 829 320 00074",
            billing_street="3 place Bellecour|Bâtiment B",
            billing_postal_code="69002",
            billing_city="Lyon",
            delivery_contact_name="Service courrier",
            delivery_street="ZI des Bruyères",
            delivery_postal_code="69150",
            delivery_city="Décines-Charpieu",
            delivery_label="Entrepôt",
            password_hash=BCRYPT["motdepasse"],
            newsletter="1",
            newsletter_wording_version="2019-03",
            language="en",
        ),
        line(email="paul@exemple.fr", name="Paul Martin"),
    )
    summary = run(app, source)
    assert (summary.read, summary.imported, summary.invalid) == (2, 2, 0)
    assert summary.report is None
    claire = stored(app, "claire.martin@exemple.fr")
    assert claire.email.address == "Claire.Martin@exemple.fr"
    assert claire.organisation.siret.compact == "73282932000074"
    assert claire.addresses.billing.street_lines == ("3 place Bellecour", "Bâtiment B")
    (delivery,) = claire.addresses.deliveries
    assert (delivery.contact_name, delivery.label) == ("Service courrier", "Entrepôt")
    assert delivery.address.city == "Décines-Charpieu"
    assert claire.language == "en"
    assert claire.status is AccountStatus.ACTIVE
    # Kept wrapped in argon2id: the bcrypt hash itself is not stored (M3).
    assert claire.password_hash.startswith(
        "$bcrypt-argon2id$" + BCRYPT["motdepasse"][1:29]
    )
    assert BCRYPT["motdepasse"][29:] not in claire.password_hash
    (consent,) = claire.newsletter
    assert (consent.source, consent.wording_version) == (
        ConsentSource.IMPORT,
        "2019-03",
    )
    paul = stored(app, "paul@exemple.fr")
    (delivery,) = paul.addresses.deliveries
    # Empty delivery cells: the billing address, the customer's name (O4).
    assert delivery.address == paul.addresses.billing
    assert delivery.contact_name == "Paul Martin"
    assert not paul.newsletter  # F7: off unless the line says 1


def test_every_problem_of_a_line_is_reported_with_its_column(app, tmp_path):
    """F8, O4: all the problems of a line, by column, code and French message."""
    source = write(
        tmp_path,
        line(email="ok@exemple.fr"),
        line(
            email="pas-une-adresse",
            billing_postal_code="7501",
            delivery_street="1 rue X",
            delivery_postal_code="75001",
            delivery_city="Paris",
            delivery_country="XX",
            newsletter="oui",
        ),
    )
    summary = run(app, source)
    assert (summary.read, summary.imported, summary.invalid) == (2, 1, 1)
    assert summary.report == tmp_path / "clients.csv.errors.csv"
    rows = report_rows(summary.report)
    # The addresses' problems refuse nothing (M1): only what makes no account.
    assert [(n, field, code) for n, field, code, _ in rows] == [
        (3, "email", "email.invalid"),
        (3, "newsletter", "import.boolean_invalid"),
    ]
    for _, field, code, message in rows:
        assert message == FieldError(field, code).message("fr")


SIGNUP_MISTAKES = [
    {"email": "pas-une-adresse"},
    {"name": ""},
    {"category": "client"},
    {"siret": "73282932000074"},
    {"newsletter": "1"},
    {"name": "Jean\u200bDupont"},
]
"""What makes no account: refused with the codes sign-up gives (M1)."""


def signup(**cells: str) -> RegistrationForm:
    """Return the registration form a customer would type for :func:`line`'s cells."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        email="jean.dupont@exemple.fr",
        name="Jean Dupont",
        phone="06 12 34 56 78",
        category="particulier",
        billing_street="12 rue des Lilas",
        billing_postal_code="75011",
        billing_city="Paris",
    )
    row.update(cells)
    address = AddressForm(
        row["billing_street"].split("|"),
        row["billing_postal_code"],
        row["billing_city"],
        row["billing_country"] or "FR",
    )
    return RegistrationForm(
        category=row["category"],
        email=row["email"],
        phone=row["phone"],
        name=row["name"],
        password="une phrase de passe solide",
        organisation_name=row["organisation_name"],
        siret=row["siret"],
        billing_address=address,
        delivery_addresses=[DeliveryForm(row["name"], address)],
        newsletter=row["newsletter"] == "1",
        newsletter_wording_version=row["newsletter_wording_version"],
        language=row["language"],
    )


@pytest.mark.parametrize("mistake", SIGNUP_MISTAKES)
def test_a_line_is_refused_with_the_codes_sign_up_gives(app, tmp_path, mistake):
    """O4, F8, M1: what makes no account gets the codes sign-up gives."""
    summary = run(app, write(tmp_path, line(**mistake)))
    imported = {code for _, _, code, _ in report_rows(summary.report)}
    with pytest.raises(ValidationError) as info:
        app.accounts.register(signup(**mistake))
    assert imported == info.value.codes


def test_a_password_hash_skips_the_policy_but_nothing_else(app, tmp_path):
    """O4, P2: a hash is no password to check; the line's fields are checked."""
    source = write(
        tmp_path,
        # "motdepasse" would fail the policy at sign-up (common, personal).
        line(email="motdepasse@exemple.fr", password_hash=BCRYPT["motdepasse"]),
        line(email="x@", password_hash=BCRYPT["motdepasse"]),
    )
    summary = run(app, source)
    assert (summary.imported, summary.invalid) == (1, 1)
    assert [(n, code) for n, _, code, _ in report_rows(summary.report)] == [
        (3, "email.invalid")
    ]


# -- idempotence, duplicates, existing accounts ------------------------------------


def test_a_second_run_adds_nothing(app, clock, tmp_path):
    """O4: an email that already has an account is left untouched (idempotent)."""
    source = write(
        tmp_path,
        line(email="a@exemple.fr"),
        line(email="b@exemple.fr", password_hash=BCRYPT["motdepasse"]),
        line(email="c@exemple.fr", name=""),
    )
    first = run(app, source)
    assert (first.imported, first.invited, first.invalid) == (2, 1, 1)
    mails = len(pending(app.accounts))
    clock.advance(timedelta(minutes=5))
    second = run(app, source)
    assert (second.imported, second.already_present, second.invalid) == (0, 2, 1)
    assert second.invited == 0
    assert len(pending(app.accounts)) == mails
    with app.accounts.uow() as uow:
        assert uow.accounts.count() == 2


def test_a_line_present_before_the_run_is_counted_present_even_if_invalid(
    app, tmp_path
):
    """O4: an email with an account is left alone, whatever its line now holds."""
    app.accounts.register(form(email="jean.dupont@exemple.fr"))
    source = write(
        tmp_path,
        line(email="Jean.Dupont@exemple.fr", name="", billing_postal_code="7"),
        line(email="autre@exemple.fr", name=""),
    )
    summary = run(app, source)
    assert (summary.already_present, summary.invalid, summary.imported) == (1, 1, 0)
    assert [row[0] for row in report_rows(summary.report)] == [3]


def test_the_audit_trail_tells_each_imported_account_and_the_run(app, tmp_path):
    """O4, G1: each account says it was brought over; the run is recorded."""
    source = write(
        tmp_path,
        line(email="a@exemple.fr"),
        line(email="b@exemple.fr", password_hash=BCRYPT["motdepasse"]),
        line(email="c@exemple.fr", name=""),
    )
    run(app, source)
    account = stored(app, "a@exemple.fr")
    with app.accounts.uow() as uow:
        (record,) = uow.audit.for_account(account.id)
    assert (record.event, record.actor) == (AuditEvent.ACCOUNT_IMPORTED, "system")
    page = app.privacy.export_personal_data(account.id).as_html()
    assert "Votre compte a été repris de notre ancien site." in page
    finished = [
        r
        for r in audit_records(app)
        if r.event is AuditEvent.CUSTOMERS_IMPORTED and r.account_id is None
    ]
    assert [{k: v for k, v in r.details.items() if k != "run"} for r in finished] == [
        {
            "file": str(source)[-200:],
            "read": "3",
            "imported": "2",
            "already_present": "0",
            "invalid": "1",
            "invited": "1",
            "to_complete": "phone:0,address:0,siret:0",
            "disabled": "0",
            "guests": "0",
            "changes": "0",
        }
    ]
    assert finished[0].details["run"] == record.details["run"]


def test_batches_skip_the_disk_and_the_import_ends_on_it(
    uow_factory, clock, shop_settings, tmp_path
):
    """O4: only the last commit of an import waits for the disk, after every batch.

    Losing the last batches to a power cut costs a rerun (the import is
    idempotent); once the import returns, everything is on disk.
    """
    commits: list[bool] = []

    class Spy:
        def __init__(self, *, durable=True):
            self._inner, self._durable = uow_factory(durable=durable), durable

        def __enter__(self):
            self._inner.__enter__()
            return self

        def __exit__(self, *exc):
            return self._inner.__exit__(*exc)

        def commit(self):
            commits.append(self._durable)
            self._inner.commit()

        def __getattr__(self, name):
            return getattr(self._inner, name)

    app = make_app(Spy, clock, shop_settings)
    source = write(tmp_path, *(line(email=f"c{i}@exemple.fr") for i in range(5)))
    summary = run(app, source, batch_size=2)
    assert summary.imported == 5
    assert commits == [False, False, False, True]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was(app, tmp_path, enabled):
    """The import never touches the process-wide garbage collector (issue 22).

    Other threads of a web server share it: it stays enabled or disabled
    as the program set it, during the import and after.
    """
    seen = []
    real = importer._Run._flush

    def flush(self):
        seen.append(gc.isenabled())
        real(self)

    source = write(tmp_path, *(line(email=f"c{i}@exemple.fr") for i in range(3)))
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(importer._Run, "_flush", flush)
            run(app, source, batch_size=2)
            assert seen == [enabled, enabled]
            assert gc.isenabled() is enabled
            patch.setattr(importer._Run, "_flush", lambda _self: 1 / 0)
            with pytest.raises(ZeroDivisionError):
                run(app, write(tmp_path, line(email="z@exemple.fr"), name="z.csv"))
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_the_same_run_twice_without_the_clock_moving_adds_nothing(app, tmp_path):
    """O4: idempotence does not rest on the clock (a frozen one here)."""
    source = write(tmp_path, line(email="a@exemple.fr"), line(email="b@exemple.fr"))
    run(app, source)
    second = run(app, source)
    assert (second.imported, second.already_present, second.invalid) == (0, 2, 0)


def test_a_second_line_with_the_same_email_is_refused(app, tmp_path):
    """O4, F1: two lines with one canonical email: the second is email.taken."""
    lines = [line(email=f"c{i}@exemple.fr") for i in range(5)]
    lines[3] = line(email="C0@Exemple.FR", name="Autre Personne")
    summary = run(app, write(tmp_path, *lines), batch_size=2)
    assert (summary.imported, summary.invalid) == (4, 1)
    assert [(n, f, c) for n, f, c, _ in report_rows(summary.report)] == [
        (5, "email", "email.taken")
    ]
    assert stored(app, "c0@exemple.fr").name == "Jean Dupont"


def test_a_customer_who_already_has_an_account_is_left_untouched(app, tmp_path):
    """O4: an existing account keeps its data, password and mails."""
    account = app.accounts.register(form(email="jean.dupont@exemple.fr"))
    source = write(tmp_path, line(email="JEAN.DUPONT@exemple.fr", name="Autre Nom"))
    before = len(pending(app.accounts))
    summary = run(app, source)
    assert (summary.read, summary.already_present, summary.imported) == (1, 1, 0)
    after = stored(app, "jean.dupont@exemple.fr")
    assert (after.id, after.name) == (account.id, "Jean Dupont")
    assert after.password_hash == account.password_hash
    assert len(pending(app.accounts)) == before


# -- passwords: bcrypt kept, others invited ----------------------------------------


def test_a_prestashop_bcrypt_hash_logs_in_once_then_is_argon2id(app, tmp_path):
    """P1, P5: a $2y$ hash checks the old password once, then argon2id replaces it."""
    run(app, write(tmp_path, line(password_hash=BCRYPT["motdepasse"])))
    with pytest.raises(AuthenticationError):
        app.auth.login("jean.dupont@exemple.fr", "motdepasse2")
    assert app.auth.login("jean.dupont@exemple.fr", "motdepasse").account_id
    upgraded = stored(app, "jean.dupont@exemple.fr").password_hash
    assert upgraded.startswith("$argon2id$")
    assert app.auth.login("jean.dupont@exemple.fr", "motdepasse").account_id
    with pytest.raises(AuthenticationError):
        app.auth.login("jean.dupont@exemple.fr", "Motdepasse")
    assert stored(app, "jean.dupont@exemple.fr").password_hash == upgraded


@pytest.mark.parametrize("prefix", ["$2y$", "$2a$", "$2b$"])
def test_every_bcrypt_prefix_is_kept_and_checked(app, tmp_path, prefix):
    """O4, P1: PHP writes $2y$, other libraries $2a$ or $2b$: one algorithm."""
    hashed = prefix + BCRYPT["soleil2019"][4:]
    summary = run(app, write(tmp_path, line(password_hash=hashed)))
    assert (summary.imported, summary.invited) == (1, 0)
    assert app.auth.login("jean.dupont@exemple.fr", "soleil2019").account_id


def test_a_bcrypt_login_and_an_unknown_email_cost_the_same_checks(
    uow_factory, clock, shop_settings, tmp_path
):
    """P3, P5: a $2y$ account and an unknown email: one check each, no hash."""
    spy = SpyHasher(LegacyHasher(FAST_HASHER))
    app = make_app(uow_factory, clock, shop_settings, hasher=spy)
    run(app, write(tmp_path, line(password_hash=BCRYPT["motdepasse"])))
    # The process's first login makes the dummy hash, whatever its email.
    with pytest.raises(AuthenticationError):
        app.auth.login("premier@exemple.fr", "pas le bon")
    costs = {}
    for email in ("jean.dupont@exemple.fr", "inconnu@exemple.fr"):
        before = spy.calls.copy()
        with pytest.raises(AuthenticationError):
            app.auth.login(email, "pas le bon")
        costs[email] = spy.calls - before
    assert costs["jean.dupont@exemple.fr"] == costs["inconnu@exemple.fr"]
    assert costs["inconnu@exemple.fr"] == {"verify": 1}
    before = spy.calls.copy()
    app.auth.login("jean.dupont@exemple.fr", "motdepasse")
    assert spy.calls - before == {"verify": 1, "hash": 1}  # the upgrade (P1)


def test_a_bcrypt_check_lasts_as_long_as_a_current_one(monkeypatch):
    """P5: a bcrypt check waits for what remains of a current check's usual time."""
    current = SpyHasher(FAST_HASHER)
    hasher = LegacyHasher(current)
    assert hasher.verify(PROBE_HASH, PROBE_PASSWORD)  # nothing learnt yet:
    assert current.calls["verify"] == 1  # a current check's real work
    waits = []
    hasher._typical = 5.0  # as if a current check took five seconds
    monkeypatch.setattr(legacy_hashes.time, "sleep", waits.append)
    assert not hasher.verify(PROBE_HASH, "wrong")
    (wait,) = waits
    assert 0 < wait <= 5  # what remains of the five seconds, no current check
    assert current.calls["verify"] == 1


@pytest.mark.parametrize(
    ("text", "usable"),
    [
        (BCRYPT["motdepasse"], True),
        ("  " + BCRYPT["motdepasse"] + " ", True),
        ("$2x$" + BCRYPT["motdepasse"][4:], False),  # crypt_blowfish's buggy one
        ("$2y$13$" + BCRYPT["motdepasse"][7:], False),  # dearer than the cap
        ("$2y$03$" + BCRYPT["motdepasse"][7:], False),  # no such cost
        (BCRYPT["motdepasse"][:-1], False),
        (MD5, False),  # PrestaShop 1.6: md5(_COOKIE_KEY_ . password)
        ("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", False),
        ("$2y$10$" + "N" * 10_000, False),
    ],
)
def test_only_bcrypt_hashes_are_usable(text, usable):
    """O4, P1: bcrypt of cost 4 to 12 is kept; MD5 and anything else are not."""
    assert (usable_legacy_hash(text) is not None) is usable


def test_a_bcrypt_hash_bcrypt_refuses_or_an_unreadable_password_never_match():
    """P1, F9: a salt bcrypt refuses and a lone surrogate are mismatches."""
    hasher = LegacyHasher(FAST_HASHER)
    assert not hasher.verify("$2y$04$" + "z" * 53, "x")
    assert not hasher.verify(PROBE_HASH, "\ud800")
    assert not hasher.verify("$2y$13$" + PROBE_HASH[7:], PROBE_PASSWORD)
    assert hasher.verify(PROBE_HASH, PROBE_PASSWORD)


def test_an_unusable_hash_invites_the_customer(app, tmp_path):
    """X2, O4: MD5, empty or unknown hashes: an express account and a mail."""
    source = write(
        tmp_path,
        line(email="md5@exemple.fr", password_hash=MD5),
        line(email="rien@exemple.fr"),
        line(email="bizarre@exemple.fr", password_hash="{SSHA}abc"),
    )
    summary = run(app, source)
    assert (summary.imported, summary.invited) == (3, 3)
    mails = pending(app.accounts)
    assert sorted(m.to for m in mails) == [
        "bizarre@exemple.fr",
        "md5@exemple.fr",
        "rien@exemple.fr",
    ]
    assert {m.kind for m in mails} == {MailKind.SET_PASSWORD}
    account = stored(app, "md5@exemple.fr")
    assert account.status is AccountStatus.EXPRESS
    assert account.password_hash is None
    with pytest.raises(AuthenticationError):
        app.auth.login("md5@exemple.fr", "")


def test_an_invited_customer_completes_the_account_from_the_mail(app, tmp_path):
    """X2: the set-password mail's link completes the imported account."""
    run(app, write(tmp_path, line(password_hash=MD5)))
    app.dispatcher.dispatch()
    (mail,) = app.dispatcher.mailer.of_kind(MailKind.SET_PASSWORD)
    assert mail.to == "jean.dupont@exemple.fr"
    account = app.accounts.complete_express(
        link_token(mail),
        CompletionForm(password="une phrase de passe solide", phone="06 12 34 56 78"),
    )
    assert account.status is AccountStatus.ACTIVE
    assert account.id == stored(app, "jean.dupont@exemple.fr").id
    login = app.auth.login("jean.dupont@exemple.fr", "une phrase de passe solide")
    assert login.account_id == account.id


def test_an_invited_customer_can_use_the_reset_instead(app, tmp_path):
    """R1–R4, X2: once the link is lost, the two-step reset sets a password."""
    run(app, write(tmp_path, line()))
    app.auth.request_password_reset("jean.dupont@exemple.fr")
    confirm = next(m for m in pending(app.accounts) if m.kind is MailKind.RESET_CONFIRM)
    app.auth.confirm_password_reset(links(confirm)["confirmer"])
    temporary = next(
        m for m in pending(app.accounts) if m.kind is MailKind.TEMPORARY_PASSWORD
    )
    restricted = app.auth.login("jean.dupont@exemple.fr", temporary_password(temporary))
    app.auth.set_new_password(
        restricted.change_token.reveal(), "une phrase de passe solide"
    )
    assert stored(app, "jean.dupont@exemple.fr").status is AccountStatus.ACTIVE
    assert app.auth.login("jean.dupont@exemple.fr", "une phrase de passe solide")


def test_bcrypt_hashes_are_not_kept_when_the_hasher_cannot_check_them(
    uow_factory, clock, shop_settings, tmp_path
):
    """O4, X2: with a hasher that knows no bcrypt, the customer is invited."""
    app = make_app(uow_factory, clock, shop_settings, hasher=FAST_HASHER)
    summary = run(app, write(tmp_path, line(password_hash=BCRYPT["motdepasse"])))
    assert (summary.imported, summary.invited) == (1, 1)
    assert stored(app, "jean.dupont@exemple.fr").password_hash is None


# -- storage failures ------------------------------------------------------------------


class RefusingAccounts:
    """Accounts that the storage refuses for one email, or for every email."""

    def __init__(self, inner, refused: Callable[[str], bool], retryable: bool):
        self._inner, self._refused, self._retryable = inner, refused, retryable

    def add(self, *accounts):
        if any(self._refused(account.email.address) for account in accounts):
            if self._retryable is None:  # as if registered meanwhile
                raise ValidationError.single("email", "email.taken")
            msg = "refused by the test"
            raise StorageError(msg, retryable=self._retryable)
        self._inner.add(*accounts)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def refusing(factory, refused, *, retryable=False):
    """Return a unit-of-work factory whose accounts refuse what *refused* says."""

    class Wrapped:
        def __init__(self, *, durable=True):
            self._inner = factory(durable=durable)

        def __enter__(self):
            self._inner.__enter__()
            self.accounts = RefusingAccounts(self._inner.accounts, refused, retryable)
            return self

        def __exit__(self, *exc):
            return self._inner.__exit__(*exc)

        def __getattr__(self, name):
            return getattr(self._inner, name)

    return Wrapped


def test_one_line_the_storage_refuses_does_not_sink_its_batch(
    uow_factory, clock, shop_settings, tmp_path
):
    """O4: a refused batch is written again line by line; only that line fails."""
    app = make_app(
        refusing(uow_factory, lambda email: email == "c3@exemple.fr"),
        clock,
        shop_settings,
    )
    lines = [line(email=f"c{i}@exemple.fr") for i in range(10)]
    summary = run(app, write(tmp_path, *lines), batch_size=5)
    assert (summary.imported, summary.invalid, summary.invited) == (9, 1, 9)
    assert [(n, f, c) for n, f, c, _ in report_rows(summary.report)] == [
        (5, "", "import.storage_refused")
    ]
    assert len(pending(app.accounts)) == 9  # no mail for the refused line


def test_an_unavailable_storage_stops_the_import_and_a_rerun_finishes(
    uow_factory, clock, shop_settings, tmp_path
):
    """O3, O4: a retryable failure stops the import; what was written stays."""
    broken = make_app(
        refusing(uow_factory, lambda email: email >= "c5", retryable=True),
        clock,
        shop_settings,
    )
    source = write(tmp_path, *(line(email=f"c{i}@exemple.fr") for i in range(10)))
    with pytest.raises(StorageError):
        run(broken, source, batch_size=5)
    app = make_app(uow_factory, clock, shop_settings)
    clock.advance(timedelta(minutes=1))
    summary = run(app, source, batch_size=5)
    assert (summary.already_present, summary.imported) == (5, 5)


def test_a_storage_refusing_every_line_stops_the_import(
    uow_factory, clock, shop_settings, tmp_path
):
    """O3, O4: when no line of a batch can be written, the storage is at fault."""
    app = make_app(refusing(uow_factory, lambda _: True), clock, shop_settings)
    source = write(tmp_path, *(line(email=f"c{i}@exemple.fr") for i in range(4)))
    with pytest.raises(StorageError):
        run(app, source, batch_size=4)


def test_one_line_batches_report_a_refused_line_and_stop_when_unavailable(
    uow_factory, clock, shop_settings, tmp_path
):
    """O3, O4: with one line a batch, a refusal is that line's, an outage stops."""
    source = write(tmp_path, *(line(email=f"c{i}@exemple.fr") for i in range(3)))
    refusing_one = make_app(
        refusing(uow_factory, lambda email: email == "c1@exemple.fr"),
        clock,
        shop_settings,
    )
    summary = run(refusing_one, source, batch_size=1)
    assert (summary.imported, summary.invalid) == (2, 1)
    assert [c for _, _, c, _ in report_rows(summary.report)] == [
        "import.storage_refused"
    ]
    unavailable = make_app(
        refusing(uow_factory, lambda email: email == "c1@exemple.fr", retryable=True),
        clock,
        shop_settings,
    )
    with pytest.raises(StorageError):
        run(unavailable, source, batch_size=1)


def test_an_email_registered_during_the_import_counts_as_present(
    uow_factory, clock, shop_settings, tmp_path
):
    """O4, X3: an account made by someone else between look-up and write wins."""
    app = make_app(
        refusing(uow_factory, lambda email: email == "b@exemple.fr", retryable=None),
        clock,
        shop_settings,
    )
    source = write(tmp_path, line(email="a@exemple.fr"), line(email="b@exemple.fr"))
    summary = run(app, source)
    assert (summary.imported, summary.already_present, summary.invalid) == (1, 1, 0)
    assert app.accounts.find_by_email("b@exemple.fr") is None


# -- the file -----------------------------------------------------------------------


def refused(callable_, *args, **kwargs) -> set[str]:
    """Return the codes of the ValidationError that *callable_* raises."""
    with pytest.raises(ValidationError) as info:
        callable_(*args, **kwargs)
    return set(info.value.codes)


@pytest.fixture
def memory_app(clock, shop_settings) -> App:
    """The library over an in-memory store, for tests about the file itself."""
    return make_app(InMemoryStore().unit_of_work, clock, shop_settings)


def test_a_file_that_is_not_utf8_is_refused_whole(memory_app, tmp_path):
    """O4, F9: Windows-1252 is refused before any line is imported, with its line."""
    source = tmp_path / "clients.csv"
    text = HEADER + "\n" + line(email="a@exemple.fr") + line(name="Élodie Dupont")
    source.write_bytes(text.encode("cp1252"))
    with pytest.raises(ValidationError) as info:
        run(memory_app, source)
    (error,) = info.value.errors
    assert (error.code, error.params["line"]) == ("import.not_utf8", 3)
    assert "3" in error.message("fr")
    assert memory_app.accounts.find_by_email("a@exemple.fr") is None


@pytest.mark.parametrize(
    ("header", "codes"),
    [
        ("", {"import.no_header"}),
        ("\n", {"import.no_header"}),
        (HEADER.replace("email;", ""), {"import.missing_column"}),
        (HEADER + ";e-mail", {"import.unknown_column"}),
        (HEADER + ";phone", {"import.duplicate_column"}),
        (line().strip(), {"import.unknown_column", "import.missing_column"}),
        ("email\r;name", {"import.no_header"}),
        ("x" * (MAX_LINE_BYTES + 1), {"import.no_header"}),
    ],
)
def test_a_wrong_header_is_refused_before_any_line(memory_app, tmp_path, header, codes):
    """O4: the first line names the columns; a wrong one stops everything."""
    source = tmp_path / "clients.csv"
    source.write_text(header + ("\n" + line() if header.strip() else ""))
    assert refused(run, memory_app, source) == codes
    assert memory_app.accounts.find_by_email("jean.dupont@exemple.fr") is None


def test_a_file_cut_inside_a_character_is_not_utf8(memory_app, tmp_path):
    """O4, F9: a last character cut in the middle is refused like any bad byte."""
    source = tmp_path / "clients.csv"
    source.write_bytes((HEADER + "\n" + line().rstrip("\n") + "é").encode()[:-1])
    with pytest.raises(ValidationError) as info:
        run(memory_app, source)
    assert info.value.errors[0].params == {"line": 2}


def test_a_file_changed_during_the_import_is_refused_from_that_line(
    memory_app, tmp_path, monkeypatch
):
    """O4: a line that stopped being UTF-8 since the check stops the import there."""
    source = tmp_path / "clients.csv"
    text = HEADER + "\n" + line(email="a@exemple.fr") + line(name="Élodie Dupont")
    source.write_bytes(text.encode("cp1252"))
    monkeypatch.setattr(_csv_lines, "check_encoding", lambda _: 3)  # as if valid
    with pytest.raises(ValidationError) as info:
        run(memory_app, source, batch_size=1)
    (error,) = info.value.errors
    assert (error.code, error.params["line"]) == ("import.not_utf8", 3)
    assert memory_app.accounts.find_by_email("a@exemple.fr")


def test_a_missing_file_is_a_validation_error(memory_app, tmp_path):
    """O4, F8: a file that cannot be read says so in words, no traceback."""
    assert refused(run, memory_app, tmp_path / "absent.csv") == {
        "import.file_unreadable"
    }
    assert refused(run, memory_app, tmp_path) == {"import.file_unreadable"}


def test_the_report_cannot_replace_the_input(memory_app, tmp_path):
    """O4: the report is never written over the file being imported."""
    source = write(tmp_path, line(phone="12"))
    assert refused(run, memory_app, source, report=source) == {
        "import.report_unwritable"
    }
    assert refused(
        run, memory_app, source, report=tmp_path / "absent" / "report.csv"
    ) == {"import.report_unwritable"}


def test_comma_separator_bom_crlf_and_quoted_line_breaks(memory_app, tmp_path):
    """O4: ',' files, Excel's byte-order mark, CRLF and multi-line cells are read."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=",", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        email="a@exemple.fr",
        name="Dupont, Jean",
        phone="06 12 34 56 78",
        category="particulier",
        billing_street="12 rue des Lilas\nBâtiment B",
        billing_postal_code="75011",
        billing_city="Paris",
    )
    writer.writerow([row[c] for c in COLUMNS])
    writer.writerow([{**row, "email": "b@", "phone": "1"}[c] for c in COLUMNS])
    source = tmp_path / "clients.csv"
    source.write_bytes(out.getvalue().encode("utf-8-sig"))
    summary = run(memory_app, source)
    assert (summary.imported, summary.invalid) == (1, 1)
    account = stored(memory_app, "a@exemple.fr")
    assert account.addresses.billing.street_lines == ("12 rue des Lilas", "Bâtiment B")
    # The second record starts on line 4: the first one spans lines 2 and 3.
    assert [(n, c) for n, _, c, _ in report_rows_comma(summary.report)] == [
        (4, "email.invalid")
    ]


def report_rows_comma(path: Path):
    """Return the rows of a report written with ',' as separator."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [(int(r[0]), *r[1:]) for r in list(csv.reader(handle))[1:]]


def test_broken_lines_are_reported_and_the_rest_imported(memory_app, tmp_path):
    """O4, F9: short, long, oversized and unclosed lines are reported by number."""
    source = write(
        tmp_path,
        line(email="a@exemple.fr"),
        "b@exemple.fr;Jean\n",  # line 3: two cells
        line(email="c@exemple.fr").rstrip("\n") + ";;;extra\n",  # line 4
        line(email="d@exemple.fr").rstrip("\n") + ";;;\n",  # line 5: empty extras
        "\n",  # line 6: blank, skipped
        "x" * (MAX_LINE_BYTES + 10) + "\n",  # line 7: too long to read
        line(email="e@exemple.fr"),  # line 8
        "x" * (3 * MAX_LINE_BYTES) + "\n",  # line 9: three times too long
        "old;mac\rline\n",  # line 10: a carriage return the reader refuses
        'f@exemple.fr;"Jean\n',  # line 11: a quote left open, then
        *(["y" * 60_000 + "\n"] * 3),  # lines 12-14 swallowed, past the cell limit
        line(email="g@exemple.fr"),  # line 15
        'h@exemple.fr;"Jean\n',  # line 16: a quote never closed, to the end
        line(email="i@exemple.fr"),  # line 17, swallowed by the open quote
    )
    summary = run(memory_app, source)
    rows = [(n, f, c) for n, f, c, _ in report_rows(summary.report)]
    assert rows[:6] == [
        (3, "", "import.cell_count"),
        (4, "", "import.cell_count"),
        (7, "", "import.line_too_long"),
        (9, "", "import.line_too_long"),
        (10, "", "import.malformed_line"),
        (11, "", "import.malformed_line"),
    ]
    assert rows[6][0] == 16
    assert (summary.imported, summary.invalid, summary.read) == (4, 7, 11)
    for email in ("a", "d", "e", "g"):
        assert memory_app.accounts.find_by_email(f"{email}@exemple.fr")


def test_the_report_is_removed_when_a_rerun_finds_no_error(memory_app, tmp_path):
    """O4: the report beside the file always describes the last run."""
    source = write(tmp_path, line(phone="12"))
    first = run(memory_app, source)
    assert first.report.exists()
    write(tmp_path, line(phone="06 12 34 56 78"))
    second = run(memory_app, source)
    assert second.report is None
    assert not first.report.exists()


def test_a_report_that_cannot_be_written_stops_the_import(memory_app, tmp_path):
    """O4: a report path that is a folder: a clear error, no traceback."""
    folder = tmp_path / "rapport"
    folder.mkdir()
    assert run(memory_app, write(tmp_path, line()), report=folder).report is None
    assert folder.is_dir()  # a folder is no report to remove
    assert refused(
        run, memory_app, write(tmp_path, line(email="b@x.fr", phone="1")), report=folder
    ) == {"import.report_unwritable"}


def test_a_file_that_is_no_report_is_never_removed(memory_app, tmp_path):
    """O4: only an earlier error report is removed by a run without errors."""
    keep = tmp_path / "notes.csv"
    keep.write_text("line;other\n", encoding="utf-8")
    summary = run(memory_app, write(tmp_path, line()), report=keep)
    assert summary.report is None
    assert keep.read_text(encoding="utf-8") == "line;other\n"


def test_the_report_goes_where_asked(memory_app, tmp_path):
    """O4: a report path of the caller's choosing."""
    target = tmp_path / "rapport.csv"
    summary = run(memory_app, write(tmp_path, line(email="x")), report=target)
    assert summary.report == target
    assert [c for _, _, c, _ in report_rows(target)] == ["email.invalid"]
    assert not (tmp_path / "clients.csv.errors.csv").exists()


def test_the_library_prints_nothing_and_shows_a_bar_only_when_asked(
    memory_app, tmp_path, capsys, monkeypatch
):
    """O4: no output when piped; a tqdm bar on stderr on a terminal or on request."""
    source = write(tmp_path, line(email="a@exemple.fr"), line(email="b@exemple.fr"))
    CustomerImporter(memory_app).import_csv(source)  # stderr is not a terminal
    assert capsys.readouterr() == ("", "")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    CustomerImporter(memory_app).import_csv(source)
    out, err = capsys.readouterr()
    assert out == ""
    assert "Import" in err
    assert "2/2" in err
    CustomerImporter(memory_app).import_csv(source, progress=False)
    assert capsys.readouterr() == ("", "")


def test_no_standard_error_means_no_bar(memory_app, tmp_path, monkeypatch):
    """O4: without a standard error (pythonw), asked for a bar or not, none."""
    monkeypatch.setattr(sys, "stderr", None)
    source = write(tmp_path, line())
    assert CustomerImporter(memory_app).import_csv(source, progress=True).imported


def test_a_batch_size_below_one_is_a_programming_error(memory_app, tmp_path):
    """O4: batch_size counts lines per transaction; zero makes no sense."""
    with pytest.raises(ValueError, match="batch_size"):
        run(memory_app, write(tmp_path, line()), batch_size=0)


def test_the_example_of_the_documentation_imports(memory_app, tmp_path):
    """O4: the documented example file gives the documented result."""
    source = tmp_path / "clients.csv"
    source.write_text(EXAMPLE, encoding="utf-8")
    summary = run(memory_app, source)
    assert (summary.read, summary.imported, summary.invited, summary.invalid) == (
        4,
        3,
        2,
        1,
    )
    assert summary.to_complete == {
        Missing.PHONE: 1,
        Missing.ADDRESS: 1,
        Missing.SIRET: 1,
    }


# -- hostile input -------------------------------------------------------------------

CELL = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", ";", '"', "\n", "\r", "\x00", "|", "\ud800", "é" * 40]),
    st.just("x" * 100_000),
)


FILE_CODES = {
    "import.not_utf8",
    "import.no_header",
    "import.missing_column",
    "import.unknown_column",
    "import.duplicate_column",
    "form.too_many_errors",
}
"""What a file as a whole may be refused for."""


@st.composite
def hostile_files(draw) -> bytes:
    """Return the bytes of a CSV-ish file: good header or not, any cells."""
    kind = draw(st.sampled_from(["header", "random", "binary"]))
    if kind == "binary":
        return draw(st.binary(max_size=2000))
    if kind == "header":
        columns = draw(
            st.lists(st.sampled_from(COLUMNS), unique=True, min_size=1)
            | st.just(list(COLUMNS))
        )
    else:
        columns = draw(st.lists(CELL, max_size=30))
    rows = draw(st.lists(st.lists(CELL, max_size=40), max_size=6))
    delimiter = draw(st.sampled_from([";", ",", "\t"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    # Surrogates cannot be UTF-8: they become bytes no UTF-8 reader accepts.
    return out.getvalue().encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def hostile_app() -> App:
    """One library over memory for every hostile example."""
    return make_app(
        InMemoryStore().unit_of_work,
        FrozenClock(),
        Settings(base_url="https://www.lechoppe.fr"),
    )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=hostile_files())
@example(content=b"\xff\xfe" + "email;name".encode("utf-16-le"))
@example(
    content=(HEADER + "\n" + line(email="\udcff@x.fr")).encode("utf-8", "surrogatepass")
)
@example(content=(HEADER + "\n" + ";" * 5000 + "\n").encode())
@example(content=(HEADER + "\n" + "a;" * 40_000 + "\n").encode())
def test_any_file_gives_a_summary_or_a_validation_error(hostile_app, content):
    """F8, F9, O4: no other exception, whatever the bytes; counts add up."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "clients.csv")
        source.write_bytes(content)
        codes: frozenset[str] = frozenset()
        try:
            summary = run(hostile_app, source)
        except ValidationError as exc:
            codes = exc.codes
        except EchoppeError as exc:  # pragma: no cover (shown if it happens)
            pytest.fail(f"unexpected {exc!r}")
        if codes:
            assert codes <= FILE_CODES
            return
        assert summary.imported + summary.already_present + summary.invalid == (
            summary.read
        )
        if summary.invalid:
            rows = report_rows_any(summary.report)
            assert len({n for n, *_ in rows}) == summary.invalid


def report_rows_any(path: Path):
    """Return the rows of a report whatever its separator."""
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=text[len("line")]))
    return [(int(r[0]), *r[1:]) for r in rows[1:]]


# -- 100,000 lines ---------------------------------------------------------------------


def sqlite_app(folder: Path, name: str, clock, settings) -> App:
    """The embedded default: a SQLite file of its own."""
    return make_app(
        SQLiteStore(folder / f"{name}.sqlite3").unit_of_work, clock, settings
    )


@pytest.mark.slow
def test_100000_lines_with_5_percent_bad_report_exactly_the_bad_ones(
    tmp_path, clock, shop_settings
):
    """O4 (issue 9, Checked by): the report lists exactly the bad lines.

    A second run adds nothing.
    """
    source = tmp_path / "clients.csv"
    generated = write_customers(source, 100_000, seed=2026, bad_share=0.05)
    assert len(generated.bad) == 5_000
    app = sqlite_app(tmp_path, "accounts", clock, shop_settings)
    first = run(app, source)
    expected = {(n, field, code) for n, (field, code) in generated.bad.items()}
    found = {(n, field, code) for n, field, code, _ in report_rows(first.report)}
    assert found == expected
    assert len(report_rows(first.report)) == 5_000  # one problem per bad line
    assert (first.read, first.invalid) == (100_000, 5_000)
    assert (first.imported, first.already_present) == (95_000, 0)
    assert first.invited == generated.invited
    with app.accounts.uow() as uow:
        assert uow.accounts.count() == 95_000
        assert uow.outbox.pending_count() == generated.invited

    clock.advance(timedelta(minutes=1))
    second = run(app, source)
    assert second.imported == 0
    assert second.invited == 0
    # The lines that repeated an email now find its account: already present.
    duplicates = len(generated.duplicates)
    assert second.already_present == first.imported + duplicates
    assert second.invalid == first.invalid - duplicates
    still_bad = {(n, f, c) for n, f, c in expected if n not in generated.duplicates}
    assert {(n, f, c) for n, f, c, _ in report_rows(second.report)} == still_bad
    with app.accounts.uow() as uow:
        assert uow.accounts.count() == 95_000
        assert uow.outbox.pending_count() == generated.invited


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_file(tmp_path, clock, shop_settings):
    """O4 (issue 9, Checked by): ten times the lines, not 1.5 times the peak memory.

    Peaks are measured with tracemalloc, never times, after a first import
    has loaded what any import loads (templates, metadata). Small batches
    keep the peak of one batch low (about 0.7 MB), so that anything the
    import kept per line, from about 40 bytes a line, would fail the test.
    """
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    write_customers(small, 1_000, seed=1)
    write_customers(large, 10_000, seed=2)
    warm = tmp_path / "warm.csv"
    write_customers(warm, 300, seed=3)
    run(sqlite_app(tmp_path, "warm", clock, shop_settings), warm)
    peaks = []
    for name, source in (("small", small), ("large", large)):
        app = sqlite_app(tmp_path, name, clock, shop_settings)
        importer = CustomerImporter(app)
        gc.collect()
        tracemalloc.start()
        try:
            summary = importer.import_csv(source, progress=False, batch_size=100)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert summary.read == (1_000 if name == "small" else 10_000)
    assert peaks[1] <= 1.5 * peaks[0], peaks
