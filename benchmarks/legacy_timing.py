"""What a failed login costs, by kind of stored hash (SPEC P3, M3; issue 19).

``python -m benchmarks.legacy_timing`` times the one password check a
failed login makes, with the hasher :func:`~echoppe_accounts.bootstrap`
wires by default (argon2id at OWASP's parameters inside
:class:`~echoppe_accounts.LegacyHasher`), for an unknown email (the check
of a throw-away argon2id hash), an argon2id account, and imported
PrestaShop accounts wrapped at import with bcrypt cost 10 and 12; once for
each value of ``Settings.imported_hash_cost`` (``None``, 10, 12). Prints
a Markdown table of medians, in milliseconds, for docs/security.md.
"""

from __future__ import annotations

import statistics
import sys
import time

import bcrypt

from echoppe_accounts import Argon2Hasher, LegacyHasher

RUNS = 11
WRONG = "not the password"


def _php(password: str, cost: int) -> str:
    made = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost)).decode()
    return "$2y$" + made[4:]


def _median_ms(check: object, stored: str) -> float:
    verify = check.verify  # type: ignore[attr-defined]
    verify(stored, WRONG)  # warm up (and teach the padding)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        verify(stored, WRONG)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    """Print the table."""
    argon2 = Argon2Hasher()
    cases = {
        "unknown email": argon2.hash("throw-away"),
        "argon2id account": argon2.hash("motdepasse"),
        "imported, bcrypt cost 10": _php("motdepasse", 10),
        "imported, bcrypt cost 12": _php("motdepasse", 12),
    }
    modes = (None, 10, 12)
    out = sys.stdout
    out.write("| failed login on | " + " | ".join(f"`{m}`" for m in modes) + " |\n")
    out.write("|---|" + "---:|" * len(modes) + "\n")
    rows: dict[str, list[str]] = {name: [] for name in cases}
    for mode in modes:
        # One hasher per mode, as in a process: it learns from every check.
        hasher = LegacyHasher(Argon2Hasher(), equal_cost=mode)
        for name, stored in cases.items():
            kept = hasher.wrap(stored) if name.startswith("imported") else stored
            rows[name].append(f"{_median_ms(hasher, kept):.0f} ms")
    for name, cells in rows.items():
        out.write(f"| {name} | " + " | ".join(cells) + " |\n")


if __name__ == "__main__":
    main()
