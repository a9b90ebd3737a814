"""Start-up loads what it uses, and the library's texts are checked here (issue 22).

A CLI command or a web worker pays its start at every launch: importing the
library and wiring it must not compile templates, read catalogues or CLDR
data, load cryptography or hash a password before any of them is needed.
Each check runs in a fresh interpreter and reads its ``sys.modules``.
Since templates are compiled on first render rather than at wiring, the
tests below compile and render every template and message the library
ships (SPEC T1): a broken one fails here, not in a customer's mail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from echoppe_accounts import Settings, TemplateError, check_texts
from echoppe_accounts.service_layer.templating import TEMPLATE_SUFFIXES, templates_for

HEAVY = (
    "sqlite3",
    "psycopg",
    "jinja2",
    "babel",
    "cryptography",
    "argon2",
    "mailbox",
    "email",
)
"""What a start must not load before it is used."""


def _heavy_modules(program: str, cwd: Path) -> set[str]:
    """Run *program* in a fresh interpreter; return the heavy modules loaded then."""
    probe = (
        "\nimport json, sys\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m in heavy or m.split('.')[0] in heavy)))\n"
    )
    done = subprocess.run(  # noqa: S603 (our interpreter, our program)
        [sys.executable, "-c", program + probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def loaded_after(program: str, cwd: Path) -> set[str]:
    """Return the heavy modules *program* loads that a bare interpreter does not.

    What the interpreter loads before any of our code (coverage, measuring
    a test run's subprocesses, keeps its data in SQLite) is subtracted.
    """
    return _heavy_modules(program, cwd) - _heavy_modules("", cwd)


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_load_no_driver_and_no_template(tmp_path, option):
    """``echoppe-accounts --help`` and ``--version`` answer without the database.

    Neither the database drivers nor the templates load, nor the library's
    storage adapters, its wiring, or its mail texts.
    """
    program = (
        "import contextlib, io\n"
        "from echoppe_accounts.entrypoints.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main([{option!r}])\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    assert loaded_after(program, tmp_path) == set()
    ours = (
        "echoppe_accounts.bootstrap",
        "echoppe_accounts.adapters.sqlite",
        "echoppe_accounts.adapters.postgres",
        "echoppe_accounts.service_layer.templating",
        "echoppe_accounts.service_layer.mails",
        "echoppe_accounts.service_layer.texts",
    )
    probe = (
        f"{program}import json, sys\n"
        f"print(json.dumps(sorted(m for m in {ours!r} if m in sys.modules)))\n"
    )
    done = subprocess.run(  # noqa: S603 (our interpreter, our program)
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_wiring_and_a_first_form_load_no_template_cipher_or_cldr(tmp_path):
    """T1: ``sqlite_app`` and ``parse_registration`` compile and load nothing early.

    The database driver is what ``sqlite_app`` opens; Jinja, Babel's CLDR
    data, cryptography and the standard library's mail modules wait for
    the first mail, date or seal.
    """
    program = (
        "from echoppe_accounts import Settings, sqlite_app\n"
        "from echoppe_accounts.domain.forms import parse_registration\n"
        "from sample_forms import form\n"
        "parse_registration(form())\n"
        "sqlite_app('accounts.sqlite3', 'mailbox', "
        "Settings(base_url='https://www.lechoppe.fr'))\n"
    )
    tests = Path(__file__).parents[1]
    program = f"import sys\nsys.path.insert(0, {str(tests)!r})\n" + program
    assert "sqlite3" in _heavy_modules(program, tmp_path)  # the probe sees it
    loaded = loaded_after(program, tmp_path)
    assert {m for m in loaded if m.split(".")[0] != "sqlite3"} == set()


LATER = (
    "argon2",
    "gettext",
    "importlib.resources",
    "zipfile",
    "echoppe_accounts.domain.analytics",
)
"""What wiring and a first form leave for later: the first hash or login
(argon2), the first translated message (gettext), analytics, and
importlib.resources' readers (tempfile, shutil, zipfile)."""


def test_wiring_leaves_argon2_catalogues_and_analytics_for_later(tmp_path):
    """P1, T1: argon2 loads on the first hash, gettext on the first message.

    Wiring keeps the checks it makes (the hasher's parameters are checked
    when it is built, see ``test_argon2_parameters_checked_when_built``).
    """
    program = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
        "from echoppe_accounts import Settings, sqlite_app\n"
        "from echoppe_accounts.domain.forms import parse_registration\n"
        "from sample_forms import form\n"
        "parse_registration(form())\n"
        "sqlite_app('accounts.sqlite3', 'mailbox', "
        "Settings(base_url='https://www.lechoppe.fr'))\n"
        f"later = {LATER!r}\n"
        "print(json.dumps(sorted(m for m in later if m in sys.modules)))\n"
    )
    done = subprocess.run(  # noqa: S603 (our interpreter, our program)
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_argon2_parameters_checked_when_built():
    """P1: a hasher given parameters of the wrong type fails when it is built."""
    from echoppe_accounts import Argon2Hasher  # noqa: PLC0415

    with pytest.raises(TypeError, match="memory_cost"):
        Argon2Hasher(memory_cost="19456")  # type: ignore[arg-type]


def test_every_template_the_library_ships_compiles():
    """T1: each template file of the package compiles (wiring no longer checks)."""
    folder = resources.files("echoppe_accounts").joinpath("templates")
    root = Path(str(folder))
    names = sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.suffix in TEMPLATE_SUFFIXES
    )
    assert names
    templates = templates_for(None)
    for name in names:
        templates.compile(name)


def test_check_texts_renders_every_text_of_the_library():
    """T1: every mail, the export page and every message render in every language."""
    check_texts(Settings(base_url="https://www.lechoppe.fr"))


def test_check_texts_names_a_broken_shop_template(tmp_path):
    """T1: a shop's broken template is reported by name, with its line."""
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "layout.html").write_text("{% if %}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        check_texts(Settings(base_url="https://www.lechoppe.fr", templates=tmp_path))
    assert any("mail/layout.html" in name for name, _ in info.value.problems)
