"""The PrestaShop migration of 100,000 customers vs the CSV import of the same ones.

Issue 21 asks for a 100,000-customer migration timed against the CSV
import of the same data. The candidate is ``import prestashop`` as the
command runs it (:class:`PrestaShopSource` reading a PrestaShop 8 database
in a MariaDB server on loopback, streamed into
:meth:`CustomerImporter.import_records`); the baseline is
:meth:`CustomerImporter.import_csv` of a file holding the same customers
(name, email, the address's mobile phone, street, postal code and city,
the bcrypt hash kept, the creation date). Each side writes into a fresh
SQLite database, in the default batches of 500; a round's value is the
seconds per customer, and the row's ratio is the PrestaShop import's time
over the CSV import's.

The MariaDB server is the tests' own (``tests/mariadb_server.py``: Debian's
``mariadbd`` started in a temporary folder on a free port, never the
machine's server); without it the row is skipped, saying why. Filling the
database is not timed (its seconds are in the details).
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Row, paired
from benchmarks.importer import _wire
from echoppe_accounts.adapters.sqlite import SQLiteStore

TESTS = Path(__file__).parents[1] / "tests"
CUSTOMERS = 100_000
SIZES = {"prestashop_customers": CUSTOMERS}
"""The customers of this run: ``--prestashop-customers`` (default 100,000)."""
ROUNDS = 3
TARGET = 1.25
COLUMNS = (
    "email",
    "name",
    "phone",
    "billing_street",
    "billing_postal_code",
    "billing_city",
    "delivery_label",
    "password_hash",
    "created_at",
)


def _helpers():  # noqa: ANN202 (the tests' modules, typed there)
    """Import the tests' MariaDB server and PrestaShop data generator."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import mariadb_server  # noqa: PLC0415
    import prestashop_data  # noqa: PLC0415

    return mariadb_server, prestashop_data


def write_csv(path: Path, count: int, start: int, data) -> None:  # noqa: ANN001
    """Write the CSV of the customers ``insert_many`` puts in the database."""
    created = data.local("2021-05-04 09:30:00").isoformat()
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(COLUMNS)
        for n in range(start, start + count):
            writer.writerow(
                (
                    f"client.{n}@exemple.fr",
                    f"Camille Client{n}",
                    f"06{n % 100_000_000:08d}",
                    f"{n % 200 + 1} rue de la Gare",
                    "75011",
                    "Paris",
                    "Mon adresse",
                    data.BENCH_HASH,
                    created,
                )
            )


def run(*, quick: bool = False) -> Row:
    """PrestaShop import from MariaDB vs CSV import, same customers, into SQLite."""
    from echoppe_accounts.adapters.prestashop import (  # noqa: PLC0415
        PrestaShopDatabase,
        PrestaShopSource,
    )
    from echoppe_accounts.entrypoints.csv_import import (  # noqa: PLC0415
        CustomerImporter,
    )

    row = Row(
        name="import_prestashop",
        title="PrestaShop import of 100,000 customers from MariaDB vs the CSV "
        "import of the same customers (both into SQLite)",
        target=f"≤ {TARGET:.2f}x",
        units="PrestaShop import time / CSV import time",
    )
    server_module, data = _helpers()
    problem = server_module.problem()
    if problem is not None:
        row.skipped = problem
        return row
    count = 5_000 if quick else SIZES["prestashop_customers"]
    start = 100_000
    with (
        tempfile.TemporaryDirectory(prefix="echoppe-bench-") as tmp,
        server_module.ThrowawayMariaDB() as server,
    ):
        folder = Path(tmp)
        filled = time.perf_counter()
        data.create_shop(server, "bench", version="8")
        data.insert_many(server, "bench", count, start=start)
        fill_seconds = time.perf_counter() - filled
        source_csv = folder / "clients.csv"
        write_csv(source_csv, count, start, data)
        database = PrestaShopDatabase.parse(server.url("bench"))
        rounds = iter(range(1_000))

        def fresh() -> tuple[SQLiteStore, CustomerImporter]:
            store = SQLiteStore(folder / f"accounts-{next(rounds)}.sqlite3")
            return store, CustomerImporter(_wire(store))

        def candidate() -> float:
            store, importer = fresh()
            began = time.perf_counter()
            with PrestaShopSource(database) as source:
                summary = importer.import_records(
                    source.customers(),
                    source=source.label,
                    report=folder / "prestashop.report.csv",
                    total=source.count(),
                    progress=False,
                )
            elapsed = time.perf_counter() - began
            store.close()
            if summary.imported != count:
                msg = f"the PrestaShop import made {summary.imported} of {count}"
                raise RuntimeError(msg)
            return elapsed / count

        def baseline() -> float:
            store, importer = fresh()
            began = time.perf_counter()
            summary = importer.import_csv(source_csv, progress=False)
            elapsed = time.perf_counter() - began
            store.close()
            if summary.imported != count:
                msg = f"the CSV import made {summary.imported} of {count}"
                raise RuntimeError(msg)
            return elapsed / count

        result = paired(baseline, candidate, rounds=1 if quick else ROUNDS, warmup=0)
    row.ratio = result.ratio
    row.passed = result.ratio <= TARGET
    row.details = {
        "customers": count,
        "rounds": result.rounds,
        "csv_import_us_per_customer": round(result.baseline * 1e6, 1),
        "prestashop_import_us_per_customer": round(result.candidate * 1e6, 1),
        "csv_import_seconds": round(result.baseline * count, 1),
        "prestashop_import_seconds": round(result.candidate * count, 1),
        "ratio_spread": [round(x, 3) for x in result.spread()],
        "mariadb_fill_seconds": round(fill_seconds, 1),
        "note": "each customer one address and a kept bcrypt hash (no mail, no "
        "hashing); MariaDB on loopback on the same machine, its own fresh "
        "server; does not measure a remote server or a busy shop",
    }
    return row
