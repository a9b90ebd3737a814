"""Registration, express checkout and completion, on every storage adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AccountStatus,
    AddressForm,
    Category,
    CompletionForm,
    ConsentSource,
    DeliveryForm,
    ExpressForm,
    MailKind,
    NotFoundError,
    OrganisationForm,
    PrivacyService,
    SystemSecrets,
    ValidationError,
)
from sample_forms import express, form, link_token, pending
from spies import recording


@pytest.mark.parametrize("category", list(Category))
def test_register_every_category(service, category):
    """Each category registers with its own required fields (C1, C3)."""
    account = service.register(form(category))
    stored = service.get(account.id)
    assert stored.category is category
    assert stored.status is AccountStatus.ACTIVE
    assert stored.phone.e164 == "+33612345678"
    assert (stored.organisation is None) == (category is Category.INDIVIDUAL)
    assert stored.password_hash.startswith("$argon2id$")
    assert not stored.subscribed  # F7: off unless ticked
    assert [m.kind for m in pending(service)] == [MailKind.WELCOME]


def test_same_email_in_another_case_is_one_account(service):
    """``Jean.Dupont@Exemple.FR`` and ``jean.dupont@exemple.fr``: one account (F1)."""
    first = service.register(form(email="Jean.Dupont@Exemple.FR"))
    with pytest.raises(ValidationError) as info:
        service.register(form(email="jean.dupont@exemple.fr"))
    assert info.value.codes == {"email.taken"}
    assert service.find_by_email("JEAN.DUPONT@exemple.fr") == first
    with service.uow() as tx:
        assert tx.accounts.count() == 1


def test_bad_form_reports_everything_and_stores_nothing(service):
    """All problems come at once, in French and English, and nothing is stored (F8)."""
    bad = form(
        Category.COMPANY,
        email="pas-une-adresse",
        phone="12",
        siret="73282932000079",
        password="court",
        billing_address=AddressForm(["1 rue X"], "96000", "Nulle Part"),
    )
    with pytest.raises(ValidationError) as info:
        service.register(bad)
    errors = info.value.as_dict("fr")
    assert set(errors) == {
        "email",
        "phone",
        "siret",
        "password",
        "billing_address.postal_code",
    }
    assert errors["siret"][0]["code"] == "siret.invalid_checksum"
    assert "SIRET" in info.value.messages("en")
    with service.uow() as tx:
        assert tx.accounts.count() == 0
        assert tx.outbox.pending_count() == 0


def test_newsletter_subscription_records_its_proof(service, clock):
    """Ticking the newsletter records time, source and wording version (F7)."""
    account = service.register(
        form(newsletter=True, newsletter_wording_version="nl-2026-01")
    )
    # Amended F7: the new mailbox is not proven, its confirm link comes first.
    assert not service.get(account.id).subscribed
    asked_at = clock.now()
    clock.advance(timedelta(minutes=3))
    [mail] = [m for m in pending(service) if m.kind is MailKind.NEWSLETTER_CONFIRM]
    PrivacyService(
        service.uow, service.clock, service.secrets, service.hasher, service.settings
    ).confirm_newsletter_subscription(link_token(mail))
    (record,) = service.get(account.id).newsletter
    assert record.subscribed
    assert record.at == asked_at
    assert record.source is ConsentSource.SIGNUP_FORM
    assert record.wording_version == "nl-2026-01"
    clock.advance(timedelta(days=3))
    service.unsubscribe_newsletter(account.id, source=ConsentSource.UNSUBSCRIBE_LINK)
    history = service.get(account.id).newsletter
    assert [r.subscribed for r in history] == [True, False]
    assert history[-1].at == clock.now()
    assert not service.get(account.id).subscribed


def test_subscription_without_wording_version_is_refused(service):
    """A subscription without the wording shown cannot be proven (F7)."""
    with pytest.raises(ValidationError) as info:
        service.register(form(newsletter=True))
    assert info.value.codes == {"consent.wording_required"}


def test_unknown_account(service):
    """Operations on an unknown id raise NotFoundError."""
    with pytest.raises(NotFoundError):
        service.get("00000000-0000-4000-8000-000000000000")


# -- express ----------------------------------------------------------------------


def test_express_creates_an_account_without_password(service, shop_settings):
    """Express creation needs an email and a delivery address only (X1, X2)."""
    result = service.register_express(express())
    account = service.get(result.account_id)
    assert account.status is AccountStatus.EXPRESS
    assert account.password_hash is None
    assert account.addresses.deliveries[0].contact_name == "Paul Client"
    (mail,) = pending(service)
    assert mail.kind is MailKind.SET_PASSWORD
    assert mail.to == "client@exemple.fr"
    assert f"{shop_settings.base_url}/compte/mot-de-passe/definir?jeton=" in mail.text
    assert link_token(mail) not in repr(mail)


def test_completion_keeps_the_account_and_proves_the_mailbox(service, clock):
    """Completing an express account keeps its id and addresses (X2)."""
    result = service.register_express(express())
    token = link_token(pending(service)[0])
    before = service.get(result.account_id)
    completed = service.complete_express(
        token,
        CompletionForm(
            password="une phrase de passe solide",
            phone="0692 12 34 56",
            category="entreprise",
            organisation=OrganisationForm("Exemple SA", "73282932000074"),
        ),
    )
    after = service.get(result.account_id)
    assert completed.id == after.id == before.id
    assert after.addresses == before.addresses
    assert after.status is AccountStatus.ACTIVE
    assert after.email_proven_at == clock.now()
    assert after.phone.region == "RE"
    assert after.category is Category.COMPANY
    assert service.hasher.verify(after.password_hash, "une phrase de passe solide")


def test_completion_token_is_single_use(service):
    """The set-password token works once (X2, R8)."""
    result = service.register_express(express())
    token = link_token(pending(service)[0])
    ok = CompletionForm(password="une phrase de passe solide", phone="0612345678")
    service.complete_express(token, ok)
    with pytest.raises(ValidationError) as info:
        service.complete_express(token, ok)
    assert info.value.codes == {"token.invalid"}
    assert service.get(result.account_id).status is AccountStatus.ACTIVE


def test_completion_token_expires(service, clock, shop_settings):
    """The set-password token is refused once its lifetime is over."""
    service.register_express(express())
    token = link_token(pending(service)[0])
    clock.advance(shop_settings.set_password_ttl)
    with pytest.raises(ValidationError) as info:
        service.complete_express(
            token,
            CompletionForm(password="une phrase de passe solide", phone="0612345678"),
        )
    assert info.value.codes == {"token.invalid"}


def test_refused_completion_keeps_the_token(service):
    """A bad completion form changes nothing and does not burn the token (F8)."""
    result = service.register_express(express())
    token = link_token(pending(service)[0])
    with pytest.raises(ValidationError) as info:
        service.complete_express(
            token, CompletionForm(password="court", phone="1", category="entreprise")
        )
    assert {"password", "phone", "organisation_name", "siret"} <= {
        e.path for e in info.value.errors
    }
    assert service.get(result.account_id).status is AccountStatus.EXPRESS
    service.complete_express(
        token, CompletionForm(password="une phrase de passe solide", phone="0612345678")
    )


@pytest.mark.parametrize("token", ["", "x", "A" * 43, "../../etc/passwd"])
def test_unknown_tokens_are_refused(service, token):
    """Any token that was not issued is refused with the same error."""
    with pytest.raises(ValidationError) as info:
        service.complete_express(token, CompletionForm())
    assert info.value.codes == {"token.invalid"}


def test_express_with_a_known_email_reveals_nothing(service):
    """An existing email gets no second account and the same answer (X3)."""
    full = service.register(form(email="Jean.Dupont@Exemple.FR"))
    answer = service.register_express(express("jean.dupont@exemple.fr", "Inconnu"))
    assert type(answer).__name__ == "ExpressRegistration"
    assert answer.account_id == full.id
    with service.uow() as tx:
        assert tx.accounts.count() == 1
    stored = service.get(full.id)
    assert [d.contact_name for d in stored.addresses.deliveries] == ["Marie Curie"]
    warning = pending(service)[-1]
    assert warning.kind is MailKind.EXISTING_ACCOUNT_CHECKOUT
    assert (
        warning.to == "Jean.Dupont@exemple.fr"
    )  # the stored address, not the typed one


def test_express_again_keeps_the_first_link(service, clock):
    """X4: a later checkout never cancels the owner's pending link.

    Within the four-minute cooldown no new mail goes; after it a new link
    is sent, and the first one still works until either is used (R8).
    """
    first = service.register_express(express())
    old = link_token(pending(service)[0])
    clock.advance(timedelta(minutes=3))
    assert service.register_express(express("CLIENT@exemple.fr")) == first
    assert len(pending(service)) == 1
    clock.advance(timedelta(minutes=2))
    assert service.register_express(express()) == first
    mails = pending(service)
    assert [m.kind for m in mails] == [MailKind.SET_PASSWORD] * 2
    new = link_token(mails[-1])
    ok = CompletionForm(password="une phrase de passe solide", phone="0612345678")
    service.complete_express(old, ok)
    with pytest.raises(ValidationError) as info:
        service.complete_express(new, ok)
    assert info.value.codes == {"token.invalid"}


@pytest.mark.parametrize("complete", [True, False])
def test_checkout_burst_sends_one_mail_per_cooldown(service, clock, complete):
    """X4: 200 checkouts with a known email queue one mail per four minutes."""
    if complete:
        service.register(form(email="client@exemple.fr"))
    service.register_express(express())  # tells the owner, or creates the account
    before = len(pending(service))
    for _ in range(199):
        service.register_express(express("Client@Exemple.fr"))
        clock.advance(timedelta(seconds=1))
    # 199 seconds, all within the cooldown of the first mail: nothing new.
    assert len(pending(service)) == before
    clock.advance(timedelta(minutes=4))
    service.register_express(express())
    assert len(pending(service)) == before + 1


def test_express_with_bad_input_reports_all(service):
    """Express creation validates everything at once (F8)."""
    with pytest.raises(ValidationError) as info:
        service.register_express(ExpressForm("nope", DeliveryForm("", AddressForm())))
    assert {e.path for e in info.value.errors} == {
        "email",
        "delivery_address.contact_name",
        "delivery_address.address.street_lines",
        "delivery_address.address.postal_code",
        "delivery_address.address.city",
    }


@pytest.mark.parametrize(
    ("address", "typed", "stored"),
    [
        (AddressForm(["2 rue de Sébastopol"], "98800", "Nouméa", "NC"), "75.12.34",
         "+687751234"),
        (AddressForm(["Route de Liku"], "98600", "Mata-Utu", "WF"), "82 12 34",
         "+681821234"),
        (AddressForm(["Rue du 11 novembre"], "97500", "Saint-Pierre", "PM"),
         "55 12 34", "+508551234"),
        (AddressForm(["12 rue des Lilas"], "75011", "Paris"), "06 12 34 56 78",
         "+33612345678"),
    ],
)  # fmt: skip
def test_address_country_reads_the_phone(service, address, typed, stored):
    """F2: the billing country tells which territory a 6-digit number is from."""
    account = service.register(form(phone=typed, billing_address=address))
    assert service.get(account.id).phone.e164 == stored


def test_six_digit_number_without_territory_address_is_ambiguous(service):
    """F2: with a mainland address, a 6-digit number asks for the +687 form."""
    with pytest.raises(ValidationError) as info:
        service.register(form(phone="75 12 34"))
    assert info.value.codes == {"phone.ambiguous"}
    assert "+687" in info.value.errors[0].message()


def test_contact_update_reads_the_phone_in_the_account_territory(service):
    """F2, G4: rectifying the phone uses the billing country as at sign-up."""
    noumea = AddressForm(["2 rue de Sébastopol"], "98800", "Nouméa", "NC")
    account = service.register(form(billing_address=noumea))
    service.update_contact(account.id, phone="75 12 34")
    assert service.get(account.id).phone.e164 == "+687751234"


def test_checkout_does_the_same_work_for_new_and_known_emails(
    service, uow_factory, clock, shop_settings
):
    """X4: a new email and an express account's email make the same port calls.

    The insertion is tried in both cases and the stored account read back,
    so neither the calls nor their order tell whether the email was known.
    """
    log: list[str] = []
    spy = AccountService(
        recording(uow_factory, log),
        clock,
        SystemSecrets(),
        FAST_HASHER,
        shop_settings,
    )
    service.register_express(express("connu@exemple.fr"))
    clock.advance(timedelta(minutes=5))  # past the cooldown of its first mail
    traces = {}
    for email in ("nouveau@exemple.fr", "connu@exemple.fr"):
        log.clear()
        spy.register_express(express(email))
        traces[email] = list(log)
    assert traces["nouveau@exemple.fr"] == traces["connu@exemple.fr"]
    assert traces["connu@exemple.fr"].count("accounts.add") == 1
