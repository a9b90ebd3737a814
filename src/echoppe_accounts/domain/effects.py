"""What an account's transition asks of the records beside its own row.

An :class:`~echoppe_accounts.domain.account.Account` method that must end
pending links, forget failed logins or wipe what erasure reaches records it
here; the service layer applies every recorded effect when it saves the
account (``echoppe_accounts.service_layer._ports.save``), so no use
case can forget one (SPEC P6, R8, F10, G3).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from echoppe_accounts.domain.tokens import TokenPurpose

LINKS_BUT_RESTORE = frozenset(TokenPurpose) - {TokenPurpose.EMAIL_CHANGE_CANCEL}
"""The purposes of every link but the former address's (SPEC F10).

The link the old address receives on an email change cancels it and,
after the confirmation, restores the former address for 7 days; a
password change by whoever holds the account must not take it away.
"""


@attrs.frozen
class EndLinks:
    """Revoke the account's usable links of *purposes* (SPEC R8).

    Attributes:
        purposes: The purposes whose links die.
        resets: Also supersede the active reset requests, and with them
            their links and temporary passwords.
    """

    purposes: frozenset[TokenPurpose]
    resets: bool = False

    @classmethod
    def of(cls, purposes: Iterable[TokenPurpose], *, resets: bool = False) -> EndLinks:
        """Return the effect ending the links of *purposes*."""
        return cls(frozenset(purposes), resets)


@attrs.frozen
class ForgetFailures:
    """Forget the failed logins counted under *login_key* (SPEC P4).

    And, under *check_key*, the wrong current passwords a password change
    counted (``domain.throttle.password_check_key``):
    a reset or a provisional password lifts that block too. The login's
    count is taken first, in the order every use case locks them.
    """

    login_key: str
    check_key: str = ""


@attrs.frozen
class ForgetEverything:
    """Delete what erasure reaches beside the account's row (SPEC G3).

    Every link, reset request and failure count, and every outbox mail
    concerning the account or addressed to any of *email_keys* (current,
    pending and former addresses), whatever its kind.

    Attributes:
        email_keys: The canonical keys of every address the account held
            or asked for.
        login_keys: The digests failed logins and notices were counted
            under.
        check_key: The digest wrong current passwords were counted under,
            deleted after the login's counts (the order every use case
            locks them in).
    """

    email_keys: frozenset[str]
    login_keys: frozenset[str]
    check_key: str = ""


Effect = EndLinks | ForgetFailures | ForgetEverything
"""One thing a transition asks of the records beside the account's row."""
