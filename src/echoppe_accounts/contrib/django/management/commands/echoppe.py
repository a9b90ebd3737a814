"""``manage.py echoppe <arguments>``: the library's command line, configured by Django.

Every operation of ``echoppe-accounts`` (``worker``, ``outbox status``,
``export``, ``erase``, ``import``…) runs with the database, base URL, shop
name, sender, mail server and outbox key of ``settings.ECHOPPE``; variables
already set in the environment win.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from echoppe_accounts.contrib.django.conf import config
from echoppe_accounts.entrypoints import cli

_VARIABLES = {
    "DATABASE_URL": "ECHOPPE_DATABASE_URL",
    "DATABASE_SCHEMA": "ECHOPPE_DATABASE_SCHEMA",
    "BASE_URL": "ECHOPPE_BASE_URL",
    "SHOP_NAME": "ECHOPPE_SHOP_NAME",
    "SENDER": "ECHOPPE_SENDER",
    "SMTP_URL": "ECHOPPE_SMTP_URL",
    "SMTP_PASSWORD": "ECHOPPE_SMTP_PASSWORD",
    "MAILDIR": "ECHOPPE_MAILDIR",
    "OUTBOX_KEY": "ECHOPPE_OUTBOX_KEY",
}


def environment() -> dict[str, str]:
    """Return the ``ECHOPPE_*`` variables ``settings.ECHOPPE`` gives."""
    cfg = config()
    found: dict[str, str] = {}
    for key, variable in _VARIABLES.items():
        value = cfg.get(key)
        if value is None or variable in os.environ:
            continue
        found[variable] = value.hex() if isinstance(value, bytes) else str(value)
    return found


def run(arguments: list[str]) -> int:
    """Run the command line with *arguments*; return its exit code.

    The variables are set for the run only, and put back afterwards.
    """
    added = environment()
    os.environ.update(added)
    try:
        return cli.main(arguments, prog="manage.py echoppe")
    finally:
        for variable in added:
            os.environ.pop(variable, None)


class Command(BaseCommand):  # type: ignore[misc] # Django ships no type hints
    """Run the library's command line (``manage.py echoppe --help``)."""

    help = "Run an echoppe-accounts operation: worker, outbox, export, erase…"

    def run_from_argv(self, argv: list[str]) -> None:
        """Hand every argument after ``echoppe`` to the library's parser."""
        sys.exit(run(list(argv[2:])))

    def add_arguments(self, parser: Any) -> None:  # noqa: ANN401 (Django's parser)
        """Take any arguments, for ``call_command("echoppe", ...)``."""
        parser.add_argument("arguments", nargs=argparse.REMAINDER)

    def handle(self, *args: str, **options: Any) -> None:  # noqa: ANN401
        """Run the command line with the arguments given to ``call_command``."""
        code = run([*args, *options.get("arguments", [])])
        if code:
            msg = f"echoppe-accounts exited with code {code}"
            raise CommandError(msg, returncode=code)
