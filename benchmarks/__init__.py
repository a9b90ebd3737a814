"""The benchmark suite of issue 12: echoppe-accounts against its own dependencies.

Every row is a ratio measured inside one process and one run: the baseline
(the bare dependency calls, plain ``sqlite3``, ``smtplib`` or ``argon2``)
and the candidate (the library) alternate in rounds, and the row reports
the median of the paired ratios, so that a noisy machine shared with other
work moves both sides alike. The data comes from Faker with a fixed seed.

Run it with ``make bench``, or::

    .venv/bin/python -m benchmarks [--json PATH] [--only NAME ...]

It prints one line per row with its target and PASS or MISS, and writes
the rows as JSON (``benchmarks/results.json`` by default). It exits 0 when
every row ran, whatever the verdicts, and 1 when a row crashed.
"""
