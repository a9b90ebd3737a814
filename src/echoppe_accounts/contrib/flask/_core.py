"""The blueprint's state, its session keys and its page rendering (SPEC W3, T1).

The pages are the library's ``templates/web/``, rendered by the library's
Jinja2 environment (its catalogues, its ``datetime`` and ``country``
filters), the very files the Django app renders. Each page gets
``url(name, *args)``, ``csrf_input`` (Flask-WTF's token), ``customer``,
``notice``, ``shop`` and ``language`` besides its own values, and what
Flask's context processors give (``request``, ``session``, ``g``, the
shop's own).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec
from urllib.parse import urlsplit

import attrs
from flask import (
    Response,
    current_app,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup

from echoppe_accounts.bootstrap import App
from echoppe_accounts.contrib._web import pick_language, retry_after
from echoppe_accounts.domain.account import Account
from echoppe_accounts.domain.errors import RateLimitedError
from echoppe_accounts.service_layer.templating import templates_for

BLUEPRINT = "echoppe"
"""The blueprint's name: its endpoints are ``echoppe.login`` and so on."""
EXTENSION = "echoppe_accounts"
"""The key of the blueprint's state in ``flask_app.extensions``."""

ACCOUNT_KEY = "_echoppe_account"
"""The session key of the logged-in customer's id."""
STAMP_KEY = "_echoppe_stamp"
"""The session key of the session stamp given at login (SPEC P6)."""
CHANGE_KEY = "_echoppe_change"
"""The session key of a restricted login's change token (SPEC R4)."""
NOTICE_KEY = "_echoppe_notice"
"""The session key of a one-time notice shown on the next page."""
LOGIN_KEYS = (ACCOUNT_KEY, STAMP_KEY, CHANGE_KEY)

P = ParamSpec("P")

ROUTE_ARGUMENTS: Mapping[str, tuple[str, ...]] = {
    "address_edit": ("delivery_id",),
    "address_remove": ("delivery_id",),
}
"""The names of the positional arguments the templates give ``url()``."""


@attrs.frozen
class Options:
    """The blueprint's settings, read from ``flask_app.config`` (``ECHOPPE_*``)."""

    language: str = "fr"
    device_cookie: str = "echoppe_appareil"
    device_cookie_age: int = 365 * 24 * 3600
    newsletter_wording: str = "2026-01"
    login_redirect: str = f"{BLUEPRINT}.home"
    restricted_exempt: frozenset[str] = frozenset({"static"})

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Options:
        """Read the ``ECHOPPE_*`` keys of a Flask config, with their defaults."""
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            key = f"ECHOPPE_{field.name.upper()}"
            if config.get(key) is not None:
                values[field.name] = config[key]
        if "restricted_exempt" in values:
            values["restricted_exempt"] = frozenset(
                {"static", *values["restricted_exempt"]}
            )
        return cls(**values)


@attrs.frozen
class State:
    """What one Flask application keeps of the blueprint."""

    app: App
    options: Options


def state() -> State:
    """Return the blueprint's state in the running Flask application."""
    found: State = current_app.extensions[EXTENSION]
    return found


def get_app() -> App:
    """Return the library wired for the running Flask application.

    .. versionadded:: 0.2.0
    """
    return state().app


@attrs.define
class Customer:
    """The logged-in customer of a request (``current_customer()``).

    :attr:`account` loads the library's :class:`~echoppe_accounts.Account`
    on first use.

    .. versionadded:: 0.2.0
    """

    account_id: str
    session_stamp: str = attrs.field(repr=False)
    _account: Account | None = attrs.field(default=None, repr=False, alias="account")

    @property
    def account(self) -> Account:
        """The customer's account, read once per request."""
        if self._account is None:
            self._account = get_app().accounts.get(self.account_id)
        return self._account


def current_customer() -> Customer | None:
    """Return the logged-in customer of this request, or ``None``.

    A restricted session (a temporary password, SPEC R4) is no customer.

    .. versionadded:: 0.2.0
    """
    found: Customer | None = g.get("echoppe_customer")
    return found


def customer_required(view: Callable[P, Any]) -> Callable[P, Any]:
    """Send visitors who are not a logged-in customer to the login page.

    For the shop's own views too (its order history): ``?next=`` brings the
    customer back after the login.

    .. versionadded:: 0.2.0
    """

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> Any:  # noqa: ANN401 (a view's)
        if current_customer() is None:
            wanted = request.full_path if request.query_string else request.path
            return redirect(url_for(f"{BLUEPRINT}.login", next=wanted))
        return view(*args, **kwargs)

    return wrapped


def check_session() -> ResponseReturnValue | None:
    """Before every request: end stale sessions, confine restricted ones.

    - a session whose stamp is no longer the account's (the password, the
      email or the status changed since the login) is ended: the request
      goes on anonymous (SPEC P6);
    - a restricted session (R4) reaches only the forced change, the logout
      and static files: any other page redirects to the forced change;
    - otherwise :func:`current_customer` is the customer.
    """
    g.echoppe_customer = None
    account_id = session.get(ACCOUNT_KEY)
    if not account_id:
        return None
    stamp = str(session.get(STAMP_KEY, ""))
    if not get_app().auth.is_session_current(str(account_id), stamp):
        end_session()
        return None
    if session.get(CHANGE_KEY):
        allowed = {
            f"{BLUEPRINT}.forced_change",
            f"{BLUEPRINT}.logout",
            *state().options.restricted_exempt,
        }
        if request.endpoint not in allowed:
            return redirect(url_for(f"{BLUEPRINT}.forced_change"))
        return None
    g.echoppe_customer = Customer(str(account_id), stamp)
    return None


def _drop_csrf_token() -> None:
    """Forget Flask-WTF's raw token (in the session) and this request's copy."""
    name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(name, None)
    g.pop(name, None)


def start_session(account_id: str, stamp: str) -> None:
    """Log the customer *account_id* in on this browser's session.

    A session that held another customer is emptied first; the CSRF token
    is renewed, so that one planted before the login dies with it.

    .. versionadded:: 0.2.0
    """
    held = session.get(ACCOUNT_KEY)
    if held and held != account_id:
        session.clear()
    _drop_csrf_token()
    session[ACCOUNT_KEY] = account_id
    session[STAMP_KEY] = stamp
    session.pop(CHANGE_KEY, None)
    g.echoppe_customer = Customer(account_id, stamp)


def start_restricted_session(account_id: str, stamp: str, change_token: str) -> None:
    """Open the restricted session of a temporary password (SPEC R4)."""
    start_session(account_id, stamp)
    session[CHANGE_KEY] = change_token
    g.echoppe_customer = None


def end_session() -> None:
    """Log out: the login's keys and the CSRF token leave the session.

    The shop's own keys stay (a basket, a customer-service login).
    """
    for key in LOGIN_KEYS:
        session.pop(key, None)
    _drop_csrf_token()
    g.echoppe_customer = None


def client_key() -> str:
    """Return the client key of this request (SPEC P4, W3).

    ``request.remote_addr``: the connection's address, or the one werkzeug's
    ``ProxyFix`` took from a trusted proxy when ``ECHOPPE_PROXY_FIX`` is set.
    Never a raw ``X-Forwarded-For``.
    """
    return request.remote_addr or "unknown"


def language() -> str:
    """Return the pages' language: ``ECHOPPE_LANGUAGE`` (French by default)."""
    return pick_language(state().options.language, "fr")


def notify(text: str) -> None:
    """Keep *text* (a notice's name) to show once, on the next page."""
    session[NOTICE_KEY] = text


def app_url(name: str, *args: object) -> str:
    """Return the path of the blueprint's page *name* (``app_url("login")``)."""
    names = ROUTE_ARGUMENTS.get(name, ())
    values: dict[str, Any] = dict(zip(names, args, strict=False))
    return url_for(f"{BLUEPRINT}.{name}", **values)


def render(
    name: str, context: Mapping[str, Any] | None = None, *, status: int = 200
) -> Response:
    """Return the page ``web/<name>.html`` rendered for this request."""
    settings = get_app().accounts.settings
    values: dict[str, Any] = {}
    current_app.update_template_context(values)
    values.update(
        {
            "language": language(),
            "timezone": settings.timezone,
            "shop": settings.shop_name,
            "url": app_url,
            "csrf_input": Markup('<input type="hidden" name="{}" value="{}">').format(
                current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"),
                str(generate_csrf()),
            ),
            "customer": current_customer(),
            "notice": session.pop(NOTICE_KEY, None),
            "errors": {},
            "form": {},
        }
    )
    values.update(context or {})
    html = templates_for(settings.templates).render(f"web/{name}.html", values)
    return Response(html, status=status, mimetype="text/html")


def rate_limited(exc: RateLimitedError) -> Response:
    """Answer a client past its limits: 429 with ``Retry-After`` (SPEC W4)."""
    response = render(
        "message",
        {"kind": "rate_limited", "detail": exc.message(language())},
        status=429,
    )
    response.headers["Retry-After"] = retry_after(exc.retry_after)
    return response


def csrf_refused(exc: CSRFError) -> Response:
    """Answer a form Flask-WTF refused (no or a stale CSRF token): 400, in words.

    The customer's language, not werkzeug's English error page: the form
    expired (its session ended) or was sent from another site.
    """
    del exc  # its English description is for logs, not for the customer
    return render("message", {"kind": "form_expired"}, status=400)


def safe_next(wanted: str) -> str:
    """Return *wanted* if it is a path of this site, else the login's default."""
    parts = urlsplit(wanted)
    if (
        wanted.startswith("/")
        and not wanted.startswith("//")
        and "\\" not in wanted
        and not parts.scheme
        and not parts.netloc
    ):
        return wanted
    target = state().options.login_redirect
    return target if target.startswith("/") else url_for(target)
