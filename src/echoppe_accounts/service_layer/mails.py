"""The texts of the mails the library sends, in French (default) and English.

Each mail has a plain-text and an HTML body built from the same template;
values are HTML-escaped in the HTML body.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime

import attrs

from echoppe_accounts.domain.errors import Language
from echoppe_accounts.domain.mail import MailKind, OutgoingMail


@attrs.frozen
class _Template:
    subject: str
    paragraphs: tuple[str, ...]
    link_label: str | None = None


_TEMPLATES: Mapping[tuple[MailKind, Language], _Template] = {
    (MailKind.WELCOME, "fr"): _Template(
        "Bienvenue chez {shop}",
        (
            "Bonjour {name},",
            (
                "Votre compte client {shop} est créé. Vous pouvez suivre vos "
                "commandes depuis votre espace client."
            ),
            (
                "Si vous n’êtes pas à l’origine de cette inscription, répondez "
                "simplement à ce message."
            ),
        ),
    ),
    (MailKind.WELCOME, "en"): _Template(
        "Welcome to {shop}",
        (
            "Hello {name},",
            (
                "Your {shop} customer account has been created. You can follow "
                "your orders from your account."
            ),
            "If you did not sign up, simply reply to this message.",
        ),
    ),
    (MailKind.SET_PASSWORD, "fr"): _Template(
        "Finalisez votre compte {shop}",
        (
            "Bonjour {name},",
            (
                "Votre compte a été créé lors de votre commande. Pour suivre vos "
                "commandes et retrouver vos adresses, choisissez votre mot de "
                "passe avec le lien ci-dessous, valable {hours} heures et "
                "utilisable une seule fois."
            ),
            "Si vous n’avez rien commandé chez {shop}, ignorez ce message.",
        ),
        "Choisir mon mot de passe",
    ),
    (MailKind.SET_PASSWORD, "en"): _Template(
        "Complete your {shop} account",
        (
            "Hello {name},",
            (
                "Your account was created with your order. To follow your orders "
                "and find your addresses, choose your password with the link "
                "below; it is valid for {hours} hours and can be used once."
            ),
            "If you did not order from {shop}, ignore this message.",
        ),
        "Choose my password",
    ),
    (MailKind.EXISTING_ACCOUNT_CHECKOUT, "fr"): _Template(
        "Une commande a été passée avec votre adresse e-mail",
        (
            "Bonjour,",
            (
                "Une commande vient d’être passée chez {shop} avec votre adresse "
                "e-mail, qui a déjà un compte client. Elle est rattachée à ce "
                "compte ; son historique reste visible une fois connecté."
            ),
            (
                "Si vous n’êtes pas à l’origine de cette commande, contactez notre "
                "service clients."
            ),
        ),
    ),
    (MailKind.EXISTING_ACCOUNT_CHECKOUT, "en"): _Template(
        "An order was placed with your email address",
        (
            "Hello,",
            (
                "An order was just placed at {shop} with your email address, which "
                "already has a customer account. It is attached to that account; "
                "its history is shown once you log in."
            ),
            "If you did not place this order, please contact customer service.",
        ),
    ),
}


def render(
    kind: MailKind,
    language: Language,
    *,
    mail_id: str,
    to: str,
    created_at: datetime,
    values: Mapping[str, object],
    link: str | None = None,
) -> OutgoingMail:
    """Return the mail *kind* in *language*, filled with *values*."""
    template = _TEMPLATES[kind, language]
    paragraphs = [p.format_map(values) for p in template.paragraphs]
    text_parts = list(paragraphs)
    html_parts = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    if link is not None and template.link_label is not None:
        colon = " :" if language == "fr" else ":"  # French puts a space before
        text_parts.insert(2, f"{template.link_label}{colon} {link}")
        html_parts.insert(
            2,
            f'<p><a href="{html.escape(link, quote=True)}">'
            f"{html.escape(template.link_label)}</a></p>",
        )
    signature = f"— {values['shop']}"
    text = "\n\n".join([*text_parts, signature]) + "\n"
    body = "\n".join(html_parts)
    markup = (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        f"</head><body>\n{body}\n<p>{html.escape(signature)}</p>\n</body></html>\n"
    )
    return OutgoingMail(
        id=mail_id,
        kind=kind,
        to=to,
        subject=template.subject.format_map(values),
        text=text,
        html=markup,
        created_at=created_at,
    )
