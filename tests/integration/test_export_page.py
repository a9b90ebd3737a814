"""The "Mes données" page, written for the customer in their language (G1, T1, T2)."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from echoppe_accounts import (
    AccountStatus,
    AuditEvent,
    Category,
    ChorusRequirement,
    ConsentSource,
    Settings,
)
from echoppe_accounts.service_layer.privacy import (
    ARTICLE_15,
    SCHEMA_VERSION,
    PersonalDataExport,
    sample_export,
)
from rendered import (
    attribute_values,
    english_words,
    french_translations,
    french_words,
    tag_structure,
    visible_text,
    words_found,
)
from sample_forms import ORGANISATIONS, form


def _headings(page: str) -> list[str]:
    return [tag for tag, _ in tag_structure(page) if re.fullmatch(r"h[1-6]", tag)]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_page_is_accessible(language):
    """T2: lang, landmarks, one h1, headings in order, table headers with scope."""
    page = sample_export(language).as_html()
    tags = [tag for tag, _ in tag_structure(page)]
    assert page.startswith(f'<!DOCTYPE html>\n<html lang="{language}">')
    for landmark in ("header", "nav", "main", "footer"):
        assert tags.count(landmark) == 1, landmark
    headings = _headings(page)
    assert headings.count("h1") == 1
    assert headings[0] == "h1"
    levels = [int(h[1]) for h in headings]
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    scopes = [
        value
        for tag, name, value in attribute_values(page)
        if (tag, name) == ("th", "scope")
    ]
    assert scopes.count("row") >= 10
    assert scopes.count("col") >= 8
    assert tags.count("th") == len(scopes)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_page_is_self_contained_for_phones_and_paper(language):
    """T2: a viewport, a phone layout, a print style sheet, nothing from elsewhere."""
    page = sample_export(language).as_html()
    tags = [tag for tag, _ in tag_structure(page)]
    assert (
        '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    )
    assert "@media (max-width: 40rem)" in page
    assert "@media print" in page
    assert "default-src 'none'" in page
    assert "script" not in tags
    assert "link" not in tags
    assert "img" not in tags
    assert "@import" not in page


def test_the_french_page_speaks_french():
    """T2: French labels and sentences; dates in French, in Paris time."""
    page = visible_text(sample_export("fr").as_html())
    for label in (
        "Mes données",
        "Identité et coordonnées",
        "Organisation et SIRET",
        "Adresses",
        "Newsletter",
        "Mesure d’audience",
        "Historique du compte",
        "Vos droits et l’usage de vos données",
        "Numéro de TVA intracommunautaire",
        "Version du texte affiché",
        "Création de votre compte.",
        "Connexion avec un mot de passe temporaire ou provisoire.",
        "Motif indiqué : appel du 12 mars.",
        "Commission nationale de l’informatique et des libertés",
        "Belgique",
    ):
        assert label in page, label
    # 2026-03-29 00:30 UTC is 01:30 in Paris; a day later summer time gives 02:30.
    assert "29 mars 2026 à 1 h 30" in page
    assert "30 mars 2026 à 2 h 30" in page
    assert "has_password" not in page
    assert "True" not in page


def test_the_english_export_has_no_french_string():
    """T2: the English page uses none of the French of the catalogue."""
    page = visible_text(sample_export("en").as_html())
    assert "My data" in page
    assert "Belgium" in page
    assert words_found(page, french_words()) == []


def test_the_french_export_has_no_english_label():
    """T2: the French page uses none of the English of the sources."""
    page = visible_text(sample_export("fr").as_html())
    assert words_found(page, english_words()) == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_event_reads_as_a_sentence(language):
    """T2: each kind of account event is told in words, not by its code."""
    page = visible_text(sample_export(language).as_html())
    for event in AuditEvent:
        assert event.value not in page


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_json_holds_the_same_content_in_the_same_language(language):
    """G1: the JSON is versioned and holds the Art. 15 text the page shows."""
    export = sample_export(language)
    data = json.loads(export.as_json())
    assert data["schema_version"] == SCHEMA_VERSION == "1.2"
    assert data["language"] == language
    page = visible_text(export.as_html())
    for purpose in data["information"]["purposes"].values():
        assert purpose in page
    for recipient in data["information"]["recipients"]:
        assert recipient in page
    assert data["analytics"]["note"] in page
    # Without settings, no shop's brand: the sample's neutral name.
    assert data["information"]["controller"] == "example.org"


def test_article_15_is_translated_whole():
    """G1, T2: every sentence of the Art. 15 information is in the catalogue."""

    def sentences(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key not in {"name", "full_name", "address", "website"}:
                    yield from sentences(item)
        elif isinstance(value, list):
            for item in value:
                yield from sentences(item)
        elif value != "{shop}":
            yield value

    translated = french_translations()
    for sentence in sentences(ARTICLE_15):
        assert translated.get(sentence), sentence


def test_the_service_exports_in_the_customer_language(service, privacy):
    """T2: an English-speaking customer gets the page and JSON texts in English."""
    account = service.register(
        form(Category.COMPANY, language="en", **ORGANISATIONS[Category.COMPANY])
    )
    export = privacy.export_personal_data(account.id)
    assert export.language == "en"
    page = export.as_html()
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert "Your rights and how we use your data" in page
    assert "Exemple SA" in page
    data = json.loads(export.as_json())
    assert data["information"]["rights"][0] == "Access (this export)"


def test_the_shop_template_of_the_page_is_used(tmp_path):
    """T1: a shop's privacy/export.html replaces the library's page."""
    (tmp_path / "privacy").mkdir()
    (tmp_path / "privacy" / "export.html").write_text(
        "<h1>{% trans %}My data{% endtrans %} — {{ export.account.name }}</h1>",
        encoding="utf-8",
    )
    shop = Settings(base_url="https://www.lechoppe.fr", templates=tmp_path)
    assert sample_export("fr", shop).as_html() == "<h1>Mes données — Claire Martin</h1>"


_HOSTILE = (
    st.lists(
        st.sampled_from([*"<>&\"'/= abcé{}%", "<script>", "</td>", "{{ x }}", "%(x)s"]),
        min_size=1,
        max_size=10,
    )
    .map("".join)
    .filter(str.strip)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_HOSTILE, street=_HOSTILE, contact=_HOSTILE, label=_HOSTILE)
def test_customer_values_never_add_markup_to_the_page(name, street, contact, label):
    """T2: names, addresses, contacts, labels are escaped; the page keeps its tags."""

    def page(name, street, contact, label):
        data = json.loads(sample_export("fr").as_json())
        data["account"]["name"] = name
        data["organisation"]["name"] = name
        data["addresses"]["billing"]["street_lines"] = [street]
        for delivery in data["addresses"]["deliveries"]:
            delivery["street_lines"] = [street]
            delivery["contact_name"] = contact
            delivery["label"] = label
        return PersonalDataExport(data).as_html()

    hostile = page(name, street, contact, label)
    assert tag_structure(hostile) == tag_structure(page("Zoé", "1 rue", "Léa", "Lab"))
    seen = visible_text(hostile)
    for value in (name, street, contact, label):
        assert " ".join(value.split()) in seen


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_code_of_the_export_reads_in_words(language):
    """T2: categories, statuses, Chorus Pro needs and consent sources have words."""
    base = json.loads(sample_export(language).as_json())
    cases = [
        *(("category", c.value) for c in Category),
        *(("status", s.value) for s in AccountStatus),
        *(("chorus", r.value) for r in ChorusRequirement),
        *(("source", s.value) for s in ConsentSource),
    ]
    for field, code in cases:
        data = json.loads(json.dumps(base))
        if field in {"category", "status"}:
            data["account"][field] = code
        elif field == "chorus":
            data["organisation"]["chorus"]["requirement"] = code
        else:
            data["newsletter"]["history"][0]["source"] = code
        page = PersonalDataExport(data).as_html()
        assert not re.search(rf">\s*{re.escape(code)}\s*<", page), code
    data = json.loads(json.dumps(base))
    data["account"]["category"] = "unheard_of"
    assert ">unheard_of<" in PersonalDataExport(data).as_html()  # shown as is
