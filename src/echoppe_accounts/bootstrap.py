"""Wiring: build the use cases from adapters, with secure defaults.

The outbox key
--------------
Mails wait in the outbox with their bodies sealed (AES-256-GCM), so that no
usable token or temporary password rests in the database (SPEC O2). The key
is 32 random bytes that the database does not hold. :func:`bootstrap` takes
it from, in order:

1. :attr:`Settings.outbox_key <echoppe_accounts.Settings.outbox_key>`;
2. the environment variable ``ECHOPPE_OUTBOX_KEY``: the key written as 64
   hexadecimal digits or in base64 (make one with ``openssl rand -base64
   32``);
3. otherwise a key made for the running process alone, with a warning
   logged once: mails still queued when the process stops cannot be opened
   by the next one and become dead letters (reason "unreadable"). Fine for
   tests, not for a shop: give PostgreSQL deployments a key.

:func:`sqlite_app`, the embedded default, adds one step before the third:
without a key in the settings or the environment, it keeps one in a file
beside the database, ``<database>.key`` (``accounts.sqlite3.key``), created
with mode 0600 on first use and read afterwards; the key is never written
inside the database. Back the file up with the database, apart from it if
you can: without it, the mails queued at that moment cannot be sent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets as stdlib_secrets
import stat
from collections.abc import Mapping
from pathlib import Path

import attrs

from echoppe_accounts.adapters.legacy_hashes import LegacyHasher
from echoppe_accounts.adapters.maildir import MaildirMailer
from echoppe_accounts.adapters.sqlite import SQLiteStore
from echoppe_accounts.adapters.system import Argon2Hasher, SystemClock, SystemSecrets
from echoppe_accounts.domain import fast as fast_paths
from echoppe_accounts.domain.i18n import install as install_catalogues
from echoppe_accounts.domain.sealing import KEY_BYTES, parse_key
from echoppe_accounts.ports import (
    Clock,
    Mailer,
    PasswordHasher,
    SecretSource,
    UnitOfWork,
    UnitOfWorkFactory,
)
from echoppe_accounts.service_layer.auth import AuthService
from echoppe_accounts.service_layer.events import (
    EventDispatcher,
    EventHandler,
    delivering,
)
from echoppe_accounts.service_layer.outbox import OutboxDispatcher, process_key
from echoppe_accounts.service_layer.privacy import PrivacyService
from echoppe_accounts.service_layer.services import AccountService
from echoppe_accounts.service_layer.settings import Settings
from echoppe_accounts.service_layer.texts import check_texts

OUTBOX_KEY_VARIABLE = "ECHOPPE_OUTBOX_KEY"
"""The environment variable holding the outbox key (hexadecimal or base64)."""

log = logging.getLogger("echoppe_accounts.outbox")


def outbox_key_from_environment(
    environ: Mapping[str, str] | None = None,
) -> bytes | None:
    """Return the key in ``ECHOPPE_OUTBOX_KEY``, or ``None`` if it is unset or empty.

    Raises:
        ValueError: If the variable holds something other than 32 bytes in
            hexadecimal or base64; the message names the variable, never
            its value.

    .. versionadded:: 0.2.0
    """
    text = (os.environ if environ is None else environ).get(OUTBOX_KEY_VARIABLE, "")
    if not text.strip():
        return None
    try:
        return parse_key(text)
    except ValueError:
        msg = (
            f"{OUTBOX_KEY_VARIABLE} must hold 32 bytes written as 64 hexadecimal "
            "digits or in base64 (openssl rand -base64 32)"
        )
        raise ValueError(msg) from None


def sqlite_outbox_key(database: str | Path) -> bytes:
    """Return the outbox key kept beside the SQLite *database*, making it if needed.

    The key lives in ``<database>.key`` (for ``shop.sqlite3``,
    ``shop.sqlite3.key``), never inside the database: a copy of the
    database alone opens no sealed mail. The file is created on first use
    with mode 0600 (owner only), atomically, so that processes starting at
    once agree on one key.

    Raises:
        OSError: If the file cannot be created or read.
        ValueError: If the file does not hold a key.

    .. versionadded:: 0.2.0
    """
    path = Path(f"{database}.key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{stdlib_secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(stdlib_secrets.token_bytes(KEY_BYTES).hex() + "\n")
                out.flush()
                os.fsync(out.fileno())
            # link() fails if another process made the key meanwhile: the
            # first key stays, and everyone reads it.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the outbox key file %s is readable by others: chmod 600", path)
    try:
        return parse_key(path.read_text(encoding="ascii"))
    except (ValueError, UnicodeError):
        msg = f"{path} does not hold an outbox key"
        raise ValueError(msg) from None


@attrs.frozen
class App:
    """The library wired for one shop: use cases and the outbox dispatcher.

    .. versionadded:: 0.2.0
    """

    accounts: AccountService
    auth: AuthService
    privacy: PrivacyService
    dispatcher: OutboxDispatcher
    events: EventDispatcher = attrs.field(factory=lambda: EventDispatcher(_no_storage))
    """Delivers account events to the shop's handlers (SPEC O5).

    .. versionadded:: 0.2.0
    """


def bootstrap(
    uow: UnitOfWorkFactory,
    mailer: Mailer,
    settings: Settings,
    *,
    clock: Clock | None = None,
    secrets: SecretSource | None = None,
    hasher: PasswordHasher | None = None,
    event_handlers: Mapping[str, EventHandler] | None = None,
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
    (it changes nothing for any other hash). A *hasher* given here is used
    as it is: wrap it too if it must check imported hashes.

    Mails wait in the outbox with their bodies sealed (AES-256-GCM), so
    that no usable token or temporary password rests in the database
    (SPEC O2). The use cases and the dispatcher share the sealing key, 32
    random bytes that the database does not hold, taken from:

    1. :attr:`Settings.outbox_key <echoppe_accounts.Settings.outbox_key>`;
    2. else the environment variable ``ECHOPPE_OUTBOX_KEY``, the key
       written as 64 hexadecimal digits or in base64 (make one with
       ``openssl rand -base64 32``);
    3. else a key made for the running process alone, with a warning logged
       once: mails still queued when the process stops cannot be opened by
       the next one and become dead letters (reason "unreadable"). Fine for
       tests, not for a shop: give a PostgreSQL deployment a key.

    The shop's message catalogues (:attr:`~echoppe_accounts.Settings.locale_dirs`) are
    installed for the process. When the shop gives templates or catalogues
    of its own, every template and message is rendered with sample data in
    every language before this returns (SPEC T1); the library's own texts
    are checked by its tests and compiled and read on first use, so that a
    process pays for the texts it sends (:func:`~echoppe_accounts.check_texts`
    runs the same check on demand, for a deployment's own tests).

    Raises:
        ValueError: If ``ECHOPPE_OUTBOX_KEY`` is set but holds no key.
        TemplateError: If a template or a catalogue of the shop cannot
            render; the message names each one that failed.

    .. versionadded:: 0.2.0
    """
    install_catalogues(settings.locale_dirs)
    if settings.fast_paths is not None:
        fast_paths.set_enabled(settings.fast_paths)
    if settings.templates is not None or settings.locale_dirs:
        # The shop's own texts are checked at the start; the library's are
        # checked by its tests, and compiled and read on first use (issue 22).
        check_texts(settings)
    clock = clock or SystemClock()
    secrets = secrets or SystemSecrets()
    hasher = hasher or LegacyHasher(Argon2Hasher())
    events = EventDispatcher(uow, dict(event_handlers or {}))
    uow = delivering(uow, events)
    key = settings.outbox_key or outbox_key_from_environment() or process_key()
    settings = attrs.evolve(settings, outbox_key=key)
    dispatcher = OutboxDispatcher(
        uow,
        mailer,
        clock,
        settings.sender,
        retry_window=settings.outbox_retry_window,
        outbox_key=key,
    )
    return App(
        accounts=AccountService(uow, clock, secrets, hasher, settings),
        auth=AuthService(uow, clock, secrets, hasher, settings),
        privacy=PrivacyService(uow, clock, secrets, hasher, settings),
        dispatcher=dispatcher,
        events=events,
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
    that seals mail bodies (see :func:`bootstrap`) is kept in a file beside
    the database, ``<database>.key`` (``accounts.sqlite3.key``), created
    with mode 0600 (owner only) on first use and read afterwards; it is
    never written inside the database. Back the file up with the database,
    apart from it if you can: without it, the mails queued at that moment
    cannot be sent.

    .. versionadded:: 0.2.0
    """
    store = SQLiteStore(database)
    if settings.outbox_key is None:
        key = outbox_key_from_environment() or sqlite_outbox_key(database)
        settings = attrs.evolve(settings, outbox_key=key)
    return bootstrap(
        store.unit_of_work,
        MaildirMailer(mailbox),
        settings,
        clock=clock,
        secrets=secrets,
        hasher=hasher,
    )
