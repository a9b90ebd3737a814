"""One billing address shared by one to fifty delivery addresses (SPEC A1, A2, A5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import (
    MAX_DELIVERY_ADDRESSES,
    AddressBook,
    DeliveryAddress,
    PostalAddress,
    ValidationError,
)

PARIS = PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
LYON = PostalAddress.parse(["3 place Bellecour"], "69002", "Lyon")


def delivery(n: int, address: PostalAddress = PARIS) -> DeliveryAddress:
    """Return delivery address number *n*."""
    return DeliveryAddress(f"d{n}", f"Contact {n}", address)


def book_of(count: int) -> AddressBook:
    """Return a book billed in Paris with *count* delivery addresses."""
    return AddressBook(PARIS, [delivery(n) for n in range(count)])


def codes_raised(call, *args) -> frozenset[str]:
    """Return the codes of the ValidationError raised by *call*."""
    with pytest.raises(ValidationError) as info:
        call(*args)
    return info.value.codes


def test_the_limit_is_fifty():
    """A1: at most 50 delivery addresses."""
    assert MAX_DELIVERY_ADDRESSES == 50


def test_fifty_deliveries_accepted():
    """A1: a book may be filled up to 50 delivery addresses."""
    book = book_of(1)
    for n in range(1, 50):
        book.add_delivery(delivery(n))
    assert len(book.deliveries) == 50
    assert [d.id for d in book.deliveries] == [f"d{n}" for n in range(50)]


def test_fifty_first_refused_and_nothing_lost():
    """A1: the 51st is an explicit error; the book still holds the same 50."""
    book = book_of(50)
    before = list(book.deliveries)
    with pytest.raises(ValidationError) as info:
        book.add_delivery(delivery(50))
    assert info.value.codes == {"address.too_many_deliveries"}
    assert "50" in info.value.errors[0].message("fr")
    assert book.deliveries == before
    assert "d50" not in {d.id for d in book.deliveries}


def test_book_of_fifty_one_cannot_be_built():
    """A1: the limit also holds when a book is loaded or built whole."""
    deliveries = [delivery(n) for n in range(51)]
    assert codes_raised(AddressBook, PARIS, deliveries) == {
        "address.too_many_deliveries"
    }


def test_book_without_delivery_cannot_be_built():
    """A1: an account has at least one delivery address."""
    assert codes_raised(AddressBook, PARIS, []) == {"address.delivery_required"}


@given(st.integers(1, MAX_DELIVERY_ADDRESSES))
def test_any_count_up_to_fifty_kept_whole(count):
    """A1: any number of deliveries from 1 to 50 is kept, in order, none dropped."""
    book = book_of(count)
    assert [d.id for d in book.deliveries] == [f"d{n}" for n in range(count)]


def test_removing_the_last_delivery_refused():
    """A5: the last delivery address cannot be removed."""
    book = book_of(2)
    book.remove_delivery("d0")
    assert codes_raised(book.remove_delivery, "d1") == {"address.last_delivery"}
    assert [d.id for d in book.deliveries] == ["d1"]


def test_removing_one_of_several_keeps_the_others():
    """A5: removing a delivery address that is not the last one works."""
    book = book_of(3)
    book.remove_delivery("d1")
    assert [d.id for d in book.deliveries] == ["d0", "d2"]


@pytest.mark.parametrize("method", ["delivery", "remove_delivery"])
def test_unknown_delivery_id_refused(method):
    """A1: asking for a delivery address that does not exist is an error."""
    book = book_of(2)
    assert codes_raised(getattr(book, method), "nope") == {"address.unknown_delivery"}
    assert len(book.deliveries) == 2


def test_replace_unknown_delivery_refused():
    """A1: replacing a delivery address that does not exist is an error."""
    book = book_of(1)
    assert codes_raised(book.replace_delivery, delivery(9)) == {
        "address.unknown_delivery"
    }
    assert [d.id for d in book.deliveries] == ["d0"]


def test_replace_delivery_in_place():
    """A1: a delivery address is edited in place, keeping its id and position."""
    book = book_of(3)
    book.replace_delivery(DeliveryAddress("d1", "Marie Curie", LYON))
    assert [d.id for d in book.deliveries] == ["d0", "d1", "d2"]
    assert book.delivery("d1").address == LYON
    assert book.delivery("d1").contact_name == "Marie Curie"


def test_same_billing_accepted():
    """A2: a form may send the shared billing address along with a delivery."""
    book = book_of(2)
    book.check_shared_billing(None)
    book.check_shared_billing(
        PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
    )


def test_different_billing_refused():
    """A2: attaching another billing address to one delivery is refused."""
    book = book_of(2)
    with pytest.raises(ValidationError) as info:
        book.check_shared_billing(LYON)
    assert [(e.path, e.code) for e in info.value.errors] == [
        ("billing_address", "address.separate_billing")
    ]
    assert book.billing == PARIS


def test_changing_billing_changes_it_for_all():
    """A2: the billing address is the book's; every delivery then shares the new one."""
    book = book_of(3)
    book.billing = LYON
    book.check_shared_billing(LYON)
    assert codes_raised(book.check_shared_billing, PARIS) == {
        "address.separate_billing"
    }


def test_delivery_label_shows_contact_first():
    """F3: the parcel label starts with the delivery contact name."""
    item = DeliveryAddress("d1", "Marie Curie", LYON, "Bureau")
    assert item.render() == ("Marie Curie", "3 place Bellecour", "69002 LYON")
