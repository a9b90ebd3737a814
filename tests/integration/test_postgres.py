"""What only the PostgreSQL adapter does: schemas, migrations, concurrency, errors.

Every test works in a schema of the run, dropped at its end (see
``conftest.py``); the concurrency tests open one connection per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from builders import NOW, account, mail
from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    Argon2Hasher,
    AuditEvent,
    AuthenticationError,
    AuthService,
    Category,
    Email,
    MailKind,
    OutboxDispatcher,
    PrivacyService,
    ResetState,
    StorageError,
    SystemSecrets,
    ValidationError,
)
from legacy import (
    LEGACY_RECIPIENT_KEYS,
    LEGACY_RECIPIENTS,
    expected_keys,
    legacy_accounts,
    old_account_row,
)
from sample_forms import ORGANISATIONS, express, form, links, pending

try:
    import psycopg
    from psycopg import sql

    from echoppe_accounts.adapters import _records as rec
    from echoppe_accounts.adapters.postgres import MIGRATIONS, PostgresStore
except ImportError:  # the postgres extra is optional; postgres_dsn says so
    psycopg = None

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("postgres_dsn")]

THREADS = 20
HOUR = timedelta(hours=1)


def run_together(work: Callable[[], str], threads: int = THREADS) -> list[str]:
    """Run *work* in *threads* threads started at once; return their outcomes."""
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker():
        barrier.wait()
        outcome = work()
        with lock:
            outcomes.append(outcome)

    started = [threading.Thread(target=worker) for _ in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join()
    return sorted(outcomes)


@pytest.fixture
def account_service(postgres_uow_factory, clock, shop_settings):
    """The account use cases on the emptied PostgreSQL store."""
    return AccountService(
        uow=postgres_uow_factory,
        clock=clock,
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=shop_settings,
    )


@pytest.fixture
def auth_service(postgres_uow_factory, clock, shop_settings):
    """The authentication use cases on the emptied PostgreSQL store."""
    return AuthService(
        uow=postgres_uow_factory,
        clock=clock,
        secrets=SystemSecrets(),
        hasher=FAST_HASHER,
        settings=shop_settings,
    )


def table_rows(store, table: str) -> list[dict]:
    """Return the rows of *table* in *store*'s schema."""
    query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))
    with store.pool.connection() as db:
        return db.execute(query).fetchall()


# -- schema and migrations -----------------------------------------------------


def test_schema_is_created_and_migrations_are_idempotent(postgres_store_factory):
    """Opening a schema twice applies each migration once, and records it."""
    first = postgres_store_factory()
    again = postgres_store_factory(first.schema)
    assert first.schema_version == again.schema_version == len(MIGRATIONS)
    versions = [r["version"] for r in table_rows(again, "schema_migrations")]
    assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))


def test_stores_opening_a_new_schema_at_once_migrate_it_once(
    postgres_store_factory,
):
    """Stores opened together on a new schema wait for one another's migration."""
    schema = postgres_store_factory().schema + "_shared"
    opened = []

    def open_store() -> str:
        try:
            opened.append(postgres_store_factory(schema))
        except StorageError as exc:
            return f"failed: {exc}"
        return "opened"

    assert run_together(open_store, threads=8) == ["opened"] * 8
    assert {s.schema_version for s in opened} == {len(MIGRATIONS)}
    assert len(table_rows(opened[0], "schema_migrations")) == len(MIGRATIONS)


def test_a_schema_made_beforehand_is_used(postgres_dsn, postgres_store_factory):
    """A schema an administrator created (empty) receives the tables."""
    schema = postgres_store_factory().schema + "_premade"
    with psycopg.connect(postgres_dsn, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    store = postgres_store_factory(schema)
    with store.unit_of_work() as tx:
        tx.accounts.add(account())
        tx.commit()
    assert len(table_rows(store, "accounts")) == 1


# -- version 2: email keys by IDNA domain, outbox mails by account and key ------


def version_1_schema(dsn: str, schema: str, accounts, recipients) -> None:
    """Make the schema version 1 would have made, holding *accounts* and mails."""
    with psycopg.connect(dsn) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        db.execute(MIGRATIONS[0])
        db.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT now());"
            "INSERT INTO schema_migrations (version) VALUES (1)"
        )
        for a in accounts:
            for table, rows in (
                ("accounts", [old_account_row(a)]),
                ("delivery_addresses", rec.delivery_rows(a)),
                ("newsletter_consents", rec.consent_rows(a)),
            ):
                for row in rows:
                    db.execute(
                        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                            sql.Identifier(table),
                            sql.SQL(", ").join(map(sql.Identifier, row)),
                            sql.SQL(", ").join(map(sql.Placeholder, row)),
                        ),
                        row,
                    )
        for i, recipient in enumerate(recipients):
            db.execute(
                "INSERT INTO outbox (id, kind, recipient, subject, body_text, "
                "body_html, created_at, due_at) VALUES (%(id)s, 'welcome', %(to)s, "
                "'s', 't', 'h', %(at)s, %(at)s)",
                {"id": f"m{i}", "to": recipient, "at": NOW},
            )


def test_version_2_rekeys_emails_and_keys_outbox_mails(
    postgres_dsn, postgres_store_factory
):
    """F1, G3: a version-1 schema is re-keyed by IDNA domain; queued mails get keys."""
    schema = postgres_store_factory().schema + "_v1"
    legacy = legacy_accounts()
    version_1_schema(postgres_dsn, schema, legacy.values(), LEGACY_RECIPIENTS)
    store = postgres_store_factory(schema)
    assert store.schema_version == len(MIGRATIONS) >= 2
    keys = {r["id"]: r["email_key"] for r in table_rows(store, "accounts")}
    assert keys == expected_keys(legacy)
    mails = sorted(table_rows(store, "outbox"), key=lambda r: r["id"])
    assert [m["recipient_key"] for m in mails] == LEGACY_RECIPIENT_KEYS
    assert {m["account_id"] for m in mails} == {None}


def test_after_version_2_eszett_and_double_s_domains_coexist(
    postgres_dsn, postgres_store_factory
):
    """F1: once re-keyed, ``info@strasse.de`` registers and each is found by its key."""
    schema = postgres_store_factory().schema + "_v1"
    legacy = legacy_accounts()
    version_1_schema(postgres_dsn, schema, legacy.values(), LEGACY_RECIPIENTS)
    store = postgres_store_factory(schema)
    double_s, final_sigma = account("info@strasse.de"), account("x@σοφιασ.gr")
    with store.unit_of_work() as tx:
        tx.accounts.add(double_s)
        tx.accounts.add(final_sigma)
        tx.commit()
    with store.unit_of_work() as tx:
        find = tx.accounts.get_by_email_key
        assert find(Email.parse("INFO@STRASSE.DE").key).id == double_s.id
        assert find(Email.parse("info@Straße.de").key).id == legacy["eszett"].id
        assert find(Email.parse("x@ΣΟΦΙΑΣ.gr").key).id == final_sigma.id
        assert find(Email.parse("x@σοφιας.gr").key).id == legacy["sigma"].id
        keys = {Email.parse("claire.martin@exemple.fr").key}
        assert tx.outbox.forget(account_id="-", email_keys=keys) == 1


def test_a_failing_python_migration_step_changes_nothing(
    postgres_dsn, postgres_store_factory, monkeypatch
):
    """The Python step and the version's record are one transaction: all or nothing."""
    schema = postgres_store_factory().schema + "_v1"
    version_1_schema(postgres_dsn, schema, legacy_accounts().values(), [])

    class CrashError(Exception):
        pass

    def crash(_rows):
        raise CrashError

    monkeypatch.setattr(rec, "new_email_keys", crash)
    with pytest.raises(CrashError):
        postgres_store_factory(schema)
    with psycopg.connect(postgres_dsn) as db:
        versions = db.execute(
            sql.SQL("SELECT version FROM {}").format(
                sql.Identifier(schema, "schema_migrations")
            )
        ).fetchall()
        columns = db.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'outbox'",
            (schema,),
        ).fetchall()
    assert versions == [(1,)]
    assert ("recipient_key",) not in columns
    monkeypatch.undo()
    assert postgres_store_factory(schema).schema_version == len(MIGRATIONS)


def test_schemas_are_isolated(postgres_store_factory):
    """Two stores in two schemas of one database never see each other's rows."""
    left, right = postgres_store_factory(), postgres_store_factory()
    a = account()
    with left.unit_of_work() as tx:
        tx.accounts.add(a)
        tx.commit()
    with right.unit_of_work() as tx:
        assert tx.accounts.count() == 0
        assert tx.accounts.get(a.id) is None
        tx.accounts.add(attrs.evolve(a))  # the same email is free there
        tx.commit()
    with left.unit_of_work() as tx:
        assert tx.accounts.count() == 1


def test_the_schema_name_is_an_identifier_never_sql(postgres_store_factory):
    """A schema name full of SQL is quoted as one identifier, not run."""
    name = 'echoppe "test"; DROP SCHEMA public; --'
    store = postgres_store_factory(name)
    with store.unit_of_work() as tx:
        tx.accounts.add(account())
        tx.commit()
    with store.pool.connection() as db:
        schemas = db.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname IN (%s, 'public')",
            (name,),
        ).fetchall()
        found = db.execute(
            "SELECT count(*) AS n FROM pg_tables "
            "WHERE schemaname = %s AND tablename = 'accounts'",
            (name,),
        ).fetchone()
    assert {r["nspname"] for r in schemas} == {name, "public"}
    assert found["n"] == 1


def test_close_and_context_manager(postgres_store_factory):
    """A closed store refuses new units of work with the library's error."""
    with postgres_store_factory() as store, store.unit_of_work() as tx:
        assert tx.accounts.count() == 0
    with pytest.raises(StorageError) as info:
        store.unit_of_work().__enter__()
    assert isinstance(info.value.__cause__, psycopg.Error)


# -- driver errors -------------------------------------------------------------


def test_an_unreachable_server_is_a_storage_error():
    """Opening a store on a closed port raises StorageError, the cause chained."""
    with pytest.raises(StorageError) as info:
        PostgresStore("postgresql://postgres@127.0.0.1:1/test", schema="never")
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


def test_a_connection_broken_mid_unit_of_work_is_a_storage_error(
    postgres_dsn, postgres_store_factory
):
    """A server-side disconnection surfaces as StorageError; the pool recovers."""
    store = postgres_store_factory()
    a = account()
    with pytest.raises(StorageError) as info, store.unit_of_work() as tx:
        tx.accounts.add(a)
        pid = tx._conn.info.backend_pid
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        tx.accounts.count()
        tx.commit()
    assert isinstance(info.value.__cause__, psycopg.OperationalError)
    with store.unit_of_work() as tx:
        assert tx.accounts.count() == 0  # nothing half-written


def test_a_lost_connection_whose_error_was_handled_closes_quietly(
    postgres_dsn, postgres_store_factory
):
    """Leaving a unit of work whose session died raises nothing more."""
    store = postgres_store_factory()
    with store.unit_of_work() as tx:
        pid = tx._conn.info.backend_pid
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StorageError):
            tx.accounts.count()
    with store.unit_of_work() as tx:
        assert tx.accounts.count() == 0


def test_a_lock_wait_that_times_out_in_save_is_a_storage_error(
    postgres_uow_factory,
):
    """A save blocked past the lock timeout raises StorageError, not psycopg's."""
    a = account()
    with postgres_uow_factory() as tx:
        tx.accounts.add(a)
        tx.commit()
    with postgres_uow_factory() as holder:
        held = holder.accounts.get(a.id)
        held.name = "Holder"
        holder.accounts.save(held)  # the row stays locked until holder ends
        with pytest.raises(StorageError) as info, postgres_uow_factory() as tx:
            tx._conn.execute("SET LOCAL lock_timeout = '10ms'")
            loaded = tx.accounts.get(a.id)
            tx.accounts.save(loaded)
    assert isinstance(info.value.__cause__, psycopg.errors.LockNotAvailable)


def test_a_driver_error_raised_in_the_block_leaves_as_storage_error(
    postgres_uow_factory,
):
    """Even a psycopg error raised by code inside the block does not leak."""
    with pytest.raises(StorageError) as info, postgres_uow_factory() as tx:
        tx._conn.execute("SELECT 1 / 0")
    assert isinstance(info.value.__cause__, psycopg.errors.DivisionByZero)


def test_driver_errors_inside_a_unit_of_work_are_translated(postgres_uow_factory):
    """A constraint the library does not expect becomes a StorageError, rolled back."""
    first = account()
    with postgres_uow_factory() as tx:
        tx.accounts.add(first)
        tx.commit()
    twin = attrs.evolve(account("autre@exemple.fr"), id=first.id)
    with pytest.raises(StorageError) as info, postgres_uow_factory() as tx:
        tx.accounts.add(twin)
    assert isinstance(info.value.__cause__, psycopg.errors.UniqueViolation)
    assert "autre@exemple.fr" not in str(info.value)
    with postgres_uow_factory() as tx:
        assert tx.accounts.count() == 1


def test_commit_outside_the_block_is_refused(postgres_uow_factory):
    """Committing a unit of work that is not open is a clear error."""
    with pytest.raises(StorageError, match="outside"):
        postgres_uow_factory().commit()


def test_work_after_commit_is_its_own_transaction(postgres_uow_factory):
    """What follows commit() is kept only if committed again, as with SQLite."""
    a, b = account("a@exemple.fr"), account("b@exemple.fr")
    with postgres_uow_factory() as tx:
        tx.accounts.add(a)
        tx.commit()
        tx.accounts.add(b)
    with postgres_uow_factory() as tx:
        assert tx.accounts.get(a.id) is not None
        assert tx.accounts.get(b.id) is None


# -- the canonical email key ---------------------------------------------------


def test_email_key_is_unique_in_the_database(postgres_uow_factory, postgres_store):
    """The database itself enforces the unique canonical email (F1)."""
    a, b = account("a@exemple.fr"), account("b@exemple.fr")
    with postgres_uow_factory() as tx:
        tx.accounts.add(a)
        tx.accounts.add(b)
        tx.commit()
    with (
        postgres_store.pool.connection() as db,
        pytest.raises(psycopg.errors.UniqueViolation),
    ):
        db.execute(
            "UPDATE accounts SET email_key = 'a@exemple.fr' WHERE id = %s", (b.id,)
        )


def test_a_taken_email_refuses_one_statement_not_the_transaction(
    postgres_uow_factory,
):
    """After ``email.taken`` the unit of work goes on, as with SQLite."""
    a, b, c = account("a@exemple.fr"), account("b@exemple.fr"), account("c@exemple.fr")
    with postgres_uow_factory() as tx:
        tx.accounts.add(a)
        with pytest.raises(ValidationError) as on_add:
            tx.accounts.add(account("A@exemple.fr"))
        tx.accounts.add(b)
        loaded = tx.accounts.get(b.id)
        loaded.email = a.email
        with pytest.raises(ValidationError) as on_save:
            tx.accounts.save(loaded)
        tx.accounts.add(c)
        tx.commit()
    assert on_add.value.codes == on_save.value.codes == {"email.taken"}
    with postgres_uow_factory() as tx:
        assert tx.accounts.count() == 3
        assert tx.accounts.get(b.id).email.address == "b@exemple.fr"


# -- concurrency ---------------------------------------------------------------


def test_concurrent_registrations_of_one_email_make_one_account(
    account_service, postgres_uow_factory
):
    """Twenty connections registering one email: one account, 19 refusals (F1)."""

    def register() -> str:
        try:
            account_service.register(form(email="Jean.Dupont@exemple.fr"))
        except ValidationError as exc:
            return ",".join(sorted(exc.codes))
        return "registered"

    assert run_together(register) == ["email.taken"] * 19 + ["registered"]
    with postgres_uow_factory() as tx:
        assert tx.accounts.count() == 1
    welcomes = [m for m in pending(account_service) if m.kind is MailKind.WELCOME]
    assert len(welcomes) == 1


def test_concurrent_express_checkouts_answer_alike(
    account_service, postgres_uow_factory
):
    """Twenty checkouts with one new email: one account, twenty equal answers (X3)."""

    def checkout() -> str:
        return account_service.register_express(
            express("Nouveau@exemple.fr")
        ).account_id

    answers = run_together(checkout)
    assert len(set(answers)) == 1
    with postgres_uow_factory() as tx:
        assert tx.accounts.count() == 1


def test_concurrent_confirmations_issue_one_temporary_password(
    account_service, auth_service, postgres_store
):
    """Twenty connections confirming one link: one temporary password (R8)."""
    registered = account_service.register(form())
    auth_service.request_password_reset("jean.dupont@exemple.fr")
    (first_mail,) = [
        m for m in pending(account_service) if m.kind is MailKind.RESET_CONFIRM
    ]
    token = links(first_mail)["confirmer"]

    def confirm() -> str:
        try:
            auth_service.confirm_password_reset(token)
        except ValidationError:
            return "refused"
        return "confirmed"

    assert run_together(confirm) == ["confirmed"] + ["refused"] * 19
    kinds = [m.kind for m in pending(account_service)]
    assert kinds.count(MailKind.TEMPORARY_PASSWORD) == 1
    (request,) = table_rows(postgres_store, "reset_requests")
    assert request["state"] == ResetState.CONFIRMED.value
    assert request["version"] == 1
    with postgres_store.unit_of_work() as tx:
        events = [r.event for r in tx.audit.for_account(registered.id)]
    assert events.count(AuditEvent.TEMPORARY_PASSWORD_ISSUED) == 1


def test_concurrent_failed_logins_lose_no_failure(
    account_service, auth_service, postgres_store
):
    """Failures are counted one login at a time, so throttling holds (P4)."""
    account_service.register(form())

    def login() -> str:
        try:
            auth_service.login("jean.dupont@exemple.fr", "pas le bon mot de passe")
        except AuthenticationError as exc:
            return exc.code
        return "logged in"  # pragma: no cover (the password is wrong)

    # With the clock frozen, the fifth failure imposes a wait: every later
    # attempt is throttled, however many arrive at once.
    outcomes = run_together(login, threads=10)
    assert outcomes == ["login.failed"] * 5 + ["login.throttled"] * 5
    (throttle,) = table_rows(postgres_store, "login_throttles")
    assert throttle["failures"] == 5


def test_concurrent_reset_requests_send_one_mail(account_service, auth_service):
    """Requests for one email at once: the cooldown lets one through (R6)."""
    account_service.register(form())

    def request() -> str:
        auth_service.request_password_reset("jean.dupont@exemple.fr")
        return "answered"

    assert run_together(request, threads=10) == ["answered"] * 10
    kinds = [m.kind for m in pending(account_service)]
    assert kinds.count(MailKind.RESET_CONFIRM) == 1


def test_a_claim_skips_mails_another_dispatcher_holds(postgres_uow_factory):
    """A dispatcher's uncommitted claim is skipped by another, never waited for."""
    mails = [mail(to=f"{i}@exemple.fr") for i in range(3)]
    with postgres_uow_factory() as tx:
        for m in mails:
            tx.outbox.add(m)
        tx.commit()
    with postgres_uow_factory() as holder:
        held = holder.outbox.claim(NOW, 2, NOW + HOUR)
        with postgres_uow_factory() as other:
            other._conn.execute("SET LOCAL lock_timeout = '10s'")
            rest = other.outbox.claim(NOW, 10, NOW + HOUR)
            other.commit()
        holder.commit()
    assert [m.id for m in held] == [mails[0].id, mails[1].id]
    assert [m.id for m in rest] == [mails[2].id]


def test_racing_dispatchers_send_every_mail_once(postgres_uow_factory, clock, mailer):
    """Dispatchers racing on one outbox deliver each mail exactly once."""
    with postgres_uow_factory() as tx:
        for i in range(40):
            tx.outbox.add(mail(to=f"{i}@exemple.fr"))
        tx.commit()
    dispatchers = [
        OutboxDispatcher(postgres_uow_factory, mailer, clock, "s@lechoppe.fr")
        for _ in range(4)
    ]
    turn = iter(dispatchers)
    lock = threading.Lock()

    def dispatch() -> str:
        with lock:
            dispatcher = next(turn)
        return str(dispatcher.dispatch(limit=40).sent)

    sent = run_together(dispatch, threads=4)
    assert sum(map(int, sent)) == 40
    assert len({m.to for m in mailer.sent}) == 40


# -- personal data -------------------------------------------------------------


def test_erasure_leaves_no_trace_in_the_tables(
    postgres_uow_factory, postgres_store, clock, shop_settings, mailer
):
    """After erasure no row holds the person's data, only the invoice's (G3)."""
    parts = {
        "uow": postgres_uow_factory,
        "clock": clock,
        "secrets": SystemSecrets(),
        "hasher": FAST_HASHER,
        "settings": shop_settings,
    }
    accounts, auth, privacy = (
        AccountService(**parts),
        AuthService(**parts),
        PrivacyService(**parts),
    )
    registered = accounts.register(
        form(
            Category.COMPANY,
            email="claire.martin@exemple.fr",
            phone="06 98 76 54 32",
            **ORGANISATIONS[Category.COMPANY],
        )
    )
    accounts.add_delivery_address(
        registered.id,
        express("x@exemple.fr", contact="Gaston Lagaffe").delivery_address,
    )
    auth.request_password_reset("claire.martin@exemple.fr")
    OutboxDispatcher(postgres_uow_factory, mailer, clock, "s@lechoppe.fr").dispatch()
    privacy.erase_account(registered.id)
    with postgres_store.pool.connection() as db:
        tables = db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s",
            (postgres_store.schema,),
        ).fetchall()
    dump = repr([table_rows(postgres_store, t["tablename"]) for t in tables])
    for trace in ("claire.martin", "+33698765432", "Marie Curie", "Gaston Lagaffe"):
        assert trace not in dump, trace
    assert "Exemple SA" in dump  # the invoice's data stays


def test_concurrent_logins_that_upgrade_a_hash_all_succeed(
    account_service, auth_service, postgres_uow_factory
):
    """Twenty logins rehashing one outdated hash at once: all log in (P1, P3, P5)."""
    created = account_service.register(form())
    auth_service.hasher = Argon2Hasher(memory_cost=16, time_cost=1)
    with postgres_uow_factory() as tx:
        stored = tx.accounts.get(created.id)
        stored.password_hash = Argon2Hasher(memory_cost=8, time_cost=1).hash(
            "une phrase de passe solide"
        )
        tx.accounts.save(stored)
        tx.commit()

    def login() -> str:
        return auth_service.login(
            "jean.dupont@exemple.fr", "une phrase de passe solide"
        ).account_id

    assert run_together(login) == [created.id] * THREADS
    assert not auth_service.hasher.needs_rehash(
        account_service.get(created.id).password_hash
    )
