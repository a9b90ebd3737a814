"""Django system checks of the ``ECHOPPE`` setting (``manage.py check``).

- ``echoppe.E001``: no ``BASE_URL``, so no mail could carry a link.
- ``echoppe.E002``: an invalid setting (the library's message says which).
- ``echoppe.E003``: PostgreSQL without an outbox key (SPEC O2).
- ``echoppe.W001``: a ``BASE_URL`` that is not ``https`` (SPEC R9).
- ``echoppe.E004``: ``X-Forwarded-For`` as client header without
  ``PROXY_COUNT`` (SPEC W3).
- ``echoppe.E005``: the middleware is missing, or placed before Django's
  session middleware.
- ``echoppe.E006``: the app's URLs are not included, so mailed links could
  not be built from them (SPEC W4).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch

from echoppe_accounts.bootstrap import outbox_key_from_environment
from echoppe_accounts.contrib.django.conf import (
    Config,
    config,
    database_url,
    library_settings,
)

MIDDLEWARE = "echoppe_accounts.contrib.django.middleware.EchoppeMiddleware"
"""The dotted path of the app's middleware."""


def check_settings(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:  # noqa: ANN401 (Django's signature)
    """Return the problems of ``settings.ECHOPPE`` (see the module)."""
    del app_configs
    problems: list[checks.CheckMessage] = []
    try:
        cfg = config()
        url = database_url(cfg)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="echoppe.E002")]
    base = str(cfg.get("BASE_URL", ""))
    if not base:
        problems.append(
            checks.Error(
                'ECHOPPE["BASE_URL"] is missing: mailed links start with it.',
                hint='ECHOPPE = {"BASE_URL": "https://www.example.fr", ...}',
                id="echoppe.E001",
            )
        )
    else:
        problems.extend(_library_settings(cfg))
        if not base.startswith("https://"):
            problems.append(
                checks.Warning(
                    f'ECHOPPE["BASE_URL"] is not https ({base}): '
                    "fine on localhost only.",
                    id="echoppe.W001",
                )
            )
    try:
        env_key = outbox_key_from_environment()
    except ValueError as exc:
        problems.append(checks.Error(str(exc), id="echoppe.E002"))
        env_key = None
    if url.kind == "postgresql" and not cfg.get("OUTBOX_KEY") and env_key is None:
        problems.append(
            checks.Error(
                "PostgreSQL needs an outbox key shared by every process.",
                hint='ECHOPPE["OUTBOX_KEY"] or ECHOPPE_OUTBOX_KEY: '
                "openssl rand -base64 32",
                id="echoppe.E003",
            )
        )
    if cfg.get("CLIENT_IP_HEADER") == "HTTP_X_FORWARDED_FOR" and not cfg.get(
        "PROXY_COUNT"
    ):
        problems.append(
            checks.Error(
                "X-Forwarded-For is written by the client: say how many trusted "
                "proxies append to it.",
                hint='ECHOPPE["PROXY_COUNT"] = 1, or a header the proxy sets '
                '("HTTP_X_REAL_IP")',
                id="echoppe.E004",
            )
        )
    middleware = list(getattr(django_settings, "MIDDLEWARE", ()))
    session = "django.contrib.sessions.middleware.SessionMiddleware"
    if MIDDLEWARE not in middleware or (
        session in middleware
        and middleware.index(session) > middleware.index(MIDDLEWARE)
    ):
        problems.append(
            checks.Error(
                f"{MIDDLEWARE} must be in MIDDLEWARE, after SessionMiddleware.",
                id="echoppe.E005",
            )
        )
    return problems


def _library_settings(cfg: Config) -> list[checks.CheckMessage]:
    try:
        library_settings(cfg)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="echoppe.E002")]
    except NoReverseMatch:
        return [
            checks.Error(
                "The app's URLs are not included: mailed links are built from them.",
                hint='path("compte/", include("echoppe_accounts.contrib.django.urls"))',
                id="echoppe.E006",
            )
        ]
    return []


def register() -> None:
    """Register :func:`check_settings` with Django's checks."""
    checks.register(check_settings, checks.Tags.security)
