"""Builders of valid domain objects for tests that need one, not a form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from echoppe_accounts import (
    Account,
    AccountStatus,
    AddressBook,
    Category,
    ChorusPro,
    ChorusRequirement,
    DeliveryAddress,
    Email,
    MailKind,
    Organisation,
    OutgoingMail,
    Phone,
    PostalAddress,
    Siret,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARIS = PostalAddress(("12 rue des Lilas",), "75011", "Paris", "FR")
LYON = PostalAddress(("3 place Bellecour", "Bâtiment B"), "69002", "Lyon", "FR")


def new_id() -> str:
    """Return a fresh account or item id."""
    return str(uuid.uuid4())


def account(
    email: str = "claire.martin@exemple.fr",
    *,
    category: Category = Category.PUBLIC_BODY,
    status: AccountStatus = AccountStatus.ACTIVE,
    proven: bool = True,
) -> Account:
    """Return a valid account with every optional part filled in.

    *proven*: whether its mailbox is proven (SPEC F7, F10).
    """
    org = None
    if category.needs_organisation:
        chorus = None
        if category is Category.PUBLIC_BODY:
            chorus = ChorusPro(ChorusRequirement.BOTH, "SERV-01", "EJ-2026-42")
        org = Organisation("Mairie de Lyon", Siret("21690123100011"), chorus)
    parsed = Email.parse(email)
    return Account(
        id=new_id(),
        email=parsed,
        name="Claire Martin",
        category=category,
        addresses=AddressBook(
            PARIS,
            [
                DeliveryAddress(new_id(), "Accueil Mairie", LYON, "Bureau"),
                DeliveryAddress(new_id(), "Jean Dupont", PARIS),
            ],
        ),
        created_at=NOW,
        status=status,
        phone=Phone("+33612345678", "FR"),
        organisation=org,
        password_hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
        language="fr",
        email_proven_at=NOW if proven else None,
    )


def mail(to: str = "claire.martin@exemple.fr", at: datetime = NOW) -> OutgoingMail:
    """Return an outgoing mail."""
    return OutgoingMail(
        id=new_id(),
        kind=MailKind.WELCOME,
        to=to,
        subject="Bienvenue",
        text="Bonjour",
        html="<p>Bonjour</p>",
        created_at=at,
    )
