"""Every mail exists in French and English, as text and HTML (issue 3, item 7)."""

from __future__ import annotations

import pytest

from builders import NOW
from echoppe_accounts import MailKind
from echoppe_accounts.service_layer import mails

VALUES = {
    "shop": "L'Échoppe",
    "name": "<script>alert(1)</script> Zoé",
    "hours": 24,
    "temporary": "K7QM-4XPR-9TBW-HC3D",
    "new_email": "nouvelle@exemple.fr",
}
LINKS = ("https://www.lechoppe.fr/a?jeton=one", "https://www.lechoppe.fr/b?jeton=two")


@pytest.mark.parametrize("kind", list(MailKind))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_mail_renders_in_both_languages(kind, language):
    """Each kind has a subject, a text and an HTML body, values escaped in HTML."""
    mail = mails.render(
        kind,
        language,
        mail_id="m",
        to="a@exemple.fr",
        created_at=NOW,
        values=VALUES,
        links=LINKS[: _links(kind)],
    )
    assert mail.subject
    assert mail.text.endswith("— L'Échoppe\n")
    assert mail.html.startswith(f'<!DOCTYPE html>\n<html lang="{language}">')
    assert "<script>" not in mail.html
    for link in LINKS[: _links(kind)]:
        assert link in mail.text
        assert f'href="{link}"' in mail.html


def _links(kind: MailKind) -> int:
    return {
        MailKind.SET_PASSWORD: 1,
        MailKind.RESET_CONFIRM: 2,
        MailKind.NEWSLETTER_CONFIRM: 1,
    }.get(kind, 0)


def test_french_and_english_differ():
    """The English mail is a translation, not the French one again."""
    for kind in MailKind:
        fr = mails.render(
            kind,
            "fr",
            mail_id="m",
            to="a@x.fr",
            created_at=NOW,
            values=VALUES,
            links=LINKS[: _links(kind)],
        )
        en = mails.render(
            kind,
            "en",
            mail_id="m",
            to="a@x.fr",
            created_at=NOW,
            values=VALUES,
            links=LINKS[: _links(kind)],
        )
        assert fr.subject != en.subject
        assert fr.text != en.text


def test_a_missing_link_is_an_error():
    """A mail that needs a link cannot be rendered without it."""
    with pytest.raises(ValueError, match="shorter"):
        mails.render(
            MailKind.RESET_CONFIRM,
            "fr",
            mail_id="m",
            to="a@x.fr",
            created_at=NOW,
            values=VALUES,
            links=LINKS[:1],
        )
