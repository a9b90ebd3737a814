"""The package imports each public name on first use, and nothing else (issue 12).

``import echoppe_accounts`` must stay cheap (issue 12's import row): the
public names are imported from their submodules when first used (PEP 562).
These tests check that the three places naming them agree: the imports
for type checkers, ``__all__``, and the table the lazy import reads.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import echoppe_accounts

INIT = Path(echoppe_accounts.__file__)


def _type_checking_imports() -> dict[str, str]:
    """Map each name imported under ``if TYPE_CHECKING:`` to its module."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    return {
        alias.asname or alias.name: str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_every_public_name_is_imported_listed_and_mapped():
    """The type checkers' imports, ``__all__`` and the lazy table name the same."""
    imports = _type_checking_imports()
    table = {
        name: f"echoppe_accounts.{module}"
        for name, module in echoppe_accounts._SUBMODULES.items()
    }
    assert table == imports
    assert set(echoppe_accounts.__all__) == {*imports, "__version__"}


@pytest.mark.parametrize("name", sorted(echoppe_accounts._SUBMODULES))
def test_each_name_is_its_submodules_object(name):
    """A name read from the package is the object its submodule defines."""
    module = importlib.import_module(
        f"echoppe_accounts.{echoppe_accounts._SUBMODULES[name]}"
    )
    assert getattr(echoppe_accounts, name) is getattr(module, name)
    assert name in dir(echoppe_accounts)


def test_an_unknown_name_is_an_attribute_error():
    """Names that are not public are not invented."""
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        echoppe_accounts.Nothing  # noqa: B018


def test_importing_the_package_loads_no_submodule():
    """``import echoppe_accounts`` loads neither the domain nor an adapter."""
    code = (
        "import sys, echoppe_accounts; "
        "print(sorted(m for m in sys.modules if m.startswith('echoppe_accounts')))"
    )
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed statement)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "['echoppe_accounts', 'echoppe_accounts._version']"


def test_bootstrap_stays_the_function_once_its_module_loads():
    """The submodule of the same name does not hide the exported function."""
    code = (
        "import echoppe_accounts.bootstrap, echoppe_accounts; "
        "from echoppe_accounts.bootstrap import App; "
        "print(callable(echoppe_accounts.bootstrap), "
        "echoppe_accounts.bootstrap.__module__)"
    )
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed statement)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["True", "echoppe_accounts.bootstrap"]
