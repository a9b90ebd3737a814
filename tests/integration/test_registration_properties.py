"""Property tests of registration through the service, on SQLite (SPEC F1–F8)."""

from __future__ import annotations

import itertools

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FAST_HASHER
from echoppe_accounts import (
    AccountService,
    AddressForm,
    DeliveryForm,
    RegistrationForm,
    SQLiteStore,
    SystemSecrets,
    ValidationError,
)
from echoppe_accounts.testing import FrozenClock
from strategies import arbitrary_text, registration_forms

_files = itertools.count()


def _service(tmp_path, shop_settings):
    store = SQLiteStore(tmp_path / f"prop-{next(_files)}.sqlite3")
    ports = (store.unit_of_work, FrozenClock(), SystemSecrets(), FAST_HASHER)
    return store, AccountService(*ports, shop_settings)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=registration_forms())
def test_a_valid_account_survives_a_sqlite_round_trip(tmp_path, shop_settings, form):
    """What registration returns is exactly what a fresh store reads back (F1–F6)."""
    store, service = _service(tmp_path, shop_settings)
    account = service.register(form)
    reopened = SQLiteStore(store.path)
    with reopened.unit_of_work() as tx:
        loaded = tx.accounts.get(account.id)
    assert attrs.asdict(loaded) == attrs.asdict(account)


texts = arbitrary_text(max_size=50)


@st.composite
def garbage_forms(draw):
    """A registration form with arbitrary text in every field."""
    address = st.builds(AddressForm, st.lists(texts, max_size=5), texts, texts, texts)
    return RegistrationForm(
        category=draw(st.one_of(texts, st.sampled_from(["entreprise", "particulier"]))),
        email=draw(texts),
        phone=draw(texts),
        name=draw(texts),
        password=draw(texts),
        organisation_name=draw(texts),
        siret=draw(texts),
        chorus_requirement=draw(texts),
        chorus_service_code=draw(texts),
        chorus_engagement_number=draw(texts),
        billing_address=draw(address),
        delivery_addresses=draw(
            st.lists(st.builds(DeliveryForm, texts, address, texts), max_size=3)
        ),
        newsletter=draw(st.booleans()),
        newsletter_wording_version=draw(texts),
        language=draw(texts),
    )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=garbage_forms())
def test_arbitrary_input_succeeds_or_raises_only_validation_error(
    tmp_path, shop_settings, form
):
    """Any text in any field: an account or the library's error, storage untouched."""
    store, service = _service(tmp_path, shop_settings)
    refused: ValidationError | None = None
    try:
        service.register(form)
    except ValidationError as exc:
        refused = exc
    if refused is not None:
        assert refused.errors
        assert all(
            e.code and e.message("fr") and e.message("en") for e in refused.errors
        )
        with store.unit_of_work() as tx:
            assert tx.accounts.count() == 0
            assert tx.outbox.pending_count() == 0
