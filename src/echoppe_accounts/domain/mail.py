"""Outgoing mail as the domain decides it: kept in the outbox until delivered.

A mail in the outbox is *pending* until it is *sent*, *dead* (a dead letter:
refused for good, or failing past its retry window; it can be requeued or
purged) or *dropped* (its secret expired before it could go: SPEC O1).
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from echoppe_accounts.domain.email import canonical_key
from echoppe_accounts.domain.errors import ValidationError


class MailKind(enum.StrEnum):
    """Why a mail is sent; used for templates, tests and the audit trail.

    .. versionadded:: 0.2.0
    """

    WELCOME = "welcome"
    """After a full registration."""
    SET_PASSWORD = "set_password"  # noqa: S105 (a mail kind, not a password)
    """Complete an express account (SPEC X2)."""
    EXISTING_ACCOUNT_CHECKOUT = "existing_account_checkout"
    """Someone checked out with the address of an existing account (SPEC X3)."""
    RESET_CONFIRM = "reset_confirm"
    """Mail 1 of a reset, to confirm it or say "this was not me" (SPEC R2)."""
    RESET_UNKNOWN_EMAIL = "reset_unknown_email"
    """A reset was asked for an address that has no account (SPEC R1)."""
    TEMPORARY_PASSWORD = "temporary_password"  # noqa: S105 (a mail kind)
    """Mail 2 of a reset, with the temporary password (SPEC R3)."""
    PROVISIONAL_PASSWORD_NOTICE = "provisional_password_notice"  # noqa: S105
    """Customer service issued a provisional password (SPEC R7)."""
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a mail kind)
    """The password was changed (SPEC R10)."""
    NEWSLETTER_CONFIRM = "newsletter_confirm"
    """Confirm a double opt-in newsletter subscription (SPEC F7)."""
    EMAIL_CHANGED = "email_changed"
    """The email address was changed; sent to the former address."""
    EMAIL_CHANGE_CONFIRM = "email_change_confirm"
    """Sent to the new address, whose owner confirms it (SPEC F10).

    .. versionadded:: 0.2.0
    """
    EMAIL_CHANGE_NOTICE = "email_change_notice"
    """Sent to the current address when a change is asked, with a cancel link (F10).

    .. versionadded:: 0.2.0
    """
    SIGNUP_VERIFY = "signup_verify"
    """Asks a verified sign-up to prove its mailbox, which opens the account (SPEC X5).

    .. versionadded:: 0.2.0
    """
    SIGNUP_EXISTING = "signup_existing"
    """Tells an account's owner that a verified sign-up used their address (X5).

    .. versionadded:: 0.2.0
    """
    ACCOUNT_DISABLED = "account_disabled"
    """Answers a reset, or meets the former address, of a disabled account (M2, R1).

    Sent where a link would go to an enabled account: to the address of a
    disabled account a reset was asked for, or to its former address (F10).
    It carries no link; it says the account is disabled and that customer
    service can enable it. Its outbox row names its recipient, so erasure
    finds it by its recipient's key as well as by its account (SPEC G3).

    .. versionadded:: 0.2.0
    """
    ACCOUNT_ERASED = "account_erased"
    """The last mail of an account its customer erased (SPEC W2, G3).

    Queued only when the erasure asks for it; it names nobody.

    .. versionadded:: 0.2.0
    """


ADDRESS_WIPED_WHEN_SENT = frozenset({MailKind.ACCOUNT_ERASED})
"""Kinds whose outbox row forgets its recipient, not only its bodies, once sent.

The last mail of an erased account goes after the erasure that deleted the
account's other mails (SPEC G3, W2): once delivered, nothing of the address
stays behind.

.. versionadded:: 0.2.0
"""


def _recipient_key(mail: OutgoingMail) -> str | None:
    try:
        return canonical_key(mail.to)
    except ValidationError:
        return None


@attrs.frozen
class OutgoingMail:
    """A mail waiting in the outbox, or sent.

    The bodies may carry a link with a token: they are kept out of ``repr``
    (SPEC R9).

    Attributes:
        id: Stable identifier, also the ``Message-ID`` local part.
        kind: Why the mail is sent.
        to: The stored address of the account, never a typed one.
        subject: Subject line.
        text: Plain-text body.
        html: HTML body.
        created_at: When the mail was decided (UTC).
        account_id: The account the mail concerns, if one does; erasing the
            account deletes the mail, whatever address it goes to (SPEC G3).
        recipient_key: The canonical key of *to* (the key of
            :class:`~echoppe_accounts.Email`), by which erasure finds mails
            sent to an address before its account existed. Computed from
            *to* when not given; ``None`` when *to* has no key.
        expires_at: When the secret the mail carries (a link's token, a
            temporary password) stops working; the outbox drops the mail
            rather than send it later (SPEC O1). ``None`` for a mail
            without a secret.
        requeued_at: When an operator last requeued the mail from the dead
            letters; its retry window starts then instead of at
            *created_at*. ``None`` until then.

    .. versionadded:: 0.2.0
    """

    id: str
    kind: MailKind
    to: str
    subject: str
    text: str = attrs.field(repr=False)
    html: str = attrs.field(repr=False)
    created_at: datetime
    account_id: str | None = None
    recipient_key: str | None = attrs.field(
        default=attrs.Factory(_recipient_key, takes_self=True)
    )
    expires_at: datetime | None = None
    requeued_at: datetime | None = None

    @property
    def retry_from(self) -> datetime:
        """The start of the mail's retry window, its creation or its last requeue.

        .. versionadded:: 0.2.0
        """
        return self.requeued_at or self.created_at

    def has_expired(self, now: datetime) -> bool:
        """Tell whether the secret the mail carries no longer works at *now*.

        .. versionadded:: 0.2.0
        """
        return self.expires_at is not None and self.expires_at <= now


@attrs.frozen
class OutboxStats:
    """The state of the outbox at a glance, for health checks and metrics.

    Attributes:
        pending: Mails not yet sent, dead-lettered or dropped (held by a
            dispatcher or waiting for a retry included).
        oldest_due: The earliest time a pending mail is due, ``None`` when
            nothing is pending; far in the past means the dispatcher is not
            keeping up (or not running).
        dead: Dead letters waiting for an operator.

    .. versionadded:: 0.2.0
    """

    pending: int
    oldest_due: datetime | None
    dead: int


@attrs.frozen
class DeadLetter:
    """A mail the outbox gave up on, as an operator sees it (no body).

    Attributes:
        id: The mail's id.
        kind: Why the mail was sent.
        to: Its recipient.
        attempts: How many times it was handed to the mailer.
        last_error: Why it was given up, in words (never its content).
        dead_at: When it was dead-lettered.
        created_at: When the mail was decided.

    .. versionadded:: 0.2.0
    """

    id: str
    kind: MailKind
    to: str
    attempts: int
    last_error: str
    dead_at: datetime
    created_at: datetime
