"""Every mail, from templates and catalogues, in French and English (SPEC T1).

The mails are Jinja2 templates in the package; a shop overrides any of them
through ``Settings.templates`` and every template is checked when the
application is wired (issue 11).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from builders import NOW
from echoppe_accounts import (
    InMemoryStore,
    MailKind,
    Settings,
    TemplateError,
    bootstrap,
)
from echoppe_accounts.service_layer import mails
from echoppe_accounts.testing import RecordingMailer
from rendered import (
    english_words,
    french_words,
    tag_structure,
    visible_text,
    words_found,
)

KEY = bytes(range(32))
SHOP = Settings(
    base_url="https://www.lechoppe.fr", shop_name="L'Échoppe", outbox_key=KEY
)
VALUES = {
    "shop": "L'Échoppe",
    "name": "<script>alert(1)</script> Zoé",
    "hours": 24,
    "temporary": "K7QM-4XPR-9TBW-HC3D",
    "new_email": "nouvelle@exemple.fr",
    "days": 7,
}
UNPROVEN = {
    MailKind.SET_PASSWORD,
    MailKind.NEWSLETTER_CONFIRM,
    MailKind.EMAIL_CHANGE_CONFIRM,
    MailKind.SIGNUP_VERIFY,
}
"""Kinds that may go to an address not yet proven: no typed name (F10, X5)."""
NAMELESS = UNPROVEN | {MailKind.ACCOUNT_ERASED}
"""Kinds that name nobody: those, and an erased account's last mail (W2, G3)."""
LINKS = ("https://www.lechoppe.fr/a?jeton=one", "https://www.lechoppe.fr/b?jeton=two")


def _links(kind: MailKind) -> tuple[str, ...]:
    return LINKS[: len(mails.MAIL_LINKS.get(kind.value, ()))]


def _render(kind, language, values=VALUES, settings=SHOP, **extra):
    return mails.render(
        kind,
        language,
        mail_id="m",
        to=extra.get("to", "a@exemple.fr"),
        created_at=extra.get("at", NOW),
        values=values,
        links=_links(kind),
        settings=settings,
    )


def _wire(settings: Settings):
    return bootstrap(InMemoryStore().unit_of_work, RecordingMailer(), settings)


@pytest.mark.parametrize("kind", list(MailKind))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_mail_renders_in_both_languages(kind, language):
    """T1: each kind has a subject, a text and an HTML part in fr and en."""
    mail = _render(kind, language)
    assert mail.subject
    assert "\n" not in mail.subject
    assert "— L'Échoppe\nhttps://www.lechoppe.fr\n" in mail.text
    assert mail.html.startswith(f'<!DOCTYPE html>\n<html lang="{language}">')
    assert "<script>" not in mail.html
    if kind in NAMELESS:  # amended F10: nothing the requester typed; G3
        assert "Zoé" not in mail.html
        assert "Zoé" not in mail.text
    else:
        assert escape(VALUES["name"]) in mail.html
    assert mail.text.startswith(("Bonjour", "Hello"))


@pytest.mark.parametrize("kind", list(MailKind))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_each_link_is_a_button_and_written_out(kind, language):
    """T1: the HTML has a button per link and the address in words; so has the text."""
    mail = _render(kind, language)
    for link in _links(kind):
        assert link in mail.text
        assert mail.html.count(f'href="{link}"') == 2  # the button, the address
        assert f">{link}</a>" in mail.html


@pytest.mark.parametrize("kind", list(MailKind))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_text_part_says_what_the_html_part_says(kind, language):
    """T1: every paragraph of the text part is in the HTML part, word for word."""
    mail = _render(kind, language)
    seen = visible_text(mail.html)
    for paragraph in mail.text.split("\n\n"):
        if paragraph.startswith("— "):
            continue  # the signature: the name, then the site, on two lines
        label, _, link = paragraph.rpartition("\n")
        if link not in _links(kind):  # a paragraph of words, wrapped
            label, link = paragraph, ""
        assert " ".join(label.split()).rstrip(" :") in seen, label
        assert link in seen


@pytest.mark.parametrize("kind", list(MailKind))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_mails_are_laid_out_for_mail_clients(kind, language):
    """T1: a table layout with inline styles, no style sheet, one heading."""
    mail = _render(kind, language)
    tags = [tag for tag, _ in tag_structure(mail.html)]
    assert "table" in tags
    assert "style" not in tags
    assert "link" not in tags
    assert tags.count("h1") == 1
    assert "script" not in tags


def test_text_lines_are_wrapped_without_cutting_links():
    """T1: plain-text lines stay under 77 characters, except an unbreakable link."""
    long_link = "https://www.lechoppe.fr/" + "x" * 90 + "?jeton=abc"
    mail = mails.render(
        MailKind.SET_PASSWORD,
        "fr",
        mail_id="m",
        to="a@exemple.fr",
        created_at=NOW,
        values={"name": "Zoé", "hours": 72},
        links=(long_link,),
        settings=SHOP,
    )
    assert long_link in mail.text.splitlines()
    assert all(len(line) <= 76 or line == long_link for line in mail.text.splitlines())


def test_french_and_english_differ_and_do_not_mix():
    """T1: the English mail has no French words of the catalogue, and the reverse."""
    for kind in MailKind:
        fr, en = _render(kind, "fr"), _render(kind, "en")
        assert fr.subject != en.subject
        assert fr.text != en.text
        assert not words_found(visible_text(en.html) + en.text, french_words())
        assert not words_found(visible_text(fr.html) + fr.text, english_words())


@pytest.mark.parametrize(
    ("hours", "french", "english"),
    [
        (1, "valable 1 heure et", "valid for 1 hour and"),
        (24, "valable 24 heures et", "valid for 24 hours and"),
    ],
)
def test_hours_take_the_plural_of_each_language(hours, french, english):
    """T1: "1 heure" but "24 heures", "1 hour" but "24 hours"."""
    values = {**VALUES, "hours": hours}
    for kind in (MailKind.SET_PASSWORD, MailKind.TEMPORARY_PASSWORD):
        assert french in " ".join(_render(kind, "fr", values).text.split())
        assert english in " ".join(_render(kind, "en", values).text.split())


@pytest.mark.parametrize(
    ("at", "french", "english"),
    [
        # 29 March 2026, 00:59 UTC: still winter time in Paris (UTC+1).
        (
            datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
            "le 29 mars 2026 à 1 h 59.",
            "on March 29, 2026 at 1:59 AM.",
        ),
        # One minute later the clocks jump to summer time (UTC+2).
        (
            datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
            "le 29 mars 2026 à 3 h 00.",
            "on March 29, 2026 at 3:00 AM.",
        ),
    ],
)
def test_security_mails_say_when_in_the_shop_time_zone(at, french, english):
    """T1: a password change is dated in Paris time, summer time included."""
    fr = _render(MailKind.PASSWORD_CHANGED, "fr", at=at)
    en = _render(MailKind.PASSWORD_CHANGED, "en", at=at)
    assert french in " ".join(fr.text.split())
    assert english in " ".join(en.text.split())


def test_dates_follow_the_shop_time_zone_setting():
    """T1: a shop in Réunion dates its mails in Réunion time (UTC+4)."""
    reunion = Settings(base_url="https://www.lechoppe.fr", timezone="Indian/Reunion")
    mail = _render(
        MailKind.PASSWORD_CHANGED,
        "fr",
        settings=reunion,
        at=datetime(2026, 11, 25, 14, 7, tzinfo=UTC),
    )
    assert "le 25 novembre 2026 à 18 h 07." in " ".join(mail.text.split())


def test_an_unknown_time_zone_is_refused():
    """T1: the time zone is checked when the settings are made."""
    with pytest.raises(ValueError, match="IANA time zone"):
        Settings(base_url="https://www.lechoppe.fr", timezone="Paris")


def test_the_shop_name_and_site_are_in_every_mail():
    """T1: a mail looks like the shop's: its name in the subject, header and footer."""
    shop = Settings(base_url="https://comptoir.example", shop_name="Le Comptoir")
    mail = _render(MailKind.WELCOME, "fr", values={"name": "Zoé"}, settings=shop)
    assert mail.subject == "Bienvenue chez Le Comptoir"
    assert 'href="https://comptoir.example"' in mail.html
    assert "https://comptoir.example" in mail.text


def test_a_missing_link_is_an_error():
    """T1: a mail that needs two links cannot be rendered with one."""
    with pytest.raises(ValueError, match="has 2 links, not 1"):
        mails.render(
            MailKind.RESET_CONFIRM,
            "fr",
            mail_id="m",
            to="a@x.fr",
            created_at=NOW,
            values=VALUES,
            links=LINKS[:1],
        )


def test_a_language_without_catalogue_gets_french():
    """T1: an account language the shop has no catalogue for reads French."""
    assert _render(MailKind.WELCOME, "de").subject == "Bienvenue chez L'Échoppe"


# --- escaping ------------------------------------------------------------------

_HOSTILE = (
    st.lists(
        st.sampled_from(
            [*"<>&\"'/= abcéÉ{}%()", "<script>", "</a>", "&amp;", "{{ x }}", "%(x)s"]
        ),
        min_size=1,
        max_size=12,
    )
    .map("".join)
    .filter(str.strip)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(list(MailKind)),
    language=st.sampled_from(["fr", "en"]),
    name=_HOSTILE,
    email=_HOSTILE,
    shop=_HOSTILE,
)
def test_every_customer_value_is_escaped_in_every_html_mail(
    kind, language, name, email, shop
):
    """T1: names and addresses never add a tag; they show as typed, in both parts."""
    benign = _render(
        kind,
        language,
        values={**VALUES, "name": "Zoé", "new_email": "z@x.fr", "shop": "Shop"},
        to="z@x.fr",
    )
    hostile = _render(
        kind,
        language,
        values={**VALUES, "name": name, "new_email": email, "shop": shop},
        to=email,
    )
    assert tag_structure(hostile.html) == tag_structure(benign.html)
    seen = visible_text(hostile.html)
    for value in (shop,) if kind in NAMELESS else (name, shop):
        assert " ".join(value.split()) in seen


# --- overrides -----------------------------------------------------------------


def _library_mails(language="fr"):
    return {kind: mails.render_sample(kind, language, SHOP) for kind in list(MailKind)}


def test_an_override_changes_one_mail_and_nothing_else(tmp_path):
    """T1: a shop's body.html of the welcome mail replaces that part only."""
    folder = tmp_path / "templates"
    (folder / "mail" / "welcome").mkdir(parents=True)
    (folder / "mail" / "welcome" / "body.html").write_text(
        '{% extends "mail/layout.html" %}{% block content %}'
        "<p>{% trans %}Bienvenue, {{ name }} !{% endtrans %}</p>{% endblock %}",
        encoding="utf-8",
    )
    settings = Settings(
        base_url="https://www.lechoppe.fr",
        shop_name="L'Échoppe",
        templates=folder,
        outbox_key=KEY,
    )
    _wire(settings)
    before = _library_mails()
    for kind in MailKind:
        after = mails.render_sample(kind, "fr", settings)
        assert after.subject == before[kind].subject
        assert after.text == before[kind].text
        if kind is MailKind.WELCOME:
            assert "Bienvenue, Claire Martin !" in after.html
            assert after.html != before[kind].html
        else:
            assert after.html == before[kind].html


def test_the_app_sends_the_overridden_mail(tmp_path, clock):
    """T1: the use cases render with the shop's templates, not only the samples."""
    folder = tmp_path / "templates"
    (folder / "mail" / "welcome").mkdir(parents=True)
    (folder / "mail" / "welcome" / "subject.txt").write_text(
        "Bienvenue dans la famille {{ shop }}", encoding="utf-8"
    )
    mailer = RecordingMailer()
    settings = Settings(
        base_url="https://www.lechoppe.fr",
        shop_name="L'Échoppe",
        templates=folder,
        outbox_key=KEY,
    )
    app = bootstrap(InMemoryStore().unit_of_work, mailer, settings, clock=clock)
    from sample_forms import form  # noqa: PLC0415 (helpers of the tests)

    app.accounts.register(form())
    app.dispatcher.dispatch()
    (welcome,) = mailer.of_kind(MailKind.WELCOME)
    assert welcome.subject == "Bienvenue dans la famille L'Échoppe"


def test_a_shop_adds_its_logo_to_every_html_mail():
    """T1: the header partial, given by a Jinja2 loader, changes every HTML mail."""
    loader = jinja2.DictLoader(
        {
            "mail/header.html": '<img src="https://www.lechoppe.fr/logo.png" '
            'alt="{{ shop }}" width="160">'
        }
    )
    settings = Settings(
        base_url="https://www.lechoppe.fr",
        shop_name="L'Échoppe",
        templates=loader,
        outbox_key=KEY,
    )
    _wire(settings)
    before = _library_mails("en")
    for kind in MailKind:
        mail = mails.render_sample(kind, "en", settings)
        assert '<img src="https://www.lechoppe.fr/logo.png"' in mail.html
        assert 'alt="L&#39;Échoppe"' in mail.html
        assert mail.text == before[kind].text


def test_an_override_missing_a_variable_fails_at_wiring(tmp_path):
    """T1: a template using a value the library does not give stops the start."""
    folder = tmp_path / "templates"
    (folder / "mail" / "reset_confirm").mkdir(parents=True)
    (folder / "mail" / "reset_confirm" / "body.txt").write_text(
        "Bonjour {{ nickname }},\n{{ confirm_link }}\n", encoding="utf-8"
    )
    settings = Settings(
        base_url="https://www.lechoppe.fr",
        shop_name="L'Échoppe",
        templates=folder,
        outbox_key=KEY,
    )
    with pytest.raises(TemplateError) as info:
        _wire(settings)
    assert info.value.templates == ("mail/reset_confirm/body.txt",)
    assert "'nickname' is undefined" in str(info.value)
    assert "line 1" in str(info.value)


def test_an_override_that_does_not_parse_fails_at_wiring(tmp_path):
    """T1: a syntax error in any of the shop's templates, even unused, is found."""
    folder = tmp_path / "templates"
    (folder / "shop").mkdir(parents=True)
    (folder / "shop" / "promo.html").write_text("<p>\n{% if %}</p>", encoding="utf-8")
    (folder / "shop" / "logo.png").write_bytes(b"\x89PNG not a template")
    settings = Settings(
        base_url="https://www.lechoppe.fr",
        shop_name="L'Échoppe",
        templates=folder,
        outbox_key=KEY,
    )
    with pytest.raises(TemplateError) as info:
        _wire(settings)
    assert info.value.templates == ("shop/promo.html",)
    assert "line 2" in str(info.value)


def test_temporary_password_and_links_are_readable_in_the_text_part():
    """R3, T1: the helpers that read mails find the password and the tokens."""
    from sample_forms import links, temporary_password  # noqa: PLC0415

    mail = _render(MailKind.TEMPORARY_PASSWORD, "en")
    assert temporary_password(mail) == "K7QM-4XPR-9TBW-HC3D"
    reset = _render(MailKind.RESET_CONFIRM, "fr")
    assert links(reset) == {"a": "one", "b": "two"}
    assert re.search(r"^    K7QM-4XPR-9TBW-HC3D$", mail.text, re.MULTILINE)
