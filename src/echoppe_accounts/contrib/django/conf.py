"""The ``ECHOPPE`` setting, and the library wired from it once per process.

``settings.ECHOPPE`` is a dictionary; every key is optional except
``BASE_URL``:

``DATABASE_URL``
    ``sqlite:///path`` or ``postgresql://user@host/db`` (as the command
    line reads it); default ``sqlite:///echoppe.sqlite3``.
``DATABASE_SCHEMA``
    The PostgreSQL schema (default ``echoppe_accounts``).
``BASE_URL``
    The shop's absolute ``https`` URL, with the path the shop is mounted
    under if any; every link in a mail starts with it (SPEC R9).
``SHOP_NAME``, ``SENDER``, ``VERIFIED_SIGNUP``, ``TIMEZONE``, ``CLIENT_LIMITS``
    The :class:`~echoppe_accounts.Settings` of those names.
``OUTBOX_KEY``
    The key sealing the outbox's mails (hexadecimal or base64 text, or 32
    bytes); else ``ECHOPPE_OUTBOX_KEY``, else (SQLite only) a key file
    beside the database. Required with PostgreSQL (SPEC O2).
``SMTP_URL``, ``SMTP_PASSWORD``, ``MAILDIR``
    Where mails go, as for the command line; a Maildir folder by default.
``MAILER``, ``CLOCK``, ``HASHER``
    Objects to use instead (tests: a recording mailer, a fast hasher).
``TEMPLATE_DIRS``, ``LOCALE_DIRS``
    The shop's own Jinja2 templates (pages and mails) and catalogues,
    looked up before the library's (SPEC T1).
``LANGUAGE``
    The language of the pages without Django's ``LocaleMiddleware``
    (default ``fr``).
``CLIENT_IP_HEADER``, ``PROXY_COUNT``
    Where the client's address comes from behind a trusted proxy (SPEC W3).
``DEVICE_COOKIE``, ``DEVICE_COOKIE_AGE``
    The name and lifetime (seconds) of the device cookie (SPEC P4).
``NEWSLETTER_WORDING``
    The version of the newsletter consent wording the pages show (SPEC F7).
``LOGIN_REDIRECT``
    Where a login leads without ``?next=``: a URL name or a path.
``RESTRICTED_EXEMPT``
    Path prefixes a restricted session (SPEC R4) may still load (static
    files); ``STATIC_URL`` and ``MEDIA_URL`` by default.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import attrs
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import get_script_prefix, reverse

from echoppe_accounts.bootstrap import (
    App,
    bootstrap,
    outbox_key_from_environment,
    sqlite_outbox_key,
)
from echoppe_accounts.contrib._web import DEVICE_SALT, LINK_ROUTES, TOKEN_PARAMETER
from echoppe_accounts.domain.sealing import parse_key
from echoppe_accounts.entrypoints.config import (
    ConfigurationError,
    DatabaseURL,
    Environment,
    open_database,
)
from echoppe_accounts.ports import Clock, Mailer, PasswordHasher
from echoppe_accounts.service_layer.settings import Settings

DEFAULT_DATABASE_URL = "sqlite:///echoppe.sqlite3"
"""The database when ``ECHOPPE["DATABASE_URL"]`` is not given."""

NAMESPACE = "echoppe"
"""The URL namespace of the app's views (``reverse("echoppe:login")``)."""


@attrs.frozen
class Config:
    """The ``ECHOPPE`` setting, read and given its defaults.

    .. versionadded:: 0.2.0
    """

    raw: Mapping[str, Any] = attrs.field(repr=False)

    def get(self, key: str, default: Any = None) -> Any:  # noqa: ANN401 (a setting)
        """Return the setting *key*, or *default*."""
        value = self.raw.get(key)
        return default if value is None else value

    @property
    def language(self) -> str:
        """The pages' language without ``LocaleMiddleware``."""
        return str(self.get("LANGUAGE", "fr"))

    @property
    def device_cookie(self) -> str:
        """The device cookie's name (SPEC P4)."""
        return str(self.get("DEVICE_COOKIE", "echoppe_appareil"))

    @property
    def device_cookie_age(self) -> int:
        """The device cookie's lifetime, in seconds (a year by default)."""
        return int(self.get("DEVICE_COOKIE_AGE", 365 * 24 * 3600))

    @property
    def newsletter_wording(self) -> str:
        """The version of the newsletter consent wording shown (SPEC F7)."""
        return str(self.get("NEWSLETTER_WORDING", "2026-01"))

    @property
    def template_dirs(self) -> list[str]:
        """The shop's Jinja2 template folders, looked up before the library's."""
        return [str(Path(d)) for d in self.get("TEMPLATE_DIRS", ())]

    @property
    def restricted_exempt(self) -> tuple[str, ...]:
        """The path prefixes a restricted session may load (static files)."""
        given = self.get("RESTRICTED_EXEMPT")
        if given is not None:
            return tuple(given)
        prefixes = (
            getattr(django_settings, "STATIC_URL", None),
            getattr(django_settings, "MEDIA_URL", None),
        )
        return tuple("/" + str(p).lstrip("/") for p in prefixes if p and str(p) != "/")


def config() -> Config:
    """Return ``settings.ECHOPPE`` (an empty one when it is not set).

    .. versionadded:: 0.2.0
    """
    raw = getattr(django_settings, "ECHOPPE", None) or {}
    if not isinstance(raw, Mapping):
        msg = "settings.ECHOPPE must be a dictionary"
        raise ImproperlyConfigured(msg)
    return Config(raw)


def link_path(url_name: str) -> str:
    """Return the path template of a mailed link to *url_name* (SPEC W4).

    Built with :func:`~django.urls.reverse`, so the link follows ``urls.py``;
    the script prefix is left out, as ``BASE_URL`` carries it.

    .. versionadded:: 0.2.0
    """
    path = str(reverse(f"{NAMESPACE}:{url_name}"))
    prefix = str(get_script_prefix())
    if prefix != "/" and path.startswith(prefix):
        path = "/" + path[len(prefix) :]
    return f"{path}?{TOKEN_PARAMETER}={{token}}"


def library_settings(cfg: Config | None = None) -> Settings:
    """Return the library's :class:`~echoppe_accounts.Settings` from ``ECHOPPE``.

    Raises:
        ImproperlyConfigured: ``BASE_URL`` is missing or a value is invalid.

    .. versionadded:: 0.2.0
    """
    cfg = cfg or config()
    base_url = cfg.get("BASE_URL")
    if not base_url:
        msg = 'ECHOPPE["BASE_URL"] is required: mailed links start with it'
        raise ImproperlyConfigured(msg)
    values: dict[str, Any] = {"base_url": str(base_url)}
    for key, name in (
        ("SHOP_NAME", "shop_name"),
        ("SENDER", "sender"),
        ("VERIFIED_SIGNUP", "verified_signup"),
        ("TIMEZONE", "timezone"),
        ("LOCALE_DIRS", "locale_dirs"),
        ("CLIENT_LIMITS", "client_limits"),
    ):
        if cfg.get(key) is not None:
            values[name] = cfg.get(key)
    if cfg.template_dirs:
        import jinja2  # noqa: PLC0415 (a dependency of the library)

        values["templates"] = jinja2.FileSystemLoader(cfg.template_dirs)
    values.update({name: link_path(route) for name, route in LINK_ROUTES.items()})
    try:
        return Settings(**values)
    except (ValueError, TypeError) as exc:
        msg = f"invalid ECHOPPE setting: {exc}"
        raise ImproperlyConfigured(msg) from exc


def outbox_key(cfg: Config, url: DatabaseURL) -> bytes | None:
    """Return the outbox key: ``OUTBOX_KEY``, the environment, or the SQLite file.

    ``None`` for PostgreSQL without a key (the system check reports it).

    .. versionadded:: 0.2.0
    """
    given = cfg.get("OUTBOX_KEY")
    if isinstance(given, bytes):
        return given
    if given:
        return parse_key(str(given))
    key = outbox_key_from_environment()
    if key is None and url.path is not None:
        key = sqlite_outbox_key(url.path)
    return key


def database_url(cfg: Config) -> DatabaseURL:
    """Return the parsed ``DATABASE_URL``.

    .. versionadded:: 0.2.0
    """
    try:
        return DatabaseURL.parse(str(cfg.get("DATABASE_URL", DEFAULT_DATABASE_URL)))
    except ConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from exc


def _environment(cfg: Config) -> Environment:
    return Environment(
        database_url=str(cfg.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
        database_schema=cfg.get("DATABASE_SCHEMA"),
        smtp_url=cfg.get("SMTP_URL"),
        smtp_password=cfg.get("SMTP_PASSWORD"),
        maildir=str(cfg.get("MAILDIR", "mailbox")),
    )


def build_app(cfg: Config | None = None) -> App:
    """Wire the library from ``ECHOPPE``: what :func:`get_app` keeps.

    Raises:
        ImproperlyConfigured: A setting is missing or invalid, or a
            PostgreSQL database has no outbox key.

    .. versionadded:: 0.2.0
    """
    cfg = cfg or config()
    url = database_url(cfg)
    settings = library_settings(cfg)
    key = outbox_key(cfg, url)
    if key is None:
        msg = (
            'ECHOPPE["OUTBOX_KEY"] (or ECHOPPE_OUTBOX_KEY) is required with '
            "PostgreSQL: openssl rand -base64 32"
        )
        raise ImproperlyConfigured(msg)
    settings = attrs.evolve(settings, outbox_key=key)
    environment = _environment(cfg)
    try:
        deployment = open_database(url, environment)
        mailer = cast("Mailer | None", cfg.get("MAILER")) or environment.mailer()
    except ConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    _closers.append(deployment.close)
    return bootstrap(
        deployment.unit_of_work,
        mailer,
        settings,
        clock=cast("Clock | None", cfg.get("CLOCK")),
        hasher=cast("PasswordHasher | None", cfg.get("HASHER")),
    )


_lock = threading.Lock()
_app: App | None = None
_closers: list[Callable[[], None]] = []
"""Close the databases the wirings opened (PostgreSQL's connection pools)."""


def get_app() -> App:
    """Return the library wired from ``ECHOPPE``, built on first use per process.

    .. versionadded:: 0.2.0
    """
    global _app  # noqa: PLW0603 (one wiring per process, built lazily)
    if _app is None:
        with _lock:
            if _app is None:
                _app = build_app()
    return _app


def reset_app() -> None:
    """Forget the wiring and close its database: :func:`get_app` builds anew (tests).

    .. versionadded:: 0.2.0
    """
    global _app  # noqa: PLW0603 (see get_app)
    with _lock:
        _app = None
        while _closers:
            _closers.pop()()


def settings_changed(*, setting: str, **_: object) -> None:
    """Forget the wiring when a test overrides ``ECHOPPE`` or the URLs."""
    if setting in {"ECHOPPE", "ROOT_URLCONF"}:
        reset_app()


def client_key(meta: Mapping[str, str], cfg: Config | None = None) -> str:
    """Return the client key of a request's ``META`` (SPEC P4, W3).

    ``REMOTE_ADDR`` by default. Behind a proxy, ``CLIENT_IP_HEADER`` names
    the ``META`` key the proxy *sets* (``HTTP_X_REAL_IP``). A raw
    ``X-Forwarded-For`` is never believed: with it, ``PROXY_COUNT`` (how
    many trusted proxies append to it) picks the address the nearest
    untrusted hop was seen from, counting from the right.

    .. versionadded:: 0.2.0
    """
    cfg = cfg or config()
    header = cfg.get("CLIENT_IP_HEADER")
    remote = meta.get("REMOTE_ADDR", "") or "unknown"
    if not header:
        return remote
    value = meta.get(str(header), "")
    if str(header) == "HTTP_X_FORWARDED_FOR":
        count = int(cfg.get("PROXY_COUNT", 0))
        hops: Sequence[str] = [h.strip() for h in value.split(",") if h.strip()]
        if count < 1 or len(hops) < count:
            return remote
        return hops[-count]
    return value.strip() or remote


__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEVICE_SALT",
    "LINK_ROUTES",
    "NAMESPACE",
    "TOKEN_PARAMETER",
    "Config",
    "build_app",
    "client_key",
    "config",
    "database_url",
    "get_app",
    "library_settings",
    "link_path",
    "outbox_key",
    "reset_app",
    "settings_changed",
]
