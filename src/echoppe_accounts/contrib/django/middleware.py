"""The middleware that puts the customer on ``request.user`` (SPEC W3, P6, R4).

Place it after ``SessionMiddleware`` and ``AuthenticationMiddleware``:

- a customer's session whose stamp is no longer the account's (the password,
  the email or the status changed since the login) is flushed: the request
  goes on anonymous (SPEC P6);
- a restricted session (a login with a temporary password, SPEC R4) reaches
  only the forced password change and the logout: every other path is
  redirected there, and ``request.user`` stays anonymous meanwhile;
- otherwise ``request.user`` is the customer, a
  :class:`~echoppe_accounts.contrib.django.auth.CustomerUser`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from echoppe_accounts.contrib.django.auth import (
    ACCOUNT_KEY,
    CHANGE_KEY,
    STAMP_KEY,
    CustomerUser,
)
from echoppe_accounts.contrib.django.conf import NAMESPACE, config, get_app


class EchoppeMiddleware:
    """Check the customer's session on each request; see the module.

    .. versionadded:: 0.2.0
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Wrap *get_response*, as Django middleware does."""
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Set ``request.user``, end stale sessions, confine restricted ones."""
        session = request.session
        account_id = session.get(ACCOUNT_KEY)
        if not account_id:
            if not hasattr(request, "user"):
                request.user = AnonymousUser()
            return self.get_response(request)
        stamp = str(session.get(STAMP_KEY, ""))
        if not get_app().auth.is_session_current(str(account_id), stamp):
            session.flush()
            request.user = AnonymousUser()
            return self.get_response(request)
        if session.get(CHANGE_KEY):
            request.user = AnonymousUser()
            allowed = (
                reverse(f"{NAMESPACE}:forced_change"),
                reverse(f"{NAMESPACE}:logout"),
            )
            path = request.path
            if path not in allowed and not path.startswith(
                config().restricted_exempt or ("\0",)
            ):
                return HttpResponseRedirect(allowed[0])
            return self.get_response(request)
        request.user = CustomerUser(str(account_id), stamp)
        return self.get_response(request)
