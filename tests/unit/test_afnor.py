"""Street lines of another shop fitted to AFNOR NF Z10-011 (SPEC A4, M1, M2)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from echoppe_accounts.domain.afnor import ABBREVIATIONS, fit_street_lines
from strategies import LETTERS, shop_street_fields


def _key(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word)
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return plain.upper().rstrip(".,:;")


def canonical(words: list[str]) -> list[str]:
    """The words, each standing for itself or for its standard abbreviation."""
    return [ABBREVIATIONS.get(_key(w), w) for w in words]


FIELD = st.text(alphabet=LETTERS + "  0123456789-'/,.", max_size=140)


@given(FIELD, FIELD)
@example("12 " + "a" * 38, "")
@example("Résidence " * 30, "")
def test_fitted_lines_are_at_most_four_of_38_characters_and_keep_every_word(
    first, second
):
    """A4, M2: ≤ 4 lines of ≤ 38 characters; every word or its abbreviation survives.

    Nothing is ever cut: an address that cannot fit gives ``None``.
    """
    fitted = fit_street_lines(first, second)
    words = f"{first} {second}".split()
    if fitted is None:
        # Only when there is no other way: more than four lines' worth of
        # words, or a word longer than a line.
        assert words
        return
    assert len(fitted) <= 4
    assert all(0 < len(line) <= 38 for line in fitted)
    assert sorted(canonical(" ".join(fitted).split())) == sorted(canonical(words))


@given(shop_street_fields())
def test_roles_come_in_the_norms_order_each_keeping_its_words_order(fields):
    """A4: recipient, building, street, locality; within a role, the shop's order."""
    pieces, first, second = fields
    fitted = fit_street_lines(first, second)
    lines = [" ".join(f.split()) for f in (first, second) if f.strip()]
    if fitted is None or list(fitted) == lines:
        return  # kept as it was (it fitted), or cannot fit at all
    expected = [w for _, piece in sorted(pieces, key=lambda p: p[0]) for w in piece]
    assert canonical(" ".join(fitted).split()) == canonical(expected)


@pytest.mark.parametrize(
    ("fields", "lines"),
    [
        (("12 rue des Lilas", "Bâtiment B"), ("12 rue des Lilas", "Bâtiment B")),
        (("12 rue des Lilas", ""), ("12 rue des Lilas",)),
        (("  12   rue des Lilas ", "\n"), ("12 rue des Lilas",)),
        (
            ("Bâtiment B escalier 4 appartement 12 3 boulevard de la République",),
            ("Bâtiment B escalier 4 appartement 12", "3 boulevard de la République"),
        ),
        (
            ("3 boulevard du Maréchal de Lattre de Tassigny", "Appartement 4"),
            ("Appartement 4", "3 BD du MAL de Lattre de Tassigny"),
        ),
        (
            ("Lieu-dit La Grange aux Moines 12 bis avenue des Tilleuls",),
            ("12 bis avenue des Tilleuls", "Lieu-dit La Grange aux Moines"),
        ),
        (
            ("Chez Madame Dominique Martin-Lefebvre 1 rue de la Paix",),
            ("Chez Madame Dominique Martin-Lefebvre", "1 rue de la Paix"),
        ),
    ],
)
def test_known_addresses_are_laid_out_by_role(fields, lines):
    """A4, M2: lines that fit are kept; a long one is cut at its roles' words."""
    assert fit_street_lines(*fields) == lines


def test_an_address_that_cannot_fit_is_none():
    """M2: never truncated; the caller reports the address it cannot use."""
    assert fit_street_lines("x" * 39) is None
    assert fit_street_lines(" ".join(["mot" * 3] * 60)) is None


def test_the_standard_abbreviations_of_street_types():
    """A4: the abbreviations La Poste uses, only when a line is too long."""
    assert ABBREVIATIONS["AVENUE"] == "AV"
    assert ABBREVIATIONS["BOULEVARD"] == "BD"
    assert ABBREVIATIONS["BATIMENT"] == "BAT"
    assert fit_street_lines("2 avenue de la Gare") == ("2 avenue de la Gare",)
