"""Personal data: "Mes données", erasure, opt-outs, double opt-in (SPEC G, F7, N3).

The export holds everything the library keeps about one customer, plus the
information GDPR Art. 15 requires, as schema-versioned JSON (Art. 20) and as
an HTML page written for the customer (SPEC T2): sections in words, dates
in the customer's language and the shop's time zone, the Art. 15
information in the customer's language, readable on a phone and printable.
The page is the template ``privacy/export.html``, which a shop can replace.
The export never holds a password hash, a token digest, a temporary
password or another customer's data (G2). :data:`STORED_FIELDS`
says, for every stored column, where it goes in the export or why it is
left out; a test checks it against every storage adapter's schema, so the
export cannot silently fall behind.
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
    gettext_noop,
    translation,
)
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.domain.siret import Siret
from echoppe_accounts.ports import (
    Clock,
    PasswordHasher,
    SecretSource,
    UnitOfWorkFactory,
)
from echoppe_accounts.service_layer import consent, erasure
from echoppe_accounts.service_layer._ports import Ports, audit, open_account
from echoppe_accounts.service_layer.settings import Settings
from echoppe_accounts.service_layer.templating import templates_for

SCHEMA_VERSION = "1.1"
"""Version of the export's JSON layout; a change of layout changes it.

.. versionchanged:: 0.2.0
   ``1.1``: ``language`` says the language of the texts, and the Art. 15
   information and notes are in it.
"""

EXPORT_PAGE = "privacy/export.html"
"""The template of the "Mes données" page."""

_SECRET = "excluded: a secret (SPEC G2)"  # noqa: S105 (a reason, not a secret)
_TECHNICAL = "excluded: technical bookkeeping, no information about the person"
_DERIVED = "excluded: derived from an exported field"

STORED_FIELDS: Mapping[str, Mapping[str, str]] = {
    "accounts": {
        "id": "account.id",
        "email": "account.email",
        "email_key": _DERIVED + " (the lower-cased email used for look-ups)",
        "name": "account.name",
        "category": "account.category",
        "status": "account.status",
        "phone": "account.phone",
        "phone_region": "account.phone_region",
        "organisation_name": "organisation.name",
        "siret": "organisation.siret",
        "chorus_requirement": "organisation.chorus.requirement",
        "chorus_service_code": "organisation.chorus.service_code",
        "chorus_engagement_number": "organisation.chorus.engagement_number",
        "billing_street_lines": "addresses.billing.street_lines",
        "billing_postal_code": "addresses.billing.postal_code",
        "billing_city": "addresses.billing.city",
        "billing_country": "addresses.billing.country",
        "password_hash": _SECRET,
        "language": "account.language",
        "created_at": "account.created_at",
        "email_proven_at": "account.email_proven_at",
        "analytics_opt_out": "analytics.opted_out",
        "pending_subscription_at": "newsletter.pending.at",
        "pending_subscription_source": "newsletter.pending.source",
        "pending_subscription_wording": "newsletter.pending.wording_version",
        "erased_at": "account.erased_at",
        "session_stamp": _TECHNICAL + " (changes when sessions must end)",
        "pending_email": "account.pending_email",
        "pending_email_key": _DERIVED + " (the look-up key of the pending email)",
        "pending_email_at": "account.pending_email_at",
        "former_email": "account.former_email",
        "former_email_key": _DERIVED + " (the look-up key of the former email)",
        "former_email_until": "account.former_email_until",
        "version": _TECHNICAL,
    },
    "delivery_addresses": {
        "account_id": _DERIVED + " (the account itself)",
        "position": "addresses.deliveries (their order)",
        "id": "addresses.deliveries[].id",
        "contact_name": "addresses.deliveries[].contact_name",
        "label": "addresses.deliveries[].label",
        "street_lines": "addresses.deliveries[].street_lines",
        "postal_code": "addresses.deliveries[].postal_code",
        "city": "addresses.deliveries[].city",
        "country": "addresses.deliveries[].country",
    },
    "newsletter_consents": {
        "account_id": _DERIVED + " (the account itself)",
        "position": "newsletter.history (its order)",
        "subscribed": "newsletter.history[].subscribed",
        "at": "newsletter.history[].at",
        "source": "newsletter.history[].source",
        "wording_version": "newsletter.history[].wording_version",
        "confirmed_at": "newsletter.history[].confirmed_at",
    },
    "audit_log": {
        "seq": _TECHNICAL,
        "id": _TECHNICAL,
        "at": "events[].at",
        "event": "events[].event",
        "account_id": _DERIVED + " (the account itself)",
        "actor": "events[].actor (agents as 'customer service', not by name)",
        "details": "events[].details",
    },
    "tokens": dict.fromkeys(
        (
            "digest",
            "account_id",
            "purpose",
            "created_at",
            "expires_at",
            "used_at",
            "revoked_at",
            "request_id",
        ),
        "excluded: one-time links, stored as digests (a secret, SPEC G2); their "
        "use appears in events",
    ),
    "reset_requests": dict.fromkeys(
        (
            "id",
            "requester_key",
            "account_id",
            "origin",
            "state",
            "requested_at",
            "link_expires_at",
            "confirm_digest",
            "cancel_digest",
            "temporary_hash",
            "temporary_expires_at",
            "temporary_used_at",
            "closed_at",
            "version",
            "seq",
        ),
        "excluded: reset links and temporary passwords, stored as digests (a "
        "secret, SPEC G2); each step appears in events",
    ),
    "login_throttles": dict.fromkeys(
        ("key", "failures", "last_failure_at"),
        "excluded: a security counter keyed by a digest of the email, not by "
        "account, reset on success; failed logins appear in events",
    ),
    "outbox": dict.fromkeys(
        (
            "id",
            "kind",
            "recipient",
            "subject",
            "body_text",
            "body_html",
            "created_at",
            "due_at",
            "attempts",
            "sent_at",
            "last_error",
            "claimed_until",
            "seq",
            "account_id",
            "recipient_key",
            "claim_id",
            "expires_at",
            "requeued_at",
            "dead_at",
            "dropped_at",
        ),
        "excluded: the transient mail queue; bodies may hold links (a secret, "
        "SPEC G2), sealed (SPEC O2) and wiped once sent",
    ),
    "analytics_events": dict.fromkeys(
        (
            "id",
            "at",
            "purpose",
            "path",
            "referrer_host",
            "browser",
            "browser_major",
            "device",
            "visitor_id",
            "ip",
            "duration_ms",
        ),
        "excluded: anonymous, linked to no account (SPEC N2)",
    ),
    "account_events": dict.fromkeys(
        ("seq", "id", "type", "account_id", "at", "data", "tx"),
        "excluded: notices to the shop's own systems that an account changed, "
        "holding no personal data; each change appears in events",
    ),
    "event_positions": dict.fromkeys(("handler", "position"), _TECHNICAL),
    "schema_migrations": dict.fromkeys(("version", "applied_at", "name"), _TECHNICAL),
}
"""Every stored column: where it is exported, or why it is not."""

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

.. versionchanged:: 0.2.0
   Translated; ``how_to_exercise``; the CNIL's ``full_name`` and
   ``description``.
"""

_ANALYTICS_NOTE = gettext_noop(
    "Audience measurement is anonymous: no event is linked to your account."
)

# Names and codes, not words: they stay as they are in every language.
_UNTRANSLATED = frozenset({"name", "full_name", "address", "website"})


def article_15(language: Language, shop: str) -> dict[str, Any]:
    """Return :data:`ARTICLE_15` in *language*, with the shop's name filled in.

    >>> article_15("fr", "L'Échoppe")["rights"][0]
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

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.2.0
       *settings*.
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

        .. versionchanged:: 0.2.0
           Written for people, from the template ``privacy/export.html``.
        """
        settings = self.settings
        context = {
            "export": self.data,
            "shop": settings.shop_name if settings else "L'Échoppe",
            "base_url": settings.base_url if settings else "",
            "language": self.language,
            "timezone": settings.timezone if settings else DEFAULT_TIMEZONE,
        }
        templates = templates_for(settings.templates if settings else None)
        return templates.render(EXPORT_PAGE, context)


def _export_data(
    account: Account,
    events: list[AuditRecord],
    now: datetime,
    *,
    shop: str = "L'Échoppe",
) -> dict[str, Any]:
    language = catalogues().resolve(account.language)
    org = account.organisation
    chorus = org.chorus if org else None
    pending = account.pending_subscription
    billing = account.addresses.billing
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
        },
        "organisation": None
        if org is None
        else {
            "name": org.name,
            "siret": org.siret.formatted,
            "siren": org.siret.siren,
            "vat_number": org.siret.vat_number,
            "chorus": None
            if chorus is None
            else {
                "requirement": chorus.requirement.value,
                "service_code": chorus.service_code,
                "engagement_number": chorus.engagement_number,
            },
        },
        "addresses": {
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
                for d in account.addresses.deliveries
            ],
        },
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
            "note": translation(language).gettext(_ANALYTICS_NOTE),
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
    shop = settings.shop_name if settings is not None else "L'Échoppe"
    data = _export_data(account, events, _SAMPLE_AT + timedelta(days=240), shop=shop)
    return PersonalDataExport(data, settings=settings)


@attrs.define
class PrivacyService:
    """The customer's rights over their data, and their consents.

    .. versionadded:: 0.1.0
    """

    uow: UnitOfWorkFactory
    clock: Clock
    secrets: SecretSource
    hasher: PasswordHasher
    settings: Settings

    @property
    def ports(self) -> Ports:
        """The ports the use cases work with.

        .. versionadded:: 0.3.0
        """
        return Ports(self.uow, self.clock, self.secrets, self.hasher, self.settings)

    def export_personal_data(self, account_id: str) -> PersonalDataExport:
        """Return everything held about the customer ("Mes données", SPEC G1, G2).

        Raises:
            NotFoundError: No such account.
        """
        now = self.clock.now()
        ports = self.ports
        with open_account(ports, account_id, erased=True) as (uow, account):
            events = uow.audit.for_account(account.id)
            audit(ports, uow, AuditEvent.DATA_EXPORTED, account.id)
            uow.commit()
        data = _export_data(account, events, now, shop=self.settings.shop_name)
        return PersonalDataExport(data, settings=self.settings)

    def erase_account(self, account_id: str, *, actor: str = "customer") -> None:
        """Erase the account, keeping only what invoices need for 10 years (SPEC G3).

        Email, phone, password, delivery contacts, newsletter history,
        pending links, reset requests, failed-login counts and every mail
        to the address are deleted; the billing identity, billing address
        and SIRET stay, so past invoices still resolve. The account cannot
        log in any more, and its email can register again.

        *actor* says who asked (``"customer"``, or a staff member's id); it
        goes to the audit trail.

        Raises:
            NotFoundError: No such account.
            ValidationError: *actor* is empty, too long or unreadable.
        """
        erasure.erase_account(self.ports, account_id, actor=actor)

    def set_analytics_opt_out(self, account_id: str, *, opted_out: bool) -> None:
        """Refuse (or accept again) audience measurement for this account (SPEC N3)."""
        consent.set_analytics_opt_out(self.ports, account_id, opted_out=opted_out)

    def request_newsletter_subscription(
        self, account_id: str, *, source: ConsentSource, wording_version: str
    ) -> None:
        """Start a double opt-in subscription: a mail asks to confirm (SPEC F7).

        Raises:
            ValidationError: The wording version is missing, too long or not
                readable text.
        """
        consent.request_subscription(
            self.ports, account_id, source=source, wording_version=wording_version
        )

    def confirm_newsletter_subscription(self, token: str) -> None:
        """Confirm a double opt-in subscription with the link of its mail (SPEC F7).

        Raises:
            ValidationError: ``token.invalid`` for a link that is unknown,
                used, expired or of another purpose.
        """
        consent.confirm_subscription(self.ports, token)
