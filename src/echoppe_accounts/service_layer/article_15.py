"""The information GDPR Art. 15 requires, in every export's language (SPEC G1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from echoppe_accounts.domain.errors import Language
from echoppe_accounts.domain.i18n import gettext_noop, translation

ARTICLE_15: Mapping[str, Any] = {
    "controller": "{shop}",
    "purposes": {
        "account": gettext_noop(
            "Manage your customer account, orders, invoices and deliveries "
            "(contract, GDPR Art. 6.1.b)."
        ),
        "invoicing": gettext_noop(
            "Issue invoices, through Chorus Pro for public bodies "
            "(legal obligation, Art. 6.1.c)."
        ),
        "security": gettext_noop(
            "Protect your account: password, login throttling, audit "
            "trail (legitimate interest, Art. 6.1.f)."
        ),
        "newsletter": gettext_noop(
            "Send the newsletter, only if you subscribed (consent, Art. 6.1.a)."
        ),
        "audience_measurement": gettext_noop(
            "Anonymous audience measurement; you may refuse it (CNIL exemption)."
        ),
    },
    "categories": [
        gettext_noop("Identity"),
        gettext_noop("Contact details"),
        gettext_noop("Customer category and SIRET"),
        gettext_noop("Addresses"),
        gettext_noop("Newsletter consents"),
        gettext_noop("Account events"),
    ],
    "recipients": [
        gettext_noop("The staff and customer service of {shop}"),
        gettext_noop("Carriers (delivery address and contact name only)"),
        gettext_noop("Chorus Pro (invoices of public bodies)"),
        gettext_noop("The mail service that delivers our messages"),
    ],
    "retention": {
        "account": gettext_noop("While the account is open; erased on request."),
        "invoices": gettext_noop(
            "10 years (Code de commerce, L123-22): billing identity, "
            "billing address, SIRET."
        ),
        "audience_measurement": gettext_noop(
            "Identifiers 13 months, raw events 25 months at most."
        ),
        "audit_trail": gettext_noop("Kept with the account, without secrets."),
    },
    "rights": [
        gettext_noop("Access (this export)"),
        gettext_noop("Rectification"),
        gettext_noop("Erasure"),
        gettext_noop("Restriction of processing"),
        gettext_noop("Objection"),
        gettext_noop("Portability (the JSON file of this export)"),
        gettext_noop("Withdrawal of your consent, at any time"),
    ],
    "how_to_exercise": gettext_noop(
        "To exercise these rights, write to our customer service. You may "
        "also lodge a complaint with the CNIL."
    ),
    "source": gettext_noop("You, when you created and used your account."),
    "automated_decisions": gettext_noop(
        "None: no decision about you is taken by automated means alone (GDPR Art. 22)."
    ),
    "supervisory_authority": {
        "name": "CNIL",
        "full_name": "Commission nationale de l’informatique et des libertés",
        "description": gettext_noop("the French data protection authority"),
        "address": "3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07",
        "website": "https://www.cnil.fr",
    },
}
"""The information GDPR Art. 15 requires, in English with ``{shop}`` for the
shop's name; every export holds it in the customer's language
(:func:`article_15`).
"""

ANALYTICS_NOTE = gettext_noop(
    "Audience measurement is anonymous: no event is linked to your account."
)

# Names and codes, not words: they stay as they are in every language.
_UNTRANSLATED = frozenset({"name", "full_name", "address", "website"})


def article_15(language: Language, shop: str) -> dict[str, Any]:
    """Return :data:`ARTICLE_15` in *language*, with the shop's name filled in.

    >>> article_15("fr", "example.org")["rights"][0]
    'Accès (cet export)'

    .. versionadded:: 0.2.0
    """
    texts = translation(language)

    def translated(value: object, key: str = "") -> Any:  # noqa: ANN401
        if isinstance(value, Mapping):
            return {k: translated(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [translated(v) for v in value]
        if not isinstance(value, str) or key in _UNTRANSLATED:
            return value
        return texts.gettext(value).replace("{shop}", shop)

    result: dict[str, Any] = translated(ARTICLE_15)
    return result
