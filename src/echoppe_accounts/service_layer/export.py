"""The "Mes données" export: its data, its page and a sample (SPEC G1, G2, T2).

The export holds everything the library keeps about one customer, plus the
information GDPR Art. 15 requires, as schema-versioned JSON (Art. 20) and as
an HTML page written for the customer. It never holds a password hash, a
token digest, a temporary password or another customer's data (G2).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from echoppe_accounts.domain.account import Account, AccountStatus
from echoppe_accounts.domain.address import PostalAddress
from echoppe_accounts.domain.addressbook import AddressBook, DeliveryAddress
from echoppe_accounts.domain.audit import AuditEvent, AuditRecord
from echoppe_accounts.domain.category import (
    Category,
    ChorusPro,
    ChorusRequirement,
    Organisation,
)
from echoppe_accounts.domain.consent import (
    ConsentRecord,
    ConsentSource,
    PendingSubscription,
)
from echoppe_accounts.domain.email import Email
from echoppe_accounts.domain.errors import Language
from echoppe_accounts.domain.i18n import (
    DEFAULT_TIMEZONE,
    catalogues,
    translation,
)
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.domain.siret import Siret
from echoppe_accounts.service_layer.article_15 import (
    ANALYTICS_NOTE,
    article_15,
)
from echoppe_accounts.service_layer.settings import SAMPLE_SHOP_NAME, Settings
from echoppe_accounts.service_layer.templating import templates_for

SCHEMA_VERSION = "1.2"
"""Version of the export's JSON layout; a change of layout changes it.

1.2: ``account.to_complete``; ``addresses`` may be ``null`` and
``organisation.siret`` too (an imported account to complete, SPEC M1);
``organisation.ape``.
"""

EXPORT_PAGE = "privacy/export.html"
"""The template of the "Mes données" page."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _actor(actor: str) -> str:
    # An agent's id is the agent's personal data, not the customer's.
    return "customer service" if actor.startswith("agent:") else actor


@attrs.frozen
class PersonalDataExport:
    """Everything held about one customer (SPEC G1), ready to hand over.

    Attributes:
        data: The export as plain JSON-ready data.
        settings: The shop's settings: its templates, name, site and time
            zone, for :meth:`as_html`. ``None``: the library's templates,
            Paris time.

    .. versionadded:: 0.2.0
    """

    data: Mapping[str, Any]
    settings: Settings | None = attrs.field(
        default=None, kw_only=True, eq=False, repr=False
    )

    @property
    def language(self) -> Language:
        """The language of the export's texts, the customer's.

        .. versionadded:: 0.2.0
        """
        language = self.data.get("language") or self.data["account"]["language"]
        return catalogues().resolve(str(language))

    def as_json(self) -> str:
        """Return the machine-readable export (GDPR Art. 20)."""
        return json.dumps(self.data, ensure_ascii=False, indent=2, sort_keys=True)

    def as_html(self) -> str:
        """Return the "Mes données" page: a self-contained HTML page for the customer.

        In the customer's language, with dates in the shop's time zone; no
        script and nothing loaded from elsewhere, readable on a phone and
        printable (SPEC T2).

        Raises:
            TemplateError: The shop's template of the page cannot render.
        """
        settings = self.settings
        context = {
            "export": self.data,
            "shop": settings.shop_name if settings else SAMPLE_SHOP_NAME,
            "base_url": settings.base_url if settings else "",
            "language": self.language,
            "timezone": settings.timezone if settings else DEFAULT_TIMEZONE,
        }
        templates = templates_for(settings.templates if settings else None)
        return templates.render(EXPORT_PAGE, context)


def export_data(
    account: Account,
    events: list[AuditRecord],
    now: datetime,
    *,
    shop: str = SAMPLE_SHOP_NAME,
) -> dict[str, Any]:
    """Return the export of *account* with its *events*, as JSON-ready data (G1)."""
    language = catalogues().resolve(account.language)
    org = account.organisation
    chorus = org.chorus if org else None
    pending = account.pending_subscription
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.isoformat(),
        "language": language,
        "account": {
            "id": account.id,
            "email": account.email.address,
            "name": account.name,
            "category": account.category.value,
            "status": account.status.value,
            "phone": account.phone.e164 if account.phone else None,
            "phone_region": account.phone.region if account.phone else None,
            "language": account.language,
            "created_at": _iso(account.created_at),
            "email_proven_at": _iso(account.email_proven_at),
            "erased_at": _iso(account.erased_at),
            "pending_email": (
                account.pending_email.address if account.pending_email else None
            ),
            "pending_email_at": _iso(account.pending_email_at),
            "former_email": (
                account.former_email.address if account.former_email else None
            ),
            "former_email_until": _iso(account.former_email_until),
            "has_password": account.password_hash is not None,
            "to_complete": sorted(m.value for m in account.missing),
        },
        "organisation": None
        if org is None
        else {
            "name": org.name,
            "siret": org.siret.formatted if org.siret is not None else None,
            "siren": org.siren,
            "vat_number": org.vat_number,
            "ape": org.ape.code if org.ape is not None else None,
            "chorus": None
            if chorus is None
            else {
                "requirement": chorus.requirement.value,
                "service_code": chorus.service_code,
                "engagement_number": chorus.engagement_number,
            },
        },
        "addresses": _addresses(account.addresses),
        "newsletter": {
            "subscribed": account.subscribed,
            "history": [
                {
                    "subscribed": c.subscribed,
                    "at": _iso(c.at),
                    "source": c.source.value,
                    "wording_version": c.wording_version,
                    "confirmed_at": _iso(c.confirmed_at),
                }
                for c in account.newsletter
            ],
            "pending": None
            if pending is None
            else {
                "at": _iso(pending.at),
                "source": pending.source.value,
                "wording_version": pending.wording_version,
            },
        },
        "analytics": {
            "opted_out": account.analytics_opt_out,
            "note": translation(language).gettext(ANALYTICS_NOTE),
        },
        "events": [
            {
                "at": _iso(e.at),
                "event": e.event.value,
                "actor": _actor(e.actor),
                "details": dict(e.details),
            }
            for e in events
        ],
        "information": article_15(language, shop),
    }


def _addresses(book: AddressBook | None) -> dict[str, Any] | None:
    if book is None:  # an imported account to complete (SPEC M1)
        return None
    billing = book.billing
    return {
        "billing": {
            "street_lines": list(billing.street_lines),
            "postal_code": billing.postal_code,
            "city": billing.city,
            "country": billing.country,
        },
        "deliveries": [
            {
                "id": d.id,
                "label": d.label,
                "contact_name": d.contact_name,
                "street_lines": list(d.address.street_lines),
                "postal_code": d.address.postal_code,
                "city": d.address.city,
                "country": d.address.country,
            }
            for d in book.deliveries
        ],
    }


_SAMPLE_AT = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def _sample_account(language: Language) -> tuple[Account, list[AuditRecord]]:
    """Return an account with every part filled in, and one event of each kind."""
    at = _SAMPLE_AT
    billing = PostalAddress(
        ("Hôtel de ville", "1 place de la Comédie"), "69001", "Lyon"
    )
    brussels = PostalAddress(("Rue de la Loi 16",), "1000", "Bruxelles", "BE")
    account = Account(
        id="00000000-0000-4000-8000-000000000000",
        email=Email.parse("claire.martin@exemple.fr"),
        name="Claire Martin",
        category=Category.PUBLIC_BODY,
        addresses=AddressBook(
            billing,
            [
                DeliveryAddress("d1", "Accueil services techniques", billing, "Mairie"),
                DeliveryAddress("d2", "Claire Martin", brussels),
            ],
        ),
        created_at=at,
        status=AccountStatus.ACTIVE,
        phone=Phone("+33612345678", "FR"),
        organisation=Organisation(
            "Mairie de Lyon",
            Siret("21690123100011"),
            ChorusPro(ChorusRequirement.BOTH, "SERV-01", "EJ-2026-42"),
        ),
        password_hash="sample",  # noqa: S106 (not a hash; only its presence shows)
        language=language,
        newsletter=[
            ConsentRecord(
                subscribed=True,
                at=at,
                source=ConsentSource.SIGNUP_FORM,
                wording_version="nl-1",
                confirmed_at=at,
            ),
            ConsentRecord(
                subscribed=False,
                at=at + timedelta(days=30),
                source=ConsentSource.ACCOUNT_PAGE,
            ),
        ],
        email_proven_at=at,
        analytics_opt_out=True,
        pending_subscription=PendingSubscription(
            at + timedelta(days=200), ConsentSource.ACCOUNT_PAGE, "nl-2"
        ),
    )
    details: Mapping[AuditEvent, Mapping[str, str]] = {
        AuditEvent.LOGIN_SUCCEEDED: {"restricted": "yes"},
        AuditEvent.PROVISIONAL_PASSWORD_ISSUED: {"reason": "appel du 12 mars"},
    }
    events = [
        AuditRecord(
            f"e{n}",
            at + timedelta(days=n),
            event,
            account.id,
            "agent:7"
            if event is AuditEvent.PROVISIONAL_PASSWORD_ISSUED
            else "customer",
            details.get(event, {}),
        )
        for n, event in enumerate(AuditEvent)
    ]
    return account, events


def sample_export(
    language: Language, settings: Settings | None = None
) -> PersonalDataExport:
    """Return the export of a made-up customer with every section filled in.

    What :func:`~echoppe_accounts.bootstrap` renders the "Mes données"
    template with, in every language, and what a shop can look at while
    writing its own page.

    .. versionadded:: 0.2.0
    """
    account, events = _sample_account(language)
    shop = settings.shop_name if settings is not None else SAMPLE_SHOP_NAME
    data = export_data(account, events, _SAMPLE_AT + timedelta(days=240), shop=shop)
    return PersonalDataExport(data, settings=settings)
