"""Helpers to read rendered texts: visible words, tag structure, catalogue words."""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

import echoppe_accounts

LOCALE = Path(echoppe_accounts.__file__).parent / "locale"
FRENCH_PO = LOCALE / "fr" / "LC_MESSAGES" / "messages.po"

_PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.attributes: list[tuple[str, str, str]] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(sorted(name for name, _ in attrs))))
        self.attributes.extend((tag, name, value or "") for name, value in attrs)
        if tag in {"style", "script", "title", "head"}:
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in {"style", "script", "title", "head"}:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.text.append(data)


def _read(markup: str) -> _Reader:
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader


def visible_text(markup: str) -> str:
    """Return the words a reader of *markup* sees, whitespace made single spaces."""
    return " ".join("".join(_read(markup).text).split())


def tag_structure(markup: str) -> list[tuple[str, tuple[str, ...]]]:
    """Return the tags of *markup* in order, each with the names of its attributes."""
    return _read(markup).tags


def attribute_values(markup: str) -> list[tuple[str, str, str]]:
    """Return every (tag, attribute, value) of *markup*, values unescaped."""
    return _read(markup).attributes


@functools.cache
def _catalogue():
    with FRENCH_PO.open("rb") as po:
        return read_po(po)


def french_translations() -> dict[str, str]:
    """Return the French catalogue's translations by English id (singular ones)."""
    return {m.id: m.string for m in _catalogue() if m.id and isinstance(m.id, str)}


def _fragments(texts) -> frozenset[str]:
    """Return the words of *texts*: whole messages, and pieces of two words or more.

    The pieces are what lies between placeholders; a lone word of a piece
    ("second") may be a word of the other language too.
    """
    found = set()
    for text in texts:
        pieces = _PLACEHOLDER.split(text)
        for piece in pieces:
            piece = piece.strip(" ,.:;()—-")  # noqa: PLW2901 (a cleaned copy)
            if sum(c.isalpha() for c in piece) >= 3 and (
                len(pieces) == 1 or len(piece.split()) >= 2
            ):
                found.add(piece)
    return frozenset(found)


def _pairs():
    for message in _catalogue():
        if not message.id or "MMMM" in str(message.id):
            continue  # the header, and date patterns (letters, not words)
        if all("_argparse_texts" in path for path, _ in message.locations):
            continue  # the command line's usage words ("usage" is French too)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = (
            message.string if isinstance(message.string, tuple) else (message.string,)
        )
        yield ids, strings


@functools.cache
def french_words() -> frozenset[str]:
    """Return the French of the catalogue that differs from its English id."""
    return (
        _fragments(s for ids, strings in _pairs() for s in strings if s not in ids)
        - english_identical()
    )


@functools.cache
def english_words() -> frozenset[str]:
    """Return the English ids of the catalogue whose French differs."""
    return (
        _fragments(i for ids, strings in _pairs() for i in ids if i not in strings)
        - english_identical()
    )


@functools.cache
def english_identical() -> frozenset[str]:
    """Return the pieces both languages share (``SIRET``, ``Newsletter``)."""
    english = _fragments(i for ids, _ in _pairs() for i in ids)
    french = _fragments(s for _, strings in _pairs() for s in strings)
    return english & french


def words_found(text: str, words: frozenset[str]) -> list[str]:
    """Return the *words* that appear in *text* as whole words."""
    return sorted(w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text))
