"""The customer as ``request.user``, and the session keys of a login (SPEC P6, R4).

Django keeps a logged-in user under ``SESSION_KEY``, converted through the
primary key of ``AUTH_USER_MODEL`` (an integer by default): a customer's id,
a UUID held by this library and not by a Django model, cannot go there
without a custom user model. The app keeps its own session keys instead,
and :class:`~echoppe_accounts.contrib.django.middleware.EchoppeMiddleware`
sets ``request.user`` to a :class:`CustomerUser` from them, checking the
session stamp on every request: once the password, the email or the status
changed (a reset, an erasure, a change in another browser), the session is
flushed, as Django flushes one whose ``get_session_auth_hash`` changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.urls import reverse
from django.utils.crypto import salted_hmac

from echoppe_accounts.contrib.django.conf import NAMESPACE, get_app
from echoppe_accounts.domain.account import Account
from echoppe_accounts.domain.errors import AuthenticationError

ACCOUNT_KEY = "_echoppe_account"
"""The session key of the logged-in customer's id."""
STAMP_KEY = "_echoppe_stamp"
"""The session key of the session stamp given at login (SPEC P6)."""
CHANGE_KEY = "_echoppe_change"
"""The session key of a restricted login's change token (SPEC R4)."""
NOTICE_KEY = "_echoppe_notice"
"""The session key of a one-time notice shown on the next page."""


class CustomerUser:
    """A logged-in customer, as ``request.user``: not a Django model row.

    It answers what Django and its apps ask of a user (``is_authenticated``,
    ``pk``, ``has_perm``…): a customer has no staff rights and no
    permission. :attr:`account` loads the library's
    :class:`~echoppe_accounts.Account` on first use.

    .. versionadded:: 0.2.0
    """

    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False
    is_authenticated = True

    def __init__(self, account_id: str, session_stamp: str) -> None:
        """Stand for the account *account_id*, logged in with *session_stamp*."""
        self.id = self.pk = self.account_id = account_id
        self._stamp = session_stamp

    def __str__(self) -> str:
        """Return the account id (never an email, for logs)."""
        return self.account_id

    def __eq__(self, other: object) -> bool:
        """Compare by account id."""
        return isinstance(other, CustomerUser) and other.account_id == self.account_id

    def __hash__(self) -> int:
        """Hash by account id."""
        return hash(self.account_id)

    @cached_property
    def account(self) -> Account:
        """The customer's account, read once per request."""
        return get_app().accounts.get(self.account_id)

    def get_username(self) -> str:
        """Return the customer's email address."""
        return str(self.account.email.address)

    def get_session_auth_hash(self) -> str:
        """Return a keyed hash of the session stamp (SPEC P6), as Django's users do."""
        key_salt = "echoppe_accounts.contrib.django.CustomerUser"
        return str(salted_hmac(key_salt, self._stamp, algorithm="sha256").hexdigest())

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """Customers hold no permission."""
        del perm, obj
        return False

    def has_perms(self, perm_list: object, obj: object = None) -> bool:
        """Customers hold no permission."""
        del perm_list, obj
        return False

    def has_module_perms(self, app_label: str) -> bool:
        """Customers hold no permission."""
        del app_label
        return False


class EchoppeBackend:
    """An authentication backend: ``authenticate(request, email=, password=)``.

    For a shop's own login forms (at checkout). It answers only calls
    naming an ``email``, so the admin's login (``username``) never reaches
    the customers. Logging in through the app's views needs no backend.

    .. versionadded:: 0.2.0
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        email: str | None = None,
        password: str | None = None,
        **_: object,
    ) -> CustomerUser | None:
        """Return the customer whose *email* and *password* match, else ``None``.

        A restricted login (a temporary password) is not a user: ``None``.
        """
        from echoppe_accounts.contrib import _calls  # noqa: PLC0415
        from echoppe_accounts.contrib.django.conf import client_key  # noqa: PLC0415

        if email is None or password is None:
            return None
        meta: dict[str, str] = dict(request.META) if request is not None else {}
        try:
            result = _calls.login(
                get_app(),
                email,
                password,
                client_key=client_key(meta),
                device_token=None,
            )
        except AuthenticationError:
            return None
        if result.restricted:
            return None
        return CustomerUser(result.account_id, result.session_stamp)

    def get_user(self, user_id: object) -> None:
        """Customers are not kept under Django's session key: ``None``."""
        del user_id


def start_session(request: HttpRequest, account_id: str, stamp: str) -> None:
    """Log the customer *account_id* in on *request*'s session.

    The session key changes (no fixation); a session that held someone
    else (another customer, a staff member) is emptied first, as Django's
    ``login()`` does.

    .. versionadded:: 0.2.0
    """
    session = request.session
    held = session.get(ACCOUNT_KEY)
    if SESSION_KEY in session or (held and held != account_id):
        session.flush()
    else:
        session.cycle_key()
    session[ACCOUNT_KEY] = account_id
    session[STAMP_KEY] = stamp
    session.pop(CHANGE_KEY, None)
    rotate_token(request)  # a CSRF token planted before the login dies with it
    request.user = CustomerUser(account_id, stamp)


def start_restricted_session(
    request: HttpRequest, account_id: str, stamp: str, change_token: str
) -> None:
    """Open the restricted session of a temporary password (SPEC R4).

    .. versionadded:: 0.2.0
    """
    start_session(request, account_id, stamp)
    request.session[CHANGE_KEY] = change_token
    request.user = AnonymousUser()


def end_session(request: HttpRequest) -> None:
    """Log out: the whole session is emptied, as Django's ``logout()`` does.

    .. versionadded:: 0.2.0
    """
    request.session.flush()
    request.user = AnonymousUser()


def customer(request: HttpRequest) -> CustomerUser | None:
    """Return the logged-in customer of *request*, or ``None``.

    .. versionadded:: 0.2.0
    """
    user = getattr(request, "user", None)
    return user if isinstance(user, CustomerUser) else None


View = Callable[..., HttpResponse]


def customer_required(view: View) -> View:
    """Send visitors who are not a logged-in customer to the login page.

    Django's ``login_required`` works on the shop's views too, as a customer
    is authenticated; this one also turns away a staff member's session.

    .. versionadded:: 0.2.0
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:  # noqa: ANN401
        if customer(request) is None:
            login_url = reverse(f"{NAMESPACE}:login")
            response: HttpResponse = redirect_to_login(
                request.get_full_path(), login_url
            )
            return response
        return view(request, *args, **kwargs)

    return wrapped
