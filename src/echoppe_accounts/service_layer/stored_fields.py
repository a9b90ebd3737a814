"""Every stored column, and where the "Mes données" export puts it (SPEC G1, G2).

A test checks :data:`STORED_FIELDS` against every storage adapter's
schema, so the export cannot silently fall behind.
"""

from __future__ import annotations

from collections.abc import Mapping

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
        "siren": "organisation.siren",
        "ape": "organisation.ape",
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
