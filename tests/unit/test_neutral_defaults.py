"""The library names no shop of its own unless the shop configures it (SPEC T1).

A shop that sets only its ``base_url`` gets its host as its name, in mails,
on the "Mes données" page and in the sender; "L'Échoppe" appears only where
it is configured (the demo).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from echoppe_accounts import Settings
from echoppe_accounts.domain.mail import MailKind
from echoppe_accounts.entrypoints.cli import main
from echoppe_accounts.service_layer.mails import render_sample
from echoppe_accounts.service_layer.privacy import sample_export

BRAND = ("Échoppe", "lechoppe")
PACKAGE = Path(__file__).resolve().parents[2] / "src" / "echoppe_accounts"


def test_the_name_and_sender_come_from_the_base_url():
    """T1: without a name, the shop is called by its site's host, without www."""
    settings = Settings(base_url="https://www.comptoir.example/boutique")
    assert settings.shop_name == "comptoir.example"
    assert settings.sender == "comptoir.example <noreply@comptoir.example>"
    assert "Échoppe" not in settings.password_policy.shop_name


def test_a_configured_name_names_the_sender_and_the_password_policy():
    """T1, P2: the configured name names the sender and is refused as a password."""
    settings = Settings(base_url="https://comptoir.example", shop_name="Dupont, Fils")
    assert settings.sender == '"Dupont, Fils" <noreply@comptoir.example>'
    assert settings.password_policy.shop_name == "Dupont, Fils"


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("kind", list(MailKind))
def test_no_mail_names_a_shop_it_was_not_given(kind, language):
    """T1: every mail of a shop that set only its URL names that shop alone."""
    settings = Settings(base_url="https://comptoir.example")
    mail = render_sample(kind, language, settings)
    for text in (mail.subject, mail.text, mail.html):
        assert not any(word in text for word in BRAND), (kind, language)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_personal_data_page_names_no_other_shop(language):
    """G1, T2: the "Mes données" page and its JSON name the configured shop."""
    settings = Settings(base_url="https://comptoir.example")
    export = sample_export(language, settings)
    for text in (export.as_html(), export.as_json()):
        assert not any(word in text for word in BRAND)
        assert "comptoir.example" in text


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_command_line_help_names_no_shop(lang, capsys):
    """O4: the command's description is the shop's, not L'Échoppe's."""
    with pytest.raises(SystemExit):
        main(["--lang", lang, "--help"])
    assert not any(word in capsys.readouterr().out for word in BRAND)


def test_no_template_or_catalogue_message_names_the_brand():
    """T1: the shipped texts (templates, catalogue messages) name no shop."""
    texts = [*PACKAGE.glob("templates/**/*.html"), *PACKAGE.glob("templates/**/*.txt")]
    for path in texts:
        assert not any(word in path.read_text(encoding="utf-8") for word in BRAND)
    po = (PACKAGE / "locale" / "fr" / "LC_MESSAGES" / "messages.po").read_text(
        encoding="utf-8"
    )
    messages = po.partition("\n\n")[2]  # after the header (authors, team)
    assert not any(word in messages for word in BRAND)
