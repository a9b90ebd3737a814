"""The extension that installs the blueprint on a Flask application (SPEC W1–W4).

:class:`EchoppeAccounts` registers the pages under ``/compte``, installs
Flask-WTF's ``CSRFProtect`` unless the application has it already, checks
the session stamp before every request (SPEC P6, R4) and, only when
``ECHOPPE_PROXY_FIX`` says how many proxies to trust, wraps the
application in werkzeug's ``ProxyFix`` (SPEC W3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from echoppe_accounts.bootstrap import App
from echoppe_accounts.contrib._web import LINK_ROUTES, TOKEN_PARAMETER
from echoppe_accounts.contrib.flask._core import (
    BLUEPRINT,
    EXTENSION,
    Customer,
    Options,
    State,
    check_session,
    current_customer,
    customer_required,
    get_app,
)
from echoppe_accounts.contrib.flask._views import create_blueprint

Wiring = Callable[[Mapping[str, str]], App]
"""A function wiring the library, given the link paths of :func:`link_paths`."""


def link_paths(flask_app: Flask) -> dict[str, str]:
    """Return the library's link settings, built from the blueprint's routes (W4).

    ``{"reset_confirm_path": "/compte/mot-de-passe/confirmer?jeton={token}",
    ...}``, from Flask's URL map as :func:`~flask.url_for` reads it, so
    that moving the blueprint moves the links in the mails with it. The
    WSGI mount point is left out: ``Settings.base_url`` carries it.

    .. versionadded:: 0.2.0
    """
    adapter = flask_app.url_map.bind("localhost", script_name="/")
    paths: dict[str, str] = {}
    for setting, route in LINK_ROUTES.items():
        path = adapter.build(f"{BLUEPRINT}.{route}")
        paths[setting] = f"{path}?{TOKEN_PARAMETER}={{token}}"
    return paths


class EchoppeAccounts:
    """The "Mon compte" area on a Flask application: ``EchoppeAccounts(app, wire)``.

    *wire* is the library wired for the shop (an :class:`~echoppe_accounts.App`
    whose link settings match the routes), or better a function given the
    link paths (:func:`link_paths`) that returns one::

        EchoppeAccounts(
            flask_app,
            lambda links: sqlite_app(db, mailbox, Settings(base_url=..., **links)),
        )

    *url_prefix* is where the pages live (``/compte``). Or create it
    without arguments and call :meth:`init_app` in an application factory.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        flask_app: Flask | None = None,
        wire: App | Wiring | None = None,
        *,
        url_prefix: str = "/compte",
    ) -> None:
        """Install on *flask_app* now if given, else in :meth:`init_app`."""
        self.url_prefix = url_prefix
        if flask_app is not None:
            if wire is None:
                msg = "EchoppeAccounts(flask_app, wire): the library's wiring is needed"
                raise TypeError(msg)
            self.init_app(flask_app, wire)

    def init_app(self, flask_app: Flask, wire: App | Wiring) -> App:
        """Register the blueprint and the checks on *flask_app*; return the library.

        Raises:
            ValueError: *wire* is an ``App`` whose link settings differ from
                the routes (a mailed link would lead nowhere).
        """
        flask_app.register_blueprint(create_blueprint(), url_prefix=self.url_prefix)
        links = link_paths(flask_app)
        if isinstance(wire, App):
            app = wire
            settings = app.accounts.settings
            wrong = {k: v for k, v in links.items() if getattr(settings, k) != v}
            if wrong:
                msg = (
                    "the library's link settings must follow the blueprint's "
                    f"routes (SPEC W4); wire it with: Settings(..., **{wrong!r})"
                )
                raise ValueError(msg)
        else:
            app = wire(links)
        if "csrf" not in flask_app.extensions:
            CSRFProtect(flask_app)
        proxies = flask_app.config.get("ECHOPPE_PROXY_FIX")
        if proxies:
            flask_app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
                flask_app.wsgi_app, **_proxy_fix(proxies)
            )
        flask_app.extensions[EXTENSION] = State(
            app=app, options=Options.from_config(flask_app.config)
        )
        flask_app.before_request(check_session)
        return app


def _proxy_fix(given: object) -> dict[str, int]:
    """``ECHOPPE_PROXY_FIX``: a number of proxies (for X-Forwarded-For) or kwargs."""
    if isinstance(given, Mapping):
        return {str(k): int(v) for k, v in given.items()}
    if isinstance(given, int):
        return {"x_for": given, "x_proto": given}
    msg = f"ECHOPPE_PROXY_FIX: a number of proxies or ProxyFix's options, not {given!r}"
    raise TypeError(msg)


__all__ = [
    "BLUEPRINT",
    "Customer",
    "EchoppeAccounts",
    "current_customer",
    "customer_required",
    "get_app",
    "link_paths",
]
