"""The README's example runs as a pip user would paste it (issue 13, item 3)."""

from __future__ import annotations

import json
import mailbox
import re
from pathlib import Path

from echoppe_accounts.bootstrap import outbox_key_file

README = Path(__file__).parents[2] / "README.md"


def _first_example() -> str:
    """Return the README's first Python block: the one a pip user starts from."""
    found = re.search(
        r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL
    )
    assert found, "the README has no Python example"
    return found.group(1)


def test_the_readme_example_runs_and_leaves_a_mail_and_an_export(
    tmp_path, monkeypatch, capsys
):
    """The example registers, mails, logs in and prints "Mes données", in ~20 lines."""
    code = _first_example()
    assert len(code.splitlines()) <= 22  # the "20 lines" its heading promises
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})  # noqa: S102
    export = json.loads(capsys.readouterr().out)
    assert export["account"]["email"] == "claire@exemple.fr"
    delivered = list(mailbox.Maildir(tmp_path / "mailbox", create=False))
    assert len(delivered) == 1  # the welcome mail; the reset's waits in the outbox
    assert outbox_key_file(tmp_path / "shop.sqlite3").exists()  # the outbox key
    assert not (tmp_path / "shop.sqlite3.key").exists()  # never beside the file


def test_the_readme_sends_pip_users_to_absolute_links_only():
    """On the index only absolute links work; `make demo` is for contributors."""
    text = README.read_text(encoding="utf-8")
    assert re.findall(r"\]\((?!https://)([^)]*)\)", text) == []
    for_users = text.split("\n## Contributing", 1)[0]
    assert "make demo" not in for_users
    assert "pip install echoppe-accounts" in for_users
