"""Another record's addresses join the book on the aggregate (SPEC M1, M2, A1).

``Account.join_addresses`` is what a guest-row merge of the import calls: the
cap, the duplicates and the billing address of an account without a book are
the account's rules, so no use case can forget them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import (
    MAX_DELIVERY_ADDRESSES,
    Account,
    AddressBook,
    Category,
    DeliveryAddress,
    Email,
    Missing,
    PostalAddress,
    ValidationError,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARIS = PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
CITIES = [
    PostalAddress.parse([f"{n} rue de la Paix"], f"{75001 + n % 20:05d}", "Paris")
    for n in range(1, 80)
]


def imported(*, book: AddressBook | None) -> Account:
    """Return an imported account holding *book* (``None``: to complete)."""
    return Account.imported(
        id="acc-1",
        email=Email.parse("jeanne.martin@exemple.fr"),
        name="Jeanne Martin",
        category=Category.INDIVIDUAL,
        created_at=NOW,
        session_stamp="stamp",
        addresses=book,
        password_hash="$argon2id$fake",
    )


def delivery(n: int, contact: str = "Jeanne Martin") -> DeliveryAddress:
    """Return a delivery address at address number *n* of :data:`CITIES`."""
    return DeliveryAddress(f"new-{n}", contact, CITIES[n % len(CITIES)])


def test_new_addresses_join_in_order_and_duplicates_are_skipped():
    """M2: the guest's addresses are kept; one the book holds is not doubled."""
    account = imported(book=AddressBook(PARIS, [delivery(0)]))
    beyond, created = account.join_addresses(
        None, [delivery(0), delivery(1), delivery(1), delivery(2)]
    )
    assert (beyond, created) == ([], False)
    assert [d.address for d in account.address_book().deliveries] == [
        CITIES[0],
        CITIES[1],
        CITIES[2],
    ]
    assert account.address_book().billing == PARIS


def test_a_label_alone_does_not_make_another_address():
    """Same contact and address, another label: the same delivery address."""
    account = imported(book=AddressBook(PARIS, [delivery(3)]))
    labelled = DeliveryAddress("x", "Jeanne Martin", CITIES[3], "Bureau")
    assert account.join_addresses(None, [labelled]) == ([], False)
    assert len(account.address_book().deliveries) == 1


def test_past_fifty_addresses_are_returned_not_dropped():
    """A1, M2: the book stops at fifty; the rest come back to be reported."""
    held = [delivery(n) for n in range(48)]
    account = imported(book=AddressBook(PARIS, held))
    offered = [delivery(n) for n in range(48, 53)]
    beyond, _ = account.join_addresses(None, offered)
    assert len(account.address_book().deliveries) == MAX_DELIVERY_ADDRESSES
    assert beyond == offered[2:]


def test_an_account_without_a_book_takes_the_billing_address():
    """M1: a guest's billing address completes an account that had none."""
    account = imported(book=None)
    assert Missing.ADDRESS in account.missing
    beyond, created = account.join_addresses(PARIS, [delivery(1)])
    assert (beyond, created) == ([], True)
    assert account.address_book().billing == PARIS
    assert Missing.ADDRESS not in account.missing


def test_no_book_and_nothing_offered_changes_nothing():
    """Nothing to join: the account stays to complete."""
    account = imported(book=None)
    assert account.join_addresses(None, []) == ([], False)
    assert account.addresses is None


def test_deliveries_without_any_billing_address_are_refused():
    """A2: delivery addresses need the billing address they share."""
    account = imported(book=None)
    with pytest.raises(ValidationError) as info:
        account.join_addresses(None, [delivery(1)])
    assert info.value.codes == {"address.to_complete"}
    assert account.addresses is None


def test_an_erased_account_takes_no_address():
    """G3: erasure is final; nothing joins an erased account's book."""
    account = imported(book=AddressBook(PARIS, [delivery(0)]))
    account.erase(NOW, lambda: "stamp-2")
    before = account.addresses
    with pytest.raises(ValidationError) as info:
        account.join_addresses(PARIS, [delivery(1)])
    assert info.value.codes == {"account.erased"}
    assert account.addresses == before


@given(
    held=st.lists(st.integers(0, 78), min_size=1, max_size=50, unique=True),
    offered=st.lists(
        st.tuples(st.integers(0, 78), st.sampled_from(["Jeanne Martin", "Paul"])),
        max_size=80,
    ),
)
def test_every_offered_address_is_held_skipped_as_a_double_or_returned(
    held: list[int], offered: list[tuple[int, str]]
):
    """A1, M2: never past fifty, never doubled, never lost."""
    account = imported(book=AddressBook(PARIS, [delivery(n) for n in held]))
    deliveries = [delivery(n, contact) for n, contact in offered]
    beyond, created = account.join_addresses(None, deliveries)
    book = account.address_book().deliveries
    pairs = [(d.contact_name, d.address) for d in book]
    assert not created
    assert len(book) <= MAX_DELIVERY_ADDRESSES
    assert len(set(pairs)) == len(pairs)
    for d in deliveries:
        assert (d.contact_name, d.address) in pairs or d in beyond
    if beyond:
        assert len(book) == MAX_DELIVERY_ADDRESSES
