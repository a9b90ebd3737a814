"""Wiring: build the use cases from adapters, with secure defaults."""

from __future__ import annotations

from pathlib import Path

import attrs

from echoppe_accounts.adapters.maildir import MaildirMailer
from echoppe_accounts.adapters.sqlite import SQLiteStore
from echoppe_accounts.adapters.system import Argon2Hasher, SystemClock, SystemSecrets
from echoppe_accounts.ports import (
    Clock,
    Mailer,
    PasswordHasher,
    SecretSource,
    UnitOfWorkFactory,
)
from echoppe_accounts.service_layer.auth import AuthService
from echoppe_accounts.service_layer.outbox import OutboxDispatcher
from echoppe_accounts.service_layer.privacy import PrivacyService
from echoppe_accounts.service_layer.services import AccountService
from echoppe_accounts.service_layer.settings import Settings


@attrs.frozen
class App:
    """The library wired for one shop: use cases and the outbox dispatcher.

    .. versionadded:: 0.1.0
    """

    accounts: AccountService
    auth: AuthService
    privacy: PrivacyService
    dispatcher: OutboxDispatcher


def bootstrap(
    uow: UnitOfWorkFactory,
    mailer: Mailer,
    settings: Settings,
    *,
    clock: Clock | None = None,
    secrets: SecretSource | None = None,
    hasher: PasswordHasher | None = None,
) -> App:
    """Wire the use cases to *uow* (storage) and *mailer*.

    The clock, the secret source and the password hasher default to the
    system clock, ``secrets`` and argon2id with OWASP's parameters.

    .. versionadded:: 0.1.0
    """
    clock = clock or SystemClock()
    secrets = secrets or SystemSecrets()
    hasher = hasher or Argon2Hasher()
    return App(
        accounts=AccountService(uow, clock, secrets, hasher, settings),
        auth=AuthService(uow, clock, secrets, hasher, settings),
        privacy=PrivacyService(uow, clock, secrets, hasher, settings),
        dispatcher=OutboxDispatcher(uow, mailer, clock, settings.sender),
    )


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

    .. versionadded:: 0.1.0
    """
    store = SQLiteStore(database)
    return bootstrap(
        store.unit_of_work,
        MaildirMailer(mailbox),
        settings,
        clock=clock,
        secrets=secrets,
        hasher=hasher,
    )
