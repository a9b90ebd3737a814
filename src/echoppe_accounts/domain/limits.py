"""Per-client limits: how often one client may try an action (issue 10).

The shop passes a *client key* with the requests it forwards, an IP address
or a session id of its choosing: the library never reads request data
itself (SPEC R9). Each action (login, reset request, sign-up, express
checkout) counts its calls per key in a fixed window, in the library's own
storage, so the limit holds across processes and machines. Keys are stored
only as digests.

>>> limits = ClientLimits()
>>> limits.login.count, limits.login.window
(100, datetime.timedelta(seconds=600))
"""

from __future__ import annotations

import enum
import hashlib
from datetime import timedelta

import attrs


class ClientAction(enum.StrEnum):
    """The actions limited per client key.

    .. versionadded:: 0.2.0
    """

    LOGIN = "login"
    RESET = "reset"
    SIGNUP = "signup"
    EXPRESS = "express"
    EMAIL_CHANGE = "email_change"
    """Asking to change an account's email (SPEC F10).

    .. versionadded:: 0.3.0
    """


@attrs.frozen
class Limit:
    """At most *count* calls per *window* and client key.

    Attributes:
        count: How many calls one client key may make in a window.
        window: How long a window lasts, from the first call counted in it.

    .. versionadded:: 0.2.0
    """

    count: int = attrs.field(validator=attrs.validators.ge(1))
    window: timedelta


@attrs.frozen
class ClientLimits:
    """The limits per client key; generous defaults, for shared IP addresses.

    An office or a mobile network puts many customers behind one address:
    the defaults stop scripts, not people. ``None`` switches an action's
    limit off.

    .. versionadded:: 0.2.0
    """

    login: Limit | None = Limit(100, timedelta(minutes=10))
    reset: Limit | None = Limit(20, timedelta(hours=1))
    signup: Limit | None = Limit(20, timedelta(hours=1))
    express: Limit | None = Limit(60, timedelta(hours=1))
    email_change: Limit | None = Limit(10, timedelta(hours=1))
    """Email change requests (SPEC F10), beside the per-account daily limit.

    .. versionadded:: 0.3.0
    """

    def for_action(self, action: ClientAction) -> Limit | None:
        """Return the limit of *action*."""
        limit: Limit | None = getattr(self, action.value)
        return limit


MAX_CLIENT_KEY_LENGTH = 256
"""Longest client key looked at; a longer one is cut before it is hashed."""


def client_counter_key(action: ClientAction, client_key: str) -> str:
    """Return the storage key counting *action* for *client_key* (a digest).

    .. versionadded:: 0.2.0
    """
    raw = client_key[:MAX_CLIENT_KEY_LENGTH].encode("utf-8", "surrogatepass")
    return hashlib.sha256(b"client:" + action.value.encode() + b":" + raw).hexdigest()
