"""Mes données, erasure, rectification, opt-outs, double opt-in (G1–G4, F7, N3)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from echoppe_accounts import (
    AccountStatus,
    AuthenticationError,
    Category,
    ConsentSource,
    MailKind,
    SQLiteAnalyticsSink,
    SQLiteStore,
    ValidationError,
)
from echoppe_accounts.service_layer.privacy import STORED_FIELDS
from sample_forms import (
    ORGANISATIONS,
    express,
    form,
    links,
    pending,
    temporary_password,
)

PASSWORD = "une phrase de passe solide"


def test_export_holds_everything_and_the_article_15_information(service, privacy, auth):
    """The export has identity, contact, category, addresses, consents, events (G1)."""
    account = service.register(
        form(
            Category.PUBLIC_BODY,
            newsletter=True,
            newsletter_wording_version="nl-1",
            **ORGANISATIONS[Category.PUBLIC_BODY],
        )
    )
    privacy.set_analytics_opt_out(account.id, opted_out=True)
    auth.issue_provisional_password(account.id, agent_id="agent-9", reason="appel")
    export = privacy.export_personal_data(account.id)
    data = json.loads(export.as_json())
    assert data["schema_version"] == "1.2"
    assert data["account"]["email"] == "jean.dupont@exemple.fr"
    assert data["account"]["phone"] == "+33612345678"
    assert data["organisation"]["siret"] == "216 901 231 00011"
    assert data["organisation"]["chorus"]["engagement_number"] == "EJ-2026-42"
    assert data["addresses"]["deliveries"][0]["contact_name"] == "Marie Curie"
    # Amended F7: the sign-up's tick waits for its confirm link.
    assert data["newsletter"]["pending"]["wording_version"] == "nl-1"
    assert data["analytics"]["opted_out"] is True
    events = [e["event"] for e in data["events"]]
    assert events[:2] == ["account_registered", "provisional_password_issued"]
    assert (
        "agent-9" not in export.as_json()
    )  # the agent's id is not the customer's data
    info = data["information"]
    assert {"purposes", "categories", "recipients", "retention", "rights"} <= set(info)
    assert "CNIL" in info["supervisory_authority"]["name"]
    page = export.as_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "Marie Curie" in page
    assert "216 901 231 00011" in page


def test_export_never_holds_secrets_or_other_customers(service, privacy, auth):
    """No hash, digest, temporary password or other customer's data (G2)."""
    account = service.register(form())
    service.register(form(email="voisin@exemple.fr", name="Voisin Secret"))
    auth.request_password_reset("jean.dupont@exemple.fr")
    mail = next(m for m in pending(service) if m.kind is MailKind.RESET_CONFIRM)
    tokens = links(mail)
    auth.confirm_password_reset(tokens["confirmer"])
    temporary = temporary_password(
        next(m for m in pending(service) if m.kind is MailKind.TEMPORARY_PASSWORD)
    )
    text = privacy.export_personal_data(account.id).as_json()
    stored = service.get(account.id)
    with service.uow() as tx:
        digests = [r.digest for r in tx.tokens.for_account(account.id)]
        digests += [
            d
            for r in tx.resets.for_account(account.id)
            for d in (r.confirm_digest, r.cancel_digest, r.temporary_hash)
            if d
        ]
    for secret in [
        stored.password_hash,
        *digests,
        *tokens.values(),
        temporary,
        temporary.replace("-", ""),
        "voisin@exemple.fr",
        "Voisin Secret",
    ]:
        assert secret not in text


def _schema_columns(path: Path) -> dict[str, set[str]]:
    with closing(sqlite3.connect(path)) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            t: {row[1] for row in db.execute(f"PRAGMA table_info({t})")} for t in tables
        }


def test_every_stored_sqlite_field_is_exported_or_excluded_for_a_reason(tmp_path):
    """The export cannot fall behind the schema: each column is accounted for (G1)."""
    path = tmp_path / "accounts.sqlite3"
    SQLiteStore(path)
    SQLiteAnalyticsSink(path)
    columns = _schema_columns(path)
    for table, names in columns.items():
        assert table in STORED_FIELDS, f"table {table} is not accounted for"
        missing = names - set(STORED_FIELDS[table])
        assert not missing, f"{table}: {sorted(missing)} neither exported nor excluded"
    for fields in STORED_FIELDS.values():
        for disposition in fields.values():
            assert disposition.strip(), "every exclusion gives its reason"


@pytest.mark.postgres
def test_every_stored_postgres_field_is_exported_or_excluded_for_a_reason(
    postgres_store,
):
    """The same accounting holds for the PostgreSQL schema (G1)."""
    with postgres_store.pool.connection() as db:
        rows = db.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s",
            (postgres_store.schema,),
        ).fetchall()
    columns: dict[str, set[str]] = {}
    for row in rows:
        columns.setdefault(row["table_name"], set()).add(row["column_name"])
    assert "accounts" in columns
    for table, names in columns.items():
        assert table in STORED_FIELDS, f"table {table} is not accounted for"
        missing = names - set(STORED_FIELDS[table])
        assert not missing, f"{table}: {sorted(missing)} neither exported nor excluded"


def _raw_bytes(store) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{store.path}{suffix}")
        if candidate.exists():
            data += candidate.read_bytes()
    return data


def _postgres_dump(store) -> str:
    """Every row of every table of the store's schema, as text."""
    with store.pool.connection() as db:
        tables = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (store.schema,),
        ).fetchall()
        return "\n".join(
            str(row)
            for (name,) in (tuple(t.values()) for t in tables)
            for row in db.execute(f'SELECT * FROM "{name}"').fetchall()  # noqa: S608
        )


def _postgres_dump(store) -> str:
    """Every row of every table of the store's schema, as text."""
    with store.pool.connection() as db:
        names = [
            row["table_name"]
            for row in db.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s",
                (store.schema,),
            ).fetchall()
        ]
        return "\n".join(
            str(row)
            for name in names
            for row in db.execute(f'SELECT * FROM "{name}"').fetchall()  # noqa: S608
        )


def test_erasure_keeps_invoices_and_forgets_the_person(
    service, privacy, auth, dispatcher
):
    """Erased: no login, email free, invoice intact, no trace of the person (G3)."""
    account = service.register(
        form(
            Category.COMPANY,
            email="claire.martin@exemple.fr",
            phone="06 98 76 54 32",
            **ORGANISATIONS[Category.COMPANY],
        )
    )
    service.add_delivery_address(
        account.id, express("x@exemple.fr", contact="Gaston Lagaffe").delivery_address
    )
    auth.request_password_reset("claire.martin@exemple.fr")
    dispatcher.dispatch()
    invoice_before = service.invoice_view(account.id)
    privacy.erase_account(account.id)
    erased = service.get(account.id)
    assert erased.status is AccountStatus.ERASED
    assert service.invoice_view(account.id) == invoice_before
    with pytest.raises(AuthenticationError):
        auth.login("claire.martin@exemple.fr", PASSWORD)
    again = service.register(form(email="Claire.Martin@exemple.fr"))
    assert again.id != account.id
    privacy.erase_account(again.id)
    store = service.uow.__self__
    if isinstance(store, SQLiteStore):
        raw = _raw_bytes(store)
        for trace in (
            "claire.martin",
            "Claire.Martin",
            "+33698765432",
            "98765432",
            "Marie Curie",
            "Gaston Lagaffe",
        ):
            assert trace.encode() not in raw, trace
        assert b"Exemple SA" in raw  # the invoice's data stays
    elif type(store).__name__ == "PostgresStore":  # psycopg is an optional extra
        dump = _postgres_dump(store)
        for trace in (
            "claire.martin",
            "Claire.Martin",
            "+33698765432",
            "Marie Curie",
            "Gaston Lagaffe",
        ):
            assert trace not in dump, trace
        assert "Exemple SA" in dump
    else:
        dump = repr(store.accounts) + repr(store.outbox) + repr(store.tokens)
        for trace in ("claire.martin", "+33698765432", "Marie Curie", "Gaston Lagaffe"):
            assert trace not in dump, trace
    privacy.erase_account(account.id)  # erasing twice is harmless


def test_rectification_is_validated_like_sign_up(service):
    """Corrections go through the same validation (G4)."""
    account = service.register(form())
    with pytest.raises(ValidationError) as info:
        service.update_contact(account.id, name="", phone="123")
    assert {e.path for e in info.value.errors} == {"name", "phone"}
    service.update_contact(account.id, phone="0692 12 34 56")
    updated = service.get(account.id)
    assert (updated.name, updated.phone.e164) == ("Jean Dupont", "+262692123456")
    with pytest.raises(ValidationError):
        service.change_email(account.id, "pas-une-adresse", PASSWORD)
    other = service.register(form(email="autre@exemple.fr"))
    with pytest.raises(ValidationError) as taken:
        service.change_email(other.id, "JEAN.DUPONT@exemple.fr", PASSWORD)
    assert taken.value.codes == {"email.taken"}


def test_double_opt_in(service, privacy, clock):
    """A double opt-in subscription counts once the link is clicked (F7)."""
    account = service.register(form())
    privacy.request_newsletter_subscription(
        account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-2"
    )
    assert not service.get(account.id).subscribed
    mail = next(m for m in pending(service) if m.kind is MailKind.NEWSLETTER_CONFIRM)
    (token,) = links(mail).values()
    with pytest.raises(ValidationError):
        privacy.confirm_newsletter_subscription(token + "x")
    privacy.confirm_newsletter_subscription(token)
    (record,) = service.get(account.id).newsletter
    assert record.subscribed
    assert (record.wording_version, record.confirmed_at) == ("nl-2", clock.now())
    with pytest.raises(ValidationError):
        privacy.confirm_newsletter_subscription(token)


def _confirm_tokens(service) -> list[str]:
    """The tokens of every newsletter confirm mail queued, oldest first."""
    mails = [m for m in pending(service) if m.kind is MailKind.NEWSLETTER_CONFIRM]
    return [token for mail in mails for token in links(mail).values()]


def test_a_second_request_kills_the_first_confirm_link(service, privacy):
    """F7, R8: one pending subscription, one live link (the account's rule)."""
    account = service.register(form())
    for version in ("nl-1", "nl-2"):
        privacy.request_newsletter_subscription(
            account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version=version
        )
    first, second = _confirm_tokens(service)
    with pytest.raises(ValidationError):
        privacy.confirm_newsletter_subscription(first)
    assert not service.get(account.id).subscribed
    privacy.confirm_newsletter_subscription(second)
    (record,) = service.get(account.id).newsletter
    assert record.wording_version == "nl-2"


def test_unsubscribing_kills_a_pending_confirm_link(service, privacy):
    """F7, R8: after an unsubscription, an older confirm link subscribes nobody."""
    account = service.register(form())
    privacy.request_newsletter_subscription(
        account.id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-2"
    )
    (token,) = _confirm_tokens(service)
    service.unsubscribe_newsletter(account.id, source=ConsentSource.ACCOUNT_PAGE)
    with pytest.raises(ValidationError):
        privacy.confirm_newsletter_subscription(token)
    assert not service.get(account.id).subscribed
