"""Run the benchmark suite: ``python -m benchmarks [--json PATH] [--only NAME ...]``.

Prints one line per row (ratio, target, PASS or MISS) and writes the rows
as JSON. Exits 0 when every row ran, whatever the verdicts; 1 when a row
crashed (its entry says how, and the other rows still run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Protocol

from benchmarks import (
    importer,
    login,
    lookup,
    outbox,
    prestashop,
    register,
    startup,
    validation,
)
from benchmarks.harness import Row, format_table, machine


class RowRunner(Protocol):
    """A row's function: ``run(quick=False)``."""

    def __call__(self, *, quick: bool = False) -> Row:
        """Measure the row."""
        ...


ROWS: tuple[tuple[str, str, str, str, RowRunner], ...] = (
    (
        "validation",
        (
            "full registration validation vs bare email-validator + phonenumbers "
            "+ stdnum calls"
        ),
        "≤ 1.00x",
        "candidate time / baseline time",
        validation.run_bare,
    ),
    (
        "validation_mix",
        (
            "full registration validation vs the bare calls, on a realistic mix "
            "(IDN domains, NBSP-grouped phones, +33 (0), +32, decomposed accents)"
        ),
        "≤ 1.50x",
        "candidate time / baseline time",
        validation.run_mix,
    ),
    (
        "validation_vs_pydantic",
        "full registration validation vs a pydantic v2 model",
        "≤ 0.90x",
        "candidate time / baseline time",
        validation.run_pydantic,
    ),
    (
        "register_sqlite",
        (
            "register() on SQLite, cheap hasher, vs bare validators + one durable "
            "SQLite commit"
        ),
        "≤ 2.0x",
        "candidate time / baseline time",
        register.run,
    ),
    (
        "login",
        "login vs one bare argon2id verify at the same parameters",
        "≤ 1.03x",
        "candidate time / baseline time",
        login.run,
    ),
    (
        "outbox_smtp",
        (
            "outbox to a loopback SMTP server vs smtplib.sendmail of the same "
            "pre-built bytes, one connection a round"
        ),
        "≥ 0.60",
        "candidate mails/s / baseline mails/s",
        outbox.run,
    ),
    (
        "startup",
        (
            "import + first use (one form parsed, sqlite_app wired) vs import + "
            "the bare dependency calls + one sqlite3 connect"
        ),
        "≤ 1.5x time, ≤ 1.5x memory",
        "candidate process time / baseline's",
        startup.run,
    ),
    (
        "lookup_sqlite",
        "account lookup at 1,000,000 accounts vs 10,000 (SQLite)",
        "≤ 1.3x",
        "lookup time at the big store / at the small one",
        lookup.run_sqlite,
    ),
    (
        "lookup_postgres",
        "account lookup at 1,000,000 accounts vs 10,000 (PostgreSQL)",
        "≤ 1.3x",
        "lookup time at the big store / at the small one",
        lookup.run_postgres,
    ),
    (
        "import_csv",
        "CSV import into SQLite vs the validator-bound limit (1 / bare validator time)",
        "≥ 0.80, RSS ≤ 150 MB",
        "import lines/s / (1 / bare validator time per line)",
        importer.run,
    ),
    (
        "import_csv_postgres",
        (
            "CSV import into PostgreSQL vs the validator-bound limit "
            "(1 / bare validator time)"
        ),
        "≥ 0.80",
        "import lines/s / (1 / bare validator time per line)",
        importer.run_postgres,
    ),
    (
        "import_prestashop",
        (
            "PrestaShop import of 100,000 customers from MariaDB vs the CSV "
            "import of the same customers (both into SQLite)"
        ),
        "≤ 1.25x",
        "PrestaShop import time / CSV import time",
        prestashop.run,
    ),
)
"""Every row, in the order it runs; the import last (it was being finished)."""

DEFAULT_JSON = Path(__file__).with_name("results.json")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help=f"where to write the rows (default: {DEFAULT_JSON})",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[name for name, *_ in ROWS],
        metavar="NAME",
        help="run these rows only",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=lookup.BIG,
        metavar="N",
        help=f"accounts in the lookup rows' big store (default {lookup.BIG:,}; "
        "the targets are set at a million)",
    )
    parser.add_argument(
        "--import-lines",
        type=int,
        default=importer.MEMORY_LINES,
        metavar="N",
        help="lines of the file whose import's peak memory is measured "
        f"(default {importer.MEMORY_LINES:,})",
    )
    parser.add_argument(
        "--prestashop-customers",
        type=int,
        default=prestashop.CUSTOMERS,
        metavar="N",
        help="customers the PrestaShop import row migrates (default "
        f"{prestashop.CUSTOMERS:,}, the issue's size)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer rounds and smaller data: a smoke test, not a measure",
    )
    return parser.parse_args(argv)


def _run_row(entry: tuple[str, str, str, str, RowRunner], *, quick: bool) -> Row:
    name, title, target, units, run = entry
    started = time.perf_counter()
    try:
        row = run(quick=quick)
    except Exception as exc:  # noqa: BLE001 (a crash is reported, the suite goes on)
        traceback.print_exc()
        row = Row(
            name=name,
            title=title,
            target=target,
            units=units,
            error=f"{type(exc).__name__}: {exc}",
        )
    row.details["seconds"] = round(time.perf_counter() - started, 1)
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the rows, print the table, write the JSON; return the exit status."""
    args = _arguments(argv)
    chosen = [entry for entry in ROWS if not args.only or entry[0] in args.only]
    lookup.SIZES["accounts"] = args.accounts
    importer.SIZES["import_lines"] = args.import_lines
    prestashop.SIZES["prestashop_customers"] = args.prestashop_customers
    info = machine()
    command = "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"echoppe-accounts benchmarks on {info['cpu']}, Python {info['python']}")  # noqa: T201
    rows: list[Row] = []
    for entry in chosen:
        print(f"- {entry[0]}: {entry[1]} …", flush=True)  # noqa: T201
        row = _run_row(entry, quick=args.quick)
        print(  # noqa: T201
            f"  {row.verdict}"
            + ("" if row.ratio is None else f" {row.ratio:.3f} (target {row.target})"),
            flush=True,
        )
        rows.append(row)
    print()  # noqa: T201
    print(format_table(rows))  # noqa: T201
    document = {
        "machine": info,
        "command": command.strip(),
        "quick": args.quick,
        "rows": [row.as_json() for row in rows],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"\nwritten: {args.json}")  # noqa: T201
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
