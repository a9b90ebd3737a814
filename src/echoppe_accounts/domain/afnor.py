"""Street lines fitted to AFNOR NF Z10-011: at most four lines of 38 characters.

Other shops keep an address's street in one or two free fields (PrestaShop's
``address1`` and ``address2`` hold up to 128 characters each); the norm (SPEC
A4) wants at most four street lines of at most 38 characters, each with its
role, in this order:

1. the recipient's complement (``Chez Mme Martin``, ``Service achats``);
2. the building's complement (``Bâtiment B``, ``Résidence Les Pins``,
   ``Entrée 2``, ``Escalier C``, ``3e étage``, ``Appartement 12``…);
3. the number and the street (``12 avenue Jean Jaurès``);
4. the distribution's complement (``Lieu-dit Les Granges``, ``BP 42``,
   ``CS 70001``, ``ZI des Bruyères``…).

:func:`fit_street_lines` leaves lines that already fit as they are. Lines
that do not are cut into pieces at the words that start a role, the pieces
of each role kept in their order, and each role's text wrapped at word
boundaries; the standard abbreviations of street types and titles
(``AVENUE`` → ``AV``, ``BOULEVARD`` → ``BD``, ``SAINT`` → ``ST``…) are used
only when a role's text does not fit on one line as it is. Nothing is ever
truncated: an address that cannot fit returns ``None``.

>>> fit_street_lines("12 rue des Lilas", "Bâtiment B")
('12 rue des Lilas', 'Bâtiment B')
>>> fit_street_lines("Lieu-dit Les Granges Hautes 12 bis rue des Lilas")
('12 bis rue des Lilas', 'Lieu-dit Les Granges Hautes')
>>> fit_street_lines(
...     "Résidence Les Jardins de la Source Bâtiment C 12 avenue du Maréchal de"
...     " Lattre de Tassigny")
('RES Les Jardins de la Source BAT C', '12 AV du MAL de Lattre de Tassigny')
>>> fit_street_lines("Lieu-dit " + "x" * 40) is None
True

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Final

from echoppe_accounts.domain.address import LINE_LENGTH, MAX_STREET_LINES
from echoppe_accounts.domain.text import strip_combining

__all__ = [
    "ABBREVIATIONS",
    "LINE_LENGTH",
    "MAX_STREET_LINES",
    "Role",
    "fit_street_lines",
]


class Role(enum.IntEnum):
    """The role of a street line, in the order the norm prints them.

    .. versionadded:: 0.2.0
    """

    RECIPIENT = 2
    """The recipient's complement, line 2 (``Chez``, ``Service``, ``c/o``)."""
    BUILDING = 3
    """The building's complement, line 3 (``Bâtiment``, ``Résidence``…)."""
    STREET = 4
    """The number and the street, line 4."""
    LOCALITY = 5
    """The distribution's complement, line 5 (``Lieu-dit``, ``BP``, ``CS``…)."""


ABBREVIATIONS: Final[Mapping[str, str]] = {
    "ALLEE": "ALL",
    "AVENUE": "AV",
    "BOULEVARD": "BD",
    "CARREFOUR": "CAR",
    "CHAUSSEE": "CHS",
    "CHEMIN": "CHE",
    "FAUBOURG": "FG",
    "HAMEAU": "HAM",
    "IMPASSE": "IMP",
    "LOTISSEMENT": "LOT",
    "MONTEE": "MTE",
    "PASSAGE": "PAS",
    "PLACE": "PL",
    "PROMENADE": "PRO",
    "QUARTIER": "QUA",
    "ROUTE": "RTE",
    "RUELLE": "RLE",
    "SQUARE": "SQ",
    "TRAVERSE": "TRA",
    "VILLA": "VLA",
    "BATIMENT": "BAT",
    "RESIDENCE": "RES",
    "IMMEUBLE": "IMM",
    "APPARTEMENT": "APP",
    "ESCALIER": "ESC",
    "ENTREE": "ENT",
    "SAINT": "ST",
    "SAINTE": "STE",
    "GENERAL": "GAL",
    "MARECHAL": "MAL",
    "PRESIDENT": "PDT",
    "DOCTEUR": "DR",
    "PROFESSEUR": "PR",
}
"""The standard abbreviations used when a line is too long, by word without accents.

Street types, building words and titles, as La Poste writes them.

.. versionadded:: 0.2.0
"""

_BUILDING = frozenset(
    {
        "BATIMENT",
        "BAT",
        "RESIDENCE",
        "RES",
        "IMMEUBLE",
        "IMM",
        "ENTREE",
        "ENT",
        "ESCALIER",
        "ESC",
        "ETAGE",
        "APPARTEMENT",
        "APPT",
        "APT",
        "APP",
        "PORTE",
        "TOUR",
        "BLOC",
        "COULOIR",
        "PAVILLON",
    }
)
_RECIPIENT = frozenset({"CHEZ", "C/O", "SERVICE", "ATTN", "ATT"})
_LOCALITY = frozenset(
    {"LIEU-DIT", "LIEUDIT", "LD", "BP", "CS", "TSA", "ZI", "ZA", "ZAC", "ZONE"}
)
_KEYWORDS = (
    (Role.RECIPIENT, _RECIPIENT),
    (Role.LOCALITY, _LOCALITY),
    (Role.BUILDING, _BUILDING),
)
_STREET_TYPES = frozenset(ABBREVIATIONS) - _BUILDING - {
    "SAINT",
    "SAINTE",
    "GENERAL",
    "MARECHAL",
    "PRESIDENT",
    "DOCTEUR",
    "PROFESSEUR",
    "HAMEAU",
} | {"RUE", "QUAI", "COURS", "CITE", "ESPLANADE", "PARVIS", "SENTIER", "VOIE"}
_NUMBER = re.compile(r"\d+[A-Za-z]?(?:,)?")
_ORDINAL = re.compile(r"\d+(?:E|EME|ER|ERE|ÈME)", re.IGNORECASE)
_REPEAT = frozenset({"BIS", "TER", "QUATER"})


def _key(word: str) -> str:
    """The word in capitals without accents nor trailing punctuation."""
    if not word.isascii():
        word = strip_combining(unicodedata.normalize("NFKD", word))
    return word.upper().rstrip(".,:;")


def _starts(words: Sequence[str], i: int) -> Role | None:
    """Return the role that starts at word *i*, or ``None`` if none does."""
    key = _key(words[i])
    for role, keys in _KEYWORDS:
        if key in keys:
            return role
    after = _key(words[i + 1]) if i + 1 < len(words) else ""
    if _ORDINAL.fullmatch(words[i]) and after in {"ETAGE", "ETG"}:
        return Role.BUILDING  # "3e étage"
    if _NUMBER.fullmatch(words[i]):
        if after in _REPEAT:  # "12 bis rue…"
            after = _key(words[i + 2]) if i + 2 < len(words) else ""
        if after in _STREET_TYPES:
            return Role.STREET
    if i == 0 and key in _STREET_TYPES:  # a street without a number
        return Role.STREET
    return None


def _pieces(line: str) -> list[tuple[Role, list[str]]]:
    """Cut *line* into pieces, each starting where a role does."""
    words = line.split()
    pieces: list[tuple[Role, list[str]]] = []
    for i, word in enumerate(words):
        role = _starts(words, i)
        if role is not None and (not pieces or pieces[-1][0] is not role or i == 0):
            pieces.append((role, [word]))
        elif pieces:
            pieces[-1][1].append(word)
        else:
            pieces.append((Role.STREET, [word]))
    return pieces


def _abbreviated(words: Sequence[str]) -> list[str]:
    return [ABBREVIATIONS.get(_key(w), w) for w in words]


def _wrap(words: Sequence[str]) -> list[str] | None:
    """Wrap *words* into lines of at most 38 characters, or ``None``."""
    lines: list[str] = []
    for word in words:
        if len(word) > LINE_LENGTH:
            return None
        if lines and len(lines[-1]) + 1 + len(word) <= LINE_LENGTH:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


_FITTABLE_LENGTH: Final = 4096
"""Raw characters past which street text cannot fit, so is not laid out (SPEC F9).

Four lines of 38 characters hold 155 with their breaks, and no standard
abbreviation shortens a word and its space more than four times: far
longer text could only fit by cutting words. Checked before any work.
"""


def fit_street_lines(*fields: str) -> tuple[str, ...] | None:
    """Return the street lines of *fields*, fitted to the norm, or ``None``.

    Each field may hold several lines (separated by line breaks). Lines
    that already fit (at most four, each of at most 38 characters once
    white space is folded) are returned as they are; otherwise they are
    laid out by role (see the module's documentation). ``None`` when even
    that cannot fit four lines without cutting a word.

    .. versionadded:: 0.2.0
    """
    if sum(len(field) for field in fields) > _FITTABLE_LENGTH:
        return None  # size before work (SPEC F9): it cannot fit
    lines = [" ".join(part.split()) for field in fields for part in field.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) <= MAX_STREET_LINES and all(len(s) <= LINE_LENGTH for s in lines):
        return tuple(lines)
    roles: dict[Role, list[str]] = {}
    for line in lines:
        for role, words in _pieces(line):
            roles.setdefault(role, []).extend(words)
    plain: list[list[str]] = []
    short: list[list[str]] = []
    for role in sorted(roles):
        words = roles[role]
        wrapped = _wrap(words)
        abbreviated = _wrap(_abbreviated(words))
        if abbreviated is None:
            return None
        if wrapped is None or (len(wrapped) > 1 and len(abbreviated) < len(wrapped)):
            wrapped = abbreviated  # a line too long: the standard abbreviations
        plain.append(wrapped)
        short.append(abbreviated)
    for layout in (plain, short):
        fitted = tuple(line for role_lines in layout for line in role_lines)
        if len(fitted) <= MAX_STREET_LINES:
            return fitted
    return None
