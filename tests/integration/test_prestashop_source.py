"""The PrestaShop source reads every customer right from a real MariaDB (SPEC M1, M2).

The tables are those of ``tests/data/prestashop`` in a MariaDB server the
tests start (``mariadb`` fixture), filled with the issue's cases
(``prestashop_data.CASES``); each test reads them through
:class:`PrestaShopSource` alone, as the import does.
"""

from __future__ import annotations

import secrets
import sys
import threading
from datetime import datetime

import pytest

from echoppe_accounts import StorageError, ValidationError
from echoppe_accounts.adapters.prestashop import (
    PrestaShopDatabase,
    PrestaShopSource,
    Skipped,
)
from prestashop_data import (
    CASES,
    PARIS,
    create_shop,
    insert_cases,
    insert_many,
    read_for_shop,
)


def _database(mariadb, name: str, **options) -> PrestaShopDatabase:
    return PrestaShopDatabase.parse(mariadb.url(name), **options)


@pytest.fixture(scope="module")
def shop8(mariadb) -> str:
    """A PrestaShop 8 database holding the cases."""
    name = f"ps8_{secrets.token_hex(4)}"
    create_shop(mariadb, name, version="8")
    insert_cases(mariadb, name)
    return name


@pytest.fixture(scope="module")
def shop16(mariadb) -> str:
    """A PrestaShop 1.6 database (no ps_customer.id_lang), prefix ``old_``."""
    name = f"ps16_{secrets.token_hex(4)}"
    create_shop(mariadb, name, version="1.6", prefix="old_")
    insert_cases(mariadb, name, prefix="old_", languages=False, md5=True)
    return name


def _read(mariadb, name: str, **options) -> tuple[list, int, Skipped]:
    with PrestaShopSource(_database(mariadb, name), **options) as source:
        return list(source.customers()), source.count(), source.skipped


def test_m1_every_customer_of_the_shop_is_read_as_it_was_stored(mariadb, shop8):
    """M1, M2: each record holds exactly what PrestaShop 8 kept, case by case."""
    records, count, skipped = _read(mariadb, shop8)
    expected = [c.record() for c in read_for_shop(1)]
    assert [r.ref for r in records] == [e.ref for e in expected]
    for record, wanted in zip(records, expected, strict=True):
        assert record == wanted, wanted.ref
    assert count == len(expected)
    # Customer 118 is deleted; customer 104 deleted one of its addresses.
    assert skipped == Skipped(deleted_customers=1, deleted_addresses=1)


def test_m1_a_prestashop_16_database_reads_alike(mariadb, shop16):
    """M1: PrestaShop 1.6 (MD5 passwords, no customer language) with another prefix."""
    records, count, _ = _read(mariadb, shop16, prefix="old_")
    expected = [c.record(languages=False, md5=True) for c in read_for_shop(1)]
    assert records == expected
    assert count == len(expected)
    md5 = next(r for r in records if r.ref == "115").password_hash
    assert len(md5) == 32


def test_m2_billing_is_the_last_invoiced_address_else_the_newest(mariadb, shop8):
    """M2: ps_orders' last invoice address wins, even over a newer address."""
    records = {r.ref: r for r in _read(mariadb, shop8)[0]}
    several = records["104"]
    assert [a.ref for a in several.addresses] == ["1041", "1042", "1043"]
    assert several.billing is not None
    assert several.billing.ref == "1041"  # invoiced last, though 1043 is newer
    never_ordered = records["105"]
    assert never_ordered.billing_ref is None
    assert never_ordered.billing is not None
    assert never_ordered.billing.ref == "1052"  # the newest
    assert records["102"].addresses == ()
    assert records["102"].billing is None


def test_m2_local_times_become_aware_in_the_shops_zone(mariadb, shop8):
    """M2: date_add and newsletter_date_add keep their moment (PS_TIMEZONE)."""
    records = {r.ref: r for r in _read(mariadb, shop8)[0]}
    subscriber = records["109"]
    assert subscriber.newsletter_at == datetime(2023, 7, 14, 18, 45, tzinfo=PARIS)
    assert subscriber.newsletter_at.utcoffset().total_seconds() == 7200
    assert records["101"].created_at == datetime(2021, 5, 4, 9, 30, tzinfo=PARIS)
    assert records["117"].newsletter
    assert records["117"].newsletter_at is None  # a zero date is no date


def test_m2_another_timezone_may_be_given(mariadb, shop8):
    """M2: a shop whose times were not Paris's says so; the moments move."""
    records, _, _ = _read(mariadb, shop8, timezone="America/Martinique")
    first = records[0]
    assert first.created_at is not None
    assert first.created_at.utcoffset().total_seconds() == -4 * 3600


def test_m1_only_the_shop_asked_for_is_read(mariadb, shop8):
    """M1: a multistore database gives the customers of --shop alone."""
    records, count, skipped = _read(mariadb, shop8, shop_id=2)
    assert [r.email for r in records] == ["autre.boutique@exemple.fr"]
    assert count == 1
    assert skipped == Skipped()


def test_m1_the_source_reads_in_one_snapshot(mariadb, shop8):
    """M1: a customer added while the source is open is not read, nor counted."""
    with PrestaShopSource(_database(mariadb, shop8)) as source:
        before = source.count()
        with mariadb.connect(shop8) as db, db.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ps_customer (id_customer, id_shop, id_gender, firstname, "
                "lastname, email, passwd, active, deleted, date_add, date_upd) VALUES "
                "(999, 1, 0, 'Tard', 'Venu', 'tard@exemple.fr', '', 1, 0, NOW(), NOW())"
            )
        try:
            records = list(source.customers())
        finally:
            with mariadb.connect(shop8) as db, db.cursor() as cursor:
                cursor.execute("DELETE FROM ps_customer WHERE id_customer = 999")
    assert len(records) == before
    assert "999" not in {r.ref for r in records}


def test_m1_the_source_never_writes(mariadb, shop8):
    """M1: the session is read-only: a write through it is refused by the server."""
    with PrestaShopSource(_database(mariadb, shop8)) as source:
        connection, _ = source._opened()
        with connection.cursor() as cursor, pytest.raises(Exception, match="READ ONLY"):
            cursor.execute("UPDATE ps_customer SET firstname = 'X'")


def test_m1_a_read_only_user_is_enough(mariadb, shop8):
    """M1: a user granted SELECT only reads the shop; its password stays unseen."""
    password = "S3cret-" + secrets.token_hex(4)
    mariadb.add_user("lecteur", password, shop8)
    url = mariadb.url(shop8, user="lecteur")
    with PrestaShopSource(PrestaShopDatabase.parse(url, password=password)) as source:
        assert source.count() == len(read_for_shop(1))
        assert password not in repr(source.database)
        assert password not in str(source.database)
        assert password not in source.label


def test_m1_stopping_early_closes_the_line(mariadb, shop8):
    """M1: an import stopped midway does not read the rest of the shop first."""
    with PrestaShopSource(_database(mariadb, shop8)) as source:
        stream = source.customers()
        assert next(stream).ref == "101"
        stream.close()
        assert source._connection is None


# -- the operator's mistakes, said in words (codes, fr/en) -------------------------


def test_m1_a_wrong_password_is_said_without_showing_it(mariadb, shop8):
    """M1: prestashop.access_denied names the user, never the password."""
    mariadb.add_user("vendeur", "le-bon-mot", shop8)
    wrong = "le-mauvais-mot-" + secrets.token_hex(3)
    database = PrestaShopDatabase.parse(
        mariadb.url(shop8, user="vendeur"), password=wrong
    )
    with pytest.raises(ValidationError) as caught:
        PrestaShopSource(database).__enter__()
    assert caught.value.codes == {"prestashop.access_denied"}
    for language in ("fr", "en"):
        assert wrong not in caught.value.messages(language)
        assert "vendeur" in caught.value.messages(language)
    assert caught.value.errors[0].message("fr") == (
        "Le serveur de base de données a refusé l’utilisateur vendeur ou son mot de "
        "passe."
    )


def test_m1_an_unknown_database_is_named(mariadb):
    """M1: prestashop.unknown_database."""
    with pytest.raises(ValidationError) as caught:
        PrestaShopSource(_database(mariadb, "pas_de_boutique")).__enter__()
    assert caught.value.codes == {"prestashop.unknown_database"}
    assert "pas_de_boutique" in caught.value.messages("en")


def test_m1_a_wrong_prefix_says_which_one_the_tables_have(mariadb, shop16):
    """M1: prestashop.wrong_prefix, with the prefix found (old_)."""
    with pytest.raises(ValidationError) as caught:
        PrestaShopSource(_database(mariadb, shop16), prefix="ps_").__enter__()
    assert caught.value.codes == {"prestashop.wrong_prefix"}
    assert "“old_”" in caught.value.errors[0].message("en")


def test_m1_a_database_without_a_shop_is_not_read(mariadb):
    """M1: prestashop.not_prestashop for a database of something else."""
    name = f"autre_{secrets.token_hex(3)}"
    with mariadb.connect() as db, db.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
        cursor.execute(f"CREATE TABLE `{name}`.factures (id int)")
    with pytest.raises(ValidationError) as caught:
        PrestaShopSource(_database(mariadb, name)).__enter__()
    assert caught.value.codes == {"prestashop.not_prestashop"}


def test_m1_a_missing_table_or_column_is_named(mariadb):
    """M1: prestashop.table_missing / column_missing, every one at once (F8)."""
    name = f"abime_{secrets.token_hex(3)}"
    with mariadb.connect() as db, db.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
        cursor.execute(
            f"CREATE TABLE `{name}`.ps_customer (id_customer int, email text, "
            "firstname text, lastname text, deleted int, date_add datetime)"
        )
    with pytest.raises(ValidationError) as caught:
        PrestaShopSource(_database(mariadb, name)).__enter__()
    assert caught.value.codes == {
        "prestashop.table_missing",
        "prestashop.column_missing",
    }
    assert "ps_address" in caught.value.messages("en")
    assert "passwd" in caught.value.messages("en")


def test_m1_an_unknown_shop_lists_the_shops(mariadb, shop8):
    """M1: prestashop.unknown_shop, with the shops the database has."""
    with pytest.raises(ValidationError) as caught:
        PrestaShopSource(_database(mariadb, shop8), shop_id=7).__enter__()
    assert caught.value.codes == {"prestashop.unknown_shop"}
    assert caught.value.errors[0].message("en").endswith("(its shops: 1, 2).")


def test_m1_an_unreachable_server_is_a_retryable_storage_error():
    """O3: no server on the port: StorageError in words, retryable, no driver text."""
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = PrestaShopDatabase.parse(f"mysql://root@127.0.0.1:{port}/boutique")
    with pytest.raises(StorageError) as caught:
        PrestaShopSource(database, connect_timeout=2).__enter__()
    assert caught.value.retryable
    assert caught.value.source == "MySQL 2003 OperationalError"
    assert caught.value.message("fr").startswith(
        "le serveur de base de données est injoignable"
    )
    assert "Can't connect" not in caught.value.message("en")


def test_m1_a_connection_lost_while_reading_is_a_storage_error(mariadb, shop8):
    """O3: the server drops the reader's line: StorageError, not PyMySQL's."""
    with PrestaShopSource(_database(mariadb, shop8)) as source:
        connection, _ = source._opened()
        killer = threading.Thread(
            target=_kill, args=(mariadb, connection.thread_id()), name="kill-reader"
        )
        killer.start()
        killer.join()
        with pytest.raises(StorageError) as caught:
            list(source.customers())
    assert caught.value.retryable
    assert caught.value.source.startswith("MySQL 20")


def _kill(mariadb, thread_id: int) -> None:
    with mariadb.connect() as db, db.cursor() as cursor:
        cursor.execute(f"KILL {int(thread_id)}")


# -- the URL, without a server ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://shop@db/prestashop",
        "mysql://db/prestashop",  # no user
        "mysql://shop@db/",  # no database
        "mysql://shop@db:99999/prestashop",  # no such port
        "mysql://shop@db/a/b",
    ],
)
def test_m1_a_url_that_names_no_database_is_refused(url):
    """M1: prestashop.url_invalid."""
    with pytest.raises(ValidationError) as caught:
        PrestaShopDatabase.parse(url)
    assert caught.value.codes == {"prestashop.url_invalid"}


def test_m1_the_url_decodes_its_parts_and_a_socket():
    """M1: percent-encoded user and password; ?socket= for a local server."""
    database = PrestaShopDatabase.parse(
        "mariadb://boutique%40prod:p%40ss%3Aword@/prestashop?socket=/run/mysqld/mysqld.sock"
    )
    assert database.user == "boutique@prod"
    assert database.password == "p@ss:word"
    assert database.socket == "/run/mysqld/mysqld.sock"
    assert "p@ss" not in repr(database)
    assert PrestaShopDatabase.parse("mysql://a:b@h/d", password="c").password == "c"


@pytest.mark.parametrize("prefix", ["ps-", "ps_;DROP", "ps_`", "é_"])
def test_m1_a_prefix_is_letters_digits_and_underscores(prefix):
    """M1: a prefix is written into the statements: nothing else passes."""
    database = PrestaShopDatabase.parse("mysql://shop@db/prestashop")
    with pytest.raises(ValidationError) as caught:
        PrestaShopSource(database, prefix=prefix)
    assert caught.value.codes == {"prestashop.prefix_invalid"}


def test_m2_an_unknown_timezone_is_refused():
    """M2: prestashop.timezone_invalid, before anything is read."""
    database = PrestaShopDatabase.parse("mysql://shop@db/prestashop")
    with pytest.raises(ValidationError) as caught:
        PrestaShopSource(database, timezone="Europe/Atlantis")
    assert caught.value.codes == {"prestashop.timezone_invalid"}


def test_m1_the_cases_cover_the_issue():
    """M1, M2: the generated shop holds every case the issue lists."""
    cases = " / ".join(c.case for c in CASES)
    words = ("no address", "without any phone", "several addresses", "without SIRET",
             "SIREN", "APE", "newsletter", "disabled", "guest", "German",
             "longer than 38", "MD5", "$2y$12$", "$2a$", "deleted")  # fmt: skip
    for word in words:
        assert word in cases or any(word in c.passwd[:7] for c in CASES), word


def test_m1_a_database_with_only_the_two_needed_tables_reads(mariadb):
    """M1: no shops, languages, countries, orders or settings: still read.

    An older or trimmed PrestaShop: the customers are the one shop's, the
    language and country read empty, the billing address is the newest,
    and times are in Europe/Paris.
    """
    name = f"minimal_{secrets.token_hex(3)}"
    with mariadb.connect() as db, db.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
        cursor.execute(f"USE `{name}`")
        cursor.execute(
            "CREATE TABLE ps_customer (id_customer int, email varchar(128), "
            "firstname varchar(32), lastname varchar(32), passwd varchar(32), "
            "deleted tinyint, date_add datetime)"
        )
        cursor.execute(
            "CREATE TABLE ps_address (id_address int, id_customer int, "
            "firstname varchar(32), lastname varchar(32), address1 varchar(128), "
            "postcode varchar(12), city varchar(64), deleted tinyint)"
        )
        cursor.execute(
            "INSERT INTO ps_customer VALUES (1, 'vieux@exemple.fr', 'Vieux', "
            "'Client', 'abc', 0, '2012-01-15 12:00:00')"
        )
        cursor.execute(
            "INSERT INTO ps_address VALUES (5, 1, 'Vieux', 'Client', "
            "'1 rue Ancienne', '75001', 'Paris', 0)"
        )
    records, count, skipped = _read(mariadb, name, shop_id=3)
    assert count == 1
    assert skipped == Skipped()
    (record,) = records
    assert record.active
    assert record.language == ""
    assert record.billing_ref is None
    assert record.addresses[0].country == ""
    assert record.created_at == datetime(2012, 1, 15, 12, tzinfo=PARIS)


def test_m1_without_pymysql_the_extra_is_named(monkeypatch):
    """M1: prestashop.driver_missing says which extra to install."""
    monkeypatch.setitem(sys.modules, "pymysql", None)
    database = PrestaShopDatabase.parse("mysql://shop@db/prestashop")
    with pytest.raises(ValidationError) as caught:
        PrestaShopSource(database).__enter__()
    assert caught.value.codes == {"prestashop.driver_missing"}
    assert "echoppe-accounts[prestashop]" in caught.value.messages("fr")


def test_m1_the_source_must_be_opened_first():
    """M1: count() and customers() outside ``with`` say how to use them."""
    source = PrestaShopSource(PrestaShopDatabase.parse("mysql://shop@db/prestashop"))
    with pytest.raises(RuntimeError, match="with PrestaShopSource"):
        source.count()
    assert source.timezone.key == "Europe/Paris"
    assert source.label == "PrestaShop mysql://shop@db:3306/prestashop (shop 1)"
    with pytest.raises(ValueError, match="shop_id"):
        PrestaShopSource(source.database, shop_id=0)


@pytest.mark.slow
def test_m1_a_large_shop_is_streamed_in_bounded_memory(mariadb):
    """M1: 30,000 customers read one by one: memory does not grow with the shop.

    A buffered cursor would hold every row (tens of megabytes here); the
    source's unbuffered one holds a customer's rows at a time.
    """
    import tracemalloc  # noqa: PLC0415

    name = f"grande_{secrets.token_hex(3)}"
    create_shop(mariadb, name, version="8")
    many = 30_000
    insert_many(mariadb, name, many)
    with PrestaShopSource(_database(mariadb, name)) as source:
        assert source.count() == many
        tracemalloc.start()
        try:
            seen = 0
            previous = 0
            for record in source.customers():
                current = int(record.ref)
                assert current > previous
                assert len(record.addresses) == 1
                previous = current
                seen += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert seen == many
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB held while streaming"
