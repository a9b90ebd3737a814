"""A guest row and a registered customer with one email: one account (SPEC M1, M2).

PrestaShop keeps guest checkouts as customer rows and checks an email's
uniqueness among registered customers only, so a guest row may share a
registered customer's email (older or newer than hers). Within one run,
the registered customer's account is the one made, with her data; the
guest's addresses join her delivery addresses, deduplicated and at most
:data:`~echoppe_accounts.domain.addressbook.MAX_DELIVERY_ADDRESSES` (SPEC
A1), every address past that reported, never dropped silently (SPEC M2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import attrs

from echoppe_accounts.domain.account import Account
from echoppe_accounts.domain.address import PostalAddress
from echoppe_accounts.domain.addressbook import (
    MAX_DELIVERY_ADDRESSES,
    DeliveryAddress,
    new_deliveries,
)
from echoppe_accounts.domain.errors import FieldError
from echoppe_accounts.domain.forms import ParsedDelivery
from echoppe_accounts.domain.phone import Phone
from echoppe_accounts.service_layer.import_customers import Candidate

MERGED = "import.guest_merged"
_SHOWN = 200


def merged_entry() -> FieldError:
    """The report's entry of a merge (under the later of the two rows)."""
    return FieldError("email", MERGED)


def address_changes(guest: Candidate) -> list[FieldError]:
    """The changes made to a guest's addresses, reported when it is merged."""
    return [c for c in guest.changes if c.code.startswith("import.address_")]


def guest_addresses(
    billing: PostalAddress | None, deliveries: Iterable[ParsedDelivery], name: str
) -> list[ParsedDelivery]:
    """Every address of a guest as a delivery address, its billing one included."""
    found = list(deliveries)
    if billing is not None and all(d.address != billing for d in found):
        found.append(ParsedDelivery(name, billing, None))
    return found


def account_addresses(account: Account) -> list[ParsedDelivery]:
    """Every address of a stored (guest) account as a delivery address."""
    book = account.addresses
    if book is None:
        return []
    return guest_addresses(
        book.billing,
        (ParsedDelivery(d.contact_name, d.address, d.label) for d in book.deliveries),
        account.name,
    )


def join(
    deliveries: list[ParsedDelivery], extra: Iterable[ParsedDelivery]
) -> list[FieldError]:
    """Append to *deliveries* those of *extra* it lacks, up to the cap (SPEC A1).

    Two deliveries are the same when their contact and address are (the
    label aside). Returns the report's entries of the addresses past the cap.
    """
    taken, beyond = new_deliveries(deliveries, extra)
    deliveries.extend(taken)
    return [_beyond_entry(d.contact_name, d.address) for d in beyond]


def registered_with(
    registered: Candidate,
    billing: PostalAddress | None,
    addresses: Sequence[ParsedDelivery],
) -> tuple[Candidate, list[FieldError]]:
    """Return *registered* with a guest's *addresses* joined, and those past the cap.

    A registered customer without a usable address takes the guest's
    *billing* one (her account is then not to complete for it).
    """
    changes = list(registered.changes)
    own_billing = registered.billing
    if own_billing is None and billing is not None:
        own_billing = billing
        changes = [c for c in changes if c.code != "import.to_complete.address"]
    deliveries = list(registered.deliveries)
    beyond = join(deliveries, addresses) if own_billing is not None else []
    merged = attrs.evolve(
        registered,
        billing=own_billing,
        deliveries=tuple(deliveries),
        changes=tuple(changes),
    )
    return merged, beyond


def with_guest_extras(
    kept: Candidate,
    phone: Phone | None,
    newsletter: tuple[datetime | None, str] | None,
) -> Candidate:
    """Return *kept* with the phone and subscription another row gave, if it had none.

    The same customer's other row (a guest checkout) may hold a phone or a
    dated newsletter consent that the kept row lacks: nothing of it is
    dropped silently (SPEC M2), and a phone makes the account complete
    (M1). What the kept row has wins.
    """
    changes = kept.changes
    if kept.phone is None and phone is not None:
        changes = tuple(c for c in changes if c.code != "import.to_complete.phone")
    else:
        phone = kept.phone
    if kept.newsletter is not None:
        newsletter = kept.newsletter
    return attrs.evolve(kept, phone=phone, newsletter=newsletter, changes=changes)


def stored_subscription(account: Account) -> tuple[datetime | None, str] | None:
    """The subscription a stored (guest) account holds, as a candidate gives it."""
    if not account.subscribed:
        return None
    last = account.newsletter[-1]
    return last.at, last.wording_version or ""


def join_extras(account: Account, guest: Candidate, now: datetime) -> None:
    """Give *account* the phone and subscription of a guest row, if it has none.

    Through the aggregate: :meth:`~echoppe_accounts.Account.update_contact`
    and :meth:`~echoppe_accounts.Account.import_subscription` (SPEC M1, M2).
    """
    if account.phone is None and guest.phone is not None:
        account.update_contact(None, guest.phone)
    if guest.newsletter is not None and not account.subscribed:
        at, version = guest.newsletter
        account.import_subscription(at or guest.created_at or now, version)


def add_to_account(
    account: Account,
    billing: PostalAddress | None,
    addresses: Sequence[ParsedDelivery],
    new_id: Callable[[], str],
) -> tuple[list[FieldError], bool]:
    """Add a guest's *addresses* to a registered *account*, through the aggregate.

    :meth:`~echoppe_accounts.domain.account.Account.join_addresses` holds
    the rules (the cap, the duplicates, the billing address of an account
    without one); *new_id* makes each delivery address's id. Returns the
    report's entries of the addresses past the cap, and whether the account
    had no address book before.
    """
    offered = [
        DeliveryAddress(new_id(), d.contact_name, d.address, d.label) for d in addresses
    ]
    beyond, created = account.join_addresses(billing, offered)
    return [_beyond_entry(d.contact_name, d.address) for d in beyond], created


def _beyond_entry(contact_name: str, address: PostalAddress) -> FieldError:
    return FieldError(
        "delivery_street",
        "import.address_beyond_max",
        {
            "max": MAX_DELIVERY_ADDRESSES,
            "address": _shown(ParsedDelivery(contact_name, address, None)),
        },
    )


def _shown(delivery: ParsedDelivery) -> str:
    address = delivery.address
    street = " / ".join(address.street_lines)
    text = f"{street}, {address.postal_code} {address.city}, {address.country}"
    return text.encode("utf-8", "replace").decode()[:_SHOWN]
