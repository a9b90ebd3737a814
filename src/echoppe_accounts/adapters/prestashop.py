"""A PrestaShop shop's customers, read from its MySQL or MariaDB database (SPEC M1).

:class:`PrestaShopSource` reads the customers of one shop of a PrestaShop
1.6, 1.7 or 8 database and yields them as ``ImportedCustomer`` records
(``echoppe_accounts.service_layer.import_records``), the shape every
import source gives :meth:`CustomerImporter.import_records
<echoppe_accounts.CustomerImporter.import_records>`:

- **read-only, in one consistent snapshot**: the session is read-only and
  everything is read in one ``REPEATABLE READ`` transaction opened ``WITH
  CONSISTENT SNAPSHOT``, so a shop still taking orders during the import
  gives a coherent picture (the count of the progress bar included), and
  nothing is ever written to the old shop;
- **streaming**: one query, read through an unbuffered cursor in the order
  of ``id_customer``, each customer's addresses joined to it: the memory
  used does not grow with the shop;
- **every address kept** (``ps_address`` rows not deleted); the billing
  address is the invoice address of the customer's last order
  (``ps_orders.id_address_invoice``), else the most recently changed one;
- **what is left out is counted**: customers PrestaShop keeps as deleted
  (``deleted = 1``) and addresses their customer deleted are not read, and
  :attr:`PrestaShopSource.skipped` says how many; fields an account has no
  place for (birthday, title, website, the shop's private note, an
  address's state, "other", VAT number and DNI) are named in each record's
  ``dropped`` for the report;
- **times in the shop's zone**: PrestaShop stores local times
  (``DATETIME``) in the zone of its ``PS_TIMEZONE`` setting; they become
  timezone-aware, in that zone (or the one given);
- **versions**: the columns are looked up first, so that a column a
  version lacks (``siret``/``ape`` before B2B mode, ``id_lang``…) reads
  as empty rather than failing.

Connection details come as a :class:`PrestaShopDatabase`, from a URL such
as ``mysql://shop@db.example:3306/prestashop``; the password never appears
in a message, a log record or a ``repr``. Driver failures never leak: an
operator's mistake (a wrong password, database name, prefix or shop id) is
a :class:`~echoppe_accounts.ValidationError` with a ``prestashop.*`` code
and its message in French and English; a server that cannot be reached or
fails is a :class:`~echoppe_accounts.StorageError` saying so in words, and
whether a retry may help.

The driver is PyMySQL, in the ``prestashop`` extra
(``pip install 'echoppe-accounts[prestashop]'``); it is imported when a
source opens, not before.

>>> database = PrestaShopDatabase.parse("mysql://shop:s3cret@db.example/prestashop")
>>> database
PrestaShopDatabase(host='db.example', port=3306, user='shop', database=..., ...)
>>> str(database)
'mysql://shop@db.example:3306/prestashop'
>>> PrestaShopDatabase.parse("postgresql://db.example/shop")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: database: The PrestaShop database ...

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import attrs

from echoppe_accounts.adapters._driver_errors import mysql_error
from echoppe_accounts.domain.errors import FieldError, ValidationError
from echoppe_accounts.domain.i18n import DEFAULT_TIMEZONE
from echoppe_accounts.service_layer.import_records import (
    ImportedAddress,
    ImportedCustomer,
)

if TYPE_CHECKING:
    from pymysql.connections import Connection

__all__ = ["PrestaShopDatabase", "PrestaShopSource", "Skipped"]

log = logging.getLogger("echoppe_accounts.prestashop")

DEFAULT_PORT: Final = 3306
"""The port of a MySQL or MariaDB server when the URL names none."""

_SCHEMES = frozenset({"mysql", "mariadb"})
_PREFIX = re.compile(r"[A-Za-z0-9_]{0,32}")
"""A table prefix: PrestaShop's installer allows letters, digits and ``_``."""

# MySQL error numbers the operator can fix, said as a ValidationError.
_ACCESS_DENIED = 1045
_UNKNOWN_DATABASE = 1049
_SYNTAX = 1064


@attrs.frozen
class PrestaShopDatabase:
    """Where the PrestaShop database is, and who reads it.

    Attributes:
        host: The server's host name or address.
        port: Its TCP port.
        user: The MySQL user (a read-only one is enough: only ``SELECT``
            is run).
        database: The database (schema) holding the shop's tables.
        password: The user's password; never shown (not in ``repr``, nor
            in ``str``).
        socket: A Unix socket path to connect through instead of TCP
            (``?socket=/run/mysqld/mysqld.sock`` in the URL).

    .. versionadded:: 0.2.0
    """

    host: str
    port: int
    user: str
    database: str
    password: str = attrs.field(default="", repr=False)
    socket: str | None = None

    @classmethod
    def parse(cls, url: str, *, password: str | None = None) -> PrestaShopDatabase:
        """Read ``mysql://user[:password]@host[:port]/database[?socket=PATH]``.

        ``mariadb://`` is accepted too; the user, password and database
        may be percent-encoded. *password*, when given, wins over the
        URL's.

        Raises:
            ValidationError: ``prestashop.url_invalid`` (path ``database``).
        """
        try:
            parts = urlsplit(url.strip())
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise _invalid_url() from None
        database = unquote(parts.path.lstrip("/"))
        if (
            parts.scheme not in _SCHEMES
            or not parts.username
            or not database
            or "/" in database
            or not (parts.hostname or "socket" in parse_qs(parts.query))
        ):
            raise _invalid_url()
        sockets = parse_qs(parts.query).get("socket")
        return cls(
            host=parts.hostname or "localhost",
            port=port,
            user=unquote(parts.username),
            database=database,
            password=password
            if password is not None
            else unquote(parts.password or ""),
            socket=sockets[-1] if sockets else None,
        )

    @property
    def has_password(self) -> bool:
        """Whether a password is set (it is never shown)."""
        return bool(self.password)

    def __str__(self) -> str:
        """Return the URL without the password, for messages and logs."""
        where = f"{self.host}:{self.port}"
        socket = f"?socket={self.socket}" if self.socket else ""
        return f"mysql://{self.user}@{where}/{self.database}{socket}"


def _invalid_url() -> ValidationError:
    return ValidationError.single("database", "prestashop.url_invalid")


@attrs.frozen
class Skipped:
    """What a :class:`PrestaShopSource` does not read, counted.

    Attributes:
        deleted_customers: Customers PrestaShop keeps as deleted
            (``ps_customer.deleted = 1``): gone from the shop, not imported.
        deleted_addresses: Addresses of the imported customers that they
            deleted (``ps_address.deleted = 1``, kept by PrestaShop for the
            orders that used them): not imported.

    .. versionadded:: 0.2.0
    """

    deleted_customers: int = 0
    deleted_addresses: int = 0


# -- the schema ---------------------------------------------------------------

_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "customer": (
        "id_customer",
        "email",
        "firstname",
        "lastname",
        "passwd",
        "deleted",
        "date_add",
    ),
    "address": (
        "id_address",
        "id_customer",
        "firstname",
        "lastname",
        "address1",
        "postcode",
        "city",
        "deleted",
    ),
}
"""The tables and columns every PrestaShop since 1.5 has, which the import needs."""

_CUSTOMER: Final = (
    "id_customer",
    "email",
    "firstname",
    "lastname",
    "company",
    "siret",
    "ape",
    "passwd",
    "date_add",
    "newsletter",
    "newsletter_date_add",
    "optin",
    "active",
    "is_guest",
    "birthday",
    "id_gender",
    "website",
    "note",
)
"""The ``ps_customer`` columns read, in the row's order."""

_ADDRESS: Final = (
    "id_address",
    "firstname",
    "lastname",
    "company",
    "address1",
    "address2",
    "postcode",
    "city",
    "phone",
    "phone_mobile",
    "alias",
    "date_upd",
    "other",
    "vat_number",
    "dni",
    "id_state",
)
"""The ``ps_address`` columns read, after the customer's and two joined ones."""

_C: Final = {name: i for i, name in enumerate(_CUSTOMER)}
_LANGUAGE: Final = len(_CUSTOMER)
_INVOICED: Final = _LANGUAGE + 1
_COUNTRY: Final = _INVOICED + 1
_A: Final = {name: _COUNTRY + 1 + i for i, name in enumerate(_ADDRESS)}

_DROPPED_CUSTOMER: Final = (
    ("birthday", "birthday"),
    ("id_gender", "gender"),
    ("website", "website"),
    ("note", "note"),
)
_DROPPED_ADDRESS: Final = (
    ("id_state", "address.state"),
    ("other", "address.other"),
    ("vat_number", "address.vat_number"),
    ("dni", "address.dni"),
)
"""Columns an account has no place for, and the name the report gives them."""


class _Schema:
    """The columns of the shop's tables, as ``information_schema`` lists them."""

    def __init__(self, prefix: str, columns: dict[str, set[str]]) -> None:
        self.prefix = prefix
        self.columns = columns

    def table(self, name: str) -> str:
        return f"`{self.prefix}{name}`"

    def has(self, table: str, column: str | None = None) -> bool:
        found = self.columns.get(table)
        return found is not None and (column is None or column in found)

    def column(self, alias: str, table: str, column: str) -> str:
        """Return ``alias.`column``` if the table has it, else ``NULL``."""
        return f"{alias}.`{column}`" if self.has(table, column) else "NULL"


# -- the source -----------------------------------------------------------------


class PrestaShopSource:
    """The customers of one PrestaShop shop, read in one consistent snapshot.

    Use it as a context manager: entering connects, opens the read-only
    snapshot and checks the schema; leaving ends the transaction and
    closes the connection. Inside, :meth:`count` and :attr:`skipped` are
    known, and :meth:`customers` streams the records once::

        with PrestaShopSource(database, prefix="ps_", shop_id=1) as source:
            importer.import_records(
                source.customers(), source=source.label, total=source.count(), ...
            )

    Args:
        database: Where the database is (:meth:`PrestaShopDatabase.parse`).
        prefix: The tables' prefix (``ps_`` by default, as PrestaShop's
            installer proposes).
        shop_id: The shop (``id_shop``) whose customers are read, for a
            multistore database; 1, the first shop, by default.
        timezone: The zone of the shop's local times; by default the
            shop's ``PS_TIMEZONE`` setting, else Europe/Paris.
        connect_timeout: Seconds to wait for the server to answer.

    Raises:
        ValidationError: *prefix* is not made of letters, digits and
            underscores (``prestashop.wrong_prefix``), or *timezone* is
            unknown (``prestashop.timezone_invalid``).
        ValueError: *shop_id* is less than 1.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        database: PrestaShopDatabase,
        *,
        prefix: str = "ps_",
        shop_id: int = 1,
        timezone: str | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        """Remember where to read; nothing is connected before ``with``."""
        if not _PREFIX.fullmatch(prefix):
            # The prefix is written into the statements: nothing else passes.
            raise ValidationError.single("prefix", "prestashop.prefix_invalid")
        if shop_id < 1:
            msg = f"shop_id must be at least 1, not {shop_id}"
            raise ValueError(msg)
        self.database = database
        self.prefix = prefix
        self.shop_id = shop_id
        self._zone_name = timezone
        self._zone: ZoneInfo | None = _zone(timezone) if timezone else None
        self._timeout = connect_timeout
        self._connection: Connection[Any] | None = None
        self._schema: _Schema | None = None
        self._count = 0
        self._skipped = Skipped()

    @property
    def label(self) -> str:
        """The source as the audit trail and the report name it (no password)."""
        return f"PrestaShop {self.database} (shop {self.shop_id})"

    @property
    def timezone(self) -> ZoneInfo:
        """The zone the shop's local times are read in (known once opened)."""
        return self._zone or ZoneInfo(DEFAULT_TIMEZONE)

    @property
    def skipped(self) -> Skipped:
        """Customers and addresses deleted in PrestaShop, not read (once opened)."""
        return self._skipped

    def count(self) -> int:
        """Return how many customers :meth:`customers` yields (in the snapshot)."""
        self._opened()
        return self._count

    # -- opening ---------------------------------------------------------------

    def __enter__(self) -> Self:
        """Connect, open the read-only snapshot and check the schema."""
        connection = _connect(self.database, self._timeout)
        self._connection = connection
        try:
            with _driver_errors():
                _begin_snapshot(connection)
                self._schema = self._check_schema(connection)
                self._check_shop(connection, self._schema)
                if self._zone is None:
                    self._zone = self._shop_zone(connection, self._schema)
                self._count, self._skipped = self._counts(connection, self._schema)
        except BaseException:
            self.close()
            raise
        log.info(
            "reading the customers of shop %d of %s (prefix %r, times in %s): "
            "%d to read, %d deleted customers and %d deleted addresses left out",
            self.shop_id,
            self.database,
            self.prefix,
            self.timezone.key,
            self._count,
            self._skipped.deleted_customers,
            self._skipped.deleted_addresses,
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """End the snapshot (nothing was written) and close the connection."""
        self.close()

    def close(self) -> None:
        """Close the connection, if open; the snapshot ends with it."""
        connection, self._connection = self._connection, None
        if connection is not None and connection.open:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 (closing a broken line: nothing to tell)
                log.debug("the PrestaShop connection did not close cleanly")

    def _opened(self) -> tuple[Connection[Any], _Schema]:
        if self._connection is None or self._schema is None:
            msg = "open the source first: with PrestaShopSource(...) as source"
            raise RuntimeError(msg)
        return self._connection, self._schema

    def _check_schema(self, connection: Connection[Any]) -> _Schema:
        """Read the shop tables' columns; refuse a database that is not one."""
        names = ("customer", "address", "orders", "lang", "country", "shop")
        wanted = [f"{self.prefix}{name}" for name in (*names, "configuration")]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN %s",
                (wanted,),
            )
            rows = cursor.fetchall()
        columns: dict[str, set[str]] = {}
        for table, column in rows:
            columns.setdefault(str(table)[len(self.prefix) :], set()).add(
                str(column).lower()
            )
        if "customer" not in columns:
            raise self._not_a_shop(connection)
        problems = [
            FieldError("prefix", "prestashop.table_missing", {"table": table})
            for table in (f"{self.prefix}{t}" for t in _REQUIRED)
            if table[len(self.prefix) :] not in columns
        ]
        problems += [
            FieldError(
                "prefix",
                "prestashop.column_missing",
                {"table": f"{self.prefix}{table}", "column": column},
            )
            for table, needed in _REQUIRED.items()
            if table in columns
            for column in needed
            if column not in columns[table]
        ]
        if problems:
            raise ValidationError(problems)
        return _Schema(self.prefix, columns)

    def _not_a_shop(self, connection: Connection[Any]) -> ValidationError:
        """Say whether the prefix is wrong or the database holds no shop."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT t.TABLE_NAME FROM information_schema.TABLES t "
                "JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA "
                "AND c.TABLE_NAME = t.TABLE_NAME AND c.COLUMN_NAME = 'id_customer' "
                "WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME LIKE '%customer' "
                "ORDER BY t.TABLE_NAME"
            )
            found = [str(name) for (name,) in cursor.fetchall()]
        if found:
            return ValidationError.single(
                "prefix",
                "prestashop.wrong_prefix",
                prefix=self.prefix,
                found=found[0][: -len("customer")],
            )
        return ValidationError.single(
            "database",
            "prestashop.not_prestashop",
            database=self.database.database,
            table=f"{self.prefix}customer",
        )

    def _check_shop(self, connection: Connection[Any], schema: _Schema) -> None:
        """Refuse a shop id the database does not have (multistore)."""
        if not schema.has("shop", "id_shop") or not schema.has("customer", "id_shop"):
            return  # a database without shops: every customer is the one shop's
        with connection.cursor() as cursor:
            shops_query = f"SELECT id_shop FROM {schema.table('shop')} ORDER BY id_shop"  # noqa: S608 (a checked prefix)
            cursor.execute(shops_query)
            shops = [int(shop) for (shop,) in cursor.fetchall()]
        if self.shop_id not in shops:
            raise ValidationError.single(
                "shop",
                "prestashop.unknown_shop",
                shop=self.shop_id,
                shops=", ".join(map(str, shops)) or "-",
            )

    def _shop_zone(self, connection: Connection[Any], schema: _Schema) -> ZoneInfo:
        """Return the shop's ``PS_TIMEZONE`` (its own, else the global one)."""
        if not schema.has("configuration", "value"):
            return ZoneInfo(DEFAULT_TIMEZONE)
        shop_column = schema.column("c", "configuration", "id_shop")
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT c.value FROM {schema.table('configuration')} c "  # noqa: S608 (a checked prefix)
                f"WHERE c.name = 'PS_TIMEZONE' AND ({shop_column} = %s "
                f"OR {shop_column} IS NULL) ORDER BY {shop_column} IS NULL LIMIT 1",
                (self.shop_id,),
            )
            row = cursor.fetchone()
        name = str(row[0]).strip() if row and row[0] else ""
        return _zone(name) if name else ZoneInfo(DEFAULT_TIMEZONE)

    def _shop_filter(self, schema: _Schema) -> str:
        if schema.has("customer", "id_shop"):
            return "c.id_shop = %(shop)s AND "
        return ""

    def _counts(
        self, connection: Connection[Any], schema: _Schema
    ) -> tuple[int, Skipped]:
        customers = schema.table("customer")
        shop = self._shop_filter(schema)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(SUM(c.deleted = 0), 0), "  # noqa: S608 (a checked prefix)
                "COALESCE(SUM(c.deleted <> 0), 0) "
                f"FROM {customers} c WHERE {shop}1 = 1",
                {"shop": self.shop_id},
            )
            kept, deleted = cursor.fetchone() or (0, 0)
            cursor.execute(
                f"SELECT COUNT(*) FROM {schema.table('address')} a "  # noqa: S608 (a checked prefix)
                f"JOIN {customers} c ON c.id_customer = a.id_customer "
                f"WHERE {shop}c.deleted = 0 AND a.deleted <> 0",
                {"shop": self.shop_id},
            )
            (addresses,) = cursor.fetchone() or (0,)
        return int(kept), Skipped(int(deleted), int(addresses))

    # -- reading ---------------------------------------------------------------

    def _query(self, schema: _Schema) -> str:
        customer = [schema.column("c", "customer", name) for name in _CUSTOMER]
        language = "NULL"
        joins = []
        if schema.has("customer", "id_lang") and schema.has("lang", "iso_code"):
            language = "l.iso_code"
            joins.append(f"LEFT JOIN {schema.table('lang')} l ON l.id_lang = c.id_lang")
        invoiced = "NULL"
        if schema.has("orders", "id_address_invoice"):
            newest = "o.date_add DESC, " if schema.has("orders", "date_add") else ""
            invoiced = (
                f"(SELECT o.id_address_invoice FROM {schema.table('orders')} o "  # noqa: S608 (a checked prefix)
                f"WHERE o.id_customer = c.id_customer "
                f"ORDER BY {newest}o.id_order DESC LIMIT 1)"
            )
        joins.append(
            f"LEFT JOIN {schema.table('address')} a "
            "ON a.id_customer = c.id_customer AND a.deleted = 0"
        )
        country = "NULL"
        if schema.has("country", "iso_code") and schema.has("address", "id_country"):
            country = "co.iso_code"
            table = schema.table("country")
            joins.append(f"LEFT JOIN {table} co ON co.id_country = a.id_country")
        address = [schema.column("a", "address", name) for name in _ADDRESS]
        columns = ", ".join([*customer, language, invoiced, country, *address])
        return (
            f"SELECT {columns} FROM {schema.table('customer')} c "  # noqa: S608 (a checked prefix)
            f"{' '.join(joins)} "
            f"WHERE {self._shop_filter(schema)}c.deleted = 0 "
            "ORDER BY c.id_customer, a.id_address"
        )

    def customers(self) -> Iterator[ImportedCustomer]:
        """Yield the shop's customers, in ``id_customer`` order, each once.

        Read through an unbuffered cursor: call it once per ``with``, and
        use nothing else of the source while iterating.

        Raises:
            StorageError: The server failed or the connection was lost;
                what was yielded before is sound.
        """
        connection, schema = self._opened()
        import pymysql.cursors  # noqa: PLC0415 (the extra, loaded when opened)

        zone = self.timezone
        cursor = connection.cursor(pymysql.cursors.SSCursor)
        finished = False
        try:
            with _driver_errors():
                cursor.execute(self._query(schema), {"shop": self.shop_id})
                rows: list[Sequence[Any]] = []
                current: object = None
                for row in cursor:
                    if row[_C["id_customer"]] != current and rows:
                        yield _customer(rows, zone)
                        rows = []
                    current = row[_C["id_customer"]]
                    rows.append(row)
                if rows:
                    yield _customer(rows, zone)
            finished = True
        finally:
            if finished:
                cursor.close()
            else:
                # Stopped early (an interrupted import, a lost line): an
                # unbuffered cursor would read every row left before closing;
                # closing the line instead ends the query at once.
                _abandon(cursor)
                self.close()


def _abandon(cursor: object) -> None:
    """Let *cursor* go without reading the rest of its rows (PyMySQL's own state)."""
    result = getattr(cursor, "_result", None)
    if result is not None:
        result.unbuffered_active = False
    setattr(cursor, "connection", None)  # noqa: B010 (closed with the line)


# -- rows into records ------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _moment(value: object, zone: ZoneInfo) -> datetime | None:
    """Return a local ``DATETIME`` in *zone*; a zero date ("0000-00-00") is none."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone)
    return None


def _given(value: object) -> bool:
    """Tell whether a column holds something (not NULL, empty, zero or a zero date)."""
    if value is None:
        return False
    if isinstance(value, date):
        return True
    if isinstance(value, int):
        return value != 0
    text = _text(value).strip()
    return bool(text) and not text.startswith("0000-00-00")


def _address(row: Sequence[Any], zone: ZoneInfo) -> ImportedAddress:
    return ImportedAddress(
        ref=_text(row[_A["id_address"]]),
        first_name=_text(row[_A["firstname"]]),
        last_name=_text(row[_A["lastname"]]),
        company=_text(row[_A["company"]]),
        address1=_text(row[_A["address1"]]),
        address2=_text(row[_A["address2"]]),
        postal_code=_text(row[_A["postcode"]]),
        city=_text(row[_A["city"]]),
        country=_text(row[_COUNTRY]).upper(),
        phone=_text(row[_A["phone"]]),
        mobile=_text(row[_A["phone_mobile"]]),
        alias=_text(row[_A["alias"]]),
        updated_at=_moment(row[_A["date_upd"]], zone),
    )


def _customer(rows: Sequence[Sequence[Any]], zone: ZoneInfo) -> ImportedCustomer:
    """Make one record of a customer's rows (one per address, or one without)."""
    first = rows[0]
    addresses = tuple(
        _address(row, zone) for row in rows if row[_A["id_address"]] is not None
    )
    dropped = [name for column, name in _DROPPED_CUSTOMER if _given(first[_C[column]])]
    for column, name in _DROPPED_ADDRESS:
        if name not in dropped and any(_given(row[_A[column]]) for row in rows):
            dropped.append(name)
    invoiced = first[_INVOICED]
    return ImportedCustomer(
        ref=_text(first[_C["id_customer"]]),
        email=_text(first[_C["email"]]),
        first_name=_text(first[_C["firstname"]]),
        last_name=_text(first[_C["lastname"]]),
        company=_text(first[_C["company"]]),
        siret=_text(first[_C["siret"]]),
        ape=_text(first[_C["ape"]]),
        password_hash=_text(first[_C["passwd"]]),
        language=_text(first[_LANGUAGE]).lower(),
        created_at=_moment(first[_C["date_add"]], zone),
        newsletter=bool(first[_C["newsletter"]]),
        newsletter_at=_moment(first[_C["newsletter_date_add"]], zone),
        optin=bool(first[_C["optin"]]),
        # A PrestaShop without the column has no disabled accounts.
        active=first[_C["active"]] is None or bool(first[_C["active"]]),
        guest=bool(first[_C["is_guest"]]),
        addresses=addresses,
        billing_ref=_text(invoiced) if invoiced else None,
        dropped=tuple(dropped),
    )


# -- the driver ---------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, LookupError):
        # ZoneInfoNotFoundError is a KeyError; a malformed key, a ValueError.
        # The name may come from the old shop's database: shown short, and
        # without control characters that a terminal would obey (SPEC O4).
        shown = "".join(c if c.isprintable() else "\ufffd" for c in name[:64])
        raise ValidationError.single(
            "timezone", "prestashop.timezone_invalid", timezone=shown
        ) from None


def _connect(database: PrestaShopDatabase, timeout: float) -> Connection[Any]:
    """Connect to *database*; say the operator's mistakes as such."""
    try:
        import pymysql  # noqa: PLC0415 (the prestashop extra)
    except ImportError as exc:
        raise ValidationError.single("database", "prestashop.driver_missing") from exc
    try:
        return pymysql.connect(
            host=database.host,
            port=database.port,
            user=database.user,
            password=database.password,
            database=database.database,
            unix_socket=database.socket,
            charset="utf8mb4",
            connect_timeout=max(1, round(timeout)),
            autocommit=False,
        )
    except pymysql.Error as exc:
        code = _code(exc)
        if code == _ACCESS_DENIED:
            raise ValidationError.single(
                "database", "prestashop.access_denied", user=database.user
            ) from exc
        if code == _UNKNOWN_DATABASE:
            raise ValidationError.single(
                "database", "prestashop.unknown_database", database=database.database
            ) from exc
        raise mysql_error(code, type(exc).__name__) from exc


def _code(exc: BaseException) -> int:
    """Return the MySQL error number of a driver exception (0 if it has none)."""
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0


@contextmanager
def _driver_errors() -> Iterator[None]:
    """Turn the driver's exceptions into :class:`StorageError` (SPEC O3)."""
    import pymysql  # noqa: PLC0415 (loaded by then)

    try:
        yield
    except pymysql.Error as exc:
        raise mysql_error(_code(exc), type(exc).__name__) from exc


def _begin_snapshot(connection: Connection[Any]) -> None:
    """Open the read-only, consistent-snapshot transaction everything is read in."""
    import pymysql  # noqa: PLC0415 (loaded by then)

    with connection.cursor() as cursor:
        # A snapshot needs REPEATABLE READ, whatever the server's default;
        # and the import's reads may wait on the importer's writes: a
        # slow reader must not be cut off by the server (60 s by default).
        cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SET SESSION net_write_timeout = 3600")
        try:
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
        except pymysql.Error as exc:
            # MySQL before 5.6.5 has no read-only transactions; only
            # SELECT statements are sent all the same.
            if _code(exc) != _SYNTAX:
                raise
        cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
