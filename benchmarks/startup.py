"""Start-up: the library imported and used once, against its dependencies' bare calls.

Each side is a fresh interpreter (``python -I``), the two started in turn,
alternating which goes first: the wall time of the process and its peak
resident memory (``VmHWM``) are compared.

- The candidate imports ``echoppe_accounts``, parses one company
  registration form (``parse_registration``) and wires ``sqlite_app`` on
  an existing database file (created, with its key file, before the
  rounds): what a CLI command or a web worker pays before its first
  request.
- The baseline imports the four core dependencies (attrs, email-validator,
  phonenumbers, python-stdnum) and ``sqlite3``, makes the bare calls of the
  validation row on the same record (``validate_email`` without network,
  ``phonenumbers.parse`` in France, ``is_valid_number`` and the E.164
  form, ``stdnum.fr.siret.validate``) and opens one ``sqlite3``
  connection to the same file.

Python's own start-up is in both sides.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.data import companies
from benchmarks.harness import Row

ROUNDS = 21
NOTE = (
    "does not measure: the first request's work after wiring (the first "
    "use of each use case, whose code App imports then; the first unit of "
    "work, which loads the SQLite tables' code; the first mail rendered, "
    "the first seal, the first login's argon2), an "
    "interpreter already warm (both sides start cold from the page cache, "
    "byte-code compiled), nor PostgreSQL wiring"
)

CANDIDATE = """
import sys
from echoppe_accounts import (
    AddressForm, DeliveryForm, RegistrationForm, Settings, sqlite_app,
)
from echoppe_accounts.domain.forms import parse_registration
r = {record!r}
def address(a):
    return AddressForm(a["street_lines"], a["postal_code"], a["city"], a["country"])
form = RegistrationForm(
    category=r["category"], email=r["email"], phone=r["phone"], name=r["name"],
    password=r["password"], organisation_name=r["organisation_name"],
    siret=r["siret"], billing_address=address(r["billing_address"]),
    delivery_addresses=[
        DeliveryForm(d["contact_name"], address(d["address"]), d["label"])
        for d in r["delivery_addresses"]
    ],
)
parse_registration(form)
app = sqlite_app({database!r}, {mailbox!r}, Settings(base_url="https://www.lechoppe.fr"))
"""

BASELINE = """
import sqlite3
import attrs, email_validator, phonenumbers, stdnum.fr.siret
r = {record!r}
email_validator.validate_email(r["email"], check_deliverability=False)
n = phonenumbers.parse(r["phone"], "FR")
if phonenumbers.is_valid_number(n):
    phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
stdnum.fr.siret.validate(r["siret"])
conn = sqlite3.connect({database!r})
"""

PEAK = (
    "\nimport sys, pathlib; sys.stdout.write(next(line.split()[1] for line in "
    "pathlib.Path('/proc/self/status').read_text().splitlines() "
    "if line.startswith('VmHWM:')))"
)
"""Print the child's peak resident memory (KiB) as the kernel counts it.

``VmHWM`` starts afresh with the program (``ru_maxrss`` would count the
copy of this large process that ``fork`` made before ``exec``).
"""


def run_child(program: str) -> tuple[float, int]:
    """Return the wall time and peak memory (bytes) of a child running *program*."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own interpreter, our program)
        [sys.executable, "-I", "-c", program + PEAK],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        msg = f"the child failed: {done.stderr.strip()[-400:]}"
        raise RuntimeError(msg)
    return elapsed, int(done.stdout) * 1024


def programs(folder: Path) -> tuple[str, str]:
    """Return the baseline's and the candidate's programs, the database made."""
    record: dict[str, Any] = dict(companies(1)[0])
    database = str(folder / "accounts.sqlite3")
    mailbox = str(folder / "mailbox")
    values = {"record": record, "database": database, "mailbox": mailbox}
    candidate = CANDIDATE.format(**values)
    # The file, its schema and its key exist before the rounds: a shop's
    # process starts on an existing database.
    done = subprocess.run(  # noqa: S603 (our own interpreter, our program)
        [sys.executable, "-I", "-c", candidate],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"wiring failed: {done.stderr.strip()[-400:]}"
        raise RuntimeError(msg)
    return BASELINE.format(**values), candidate


def run(*, quick: bool = False) -> Row:
    """Start-up: import + first use against import + the bare calls."""
    rounds = 7 if quick else ROUNDS
    with tempfile.TemporaryDirectory(prefix="echoppe-bench-") as tmp:
        baseline, candidate = programs(Path(tmp))
        run_child(baseline)
        run_child(candidate)  # both compiled and in the page cache
        times: list[float] = []
        memories: list[float] = []
        base_t, cand_t, base_m, cand_m = [], [], [], []
        for round_ in range(rounds):
            if round_ % 2 == 0:
                b = run_child(baseline)
                c = run_child(candidate)
            else:
                c = run_child(candidate)
                b = run_child(baseline)
            times.append(c[0] / b[0])
            memories.append(c[1] / b[1])
            base_t.append(b[0])
            cand_t.append(c[0])
            base_m.append(b[1])
            cand_m.append(c[1])
    time_ratio = statistics.median(times)
    memory_ratio = statistics.median(memories)
    return Row(
        name="startup",
        title="import + first use (one form parsed, sqlite_app wired) vs import + "
        "the bare dependency calls + one sqlite3 connect",
        target="≤ 1.5x time, ≤ 1.5x memory",
        units="candidate process time / baseline's (memory in details)",
        ratio=time_ratio,
        passed=time_ratio <= 1.5 and memory_ratio <= 1.5,  # noqa: PLR2004
        details={
            "note": NOTE,
            "rounds": rounds,
            "time_ratio": round(time_ratio, 3),
            "memory_ratio": round(memory_ratio, 3),
            "time_spread": [round(min(times), 3), round(max(times), 3)],
            "baseline_ms": round(statistics.median(base_t) * 1e3, 1),
            "candidate_ms": round(statistics.median(cand_t) * 1e3, 1),
            "baseline_mib": round(statistics.median(base_m) / 2**20, 1),
            "candidate_mib": round(statistics.median(cand_m) / 2**20, 1),
        },
    )
