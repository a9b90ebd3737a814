"""Row 5: a login against one bare argon2id verification at the same parameters.

The candidate is ``AuthService.login(email, password)`` as
:func:`~echoppe_accounts.bootstrap` wires it (argon2id at OWASP's
parameters, m=19456 KiB, t=2, p=1, behind the bcrypt-aware wrapper) on
SQLite: the account read, the failure count, one hash check, the count
reset and the audit record committed. The baseline is argon2-cffi's
``PasswordHasher.verify`` of the same stored hash and password. The equal
work of SPEC P3/P5 is not touched: a login still costs one hash at the
current parameters, whatever the account.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.data import companies, registration_form
from benchmarks.harness import Row, at_most, paired, timed
from benchmarks.register import settings

ACCOUNTS = 6
ROUNDS = 21
NOTE = (
    "does not measure: failed logins (same hash, plus the failure count), "
    "a client key or a device token presented (one more count read), a "
    "temporary password, PostgreSQL, logins in several threads at once "
    "(they hash on several cores: see the concurrency page), nor a hash "
    "upgraded at login"
)


def run(*, quick: bool = False) -> Row:
    """Row 5: login vs one bare argon2id verify at the same parameters."""
    import argon2  # noqa: PLC0415

    from echoppe_accounts.adapters.sqlite import SQLiteStore  # noqa: PLC0415
    from echoppe_accounts.adapters.system import Argon2Hasher  # noqa: PLC0415
    from echoppe_accounts.bootstrap import bootstrap  # noqa: PLC0415
    from echoppe_accounts.testing import RecordingMailer  # noqa: PLC0415

    defaults = Argon2Hasher()
    bare = argon2.PasswordHasher(
        time_cost=defaults.time_cost,
        memory_cost=defaults.memory_cost,
        parallelism=defaults.parallelism,
        hash_len=32,
        salt_len=16,
        type=argon2.Type.ID,
    )
    records = companies(2_000)[-ACCOUNTS:]
    with tempfile.TemporaryDirectory(prefix="echoppe-bench-") as tmp:
        store = SQLiteStore(Path(tmp) / "login.sqlite3")
        app = bootstrap(store.unit_of_work, RecordingMailer(), settings())
        logins: list[tuple[str, str, str]] = []
        for record in records:
            account: Any = app.accounts.register(registration_form(record))
            assert account.password_hash is not None  # noqa: S101
            logins.append((record["email"], record["password"], account.password_hash))

        def baseline() -> None:
            for _, password, stored in logins:
                bare.verify(stored, password)

        def candidate() -> None:
            for email, password, _ in logins:
                app.auth.login(email, password)

        result = paired(
            timed(baseline, len(logins)),
            timed(candidate, len(logins)),
            rounds=7 if quick else ROUNDS,
        )
        store.close()
    return Row(
        name="login",
        title="login vs one bare argon2id verify at the same parameters",
        target="≤ 1.03x",
        units="candidate time / baseline time",
        ratio=result.ratio,
        passed=at_most(1.03)(result.ratio),
        details={
            "note": NOTE,
            "logins_per_round": len(logins),
            "rounds": result.rounds,
            "argon2": f"m={defaults.memory_cost} t={defaults.time_cost} "
            f"p={defaults.parallelism}",
            "baseline_ms": round(result.baseline * 1e3, 3),
            "candidate_ms": round(result.candidate * 1e3, 3),
            "ratio_spread": [round(x, 4) for x in result.spread()],
        },
    )
