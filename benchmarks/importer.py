"""The CSV import, into SQLite and into PostgreSQL, against the validator-bound limit.

The limit is what the three bare validators of row 1 allow: one line per
their time on it. The candidate is ``CustomerImporter.import_csv`` writing
into a :class:`SQLiteStore`, in its default batches of 500 lines, the file
a PrestaShop migration brings: Faker companies, each with the bcrypt hash
its old shop kept (no mail; each hash is wrapped in argon2id, SPEC M3, by
the benchmark's cheapest argon2id parameters: about 20 µs a line, which
threads cannot hide behind Python work that holds the GIL). The file is cut into
chunks imported one after the other into the same database, each paired
with the bare validators on the same lines: a round's value is the
import's lines per second over the limit.

The PostgreSQL row does the same into a fresh schema of the server named
by ``ECHOPPE_BENCH_POSTGRES_DSN`` (or ``ECHOPPE_TEST_POSTGRES_DSN``), and
is skipped, saying why, without one. The import leaves the process's
garbage collector as it is (enabled, with its default thresholds, as in
a web server that runs an import in one of its threads).

Memory (SQLite row): the peak resident size of a child process importing a file of
:data:`MEMORY_LINES` lines (a million, the issue's size: about four
minutes), beside one importing a tenth of it: memory bounded by the batch
stays flat as the file grows.
"""

from __future__ import annotations

import csv
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.data import Record, companies
from benchmarks.harness import Paired, Row, at_least, paired
from benchmarks.lookup import postgres_dsn
from benchmarks.register import cheap_hasher, settings
from benchmarks.validation import bare_calls
from echoppe_accounts.adapters.legacy_hashes import LegacyHasher
from echoppe_accounts.adapters.sqlite import SQLiteStore
from echoppe_accounts.bootstrap import App, bootstrap
from echoppe_accounts.testing import RecordingMailer

if TYPE_CHECKING:  # psycopg is the postgres extra
    from echoppe_accounts.adapters.postgres import PostgresStore

CHUNK = 1_000
ROUNDS = 11
MEMORY_LINES = 1_000_000
SIZES = {"import_lines": MEMORY_LINES}
"""The memory child's file for this run: ``--import-lines`` (default a million)."""
BCRYPT = "$2y$10$TluM/g./pzU6AQZv.NXyP.ylDwtTmSABzeLZJDbUyVCXcktuchUWC"
"""A PrestaShop-style bcrypt hash, kept by the import without any work."""

COLUMNS = (
    "email",
    "name",
    "phone",
    "category",
    "organisation_name",
    "siret",
    "billing_street",
    "billing_postal_code",
    "billing_city",
    "delivery_contact_name",
    "delivery_street",
    "delivery_postal_code",
    "delivery_city",
    "password_hash",
    "newsletter",
    "newsletter_wording_version",
)


def _cells(record: Record, n: int) -> list[str]:
    billing = record["billing_address"]
    delivery = record["delivery_addresses"][0]
    local, _, domain = record["email"].partition("@")
    return [
        f"{local}.{n}@{domain}",  # distinct over a file of any length
        record["name"],
        record["phone"],
        record["category"],
        record["organisation_name"],
        record["siret"],
        "|".join(billing["street_lines"]),
        billing["postal_code"],
        billing["city"],
        delivery["contact_name"],
        "|".join(delivery["address"]["street_lines"]),
        delivery["address"]["postal_code"],
        delivery["address"]["city"],
        BCRYPT,
        "0",
        "",
    ]


def write_csv(
    path: Path, lines: int, start: int = 0, *, keep: bool = True
) -> list[Record]:
    """Write *lines* customer lines (``;``, as French spreadsheets).

    Returns them as records, unless *keep* is false (a million records
    would fill the memory the import's is measured against).
    """
    pool = companies(2_000)
    records = []
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(COLUMNS)
        for n in range(start, start + lines):
            record = pool[n % len(pool)]
            cells = _cells(record, n)
            writer.writerow(cells)
            if keep:
                records.append({**record, "email": cells[0]})
    return records


NOTE = (
    "does not measure: the wrapping of kept hashes at the shop's own argon2id "
    "parameters (the row wraps them at the cheapest ones; at the default "
    "m=19456 KiB, t=2 each kept hash costs a full argon2id, about 10 ms a "
    "line on two cores, which then bounds the import), lines that need an "
    "invitation mail rendered and sealed, refused lines, imports into a "
    "database already holding many accounts, nor the file read from a slow "
    "disk"
)


def _wire(store: SQLiteStore | PostgresStore) -> App:
    return bootstrap(
        store.unit_of_work,
        RecordingMailer(),
        settings(),
        hasher=LegacyHasher(cheap_hasher()),
    )


def _app(database: Path) -> tuple[SQLiteStore, App]:
    store = SQLiteStore(database)
    return store, _wire(store)


def _child(source: Path) -> None:
    """Import *source*; print the peak resident memory (bytes), lines read, seconds."""
    from echoppe_accounts.entrypoints.csv_import import (  # noqa: PLC0415
        CustomerImporter,
    )

    with tempfile.TemporaryDirectory(prefix="echoppe-bench-") as tmp:
        store, app = _app(Path(tmp) / "import.sqlite3")
        started = time.perf_counter()
        summary = CustomerImporter(app).import_csv(source, progress=False)
        elapsed = time.perf_counter() - started
        store.close()
    # VmHWM starts afresh with the program; ru_maxrss would count the copy
    # of the parent that fork made before exec.
    status = Path("/proc/self/status").read_text(encoding="ascii").splitlines()
    peak = next(int(s.split()[1]) for s in status if s.startswith("VmHWM:")) * 1024
    sys.stdout.write(f"{peak} {summary.read} {elapsed}\n")


def _peak_memory(lines: int) -> tuple[int, int, float]:
    """Return the peak memory, lines read and seconds of importing *lines*."""
    with tempfile.TemporaryDirectory(prefix="echoppe-bench-") as tmp:
        source = Path(tmp) / "clients.csv"
        write_csv(source, lines, keep=False)
        done = subprocess.run(  # noqa: S603 (our interpreter, our module)
            [sys.executable, "-m", "benchmarks.importer", str(source)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parents[1],
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    peak, imported, elapsed = done.stdout.split()
    return int(peak), int(imported), float(elapsed)


def _paired(folder: Path, app: App, rounds: int) -> Paired:
    """Import chunks into *app*, each paired with the bare validators' time on it."""
    from echoppe_accounts.entrypoints.csv_import import (  # noqa: PLC0415
        CustomerImporter,
    )

    check = bare_calls()
    chunks = []
    for i in range(rounds + 1):
        path = folder / f"chunk{i}.csv"
        chunks.append((path, write_csv(path, CHUNK, start=i * CHUNK)))
    importer = CustomerImporter(app)
    position = {"baseline": 0, "candidate": 0}

    def baseline() -> float:
        _, records = chunks[position["baseline"]]
        position["baseline"] += 1
        started = time.perf_counter()
        for record in records:
            check(record)
        return (time.perf_counter() - started) / len(records)

    def candidate() -> float:
        path, records = chunks[position["candidate"]]
        position["candidate"] += 1
        started = time.perf_counter()
        summary = importer.import_csv(path, progress=False)
        elapsed = time.perf_counter() - started
        if summary.read != len(records):
            msg = f"the import read {summary.read} lines of {len(records)}"
            raise RuntimeError(msg)
        return elapsed / len(records)

    return paired(baseline, candidate, rounds=rounds)


def run(*, quick: bool = False) -> Row:
    """CSV import into SQLite vs 1 / bare validator time; peak memory."""
    rounds = 5 if quick else ROUNDS
    with tempfile.TemporaryDirectory(prefix="echoppe-bench-") as tmp:
        store, app = _app(Path(tmp) / "import.sqlite3")
        result = _paired(Path(tmp), app, rounds)
        store.close()
    share = 1 / result.ratio  # lines/s over the validator-bound limit
    lines = SIZES["import_lines"]
    small = _peak_memory(lines // 10)
    large = _peak_memory(5_000 if quick else lines)
    memory_ok = large[0] <= 150 * 2**20
    return Row(
        name="import_csv",
        title="CSV import into SQLite vs the validator-bound limit "
        "(1 / bare validator time)",
        target="≥ 0.80, RSS ≤ 150 MB",
        units="import lines/s / (1 / bare validator time per line)",
        ratio=share,
        passed=share >= 0.80 and memory_ok,  # noqa: PLR2004
        details={
            "note": NOTE,
            "lines_per_round": CHUNK,
            "rounds": result.rounds,
            "bare_validators_us_per_line": round(result.baseline * 1e6, 1),
            "import_us_per_line": round(result.candidate * 1e6, 1),
            "share_spread": [round(1 / x, 3) for x in reversed(result.spread())],
            "peak_rss_mib": {
                f"{small[1]:,} lines": round(small[0] / 2**20, 1),
                f"{large[1]:,} lines": round(large[0] / 2**20, 1),
            },
            "import_seconds": {
                f"{small[1]:,} lines": round(small[2], 1),
                f"{large[1]:,} lines": round(large[2], 1),
            },
        },
    )


if __name__ == "__main__":
    _child(Path(sys.argv[1]))


def run_postgres(*, quick: bool = False) -> Row:
    """CSV import into PostgreSQL vs 1 / bare validator time."""
    title = (
        "CSV import into PostgreSQL vs the validator-bound limit "
        "(1 / bare validator time)"
    )
    base = Row(
        name="import_csv_postgres",
        title=title,
        target="≥ 0.80",
        units="import lines/s / (1 / bare validator time per line)",
    )
    dsn = postgres_dsn()
    if dsn is None:
        base.skipped = (
            "no server named: set ECHOPPE_BENCH_POSTGRES_DSN "
            "(or ECHOPPE_TEST_POSTGRES_DSN)"
        )
        return base
    import psycopg  # noqa: PLC0415 (the postgres extra)
    from psycopg import sql  # noqa: PLC0415

    from echoppe_accounts.adapters.postgres import PostgresStore  # noqa: PLC0415

    try:
        with psycopg.connect(dsn, connect_timeout=5) as probe:
            probe.execute("SELECT 1")
    except psycopg.Error as exc:
        base.skipped = f"no PostgreSQL server at the DSN given ({type(exc).__name__})"
        return base
    rounds = 5 if quick else ROUNDS
    schema = f"bench_import_{secrets.token_hex(4)}"
    try:
        store = PostgresStore(dsn, schema=schema, max_size=2)
        try:
            with tempfile.TemporaryDirectory(prefix="echoppe-bench-") as tmp:
                result = _paired(Path(tmp), _wire(store), rounds)
        finally:
            store.close()
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema)
                )
            )
    share = 1 / result.ratio
    base.ratio = share
    base.passed = at_least(0.80)(share)
    base.details = {
        "note": NOTE,
        "lines_per_round": CHUNK,
        "rounds": result.rounds,
        "bare_validators_us_per_line": round(result.baseline * 1e6, 1),
        "import_us_per_line": round(result.candidate * 1e6, 1),
        "share_spread": [round(1 / x, 3) for x in reversed(result.spread())],
    }
    return base
