"""Login, throttling, the two-step reset and provisional passwords (P1–P4, R1–R10)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import closing
from datetime import timedelta

import pytest

from echoppe_accounts import (
    Argon2Hasher,
    AuditEvent,
    AuthenticationError,
    AuthService,
    MailKind,
    ResetState,
    SQLiteStore,
    SystemSecrets,
    ValidationError,
)
from echoppe_accounts.domain.reset import LINK_TTL, PROVISIONAL_TTL, TEMPORARY_TTL
from sample_forms import express, form, links, pending, temporary_password
from spies import SpyHasher, recording

PASSWORD = "une phrase de passe solide"
NEW_PASSWORD = "un tout autre mot de passe"
SECOND = timedelta(seconds=1)


def mails_to(service, kind):
    """Return the queued mails of *kind*."""
    return [m for m in pending(service) if m.kind is kind]


def request_and_confirm(service, auth, email="jean.dupont@exemple.fr"):
    """Run the reset up to mail 2; return the temporary password."""
    auth.request_password_reset(email)
    token = links(mails_to(service, MailKind.RESET_CONFIRM)[-1])["confirmer"]
    auth.confirm_password_reset(token)
    return temporary_password(mails_to(service, MailKind.TEMPORARY_PASSWORD)[-1])


# -- login ------------------------------------------------------------------------


def test_login_with_the_right_password(service, auth):
    """The right password logs in, unrestricted."""
    account = service.register(form())
    result = auth.login("JEAN.DUPONT@exemple.fr", PASSWORD)
    assert (result.account_id, result.restricted) == (account.id, False)


@pytest.mark.parametrize("email", ["jean.dupont@exemple.fr", "nobody@exemple.fr", "@@"])
def test_failures_look_the_same(service, auth, email):
    """Wrong password, unknown email, bad syntax: one error, one message (P3)."""
    service.register(form())
    with pytest.raises(AuthenticationError) as info:
        auth.login(email, "pas le bon mot de passe")
    assert info.value.code == "login.failed"
    assert info.value.message() == "Adresse e-mail ou mot de passe incorrect."


def test_same_hashing_work_for_every_kind_of_account(service, auth):
    """Existing, unknown, express and outdated-hash accounts cost one KDF each (P3)."""
    service.register(form())
    service.register_express(express("express@exemple.fr"))
    old = service.register(form(email="old@exemple.fr"))
    with service.uow() as tx:
        stored = tx.accounts.get(old.id)
        stored.password_hash = Argon2Hasher(memory_cost=16, time_cost=1).hash(PASSWORD)
        tx.accounts.save(stored)
        tx.commit()
    # The process's first login makes the dummy hash (one more KDF), before
    # it reads any account: the same for every email (issue 22).
    before = auth.hasher.kdf_calls
    with pytest.raises(AuthenticationError):
        auth.login("premier@exemple.fr", "pas le bon mot de passe")
    assert auth.hasher.kdf_calls - before == 2
    counts = {}
    for email in (
        "jean.dupont@exemple.fr",
        "nobody@exemple.fr",
        "express@exemple.fr",
        "old@exemple.fr",
    ):
        before = auth.hasher.kdf_calls
        with pytest.raises(AuthenticationError):
            auth.login(email, "pas le bon mot de passe")
        counts[email] = auth.hasher.kdf_calls - before
    assert set(counts.values()) == {1}, counts


def test_outdated_hash_is_upgraded_on_login(service, auth):
    """A hash with cheaper old parameters is replaced at the next login (P1, P5)."""
    account = service.register(form())
    auth.hasher = SpyHasher(Argon2Hasher(memory_cost=16, time_cost=1))
    weak = Argon2Hasher(memory_cost=8, time_cost=1)
    with service.uow() as tx:
        stored = tx.accounts.get(account.id)
        stored.password_hash = weak.hash(PASSWORD)
        tx.accounts.save(stored)
        tx.commit()
    assert auth.hasher.needs_rehash(service.get(account.id).password_hash)
    auth.login("jean.dupont@exemple.fr", PASSWORD)
    upgraded = service.get(account.id).password_hash
    assert not auth.hasher.needs_rehash(upgraded)
    assert auth.login("jean.dupont@exemple.fr", PASSWORD).account_id == account.id


@pytest.mark.parametrize("email", ["jean.dupont@exemple.fr", "nobody@exemple.fr"])
def test_progressive_delay_then_success_resets(service, auth, clock, email):
    """After free attempts each failure makes the wait longer (P4), known or not."""
    service.register(form())
    for _ in range(auth.throttle_policy.free_attempts + 1):
        with pytest.raises(AuthenticationError) as info:
            auth.login(email, "faux")
        assert info.value.code == "login.failed"
    with pytest.raises(AuthenticationError) as info:
        auth.login(email, PASSWORD)
    assert info.value.code == "login.throttled"
    assert info.value.retry_after == 1.0
    assert "réessayez dans 1 seconde." in info.value.message()  # not "1 secondes"
    clock.advance(SECOND)
    with pytest.raises(AuthenticationError) as info:
        auth.login(email, "faux")
    assert info.value.code == "login.failed"
    with pytest.raises(AuthenticationError) as info:
        auth.login(email, "faux")
    assert (info.value.code, info.value.retry_after) == ("login.throttled", 2.0)
    if email.startswith("jean"):
        clock.advance(2 * SECOND)
        auth.login(email, PASSWORD)
        with pytest.raises(AuthenticationError) as info:
            auth.login(email, "faux")
        assert info.value.code == "login.failed"  # the count started again


def _fail_until_blocked(auth, clock, email):
    for _ in range(auth.throttle_policy.hard_block):
        clock.advance(auth.throttle_policy.max_delay)
        with pytest.raises(AuthenticationError):
            auth.login(email, "faux")


def test_hard_block_after_one_hundred_failures(service, auth, clock):
    """After 100 consecutive failures even the right password is refused (P4)."""
    service.register(form())
    _fail_until_blocked(auth, clock, "jean.dupont@exemple.fr")
    clock.advance(timedelta(days=30))
    with pytest.raises(AuthenticationError) as info:
        auth.login("jean.dupont@exemple.fr", PASSWORD)
    assert info.value.code == "login.blocked"
    temporary = request_and_confirm(service, auth)
    session = auth.login("jean.dupont@exemple.fr", temporary)
    assert session.restricted


def test_only_a_temporary_password_login_waits_for_the_disk(
    service, auth, uow_factory, clock, shop_settings
):
    """Logins commit without waiting for the disk, except a temporary password's.

    A lost failure count or audit record costs nothing; a temporary
    password used once must stay used (R4).
    """
    asked: list[bool] = []

    def factory(*, durable: bool = True):
        asked.append(durable)
        return uow_factory(durable=durable)

    spy = AuthService(factory, clock, SystemSecrets(), auth.hasher, shop_settings)
    service.register(form())
    spy.login("jean.dupont@exemple.fr", PASSWORD)
    with pytest.raises(AuthenticationError):
        spy.login("jean.dupont@exemple.fr", PASSWORD + "?")
    with pytest.raises(AuthenticationError):
        spy.login("nobody@exemple.fr", PASSWORD)
    # Two units of work each: the reading, and the writing after the hash.
    assert asked == [False] * 6
    temporary = request_and_confirm(service, auth)
    asked.clear()
    assert spy.login("jean.dupont@exemple.fr", temporary).restricted
    assert asked == [True, True]


# -- the reset request: no enumeration ---------------------------------------------


def _flows(service, auth, clock):
    """Return the emails of known, unknown, express-only, blocked, disabled accounts."""
    service.register(form())
    service.register_express(express("express@exemple.fr"))
    service.register(form(email="blocked@exemple.fr"))
    _fail_until_blocked(auth, clock, "blocked@exemple.fr")
    disabled = service.register(form(email="disabled@exemple.fr"))
    auth.disable_account(disabled.id, agent_id="agent-7", reason="fraude signalée")
    # A disabled account's former address (F10): told, without a link, too.
    moved = service.register(form(email="moved@exemple.fr"))
    service.change_email(moved.id, "moved.now@exemple.fr", PASSWORD)
    confirm = mails_to(service, MailKind.EMAIL_CHANGE_CONFIRM)[-1]
    service.confirm_email_change(links(confirm)["confirmer"])
    auth.disable_account(moved.id, agent_id="agent-7", reason="fraude signalée")
    return [
        "jean.dupont@exemple.fr",
        "nobody@exemple.fr",
        "express@exemple.fr",
        "blocked@exemple.fr",
        "disabled@exemple.fr",
        "moved@exemple.fr",
    ]


def test_reset_request_does_identical_work_for_everyone(
    service, uow_factory, clock, shop_settings, mailer, dispatcher
):
    """Known, unknown, express-only, blocked, disabled: same answer and calls (R1, R6).

    Each request writes one outbox row, within the cooldown none (M2).
    """
    log: list[str] = []
    spy = AuthService(
        recording(uow_factory, log),
        clock,
        SystemSecrets(),
        Argon2Hasher(memory_cost=8, time_cost=1),
        shop_settings,
    )
    emails = _flows(service, spy, clock)
    mailer.failing = True  # the mail server is down: nothing changes for the caller
    for attempt in ("first", "within the cooldown"):
        traces = {}
        for email in emails:
            log.clear()
            assert spy.request_password_reset(email) is None
            traces[email] = list(log)
        dispatcher.dispatch()
        assert len({tuple(t) for t in traces.values()}) == 1, (attempt, traces)
        writes = {e: t.count("outbox.add") for e, t in traces.items()}
        assert set(writes.values()) == {1 if attempt == "first" else 0}, writes
        clock.advance(timedelta(minutes=1))


def test_reset_mail_goes_to_the_stored_address(service, auth):
    """Mail 1 goes to the stored address, whatever the spelling typed (R1)."""
    service.register(form(email="mike@example.org"))
    auth.request_password_reset("MIKE@Example.ORG")
    (mail,) = mails_to(service, MailKind.RESET_CONFIRM)
    assert mail.to == "mike@example.org"
    assert set(links(mail)) == {"confirmer", "annuler"}
    assert "https://www.lechoppe.fr/compte/mot-de-passe/confirmer?jeton=" in mail.text


def test_dotless_i_never_reaches_another_account(service, auth):
    """``mıke@example.org`` is not ``mike@example.org`` (CVE-2019-19844 class)."""
    service.register(form(email="mike@example.org"))
    auth.request_password_reset("mıke@example.org")
    queued = [m for m in pending(service) if m.kind is not MailKind.WELCOME]
    assert [m.kind for m in queued] == [MailKind.RESET_UNKNOWN_EMAIL]
    assert all(m.to != "mike@example.org" for m in queued)
    assert not links(queued[0])


def test_cooldown_then_supersession(service, auth, clock):
    """No second mail within four minutes; after that, the new link replaces the old."""
    service.register(form())
    auth.request_password_reset("jean.dupont@exemple.fr")
    clock.advance(timedelta(minutes=4) - SECOND)
    auth.request_password_reset("jean.dupont@exemple.fr")
    assert len(mails_to(service, MailKind.RESET_CONFIRM)) == 1
    clock.advance(SECOND)
    auth.request_password_reset("jean.dupont@exemple.fr")
    first, second = mails_to(service, MailKind.RESET_CONFIRM)
    with pytest.raises(ValidationError):
        auth.confirm_password_reset(links(first)["confirmer"])
    auth.confirm_password_reset(links(second)["confirmer"])


# -- confirmation, cancellation, temporary password --------------------------------


def test_link_of_mail_one_lives_one_hour(service, auth, clock):
    """The confirm link works until its hour is up, not a second later (R2)."""
    service.register(form())
    auth.request_password_reset("jean.dupont@exemple.fr")
    token = links(mails_to(service, MailKind.RESET_CONFIRM)[0])["confirmer"]
    clock.advance(LINK_TTL + SECOND)
    with pytest.raises(ValidationError):
        auth.confirm_password_reset(token)
    clock.advance(timedelta(minutes=5))
    auth.request_password_reset("jean.dupont@exemple.fr")
    token = links(mails_to(service, MailKind.RESET_CONFIRM)[-1])["confirmer"]
    clock.advance(LINK_TTL - SECOND)
    auth.confirm_password_reset(token)
    with pytest.raises(ValidationError):  # and single use
        auth.confirm_password_reset(token)


def test_not_me_cancels(service, auth):
    """The "this was not me" link cancels; the confirm link then fails (R2, R5)."""
    service.register(form())
    auth.request_password_reset("jean.dupont@exemple.fr")
    tokens = links(mails_to(service, MailKind.RESET_CONFIRM)[0])
    auth.cancel_password_reset(tokens["annuler"])
    with pytest.raises(ValidationError):
        auth.confirm_password_reset(tokens["confirmer"])
    with pytest.raises(ValidationError):
        auth.cancel_password_reset(tokens["annuler"])
    assert auth.login("jean.dupont@exemple.fr", PASSWORD)  # nothing changed


def test_tokens_are_bound_to_their_purpose(service, auth):
    """A link works for its own purpose only, and a refusal leaves it usable (R2)."""
    service.register(form())
    auth.request_password_reset("jean.dupont@exemple.fr")
    tokens = links(mails_to(service, MailKind.RESET_CONFIRM)[0])
    with pytest.raises(ValidationError):
        auth.cancel_password_reset(tokens["confirmer"])
    with pytest.raises(ValidationError):
        auth.confirm_password_reset(tokens["annuler"])
    with pytest.raises(ValidationError):
        auth.set_new_password(tokens["confirmer"], NEW_PASSWORD)
    with pytest.raises(AuthenticationError):
        auth.login("jean.dupont@exemple.fr", tokens["confirmer"])
    auth.confirm_password_reset(tokens["confirmer"])
    temporary = temporary_password(mails_to(service, MailKind.TEMPORARY_PASSWORD)[0])
    for use in (auth.confirm_password_reset, auth.cancel_password_reset):
        with pytest.raises(ValidationError):
            use(temporary)


def test_temporary_password_gives_a_restricted_session(service, auth):
    """Mail 2's password logs in once, for setting a new password only (R3, R4)."""
    account = service.register(form())
    temporary = request_and_confirm(service, auth)
    assert len(temporary.replace("-", "")) >= 12
    session = auth.login("jean.dupont@exemple.fr", temporary.lower().replace("-", " "))
    assert (session.account_id, session.restricted) == (account.id, True)
    assert session.change_token.reveal() not in repr(session)
    with pytest.raises(AuthenticationError):
        auth.login("jean.dupont@exemple.fr", temporary)  # single use
    with pytest.raises(ValidationError) as info:
        auth.set_new_password(session.change_token.reveal(), temporary)
    assert info.value.codes == {"password.same_as_temporary"}
    with pytest.raises(ValidationError) as info:
        auth.set_new_password(session.change_token.reveal(), "motdepasse")
    assert info.value.codes == {"password.common"}
    auth.set_new_password(session.change_token.reveal(), NEW_PASSWORD)
    with pytest.raises(ValidationError):
        auth.set_new_password(session.change_token.reveal(), "encore un autre secret")
    with pytest.raises(AuthenticationError):
        auth.login("jean.dupont@exemple.fr", PASSWORD)
    assert not auth.login("jean.dupont@exemple.fr", NEW_PASSWORD).restricted
    changed = mails_to(service, MailKind.PASSWORD_CHANGED)
    assert [m.to for m in changed] == ["jean.dupont@exemple.fr"]  # R10
    with service.uow() as tx:
        states = [r.state for r in tx.resets.for_account(account.id)]
    assert states == [ResetState.COMPLETED]


def test_temporary_password_lives_twenty_four_hours(service, auth, clock):
    """The temporary password works until its 24 hours are up (R3)."""
    service.register(form())
    temporary = request_and_confirm(service, auth)
    clock.advance(TEMPORARY_TTL - SECOND)
    assert auth.login("jean.dupont@exemple.fr", temporary).restricted
    service.register(form(email="other@exemple.fr"))
    late = request_and_confirm(service, auth, "other@exemple.fr")
    clock.advance(TEMPORARY_TTL + SECOND)
    with pytest.raises(AuthenticationError):
        auth.login("other@exemple.fr", late)


def test_password_change_kills_pending_tokens(service, auth):
    """A password change ends every pending link and temporary password (R8, R10)."""
    account = service.register(form())
    auth.request_password_reset("jean.dupont@exemple.fr")
    tokens = links(mails_to(service, MailKind.RESET_CONFIRM)[0])
    auth.change_password(account.id, PASSWORD, NEW_PASSWORD)
    with pytest.raises(ValidationError):
        auth.confirm_password_reset(tokens["confirmer"])
    with pytest.raises(ValidationError) as info:
        auth.change_password(account.id, PASSWORD, "encore un autre secret")
    assert info.value.codes == {"password.wrong_current"}
    assert len(mails_to(service, MailKind.PASSWORD_CHANGED)) == 1


def test_email_change_kills_pending_tokens(service, auth):
    """A confirmed email change ends every pending temporary password (R8, F10)."""
    account = service.register(form())
    temporary = request_and_confirm(service, auth)
    service.change_email(account.id, "jean.nouveau@exemple.fr", PASSWORD)
    (confirm,) = mails_to(service, MailKind.EMAIL_CHANGE_CONFIRM)
    service.confirm_email_change(links(confirm)["confirmer"])
    with pytest.raises(AuthenticationError):
        auth.login("jean.nouveau@exemple.fr", temporary)
    (notice,) = mails_to(service, MailKind.EMAIL_CHANGED)
    assert notice.to == "jean.dupont@exemple.fr"
    assert auth.login("jean.nouveau@exemple.fr", PASSWORD).account_id == account.id


def test_express_account_can_reset(service, auth):
    """An express account proves its mailbox through a reset too (X3)."""
    created = service.register_express(express("express@exemple.fr"))
    temporary = request_and_confirm(service, auth, "express@exemple.fr")
    session = auth.login("express@exemple.fr", temporary)
    auth.set_new_password(session.change_token.reveal(), NEW_PASSWORD)
    account = service.get(created.account_id)
    assert account.email_proven_at is not None
    assert not account.is_express


# -- customer service ---------------------------------------------------------------


def test_provisional_password(service, auth, clock):
    """Customer service's password: drawn, shown once, 1 hour, supersedes all (R7)."""
    account = service.register(form())
    auth.request_password_reset("jean.dupont@exemple.fr")
    link = links(mails_to(service, MailKind.RESET_CONFIRM)[0])["confirmer"]
    provisional = auth.issue_provisional_password(
        account.id, agent_id="agent-42", reason="mail de réinitialisation non reçu"
    )
    assert provisional.reveal() not in repr(provisional)
    with pytest.raises(ValidationError):
        auth.confirm_password_reset(link)
    (notice,) = mails_to(service, MailKind.PROVISIONAL_PASSWORD_NOTICE)
    assert provisional.reveal() not in notice.text
    with service.uow() as tx:
        (entry,) = [
            r
            for r in tx.audit.for_account(account.id)
            if r.event is AuditEvent.PROVISIONAL_PASSWORD_ISSUED
        ]
    assert entry.actor == "agent:agent-42"
    assert entry.details["reason"] == "mail de réinitialisation non reçu"
    clock.advance(PROVISIONAL_TTL - SECOND)
    session = auth.login("jean.dupont@exemple.fr", provisional.reveal())
    assert session.restricted


def test_provisional_password_expires_after_an_hour(service, auth, clock):
    """A provisional password not used within the hour is refused (R7)."""
    account = service.register(form())
    provisional = auth.issue_provisional_password(account.id, agent_id="a", reason="r")
    clock.advance(PROVISIONAL_TTL + SECOND)
    with pytest.raises(AuthenticationError):
        auth.login("jean.dupont@exemple.fr", provisional.reveal())


def test_provisional_password_needs_agent_and_reason(service, auth):
    """An unaudited provisional password cannot be issued (R7)."""
    account = service.register(form())
    with pytest.raises(ValidationError) as info:
        auth.issue_provisional_password(account.id, agent_id=" ", reason="")
    assert {e.path for e in info.value.errors} == {"agent_id", "reason"}


# -- secrets never leak -------------------------------------------------------------


def test_no_secret_in_logs_reprs_exceptions_or_audit(service, auth, caplog):
    """Tokens and temporary passwords appear nowhere but in the mail (R9)."""
    caplog.set_level(logging.DEBUG)
    account = service.register(form())
    shown: list[str] = []
    auth.request_password_reset("jean.dupont@exemple.fr")
    tokens = links(mails_to(service, MailKind.RESET_CONFIRM)[0])
    auth.confirm_password_reset(tokens["confirmer"])
    temporary = temporary_password(mails_to(service, MailKind.TEMPORARY_PASSWORD)[0])
    session = auth.login("jean.dupont@exemple.fr", temporary)
    shown.append(repr(session))
    for bad in (tokens["confirmer"], tokens["annuler"], temporary):
        for use in (auth.confirm_password_reset, auth.cancel_password_reset):
            with pytest.raises(ValidationError) as info:
                use(bad)
            shown += [str(info.value), repr(info.value)]
    auth.set_new_password(session.change_token.reveal(), NEW_PASSWORD)
    provisional = auth.issue_provisional_password(account.id, agent_id="a", reason="r")
    shown.append(repr(provisional))
    with pytest.raises(AuthenticationError) as failed:
        wrong_last = "Z" if provisional.reveal()[-1] != "Z" else "Y"
        auth.login("jean.dupont@exemple.fr", provisional.reveal()[:-1] + wrong_last)
    shown.append(str(failed.value))
    with service.uow() as tx:
        shown += [repr(r) for r in tx.audit.for_account(account.id)]
        shown += [repr(r) for r in tx.resets.for_account(account.id)]
        shown += [repr(r) for r in tx.tokens.for_account(account.id)]
    shown += [repr(m) for m in pending(service)]
    shown += [r.getMessage() for r in caplog.records]
    everything = "\n".join(shown)
    secrets = [
        *tokens.values(),
        temporary,
        temporary.replace("-", ""),
        session.change_token.reveal(),
        provisional.reveal(),
    ]
    assert caplog.records, "the library logs its events"
    for secret in secrets:
        assert secret not in everything


def _stored_bodies(store) -> str:
    if isinstance(store, SQLiteStore):
        with closing(sqlite3.connect(store.path)) as db:
            rows = db.execute("SELECT body_text || body_html FROM outbox").fetchall()
        return "".join(r[0] for r in rows)
    if type(store).__name__ == "PostgresStore":  # psycopg is an optional extra
        with store.pool.connection() as db:
            rows = db.execute("SELECT body_text || body_html AS body FROM outbox")
            return "".join(r["body"] for r in rows.fetchall())
    return "".join(e.mail.text + e.mail.html for e in store.outbox.values())


def test_sent_mails_keep_no_secret_at_rest(service, auth, dispatcher, mailer):
    """Waiting, a body is kept sealed; once delivered, it is wiped (R9, O2)."""
    service.register(form())
    auth.request_password_reset("jean.dupont@exemple.fr")
    store = service.uow.__self__
    token = links(mails_to(service, MailKind.RESET_CONFIRM)[0])["confirmer"]
    waiting = _stored_bodies(store)
    assert "sealed:v2:" in waiting  # waiting: the body is kept, sealed
    assert token not in waiting
    dispatcher.dispatch()
    assert token in mailer.sent[-1].text
    assert "sealed:v2:" not in _stored_bodies(store)


def test_concurrent_confirmations_issue_one_temporary_password(service, auth):
    """Twenty threads confirming one link: exactly one temporary password (R8)."""
    service.register(form())
    auth.request_password_reset("jean.dupont@exemple.fr")
    token = links(mails_to(service, MailKind.RESET_CONFIRM)[0])["confirmer"]
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def confirm():
        barrier.wait()
        try:
            auth.confirm_password_reset(token)
        except ValidationError:
            outcomes.append("refused")
        else:
            outcomes.append("confirmed")

    threads = [threading.Thread(target=confirm) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["confirmed"] + ["refused"] * 19
    assert len(mails_to(service, MailKind.TEMPORARY_PASSWORD)) == 1
