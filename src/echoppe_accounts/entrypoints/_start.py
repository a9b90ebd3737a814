"""The console script's first code: the worker's signal handlers, then the rest.

Importing the command line imports most of the library, which takes a
noticeable fraction of a second on a loaded machine; a ``SIGTERM`` in that
time would kill the worker (exit 143) rather than stop it (exit 0, SPEC O4
amended). So the ``echoppe-accounts`` script starts here, installs the
worker's handlers when its arguments name the worker, and only then
imports :mod:`echoppe_accounts.entrypoints.cli`.
"""

from __future__ import annotations

import sys


def main(prog: str | None = None) -> int:
    """Run the ``echoppe-accounts`` command with ``sys.argv``; return its exit code."""
    if "worker" in sys.argv[1:]:
        from echoppe_accounts.entrypoints import _signals  # noqa: PLC0415

        _signals.install()
    from echoppe_accounts.entrypoints import cli  # noqa: PLC0415

    return cli.main() if prog is None else cli.main(prog=prog)
