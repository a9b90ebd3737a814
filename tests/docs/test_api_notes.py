"""The API page speaks to the shop, in versions the changelog has (issue 17).

- every ``versionadded``/``versionchanged`` names a version of
  ``CHANGELOG.md`` (``Unreleased`` is the version being prepared, that of
  ``__version__`` without its ``.dev`` part), and a name changes only after
  it was added;
- the docstrings on the API page (the package's, the documented modules'
  and every public name's) hold no note meant for the library's
  maintainers: no private name, no "a test checks".
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import echoppe_accounts
from echoppe_accounts import exceptions, ports, testing

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "src" / "echoppe_accounts").rglob("*.py"))
_DIRECTIVE = re.compile(r"\.\. (versionadded|versionchanged|deprecated):: (\S+)")
_MAINTAINERS = re.compile(
    r"``_[A-Za-z]\w*``|\ba test checks\b|\bTODO\b|\bFIXME\b|\bmaintainers?\b"
)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def changelog_versions() -> set[str]:
    """The versions of CHANGELOG.md, Unreleased being the one in preparation."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    found = set(re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, flags=re.MULTILINE))
    if re.search(r"^## \[Unreleased\]", text, flags=re.MULTILINE):
        release = re.match(r"\d+\.\d+\.\d+", echoppe_accounts.__version__)
        assert release is not None
        found.add(release.group())
    return found


def _docstrings(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            doc = ast.get_docstring(node)
            if doc:
                yield getattr(node, "name", path.stem), doc


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_every_version_directive_names_a_version_of_the_changelog(path):
    """Docs: "Added in version X" is a version a reader finds in the changelog."""
    versions = changelog_versions()
    for name, doc in _docstrings(path):
        directives = _DIRECTIVE.findall(doc)
        for _, version in directives:
            assert version in versions, (path.name, name, version)
        added = [_version(v) for kind, v in directives if kind == "versionadded"]
        for kind, version in directives:
            if kind == "versionchanged" and added:
                assert _version(version) > max(added), (path.name, name, version)


def test_the_changelog_has_the_version_being_prepared():
    """Docs: the version in preparation is the changelog's Unreleased section."""
    assert changelog_versions() >= {"0.2.0"}


def _public_docstrings():
    yield "echoppe_accounts", echoppe_accounts.__doc__ or ""
    seen = set()
    for module in (echoppe_accounts, ports, testing, exceptions):
        yield module.__name__, module.__doc__ or ""
        names = getattr(module, "__all__", None) or [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and getattr(value, "__module__", None) == module.__name__
        ]
        for name in names:
            obj = getattr(module, name)
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            yield name, inspect.getdoc(obj) or ""
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if member.startswith("_"):
                        continue
                    target = value.fget if isinstance(value, property) else value
                    yield f"{name}.{member}", inspect.getdoc(target) or ""


def test_no_api_docstring_holds_a_note_for_maintainers():
    """Docs: the API page is for shops; notes on the library's insides are comments."""
    notes = [
        (name, match.group())
        for name, doc in _public_docstrings()
        for match in _MAINTAINERS.finditer(doc)
    ]
    assert notes == []
