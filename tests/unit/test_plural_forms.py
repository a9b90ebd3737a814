"""Plurals follow CLDR as the installed Babel reads it, at run time too (SPEC T1).

French has three forms in CLDR: *one* (0 and 1), *many* (a whole number of
millions: ``1 000 000 de caractères``) and *other*. A catalogue whose
``Plural-Forms`` or strings lag behind Babel's rule fails here.
"""

from __future__ import annotations

import pytest
from babel import Locale
from babel.messages.plurals import get_plural

from echoppe_accounts.domain.errors import message_for
from echoppe_accounts.domain.i18n import SOURCE_LANGUAGE, catalogues, translation

SAMPLES = (0, 1, 2, 5, 999_999, 1_000_000, 1_000_001, 2_000_000, 10_000_000)
_ORDER = ("zero", "one", "two", "few", "many", "other")


@pytest.mark.parametrize("language", sorted(catalogues().languages()))
def test_the_compiled_rule_picks_the_cldr_category_of_every_count(language):
    """T1: the form gettext picks is the CLDR category of the count, in order."""
    rule = Locale.parse(language).plural_form
    forms = [tag for tag in _ORDER if tag in {*rule.tags, "other"}]
    assert len(forms) == get_plural(language).num_plurals
    texts = translation(language)
    for n in SAMPLES:
        if language == SOURCE_LANGUAGE:  # no catalogue: the message ids' forms
            chosen = int(texts.ngettext("0", "1", n))
        else:
            chosen = texts.plural(n)
        assert chosen == forms.index(rule(n)), (language, n)


@pytest.mark.parametrize(
    ("count", "french"),
    [
        (0, "Ce champ ne peut dépasser 0 caractère."),
        (1, "Ce champ ne peut dépasser 1 caractère."),
        (2, "Ce champ ne peut dépasser 2 caractères."),
        (1_000_000, "Ce champ ne peut dépasser 1000000 de caractères."),
        (2_000_000, "Ce champ ne peut dépasser 2000000 de caractères."),
        (2_500_000, "Ce champ ne peut dépasser 2500000 caractères."),
    ],
)
def test_french_messages_say_de_before_a_whole_number_of_millions(count, french):
    """T1: 0 and 1 are singular; a whole number of millions takes « de »."""
    assert message_for("text.too_long", {"max": count}, "fr") == french


@pytest.mark.parametrize(
    ("count", "english"),
    [
        (0, "This field cannot exceed 0 characters."),
        (1, "This field cannot exceed 1 character."),
        (2, "This field cannot exceed 2 characters."),
        (1_000_000, "This field cannot exceed 1000000 characters."),
        (2_000_000, "This field cannot exceed 2000000 characters."),
    ],
)
def test_english_messages_are_singular_for_one_only(count, english):
    """T1: English has two forms, the singular for 1 alone."""
    assert message_for("text.too_long", {"max": count}, "en") == english


@pytest.mark.parametrize(
    ("hours", "french"),
    [
        (1, "valable 1 heure et"),
        (2, "valable 2 heures et"),
        (1_000_000, "valable 1000000 d’heures et"),
    ],
)
def test_a_mail_counts_hours_with_the_french_rule(hours, french):
    """T1: templates use the same rule (``{% trans count=… %}``)."""
    texts = translation("fr")
    one = (
        "Your account was created with your order. To follow your orders and "
        "find your addresses, choose your password with the link below; it is "
        "valid for %(count)s hour and can be used once."
    )
    many = one.replace("hour and", "hours and")
    text = texts.ngettext(one, many, hours) % {"count": hours}
    assert french in text
