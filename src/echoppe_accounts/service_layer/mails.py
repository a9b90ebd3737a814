"""The texts of the mails the library sends, in French (default) and English.

Each mail has a plain-text and an HTML body built from the same template;
values are HTML-escaped in the HTML body.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from echoppe_accounts.domain.errors import Language
from echoppe_accounts.domain.mail import MailKind, OutgoingMail


@attrs.frozen
class _Template:
    subject: str
    paragraphs: tuple[str, ...]
    link_labels: tuple[str, ...] = ()
    """Labels of the links, shown after the second paragraph, in order."""


_SIGN_OFF_FR = (
    "Si vous n’êtes pas à l’origine de cette demande, contactez notre service clients."
)
_SIGN_OFF_EN = "If you did not ask for this, please contact our customer service."

_TEMPLATES: Mapping[tuple[MailKind, Language], _Template] = {
    (MailKind.WELCOME, "fr"): _Template(
        "Bienvenue chez {shop}",
        (
            "Bonjour {name},",
            (
                "Votre compte client {shop} est prêt. Vous pouvez suivre vos "
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
                "Your {shop} customer account is ready. You can follow your "
                "orders from your account."
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
        ("Choisir mon mot de passe",),
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
        ("Choose my password",),
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
    (MailKind.RESET_CONFIRM, "fr"): _Template(
        "Confirmez la réinitialisation de votre mot de passe",
        (
            "Bonjour {name},",
            (
                "Vous avez demandé à réinitialiser votre mot de passe {shop}. "
                "Confirmez-le avec le premier lien : vous recevrez alors un second "
                "e-mail avec un mot de passe temporaire. Ce lien est valable une "
                "heure et utilisable une seule fois."
            ),
            (
                "Si vous n’avez rien demandé, cliquez sur « Ce n’était pas moi » : "
                "votre mot de passe actuel reste valable."
            ),
        ),
        ("Confirmer la demande", "Ce n’était pas moi"),
    ),
    (MailKind.RESET_CONFIRM, "en"): _Template(
        "Confirm your password reset",
        (
            "Hello {name},",
            (
                "You asked to reset your {shop} password. Confirm with the first "
                "link: a second email will bring you a temporary password. The "
                "link is valid for one hour and can be used once."
            ),
            (
                "If you did not ask for anything, click “This was not me”: your "
                "current password stays valid."
            ),
        ),
        ("Confirm the request", "This was not me"),
    ),
    (MailKind.RESET_UNKNOWN_EMAIL, "fr"): _Template(
        "Demande de réinitialisation de mot de passe",
        (
            "Bonjour,",
            (
                "Quelqu’un a demandé à réinitialiser le mot de passe du compte "
                "{shop} associé à cette adresse e-mail, mais aucun compte ne "
                "l’utilise. Vous avez peut-être créé votre compte avec une autre "
                "adresse."
            ),
            "Si vous n’êtes pas à l’origine de cette demande, ignorez ce message.",
        ),
    ),
    (MailKind.RESET_UNKNOWN_EMAIL, "en"): _Template(
        "Password reset request",
        (
            "Hello,",
            (
                "Someone asked to reset the password of the {shop} account of this "
                "email address, but no account uses it. You may have signed up "
                "with another address."
            ),
            "If you did not ask for this, ignore this message.",
        ),
    ),
    (MailKind.TEMPORARY_PASSWORD, "fr"): _Template(
        "Votre mot de passe temporaire",
        (
            "Bonjour {name},",
            "Voici votre mot de passe temporaire : {temporary}",
            (
                "Il est valable {hours} heures et ne sert qu’une fois : à la "
                "connexion, vous choisirez aussitôt votre nouveau mot de passe."
            ),
            _SIGN_OFF_FR,
        ),
    ),
    (MailKind.TEMPORARY_PASSWORD, "en"): _Template(
        "Your temporary password",
        (
            "Hello {name},",
            "Here is your temporary password: {temporary}",
            (
                "It is valid for {hours} hours and works once: when you log in "
                "with it, you will choose your new password straight away."
            ),
            _SIGN_OFF_EN,
        ),
    ),
    (MailKind.PROVISIONAL_PASSWORD_NOTICE, "fr"): _Template(
        "Un mot de passe provisoire vous a été communiqué",
        (
            "Bonjour {name},",
            (
                "Notre service clients vient de vous communiquer un mot de passe "
                "provisoire, valable une heure. Toute demande de réinitialisation "
                "en cours est annulée ; à la connexion, vous choisirez votre "
                "nouveau mot de passe."
            ),
            _SIGN_OFF_FR,
        ),
    ),
    (MailKind.PROVISIONAL_PASSWORD_NOTICE, "en"): _Template(
        "A provisional password was given to you",
        (
            "Hello {name},",
            (
                "Our customer service just gave you a provisional password, valid "
                "for one hour. Any pending reset is cancelled; when you log in, "
                "you will choose your new password."
            ),
            _SIGN_OFF_EN,
        ),
    ),
    (MailKind.PASSWORD_CHANGED, "fr"): _Template(
        "Votre mot de passe a été modifié",
        (
            "Bonjour {name},",
            "Le mot de passe de votre compte {shop} vient d’être modifié.",
            _SIGN_OFF_FR,
        ),
    ),
    (MailKind.PASSWORD_CHANGED, "en"): _Template(
        "Your password was changed",
        (
            "Hello {name},",
            "The password of your {shop} account was just changed.",
            _SIGN_OFF_EN,
        ),
    ),
    (MailKind.NEWSLETTER_CONFIRM, "fr"): _Template(
        "Confirmez votre abonnement à la newsletter {shop}",
        (
            "Bonjour {name},",
            (
                "Pour recevoir notre newsletter, confirmez votre abonnement avec le "
                "lien ci-dessous. Vous pourrez vous désabonner à tout moment."
            ),
            (
                "Si vous n’avez rien demandé, ignorez ce message : vous ne serez "
                "pas abonné."
            ),
        ),
        ("Confirmer mon abonnement",),
    ),
    (MailKind.NEWSLETTER_CONFIRM, "en"): _Template(
        "Confirm your subscription to the {shop} newsletter",
        (
            "Hello {name},",
            (
                "To receive our newsletter, confirm your subscription with the link "
                "below. You can unsubscribe at any time."
            ),
            (
                "If you did not ask for it, ignore this message: you will not be "
                "subscribed."
            ),
        ),
        ("Confirm my subscription",),
    ),
    (MailKind.EMAIL_CHANGED, "fr"): _Template(
        "Votre adresse e-mail a été modifiée",
        (
            "Bonjour {name},",
            (
                "L’adresse e-mail de votre compte {shop} vient d’être remplacée par "
                "{new_email}. Ce message est envoyé à votre ancienne adresse."
            ),
            _SIGN_OFF_FR,
        ),
    ),
    (MailKind.EMAIL_CHANGED, "en"): _Template(
        "Your email address was changed",
        (
            "Hello {name},",
            (
                "The email address of your {shop} account was just replaced by "
                "{new_email}. This message goes to your former address."
            ),
            _SIGN_OFF_EN,
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
    links: Sequence[str] = (),
) -> OutgoingMail:
    """Return the mail *kind* in *language*, filled with *values* and *links*."""
    template = _TEMPLATES[kind, language]
    paragraphs = [p.format_map(values) for p in template.paragraphs]
    text_parts = list(paragraphs)
    html_parts = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    colon = " :" if language == "fr" else ":"  # French puts a space before
    for offset, (label, link) in enumerate(
        zip(template.link_labels, links, strict=True)
    ):
        href = html.escape(link, quote=True)
        text_parts.insert(2 + offset, f"{label}{colon} {link}")
        html_parts.insert(
            2 + offset, f'<p><a href="{href}">{html.escape(label)}</a></p>'
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
