"""Account events a shop can follow without polling tables (SPEC O5).

An event says that something happened to an account: it was registered,
completed, its email or password changed, it was erased, the newsletter
consent was given or withdrawn, its category changed. Events are written in
the same transaction as the change, then delivered after commit to the
handlers the shop registers, at least once: each event has a stable
:attr:`AccountEvent.id` by which a handler drops a duplicate.

An event holds no secret and nothing that erasure would have to take back:
the account id, the kind of change and, where useful, a non-personal value
(the new category, the consent source). A shop that needs the new email
reads the account.

>>> from datetime import UTC, datetime
>>> event = AccountEvent("e-1", EventType.CATEGORY_CHANGED, "acc-1",
...                      datetime(2026, 11, 25, 14, 7, tzinfo=UTC),
...                      {"category": "company"})
>>> event.as_dict()["type"]
'account.category_changed'
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs


class EventType(enum.StrEnum):
    """What happened to an account (SPEC O5).

    .. versionadded:: 0.2.0
    """

    REGISTERED = "account.registered"
    """A full registration, or an express account created at checkout.

    With verified sign-up on (SPEC X5) it is emitted when the mailbox is
    proven (the verification link followed), not at the sign-up itself.
    """
    COMPLETED = "account.completed"
    """An express account was completed with its set-password link (SPEC X2).

    Only then: a verified sign-up emits :attr:`REGISTERED` instead.
    """
    EMAIL_CHANGED = "account.email_changed"
    """The new address was proven and is now the account's (SPEC F10).

    Also emitted when the former address is restored with its link.
    """
    PASSWORD_CHANGED = "account.password_changed"  # noqa: S105 (an event name)
    """The password was changed by the customer, a reset or customer service."""
    ERASED = "account.erased"
    """The account was erased (SPEC G3)."""
    NEWSLETTER_SUBSCRIBED = "account.newsletter_subscribed"
    """Newsletter consent was given (confirmed, with double opt-in)."""
    NEWSLETTER_UNSUBSCRIBED = "account.newsletter_unsubscribed"
    """Newsletter consent was withdrawn."""
    CATEGORY_CHANGED = "account.category_changed"
    """The customer category changed (SPEC C5)."""


@attrs.frozen
class AccountEvent:
    """One thing that happened to one account.

    Attributes:
        id: Stable identifier, the same at every delivery of this event.
        type: What happened.
        account_id: The account it happened to.
        at: When (UTC).
        data: Non-personal details (``{"category": "company"}``).

    .. versionadded:: 0.2.0
    """

    id: str
    type: EventType
    account_id: str
    at: datetime
    data: Mapping[str, str] = attrs.field(factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the event as JSON-ready data."""
        return {
            "id": self.id,
            "type": self.type.value,
            "account_id": self.account_id,
            "at": self.at.isoformat(),
            "data": dict(self.data),
        }
