"""Where an account stands in its life."""

from __future__ import annotations

import enum


class AccountStatus(enum.StrEnum):
    """Where an account stands.

    .. versionadded:: 0.2.0
    """

    EXPRESS = "express"
    """Created at checkout, with no password yet and the mailbox unproven (SPEC X2)."""
    ACTIVE = "active"
    """Complete, so the customer can log in."""
    ERASED = "erased"
    """Erased at the customer's request (SPEC G3), keeping only invoice data."""
    UNVERIFIED = "unverified"
    """Registered with verified sign-up on, its mailbox not yet proven (SPEC X5).

    It cannot log in until the link of its verification mail is followed.

    .. versionadded:: 0.2.0
    """
    DISABLED = "disabled"
    """Disabled by the old shop (PrestaShop's ``active=0``) or by customer service.

    It cannot log in (refused exactly as a wrong password, SPEC P3) and a
    reset request for it is answered as for an unknown email, with no mail
    (R1); its email stays taken. Customer service enables it again.

    .. versionadded:: 0.2.0
    """
