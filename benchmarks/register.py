"""Row 3: ``register()`` on SQLite against bare validators and one durable commit.

The candidate is ``AccountService.register(form)`` on a :class:`SQLiteStore`
with a cheap hasher (argon2id at 8 KiB, one pass: the row is about
everything but the password hash): the whole form validated, the account,
its welcome mail rendered and sealed, the audit record and the event,
stored in one transaction.

The baseline does what no library can skip: the bare dependency calls of
row 1 on the same record, then the same rows (the account, its delivery
address, an outbox row with bodies of the welcome mail's size, an audit
row and an event row) inserted with plain ``sqlite3`` on one open
connection to a database of the same schema, in WAL mode with SQLite's
default ``synchronous=FULL``, and committed: one ``fsync`` per record,
like the candidate's.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.data import Record, companies, registration_form
from benchmarks.harness import Row, at_most, paired, timed
from benchmarks.validation import bare_calls
from echoppe_accounts.adapters.sqlite import SQLiteStore
from echoppe_accounts.adapters.system import Argon2Hasher
from echoppe_accounts.bootstrap import bootstrap
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.service_layer.settings import Settings
from echoppe_accounts.testing import RecordingMailer

BATCH = 60
ROUNDS = 15
NOTE = (
    "does not measure: the password hash at the shop's own argon2id "
    "parameters (the row hashes at the cheapest ones; at the default "
    "m=19456 KiB, t=2 the hash, about 20 ms, dwarfs the rest), verified "
    "sign-up (X5), a client key's limit, forms that fail, PostgreSQL, nor "
    "registrations in several threads at once"
)


def cheap_hasher() -> Argon2Hasher:
    """Return argon2id with the smallest parameters: the same code, no real work."""
    return Argon2Hasher(memory_cost=8, time_cost=1)


def settings() -> Settings:
    """Return the shop's settings, with an outbox key (no warning, no key file)."""
    return Settings(base_url="https://www.lechoppe.fr", outbox_key=bytes(range(32)))


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    statement = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
    conn.execute(statement, tuple(row.values()))


def baseline_register(
    conn: sqlite3.Connection, check: Callable[[Record], None], mail: tuple[str, str]
) -> Callable[[Record], None]:
    """Return the baseline: bare calls, then the record's rows in one commit."""
    text, html = mail

    def register(record: Record) -> None:
        check(record)
        account_id, now = str(uuid.uuid4()), _now()
        billing = record["billing_address"]
        conn.execute("BEGIN IMMEDIATE")
        _insert(
            conn,
            "accounts",
            {
                "id": account_id,
                "email": record["email"],
                "email_key": record["email"].lower(),
                "name": record["name"],
                "category": "company",
                "status": "active",
                "phone": record["phone"],
                "phone_region": "FR",
                "organisation_name": record["organisation_name"],
                "siret": record["siret"].replace(" ", ""),
                "billing_street_lines": json.dumps(billing["street_lines"]),
                "billing_postal_code": billing["postal_code"],
                "billing_city": billing["city"],
                "billing_country": billing["country"],
                "password_hash": "$argon2id$v=19$m=8,t=1,p=1$" + "x" * 66,
                "language": "fr",
                "created_at": now,
                "version": 0,
                "session_stamp": uuid.uuid4().hex,
            },
        )
        for position, delivery in enumerate(record["delivery_addresses"]):
            address = delivery["address"]
            _insert(
                conn,
                "delivery_addresses",
                {
                    "account_id": account_id,
                    "position": position,
                    "id": str(uuid.uuid4()),
                    "contact_name": delivery["contact_name"],
                    "label": delivery["label"] or None,
                    "street_lines": json.dumps(address["street_lines"]),
                    "postal_code": address["postal_code"],
                    "city": address["city"],
                    "country": address["country"],
                },
            )
        _insert(
            conn,
            "outbox",
            {
                "id": str(uuid.uuid4()),
                "kind": "welcome",
                "recipient": record["email"],
                "subject": "Bienvenue",
                "body_text": text,
                "body_html": html,
                "created_at": now,
                "due_at": now,
                "account_id": account_id,
                "recipient_key": record["email"].lower(),
            },
        )
        _insert(
            conn,
            "audit_log",
            {
                "id": str(uuid.uuid4()),
                "at": now,
                "event": "account_registered",
                "account_id": account_id,
                "actor": "customer",
                "details": "{}",
            },
        )
        _insert(
            conn,
            "account_events",
            {
                "id": str(uuid.uuid4()),
                "type": "registered",
                "account_id": account_id,
                "at": now,
                "data": "{}",
            },
        )
        conn.execute("COMMIT")

    return register


def _welcome_sizes(folder: Path) -> tuple[str, str]:
    """Return bodies the size of the welcome mail the library queues (sealed)."""
    with SQLiteStore(folder / "probe.sqlite3") as store:
        probe = bootstrap(
            store.unit_of_work, RecordingMailer(), settings(), hasher=cheap_hasher()
        )
        probe.accounts.register(registration_form(companies(1, seed=99)[0]))
        with store.unit_of_work() as tx:
            (mail,) = tx.outbox.due(datetime.now(UTC), 1)
    return "t" * len(mail.text), "h" * len(mail.html)


def run(*, quick: bool = False) -> Row:
    """Row 3: register() on SQLite vs bare validators + one durable commit."""
    rounds = 5 if quick else ROUNDS
    records = companies(2_000)[: (rounds + 1) * BATCH]
    forms = [registration_form(r) for r in records]
    with tempfile.TemporaryDirectory(prefix="echoppe-bench-") as tmp:
        folder = Path(tmp)
        store = SQLiteStore(folder / "candidate.sqlite3")
        app = bootstrap(
            store.unit_of_work, RecordingMailer(), settings(), hasher=cheap_hasher()
        )
        SQLiteStore(folder / "baseline.sqlite3").close()  # the same schema
        conn = sqlite3.connect(folder / "baseline.sqlite3", isolation_level=None)
        baseline_one = baseline_register(conn, bare_calls(), _welcome_sizes(folder))
        position = {"baseline": 0, "candidate": 0}

        def baseline() -> None:
            start = position["baseline"]
            for record in records[start : start + BATCH]:
                baseline_one(record)
            position["baseline"] += BATCH

        def candidate() -> None:
            start = position["candidate"]
            for form in forms[start : start + BATCH]:
                try:  # noqa: SIM105 (cheaper than suppress() in the timed loop)
                    app.accounts.register(form)
                except ValidationError:
                    pass
            position["candidate"] += BATCH

        result = paired(timed(baseline, BATCH), timed(candidate, BATCH), rounds=rounds)
        conn.close()
        store.close()
    return Row(
        name="register_sqlite",
        title="register() on SQLite, cheap hasher, vs bare validators + one "
        "durable SQLite commit of the same rows",
        target="≤ 2.0x",
        units="candidate time / baseline time",
        ratio=result.ratio,
        passed=at_most(2.0)(result.ratio),
        details={
            "note": NOTE,
            "records_per_round": BATCH,
            "rounds": result.rounds,
            "baseline_ms_per_record": round(result.baseline * 1e3, 3),
            "candidate_ms_per_record": round(result.candidate * 1e3, 3),
            "ratio_spread": [round(x, 3) for x in result.spread()],
        },
    )
