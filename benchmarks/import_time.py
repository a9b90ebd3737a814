"""Row 7: ``import echoppe_accounts`` against importing its four core dependencies.

Each side is a fresh interpreter (``python -I -c "import …"``), started in
turn, the two alternating: the wall time of the process and its peak
resident memory (``VmHWM``) are compared. The four core dependencies
are those the domain is made of: attrs (every value and entity),
email-validator, phonenumbers and python-stdnum (the three rows 1 and 2
measure). Python's own start-up is in both sides.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks.harness import Row

ROUNDS = 21
CANDIDATE = "import echoppe_accounts"
BASELINE = "import attrs, email_validator, phonenumbers, stdnum.fr.siret"


PEAK = (
    "; import sys, pathlib; sys.stdout.write(next(line.split()[1] for line in "
    "pathlib.Path('/proc/self/status').read_text().splitlines() "
    "if line.startswith('VmHWM:')))"
)
"""Print the child's peak resident memory (KiB) as the kernel counts it.

``VmHWM`` starts afresh with the program (``ru_maxrss`` would count the
copy of this large process that ``fork`` made before ``exec``).
"""


def _run(statement: str) -> tuple[float, int]:
    """Return the wall time and peak memory (bytes) of a child running *statement*."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-I", "-c", statement + PEAK],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        msg = f"{statement!r} failed: {done.stderr.strip()[-300:]}"
        raise RuntimeError(msg)
    return elapsed, int(done.stdout) * 1024


def run(*, quick: bool = False) -> Row:
    """Row 7: time and memory of the import, against the four dependencies."""
    rounds = 7 if quick else ROUNDS
    _run(BASELINE)
    _run(CANDIDATE)  # both compiled and in the page cache
    times: list[float] = []
    memories: list[float] = []
    base_t, cand_t, base_m, cand_m = [], [], [], []
    for round_ in range(rounds):
        if round_ % 2 == 0:
            b = _run(BASELINE)
            c = _run(CANDIDATE)
        else:
            c = _run(CANDIDATE)
            b = _run(BASELINE)
        times.append(c[0] / b[0])
        memories.append(c[1] / b[1])
        base_t.append(b[0])
        cand_t.append(c[0])
        base_m.append(b[1])
        cand_m.append(c[1])
    time_ratio = statistics.median(times)
    memory_ratio = statistics.median(memories)
    return Row(
        name="import_time",
        title="`import echoppe_accounts` vs importing its four core dependencies",
        target="≤ 1.25x time, ≤ 1.5x memory",
        units="candidate process time / baseline's (memory in details)",
        ratio=time_ratio,
        passed=time_ratio <= 1.25 and memory_ratio <= 1.5,  # noqa: PLR2004
        details={
            "baseline": BASELINE,
            "rounds": rounds,
            "time_ratio": round(time_ratio, 3),
            "memory_ratio": round(memory_ratio, 3),
            "baseline_ms": round(statistics.median(base_t) * 1e3, 1),
            "candidate_ms": round(statistics.median(cand_t) * 1e3, 1),
            "baseline_mib": round(statistics.median(base_m) / 2**20, 1),
            "candidate_mib": round(statistics.median(cand_m) / 2**20, 1),
        },
    )
