"""Every rule the code cites has its entry on the rules page (issue 13).

``docs/rules.md`` gives each rule of the specification an anchor,
``(rule-R6)=``, which the documentation links every citation to ("SPEC R6"
in a docstring, "(R6)" in a sentence). These tests keep the page and the
citations together:

- the page has one entry per rule of the specification, in its order;
- every rule id cited in the sources, the tests, the pages and the
  changelog has an entry (a typo such as "SPEC X9" fails here, and in the
  documentation's build);
- every test the page names as a proof of a rule exists.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES_PAGE = ROOT / "docs" / "rules.md"

SPECIFICATION = {
    "C": 5,
    "F": 10,
    "X": 5,
    "A": 5,
    "P": 6,
    "R": 10,
    "N": 5,
    "G": 4,
    "O": 5,
    "T": 2,
    "W": 4,
    "M": 3,
}
"""How many rules each section of the specification has (C1–C5, F1–F10…)."""

RULES = [
    f"{letter}{n}"
    for letter, count in SPECIFICATION.items()
    for n in range(1, count + 1)
]

# A cited id, loosely: a section letter and one or two digits ("X9", "R11"),
# so that an id the specification lacks is found and refused.
_ID = r"[CFXAPRNGOTWM]\d{1,2}"
_LIST = rf"{_ID}(?:(?:, | and | to |–|-){_ID})*"
_CITATIONS = [
    re.compile(rf"\bSPEC ({_LIST})\b"),  # "SPEC R6", "SPEC P1–P4, R1"
    re.compile(rf"\(({_LIST})[),;:]"),  # "(R6)", "(R1, R6: …)"
    re.compile(rf"^\s*({_LIST}):", re.MULTILINE),  # a test's "C1, F8: …"
]
_ONE_ID = re.compile(_ID)


def cited(text: str) -> set[str]:
    """Return the rule ids *text* cites, in any of the forms the project uses."""
    found: set[str] = set()
    for citation in _CITATIONS:
        for match in citation.finditer(text):
            found.update(_ONE_ID.findall(match.group(1)))
    return found


def prose_of_python(path: Path) -> str:
    """Return the docstrings and comments of a Python file, not its code."""
    source = path.read_text(encoding="utf-8")
    parts = [
        node.value.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    parts += [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    return "\n".join(parts)


def prose_of_markdown(path: Path) -> str:
    """Return a Markdown file without its fenced blocks and inline code."""
    text = re.sub(r"^(```|~~~).*?^\1", "", path.read_text(encoding="utf-8"),
                  flags=re.MULTILINE | re.DOTALL)  # fmt: skip
    return re.sub(r"(`+).+?\1", "", text)


def documented() -> list[str]:
    """Return the rule anchors of the rules page, in order."""
    return re.findall(r"^\(rule-(\w+)\)=$", RULES_PAGE.read_text(encoding="utf-8"),
                      flags=re.MULTILINE)  # fmt: skip


def citing_files() -> list[Path]:
    """Return every file whose citations must resolve."""
    python = [
        path
        for folder in ("src", "tests", "examples")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != Path(__file__).resolve()  # it quotes wrong ids on purpose
    ]
    docs = ROOT / "docs"
    markdown = [
        path
        for path in sorted(docs.rglob("*.md"))
        if "_build" not in path.relative_to(docs).parts and path != RULES_PAGE
    ]
    return [*python, *markdown, ROOT / "CHANGELOG.md"]


def test_the_page_has_one_entry_per_rule_in_order():
    """Each rule of the specification has an anchor, once, in the SPEC's order."""
    assert documented() == RULES


def test_the_citation_forms_are_recognised():
    """The forms the project writes are read, ranges by their two ends."""
    assert cited("the cooldown (SPEC R6) and (X5) apply") == {"R6", "X5"}
    assert cited("SPEC P1–P4 and R1–R10") == {"P1", "P4", "R1", "R10"}
    assert cited("C1, F8: a stable code") == {"C1", "F8"}
    assert cited("(R1, R6: same answer)") == {"R1", "R6"}
    assert cited("SPEC X9") == {"X9"}  # no such rule: the test below refuses it
    assert cited("Mozilla/5.0 (X11; Linux x86_64)") == {"X11"}
    assert cited("a size of A4 paper, in C0 or X11") == set()
    assert cited("the final mail (SPEC W2) and old hashes (M3)") == {"W2", "M3"}
    assert cited("SPEC W5") == {"W5"}  # no such rule: refused below


@pytest.mark.parametrize("path", citing_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_rule_cited_has_its_entry(path):
    """A rule id cited in a docstring, a comment or a page is on the rules page."""
    prose = prose_of_python(path) if path.suffix == ".py" else prose_of_markdown(path)
    missing = sorted(cited(prose) - set(documented()))
    assert not missing, (
        f"{path.relative_to(ROOT)} cites {', '.join(missing)}, which "
        f"docs/rules.md does not document: a typo, or a rule to add there"
    )


def test_every_test_named_as_a_proof_exists():
    """The tests the page lists for each rule are tests of the suite."""
    named = re.findall(r"`(tests/[\w/]+\.py)::([\w:]+)`", RULES_PAGE.read_text())
    assert len(named) > len(RULES)
    missing = []
    for file, node in named:
        path = ROOT / file
        tree = ast.parse(path.read_text(encoding="utf-8")) if path.exists() else None
        names = {
            n.name
            for n in (ast.walk(tree) if tree else ())
            if isinstance(n, ast.FunctionDef | ast.ClassDef)
        } | {
            t.id
            for n in (ast.walk(tree) if tree else ())
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        if not set(node.split("::")) <= names:
            missing.append(f"{file}::{node}")
    assert not missing, f"docs/rules.md names tests that do not exist: {missing}"
