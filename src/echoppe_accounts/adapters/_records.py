"""Flat records of accounts, mails and audit entries, shared by the SQL adapters.

Also the data steps of migrations that both SQL adapters run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import attrs

from echoppe_accounts.domain.account import Account, AccountStatus, Credentials
from echoppe_accounts.domain.address import PostalAddress
from echoppe_accounts.domain.addressbook import AddressBook, DeliveryAddress
from echoppe_accounts.domain.ape import ApeCode
from echoppe_accounts.domain.audit import AuditEvent, AuditRecord
from echoppe_accounts.domain.category import (
    Category,
    ChorusPro,
    ChorusRequirement,
    Organisation,
)
from echoppe_accounts.domain.completion import missing_pieces
from echoppe_accounts.domain.consent import (
    ConsentRecord,
    ConsentSource,
    PendingSubscription,
)
from echoppe_accounts.domain.email import Email, canonical_key
from echoppe_accounts.domain.errors import Language, ValidationError
from echoppe_accounts.domain.events import AccountEvent, EventType
from echoppe_accounts.domain.mail import DeadLetter, MailKind, OutgoingMail
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.domain.reset import ResetOrigin, ResetRequest, ResetState
from echoppe_accounts.domain.siret import Siren, Siret
from echoppe_accounts.domain.tokens import TokenPurpose, TokenRecord

Row = Mapping[str, Any]


# What json.dumps(..., ensure_ascii=False) writes, without building an
# encoder at each call.
_JSON = json.JSONEncoder(ensure_ascii=False)
_SORTED_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def iso(value: datetime | None) -> str | None:
    """Return *value* as fixed-width ISO 8601 text in UTC, or ``None``.

    Fixed width (microseconds always written) keeps text comparison in SQL
    equal to time comparison.
    """
    if value is None:
        return None
    return _iso(value)


@functools.lru_cache(maxsize=256)
def _iso(value: datetime) -> str:
    # Cached: the rows of one transaction mostly share its time. The text
    # is strftime("%Y-%m-%dT%H:%M:%S.%f+00:00") of the UTC time, written by
    # the faster isoformat (which also pads years before 1000).
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(value: str | datetime | None) -> datetime | None:
    """Read a datetime stored by :func:`iso` (or natively by the driver)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _required_dt(value: str | datetime) -> datetime:
    return cast("datetime", from_iso(value))


def account_row(a: Account) -> dict[str, Any]:
    """Return the ``accounts`` row of *a*."""
    org = a.organisation
    chorus = org.chorus if org else None
    billing = a.addresses.billing if a.addresses is not None else None
    pending = a.pending_subscription
    return {
        "id": a.id,
        "email": a.email.address,
        "email_key": a.email.key,
        "name": a.name,
        "category": a.category.value,
        "status": a.status.value,
        "phone": a.phone.e164 if a.phone else None,
        "phone_region": a.phone.region if a.phone else None,
        "organisation_name": org.name if org else None,
        "siret": org.siret.compact if org and org.siret else None,
        "siren": org.siren_alone.compact if org and org.siren_alone else None,
        "ape": org.ape.code if org and org.ape else None,
        "chorus_requirement": chorus.requirement.value if chorus else None,
        "chorus_service_code": chorus.service_code if chorus else None,
        "chorus_engagement_number": chorus.engagement_number if chorus else None,
        "billing_street_lines": _JSON.encode(billing.street_lines) if billing else None,
        "billing_postal_code": billing.postal_code if billing else None,
        "billing_city": billing.city if billing else None,
        "billing_country": billing.country if billing else None,
        "password_hash": a.password_hash,
        "language": a.language,
        "created_at": iso(a.created_at),
        "email_proven_at": iso(a.email_proven_at),
        "analytics_opt_out": a.analytics_opt_out,
        "pending_subscription_at": iso(pending.at) if pending else None,
        "pending_subscription_source": pending.source.value if pending else None,
        "pending_subscription_wording": pending.wording_version if pending else None,
        "erased_at": iso(a.erased_at),
        "session_stamp": a.session_stamp,
        "pending_email": a.pending_email.address if a.pending_email else None,
        "pending_email_key": a.pending_email.key if a.pending_email else None,
        "pending_email_at": iso(a.pending_email_at),
        "former_email": a.former_email.address if a.former_email else None,
        "former_email_key": a.former_email.key if a.former_email else None,
        "former_email_until": iso(a.former_email_until),
        "version": a.version,
    }


CREDENTIALS_COLUMNS = (
    "id, password_hash, status, session_stamp, phone, category, siret, "
    "billing_postal_code"
)
"""The ``accounts`` columns a login reads: :func:`credentials_from_row`'s."""


def credentials_from_row(row: Row) -> Credentials:
    """Rebuild a login's view of an account from its :data:`CREDENTIALS_COLUMNS`."""
    status = AccountStatus(row["status"])
    return Credentials(
        row["id"],
        row["password_hash"],
        status,
        str(row["session_stamp"]),
        missing_pieces(
            has_phone=row["phone"] is not None,
            has_addresses=row["billing_postal_code"] is not None,
            needs_organisation=Category(row["category"]).needs_organisation,
            has_siret=row["siret"] is not None,
            erased=status is AccountStatus.ERASED,
        ),
    )


def delivery_rows(a: Account) -> list[dict[str, Any]]:
    """Return the ``delivery_addresses`` rows of *a*, in order."""
    return [
        {
            "account_id": a.id,
            "position": i,
            "id": d.id,
            "contact_name": d.contact_name,
            "label": d.label,
            "street_lines": _JSON.encode(d.address.street_lines),
            "postal_code": d.address.postal_code,
            "city": d.address.city,
            "country": d.address.country,
        }
        for i, d in enumerate(a.addresses.deliveries if a.addresses else ())
    ]


def consent_rows(a: Account) -> list[dict[str, Any]]:
    """Return the ``newsletter_consents`` rows of *a*, in order."""
    return [
        {
            "account_id": a.id,
            "position": i,
            "subscribed": c.subscribed,
            "at": iso(c.at),
            "source": c.source.value,
            "wording_version": c.wording_version,
            "confirmed_at": iso(c.confirmed_at),
        }
        for i, c in enumerate(a.newsletter)
    ]


def _address(lines: str, postal_code: str, city: str, country: str) -> PostalAddress:
    return PostalAddress(tuple(json.loads(lines)), postal_code, city, country)


def account_from_rows(
    row: Row, deliveries: Sequence[Row], consents: Sequence[Row]
) -> Account:
    """Rebuild an account from its rows (stored data is trusted: no re-validation)."""
    organisation = None
    # Every organisation has a name; an imported one may lack its SIRET (M1).
    if row["organisation_name"] is not None:
        chorus = None
        if row["chorus_requirement"] is not None:
            chorus = ChorusPro(
                ChorusRequirement(row["chorus_requirement"]),
                row["chorus_service_code"],
                row["chorus_engagement_number"],
            )
        organisation = Organisation(
            row["organisation_name"],
            Siret(row["siret"]) if row["siret"] is not None else None,
            chorus,
            Siren(row["siren"]) if row["siren"] is not None else None,
            ApeCode(row["ape"]) if row["ape"] is not None else None,
        )
    book = None
    if row["billing_street_lines"] is not None:
        book = _book(row, deliveries)
    return Account(
        id=row["id"],
        email=Email(row["email"], row["email_key"]),
        name=row["name"],
        category=Category(row["category"]),
        addresses=book,
        created_at=_required_dt(row["created_at"]),
        status=AccountStatus(row["status"]),
        phone=Phone(row["phone"], row["phone_region"]) if row["phone"] else None,
        organisation=organisation,
        password_hash=row["password_hash"],
        language=cast("Language", row["language"]),
        newsletter=[
            ConsentRecord(
                bool(c["subscribed"]),
                _required_dt(c["at"]),
                ConsentSource(c["source"]),
                c["wording_version"],
                from_iso(c["confirmed_at"]),
            )
            for c in sorted(consents, key=lambda c: int(c["position"]))
        ],
        email_proven_at=from_iso(row["email_proven_at"]),
        analytics_opt_out=bool(row["analytics_opt_out"]),
        pending_subscription=_pending(row),
        erased_at=from_iso(row["erased_at"]),
        session_stamp=row["session_stamp"],
        pending_email=(
            Email(row["pending_email"], row["pending_email_key"])
            if row["pending_email"]
            else None
        ),
        pending_email_at=from_iso(row["pending_email_at"]),
        former_email=(
            Email(row["former_email"], row["former_email_key"])
            if row["former_email"]
            else None
        ),
        former_email_until=from_iso(row["former_email_until"]),
        version=int(row["version"]),
    )


def _book(row: Row, deliveries: Sequence[Row]) -> AddressBook:
    return AddressBook(
        _address(
            row["billing_street_lines"],
            row["billing_postal_code"],
            row["billing_city"],
            row["billing_country"],
        ),
        [
            DeliveryAddress(
                d["id"],
                d["contact_name"],
                _address(d["street_lines"], d["postal_code"], d["city"], d["country"]),
                d["label"],
            )
            for d in sorted(deliveries, key=lambda d: int(d["position"]))
        ],
    )


def _pending(row: Row) -> PendingSubscription | None:
    if row["pending_subscription_at"] is None:
        return None
    return PendingSubscription(
        _required_dt(row["pending_subscription_at"]),
        ConsentSource(row["pending_subscription_source"]),
        row["pending_subscription_wording"],
    )


def token_row(r: TokenRecord) -> dict[str, Any]:
    """Return the ``tokens`` row of *r*."""
    return {
        "digest": r.digest,
        "account_id": r.account_id,
        "purpose": r.purpose.value,
        "created_at": iso(r.created_at),
        "expires_at": iso(r.expires_at),
        "used_at": iso(r.used_at),
        "revoked_at": iso(r.revoked_at),
        "request_id": r.request_id,
    }


def token_from_row(row: Row) -> TokenRecord:
    """Rebuild a token record from its row."""
    return TokenRecord(
        digest=row["digest"],
        account_id=row["account_id"],
        purpose=TokenPurpose(row["purpose"]),
        created_at=_required_dt(row["created_at"]),
        expires_at=_required_dt(row["expires_at"]),
        used_at=from_iso(row["used_at"]),
        revoked_at=from_iso(row["revoked_at"]),
        request_id=row["request_id"],
    )


RESET_DATETIMES = (
    "requested_at", "link_expires_at", "temporary_expires_at",
    "temporary_used_at", "closed_at",
)  # fmt: skip


def reset_row(r: ResetRequest) -> dict[str, Any]:
    """Return the ``reset_requests`` row of *r*."""
    row = attrs.asdict(r, recurse=False)
    row["origin"] = r.origin.value
    row["state"] = r.state.value
    for name in RESET_DATETIMES:
        row[name] = iso(row[name])
    return row


def reset_from_row(row: Row) -> ResetRequest:
    """Rebuild a reset request from its row."""
    fields = {f.name: row[f.name] for f in attrs.fields(ResetRequest)}
    for name in RESET_DATETIMES:
        fields[name] = from_iso(fields[name])
    fields["origin"] = ResetOrigin(fields["origin"])
    fields["state"] = ResetState(fields["state"])
    return ResetRequest(**fields)


def outbox_row(mail: OutgoingMail) -> dict[str, Any]:
    """Return the ``outbox`` row of a newly queued *mail* (due at once).

    Times are left as datetimes: each adapter stores them its own way.
    """
    return {
        "id": mail.id,
        "kind": mail.kind.value,
        "recipient": mail.to,
        "subject": mail.subject,
        "body_text": mail.text,
        "body_html": mail.html,
        "created_at": mail.created_at,
        "due_at": mail.created_at,
        "account_id": mail.account_id,
        "recipient_key": mail.recipient_key,
        "expires_at": mail.expires_at,
        "requeued_at": mail.requeued_at,
    }


def mail_from_row(row: Row) -> OutgoingMail:
    """Rebuild an outgoing mail from its ``outbox`` row."""
    return OutgoingMail(
        id=row["id"],
        kind=MailKind(row["kind"]),
        to=row["recipient"],
        subject=row["subject"],
        text=row["body_text"],
        html=row["body_html"],
        created_at=_required_dt(row["created_at"]),
        account_id=row["account_id"],
        recipient_key=row["recipient_key"],
        expires_at=from_iso(row["expires_at"]),
        requeued_at=from_iso(row["requeued_at"]),
    )


def dead_letter_from_row(row: Row) -> DeadLetter:
    """Rebuild a dead letter from its ``outbox`` row."""
    return DeadLetter(
        id=row["id"],
        kind=MailKind(row["kind"]),
        to=row["recipient"],
        attempts=int(row["attempts"]),
        last_error=row["last_error"] or "",
        dead_at=_required_dt(row["dead_at"]),
        created_at=_required_dt(row["created_at"]),
    )


OUTBOX_PENDING = "sent_at IS NULL AND dead_at IS NULL AND dropped_at IS NULL"
"""The SQL condition of a pending mail: neither sent, dead nor dropped."""


def audit_row(r: AuditRecord) -> dict[str, Any]:
    """Return the ``audit_log`` row of *r* (details as JSON)."""
    return {
        "id": r.id,
        "at": iso(r.at),
        "event": r.event.value,
        "account_id": r.account_id,
        "actor": r.actor,
        "details": _details_text(r.details),
    }


def audit_from_row(row: Row) -> AuditRecord:
    """Rebuild an audit record from its row."""
    return AuditRecord(
        id=row["id"],
        at=_required_dt(row["at"]),
        event=AuditEvent(row["event"]),
        account_id=row["account_id"],
        actor=row["actor"],
        details=json.loads(row["details"]),
    )


def event_row(e: AccountEvent) -> dict[str, Any]:
    """Return the ``account_events`` row of *e* (data as JSON)."""
    return {
        "id": e.id,
        "type": e.type.value,
        "account_id": e.account_id,
        "at": iso(e.at),
        "data": _details_text(e.data),
    }


def event_from_row(row: Row) -> AccountEvent:
    """Rebuild an account event from its row."""
    return AccountEvent(
        id=row["id"],
        type=EventType(row["type"]),
        account_id=row["account_id"],
        at=_required_dt(row["at"]),
        data=json.loads(row["data"]),
    )


def _details_text(details: Mapping[str, str]) -> str:
    return _SORTED_JSON.encode(dict(details)) if details else "{}"


def redacted_details(details: str, keys: Collection[str]) -> str | None:
    """Return the stored *details* without *keys*, or ``None`` if none was there."""
    loaded: dict[str, str] = json.loads(details)
    if not any(key in loaded for key in keys):
        return None
    return _details_text({k: v for k, v in loaded.items() if k not in keys})


# -- migration steps -------------------------------------------------------------

REKEYING = "migrating:"
"""Prefix of the temporary keys a re-keying migration gives changed rows.

It holds no ``@``, so it can equal no real key, and the account id after
it makes it unique.
"""


def new_email_keys(rows: Iterable[Row]) -> list[tuple[str, str]]:
    """Return ``(id, key)`` for the accounts whose email key the 0.2.0 rule changes.

    *rows* hold ``id``, ``email``, ``email_key`` and ``erased_at``. Erased
    accounts keep their placeholder key (``erased:<id>``, no ``@``). An
    address that has no key by the new rule (an unlikely, hand-edited row)
    keeps its old key rather than stop the migration.

    Keys were the NFKC and case folding of the whole address; they become
    the folding of the local part and the IDNA A-label of the domain. The
    new key is strictly finer than the old one: two stored addresses with
    one new key have folded local parts alike and one A-label, hence one
    stored (IDNA-decoded) domain and one old key. Old keys were unique, so
    no uniqueness conflict can arise.
    """
    changed = []
    for row in rows:
        if row["erased_at"] is not None:
            continue
        try:
            key = canonical_key(row["email"])
        except ValidationError:
            continue
        if key != row["email_key"]:
            changed.append((row["id"], key))
    return changed


def recipient_key(recipient: str) -> str | None:
    """Return the canonical key of an outbox *recipient*, ``None`` if it has none."""
    try:
        return canonical_key(recipient)
    except ValidationError:
        return None
