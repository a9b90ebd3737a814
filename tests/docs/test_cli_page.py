"""The command-line page shows what the command prints (SPEC O4, issue 17)."""

from __future__ import annotations

import re
from pathlib import Path

from echoppe_accounts.entrypoints.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cli.md"


def test_init_prints_the_schema_version_the_page_shows(tmp_path, capsys):
    """O4: the page's ``init`` line is the line ``init`` prints on a new SQLite file."""
    shown = re.search(r"^Base prête : (\S+) \(schéma en version (\d+)\)\.$",
                      PAGE.read_text(encoding="utf-8"), flags=re.MULTILINE)  # fmt: skip
    assert shown is not None, "docs/cli.md shows what init prints"
    database = f"sqlite:///{tmp_path}/echoppe.sqlite3"
    assert main(["--lang", "fr", "--db", database, "init"]) == 0
    printed = capsys.readouterr().err.strip().replace(database, shown.group(1))
    assert printed == shown.group()
