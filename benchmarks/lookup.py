"""Row 8: finding an account among 1,000,000 against finding it among 10,000.

``AccountService.find_by_email`` on two stores of the same adapter, one
with :data:`BIG` accounts and one with :data:`SMALL`, the two interleaved.
Every round looks up :data:`LOOKUPS` emails drawn afresh at random from
each store's own accounts (a round never repeats the previous rounds'
emails on purpose): at a million accounts, most of the pages a lookup
reads are then cold, as a shop's logins from many customers find them.
A million registrations would take hours: the accounts are bulk-inserted
rows, copies of one account the library registered, each with its own id,
email and key (and its delivery address), inserted in key order and
committed once. The PostgreSQL row needs a server: its DSN comes from
``ECHOPPE_BENCH_POSTGRES_DSN`` (or the tests' ``ECHOPPE_TEST_POSTGRES_DSN``);
without one, or without a server, it is skipped with the reason.
"""

from __future__ import annotations

import gc
import os
import random
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.data import SEED, companies, registration_form
from benchmarks.harness import Paired, Row, at_most, paired
from benchmarks.register import cheap_hasher, settings
from echoppe_accounts.adapters import _records as rec
from echoppe_accounts.adapters.memory import InMemoryStore
from echoppe_accounts.adapters.sqlite import SQLiteStore
from echoppe_accounts.bootstrap import bootstrap
from echoppe_accounts.ports import UnitOfWorkFactory
from echoppe_accounts.testing import RecordingMailer

if TYPE_CHECKING:  # psycopg is the postgres extra: imported when a server is named
    from echoppe_accounts.adapters.postgres import PostgresStore

BIG = 1_000_000
INSERTS_PER_CALL = 50_000
SMALL = 10_000
LOOKUPS = 300
ROUNDS = 15
DSN_VARIABLES = ("ECHOPPE_BENCH_POSTGRES_DSN", "ECHOPPE_TEST_POSTGRES_DSN")


def _template() -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the account and delivery rows of one account the library made."""
    store = InMemoryStore()
    app = bootstrap(
        store.unit_of_work, RecordingMailer(), settings(), hasher=cheap_hasher()
    )
    account = app.accounts.register(registration_form(companies(1, seed=SEED + 1)[0]))
    return rec.account_row(account), rec.delivery_rows(account)[0]


def email_of(n: int) -> str:
    """The email of the *n*-th bulk account (keys sort in insertion order)."""
    return f"client{n:07d}@exemple-{n % 97:02d}.fr"


def bulk_rows(
    count: int, account: dict[str, Any], delivery: dict[str, Any]
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield *count* copies of the template rows, each with its id and email."""
    for n in range(count):
        account_id = f"{n:08x}-0000-4000-8000-{n:012x}"
        email = email_of(n)
        yield (
            {**account, "id": account_id, "email": email, "email_key": email},
            {**delivery, "account_id": account_id, "id": f"{account_id}-d"},
        )


def _sqlite_store(path: Path, count: int) -> SQLiteStore:
    SQLiteStore(path).close()
    account, delivery = _template()
    columns = list(account)
    d_columns = list(delivery)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA synchronous=OFF")  # the load only
        conn.execute("BEGIN")
        batch: list[tuple[Any, ...]] = []
        d_batch: list[tuple[Any, ...]] = []
        insert = (
            f"INSERT INTO accounts ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        d_insert = (
            f"INSERT INTO delivery_addresses ({', '.join(d_columns)}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in d_columns)})"
        )
        for a, d in bulk_rows(count, account, delivery):
            batch.append(tuple(a[c] for c in columns))
            d_batch.append(tuple(d[c] for c in d_columns))
            if len(batch) >= INSERTS_PER_CALL:
                conn.executemany(insert, batch)
                conn.executemany(d_insert, d_batch)
                batch.clear()
                d_batch.clear()
        conn.executemany(insert, batch)
        conn.executemany(d_insert, d_batch)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return SQLiteStore(path)


NOTE = (
    "does not measure: lookups of absent emails, the first lookup after a "
    "restart with an empty operating-system cache, concurrent lookups, nor a "
    "database bigger than the memory (the million accounts fit in the page cache)"
)


def _measure(
    big: UnitOfWorkFactory, small: UnitOfWorkFactory, *, rounds: int
) -> Paired:
    """Pair lookups in the small store (baseline) and the big one (candidate)."""
    apps = {
        name: bootstrap(
            factory, RecordingMailer(), settings(), hasher=cheap_hasher()
        ).accounts
        for name, factory in (("big", big), ("small", small))
    }
    sizes = {"big": BIG_COUNT[0], "small": SMALL}
    # Which accounts to look up, not secrets; drawn outside the timing.
    draws = {"big": random.Random(1), "small": random.Random(2)}  # noqa: S311

    def batch(name: str) -> Callable[[], float]:
        service, size, draw = apps[name], sizes[name], draws[name]

        def run() -> float:
            emails = [email_of(draw.randrange(size)) for _ in range(LOOKUPS)]
            gc.collect()
            started = time.perf_counter()
            for email in emails:
                if service.find_by_email(email) is None:
                    msg = f"{email} not found"
                    raise LookupError(msg)
            return (time.perf_counter() - started) / LOOKUPS

        return run

    return paired(batch("small"), batch("big"), rounds=rounds, warmup=2)


BIG_COUNT = [BIG]
"""The size of the big store (a list, so that a quick run can scale it down)."""

SIZES = {"accounts": BIG}
"""The big store's size for this run: ``--accounts`` (default a million)."""


def _row(name: str, title: str, result: Paired, details: dict[str, Any]) -> Row:
    return Row(
        name=name,
        title=title,
        target="≤ 1.3x",
        units="lookup time at the big store / at the small one",
        ratio=result.ratio,
        passed=at_most(1.3)(result.ratio),
        details={
            **details,
            "accounts": {"big": BIG_COUNT[0], "small": SMALL},
            "lookups_per_round": LOOKUPS,
            "rounds": result.rounds,
            "small_us_per_lookup": round(result.baseline * 1e6, 1),
            "big_us_per_lookup": round(result.candidate * 1e6, 1),
            "ratio_spread": [round(x, 3) for x in result.spread()],
        },
    )


SCALE_NOTE = (
    "accounts are bulk-inserted copies of one registered account (its own id, "
    "email, key and delivery address each), not a million registrations"
)


def run_sqlite(*, quick: bool = False) -> Row:
    """Row 8, SQLite."""
    BIG_COUNT[0] = 100_000 if quick else SIZES["accounts"]
    with tempfile.TemporaryDirectory(prefix="echoppe-bench-") as tmp:
        big = _sqlite_store(Path(tmp) / "big.sqlite3", BIG_COUNT[0])
        small = _sqlite_store(Path(tmp) / "small.sqlite3", SMALL)
        result = _measure(
            big.unit_of_work, small.unit_of_work, rounds=5 if quick else ROUNDS
        )
        big.close()
        small.close()
    return _row(
        "lookup_sqlite",
        f"account lookup at {BIG_COUNT[0]:,} accounts vs {SMALL:,} (SQLite)",
        result,
        {"note": NOTE, "scale": SCALE_NOTE},
    )


def postgres_dsn() -> str | None:
    """The DSN of the server to use, from the environment."""
    for name in DSN_VARIABLES:
        if value := os.environ.get(name):
            return value
    return None


def _postgres_store(dsn: str, schema: str, count: int) -> PostgresStore:
    from echoppe_accounts.adapters.postgres import PostgresStore  # noqa: PLC0415

    store = PostgresStore(dsn, schema=schema, max_size=2)
    account, delivery = _template()
    columns, d_columns = list(account), list(delivery)
    with store.pool.connection() as conn:
        with conn.cursor() as cursor:
            with cursor.copy(
                f"COPY accounts ({', '.join(columns)}) FROM STDIN"
            ) as copy:
                for a, _ in bulk_rows(count, account, delivery):
                    copy.write_row(tuple(a[c] for c in columns))
            with cursor.copy(
                f"COPY delivery_addresses ({', '.join(d_columns)}) FROM STDIN"
            ) as copy:
                for _, d in bulk_rows(count, account, delivery):
                    copy.write_row(tuple(d[c] for c in d_columns))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE accounts")
        conn.execute("VACUUM ANALYZE delivery_addresses")
        conn.autocommit = False
    return store


def run_postgres(*, quick: bool = False) -> Row:
    """Row 8, PostgreSQL; skipped with the reason when no server answers."""
    title = f"account lookup at {BIG:,} accounts vs {SMALL:,} (PostgreSQL)"
    dsn = postgres_dsn()
    if dsn is None:
        return Row(
            name="lookup_postgres",
            title=title,
            target="≤ 1.3x",
            units="lookup time at the big store / at the small one",
            skipped="no server named: set ECHOPPE_BENCH_POSTGRES_DSN "
            "(or ECHOPPE_TEST_POSTGRES_DSN)",
        )
    try:
        import psycopg  # noqa: PLC0415
        from psycopg import sql  # noqa: PLC0415

        with psycopg.connect(dsn, connect_timeout=5) as probe:
            probe.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 (any failure to reach it: skip, saying why)
        return Row(
            name="lookup_postgres",
            title=title,
            target="≤ 1.3x",
            units="lookup time at the big store / at the small one",
            skipped=f"no PostgreSQL server at the DSN given ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})",
        )
    BIG_COUNT[0] = 100_000 if quick else SIZES["accounts"]
    suffix = secrets.token_hex(4)
    schemas = {"big": f"bench_big_{suffix}", "small": f"bench_small_{suffix}"}
    stores = {}
    try:
        stores["big"] = _postgres_store(dsn, schemas["big"], BIG_COUNT[0])
        stores["small"] = _postgres_store(dsn, schemas["small"], SMALL)
        result = _measure(
            stores["big"].unit_of_work,
            stores["small"].unit_of_work,
            rounds=5 if quick else ROUNDS,
        )
    finally:
        for store in stores.values():
            store.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            for schema in schemas.values():
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(schema)
                    )
                )
    return _row(
        "lookup_postgres",
        f"account lookup at {BIG_COUNT[0]:,} accounts vs {SMALL:,} (PostgreSQL)",
        result,
        {"note": NOTE, "scale": SCALE_NOTE},
    )
