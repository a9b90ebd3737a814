"""The account's newsletter consent, with its proof (SPEC F7, M2)."""

from __future__ import annotations

from datetime import datetime

from echoppe_accounts.domain._account_state import AccountState, invalid_token
from echoppe_accounts.domain.consent import (
    ConsentRecord,
    ConsentSource,
    PendingSubscription,
)
from echoppe_accounts.domain.effects import EndLinks
from echoppe_accounts.domain.errors import ValidationError
from echoppe_accounts.domain.tokens import TokenPurpose


class ConsentSteps(AccountState):
    """How an account subscribes and unsubscribes (a base of :class:`Account`)."""

    @property
    def mailbox_proven(self) -> bool:
        """Whether a link sent to the current address was followed.

        Until then no mail to the address carries text somebody typed
        (SPEC F10, X5) and no subscription takes effect (F7).

        .. versionadded:: 0.2.0
        """
        return self.email_proven_at is not None

    @property
    def subscribed(self) -> bool:
        """Whether the customer currently receives the newsletter (off by default)."""
        return bool(self.newsletter) and self.newsletter[-1].subscribed

    # -- newsletter consent (SPEC F7) --------------------------------------------------

    def subscribe(
        self, at: datetime, source: ConsentSource, wording_version: str
    ) -> bool:
        """Subscribe; say whether it took effect or awaits a confirm link (SPEC F7).

        A subscription takes effect only for a proven mailbox: otherwise it
        is recorded as pending, and the service sends the confirm link. One
        that takes effect replaces a pending request, whose link dies (R8).
        """
        if not self.mailbox_proven:
            self.request_subscription(at, source, wording_version)
            return False
        self._guard_live()
        if not wording_version.strip():
            raise ValidationError.single("wording_version", "consent.wording_required")
        if self.pending_subscription is not None:
            self.pending_subscription = None
            self._effects.append(EndLinks.of({TokenPurpose.NEWSLETTER_CONFIRM}))
        self.newsletter.append(
            ConsentRecord(
                subscribed=True,
                at=at,
                source=source,
                wording_version=wording_version.strip(),
            )
        )
        return True

    def request_subscription(
        self, at: datetime, source: ConsentSource, wording_version: str
    ) -> None:
        """Start a double opt-in subscription; it counts once confirmed (SPEC F7).

        One pending subscription, one live link: the confirm link of an
        earlier request dies (SPEC R8), before the service sends the new one.
        """
        self._guard_live()
        if not wording_version.strip():
            raise ValidationError.single("wording_version", "consent.wording_required")
        self.pending_subscription = PendingSubscription(
            at, source, wording_version.strip()
        )
        self._effects.append(EndLinks.of({TokenPurpose.NEWSLETTER_CONFIRM}))

    def confirm_subscription(self, at: datetime) -> None:
        """Record the pending subscription, with its request and confirmation times.

        Its link reached the mailbox, which is now proven.
        """
        pending = self.pending_subscription
        if pending is None or self.is_erased:
            raise invalid_token()
        self._prove_mailbox(at)
        self.newsletter.append(
            ConsentRecord(
                subscribed=True,
                at=pending.at,
                source=pending.source,
                wording_version=pending.wording_version,
                confirmed_at=at,
            )
        )
        self.pending_subscription = None

    def import_subscription(self, at: datetime, wording_version: str) -> None:
        """Keep a subscription another shop recorded, with its proof (SPEC M2, F7).

        .. versionadded:: 0.2.0
        """
        self.newsletter.append(
            ConsentRecord(
                subscribed=True,
                at=at,
                source=ConsentSource.IMPORT,
                wording_version=wording_version.strip() or None,
            )
        )

    def unsubscribe(self, at: datetime, source: ConsentSource) -> None:
        """Record an unsubscription; always possible, always recorded (SPEC F7).

        A pending subscription is dropped, and its confirm link dies (SPEC R8).
        """
        self.pending_subscription = None
        self.newsletter.append(ConsentRecord(subscribed=False, at=at, source=source))
        self._effects.append(EndLinks.of({TokenPurpose.NEWSLETTER_CONFIRM}))
