"""Erasure is final and complete: an erased account is inert (SPEC G3)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AccountStatus,
    AddressForm,
    AuthenticationError,
    AuthService,
    ConsentSource,
    DeliveryForm,
    InMemoryStore,
    MailKind,
    OrganisationForm,
    PrivacyService,
    Settings,
    SystemSecrets,
    ValidationError,
)
from echoppe_accounts.testing import FrozenClock
from sample_forms import LYON, express, form, links, pending, temporary_password

PASSWORD = "une phrase de passe solide"
NEW_PASSWORD = "un tout autre secret bien long"


def _services(uow_factory, clock):
    parts = {
        "uow": uow_factory,
        "clock": clock,
        "secrets": SystemSecrets(),
        "hasher": FAST_HASHER,
        "settings": Settings(base_url="https://www.lechoppe.fr"),
    }
    return AccountService(**parts), AuthService(**parts), PrivacyService(**parts)


def _operations(service, auth, privacy, account_id, email):
    """Every operation a customer, a shop or an agent may try on one account."""
    return {
        "provisional": lambda: auth.issue_provisional_password(
            account_id, agent_id="agent-1", reason="appel du client"
        ),
        "login": lambda: auth.login(email, PASSWORD),
        "reset": lambda: auth.request_password_reset(email),
        "change_password": lambda: auth.change_password(
            account_id, PASSWORD, NEW_PASSWORD
        ),
        "change_email": lambda: service.change_email(
            account_id, "autre@exemple.fr", PASSWORD
        ),
        "update_contact": lambda: service.update_contact(account_id, name="Quelqu’un"),
        "add_delivery": lambda: service.add_delivery_address(
            account_id, DeliveryForm("Paul", LYON)
        ),
        "billing": lambda: service.change_billing_address(
            account_id, AddressForm(["1 rue X"], "75001", "Paris")
        ),
        "category": lambda: service.change_category(
            account_id,
            "entreprise",
            OrganisationForm("Exemple SA", "732 829 320 00074"),
        ),
        "subscribe": lambda: service.subscribe_newsletter(
            account_id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-1"
        ),
        "double_opt_in": lambda: privacy.request_newsletter_subscription(
            account_id, source=ConsentSource.ACCOUNT_PAGE, wording_version="nl-1"
        ),
        "language": lambda: service.set_language(account_id, "en"),
        "opt_out": lambda: privacy.set_analytics_opt_out(account_id, opted_out=False),
        "erase_again": lambda: privacy.erase_account(account_id),
    }


def _mails_of(service, account_id):
    return [m for m in pending(service) if m.account_id == account_id]


@settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    deadline=None,
)
@given(
    order=st.permutations(
        list(_operations(*(None,) * 5))  # the names only
    )
)
def test_an_erased_account_stays_erased_whatever_is_tried(order):
    """G3: after erasure, no operation revives the account or mails it.

    Each is refused with a library error or does nothing observable on the
    account; in any order, the account stays erased, without a password,
    and no mail concerning it is queued.
    """
    clock = FrozenClock()
    service, auth, privacy = _services(InMemoryStore().unit_of_work, clock)
    account = service.register(form())
    privacy.erase_account(account.id)
    before = service.get(account.id)
    operations = _operations(
        service, auth, privacy, account.id, "jean.dupont@exemple.fr"
    )
    for name in order:
        # Refused with the library's own errors, or done without effect;
        # anything else escapes and fails the test.
        with contextlib.suppress(ValidationError, AuthenticationError):
            operations[name]()
        clock.advance(timedelta(minutes=5))
    after = service.get(account.id)
    assert after.status is AccountStatus.ERASED
    assert after.password_hash is None
    assert after == before
    assert _mails_of(service, account.id) == []


def test_provisional_password_on_erased_account_is_refused(service, auth, privacy):
    """G3: customer service cannot give an erased account a password."""
    account = service.register(form())
    privacy.erase_account(account.id)
    with pytest.raises(ValidationError) as info:
        auth.issue_provisional_password(account.id, agent_id="a", reason="r")
    assert info.value.codes == {"account.erased"}


def test_restricted_session_opened_before_erasure_cannot_revive(service, auth, privacy):
    """G3: a change token from before the erasure sets no password after it."""
    account = service.register(form())
    provisional = auth.issue_provisional_password(account.id, agent_id="a", reason="r")
    session = auth.login("jean.dupont@exemple.fr", provisional.reveal())
    privacy.erase_account(account.id)
    with pytest.raises(ValidationError) as info:
        auth.set_new_password(session.change_token.reveal(), NEW_PASSWORD)
    assert info.value.codes == {"token.invalid"}
    assert service.get(account.id).status is AccountStatus.ERASED


def test_email_change_of_erased_account_is_refused(service, privacy):
    """G3: an erased account cannot take an address again."""
    account = service.register(form())
    privacy.erase_account(account.id)
    with pytest.raises(ValidationError) as info:
        service.change_email(account.id, "retour@exemple.fr", PASSWORD)
    assert info.value.codes == {"account.erased"}


def test_erasure_deletes_mails_to_former_addresses(service, privacy):
    """G3: a mail to the address before an email change goes with the account.

    The notices to the former address hold the new address in their body
    (F10): erasure must reach them, sent or not.
    """
    account = service.register(form())
    service.change_email(account.id, "nouvelle@exemple.fr", PASSWORD)
    [confirm] = [m for m in pending(service) if m.kind is MailKind.EMAIL_CHANGE_CONFIRM]
    service.confirm_email_change(links(confirm)["confirmer"])
    assert any(m.kind is MailKind.EMAIL_CHANGED for m in pending(service))
    assert any(m.kind is MailKind.EMAIL_CHANGE_NOTICE for m in pending(service))
    privacy.erase_account(account.id)
    left = pending(service)
    assert left == []
    with service.uow() as tx:
        assert tx.outbox.pending_count() == 0


def test_erasure_deletes_the_no_account_mail_sent_before_sign_up(
    service, auth, privacy
):
    """G3: a reset mail sent to a spelling of the address before sign-up goes too."""
    auth.request_password_reset("JEAN.DUPONT@Exemple.FR")
    [unknown] = pending(service)
    assert unknown.kind is MailKind.RESET_UNKNOWN_EMAIL
    account = service.register(form(email="jean.dupont@exemple.fr"))
    privacy.erase_account(account.id)
    assert pending(service) == []


def test_erasure_keeps_other_customers_mails(service, privacy):
    """G3: erasure deletes the customer's mails, nobody else's."""
    account = service.register(form())
    other = service.register(form(email="autre@exemple.fr"))
    privacy.erase_account(account.id)
    assert [m.to for m in pending(service)] == ["autre@exemple.fr"]
    assert pending(service)[0].account_id == other.id


def test_erasure_forgets_what_staff_typed(service, auth, privacy):
    """G3: the free-text reason of a provisional password does not survive erasure."""
    account = service.register(form())
    auth.issue_provisional_password(
        account.id, agent_id="agent-7", reason="Mme Dupont, née Curie, 06 12 34 56 78"
    )
    privacy.erase_account(account.id)
    with service.uow() as tx:
        records = tx.audit.for_account(account.id)
    issued = [r for r in records if r.event.value == "provisional_password_issued"]
    assert issued, "the event itself stays"
    assert all("reason" not in r.details for r in records)
    assert "Curie" not in repr(records)


def test_erased_email_can_register_and_reset_again(service, auth, privacy):
    """G3: the freed email is a new customer's, with nothing of the old one."""
    account = service.register(form())
    privacy.erase_account(account.id)
    again = service.register(form())
    assert again.id != account.id
    auth.request_password_reset("jean.dupont@exemple.fr")
    reset = [m for m in pending(service) if m.kind is MailKind.RESET_CONFIRM]
    assert [m.account_id for m in reset] == [again.id]
    auth.confirm_password_reset(links(reset[0])["confirmer"])
    mail = next(m for m in pending(service) if m.kind is MailKind.TEMPORARY_PASSWORD)
    session = auth.login("jean.dupont@exemple.fr", temporary_password(mail))
    assert session.account_id == again.id
    assert service.get(account.id).status is AccountStatus.ERASED


def test_express_checkout_after_erasure_makes_a_new_account(service, privacy):
    """G3: a checkout with an erased customer's email never reaches the old account."""
    account = service.register(form(email="client@exemple.fr"))
    privacy.erase_account(account.id)
    answer = service.register_express(express())
    assert answer.account_id != account.id


def test_erasure_forgets_each_device_tokens_failure_count(service, auth, privacy):
    """G3, P4: a device token's own count of failed logins goes with the token."""
    from echoppe_accounts.domain.device import (  # noqa: PLC0415
        device_digest,
        device_failure_key,
    )

    account = service.register(form())
    token = auth.login(account.email.address, PASSWORD).device_token.reveal()
    with pytest.raises(AuthenticationError):
        auth.login(account.email.address, "pas le bon", device_token=token)
    key = device_failure_key(device_digest(token) or "")
    with service.uow() as tx:
        assert tx.throttles.get(key).failures == 1
    privacy.erase_account(account.id)
    with service.uow() as tx:
        assert tx.throttles.get(key).failures == 0
        assert tx.tokens.for_account(account.id) == []


def test_erasure_forgets_the_count_of_wrong_current_passwords(service, auth, privacy):
    """G3, P4: the count a password change keeps of wrong current passwords goes."""
    from echoppe_accounts.domain.throttle import password_check_key  # noqa: PLC0415

    account = service.register(form())
    with pytest.raises(ValidationError):
        auth.change_password(account.id, "pas le bon", "un tout autre secret long")
    key = password_check_key(account.id)
    with service.uow() as tx:
        assert tx.throttles.get(key).failures == 1
    privacy.erase_account(account.id)
    with service.uow() as tx:
        assert tx.throttles.get(key).failures == 0
