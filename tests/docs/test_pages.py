"""The code of the documentation runs as written (issue 13).

Every page under ``docs/`` is a test: its fenced code blocks run in the
order of the page, in one namespace, so a page may build on its earlier
blocks as a reader does.

- A ```` ```python ```` block is executed; it must not raise.
- A ```` ```pycon ```` block is a doctest: each ``>>>`` line runs and its
  output must match what the page shows (``ELLIPSIS`` and
  ``NORMALIZE_WHITESPACE``, as for the docstrings).
- Code that must be shown but not run (it needs a PostgreSQL server, an
  SMTP server or a web framework's request) goes in a
  ```` ```{code-block} python ```` directive, or is included from
  ``examples/`` with ``{literalinclude}``; other languages (``console``,
  ``ini``, ``sql``…) are never run.

Each page runs in an empty temporary folder (files it writes go there),
with ``ECHOPPE_BASE_URL`` set to the shop's URL and none of the library's
other variables, so that it cannot depend on the machine's environment.
"""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(
    path for path in DOCS.rglob("*.md") if "_build" not in path.relative_to(DOCS).parts
)
ENVIRONMENT = {"ECHOPPE_BASE_URL": "https://www.lechoppe.fr"}
"""The environment the pages run in; every other ``ECHOPPE_`` variable is unset."""

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def blocks(page: Path) -> list[tuple[str, int, str]]:
    """Return the fenced code blocks of *page*: language, first line, code."""
    tokens = MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8"))
    return [
        (token.info.strip(), token.map[0] + 2, token.content)
        for token in tokens
        if token.type == "fence" and token.map is not None
    ]


@pytest.fixture
def page_environment(monkeypatch, tmp_path):
    """An empty working folder and the documented environment."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("ECHOPPE_")]:
        monkeypatch.delenv(name)
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


def test_there_are_pages():
    """The pages are found: an empty list would make every page test vanish."""
    assert DOCS / "index.md" in PAGES
    assert len(PAGES) > 5


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
@pytest.mark.usefixtures("page_environment")
def test_the_code_of_the_page_runs(page):
    """Each python block runs and each pycon block shows what it prints."""
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    name = str(page.relative_to(DOCS.parent))
    for language, line, code in blocks(page):
        if language == "python":
            exec(compile(code, f"{name}:{line}", "exec"), namespace)  # noqa: S102
        elif language == "pycon":
            test = doctest.DocTestParser().get_doctest(
                code, namespace, name, name, line - 1
            )
            runner = doctest.DocTestRunner(optionflags=FLAGS)
            runner.run(test, clear_globs=False)
            namespace.update(test.globs)  # DocTest ran in a copy of it
            assert runner.failures == 0, f"{name}:{line}: a doctest failed (above)"
