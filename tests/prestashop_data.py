"""PrestaShop databases for the import's tests: the tables, and customers in them.

:func:`create_shop` makes a database holding the tables of
``tests/data/prestashop/schema-<version>.sql`` (after PrestaShop's own
``db_structure.sql`` when ``ECHOPPE_TEST_PRESTASHOP_SQL`` names one), two
shops, four languages, a few countries and the shop's time zone.
:data:`CASES` are the customers of the issue, one per case (SPEC M1, M2),
each with the record the import source must read from the tables;
:func:`insert_cases` writes them. :func:`insert_many` writes a hundred
thousand plain ones quickly, for the timing.

Every password hash is made here with the ``bcrypt`` package (``$2y$`` as
PHP's ``password_hash`` writes it, ``$2a$`` as older PHP did) or as
PrestaShop 1.6 did (``md5(_COOKIE_KEY_ . password)``), and
:data:`PASSWORDS` keeps each customer's password for the login tests.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import bcrypt

from echoppe_accounts.service_layer.import_records import (
    ImportedAddress,
    ImportedCustomer,
)

SCHEMAS = Path(__file__).parent / "data" / "prestashop"
PARIS = ZoneInfo("Europe/Paris")
UPSTREAM_VARIABLE = "ECHOPPE_TEST_PRESTASHOP_SQL"
"""Names PrestaShop's own ``install-dev/data/db_structure.sql`` to load first."""

LANGUAGES = ((1, "fr"), (2, "en"), (3, "de"), (4, "es"))
COUNTRIES = ((8, "FR"), (3, "BE"), (19, "CH"), (1, "DE"))
COOKIE_KEY = "PrestaShop16CookieKey"
"""The 1.6 shop's ``_COOKIE_KEY_``, which its MD5 passwords are salted with."""


def _bcrypt(password: str, rounds: int, prefix: str) -> str:
    made = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()
    return prefix + made[4:]  # $2b$ → $2y$ or $2a$: the same algorithm


PASSWORDS: dict[str, str] = {}
"""Each case customer's old password, by email (those that have one)."""


def _hashed(email: str, password: str, kind: str) -> str:
    PASSWORDS[email] = password
    if kind == "md5":
        return hashlib.md5((COOKIE_KEY + password).encode()).hexdigest()  # noqa: S324 (what PrestaShop 1.6 stored)
    rounds, prefix = {"2y10": (10, "$2y$"), "2y12": (12, "$2y$"), "2a": (10, "$2a$")}[
        kind
    ]
    return _bcrypt(password, rounds, prefix)


def local(text: str) -> datetime:
    """Return the aware moment of a Paris wall-clock time (as the shop stores it)."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@dataclass
class Address:
    """One ``ps_address`` row."""

    id: int
    firstname: str
    lastname: str
    address1: str
    postcode: str
    city: str
    country: int = 8
    address2: str | None = None
    company: str | None = None
    phone: str | None = None
    mobile: str | None = None
    alias: str = "Mon adresse"
    updated: str = "2024-01-10 10:00:00"
    deleted: bool = False
    other: str | None = None
    vat_number: str | None = None
    dni: str | None = None
    state: int | None = None

    def record(self) -> ImportedAddress:
        return ImportedAddress(
            ref=str(self.id),
            first_name=self.firstname,
            last_name=self.lastname,
            company=self.company or "",
            address1=self.address1,
            address2=self.address2 or "",
            postal_code=self.postcode,
            city=self.city,
            country=dict(COUNTRIES)[self.country],
            phone=self.phone or "",
            mobile=self.mobile or "",
            alias=self.alias,
            updated_at=local(self.updated),
        )


@dataclass
class Customer:
    """One ``ps_customer`` row, its addresses and orders, and what is expected."""

    case: str
    id: int
    email: str
    firstname: str
    lastname: str
    passwd: str = ""
    lang: int | None = 1
    created: str = "2021-05-04 09:30:00"
    company: str | None = None
    siret: str | None = None
    ape: str | None = None
    newsletter: bool = False
    newsletter_at: str | None = None
    optin: bool = False
    active: bool = True
    guest: bool = False
    deleted: bool = False
    shop: int = 1
    birthday: str | None = None
    gender: int = 0
    website: str | None = None
    note: str | None = None
    addresses: list[Address] = field(default_factory=list)
    invoiced: list[int] = field(default_factory=list)
    """The invoice addresses of the customer's orders, oldest order first."""
    billing_ref: str | None = None
    dropped: tuple[str, ...] = ()

    def stored_password(self, *, md5: bool = False) -> str:
        """The hash in ``passwd``: MD5 in a 1.6 shop (32 characters), else bcrypt."""
        if not md5 or len(self.passwd) == 32:
            return self.passwd
        password = PASSWORDS.get(self.email, self.email)
        return hashlib.md5((COOKIE_KEY + password).encode()).hexdigest()  # noqa: S324 (PrestaShop 1.6's)

    def record(self, *, languages: bool = True, md5: bool = False) -> ImportedCustomer:
        """The record the source must read.

        *languages*: ``ps_customer.id_lang`` exists (1.6.1 and later);
        *md5*: a 1.6 shop's MD5 passwords.
        """
        language = dict(LANGUAGES).get(self.lang or 0, "") if languages else ""
        moment = self.newsletter_at
        return ImportedCustomer(
            ref=str(self.id),
            email=self.email,
            first_name=self.firstname,
            last_name=self.lastname,
            company=self.company or "",
            siret=self.siret or "",
            ape=self.ape or "",
            password_hash=self.stored_password(md5=md5),
            language=language,
            created_at=local(self.created),
            newsletter=self.newsletter,
            newsletter_at=local(moment) if moment and moment[0] != "0" else None,
            optin=self.optin,
            active=self.active,
            guest=self.guest,
            addresses=tuple(
                a.record()
                for a in sorted(self.addresses, key=lambda a: a.id)
                if not a.deleted
            ),
            billing_ref=self.billing_ref,
            dropped=self.dropped,
        )


def _cases() -> list[Customer]:
    long_street = "Résidence Les Jardins du Parc, Bâtiment B, Escalier 3"
    return [
        Customer(
            "complete, bcrypt $2y$10$, one address, one order",
            101,
            "marie.curie@exemple.fr",
            "Marie",
            "Curie",
            passwd=_hashed("marie.curie@exemple.fr", "radium-1898", "2y10"),
            addresses=[
                Address(
                    1001,
                    "Marie",
                    "Curie",
                    "12 rue des Lilas",
                    "75011",
                    "Paris",
                    phone="01 43 55 66 77",
                    mobile="06 12 34 56 78",
                )
            ],
            invoiced=[1001],
            billing_ref="1001",
        ),
        Customer(
            "registered, never ordered: no address, no phone",
            102,
            "paul.sansadresse@exemple.fr",
            "Paul",
            "Sansadresse",
            passwd=_hashed("paul.sansadresse@exemple.fr", "sans-adresse-42", "2y10"),
        ),
        Customer(
            "an address without any phone",
            103,
            "lea.sanstel@exemple.fr",
            "Léa",
            "Sanstel",
            passwd=_hashed("lea.sanstel@exemple.fr", "pas-de-telephone", "2y10"),
            addresses=[
                Address(1003, "Léa", "Sanstel", "3 place du Marché", "69002", "Lyon")
            ],
        ),
        Customer(
            "several addresses: billing is the last invoiced, not the newest",
            104,
            "jean.plusieurs@exemple.fr",
            "Jean",
            "Plusieurs",
            passwd=_hashed("jean.plusieurs@exemple.fr", "trois-adresses", "2y10"),
            addresses=[
                Address(
                    1041,
                    "Jean",
                    "Plusieurs",
                    "1 rue Haute",
                    "13001",
                    "Marseille",
                    mobile="0611223344",
                    alias="Maison",
                    updated="2022-02-01 08:00:00",
                ),
                Address(
                    1042,
                    "Sophie",
                    "Plusieurs",
                    "2 avenue Basse",
                    "13008",
                    "Marseille",
                    alias="Chez Sophie",
                    updated="2023-06-01 08:00:00",
                ),
                Address(
                    1043,
                    "Jean",
                    "Plusieurs",
                    "Zone d'activité Nord",
                    "1000",
                    "Bruxelles",
                    country=3,
                    company="Plusieurs SPRL",
                    alias="Bureau",
                    updated="2024-03-01 08:00:00",
                ),
                Address(
                    1044,
                    "Jean",
                    "Plusieurs",
                    "9 impasse Oubliée",
                    "13002",
                    "Marseille",
                    deleted=True,
                    updated="2025-01-01 08:00:00",
                ),
            ],
            invoiced=[1042, 1044, 1041],
            billing_ref="1041",
        ),
        Customer(
            "several addresses, never ordered: billing is the newest",
            105,
            "anne.sanscommande@exemple.fr",
            "Anne",
            "Sanscommande",
            passwd=_hashed("anne.sanscommande@exemple.fr", "jamais-commande", "2y10"),
            addresses=[
                Address(
                    1052,
                    "Anne",
                    "Sanscommande",
                    "5 rue Neuve",
                    "31000",
                    "Toulouse",
                    updated="2024-05-01 12:00:00",
                ),
                Address(
                    1051,
                    "Anne",
                    "Sanscommande",
                    "4 rue Vieille",
                    "31000",
                    "Toulouse",
                    updated="2020-05-01 12:00:00",
                ),
            ],
        ),
        Customer(
            "a company without SIRET",
            106,
            "contact@boulangerie-martin.fr",
            "Louis",
            "Martin",
            company="Boulangerie Martin",
            passwd=_hashed("contact@boulangerie-martin.fr", "pain-au-levain", "2y10"),
            addresses=[
                Address(
                    1006,
                    "Louis",
                    "Martin",
                    "8 rue du Four",
                    "44000",
                    "Nantes",
                    company="Boulangerie Martin",
                    phone="02 40 11 22 33",
                )
            ],
            invoiced=[1006],
            billing_ref="1006",
        ),
        Customer(
            "a company that typed its SIREN in siret, and an APE code",
            107,
            "compta@siren-seul.fr",
            "Claire",
            "Siren",
            company="Siren Seul SAS",
            siret="732829320",
            ape="4711D",
            passwd=_hashed("compta@siren-seul.fr", "siren-sans-siret", "2y12"),
            addresses=[
                Address(
                    1007,
                    "Claire",
                    "Siren",
                    "20 quai des Chartrons",
                    "33000",
                    "Bordeaux",
                    phone="05 56 00 11 22",
                )
            ],
        ),
        Customer(
            "a company with SIRET and APE",
            108,
            "achats@siret-complet.fr",
            "Hugo",
            "Siret",
            company="Siret Complet SARL",
            siret="73282932000074",
            ape="6201Z",
            passwd=_hashed("achats@siret-complet.fr", "siret-complet", "2a"),
            addresses=[
                Address(
                    1008,
                    "Hugo",
                    "Siret",
                    "1 boulevard de la Liberté",
                    "59000",
                    "Lille",
                    phone="03 20 00 11 22",
                )
            ],
        ),
        Customer(
            "newsletter with its date, partners' offers accepted",
            109,
            "abonnee@exemple.fr",
            "Inès",
            "Abonnée",
            passwd=_hashed("abonnee@exemple.fr", "lettre-du-mardi", "2y10"),
            newsletter=True,
            newsletter_at="2023-07-14 18:45:00",
            optin=True,
            addresses=[
                Address(
                    1009,
                    "Inès",
                    "Abonnée",
                    "7 rue de la Paix",
                    "67000",
                    "Strasbourg",
                    mobile="+33 698765432",
                )
            ],
        ),
        Customer(
            "disabled by the shop (active = 0)",
            110,
            "desactive@exemple.fr",
            "Denis",
            "Désactivé",
            passwd=_hashed("desactive@exemple.fr", "compte-bloque", "2y10"),
            active=False,
            addresses=[
                Address(
                    1010,
                    "Denis",
                    "Désactivé",
                    "2 rue Close",
                    "35000",
                    "Rennes",
                    phone="02 99 00 00 00",
                )
            ],
        ),
        Customer(
            "a guest checkout",
            111,
            "invite@exemple.fr",
            "Gaëlle",
            "Invitée",
            # PrestaShop gives a guest a random password nobody knows.
            passwd=_bcrypt("guest-random-9f8e7d", 10, "$2y$"),
            guest=True,
            addresses=[
                Address(
                    1011,
                    "Gaëlle",
                    "Invitée",
                    "6 rue du Passage",
                    "21000",
                    "Dijon",
                    phone="03 80 00 00 00",
                )
            ],
            invoiced=[1011],
            billing_ref="1011",
        ),
        Customer(
            "German, a language the shop's catalogues lack",
            112,
            "kunde@beispiel.de",
            "Jürgen",
            "Schmidt",
            lang=3,
            passwd=_hashed("kunde@beispiel.de", "passwort-sicher", "2y10"),
            addresses=[
                Address(
                    1012,
                    "Jürgen",
                    "Schmidt",
                    "Hauptstraße 5",
                    "10115",
                    "Berlin",
                    country=1,
                    phone="+49 30 1234567",
                )
            ],
        ),
        Customer(
            "English",
            113,
            "customer@example.co.uk",
            "Emily",
            "Brown",
            lang=2,
            passwd=_hashed("customer@example.co.uk", "cup-of-tea-please", "2y10"),
            addresses=[
                Address(
                    1013,
                    "Emily",
                    "Brown",
                    "3 rue des Anglais",
                    "06000",
                    "Nice",
                    mobile="06 01 02 03 04",
                )
            ],
        ),
        Customer(
            "address lines longer than 38 characters",
            114,
            "longue.adresse@exemple.fr",
            "Bernadette",
            "Longuerue",
            passwd=_hashed("longue.adresse@exemple.fr", "adresse-a-rallonge", "2y10"),
            addresses=[
                Address(
                    1014,
                    "Bernadette",
                    "Longuerue",
                    "145 avenue du Général de Gaulle prolongée",
                    "92200",
                    "Neuilly-sur-Seine",
                    address2=long_street,
                    phone="01 47 00 00 00",
                )
            ],
        ),
        Customer(
            "PrestaShop 1.6's MD5 password",
            115,
            "ancien.client@exemple.fr",
            "Albert",
            "Ancien",
            created="2014-11-02 16:20:00",
            passwd=_hashed("ancien.client@exemple.fr", "vieux-mot-de-passe", "md5"),
            addresses=[
                Address(
                    1015,
                    "Albert",
                    "Ancien",
                    "11 rue du Temps",
                    "87000",
                    "Limoges",
                    phone="05 55 00 00 00",
                )
            ],
        ),
        Customer(
            "fields an account has no place for",
            116,
            "tout.dit@exemple.fr",
            "Toussaint",
            "Dit",
            passwd=_hashed("tout.dit@exemple.fr", "tout-est-dit", "2y10"),
            birthday="1980-02-29",
            gender=1,
            website="https://tout-dit.example",
            note="Client fidèle, appeler avant livraison",
            addresses=[
                Address(
                    1016,
                    "Toussaint",
                    "Dit",
                    "4 chemin des Vignes",
                    "51100",
                    "Reims",
                    phone="03 26 00 00 00",
                    other="Digicode 1234",
                    vat_number="FR40303265045",
                    dni="X1234567",
                    state=12,
                )
            ],
            dropped=(
                "birthday",
                "gender",
                "website",
                "note",
                "address.state",
                "address.other",
                "address.vat_number",
                "address.dni",
            ),
        ),
        Customer(
            "newsletter flag with a zero date (older PrestaShop), no language",
            117,
            "zero.date@exemple.fr",
            "Zoé",
            "Zéro",
            lang=None,
            passwd=_hashed("zero.date@exemple.fr", "date-nulle-0000", "2y10"),
            newsletter=True,
            newsletter_at="0000-00-00 00:00:00",
            addresses=[
                Address(
                    1017,
                    "Zoé",
                    "Zéro",
                    "1 rue du Néant",
                    "75020",
                    "Paris",
                    mobile="07 00 00 00 00",
                )
            ],
        ),
        Customer(
            "deleted in PrestaShop: not read, counted",
            118,
            "supprime@exemple.fr",
            "Sylvain",
            "Supprimé",
            passwd=_bcrypt("supprime", 4, "$2y$"),
            deleted=True,
            addresses=[
                Address(1018, "Sylvain", "Supprimé", "1 rue Perdue", "75001", "Paris")
            ],
        ),
        Customer(
            "a customer of the second shop: not read for shop 1",
            119,
            "autre.boutique@exemple.fr",
            "Octave",
            "Autre",
            passwd=_bcrypt("autre", 4, "$2y$"),
            shop=2,
            addresses=[
                Address(1019, "Octave", "Autre", "2 rue Ailleurs", "75002", "Paris")
            ],
        ),
    ]


CASES: list[Customer] = _cases()
"""The issue's cases, one customer each, in ``id_customer`` order."""


def read_for_shop(shop: int = 1) -> list[Customer]:
    """The cases a source reading *shop* yields (not deleted, of that shop)."""
    return [c for c in CASES if c.shop == shop and not c.deleted]


# -- the database -------------------------------------------------------------------


def _statements(sql: str) -> Iterable[str]:
    """Split a schema file into statements (no ``;`` inside one in these files)."""
    for statement in sql.split(";\n"):
        body = "\n".join(
            line
            for line in statement.splitlines()
            if not line.lstrip().startswith("--")
        ).strip()
        if body:
            yield body


def create_shop(
    server, database: str, *, version: str = "8", prefix: str = "ps_"
) -> None:
    """Create *database* with the shop's tables, shops, languages and settings."""
    schema = (SCHEMAS / f"schema-{version}.sql").read_text(encoding="utf-8")
    charset = "utf8" if version == "1.6" else "utf8mb4"
    with server.connect() as db, db.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET {charset}")
        cursor.execute(f"USE `{database}`")
        cursor.execute("SET SESSION sql_mode = ''")  # as PrestaShop's installer
        upstream = os.environ.get(UPSTREAM_VARIABLE)
        if upstream and version != "1.6":
            text = Path(upstream).read_text(encoding="utf-8")
            text = text.replace("ENGINE_TYPE", "InnoDB").replace("COLLATION", "")
            for statement in _statements(text.replace("PREFIX_", prefix)):
                cursor.execute(statement)
        for statement in _statements(schema.replace("PREFIX_", prefix)):
            cursor.execute(statement)
        t = prefix
        cursor.execute(
            f"INSERT INTO `{t}shop` (id_shop, id_shop_group, name, active, deleted) "  # noqa: S608 (the test database's own names)
            "VALUES (1, 1, 'Boutique', 1, 0), (2, 1, 'Outlet', 1, 0)"
        )
        locale = ", locale" if version != "1.6" else ""
        for id_lang, iso in LANGUAGES:
            values = f", '{iso}-{iso.upper()}'" if version != "1.6" else ""
            cursor.execute(
                f"INSERT INTO `{t}lang` (id_lang, name, active, iso_code, language_code"  # noqa: S608 (the test database's own names)
                f"{locale}) VALUES (%s, %s, 1, %s, %s{values})",
                (id_lang, iso, iso, iso),
            )
        cursor.executemany(
            f"INSERT INTO `{t}country` (id_country, id_zone, iso_code, active, "  # noqa: S608 (the test database's own names)
            "display_tax_label) VALUES (%s, 1, %s, 1, 1)",
            COUNTRIES,
        )
        cursor.execute(
            f"INSERT INTO `{t}configuration` (name, value, date_add, date_upd) "  # noqa: S608 (the test database's own names)
            "VALUES ('PS_TIMEZONE', 'Europe/Paris', NOW(), NOW())"
        )


def _customer_row(
    c: Customer, *, languages: bool, md5: bool = False
) -> dict[str, object]:
    row: dict[str, object] = {
        "id_customer": c.id,
        "id_shop": c.shop,
        "id_gender": c.gender,
        "company": c.company,
        "siret": c.siret,
        "ape": c.ape,
        "firstname": c.firstname,
        "lastname": c.lastname,
        "email": c.email,
        "passwd": c.stored_password(md5=md5),
        "birthday": c.birthday,
        "newsletter": int(c.newsletter),
        "newsletter_date_add": c.newsletter_at,
        "optin": int(c.optin),
        "website": c.website,
        "note": c.note,
        "active": int(c.active),
        "is_guest": int(c.guest),
        "deleted": int(c.deleted),
        "date_add": c.created,
        "date_upd": c.created,
    }
    if languages:
        row["id_lang"] = c.lang
    return row


def _insert(cursor, table: str, rows: Sequence[dict[str, object]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f"`{name}`" for name in columns)
    places = ", ".join(["%s"] * len(columns))
    cursor.executemany(
        f"INSERT INTO {table} ({names}) VALUES ({places})",  # noqa: S608 (the test database's own names)
        [tuple(row[name] for name in columns) for row in rows],
    )


def _address_row(customer: int, a: Address) -> dict[str, object]:
    return {
        "id_address": a.id,
        "id_country": a.country,
        "id_state": a.state,
        "id_customer": customer,
        "alias": a.alias,
        "company": a.company,
        "lastname": a.lastname,
        "firstname": a.firstname,
        "address1": a.address1,
        "address2": a.address2,
        "postcode": a.postcode,
        "city": a.city,
        "other": a.other,
        "phone": a.phone,
        "phone_mobile": a.mobile,
        "vat_number": a.vat_number,
        "dni": a.dni,
        "date_add": a.updated,
        "date_upd": a.updated,
        "deleted": int(a.deleted),
    }


def _order_rows(c: Customer, first_id: int) -> list[dict[str, object]]:
    return [
        {
            "id_order": first_id + n,
            "id_shop": c.shop,
            "id_carrier": 1,
            "id_lang": 1,
            "id_customer": c.id,
            "id_cart": first_id + n,
            "id_currency": 1,
            "id_address_delivery": invoice,
            "id_address_invoice": invoice,
            "current_state": 5,
            "payment": "Carte bancaire",
            "invoice_date": f"2024-0{n + 1}-15 10:00:00",
            "delivery_date": f"2024-0{n + 1}-17 10:00:00",
            "date_add": f"2024-0{n + 1}-15 10:00:00",
            "date_upd": f"2024-0{n + 1}-15 10:00:00",
        }
        for n, invoice in enumerate(c.invoiced)
    ]


def insert_cases(
    server,
    database: str,
    *,
    prefix: str = "ps_",
    languages: bool = True,
    md5: bool = False,
) -> list[Customer]:
    """Write :data:`CASES` into *database*; return them (*md5*: as a 1.6 shop)."""
    with server.connect(database) as db, db.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = ''")
        customers = [_customer_row(c, languages=languages, md5=md5) for c in CASES]
        _insert(cursor, f"`{prefix}customer`", customers)
        addresses = [_address_row(c.id, a) for c in CASES for a in c.addresses]
        _insert(cursor, f"`{prefix}address`", addresses)
        orders = []
        for c in CASES:
            orders += _order_rows(c, c.id * 10)
        _insert(cursor, f"`{prefix}orders`", orders)
    return CASES


# -- many customers, for the timing ----------------------------------------------------

BENCH_HASH = "$2y$10$TluM/g./pzU6AQZv.NXyP.ylDwtTmSABzeLZJDbUyVCXcktuchUWC"
"""The bcrypt hash every generated customer keeps (no work at import)."""


def insert_many(
    server, database: str, count: int, *, prefix: str = "ps_", start: int = 100_000
) -> None:
    """Write *count* plain customers (ids from *start*), each with one address."""
    batch = 5_000
    with server.connect(database) as db, db.cursor() as cursor:
        for first in range(start, start + count, batch):
            ids = range(first, min(first + batch, start + count))
            customers = []
            addresses = []
            for n in ids:
                customer = Customer(
                    "bench",
                    n,
                    f"client.{n}@exemple.fr",
                    "Camille",
                    f"Client{n}",
                    passwd=BENCH_HASH,
                )
                customers.append(_customer_row(customer, languages=True))
                addresses.append(
                    _address_row(
                        n,
                        Address(
                            n,
                            "Camille",
                            f"Client{n}",
                            f"{n % 200 + 1} rue de la Gare",
                            "75011",
                            "Paris",
                            mobile=f"06{n % 100_000_000:08d}",
                        ),
                    )
                )
            _insert(cursor, f"`{prefix}customer`", customers)
            _insert(cursor, f"`{prefix}address`", addresses)
