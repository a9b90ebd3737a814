"""Newsletter consent with its proof (SPEC F7).

Subscription is off unless the customer ticks it. Each change is recorded
with its UTC time, its source and, for a subscription, the version of the
consent wording that was shown; the history is kept, so that the shop can
prove consent and honour every unsubscription.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs


class ConsentSource(enum.StrEnum):
    """Where a newsletter consent change was made.

    .. versionadded:: 0.2.0
    """

    SIGNUP_FORM = "signup_form"
    """The registration form."""
    CHECKOUT = "checkout"
    """Express account creation at checkout."""
    ACCOUNT_PAGE = "account_page"
    """The customer's account page."""
    UNSUBSCRIBE_LINK = "unsubscribe_link"
    """The link at the bottom of a newsletter."""
    CUSTOMER_SERVICE = "customer_service"
    """A customer-service agent, at the customer's request."""
    IMPORT = "import"
    """Imported with the customer's account from the platform the shop left.

    The wording version is the one that platform showed; the time is the
    import's (SPEC F7, O4).

    .. versionadded:: 0.2.0
    """


@attrs.frozen
class ConsentRecord:
    """One subscription or unsubscription, with its proof.

    .. versionadded:: 0.2.0
    """

    subscribed: bool
    at: datetime
    source: ConsentSource
    wording_version: str | None = None
    confirmed_at: datetime | None = None
    """With double opt-in, when the customer clicked the confirmation link."""


@attrs.frozen
class PendingSubscription:
    """A double opt-in subscription waiting for its confirmation link (SPEC F7).

    .. versionadded:: 0.2.0
    """

    at: datetime
    source: ConsentSource
    wording_version: str
