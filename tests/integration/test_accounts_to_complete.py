"""Imported accounts to complete, and disabled accounts, through the use cases.

SPEC M1: an account brought over from another shop without a phone, an
address or a SIRET logs in, is told what it misses, and completes exactly
that, every problem reported at once (F8) and nothing stored on failure.
SPEC M2, P3, R1, P6, R8: a disabled account is refused exactly as a wrong
password, its reset request answered as any other (its mailbox told so,
without a link), its sessions
and links ended; customer service disables and enables it, audited.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from builders import NOW, new_id
from conftest import FAST_HASHER
from echoppe_accounts import (
    Account,
    AccountCompletionForm,
    AccountService,
    AccountStatus,
    AddressForm,
    ApeCode,
    AuditEvent,
    AuthenticationError,
    AuthService,
    Category,
    DeliveryForm,
    Email,
    MailKind,
    Missing,
    Organisation,
    Phone,
    PrivacyService,
    Siren,
    SystemSecrets,
    ValidationError,
)
from sample_forms import express, form, links, pending

PASSWORD = "une phrase de passe solide"
WRONG = "pas le bon mot de passe"
HOME = AddressForm(["12 rue des Lilas"], "75011", "Paris")
DELIVERY = DeliveryForm(
    "Marie Curie", AddressForm(["3 place Bellecour"], "69002", "Lyon")
)
FULL = AccountCompletionForm(
    phone="06 12 34 56 78",
    billing_address=HOME,
    delivery=DELIVERY,
    siret="732 829 320 00074",
)


def imported(service, email="compta@acme.fr", **changes) -> Account:
    """Store an imported company to complete: no phone, no address, SIREN alone."""
    fields = {
        "id": new_id(),
        "email": Email.parse(email),
        "name": "Marie Curie",
        "category": Category.COMPANY,
        "created_at": NOW,
        "session_stamp": "stamp-0",
        "organisation": Organisation(
            "ACME", siren_alone=Siren.parse("732829320"), ape=ApeCode.parse("6201Z")
        ),
        "password_hash": FAST_HASHER.hash(PASSWORD),
    }
    fields.update(changes)
    account = Account.imported(**fields)
    with service.uow() as tx:
        tx.accounts.add(account)
        tx.commit()
    return account


def codes(exc: ValidationError) -> set[tuple[str, str]]:
    """The (path, code) pairs of *exc*."""
    return {(e.path, e.code) for e in exc.errors}


# -- M1: log in, then complete -----------------------------------------------------


def test_m1_an_account_to_complete_logs_in_and_is_told_what_it_misses(service, auth):
    """M1: the login works and says what to ask before anything else."""
    account = imported(service)
    result = auth.login("compta@acme.fr", PASSWORD)
    assert result.account_id == account.id
    assert result.to_complete == {Missing.PHONE, Missing.ADDRESS, Missing.SIRET}


def test_m1_a_complete_account_logs_in_with_nothing_to_complete(service, auth):
    """M1: a registered account misses nothing."""
    service.register(form())
    assert auth.login("jean.dupont@exemple.fr", PASSWORD).to_complete == frozenset()


def test_m1_completion_gives_the_missing_pieces_and_the_next_login_is_complete(
    service, auth
):
    """M1, C4: phone, billing + first delivery address and a SIRET of the SIREN."""
    account = imported(service)
    completed = service.complete_account(account.id, FULL)
    assert completed.missing == frozenset()
    stored = service.get(account.id)
    assert stored.phone is not None
    assert stored.phone.e164 == "+33612345678"
    assert stored.addresses is not None
    assert stored.addresses.billing.city == "Paris"
    assert [d.contact_name for d in stored.addresses.deliveries] == ["Marie Curie"]
    assert stored.organisation == Organisation(
        "ACME", stored.organisation.siret, ape=ApeCode("62.01Z")
    )
    assert auth.login("compta@acme.fr", PASSWORD).to_complete == frozenset()
    view = service.invoice_view(account.id)
    assert view.siret == "732 829 320 00074"
    assert view.ape == "62.01Z"
    assert view.billing_lines[0] == "ACME"
    with service.uow() as tx:
        (record,) = [
            r
            for r in tx.audit.for_account(account.id)
            if r.event is AuditEvent.ACCOUNT_COMPLETED
        ]
    assert record.details == {"pieces": "address,phone,siret"}


def test_m1_f8_every_problem_is_reported_at_once_and_nothing_is_stored(service):
    """F8, M1: required pieces and fields' problems together; the account unchanged."""
    account = imported(service, phone=None)
    bad = AccountCompletionForm(
        phone="12",
        billing_address=AddressForm([""], "7501", "Paris"),
        siret="732 829 320 00075",
    )
    with pytest.raises(ValidationError) as info:
        service.complete_account(account.id, bad)
    found = codes(info.value)
    assert ("delivery", "required") in found
    assert ("phone", "phone.invalid") in found
    assert ("siret", "siret.invalid_checksum") in found
    assert any(p.startswith("billing_address.") for p, _ in found)
    stored = service.get(account.id)
    assert stored.missing == {Missing.PHONE, Missing.ADDRESS, Missing.SIRET}
    assert stored.version == 0


def test_m1_a_piece_that_is_not_missing_is_refused(service):
    """M1, G4: what the account holds changes through the ordinary operations."""
    service.register(form())
    account = service.find_by_email("jean.dupont@exemple.fr")
    assert account is not None
    with pytest.raises(ValidationError) as info:
        service.complete_account(account.id, FULL)
    assert codes(info.value) == {("account", "account.already_complete")}
    to_complete = imported(
        service,
        phone=Phone("+33612345678", "FR"),
        category=Category.INDIVIDUAL,
        organisation=None,
    )
    with pytest.raises(ValidationError) as info:
        service.complete_account(to_complete.id, FULL)
    assert codes(info.value) == {
        ("phone", "completion.not_missing"),
        ("siret", "completion.not_missing"),
    }


def test_m1_c4_a_siret_of_another_company_than_the_siren_kept_is_refused(service):
    """C4, M1: the SIRET must belong to the SIREN the old shop kept."""
    account = imported(service)
    other = AccountCompletionForm(
        phone=FULL.phone,
        billing_address=HOME,
        delivery=DELIVERY,
        siret="216 901 231 00011",
    )
    with pytest.raises(ValidationError) as info:
        service.complete_account(account.id, other)
    assert codes(info.value) == {("siret", "siret.siren_mismatch")}
    assert (
        info.value.errors[0]
        .message("en")
        .endswith("SIREN 732 829 320, the one on your account.")
    )
    assert service.get(account.id).missing == {
        Missing.PHONE,
        Missing.ADDRESS,
        Missing.SIRET,
    }


def test_m1_a_business_without_organisation_gives_its_name_with_the_siret(service):
    """C3, M1: no organisation at all: its name is asked with the SIRET."""
    account = imported(service, organisation=None)
    with pytest.raises(ValidationError) as info:
        service.complete_account(account.id, FULL)
    assert codes(info.value) == {("organisation_name", "required")}
    named = AccountCompletionForm(
        phone=FULL.phone,
        billing_address=HOME,
        delivery=DELIVERY,
        siret=FULL.siret,
        organisation_name="ACME",
    )
    assert service.complete_account(account.id, named).organisation == Organisation(
        "ACME", service.get(account.id).organisation.siret
    )


def test_a1_the_address_book_refuses_an_account_without_addresses(service):
    """A1, M1: address book operations ask to complete the account first."""
    account = imported(service)
    for call in (
        lambda: service.add_delivery_address(account.id, DELIVERY),
        lambda: service.change_billing_address(account.id, HOME),
        lambda: service.remove_delivery_address(account.id, "d1"),
        lambda: service.update_delivery_address(account.id, "d1", DELIVERY),
    ):
        with pytest.raises(ValidationError) as info:
            call()
        assert codes(info.value) == {("addresses", "address.to_complete")}
        assert info.value.errors[0].message() == (
            "Votre compte n’a pas encore d’adresse : complétez d’abord votre compte."
        )
    service.update_contact(account.id, name=None, phone="06 12 34 56 78")
    assert service.get(account.id).missing == {Missing.ADDRESS, Missing.SIRET}


def test_g1_the_export_shows_what_is_missing_the_siren_and_the_ape(service, privacy):
    """G1, M1, M2: the export has no addresses yet, the SIREN alone and the APE."""
    account = imported(service)
    data = json.loads(privacy.export_personal_data(account.id).as_json())
    assert data["addresses"] is None
    assert data["account"]["to_complete"] == ["address", "phone", "siret"]
    assert data["organisation"]["siret"] is None
    assert data["organisation"]["siren"] == "732829320"
    assert data["organisation"]["ape"] == "62.01Z"
    page = privacy.export_personal_data(account.id).as_html()
    assert "62.01Z" in page


def test_a3_the_invoice_view_of_an_account_to_complete(service):
    """A3, M1: no billing lines yet; the SIREN kept and its VAT number are shown."""
    account = imported(service)
    view = service.invoice_view(account.id)
    assert view.billing_lines == ()
    assert view.siret is None
    assert (view.siren, view.vat_number, view.ape) == (
        "732829320",
        "FR44732829320",
        "62.01Z",
    )


# -- M2: disabled accounts --------------------------------------------------------


def test_m2_p3_disabled_unknown_and_wrong_password_fail_alike(service, auth):
    """P3, M2: same error, same message, one KDF each, the failure counted."""
    service.register(form())
    imported(service, "disabled@acme.fr", disabled=True)
    with pytest.raises(AuthenticationError):
        auth.login("premier@exemple.fr", WRONG)  # makes the dummy hash
    answers = {}
    for email, password in (
        ("disabled@acme.fr", PASSWORD),  # the right password of a disabled account
        ("disabled@acme.fr", WRONG),
        ("nobody@exemple.fr", PASSWORD),
        ("jean.dupont@exemple.fr", WRONG),
    ):
        before = auth.hasher.kdf_calls
        with pytest.raises(AuthenticationError) as info:
            auth.login(email, password)
        answers[email, password] = (
            info.value.code,
            info.value.message("en"),
            auth.hasher.kdf_calls - before,
        )
    assert set(answers.values()) == {("login.failed", info.value.message("en"), 1)}


def test_m2_p4_a_disabled_accounts_failures_are_counted(service, auth):
    """P4, M2: its right password counts as a failure, throttled like any other."""
    imported(service, "disabled@acme.fr", disabled=True)
    for _ in range(auth.throttle_policy.free_attempts + 1):
        with pytest.raises(AuthenticationError):
            auth.login("disabled@acme.fr", PASSWORD)
    with pytest.raises(AuthenticationError) as info:
        auth.login("disabled@acme.fr", PASSWORD)
    assert info.value.code == "login.throttled"


def _no_link(mail) -> None:
    """R2, R9: *mail* carries no link, token nor secret."""
    assert links(mail) == {}
    assert "jeton" not in mail.text
    assert "jeton" not in mail.html
    assert mail.expires_at is None


def test_m2_r1_a_disabled_accounts_reset_request_tells_it_without_a_link(service, auth):
    """R1, M2: one mail, as an unknown email gets, saying it is disabled; no link."""
    account = imported(service, "disabled@acme.fr", disabled=True)
    before = len(pending(service))
    assert auth.request_password_reset("Disabled@ACME.fr") is None
    assert auth.request_password_reset("personne@acme.fr") is None  # unknown
    new = pending(service)[before:]
    assert [m.kind for m in new] == [
        MailKind.ACCOUNT_DISABLED,
        MailKind.RESET_UNKNOWN_EMAIL,
    ]
    told = new[0]
    assert (told.to, told.account_id) == ("disabled@acme.fr", account.id)
    assert told.recipient_key == Email.parse("disabled@acme.fr").key
    assert told.subject == "Votre compte est désactivé"
    assert "service clients" in told.text
    _no_link(told)
    with service.uow() as tx:
        assert tx.resets.for_account(account.id) == []
        assert tx.tokens.for_account(account.id) == []


def test_m2_r6_a_disabled_account_is_told_once_per_cooldown(service, auth, clock):
    """R6, M2: within four minutes no second mail; after them, one more."""
    imported(service, "disabled@acme.fr", disabled=True)
    auth.request_password_reset("disabled@acme.fr")
    clock.advance(timedelta(minutes=4) - timedelta(seconds=1))
    auth.request_password_reset("disabled@acme.fr")
    told = [m for m in pending(service) if m.kind is MailKind.ACCOUNT_DISABLED]
    assert len(told) == 1
    clock.advance(timedelta(seconds=1))
    auth.request_password_reset("disabled@acme.fr")
    told = [m for m in pending(service) if m.kind is MailKind.ACCOUNT_DISABLED]
    assert len(told) == 2


def test_m2_t1_the_disabled_mail_speaks_the_accounts_language(service, auth):
    """T1, M2: in English for an English customer, naming the proven customer."""
    imported(service, "disabled@acme.fr", disabled=True, language="en")
    auth.request_password_reset("disabled@acme.fr")
    (told,) = [m for m in pending(service) if m.kind is MailKind.ACCOUNT_DISABLED]
    assert told.subject == "Your account is disabled"
    assert "please contact our customer service" in told.text


def test_m2_g3_erasure_forgets_the_disabled_mail(service, auth, privacy):
    """G3: the mail to a disabled account's address goes with the account."""
    account = imported(service, "disabled@acme.fr", disabled=True)
    auth.request_password_reset("disabled@acme.fr")
    assert any(m.to == "disabled@acme.fr" for m in pending(service))
    privacy.erase_account(account.id)
    assert [m for m in pending(service) if m.to == "disabled@acme.fr"] == []


def _moved_then_disabled(service, auth, clock) -> Account:
    """An account whose email changed (F10), then disabled by customer service."""
    account = service.register(form())
    service.change_email(account.id, "nouvelle@exemple.fr", PASSWORD)
    (confirm,) = [
        m for m in pending(service) if m.kind is MailKind.EMAIL_CHANGE_CONFIRM
    ]
    service.confirm_email_change(links(confirm)["confirmer"])
    clock.advance(timedelta(minutes=5))
    auth.disable_account(account.id, agent_id="agent-7", reason="fraude signalée")
    return account


def test_m2_f10_r1_a_disabled_accounts_former_address_gets_no_way_back(
    service, auth, clock
):
    """F10, R1, M2: a reset typed for the former address is told, without a link."""
    account = _moved_then_disabled(service, auth, clock)
    before = len(pending(service))
    auth.request_password_reset("jean.dupont@exemple.fr")
    (told,) = pending(service)[before:]
    assert (told.kind, told.to) == (
        MailKind.ACCOUNT_DISABLED,
        "jean.dupont@exemple.fr",
    )
    assert "Jean Dupont" not in told.text  # the former address: no typed name
    _no_link(told)
    with service.uow() as tx:
        live = [
            t for t in tx.tokens.for_account(account.id) if t.is_usable(clock.now())
        ]
    assert live == []


def test_m2_f10_x3_a_checkout_with_the_former_address_gets_no_way_back(
    service, auth, clock
):
    """F10, X3, M2: an express checkout with it tells the mailbox, no restore link."""
    _moved_then_disabled(service, auth, clock)
    before = len(pending(service))
    service.register_express(express("jean.dupont@exemple.fr"))
    new = pending(service)[before:]
    assert [(m.kind, m.to) for m in new] == [
        (MailKind.ACCOUNT_DISABLED, "jean.dupont@exemple.fr")
    ]
    _no_link(new[0])


def test_m2_g3_erasure_forgets_the_mail_to_the_former_address(
    service, auth, clock, privacy
):
    """G3: the disabled mail to the former address goes with the account too."""
    account = _moved_then_disabled(service, auth, clock)
    auth.request_password_reset("jean.dupont@exemple.fr")
    privacy.erase_account(account.id)
    assert [m for m in pending(service) if m.to == "jean.dupont@exemple.fr"] == []


def test_m2_g3_every_adapter_erases_the_disabled_mails(
    each_adapter_uow_factory, clock, shop_settings
):
    """G3, R1, F10: on every adapter, both disabled mails go with the account."""
    parts = {
        "uow": each_adapter_uow_factory,
        "clock": clock,
        "secrets": SystemSecrets(),
        "hasher": FAST_HASHER,
        "settings": shop_settings,
    }
    service, auth = AccountService(**parts), AuthService(**parts)
    account = _moved_then_disabled(service, auth, clock)
    auth.request_password_reset("jean.dupont@exemple.fr")  # the former address
    auth.request_password_reset("nouvelle@exemple.fr")  # its address
    told = [m for m in pending(service) if m.kind is MailKind.ACCOUNT_DISABLED]
    assert sorted((m.to, m.recipient_key) for m in told) == [
        ("jean.dupont@exemple.fr", Email.parse("jean.dupont@exemple.fr").key),
        ("nouvelle@exemple.fr", Email.parse("nouvelle@exemple.fr").key),
    ]
    PrivacyService(**parts).erase_account(account.id)
    left = {m.to for m in pending(service)}
    assert not left & {"jean.dupont@exemple.fr", "nouvelle@exemple.fr"}


def test_m2_p6_r8_disabling_ends_sessions_and_pending_links(service, auth):
    """P6, R8, M2: the session stamp changes; a reset link in flight dies."""
    service.register(form())
    account = service.find_by_email("jean.dupont@exemple.fr")
    assert account is not None
    result = auth.login("jean.dupont@exemple.fr", PASSWORD)
    auth.request_password_reset("jean.dupont@exemple.fr")
    (mail,) = [m for m in pending(service) if m.kind is MailKind.RESET_CONFIRM]
    auth.disable_account(account.id, agent_id="agent-7", reason="fraude signalée")
    assert not auth.is_session_current(account.id, result.session_stamp)
    with pytest.raises(ValidationError) as info:
        auth.confirm_password_reset(links(mail)["confirmer"])
    assert info.value.errors[0].code == "token.invalid"
    with pytest.raises(ValidationError) as info:
        auth.issue_provisional_password(account.id, agent_id="agent-7", reason="x")
    assert info.value.errors[0].code == "account.disabled"
    with pytest.raises(AuthenticationError):
        auth.login("jean.dupont@exemple.fr", PASSWORD)


def test_m2_customer_service_enables_again_and_both_steps_are_audited(
    service, auth, privacy
):
    """M2, R7, G3: agent and reason in the audit trail; the reason goes on erasure."""
    service.register(form())
    account = service.find_by_email("jean.dupont@exemple.fr")
    assert account is not None
    auth.disable_account(account.id, agent_id="agent-7", reason="fraude signalée")
    auth.disable_account(account.id, agent_id="agent-7", reason="encore")  # no-op
    assert service.get(account.id).status is AccountStatus.DISABLED
    auth.enable_account(account.id, agent_id="agent-8", reason="vérifié")
    assert service.get(account.id).status is AccountStatus.ACTIVE
    assert auth.login("jean.dupont@exemple.fr", PASSWORD).account_id == account.id
    with service.uow() as tx:
        records = [
            (r.event, r.actor, dict(r.details))
            for r in tx.audit.for_account(account.id)
            if r.event in {AuditEvent.ACCOUNT_DISABLED, AuditEvent.ACCOUNT_ENABLED}
        ]
    assert records == [
        (AuditEvent.ACCOUNT_DISABLED, "agent:agent-7", {"reason": "fraude signalée"}),
        (AuditEvent.ACCOUNT_ENABLED, "agent:agent-8", {"reason": "vérifié"}),
    ]
    privacy.erase_account(account.id, actor="customer")
    with service.uow() as tx:
        assert all("reason" not in r.details for r in tx.audit.for_account(account.id))


def test_m2_staff_must_say_who_and_why(service, auth):
    """R7, M2: an empty agent id or reason is refused, both at once."""
    service.register(form())
    account = service.find_by_email("jean.dupont@exemple.fr")
    assert account is not None
    with pytest.raises(ValidationError) as info:
        auth.disable_account(account.id, agent_id=" ", reason="")
    assert codes(info.value) == {("agent_id", "required"), ("reason", "required")}


def test_m2_an_imported_disabled_guest_enables_as_an_express_account(service, auth):
    """X2, M2: without a password, enabling gives an express account."""
    account = imported(service, "guest@acme.fr", password_hash=None, disabled=True)
    auth.enable_account(account.id, agent_id="agent-7", reason="demande client")
    assert service.get(account.id).status is AccountStatus.EXPRESS


def test_g3_a_disabled_account_can_be_erased_and_exported(service, privacy):
    """G1, G3, M2: the customer's rights do not depend on the account's status."""
    account = imported(service, "disabled@acme.fr", disabled=True)
    data = json.loads(privacy.export_personal_data(account.id).as_json())
    assert data["account"]["status"] == "disabled"
    privacy.erase_account(account.id, actor="customer")
    assert service.get(account.id).is_erased


def test_x3_registration_with_a_disabled_accounts_email_is_refused_as_taken(service):
    """M2, X3: the email of a disabled account stays taken."""
    imported(service, "jean.dupont@exemple.fr", disabled=True)
    with pytest.raises(ValidationError) as info:
        service.register(form())
    assert ("email", "email.taken") in codes(info.value)


def test_x2_m1_an_imported_guest_without_address_completes_its_password(service):
    """X2, M1: the set-password link works without an address; the address stays due."""
    from echoppe_accounts import CompletionForm  # noqa: PLC0415
    from echoppe_accounts.service_layer.express import (  # noqa: PLC0415
        issue_set_password,
    )

    guest = imported(
        service, "guest@acme.fr", password_hash=None, category=Category.INDIVIDUAL,
        organisation=None,
    )  # fmt: skip
    assert guest.status is AccountStatus.EXPRESS
    with service.uow() as tx:
        issue_set_password(service._ports, tx, guest)
        tx.commit()
    (mail,) = [m for m in pending(service) if m.kind is MailKind.SET_PASSWORD]
    token = next(iter(links(mail).values()))
    service.complete_express(
        token, CompletionForm(password="une phrase de passe solide", phone="0612345678")
    )
    after = service.get(guest.id)
    assert after.status is AccountStatus.ACTIVE
    assert after.missing == {Missing.ADDRESS}
