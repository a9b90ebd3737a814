"""The audit trail of account and authentication events (issue: SPEC R7, G1).

Records hold who did what and when, in UTC, and never a secret: no
password, token, temporary password or digest of one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs


class AuditEvent(enum.StrEnum):
    """What happened.

    .. versionadded:: 0.2.0
    """

    ACCOUNT_REGISTERED = "account_registered"
    """A full registration."""
    EXPRESS_ACCOUNT_CREATED = "express_account_created"
    """An express account, at checkout."""
    EXPRESS_ACCOUNT_COMPLETED = "express_account_completed"
    """An express account completed with its set-password link."""
    EXPRESS_CHECKOUT_EXISTING = "express_checkout_existing"
    """A checkout with the email of an existing account (SPEC X3, X4).

    .. versionadded:: 0.2.0
    """
    LOGIN_SUCCEEDED = "login_succeeded"
    """A login with the right password."""
    LOGIN_FAILED = "login_failed"
    """A login with a wrong password or unknown email."""
    LOGIN_THROTTLED = "login_throttled"
    """A login refused because of earlier failures."""
    RESET_REQUESTED = "reset_requested"
    """Mail 1 of a reset was queued."""
    RESET_REQUEST_IGNORED = "reset_request_ignored"
    """A reset request within the cooldown, so no new mail."""
    RESET_CONFIRMED = "reset_confirmed"
    """A reset was confirmed."""
    RESET_CANCELLED = "reset_cancelled"
    """A reset was cancelled ("this was not me")."""
    RESET_COMPLETED = "reset_completed"
    """A reset ended with a new password."""
    TEMPORARY_PASSWORD_ISSUED = "temporary_password_issued"  # noqa: S105
    """Mail 2 of a reset, with a temporary password, was queued."""
    PROVISIONAL_PASSWORD_ISSUED = "provisional_password_issued"  # noqa: S105
    """Customer service issued a provisional password."""
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an event name)
    """The password was changed."""
    EMAIL_CHANGED = "email_changed"
    """The email address was changed."""
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    """A change of email address awaits the new mailbox's proof (SPEC F10).

    .. versionadded:: 0.2.0
    """
    EMAIL_CHANGE_CANCELLED = "email_change_cancelled"
    """A pending change of email address was cancelled (SPEC F10).

    .. versionadded:: 0.2.0
    """
    SIGNUP_EXISTING = "signup_existing"
    """Its owner was told of a verified sign-up with this account's email (X5).

    .. versionadded:: 0.2.0
    """
    SIGNUP_VERIFIED = "signup_verified"
    """The account opened, the mailbox of its verified sign-up proven (X5).

    .. versionadded:: 0.2.0
    """
    DATA_EXPORTED = "data_exported"
    """The customer's data was exported ("Mes données")."""
    ACCOUNT_ERASED = "account_erased"
    """The account was erased."""
    ACCOUNT_IMPORTED = "account_imported"
    """The account was brought over from the shop's former platform (O4).

    Its details name the import run (``run``).

    .. versionadded:: 0.2.0
    """
    ACCOUNT_COMPLETED = "account_completed"
    """An imported account was given what it missed (SPEC M1).

    Its details name the pieces given (``pieces``).

    .. versionadded:: 0.2.0
    """
    ACCOUNT_DISABLED = "account_disabled"
    """Customer service disabled the account; the details hold the reason.

    .. versionadded:: 0.2.0
    """
    ACCOUNT_ENABLED = "account_enabled"
    """Customer service enabled the account again; the details hold the reason.

    .. versionadded:: 0.2.0
    """
    CUSTOMERS_IMPORTED = "customers_imported"
    """An import of customers ended (O4); of no account.

    Its details name the run and the file, and give the counts of
    :class:`~echoppe_accounts.ImportSummary`.

    .. versionadded:: 0.2.0
    """


@attrs.frozen
class AuditRecord:
    """One entry of the audit trail.

    Attributes:
        id: Unique id of the entry.
        at: When it happened (UTC).
        event: What happened.
        account_id: The account concerned, if one is.
        actor: ``"customer"``, ``"system"`` or ``"agent:<id>"``.
        details: Non-secret context (a reason, a reset id).

    .. versionadded:: 0.2.0
    """

    id: str
    at: datetime
    event: AuditEvent
    account_id: str | None = None
    actor: str = "customer"
    details: Mapping[str, str] = attrs.field(factory=dict)
