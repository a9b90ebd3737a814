"""One billing address shared by one to fifty delivery addresses (SPEC A1–A5).

>>> home = PostalAddress.parse(["12 rue des Lilas"], "75011", "Paris")
>>> book = AddressBook(home, [DeliveryAddress("d1", "Marie Curie", home)])
>>> book.add_delivery(DeliveryAddress("d2", "Pierre Curie", home))
>>> len(book.deliveries)
2
>>> book.remove_delivery("d1"); book.remove_delivery("d2")
Traceback (most recent call last):
...
echoppe_accounts.ValidationError: delivery_addresses: The last delivery...
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

import attrs

from echoppe_accounts.domain.address import PostalAddress
from echoppe_accounts.domain.errors import ValidationError

MAX_DELIVERY_ADDRESSES = 50
"""Most delivery addresses one account may hold (SPEC A1)."""
CONTACT_NAME_LENGTH = 38
"""Longest delivery contact name: it is the first line of the delivery address."""
LABEL_LENGTH = 40
"""Longest label a customer may give a delivery address ("Bureau", "Maison")."""


class _Delivery(Protocol):
    @property
    def contact_name(self) -> str: ...
    @property
    def address(self) -> PostalAddress: ...


_D = TypeVar("_D", bound=_Delivery)


def new_deliveries(
    held: Sequence[_D], offered: Iterable[_D]
) -> tuple[list[_D], list[_D]]:
    """Split *offered* into the deliveries to add to *held* and those past the cap.

    A delivery *held* already has (the same contact and address, the label
    aside), or offered twice, is neither: it is the same delivery address.
    At most :data:`MAX_DELIVERY_ADDRESSES` are held in all (SPEC A1); the
    rest are returned for the caller to report, never dropped silently
    (SPEC M2).

    .. versionadded:: 0.2.0
    """
    seen = {(d.contact_name, d.address) for d in held}
    room = MAX_DELIVERY_ADDRESSES - len(held)
    taken: list[_D] = []
    beyond: list[_D] = []
    for delivery in offered:
        same = (delivery.contact_name, delivery.address)
        if same in seen:
            continue
        if len(taken) >= room:
            beyond.append(delivery)
            continue
        seen.add(same)
        taken.append(delivery)
    return taken, beyond


@attrs.frozen
class DeliveryAddress:
    """A delivery address and the person to hand the parcel to (SPEC F3).

    The contact name is for the carrier only: it never appears on an invoice
    (SPEC A3).

    .. versionadded:: 0.2.0
    """

    id: str
    contact_name: str
    address: PostalAddress
    label: str | None = None

    def render(self) -> tuple[str, ...]:
        """Return the address lines for a parcel label, contact name first."""
        return self.address.render(self.contact_name)


@attrs.define
class AddressBook:
    """The account's single billing address and its delivery addresses.

    Every delivery address shares :attr:`billing` (SPEC A2): there is no way
    to give one of them a billing address of its own, and changing the
    billing address changes it for all.

    Attributes:
        billing: The single billing address of the account.
        deliveries: One to fifty delivery addresses, in the customer's order.

    .. versionadded:: 0.2.0
    """

    billing: PostalAddress
    deliveries: list[DeliveryAddress]

    def __attrs_post_init__(self) -> None:
        """Check the invariants of SPEC A1 on construction."""
        if not self.deliveries:
            raise ValidationError.single(
                "delivery_addresses", "address.delivery_required"
            )
        if len(self.deliveries) > MAX_DELIVERY_ADDRESSES:
            raise ValidationError.single(
                "delivery_addresses",
                "address.too_many_deliveries",
                max=MAX_DELIVERY_ADDRESSES,
            )

    def delivery(self, delivery_id: str) -> DeliveryAddress:
        """Return the delivery address *delivery_id*, or raise."""
        for item in self.deliveries:
            if item.id == delivery_id:
                return item
        raise ValidationError.single("delivery_address_id", "address.unknown_delivery")

    def add_delivery(self, delivery: DeliveryAddress) -> None:
        """Add *delivery*; past fifty an explicit error, never a silent drop."""
        if len(self.deliveries) >= MAX_DELIVERY_ADDRESSES:
            raise ValidationError.single(
                "delivery_addresses",
                "address.too_many_deliveries",
                max=MAX_DELIVERY_ADDRESSES,
            )
        self.deliveries.append(delivery)

    def remove_delivery(self, delivery_id: str) -> None:
        """Remove a delivery address; the last one cannot go (SPEC A5)."""
        item = self.delivery(delivery_id)
        if len(self.deliveries) == 1:
            raise ValidationError.single("delivery_addresses", "address.last_delivery")
        self.deliveries.remove(item)

    def replace_delivery(self, delivery: DeliveryAddress) -> None:
        """Replace the delivery address with the same id as *delivery*."""
        index = self.deliveries.index(self.delivery(delivery.id))
        self.deliveries[index] = delivery

    def check_shared_billing(self, billing: PostalAddress | None) -> None:
        """Refuse a billing address other than the account's for one delivery.

        A shop form may send the billing address alongside a delivery
        address; it must be the shared one (SPEC A2).
        """
        if billing is not None and billing != self.billing:
            raise ValidationError.single("billing_address", "address.separate_billing")
