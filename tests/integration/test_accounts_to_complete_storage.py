"""Accounts to complete and disabled accounts in every storage adapter (issue 21).

SPEC M1, M2: an imported account without addresses or phone, a company that
kept its SIREN alone and its APE code, a disabled account, come back from
storage as they were saved, and a login's one-row read says what they miss;
SQLite's migration rebuilds ``accounts`` keeping every row and foreign key.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from builders import LYON, NOW, PARIS, account, new_id
from echoppe_accounts import (
    Account,
    AccountStatus,
    AddressBook,
    ApeCode,
    Category,
    ConsentSource,
    DeliveryAddress,
    Email,
    Missing,
    Organisation,
    Phone,
    Siren,
    Siret,
    SQLiteStore,
)
from echoppe_accounts.adapters import _records as rec
from echoppe_accounts.adapters.sqlite import MIGRATIONS
from echoppe_accounts.domain.completion import ParsedCompletion
from echoppe_accounts.domain.forms import ParsedDelivery
from legacy import old_account_row


def imported_company(email: str = "compta@acme.fr", **changes: object) -> Account:
    """An imported company with a SIREN alone, an APE code, no phone, no address."""
    fields: dict[str, object] = {
        "id": new_id(),
        "email": Email.parse(email),
        "name": "Marie Curie",
        "category": Category.COMPANY,
        "created_at": NOW,
        "session_stamp": "stamp-0",
        "organisation": Organisation(
            "ACME", siren_alone=Siren.parse("732829320"), ape=ApeCode.parse("6201Z")
        ),
        "password_hash": "$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ012",
    }
    fields.update(changes)
    return Account.imported(**fields)  # type: ignore[arg-type]


def _save(uow, account_: Account) -> None:
    with uow() as tx:
        tx.accounts.save(account_)
        tx.commit()


def _add(uow, *accounts: Account) -> None:
    with uow() as tx:
        tx.accounts.add(*accounts)
        tx.commit()


def test_m1_an_account_to_complete_round_trips(each_adapter_uow_factory):
    """M1, M2: no address, no phone, SIREN alone and APE come back as stored."""
    uow = each_adapter_uow_factory
    a = imported_company()
    _add(uow, a)
    with uow() as tx:
        loaded = tx.accounts.get(a.id)
        creds = tx.accounts.credentials(a.email.key)
    assert loaded is not None
    assert loaded.addresses is None
    assert loaded.phone is None
    assert loaded.organisation == a.organisation
    assert loaded.organisation is not None
    assert loaded.organisation.siren == "732829320"
    assert loaded.organisation.ape == ApeCode("62.01Z")
    assert loaded.created_at == NOW
    assert loaded.missing == {Missing.PHONE, Missing.ADDRESS, Missing.SIRET}
    assert creds is not None
    assert creds.missing == loaded.missing


def test_m1_a_completed_account_round_trips_with_nothing_missing(
    each_adapter_uow_factory,
):
    """M1: once completed and saved, the account misses nothing, in every adapter."""
    uow = each_adapter_uow_factory
    a = imported_company()
    _add(uow, a)
    with uow() as tx:
        loaded = tx.accounts.get(a.id)
    assert loaded is not None
    loaded.complete(
        ParsedCompletion(
            phone=Phone("+33612345678", "FR"),
            billing=PARIS,
            delivery=ParsedDelivery("Marie Curie", LYON, "Bureau"),
            siret=Siret.parse("73282932000074"),
        ),
        new_id(),
    )
    _save(uow, loaded)
    with uow() as tx:
        again = tx.accounts.get(a.id)
        creds = tx.accounts.credentials(a.email.key)
    assert again is not None
    assert again.missing == frozenset()
    assert creds is not None
    assert creds.missing == frozenset()
    assert again.addresses is not None
    assert again.addresses.billing == PARIS
    assert [d.contact_name for d in again.addresses.deliveries] == ["Marie Curie"]
    assert again.organisation == Organisation(
        "ACME", Siret("73282932000074"), ape=ApeCode("62.01Z")
    )


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({}, {Missing.PHONE, Missing.ADDRESS, Missing.SIRET}),
        ({"organisation": None}, {Missing.PHONE, Missing.ADDRESS, Missing.SIRET}),
        (
            {"category": Category.INDIVIDUAL, "organisation": None},
            {Missing.PHONE, Missing.ADDRESS},
        ),
        (
            {
                "phone": Phone("+33612345678", "FR"),
                "addresses": AddressBook(
                    PARIS, [DeliveryAddress("d1", "Marie", PARIS)]
                ),
                "organisation": Organisation("ACME", Siret("73282932000074")),
            },
            set(),
        ),
    ],
)
def test_m1_a_login_reads_what_is_missing_from_one_row(
    each_adapter_uow_factory, changes, missing
):
    """M1, P3: credentials() answers the same missing pieces as the aggregate."""
    uow = each_adapter_uow_factory
    a = imported_company(**changes)
    _add(uow, a)
    with uow() as tx:
        creds = tx.accounts.credentials(a.email.key)
    assert creds is not None
    assert creds.missing == a.missing == missing


def test_m2_a_disabled_account_round_trips_and_its_login_row_says_so(
    each_adapter_uow_factory,
):
    """M2: the disabled state is stored, read by login and lifted by enable()."""
    uow = each_adapter_uow_factory
    a = imported_company(disabled=True)
    _add(uow, a)
    with uow() as tx:
        creds = tx.accounts.credentials(a.email.key)
        loaded = tx.accounts.get(a.id)
    assert creds is not None
    assert creds.status is AccountStatus.DISABLED
    assert loaded is not None
    loaded.enable(lambda: "stamp-1")
    _save(uow, loaded)
    with uow() as tx:
        creds = tx.accounts.credentials(a.email.key)
    assert creds is not None
    assert creds.status is AccountStatus.ACTIVE
    assert creds.session_stamp == "stamp-1"


def test_g3_an_erased_account_without_addresses_round_trips(each_adapter_uow_factory):
    """G3, M1: erasing an account to complete keeps its organisation, misses nothing."""
    uow = each_adapter_uow_factory
    a = imported_company()
    _add(uow, a)
    a.erase(NOW, lambda: "stamp-2")
    a.collect_effects()
    _save(uow, a)
    with uow() as tx:
        loaded = tx.accounts.get(a.id)
    assert loaded is not None
    assert loaded.is_erased
    assert loaded.addresses is None
    assert loaded.organisation == a.organisation
    assert loaded.missing == frozenset()


# -- SQLite: the accounts table rebuilt (version 8) ------------------------------


def _insert(db: sqlite3.Connection, table: str, row: dict[str, object]) -> None:
    db.execute(
        f"INSERT INTO {table} ({', '.join(row)}) "  # noqa: S608
        f"VALUES ({', '.join(':' + c for c in row)})",
        row,
    )


def _version_7_database(path, accounts) -> None:
    """Make the database version 7 made, with accounts and rows referring to them."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.row_factory = sqlite3.Row
        for step in MIGRATIONS[:7]:
            if isinstance(step, str):
                db.executescript(step)
            else:
                db.execute("BEGIN")
                step(db)
                db.execute("COMMIT")
        db.execute("PRAGMA user_version=7")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("BEGIN")
        for a in accounts:
            row = {
                k: v for k, v in rec.account_row(a).items() if k not in {"siren", "ape"}
            }
            _insert(db, "accounts", row)
            for d in rec.delivery_rows(a):
                _insert(db, "delivery_addresses", d)
            for c in rec.consent_rows(a):
                _insert(db, "newsletter_consents", c)
            _insert(
                db,
                "tokens",
                {
                    "digest": f"digest-{a.id}",
                    "account_id": a.id,
                    "purpose": "reset_confirm",
                    "created_at": rec.iso(NOW),
                    "expires_at": rec.iso(NOW),
                },
            )
        db.execute("COMMIT")


def test_m1_sqlite_version_8_rebuilds_accounts_keeping_rows_and_foreign_keys(
    tmp_path,
):
    """M1: a populated version-7 database upgrades; rows, children and FKs stay."""
    path = tmp_path / "accounts.sqlite3"
    originals = [
        account("claire.martin@exemple.fr"),
        account("jean.dupont@exemple.fr", category=Category.INDIVIDUAL),
    ]
    originals[0].subscribe(NOW, ConsentSource.SIGNUP_FORM, "nl-1")
    _version_7_database(path, originals)
    store = SQLiteStore(path)
    assert store.schema_version == len(MIGRATIONS) >= 8
    with store.unit_of_work() as tx:
        for a in originals:
            loaded = tx.accounts.get(a.id)
            assert loaded is not None
            assert rec.account_row(loaded) == rec.account_row(a)
            assert rec.delivery_rows(loaded) == rec.delivery_rows(a)
            assert rec.consent_rows(loaded) == rec.consent_rows(a)
            assert [t.digest for t in tx.tokens.for_account(a.id)] == [f"digest-{a.id}"]
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        columns = {r[1]: r[3] for r in db.execute("PRAGMA table_info(accounts)")}
        indexes = {r[1] for r in db.execute("PRAGMA index_list(accounts)")}
        references = {
            r[2] for t in ("delivery_addresses", "tokens", "reset_requests")
            for r in db.execute(f"PRAGMA foreign_key_list({t})")
        }  # fmt: skip
    assert columns["billing_postal_code"] == 0  # nullable now
    assert columns["email"] == 1
    assert {"siren", "ape"} <= set(columns)
    assert {"accounts_unverified", "accounts_former_email"} <= indexes
    assert references == {"accounts"}
    # Foreign keys are on again, and still hold: removing an account's row
    # with children left is refused, an account to complete can be added.
    with store.unit_of_work() as tx:
        tx.accounts.add(imported_company())
        tx.commit()
    conn = store.connect()
    try:
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "INSERT INTO delivery_addresses (account_id, position, id, "
                "contact_name, street_lines, postal_code, city, country) "
                "VALUES ('nobody', 0, 'd', 'x', '[]', '75001', 'Paris', 'FR')"
            )
    finally:
        conn.close()
    store.close()


def test_m1_sqlite_refuses_half_a_billing_address(tmp_path):
    """A4, M1: the billing columns are all set or all empty, never half."""
    store = SQLiteStore(tmp_path / "accounts.sqlite3")
    a = account()
    with store.unit_of_work() as tx:
        tx.accounts.add(a)
        tx.commit()
    conn = store.connect()
    try:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "UPDATE accounts SET billing_city = NULL WHERE id = ?", (a.id,)
            )
    finally:
        conn.close()
    store.close()


def test_old_account_row_still_matches_version_7():
    """The legacy row builder leaves out the columns version 8 added."""
    assert not {"siren", "ape"} & set(old_account_row(account()))


# -- PostgreSQL: the billing columns made nullable ----------------------------------


@pytest.mark.postgres
def test_m1_postgres_upgrade_keeps_rows_and_allows_accounts_to_complete(
    postgres_dsn, postgres_store_factory
):
    """M1: a populated schema of the version before upgrades; rows load as before."""
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql  # noqa: PLC0415

    from echoppe_accounts.adapters.postgres import (  # noqa: PLC0415
        MIGRATIONS as PG_MIGRATIONS,
    )

    # The version before the one that adds the SIREN column.
    before = next(
        i
        for i, m in enumerate(PG_MIGRATIONS)
        if isinstance(m, str) and "ADD COLUMN siren" in m
    )
    schema = postgres_store_factory().schema + "_before"
    originals = [account("claire.martin@exemple.fr"), account("jean@exemple.fr")]
    with psycopg.connect(postgres_dsn) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        db.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for number, step in enumerate(PG_MIGRATIONS[:before], start=1):
            if isinstance(step, str):
                db.execute(step)
            else:
                step(db)
            db.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number,))
        for a in originals:
            rows = {
                "accounts": [
                    {
                        k: v
                        for k, v in rec.account_row(a).items()
                        if k not in {"siren", "ape"}
                    }
                ],
                "delivery_addresses": rec.delivery_rows(a),
            }
            for table, table_rows in rows.items():
                for row in table_rows:
                    db.execute(
                        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                            sql.Identifier(table),
                            sql.SQL(", ").join(map(sql.Identifier, row)),
                            sql.SQL(", ").join(map(sql.Placeholder, row)),
                        ),
                        row,
                    )
    store = postgres_store_factory(schema)
    assert store.schema_version == len(PG_MIGRATIONS) > before
    with store.unit_of_work() as tx:
        for a in originals:
            loaded = tx.accounts.get(a.id)
            assert loaded is not None
            assert rec.account_row(loaded) == rec.account_row(a)
            assert rec.delivery_rows(loaded) == rec.delivery_rows(a)
        tx.accounts.add(imported_company())
        tx.commit()
    with (
        store.pool.connection() as db,
        pytest.raises(psycopg.errors.CheckViolation),
    ):
        db.execute(
            sql.SQL("UPDATE {}.accounts SET billing_city = NULL WHERE id = %s").format(
                sql.Identifier(schema)
            ),
            (originals[0].id,),
        )
