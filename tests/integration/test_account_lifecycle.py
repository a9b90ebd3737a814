"""Sessions that end, verified email changes, verified sign-up, client limits.

SPEC P6, F10, X5 and the per-client limits of issue 10, on every storage
adapter.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import attrs
import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AccountStatus,
    AuthenticationError,
    AuthService,
    ClientLimits,
    ConsentSource,
    DeliveryForm,
    Limit,
    MailKind,
    OrganisationForm,
    PrivacyService,
    RateLimitedError,
    Settings,
    SystemSecrets,
    ValidationError,
)
from sample_forms import LYON, form, links, pending, temporary_password
from spies import recording

PASSWORD = "une phrase de passe solide"
NEW_PASSWORD = "un tout autre secret bien long"


def services(uow_factory, clock, **settings):
    """Account, auth and privacy services sharing *settings*."""
    parts = {
        "uow": uow_factory,
        "clock": clock,
        "secrets": SystemSecrets(),
        "hasher": FAST_HASHER,
        "settings": Settings(base_url="https://www.lechoppe.fr", **settings),
    }
    return AccountService(**parts), AuthService(**parts), PrivacyService(**parts)


def mails(service, kind):
    """The queued mails of *kind*, oldest first."""
    return [m for m in pending(service) if m.kind is kind]


# -- session stamp (SPEC P6) ----------------------------------------------------


def _stamp(auth, email="jean.dupont@exemple.fr", password=PASSWORD):
    return auth.login(email, password).session_stamp


def test_login_returns_a_stamp_that_is_current(service, auth):
    """P6: the stamp a login returns is current until something changes."""
    account = service.register(form())
    stamp = _stamp(auth)
    assert stamp
    assert auth.is_session_current(account.id, stamp)
    assert _stamp(auth) == stamp  # a second login keeps the other sessions
    assert not auth.is_session_current(account.id, stamp + "x")
    assert not auth.is_session_current(account.id, "")
    assert not auth.is_session_current("no-such-account", stamp)
    assert not auth.is_session_current(account.id, "\ud800")


def test_password_change_ends_other_sessions(service, auth):
    """P6: after the customer changes the password, older stamps are stale."""
    account = service.register(form())
    old = _stamp(auth)
    auth.change_password(account.id, PASSWORD, NEW_PASSWORD)
    assert not auth.is_session_current(account.id, old)
    assert auth.is_session_current(account.id, _stamp(auth, password=NEW_PASSWORD))


def test_reset_ends_other_sessions(service, auth):
    """P6: a reset, from its confirmation on, ends every other session."""
    account = service.register(form())
    old = _stamp(auth)
    auth.request_password_reset("jean.dupont@exemple.fr")
    auth.confirm_password_reset(
        links(mails(service, MailKind.RESET_CONFIRM)[-1])["confirmer"]
    )
    assert not auth.is_session_current(account.id, old)
    session = auth.login(
        "jean.dupont@exemple.fr",
        temporary_password(mails(service, MailKind.TEMPORARY_PASSWORD)[-1]),
    )
    auth.set_new_password(session.change_token.reveal(), NEW_PASSWORD)
    assert not auth.is_session_current(account.id, session.session_stamp)


def test_provisional_password_ends_other_sessions(service, auth):
    """P6: customer service's provisional password ends every session."""
    account = service.register(form())
    old = _stamp(auth)
    auth.issue_provisional_password(account.id, agent_id="a-1", reason="appel")
    assert not auth.is_session_current(account.id, old)


def test_erasure_ends_every_session(service, auth, privacy):
    """P6, G3: an erased account has no current session."""
    account = service.register(form())
    old = _stamp(auth)
    privacy.erase_account(account.id)
    assert not auth.is_session_current(account.id, old)


def test_confirmed_email_change_ends_other_sessions(service, auth):
    """P6, F10: the stamp changes when the new address takes effect, not before."""
    account = service.register(form())
    old = _stamp(auth)
    service.change_email(account.id, "jean@nouveau.fr", PASSWORD)
    assert auth.is_session_current(account.id, old)
    service.confirm_email_change(
        links(mails(service, MailKind.EMAIL_CHANGE_CONFIRM)[-1])["confirmer"]
    )
    assert not auth.is_session_current(account.id, old)


CHANGES_KEEPING_SESSIONS = {
    "address": lambda s, a: s.add_delivery_address(a, DeliveryForm("Paul", LYON)),
    "newsletter": lambda s, a: s.subscribe_newsletter(
        a, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-1"
    ),
    "contact": lambda s, a: s.update_contact(a, name="Jean Martin"),
    "category": lambda s, a: s.change_category(
        a, "entreprise", OrganisationForm("Exemple SA", "732 829 320 00074")
    ),
    "language": lambda s, a: s.set_language(a, "en"),
}


@pytest.mark.parametrize("change", sorted(CHANGES_KEEPING_SESSIONS))
def test_other_changes_keep_sessions(service, auth, change):
    """P6: an address edit, a newsletter toggle and the like keep sessions."""
    account = service.register(form())
    stamp = _stamp(auth)
    CHANGES_KEEPING_SESSIONS[change](service, account.id)
    assert auth.is_session_current(account.id, stamp)


# -- email change confirmed by the new mailbox (SPEC F10) ----------------------


def test_email_changes_only_once_the_new_mailbox_confirms(service, auth):
    """F10: a link to the new address, a notice with a cancel link to the old."""
    account = service.register(form())
    service.change_email(account.id, "Jean@Nouveau.fr", PASSWORD)
    assert service.get(account.id).email.address == "jean.dupont@exemple.fr"
    assert service.get(account.id).pending_email.address == "Jean@nouveau.fr"
    [confirm] = mails(service, MailKind.EMAIL_CHANGE_CONFIRM)
    [notice] = mails(service, MailKind.EMAIL_CHANGE_NOTICE)
    assert confirm.to == "Jean@nouveau.fr"
    assert notice.to == "jean.dupont@exemple.fr"
    assert "annuler" in links(notice)
    with pytest.raises(AuthenticationError):
        auth.login("jean@nouveau.fr", PASSWORD)
    service.confirm_email_change(links(confirm)["confirmer"])
    stored = service.get(account.id)
    assert stored.email.address == "Jean@nouveau.fr"
    assert stored.pending_email is None
    assert auth.login("jean@nouveau.fr", PASSWORD).account_id == account.id
    [told] = mails(service, MailKind.EMAIL_CHANGED)
    assert told.to == "jean.dupont@exemple.fr"


def test_email_change_link_is_single_use_and_bound_to_its_purpose(service):
    """F10, R8: the confirm link works once; the cancel link cannot confirm."""
    account = service.register(form())
    service.change_email(account.id, "jean@nouveau.fr", PASSWORD)
    confirm = links(mails(service, MailKind.EMAIL_CHANGE_CONFIRM)[-1])["confirmer"]
    cancel = links(mails(service, MailKind.EMAIL_CHANGE_NOTICE)[-1])["annuler"]
    with pytest.raises(ValidationError) as info:
        service.confirm_email_change(cancel)
    assert info.value.codes == {"token.invalid"}
    service.confirm_email_change(confirm)
    with pytest.raises(ValidationError):
        service.confirm_email_change(confirm)
    service.cancel_email_change(cancel)  # amended F10: it now restores
    with pytest.raises(ValidationError):
        service.cancel_email_change(cancel)  # single use


def test_email_change_expires(service, clock, shop_settings):
    """F10: the confirm link dies after its lifetime; the address stays."""
    account = service.register(form())
    service.change_email(account.id, "jean@nouveau.fr", PASSWORD)
    confirm = links(mails(service, MailKind.EMAIL_CHANGE_CONFIRM)[-1])["confirmer"]
    clock.advance(shop_settings.email_change_ttl)
    with pytest.raises(ValidationError):
        service.confirm_email_change(confirm)
    assert service.get(account.id).email.address == "jean.dupont@exemple.fr"


def test_old_address_cancels_the_change(service):
    """F10: the cancel link of the notice drops the pending change."""
    account = service.register(form())
    service.change_email(account.id, "jean@nouveau.fr", PASSWORD)
    confirm = links(mails(service, MailKind.EMAIL_CHANGE_CONFIRM)[-1])["confirmer"]
    service.cancel_email_change(
        links(mails(service, MailKind.EMAIL_CHANGE_NOTICE)[-1])["annuler"]
    )
    assert service.get(account.id).pending_email is None
    with pytest.raises(ValidationError):
        service.confirm_email_change(confirm)


def test_a_new_request_replaces_the_pending_one(service):
    """F10: only the latest requested address can be confirmed."""
    account = service.register(form())
    service.change_email(account.id, "premier@exemple.fr", PASSWORD)
    first = links(mails(service, MailKind.EMAIL_CHANGE_CONFIRM)[-1])["confirmer"]
    service.change_email(account.id, "second@exemple.fr", PASSWORD)
    second = links(mails(service, MailKind.EMAIL_CHANGE_CONFIRM)[-1])["confirmer"]
    with pytest.raises(ValidationError):
        service.confirm_email_change(first)
    service.confirm_email_change(second)
    assert service.get(account.id).email.address == "second@exemple.fr"


def test_uniqueness_is_checked_again_at_confirmation(service):
    """F10: an address taken meanwhile is refused at confirmation."""
    account = service.register(form())
    service.change_email(account.id, "convoitee@exemple.fr", PASSWORD)
    confirm = links(mails(service, MailKind.EMAIL_CHANGE_CONFIRM)[-1])["confirmer"]
    service.register(form(email="Convoitee@Exemple.fr"))
    with pytest.raises(ValidationError) as info:
        service.confirm_email_change(confirm)
    assert info.value.codes == {"email.taken"}
    assert service.get(account.id).email.address == "jean.dupont@exemple.fr"


def test_racing_confirmations_of_one_change_one_succeeds(service):
    """F10, R8: twenty concurrent confirmations of one link: exactly one wins."""
    account = service.register(form())
    service.change_email(account.id, "jean@nouveau.fr", PASSWORD)
    confirm = links(mails(service, MailKind.EMAIL_CHANGE_CONFIRM)[-1])["confirmer"]
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def confirm_once() -> None:
        barrier.wait()
        try:
            service.confirm_email_change(confirm)
        except ValidationError as exc:
            outcomes.append(next(iter(exc.codes)))
        else:
            outcomes.append("ok")

    threads = [threading.Thread(target=confirm_once) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ok"] + ["token.invalid"] * 19
    assert len(mails(service, MailKind.EMAIL_CHANGED)) == 1
    assert service.get(account.id).email.address == "jean@nouveau.fr"


def test_change_to_another_accounts_address_is_refused(service):
    """F10: a taken address is refused at once, nothing is sent."""
    account = service.register(form())
    service.register(form(email="autre@exemple.fr"))
    with pytest.raises(ValidationError) as info:
        service.change_email(account.id, "AUTRE@exemple.fr", PASSWORD)
    assert info.value.codes == {"email.taken"}
    assert mails(service, MailKind.EMAIL_CHANGE_CONFIRM) == []


def test_confirmation_kills_pending_resets(service, auth):
    """F10, R8: a reset link asked before the change dies with it."""
    account = service.register(form())
    auth.request_password_reset("jean.dupont@exemple.fr")
    reset = links(mails(service, MailKind.RESET_CONFIRM)[-1])["confirmer"]
    service.change_email(account.id, "jean@nouveau.fr", PASSWORD)
    service.confirm_email_change(
        links(mails(service, MailKind.EMAIL_CHANGE_CONFIRM)[-1])["confirmer"]
    )
    with pytest.raises(ValidationError):
        auth.confirm_password_reset(reset)


# -- verified sign-up (SPEC X5) ---------------------------------------------------


@pytest.fixture
def verified(uow_factory, clock):
    """Services with verified sign-up on."""
    return services(uow_factory, clock, verified_signup=True)


def test_verified_signup_is_off_by_default(service):
    """X5: the FAQ's fastest sign-up stays the default."""
    assert not Settings(base_url="https://www.lechoppe.fr").verified_signup
    service.register(form())
    with pytest.raises(ValidationError) as info:
        service.register(form())
    assert info.value.codes == {"email.taken"}


def test_new_account_logs_in_once_its_mailbox_is_proven(verified):
    """X5: an unverified account cannot log in; the link of its mail opens it."""
    service, auth, _ = verified
    account = service.register(form())
    assert service.get(account.id).status is AccountStatus.UNVERIFIED
    with pytest.raises(AuthenticationError):
        auth.login("jean.dupont@exemple.fr", PASSWORD)
    [mail] = mails(service, MailKind.SIGNUP_VERIFY)
    service.verify_signup(links(mail)["verifier"], PASSWORD)
    assert service.get(account.id).status is AccountStatus.ACTIVE
    assert auth.login("jean.dupont@exemple.fr", PASSWORD).account_id == account.id
    with pytest.raises(ValidationError):
        service.verify_signup(links(mail)["verifier"], PASSWORD)


def test_known_email_answers_as_a_new_one_and_tells_the_owner(
    verified, uow_factory, clock
):
    """X5: same port calls, same kind of answer; the owner gets the mail."""
    service, _, _ = verified
    owner = service.register(form(email="connu@exemple.fr"))
    [mail] = mails(service, MailKind.SIGNUP_VERIFY)
    service.verify_signup(links(mail)["verifier"], PASSWORD)  # an open account
    clock.advance(timedelta(minutes=5))
    log: list[str] = []
    spy, _, _ = services(recording(uow_factory, log), clock, verified_signup=True)
    traces, answers = {}, {}
    for email in ("nouveau@exemple.fr", "Connu@Exemple.fr"):
        log.clear()
        answers[email] = spy.register(form(email=email))
        traces[email] = list(log)
    assert traces["nouveau@exemple.fr"] == traces["Connu@Exemple.fr"]
    new, known = answers["nouveau@exemple.fr"], answers["Connu@Exemple.fr"]
    assert type(new) is type(known)
    assert known.id != owner.id  # never someone else's account
    assert new.status is known.status is AccountStatus.UNVERIFIED
    [told] = mails(service, MailKind.SIGNUP_EXISTING)
    assert told.to == "connu@exemple.fr"
    assert told.account_id == owner.id


def test_owner_is_told_once_per_cooldown(verified, clock):
    """X5, R6: a burst of sign-ups with a known email sends one mail."""
    service, _, _ = verified
    service.register(form())  # its verification mail starts the cooldown
    [mail] = mails(service, MailKind.SIGNUP_VERIFY)
    service.verify_signup(links(mail)["verifier"], PASSWORD)  # an open account
    clock.advance(timedelta(minutes=5))
    for _ in range(30):
        service.register(form())
        clock.advance(timedelta(seconds=5))
    assert len(mails(service, MailKind.SIGNUP_EXISTING)) == 1


# -- per-client limits -------------------------------------------------------------


def test_failures_from_one_client_never_lock_out_a_known_device(service, auth, clock):
    """P4 (amended): 200 failures from client A block the account, not B's device.

    The account's cap holds whatever the client key, so a client without
    a device token is blocked too; the customer's own device, which got a
    device token at an earlier login, still logs in.
    """
    service.register(form())
    earlier = auth.login("jean.dupont@exemple.fr", PASSWORD, client_key="B")
    assert earlier.device_token is not None
    for _ in range(200):
        with pytest.raises(AuthenticationError):
            auth.login("jean.dupont@exemple.fr", "pas le bon", client_key="A")
        clock.advance(timedelta(minutes=20))
    for key in ("A", "C"):
        with pytest.raises(AuthenticationError) as info:
            auth.login("jean.dupont@exemple.fr", PASSWORD, client_key=key)
        assert info.value.code == "login.blocked"
    session = auth.login(
        "jean.dupont@exemple.fr",
        PASSWORD,
        client_key="B",
        device_token=earlier.device_token.reveal(),
    )
    assert session.account_id


def test_a_reset_unblocks_a_client(service, auth, clock):
    """P4: a reset starts the per-client failure counts afresh."""
    account = service.register(form())
    for _ in range(100):
        with pytest.raises(AuthenticationError):
            auth.login("jean.dupont@exemple.fr", "pas le bon", client_key="A")
        clock.advance(timedelta(minutes=20))
    auth.issue_provisional_password(account.id, agent_id="a", reason="bloqué")
    with pytest.raises(AuthenticationError):
        auth.login("jean.dupont@exemple.fr", "pas le bon", client_key="A")
    assert auth.login("jean.dupont@exemple.fr", PASSWORD, client_key="A")


@pytest.mark.parametrize("action", ["login", "reset", "signup", "express"])
def test_each_action_is_limited_per_client(uow_factory, clock, action):
    """Past its limit a client is refused with a retry delay; others are not."""
    limits = ClientLimits(**{action: Limit(3, timedelta(minutes=10))})
    service, auth, _ = services(uow_factory, clock, client_limits=limits)
    from sample_forms import express  # noqa: PLC0415

    calls = {
        "login": lambda key, n: auth.login(f"x{n}@exemple.fr", "nope", client_key=key),
        "reset": lambda key, n: auth.request_password_reset(
            f"x{n}@exemple.fr", client_key=key
        ),
        "signup": lambda key, n: service.register(
            form(email=f"x{n}@exemple.fr"), client_key=key
        ),
        "express": lambda key, n: service.register_express(
            express(f"x{n}@exemple.fr"), client_key=key
        ),
    }
    call = calls[action]

    def attempt(key, n):
        with contextlib.suppress(AuthenticationError):
            call(key, n)

    for n in range(3):
        attempt("A", n)
    with pytest.raises(RateLimitedError) as info:
        call("A", 99)
    assert 0 < info.value.retry_after <= 600
    assert info.value.message().startswith("Trop de tentatives")
    attempt("B", 100)  # another client goes on
    clock.advance(timedelta(minutes=10))
    attempt("A", 101)  # a new window


def test_limits_hold_across_services_sharing_storage(uow_factory, clock):
    """The counts are stored: another process (service) sees them."""
    limits = ClientLimits(reset=Limit(2, timedelta(hours=1)))
    _, first, _ = services(uow_factory, clock, client_limits=limits)
    _, second, _ = services(uow_factory, clock, client_limits=limits)
    first.request_password_reset("a@exemple.fr", client_key="10.0.0.1")
    second.request_password_reset("b@exemple.fr", client_key="10.0.0.1")
    with pytest.raises(RateLimitedError):
        first.request_password_reset("c@exemple.fr", client_key="10.0.0.1")


def test_limit_validation():
    """A limit counts at least one call."""
    with pytest.raises(ValueError, match="count"):
        Limit(0, timedelta(minutes=1))
    assert attrs.evolve(ClientLimits(), login=None).for_action  # switchable off
