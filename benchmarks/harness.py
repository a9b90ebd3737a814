"""Paired, interleaved measurements and the rows they make.

A row compares a *candidate* (the library) with a *baseline* (what it is
measured against). Both are callables that do one batch of work and return
a measured value, usually seconds per operation. :func:`paired` runs them in
rounds, alternating which goes first (ABBA), and keeps each round's ratio:
a burst of load from another process slows the pair it falls on, and the
median of the paired ratios ignores it.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Paired:
    """The outcome of :func:`paired`: the median ratio and the medians of each side."""

    ratio: float
    baseline: float
    candidate: float
    ratios: tuple[float, ...]
    rounds: int

    def spread(self) -> tuple[float, float]:
        """The lowest and highest ratio of a round."""
        return min(self.ratios), max(self.ratios)


def timed(batch: Callable[[], object], operations: int) -> Callable[[], float]:
    """Return a callable running *batch* once and giving seconds per operation."""

    def run() -> float:
        gc.collect()
        started = time.perf_counter()
        batch()
        return (time.perf_counter() - started) / operations

    return run


def paired(
    baseline: Callable[[], float],
    candidate: Callable[[], float],
    *,
    rounds: int,
    warmup: int = 1,
) -> Paired:
    """Alternate *baseline* and *candidate* for *rounds*; return the paired medians.

    Each callable returns its measure (seconds per operation, say); the
    ratio of a round is candidate over baseline. Even rounds run the
    baseline first, odd rounds the candidate, so neither side always
    enjoys warm caches.
    """
    for _ in range(warmup):
        baseline()
        candidate()
    base: list[float] = []
    cand: list[float] = []
    for round_ in range(rounds):
        if round_ % 2 == 0:
            b = baseline()
            c = candidate()
        else:
            c = candidate()
            b = baseline()
        base.append(b)
        cand.append(c)
    ratios = tuple(c / b for b, c in zip(base, cand, strict=True))
    return Paired(
        ratio=statistics.median(ratios),
        baseline=statistics.median(base),
        candidate=statistics.median(cand),
        ratios=ratios,
        rounds=rounds,
    )


@dataclass
class Row:
    """One line of the table and one entry of the JSON file.

    Attributes:
        name: A stable identifier (``validation``, ``login``…).
        title: What is compared, in words.
        target: The target as the issue writes it (``≤ 1.00x``).
        units: What :attr:`ratio` is (``candidate time / baseline time``…).
        ratio: The measured ratio, ``None`` when skipped or crashed.
        passed: Whether the target is met; ``None`` when skipped or crashed.
        details: The medians, sizes, scale-downs and anything else worth
            keeping.
        skipped: Why the row did not run, if it did not.
        error: The exception that ended the row, if one did.
    """

    name: str
    title: str
    target: str
    units: str
    ratio: float | None = None
    passed: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    error: str | None = None

    @property
    def verdict(self) -> str:
        """PASS, MISS, SKIP or ERROR."""
        if self.error is not None:
            return "ERROR"
        if self.skipped is not None:
            return "SKIP"
        return "PASS" if self.passed else "MISS"

    def as_json(self) -> dict[str, Any]:
        """The row as one JSON entry."""
        return {
            "name": self.name,
            "title": self.title,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "target": self.target,
            "pass": self.passed,
            "verdict": self.verdict,
            "units": self.units,
            "details": self.details,
            "skipped": self.skipped,
            "error": self.error,
        }


def at_most(limit: float) -> Callable[[float], bool]:
    """A target met by ratios up to *limit*."""
    return lambda ratio: ratio <= limit


def at_least(limit: float) -> Callable[[float], bool]:
    """A target met by ratios of *limit* and more."""
    return lambda ratio: ratio >= limit


def cpu_model() -> str:
    """The processor's name as ``/proc/cpuinfo`` gives it, and the core count."""
    name = platform.processor() or platform.machine()
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    name = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def machine() -> dict[str, str]:
    """What the JSON file records about where it ran."""
    return {
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def format_table(rows: list[Row]) -> str:
    """Return the rows as a plain-text table."""
    header = ("row", "ratio", "target", "verdict", "units")
    lines = [
        (
            row.name,
            "-" if row.ratio is None else f"{row.ratio:.3f}",
            row.target,
            row.verdict,
            row.units,
        )
        for row in rows
    ]
    widths = [
        max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)
    ]
    out = [
        "  ".join(str(v).ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()
        for values in (header, *lines)
    ]
    for row in rows:
        if row.skipped:
            out.append(f"  {row.name}: skipped: {row.skipped}")
        if row.error:
            out.append(f"  {row.name}: crashed: {row.error}")
    return "\n".join(out)
