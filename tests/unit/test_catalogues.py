"""The message catalogues are complete and up to date with the sources (SPEC T1).

``make test`` fails here when a message of the sources or templates is not
in the catalogues (run ``make messages``), when a shipped language lacks a
translation (all plural forms included), or when a compiled ``.mo`` file is
older than its ``.po`` file.
"""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.mofile import read_mo, write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

import echoppe_accounts

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(echoppe_accounts.__file__).resolve().parent
LOCALE = PACKAGE / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/messages.po"))
SHIPPED = ["fr"]
_PLACEHOLDERS = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def _mappings():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    method_map, options_map = [], {}
    for entry in config["tool"]["babel"]["mappings"]:
        options = dict(entry)
        pattern, method = options.pop("pattern"), options.pop("method")
        if "keywords" in options:
            options["keywords"] = parse_keywords(options["keywords"])
        if "add_comments" in options:
            options["add_comments"] = [options["add_comments"]]
        method_map.append((pattern, method))
        options_map[pattern] = options
    return method_map, options_map


def _key(message_id, context):
    ids = message_id if isinstance(message_id, tuple | list) else (message_id,)
    return (tuple(ids), context)


@pytest.fixture(scope="module")
def extracted() -> set:
    """The messages of the sources and templates, as ``make messages`` finds them."""
    method_map, options_map = _mappings()
    found = set()
    for _, _, message, _, context in extract_from_dir(
        str(PACKAGE), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        found.add(_key(message, context))
    return found


def _read(path: Path):
    with path.open("rb") as po:
        return read_po(po)


def test_every_shipped_language_has_a_catalogue():
    """T1: French ships as a catalogue; English is the language of the sources."""
    assert [p.parents[1].name for p in CATALOGUES] == SHIPPED
    assert (LOCALE / "messages.pot").is_file()


def test_the_template_holds_every_message_of_the_sources(extracted):
    """T1: messages.pot is what the sources say today (else: make messages)."""
    template = {_key(m.id, m.context) for m in _read(LOCALE / "messages.pot") if m.id}
    assert template - extracted == set(), "obsolete messages: run make messages"
    assert extracted - template == set(), "new messages: run make messages"


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parents[1].name)
def test_each_catalogue_holds_every_message_of_the_sources(path, extracted):
    """T1: each .po has exactly the messages of the sources (else: make messages)."""
    catalogue = {_key(m.id, m.context) for m in _read(path) if m.id}
    assert extracted - catalogue == set(), "missing messages: run make messages"
    assert catalogue - extracted == set(), "obsolete messages: run make messages"


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parents[1].name)
def test_each_catalogue_translates_everything_with_every_plural_form(path):
    """T1: no empty, partial or fuzzy translation in a shipped language."""
    catalogue = _read(path)
    language = path.parents[1].name
    assert not catalogue.fuzzy, f"{path}: the catalogue is marked fuzzy"
    forms = get_plural(language).num_plurals
    assert catalogue.num_plurals == forms
    # A stale rule with the right count still picks the wrong form.
    assert catalogue.plural_expr == get_plural(language).plural_expr
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        strings = (
            message.string if isinstance(message.string, tuple) else (message.string,)
        )
        if message.fuzzy:
            problems.append(f"fuzzy, to review: {message.id!r}")
        if isinstance(message.id, tuple) and len(strings) != forms:
            problems.append(f"{forms} plural forms needed: {message.id!r}")
        if not all(s.strip() for s in strings):
            problems.append(f"not translated: {message.id!r}")
    assert problems == []


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parents[1].name)
def test_translations_use_only_the_placeholders_of_their_message(path):
    """T1: a translation never names a value the message does not give."""
    for message in _read(path):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = (
            message.string if isinstance(message.string, tuple) else (message.string,)
        )
        given = {a or b for text in ids for a, b in _PLACEHOLDERS.findall(text)}
        for text in strings:
            used = {a or b for a, b in _PLACEHOLDERS.findall(text)}
            assert used <= given, (message.id, text)


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parents[1].name)
def test_each_compiled_catalogue_is_up_to_date(path):
    """T1: the .mo that ships says what its .po says (else: make messages)."""
    compiled = io.BytesIO()
    write_mo(compiled, _read(path))
    compiled.seek(0)
    mo_path = path.with_suffix(".mo")
    assert mo_path.is_file(), f"{mo_path} is missing: run make messages"
    with mo_path.open("rb") as shipped:
        expected, actual = read_mo(compiled), read_mo(shipped)

    def entries(catalogue):
        return {
            _key(m.id, m.context): _key(m.string, None) for m in catalogue if m.id
        } | {"plural-forms": catalogue.plural_forms}

    assert entries(actual) == entries(expected), "stale .mo: run make messages"
