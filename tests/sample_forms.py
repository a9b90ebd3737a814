"""Valid forms, and helpers to read what the service queued, for service tests."""

from __future__ import annotations

import re
from datetime import timedelta

from echoppe_accounts import (
    AddressForm,
    Category,
    DeliveryForm,
    ExpressForm,
    RegistrationForm,
)
from echoppe_accounts.domain.sealing import unseal_mail
from echoppe_accounts.service_layer.outbox import outbox_key

PARIS = AddressForm(["12 rue des Lilas"], "75011", "Paris")
LYON = AddressForm(["3 place Bellecour"], "69002", "Lyon")
REUNION = AddressForm(["5 rue de Paris"], "97400", "Saint-Denis")

ORGANISATIONS = {
    Category.INDIVIDUAL: {},
    Category.PROFESSIONAL: {
        "organisation_name": "Cabinet Martin",
        "siret": "732 829 320 00074",
    },
    Category.COMPANY: {"organisation_name": "Exemple SA", "siret": "732.829.320.00074"},
    Category.PUBLIC_BODY: {
        "organisation_name": "Mairie de Lyon",
        "siret": "21690123100011",
        "chorus_requirement": "either",
        "chorus_engagement_number": "EJ-2026-42",
    },
}


def form(category=Category.INDIVIDUAL, email="jean.dupont@exemple.fr", **overrides):
    """Return a valid registration form for *category*."""
    fields = {
        "category": category.value,
        "email": email,
        "phone": "06 12 34 56 78",
        "name": "Jean Dupont",
        "password": "une phrase de passe solide",
        "billing_address": PARIS,
        "delivery_addresses": [DeliveryForm("Marie Curie", LYON, "Bureau")],
        **ORGANISATIONS[category],
    }
    fields.update(overrides)
    return RegistrationForm(**fields)


def link_token(mail) -> str:
    """Return the token of the set-password link in *mail*."""
    match = re.search(r"jeton=([A-Za-z0-9_-]+)", mail.text)
    assert match, mail.text
    return match.group(1)


def pending(service):
    """Return the mails queued in the outbox, oldest first, their bodies unsealed.

    The outbox holds the bodies sealed (SPEC O2); they are opened with the
    key of the service's settings, as the dispatcher does.
    """
    with service.uow() as tx:
        mails = tx.outbox.due(service.clock.now() + timedelta(days=365), 1000)
    key = outbox_key(service.settings.outbox_key)
    return [unseal_mail(m, key) for m in mails]


def express(email="client@exemple.fr", contact="Paul Client", address=REUNION):
    """Return an express checkout form."""
    return ExpressForm(email, DeliveryForm(contact, address))


TEMPORARY = re.compile(r"\b[2-9A-Z]{4}(?:-[2-9A-Z]{4}){3}\b")


def links(mail) -> dict[str, str]:
    """Return the tokens of the links in *mail*, by the last word of their path."""
    found = re.findall(r"/([a-z-]+)\?jeton=([A-Za-z0-9_-]+)", mail.text)
    return dict(found)


def temporary_password(mail) -> str:
    """Return the temporary password written in *mail*."""
    match = TEMPORARY.search(mail.text)
    assert match, mail.text
    return match.group(0)
