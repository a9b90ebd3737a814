"""Building an :class:`~echoppe_accounts.App` from a database URL and the environment.

The command line reads its configuration here, and a shop's own scripts may
do the same. Secrets come from the environment only, never from a URL typed
on a command line (where ``ps`` and the shell history would keep them):

``ECHOPPE_DATABASE_URL``
    ``sqlite:///relative/path.sqlite3`` (three slashes and a relative path),
    ``sqlite:////absolute/path.sqlite3`` (four slashes), or
    ``postgresql://user@host:5432/dbname`` (needs the ``postgres`` extra;
    the password from ``PGPASSWORD`` or ``~/.pgpass``, as libpq does).
    The default is ``sqlite:///echoppe.sqlite3``, a file in the current
    folder.
``ECHOPPE_DATABASE_SCHEMA``
    The PostgreSQL schema (default ``echoppe_accounts``).
``ECHOPPE_SMTP_URL``
    ``smtp://user@host:587`` (STARTTLS, required), ``smtps://user@host:465``
    (implicit TLS), or ``smtp+plain://localhost:25`` (no encryption and no
    login: a relay on the same machine only). Without it, mails go to the
    Maildir folder below.
``ECHOPPE_SMTP_PASSWORD``
    The SMTP password of the URL's user.
``ECHOPPE_MAILDIR``
    The Maildir folder used when there is no SMTP URL (default
    ``mailbox``, in the current folder): for development.
``ECHOPPE_BASE_URL``, ``ECHOPPE_SHOP_NAME``, ``ECHOPPE_SENDER``
    The :class:`~echoppe_accounts.Settings` of the same names.
    ``ECHOPPE_BASE_URL`` is required to write mails with links.
``ECHOPPE_ANALYTICS_DATABASE_URL``
    A ``sqlite:`` URL for the audience-measurement events; by default the
    accounts' SQLite file.
``ECHOPPE_OUTBOX_KEY``
    The key sealing the secrets of outbox mails, read by
    :func:`~echoppe_accounts.bootstrap`.

>>> DatabaseURL.parse("sqlite:///data/accounts.sqlite3").path
PosixPath('data/accounts.sqlite3')
>>> DatabaseURL.parse("sqlite:////var/lib/echoppe/accounts.sqlite3").path
PosixPath('/var/lib/echoppe/accounts.sqlite3')
>>> DatabaseURL.parse("mysql://shop@db/shop")
Traceback (most recent call last):
...
echoppe_accounts.entrypoints.config.ConfigurationError: unsupported database URL ...

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

from echoppe_accounts._files import UnsafeFileError
from echoppe_accounts.domain.errors import Language
from echoppe_accounts.domain.sealing import KEY_BYTES
from echoppe_accounts.service_layer.settings import Settings

if TYPE_CHECKING:
    # The adapters and the wiring are imported by the commands that use
    # them: `echoppe-accounts --help` loads no database driver and no
    # template (issue 22).
    from echoppe_accounts.adapters.analytics import SQLiteAnalyticsSink
    from echoppe_accounts.adapters.smtp import SMTPMailer
    from echoppe_accounts.bootstrap import App
    from echoppe_accounts.domain.mail import OutgoingMail
    from echoppe_accounts.ports import Mailer, UnitOfWorkFactory

DEFAULT_DATABASE_URL = "sqlite:///echoppe.sqlite3"
"""The database when neither ``--db`` nor ``ECHOPPE_DATABASE_URL`` says one."""

DEFAULT_MAILDIR = "mailbox"
"""The Maildir folder when there is no SMTP URL."""

_PLACEHOLDER_BASE_URL = "http://localhost"
"""Used by commands that write no link, when ``ECHOPPE_BASE_URL`` is unset."""


class ConfigurationError(Exception):
    """The configuration is wrong; the message says what to change.

    Attributes:
        french: The message in French.
        english: The message in English.

    .. versionadded:: 0.2.0
    """

    def __init__(self, french: str, english: str) -> None:
        """Describe the mistake in French and English."""
        self.french = french
        self.english = english
        super().__init__(english)

    def message(self, language: Language = "fr") -> str:
        """Return the message in *language*."""
        return self.french if language == "fr" else self.english


@attrs.frozen
class DatabaseURL:
    """A parsed ``sqlite:`` or ``postgresql:`` database URL.

    Attributes:
        kind: ``"sqlite"`` or ``"postgresql"``.
        url: The URL as given.
        path: The SQLite file, for ``sqlite:`` URLs.

    .. versionadded:: 0.2.0
    """

    kind: Literal["sqlite", "postgresql"]
    url: str = attrs.field(repr=False)
    path: Path | None = None

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        """Read *url*, as SQLAlchemy does: three slashes before a relative path.

        Raises:
            ConfigurationError: An unsupported scheme or a malformed URL.
        """
        parts = urlsplit(url)
        if parts.scheme == "sqlite":
            path = unquote(parts.path)[1:]
            if parts.netloc or parts.query or parts.fragment or not path:
                msg_fr = (
                    f"URL SQLite invalide ({_hide(url)}) : écrivez "
                    "sqlite:///chemin/relatif ou sqlite:////chemin/absolu."
                )
                msg_en = (
                    f"invalid SQLite URL ({_hide(url)}): write "
                    "sqlite:///relative/path or sqlite:////absolute/path."
                )
                raise ConfigurationError(msg_fr, msg_en)
            return cls("sqlite", url, Path(path))
        if parts.scheme in {"postgresql", "postgres"}:
            return cls("postgresql", url)
        msg_fr = (
            f"URL de base de données non prise en charge ({_hide(url)}) : "
            "utilisez sqlite:/// ou postgresql://."
        )
        msg_en = (
            f"unsupported database URL ({_hide(url)}): use sqlite:/// or postgresql://."
        )
        raise ConfigurationError(msg_fr, msg_en)

    @property
    def has_password(self) -> bool:
        """Whether the URL carries a password (in its user part or its query)."""
        parts = urlsplit(self.url)
        query = dict(parse_qsl(parts.query))
        return parts.password is not None or "password" in query

    def __str__(self) -> str:
        """Return the URL without its password, if it has one."""
        return _hide(self.url)


def _hide(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


@attrs.frozen
class Environment:
    """The configuration read from environment variables.

    Attributes:
        database_url: ``ECHOPPE_DATABASE_URL``, else the default.
        database_schema: ``ECHOPPE_DATABASE_SCHEMA``.
        smtp_url: ``ECHOPPE_SMTP_URL``.
        smtp_password: ``ECHOPPE_SMTP_PASSWORD`` (never shown in a repr).
        maildir: ``ECHOPPE_MAILDIR``, else ``mailbox``.
        base_url: ``ECHOPPE_BASE_URL``.
        shop_name: ``ECHOPPE_SHOP_NAME``.
        sender: ``ECHOPPE_SENDER``.
        analytics_database_url: ``ECHOPPE_ANALYTICS_DATABASE_URL``.
        prestashop_password: ``ECHOPPE_PRESTASHOP_PASSWORD``, the password
            of the PrestaShop database ``import prestashop`` reads (never
            shown in a repr).

    .. versionadded:: 0.2.0
    """

    database_url: str = DEFAULT_DATABASE_URL
    database_schema: str | None = None
    smtp_url: str | None = None
    smtp_password: str | None = attrs.field(default=None, repr=False)
    maildir: str = DEFAULT_MAILDIR
    base_url: str | None = None
    shop_name: str | None = None
    sender: str | None = None
    analytics_database_url: str | None = None
    prestashop_password: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """Read the ``ECHOPPE_*`` variables of *environ* (``os.environ``)."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(f"ECHOPPE_{name}") or None

        return cls(
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            database_schema=get("DATABASE_SCHEMA"),
            smtp_url=get("SMTP_URL"),
            smtp_password=get("SMTP_PASSWORD"),
            maildir=get("MAILDIR") or DEFAULT_MAILDIR,
            base_url=get("BASE_URL"),
            shop_name=get("SHOP_NAME"),
            sender=get("SENDER"),
            analytics_database_url=get("ANALYTICS_DATABASE_URL"),
            prestashop_password=get("PRESTASHOP_PASSWORD"),
        )

    def settings(self, *, links: bool) -> Settings:
        """Return the shop's settings.

        Args:
            links: Whether the command writes mails with links, which need
                ``ECHOPPE_BASE_URL``.

        Raises:
            ConfigurationError: ``ECHOPPE_BASE_URL`` is missing although
                *links* is true, or a setting is invalid.
        """
        if self.base_url is None and links:
            msg_fr = (
                "ECHOPPE_BASE_URL est requise : les e-mails de cette commande "
                "portent des liens vers la boutique (https://www.exemple.fr)."
            )
            msg_en = (
                "ECHOPPE_BASE_URL is required: this command's mails carry links "
                "to the shop (https://www.example.com)."
            )
            raise ConfigurationError(msg_fr, msg_en)
        values: dict[str, Any] = {"base_url": self.base_url or _PLACEHOLDER_BASE_URL}
        if self.shop_name is not None:
            values["shop_name"] = self.shop_name
        if self.sender is not None:
            values["sender"] = self.sender
        try:
            return Settings(**values)
        except ValueError as exc:
            msg_fr = f"Réglage ECHOPPE_* invalide : {exc}."
            msg_en = f"invalid ECHOPPE_* setting: {exc}."
            raise ConfigurationError(msg_fr, msg_en) from exc

    def mailer(self) -> Mailer:
        """Return the SMTP mailer of ``ECHOPPE_SMTP_URL``, else the Maildir one.

        Raises:
            ConfigurationError: The SMTP URL is malformed, carries a
                password, or names a user without ``ECHOPPE_SMTP_PASSWORD``.
            DeliveryError: The Maildir folder cannot be created.
        """
        if self.smtp_url is None:
            from echoppe_accounts.adapters.maildir import (  # noqa: PLC0415
                MaildirMailer,
            )

            return MaildirMailer(self.maildir)
        return smtp_mailer(self.smtp_url, self.smtp_password)


_SMTP_SECURITY: Mapping[str, Literal["starttls", "tls", "plain"]] = {
    "smtp": "starttls",
    "smtps": "tls",
    "smtp+plain": "plain",
}


def smtp_mailer(url: str, password: str | None) -> SMTPMailer:
    """Return the :class:`~echoppe_accounts.SMTPMailer` that *url* describes.

    Raises:
        ConfigurationError: The URL is malformed, carries a password, or
            names a user without *password* (or the reverse).

    .. versionadded:: 0.2.0
    """
    parts = urlsplit(url)
    security = _SMTP_SECURITY.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        port, security = None, None
    if security is None or not parts.hostname or parts.path not in {"", "/"}:
        msg_fr = (
            f"ECHOPPE_SMTP_URL invalide ({_hide(url)}) : écrivez "
            "smtp://utilisateur@hôte:587 ou smtps://utilisateur@hôte:465."
        )
        msg_en = (
            f"invalid ECHOPPE_SMTP_URL ({_hide(url)}): write "
            "smtp://user@host:587 or smtps://user@host:465."
        )
        raise ConfigurationError(msg_fr, msg_en)
    if parts.password is not None:
        msg_fr = (
            "Ne mettez pas le mot de passe SMTP dans ECHOPPE_SMTP_URL : "
            "utilisez ECHOPPE_SMTP_PASSWORD."
        )
        msg_en = (
            "do not put the SMTP password in ECHOPPE_SMTP_URL: use "
            "ECHOPPE_SMTP_PASSWORD."
        )
        raise ConfigurationError(msg_fr, msg_en)
    username = unquote(parts.username) if parts.username else None
    if (username is None) != (password is None):
        msg_fr = (
            "Donnez l’utilisateur SMTP dans ECHOPPE_SMTP_URL et son mot de passe "
            "dans ECHOPPE_SMTP_PASSWORD, ou aucun des deux."
        )
        msg_en = (
            "give the SMTP user in ECHOPPE_SMTP_URL and its password in "
            "ECHOPPE_SMTP_PASSWORD, or neither."
        )
        raise ConfigurationError(msg_fr, msg_en)
    if username is not None and security == "plain":
        msg_fr = (
            "smtp+plain:// n’envoie jamais d’identifiants : la connexion est en clair."
        )
        msg_en = (
            "smtp+plain:// never sends credentials: the connection is not encrypted."
        )
        raise ConfigurationError(msg_fr, msg_en)
    from echoppe_accounts.adapters.smtp import SMTPMailer  # noqa: PLC0415

    return SMTPMailer(
        parts.hostname,
        port,
        security=security,
        username=username,
        password=password,
    )


class _LazyMailer:
    """Makes the real mailer when the first mail is sent."""

    def __init__(self, make: Callable[[], Mailer]) -> None:
        self._make = make
        self._mailer: Mailer | None = None

    def send(self, mail: OutgoingMail, sender: str) -> None:
        if self._mailer is None:
            self._mailer = self._make()
        self._mailer.send(mail, sender)

    def close(self) -> None:
        close = getattr(self._mailer, "close", None)
        if callable(close):
            close()


@attrs.define
class Deployment:
    """An opened database and the means to wire the library on it.

    Build it with :func:`open_database`; close it when done.

    Attributes:
        url: Where the database is.
        environment: The configuration it was opened with.
        unit_of_work: The storage adapter's unit-of-work factory.
        schema_version: Returns the number of migrations applied.
        moved_key (pathlib.Path | None): Where a key file beside the SQLite
            database was, once :meth:`app` moved it to the configuration
            folder; else ``None``.

    .. versionadded:: 0.2.0
    """

    url: DatabaseURL
    environment: Environment
    unit_of_work: UnitOfWorkFactory
    schema_version: Callable[[], int]
    _close: Callable[[], None] = attrs.field(default=lambda: None, repr=False)
    moved_key: Path | None = attrs.field(default=None, repr=False)

    def app(self, *, links: bool = False, send: bool = True) -> App:
        """Wire the library on this database, with the environment's mailer.

        The outbox key comes from ``ECHOPPE_OUTBOX_KEY``; with SQLite, from
        the key file in the operator's configuration folder when the
        variable is unset, as :func:`~echoppe_accounts.sqlite_app` does (a
        key file beside the database is moved there, and :attr:`moved_key`
        says where it was). The previous key, during a rotation, comes
        from ``ECHOPPE_OUTBOX_OLD_KEY`` or the key file. With
        PostgreSQL the variable is required by callers that write or send
        mail: a key made for one process would leave the mails it queued
        unreadable to the worker.

        Args:
            links: Whether the caller writes mails, with links (then
                ``ECHOPPE_BASE_URL`` is required).
            send: Whether the caller sends mail: then the mailer is made,
                and its settings checked, at once; otherwise only if a mail
                is ever sent, so that a Maildir folder is not created by a
                command that sends nothing.

        Raises:
            ConfigurationError: A setting is missing or invalid.
            DeliveryError: The Maildir folder cannot be created.
        """
        key, old_key = self._outbox_keys(mails=links or send)
        settings = attrs.evolve(
            self.environment.settings(links=links),
            outbox_key=key,
            outbox_old_key=old_key,
        )
        environment = self.environment
        mailer = environment.mailer() if send else _LazyMailer(environment.mailer)
        from echoppe_accounts.bootstrap import bootstrap  # noqa: PLC0415

        return bootstrap(self.unit_of_work, mailer, settings)

    def _outbox_keys(self, *, mails: bool) -> tuple[bytes, bytes | None]:
        from echoppe_accounts.bootstrap import (  # noqa: PLC0415
            OUTBOX_OLD_KEY_VARIABLE,
            _no_shared_key,
            _sqlite_keys,
            outbox_key_from_environment,
        )

        try:
            key = outbox_key_from_environment()
            old = outbox_key_from_environment(variable=OUTBOX_OLD_KEY_VARIABLE)
            if key is None and self.url.path is not None:
                ring, self.moved_key = _sqlite_keys(self.url.path)
                key, old = ring.current, old or ring.previous
        except UnsafeFileError as exc:
            msg_fr = (
                f"Le fichier de clé {exc.path} est un lien symbolique ou pas un "
                "fichier ordinaire : rien n’y est écrit ; supprimez-le ou donnez "
                "ECHOPPE_OUTBOX_KEY."
            )
            msg_en = (
                f"the key file {exc.path} is a symbolic link or not a regular "
                "file: nothing is written there; remove it or set ECHOPPE_OUTBOX_KEY."
            )
            raise ConfigurationError(msg_fr, msg_en) from exc
        except (OSError, ValueError) as exc:
            msg_fr = f"Clé de l’outbox illisible : {exc}."
            msg_en = f"unreadable outbox key: {exc}."
            raise ConfigurationError(msg_fr, msg_en) from exc
        if key is not None:
            return key, old
        if mails:
            # The sentence bootstrap() refuses a shared database with.
            raise _no_shared_key()
        # This caller seals and opens no mail: a throwaway key spares it the
        # library's refusal of a shared database without a key.
        return secrets.token_bytes(KEY_BYTES), None

    def close(self) -> None:
        """Close the database's connections."""
        self._close()


def analytics_sink(url: DatabaseURL, environment: Environment) -> SQLiteAnalyticsSink:
    """Return the SQLite sink of the audience-measurement events.

    The events live in ``ECHOPPE_ANALYTICS_DATABASE_URL`` if set, else in
    the accounts' SQLite file at *url*.

    Raises:
        ConfigurationError: The accounts live in PostgreSQL and
            ``ECHOPPE_ANALYTICS_DATABASE_URL`` names no SQLite file.
        StorageError: The file cannot be opened.

    .. versionadded:: 0.2.0
    """
    if environment.analytics_database_url is not None:
        url = DatabaseURL.parse(environment.analytics_database_url)
    if url.path is None:
        msg_fr = (
            "Les statistiques d’audience sont stockées dans SQLite : "
            "donnez ECHOPPE_ANALYTICS_DATABASE_URL=sqlite:///chemin."
        )
        msg_en = (
            "audience-measurement events are stored in SQLite: set "
            "ECHOPPE_ANALYTICS_DATABASE_URL=sqlite:///path."
        )
        raise ConfigurationError(msg_fr, msg_en)
    from echoppe_accounts.adapters.analytics import (  # noqa: PLC0415
        SQLiteAnalyticsSink,
    )

    return SQLiteAnalyticsSink(url.path)


def open_database(url: DatabaseURL, environment: Environment) -> Deployment:
    """Open (creating or migrating its schema) the database at *url*.

    Raises:
        ConfigurationError: A PostgreSQL URL without the ``postgres`` extra.
        StorageError: The database cannot be reached, created or migrated;
            :attr:`~echoppe_accounts.StorageError.retryable` says whether
            it may work later.

    .. versionadded:: 0.2.0
    """
    if url.path is not None:
        from echoppe_accounts.adapters.sqlite import SQLiteStore  # noqa: PLC0415

        lite = SQLiteStore(url.path)
        return Deployment(
            url, environment, lite.unit_of_work, lambda: lite.schema_version
        )
    try:
        from echoppe_accounts.adapters.postgres import PostgresStore  # noqa: PLC0415
    except ImportError as exc:
        msg_fr = (
            "PostgreSQL demande l’extra postgres : "
            "pip install 'echoppe-accounts[postgres]'."
        )
        msg_en = (
            "PostgreSQL needs the postgres extra: "
            "pip install 'echoppe-accounts[postgres]'."
        )
        raise ConfigurationError(msg_fr, msg_en) from exc
    schema = environment.database_schema or "echoppe_accounts"
    store = PostgresStore(url.url, schema=schema)
    return Deployment(
        url,
        environment,
        store.unit_of_work,
        lambda: store.schema_version,
        store.close,
    )
