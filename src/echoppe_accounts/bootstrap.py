"""Wiring: build the use cases from adapters, with secure defaults.

The outbox key
--------------
Mails wait in the outbox with their bodies sealed (AES-256-GCM), so that no
usable token or temporary password rests in the database (SPEC O2). The key
is 32 random bytes that the database does not hold, nor its backups.
:func:`bootstrap` takes it from, in order:

1. :attr:`Settings.outbox_key <echoppe_accounts.Settings.outbox_key>`;
2. the environment variable ``ECHOPPE_OUTBOX_KEY``: the key written as 64
   hexadecimal digits or in base64 (make one with ``openssl rand -base64
   32``);
3. otherwise, for a database several processes share (PostgreSQL), nothing:
   :func:`bootstrap` refuses to start with a ``ConfigurationError``
   saying what to set, since a key made for one process would leave the
   mails it queued unreadable to the worker; for a store of one process
   (the in-memory one, tests), a key made for the running process.

:func:`sqlite_app`, the embedded default, adds one step before the third:
the key kept in the operator's configuration folder,
``$XDG_CONFIG_HOME/echoppe-accounts/`` (``~/.config/echoppe-accounts/``),
in a file of mode 0600 named after the database
(``shop.sqlite3-<digest of its absolute path>.key``, see
:func:`outbox_key_file`), made on first use: never beside the database, so
a copy of the database's files opens no sealed mail. Back the key file up
apart from the database. A key file that an earlier version wrote beside
the database (``shop.sqlite3.key``) is moved there.

Rotating the key: the previous key, in
:attr:`Settings.outbox_old_key <echoppe_accounts.Settings.outbox_old_key>`,
``ECHOPPE_OUTBOX_OLD_KEY`` or the key file's ``previous`` line (see
:func:`rotate_outbox_key`), still opens the mails queued before the
rotation; new mails are sealed with the current key.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import attrs

from echoppe_accounts.adapters import _keyfile
from echoppe_accounts.adapters.maildir import MaildirMailer
from echoppe_accounts.adapters.sqlite import SQLiteStore
from echoppe_accounts.domain import fast as fast_paths
from echoppe_accounts.domain.i18n import install as install_catalogues
from echoppe_accounts.domain.sealing import parse_key
from echoppe_accounts.service_layer.settings import Settings

if TYPE_CHECKING:
    # The use cases, the hasher, the clock and the event dispatcher are
    # imported when the program first uses them (see App), not when it is
    # wired: a process pays for the code it runs (issue 22).
    from echoppe_accounts.entrypoints.config import ConfigurationError
    from echoppe_accounts.ports import (
        Clock,
        Mailer,
        PasswordHasher,
        SecretSource,
        UnitOfWork,
        UnitOfWorkFactory,
    )
    from echoppe_accounts.service_layer.auth import AuthService
    from echoppe_accounts.service_layer.events import EventDispatcher, EventHandler
    from echoppe_accounts.service_layer.outbox import OutboxDispatcher
    from echoppe_accounts.service_layer.privacy import PrivacyService
    from echoppe_accounts.service_layer.services import AccountService

OUTBOX_KEY_VARIABLE = "ECHOPPE_OUTBOX_KEY"
"""The environment variable holding the outbox key (hexadecimal or base64)."""

OUTBOX_OLD_KEY_VARIABLE = "ECHOPPE_OUTBOX_OLD_KEY"
"""The environment variable holding the previous outbox key, during a rotation."""


def outbox_key_from_environment(
    environ: Mapping[str, str] | None = None, variable: str = OUTBOX_KEY_VARIABLE
) -> bytes | None:
    """Return the key in ``ECHOPPE_OUTBOX_KEY``, or ``None`` if it is unset or empty.

    *variable* ``ECHOPPE_OUTBOX_OLD_KEY`` reads the previous key instead.

    Raises:
        ValueError: If the variable holds something other than 32 bytes in
            hexadecimal or base64; the message names the variable, never
            its value.

    .. versionadded:: 0.2.0
    """
    text = (os.environ if environ is None else environ).get(variable, "")
    if not text.strip():
        return None
    try:
        return parse_key(text)
    except ValueError:
        msg = (
            f"{variable} must hold 32 bytes written as 64 hexadecimal "
            "digits or in base64 (openssl rand -base64 32)"
        )
        raise ValueError(msg) from None


def outbox_key_file(database: str | Path) -> Path:
    """Return where the outbox key of the SQLite *database* is kept.

    ``$XDG_CONFIG_HOME/echoppe-accounts/<name>-<digest>.key``
    (``~/.config/…`` when the variable is unset), where *name* is the
    database's file name and *digest* part of the SHA-256 of its absolute
    path: never beside the database, never in its backups (SPEC O2). Moving
    the database to another folder changes the digest: move the key file
    with it (its first comment line names the database it serves), or set
    ``ECHOPPE_OUTBOX_KEY``.

    .. versionadded:: 0.2.0
    """
    return _keyfile.key_path(database)


def sqlite_outbox_key(database: str | Path) -> bytes:
    """Return the outbox key of the SQLite *database*, making it if needed.

    The key lives in :func:`outbox_key_file`, never beside the database nor
    inside it: a copy of the database's files alone opens no sealed mail.
    The file is created on first use with mode 0600 (owner only),
    atomically, so that processes starting at once agree on one key. A key
    file found beside the database (``<database>.key``, where earlier
    versions kept it) is moved there first, with a warning.

    Raises:
        OSError: If the file cannot be created, moved or read, or is a
            symbolic link.
        ValueError: If the file does not hold a key.

    .. versionadded:: 0.2.0
    """
    return _sqlite_keys(database)[0].current


def _sqlite_keys(database: str | Path) -> tuple[_keyfile.KeyRing, Path | None]:
    """Return the keys of *database*, and where a key beside it was moved from."""
    path = _keyfile.key_path(database)
    moved = _keyfile.move_beside_key(database, path)
    if moved is not None:
        import logging  # noqa: PLC0415 (a rare warning: wiring loads no logging)

        logging.getLogger("echoppe_accounts.outbox").warning(
            "the outbox key file %s sat beside the database: moved to %s; "
            "back it up apart from the database",
            moved,
            path,
        )
    return _keyfile.load_or_create(database, path), moved


def rotate_outbox_key(database: str | Path) -> Path:
    """Give the SQLite *database* a new outbox key, keeping the current one as previous.

    New mails are sealed with the new key once the processes using the
    database are restarted; the previous key still opens the mails queued
    before. A second rotation drops that previous key: wait for the
    outbox's retry window (72 hours) between two. Returns the key file.

    Raises:
        OSError: If the key file cannot be read or written.
        ValueError: If it does not hold a key.

    .. versionadded:: 0.2.0
    """
    path = _keyfile.key_path(database)
    _keyfile.move_beside_key(database, path)
    _keyfile.rotate(database, path)
    return path


def _no_shared_key() -> ConfigurationError:
    from echoppe_accounts.entrypoints.config import (  # noqa: PLC0415 (no cycle)
        ConfigurationError,
    )

    return ConfigurationError(
        "Aucune clé d’outbox : avec une base partagée (PostgreSQL), donnez "
        "ECHOPPE_OUTBOX_KEY (ou Settings.outbox_key), 32 octets faits par "
        "« openssl rand -base64 32 », la même à chaque processus, car une clé "
        "propre à un processus rendrait ses e-mails illisibles pour le worker.",
        "No outbox key: with a shared database (PostgreSQL), set "
        "ECHOPPE_OUTBOX_KEY (or Settings.outbox_key) to 32 bytes made by "
        "'openssl rand -base64 32', the same in every process, because a key "
        "made for one process would leave its mails unreadable to the worker.",
    )


_PARTS = ("accounts", "auth", "privacy", "dispatcher", "events")


class App:
    """The library wired for one shop: use cases and the outbox dispatcher.

    An app that :func:`bootstrap` wires makes each of them the first time
    the program reads it, importing its code then: a worker that only
    sends mails never loads the login's code, and wiring a process costs
    what its checks cost (the outbox key, the shop's texts), which
    :func:`bootstrap` makes at once. Thread-safe: each part is made once.

    .. versionadded:: 0.2.0
    """

    __slots__ = ("_lock", "_made", "_make")

    _made: dict[str, Any]
    _make: Callable[[str], Any]
    _lock: threading.Lock

    def __init__(
        self,
        accounts: AccountService,
        auth: AuthService,
        privacy: PrivacyService,
        dispatcher: OutboxDispatcher,
        events: EventDispatcher | None = None,
    ) -> None:
        """Hold use cases made elsewhere; *events* has no storage by default."""
        made: dict[str, Any] = {
            "accounts": accounts,
            "auth": auth,
            "privacy": privacy,
            "dispatcher": dispatcher,
        }
        if events is not None:
            made["events"] = events
        self._start(made, _storage_less_events)

    @classmethod
    def _on_demand(cls, make: Callable[[str], Any]) -> App:
        """Return an app whose parts *make* makes, by name, on first use."""
        app = cls.__new__(cls)
        app._start({}, make)  # noqa: SLF001 (its own class)
        return app

    def _start(self, made: dict[str, Any], make: Callable[[str], Any]) -> None:
        object.__setattr__(self, "_made", made)
        object.__setattr__(self, "_make", make)
        object.__setattr__(self, "_lock", threading.Lock())

    def _part(self, name: str) -> Any:  # noqa: ANN401 (each property types its own)
        part = self._made.get(name)
        if part is None:
            with self._lock:
                part = self._made.get(name)
                if part is None:
                    part = self._made[name] = self._make(name)
        return part

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse: an app's parts are set when it is wired."""
        del name, value
        raise attrs.exceptions.FrozenInstanceError

    def __repr__(self) -> str:
        """Name the parts made so far."""
        made = ", ".join(name for name in _PARTS if name in self._made)
        return f"<App, made: {made or 'nothing yet'}>"

    @property
    def accounts(self) -> AccountService:
        """The account use cases, from registration to erasure.

        .. versionadded:: 0.2.0
        """
        return cast("AccountService", self._part("accounts"))

    @property
    def auth(self) -> AuthService:
        """The logins, password resets and session stamps.

        .. versionadded:: 0.2.0
        """
        return cast("AuthService", self._part("auth"))

    @property
    def privacy(self) -> PrivacyService:
        """The customers' data, their exports, consents and erasure requests.

        .. versionadded:: 0.2.0
        """
        return cast("PrivacyService", self._part("privacy"))

    @property
    def dispatcher(self) -> OutboxDispatcher:
        """The outbox's sender, to run in a worker.

        .. versionadded:: 0.2.0
        """
        return cast("OutboxDispatcher", self._part("dispatcher"))

    @property
    def events(self) -> EventDispatcher:
        """Delivers account events to the shop's handlers (SPEC O5).

        .. versionadded:: 0.2.0
        """
        return cast("EventDispatcher", self._part("events"))


def _storage_less_events(name: str) -> EventDispatcher:
    """The events of an app built without :func:`bootstrap`: no storage."""
    from echoppe_accounts.service_layer.events import (  # noqa: PLC0415
        EventDispatcher,
    )

    assert name == "events"  # noqa: S101 (the other parts are given)
    return EventDispatcher(_no_storage)


@attrs.define
class _Wiring:
    """What :func:`bootstrap` was given; makes an :class:`App`'s parts on demand.

    Called under the app's lock, so each shared piece (the event
    dispatcher, the clock, the hasher) is made once and shared by the use
    cases, as when they were all made at wiring.
    """

    uow: UnitOfWorkFactory
    mailer: Mailer
    settings: Settings
    clock: Clock | None
    secrets: SecretSource | None
    hasher: PasswordHasher | None
    handlers: dict[str, EventHandler]
    _events: EventDispatcher | None = None
    _delivering: UnitOfWorkFactory | None = None

    def _shared(self) -> tuple[EventDispatcher, UnitOfWorkFactory]:
        if self._events is None or self._delivering is None:
            from echoppe_accounts.service_layer.events import (  # noqa: PLC0415
                EventDispatcher,
                delivering,
            )

            self._events = EventDispatcher(self.uow, self.handlers)
            self._delivering = delivering(self.uow, self._events)
        return self._events, self._delivering

    def _clock(self) -> Clock:
        if self.clock is None:
            from echoppe_accounts.adapters.system import SystemClock  # noqa: PLC0415

            self.clock = SystemClock()
        return self.clock

    def _tools(self) -> tuple[Clock, SecretSource, PasswordHasher]:
        if self.secrets is None:
            from echoppe_accounts.adapters.system import (  # noqa: PLC0415
                SystemSecrets,
            )

            self.secrets = SystemSecrets()
        if self.hasher is None:
            from echoppe_accounts.adapters.legacy_hashes import (  # noqa: PLC0415
                LegacyHasher,
            )
            from echoppe_accounts.adapters.system import (  # noqa: PLC0415
                Argon2Hasher,
            )

            self.hasher = LegacyHasher(
                Argon2Hasher(), equal_cost=self.settings.imported_hash_cost
            )
        return self._clock(), self.secrets, self.hasher

    def __call__(self, name: str) -> object:
        """Make the part *name* of the app."""
        events, uow = self._shared()
        settings = self.settings
        if name == "events":
            return events
        if name == "dispatcher":
            from echoppe_accounts.service_layer.outbox import (  # noqa: PLC0415
                OutboxDispatcher,
            )

            return OutboxDispatcher(
                uow,
                self.mailer,
                self._clock(),
                settings.sender,
                retry_window=settings.outbox_retry_window,
                outbox_key=settings.outbox_key,
                outbox_old_key=settings.outbox_old_key,
            )
        tools = self._tools()
        if name == "accounts":
            from echoppe_accounts.service_layer.services import (  # noqa: PLC0415
                AccountService,
            )

            return AccountService(uow, *tools, settings)
        if name == "auth":
            from echoppe_accounts.service_layer.auth import (  # noqa: PLC0415
                AuthService,
            )

            return AuthService(uow, *tools, settings)
        from echoppe_accounts.service_layer.privacy import (  # noqa: PLC0415
            PrivacyService,
        )

        assert name == "privacy"  # noqa: S101 (App asks for its own parts)
        return PrivacyService(uow, *tools, settings)


def bootstrap(
    uow: UnitOfWorkFactory,
    mailer: Mailer,
    settings: Settings,
    *,
    clock: Clock | None = None,
    secrets: SecretSource | None = None,
    hasher: PasswordHasher | None = None,
    event_handlers: Mapping[str, EventHandler] | None = None,
    shared_database: bool | None = None,
) -> App:
    """Wire the use cases to *uow* (storage) and *mailer*.

    *event_handlers* receive account events (SPEC O5), by a stable name
    (see :class:`~echoppe_accounts.EventDispatcher`): right after each
    change is committed, and again whenever ``app.events.dispatch()`` runs
    (an :class:`~echoppe_accounts.OutboxWorker` given
    ``events=app.events.dispatch`` runs it every round) for whatever an
    earlier delivery left behind.

    The clock, the secret source and the password hasher default to the
    system clock, ``secrets`` and argon2id with OWASP's parameters, wrapped
    in :class:`~echoppe_accounts.LegacyHasher` so that customers imported
    with a PrestaShop bcrypt hash can log in once and get an argon2id hash
    (it changes nothing for any other hash, except the equal work that
    :attr:`Settings.imported_hash_cost
    <echoppe_accounts.Settings.imported_hash_cost>` may ask). A *hasher*
    given here is used as it is: wrap it too if it must check imported
    hashes.

    Mails wait in the outbox with their bodies sealed (AES-256-GCM), so
    that no usable token or temporary password rests in the database
    (SPEC O2). The use cases and the dispatcher share the sealing key, 32
    random bytes that the database does not hold, taken from:

    1. :attr:`Settings.outbox_key <echoppe_accounts.Settings.outbox_key>`;
    2. else the environment variable ``ECHOPPE_OUTBOX_KEY``, the key
       written as 64 hexadecimal digits or in base64 (make one with
       ``openssl rand -base64 32``);
    3. else, when several processes share the database (*shared_database*,
       by default true for
       :class:`~echoppe_accounts.adapters.postgres.PostgresStore`), no
       key: a
       :class:`~echoppe_accounts.entrypoints.config.ConfigurationError`
       says to set one (SPEC O2);
       otherwise a key made for the running process alone, with a warning
       logged once: mails still queued when the process stops become dead
       letters (reason "unreadable"). Fine for tests and the in-memory
       store.

    The previous key, during a rotation, comes from
    :attr:`Settings.outbox_old_key <echoppe_accounts.Settings.outbox_old_key>`
    or ``ECHOPPE_OUTBOX_OLD_KEY``: it still opens the mails sealed with it.

    The shop's message catalogues (:attr:`~echoppe_accounts.Settings.locale_dirs`) are
    installed for the process. When the shop gives templates or catalogues
    of its own, every template and message is rendered with sample data in
    every language before this returns (SPEC T1); the library's own texts
    are checked by its tests and compiled and read on first use, so that a
    process pays for the texts it sends (:func:`~echoppe_accounts.check_texts`
    runs the same check on demand, for a deployment's own tests).

    Raises:
        ~echoppe_accounts.entrypoints.config.ConfigurationError: If the
            database is shared and no key is given.
        ValueError: If ``ECHOPPE_OUTBOX_KEY`` or ``ECHOPPE_OUTBOX_OLD_KEY``
            is set but holds no key.
        TemplateError: If a template or a catalogue of the shop cannot
            render; the message names each one that failed.

    .. versionadded:: 0.2.0
    """
    key = settings.outbox_key or outbox_key_from_environment()
    if key is None:
        if shared_database is None:
            store = getattr(uow, "__self__", None)
            shared_database = bool(getattr(store, "shared_database", False))
        if shared_database:
            raise _no_shared_key()
        from echoppe_accounts.service_layer.outbox import (  # noqa: PLC0415
            process_key,
        )

        key = process_key()
    old_key = settings.outbox_old_key or outbox_key_from_environment(
        variable=OUTBOX_OLD_KEY_VARIABLE
    )
    settings = attrs.evolve(settings, outbox_key=key, outbox_old_key=old_key)
    install_catalogues(settings.locale_dirs)
    if settings.fast_paths is not None:
        fast_paths.set_enabled(settings.fast_paths)
    if settings.templates is not None or settings.locale_dirs:
        # The shop's own texts are checked at the start; the library's are
        # checked by its tests, and compiled and read on first use (issue 22).
        from echoppe_accounts.service_layer.texts import (  # noqa: PLC0415
            check_texts,
        )

        check_texts(settings)
    # The use cases, the event dispatcher, the clock and the hasher are made
    # (and their modules imported) when the program first uses them.
    return App._on_demand(  # noqa: SLF001 (this module's class)
        _Wiring(
            uow,
            mailer,
            settings,
            clock,
            secrets,
            hasher,
            dict(event_handlers or {}),
        )
    )


def _no_storage(*, durable: bool = True) -> UnitOfWork:
    del durable
    msg = "an App built without bootstrap() has no event storage"
    raise RuntimeError(msg)


def sqlite_app(
    database: str | Path,
    mailbox: str | Path,
    settings: Settings,
    *,
    clock: Clock | None = None,
    secrets: SecretSource | None = None,
    hasher: PasswordHasher | None = None,
) -> App:
    """Wire the embedded default: a SQLite file and a local Maildir mailbox.

    Without an outbox key in *settings* or ``ECHOPPE_OUTBOX_KEY``, the key
    that seals mail bodies (see :func:`bootstrap`) is kept in the
    operator's configuration folder
    (:func:`~echoppe_accounts.bootstrap.outbox_key_file`), created
    with mode 0600 (owner only) on first use and read afterwards, with the
    previous key after a rotation; it is never written inside the
    database nor beside it. Back the key file up apart from the database:
    without it, the mails queued at that moment cannot be sent.

    .. versionadded:: 0.2.0
    """
    store = SQLiteStore(database)
    if settings.outbox_key is None and outbox_key_from_environment() is None:
        ring, _ = _sqlite_keys(database)
        settings = attrs.evolve(
            settings,
            outbox_key=ring.current,
            outbox_old_key=settings.outbox_old_key or ring.previous,
        )
    return bootstrap(
        store.unit_of_work,
        MaildirMailer(mailbox),
        settings,
        clock=clock,
        secrets=secrets,
        hasher=hasher,
    )
