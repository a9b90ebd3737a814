"""The outside review's findings of issue 18, reproduced, on memory and SQLite.

Takeover through an email change (F10), the email change as an oracle and
a spam relay (F10), squatting and pre-hijacking (X5), erasure missing
pending addresses (G3), the newsletter through an express checkout (F7).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from echoppe_accounts import (
    AccountService,
    AccountStatus,
    Argon2Hasher,
    AuthenticationError,
    AuthService,
    DeliveryForm,
    ExpressForm,
    InMemoryStore,
    MailKind,
    NotFoundError,
    PrivacyService,
    RateLimitedError,
    Settings,
    SQLiteStore,
    SystemSecrets,
    ValidationError,
)
from echoppe_accounts.testing import FrozenClock
from sample_forms import LYON, form, links, pending, temporary_password

PASSWORD = "une phrase de passe solide"
OWNER = "jean.dupont@exemple.fr"
THIEF = "voleur@exemple.fr"
HASHER = Argon2Hasher(memory_cost=8, time_cost=1)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    """A unit-of-work factory over the in-memory and SQLite adapters."""
    if request.param == "memory":
        return InMemoryStore().unit_of_work
    return SQLiteStore(tmp_path / "accounts.sqlite3").unit_of_work


@pytest.fixture
def clock() -> FrozenClock:
    """A clock that moves only when the test says so."""
    return FrozenClock()


def shop(store, clock, **settings):
    """Account, auth and privacy services sharing *settings*."""
    parts = {
        "uow": store,
        "clock": clock,
        "secrets": SystemSecrets(),
        "hasher": HASHER,
        "settings": Settings(base_url="https://www.lechoppe.fr", **settings),
    }
    return AccountService(**parts), AuthService(**parts), PrivacyService(**parts)


def mails(service, kind, to=None):
    """The queued mails of *kind* (to *to*), oldest first."""
    return [
        m
        for m in pending(service)
        if m.kind is kind and (to is None or m.to.lower() == to.lower())
    ]


# -- High: takeover through the email change (F10) ------------------------------------


def test_a_session_alone_cannot_change_the_email(store, clock):
    """F10: without the current password, no change starts and no mail goes."""
    service, _, _ = shop(store, clock)
    account = service.register(form())
    with pytest.raises(ValidationError) as info:
        service.change_email(account.id, THIEF, "pas le mot de passe")
    assert info.value.codes == {"password.wrong_current"}
    assert service.get(account.id).pending_email is None
    assert mails(service, MailKind.EMAIL_CHANGE_CONFIRM) == []


def test_the_owner_takes_the_account_back_after_a_confirmed_takeover(store, clock):
    """F10: the old address's link restores it, ends every session and link.

    The thief knew the password and confirmed from his mailbox at once; the
    owner's link (in the notice and in the "changed" mail) still works, the
    thief's session ends, and only a reset sent to the owner lets anyone in.
    """
    service, auth, _ = shop(store, clock)
    account = service.register(form())
    thief_session = auth.login(OWNER, PASSWORD)
    service.change_email(account.id, THIEF, PASSWORD)
    [notice] = mails(service, MailKind.EMAIL_CHANGE_NOTICE, OWNER)
    [confirm] = mails(service, MailKind.EMAIL_CHANGE_CONFIRM, THIEF)
    clock.advance(timedelta(milliseconds=65))
    service.confirm_email_change(links(confirm)["confirmer"])
    assert service.get(account.id).email.address == THIEF
    [changed] = mails(service, MailKind.EMAIL_CHANGED, OWNER)
    assert links(changed)  # the "email changed" mail carries the way back
    clock.advance(timedelta(days=6))
    service.cancel_email_change(links(notice)["annuler"])
    restored = service.get(account.id)
    assert restored.email.address == OWNER
    assert not auth.is_session_current(account.id, thief_session.session_stamp)
    with pytest.raises(AuthenticationError):
        auth.login(OWNER, PASSWORD)  # nobody in without the reset
    with pytest.raises(ValidationError):
        service.cancel_email_change(links(changed)["annuler"])  # every link died
    [reset] = mails(service, MailKind.RESET_CONFIRM, OWNER)
    auth.confirm_password_reset(links(reset)["confirmer"])
    temporary = temporary_password(mails(service, MailKind.TEMPORARY_PASSWORD)[-1])
    assert auth.login(OWNER, temporary).restricted


def test_the_restore_link_dies_after_seven_days(store, clock):
    """F10: the former address's link works 7 days from the request."""
    service, _, _ = shop(store, clock)
    account = service.register(form())
    service.change_email(account.id, THIEF, PASSWORD)
    [notice] = mails(service, MailKind.EMAIL_CHANGE_NOTICE, OWNER)
    [confirm] = mails(service, MailKind.EMAIL_CHANGE_CONFIRM, THIEF)
    service.confirm_email_change(links(confirm)["confirmer"])
    clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(ValidationError):
        service.cancel_email_change(links(notice)["annuler"])
    assert service.get(account.id).email.address == THIEF


def test_a_reset_for_the_former_address_sends_the_way_back(store, clock):
    """F10: a reset typed for the old address is not answered "unknown"."""
    service, auth, _ = shop(store, clock)
    account = service.register(form())
    service.change_email(account.id, THIEF, PASSWORD)
    [confirm] = mails(service, MailKind.EMAIL_CHANGE_CONFIRM, THIEF)
    service.confirm_email_change(links(confirm)["confirmer"])
    clock.advance(timedelta(hours=1))
    auth.request_password_reset(OWNER)
    assert mails(service, MailKind.RESET_UNKNOWN_EMAIL, OWNER) == []
    back = mails(service, MailKind.EMAIL_CHANGED, OWNER)[-1]
    service.cancel_email_change(links(back)["annuler"])
    assert service.get(account.id).email.address == OWNER


def test_the_former_address_cannot_be_claimed_in_the_window(store, clock):
    """F10: registering the old address would block its restoration: refused."""
    service, _, _ = shop(store, clock)
    account = service.register(form())
    service.change_email(account.id, THIEF, PASSWORD)
    [confirm] = mails(service, MailKind.EMAIL_CHANGE_CONFIRM, THIEF)
    service.confirm_email_change(links(confirm)["confirmer"])
    with pytest.raises(ValidationError) as info:
        service.register(form(email=OWNER))
    assert info.value.codes == {"email.taken"}


def test_a_checkout_with_the_former_address_sends_the_way_back(store, clock):
    """F10, X3: no second account on the former address; its mailbox is told."""
    service, _, _ = shop(store, clock)
    account = service.register(form())
    service.change_email(account.id, THIEF, PASSWORD)
    [confirm] = mails(service, MailKind.EMAIL_CHANGE_CONFIRM, THIEF)
    service.confirm_email_change(links(confirm)["confirmer"])
    clock.advance(timedelta(minutes=5))
    answer = service.register_express(
        ExpressForm(email=OWNER, delivery_address=express_delivery())
    )
    assert answer.account_id == account.id
    assert service.find_by_email(OWNER) is None  # no second account
    back = mails(service, MailKind.EMAIL_CHANGED, OWNER)[-1]
    service.cancel_email_change(links(back)["annuler"])
    assert service.get(account.id).email.address == OWNER


def test_the_owners_reset_kills_the_thiefs_pending_link(store, clock):
    """F10, R8: a pending change's link does not survive the owner's reset."""
    service, auth, _ = shop(store, clock)
    account = service.register(form())
    service.change_email(account.id, THIEF, PASSWORD)
    [confirm] = mails(service, MailKind.EMAIL_CHANGE_CONFIRM, THIEF)
    auth.request_password_reset(OWNER)
    [reset] = mails(service, MailKind.RESET_CONFIRM, OWNER)
    auth.confirm_password_reset(links(reset)["confirmer"])
    with pytest.raises(ValidationError) as info:
        service.confirm_email_change(links(confirm)["confirmer"])
    assert info.value.codes == {"token.invalid"}
    temporary = temporary_password(mails(service, MailKind.TEMPORARY_PASSWORD)[-1])
    assert auth.login(OWNER, temporary).restricted  # still the owner's


def test_cancelling_ends_the_sessions(store, clock):
    """F10, P6: whoever asked for the change held a session: it ends."""
    service, auth, _ = shop(store, clock)
    account = service.register(form())
    session = auth.login(OWNER, PASSWORD)
    service.change_email(account.id, THIEF, PASSWORD)
    [notice] = mails(service, MailKind.EMAIL_CHANGE_NOTICE, OWNER)
    service.cancel_email_change(links(notice)["annuler"])
    assert not auth.is_session_current(account.id, session.session_stamp)
    assert service.get(account.id).pending_email is None


# -- Medium: the oracle and the relay (F10) -------------------------------------------


def test_three_requests_a_day_per_account(store, clock):
    """F10: the fourth request of a day is refused, whatever its password."""
    service, _, _ = shop(store, clock)
    account = service.register(form())
    for n in range(3):
        service.change_email(account.id, f"essai{n}@exemple.fr", PASSWORD)
    with pytest.raises(RateLimitedError):
        service.change_email(account.id, "essai9@exemple.fr", PASSWORD)
    clock.advance(timedelta(days=1))
    service.change_email(account.id, "essai9@exemple.fr", PASSWORD)


def test_wrong_passwords_count_against_the_daily_limit(store, clock):
    """F10: the email change is no door for guessing the password."""
    service, _, _ = shop(store, clock)
    account = service.register(form())
    for _ in range(3):
        with pytest.raises(ValidationError):
            service.change_email(account.id, THIEF, "devine")
    with pytest.raises(RateLimitedError):
        service.change_email(account.id, THIEF, PASSWORD)


def test_a_client_is_limited_over_all_accounts(store, clock):
    """F10: one client key cannot probe through many accounts."""
    service, _, _ = shop(store, clock)
    ids = [service.register(form(email=f"client{n}@exemple.fr")).id for n in range(11)]
    for n, account_id in enumerate(ids[:10]):
        service.change_email(
            account_id, f"cible{n}@exemple.fr", PASSWORD, client_key="ip"
        )
    with pytest.raises(RateLimitedError):
        service.change_email(ids[10], "cible@exemple.fr", PASSWORD, client_key="ip")


def test_no_taken_answer_with_verified_signup(store, clock):
    """F10, X5: a taken address answers as a free one; its owner is told once."""
    service, _, _ = shop(store, clock, verified_signup=True)
    for email in (OWNER, "prober@exemple.fr"):
        service.register(form(email=email))
        [verify] = mails(service, MailKind.SIGNUP_VERIFY, email)
        service.verify_signup(links(verify)["verifier"], PASSWORD)
    prober = service.find_by_email("prober@exemple.fr")
    clock.advance(timedelta(minutes=5))
    service.change_email(prober.id, OWNER, PASSWORD)  # no email.taken
    service.change_email(prober.id, "libre@exemple.fr", PASSWORD)
    assert len(mails(service, MailKind.SIGNUP_EXISTING, OWNER)) == 1
    assert mails(service, MailKind.EMAIL_CHANGE_CONFIRM, OWNER) == []


def test_no_typed_text_reaches_an_unproven_address(store, clock):
    """F10, X5: the prober's chosen name is in no mail to an unproven address."""
    service, _, _ = shop(store, clock, verified_signup=True)
    spam = "Gagnez 1000 EUR sur www.evil.example"
    service.register(form(email="prober@exemple.fr", name=spam))
    [verify] = mails(service, MailKind.SIGNUP_VERIFY)
    assert spam not in verify.text
    assert spam not in verify.html
    service.verify_signup(links(verify)["verifier"], PASSWORD)
    prober = service.find_by_email("prober@exemple.fr")
    service.change_email(prober.id, "victime@exemple.fr", PASSWORD)
    [confirm] = mails(service, MailKind.EMAIL_CHANGE_CONFIRM)
    assert spam not in confirm.text
    assert spam not in confirm.html


def test_no_typed_name_reaches_an_unproven_former_address(store, clock):
    """F10: a sign-up on somebody's address, then moved away, relays nothing."""
    service, _, _ = shop(store, clock)
    spam = "Gagnez 1000 EUR"
    account = service.register(form(email="victime@exemple.fr", name=spam))
    service.change_email(account.id, "pirate@exemple.fr", PASSWORD)
    [confirm] = mails(service, MailKind.EMAIL_CHANGE_CONFIRM)
    service.confirm_email_change(links(confirm)["confirmer"])
    to_victim = [m for m in pending(service) if m.to == "victime@exemple.fr"]
    assert to_victim
    for mail in to_victim:
        assert spam not in mail.text
        assert spam not in mail.html


def test_no_typed_name_in_an_express_checkouts_mails(store, clock):
    """F10, X2: the set-password and newsletter mails greet nobody by name."""
    service, _, _ = shop(store, clock)
    spam = "Gagnez 1000 EUR"
    service.register_express(
        ExpressForm(
            email="victime@exemple.fr",
            delivery_address=express_delivery(),
            name=spam,
            newsletter=True,
            newsletter_wording_version="nl-1",
        )
    )
    for mail in pending(service):
        assert spam not in mail.text
        assert spam not in mail.html


# -- Medium: squatting and pre-hijacking (X5) -----------------------------------------


def test_an_unverified_signup_holds_its_email_24_hours_at_most(store, clock):
    """X5: past 24 hours it counts as absent, and the purge removes it."""
    service, _, _ = shop(store, clock, verified_signup=True)
    squatter = service.register(form(password="le mot de passe du pirate"))
    clock.advance(timedelta(hours=24, seconds=1))
    assert service.find_by_email(OWNER) is None
    assert service.purge_unverified() == 1
    with pytest.raises(NotFoundError):
        service.get(squatter.id)


def test_the_owners_signup_replaces_the_squatters(store, clock):
    """X5: nothing of the earlier sign-up is kept; its link dies."""
    service, auth, _ = shop(store, clock, verified_signup=True)
    service.register(
        form(name="Pirate", password="le mot de passe du pirate", phone="0699999999")
    )
    [squat_link] = mails(service, MailKind.SIGNUP_VERIFY)
    clock.advance(timedelta(minutes=10))
    mine = service.register(form())
    verify = mails(service, MailKind.SIGNUP_VERIFY)[-1]
    with pytest.raises(ValidationError):
        service.verify_signup(
            links(squat_link)["verifier"], "le mot de passe du pirate"
        )
    service.verify_signup(links(verify)["verifier"], PASSWORD)
    stored = service.get(mine.id)
    assert stored.status is AccountStatus.ACTIVE
    assert stored.name == "Jean Dupont"
    assert auth.login(OWNER, PASSWORD).account_id == mine.id
    with pytest.raises(AuthenticationError):
        auth.login(OWNER, "le mot de passe du pirate")


def test_a_reset_never_opens_somebody_elses_unverified_signup(store, clock):
    """X5, R1: the owner's reset is answered as for an unknown address."""
    service, auth, _ = shop(store, clock, verified_signup=True)
    service.register(form(password="le mot de passe du pirate"))
    clock.advance(timedelta(minutes=10))
    auth.request_password_reset(OWNER)
    assert mails(service, MailKind.RESET_CONFIRM) == []
    assert mails(service, MailKind.RESET_UNKNOWN_EMAIL, OWNER)


def test_a_verification_link_asks_for_the_signups_password(store, clock):
    """X5: a link reaching the owner for somebody else's sign-up opens nothing."""
    service, _, _ = shop(store, clock, verified_signup=True)
    account = service.register(form(password="le mot de passe du pirate"))
    [verify] = mails(service, MailKind.SIGNUP_VERIFY)
    with pytest.raises(ValidationError) as info:
        service.verify_signup(links(verify)["verifier"], PASSWORD)
    assert info.value.codes == {"password.wrong_current"}
    assert service.get(account.id).status is AccountStatus.UNVERIFIED


# -- Medium: erasure misses pending addresses (G3) ------------------------------------


def test_erasure_reaches_mails_to_the_pending_address(store, clock):
    """G3: a reset answer queued for the pending address goes with the account."""
    service, auth, privacy = shop(store, clock)
    account = service.register(form())
    service.change_email(account.id, "nouvelle@exemple.fr", PASSWORD)
    auth.request_password_reset("nouvelle@exemple.fr")  # "no account uses it"
    assert mails(service, MailKind.RESET_UNKNOWN_EMAIL, "nouvelle@exemple.fr")
    privacy.erase_account(account.id)
    assert [m for m in pending(service) if "nouvelle" in m.to] == []


def test_erasure_reaches_mails_to_the_former_address(store, clock):
    """G3: mails to the address an email change replaced go too, any kind."""
    service, auth, privacy = shop(store, clock)
    account = service.register(form())
    service.change_email(account.id, "nouvelle@exemple.fr", PASSWORD)
    [confirm] = mails(service, MailKind.EMAIL_CHANGE_CONFIRM)
    service.confirm_email_change(links(confirm)["confirmer"])
    clock.advance(timedelta(minutes=5))
    auth.request_password_reset(OWNER)
    privacy.erase_account(account.id)
    assert [m for m in pending(service) if m.to in {OWNER, "nouvelle@exemple.fr"}] == []


# -- Low: the newsletter through an express checkout (F7) ------------------------------


def express_delivery():
    """A delivery address form for an express checkout."""
    return DeliveryForm("Jean Dupont", LYON)


def test_an_express_tick_subscribes_nobody_until_the_link(store, clock):
    """F7: a confirm link first; no subscription and no event until followed."""
    service, _, privacy = shop(store, clock)
    answer = service.register_express(
        ExpressForm(
            email="victime@exemple.fr",
            delivery_address=express_delivery(),
            newsletter=True,
            newsletter_wording_version="nl-1",
        )
    )
    assert not service.get(answer.account_id).subscribed
    [confirm] = mails(service, MailKind.NEWSLETTER_CONFIRM)
    with service.uow() as tx:
        assert all(
            e.type.value != "account.newsletter_subscribed"
            for _, e in tx.events.after(0, 100)
        )
    privacy.confirm_newsletter_subscription(links(confirm)["confirmer"])
    assert service.get(answer.account_id).subscribed
