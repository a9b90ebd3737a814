"""An app wired by ``bootstrap`` makes its use cases on first use (issue 22).

Wiring keeps its checks (the outbox key, the shop's texts: see
``test_bootstrap`` and ``test_startup``); what it no longer does is import
and build every use case, the hasher and the event dispatcher before the
program asks for one. These tests check that the parts, once made, are
wired as before: one event dispatcher, one clock, one hasher for all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import attrs
import pytest

from echoppe_accounts import (
    AccountService,
    App,
    AuthService,
    EventDispatcher,
    InMemoryStore,
    OutboxDispatcher,
    PrivacyService,
    Settings,
    bootstrap,
)
from echoppe_accounts.testing import RecordingMailer

KEY = bytes(range(32))
SETTINGS = Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY)


def _app() -> App:
    return bootstrap(InMemoryStore().unit_of_work, RecordingMailer(), SETTINGS)


def test_parts_are_made_once_and_share_their_tools():
    """O5, P1: every use case shares the app's one hasher, clock and events."""
    app = _app()
    assert repr(app) == "<App, made: nothing yet>"
    accounts, auth, privacy = app.accounts, app.auth, app.privacy
    assert isinstance(accounts, AccountService)
    assert isinstance(auth, AuthService)
    assert isinstance(privacy, PrivacyService)
    assert isinstance(app.dispatcher, OutboxDispatcher)
    assert isinstance(app.events, EventDispatcher)
    assert app.accounts is accounts
    assert auth.hasher is accounts.hasher is privacy.hasher
    assert auth.clock is accounts.clock is app.dispatcher.clock
    assert auth.secrets is accounts.secrets
    assert accounts.uow is auth.uow is app.dispatcher.uow  # delivering events
    assert app.dispatcher.outbox_key == KEY
    assert "accounts" in repr(app)


def test_parts_given_to_the_constructor_are_kept():
    """O5: an app built by hand holds its parts; its events have no storage."""
    made = _app()
    app = App(made.accounts, made.auth, made.privacy, made.dispatcher)
    assert app.accounts is made.accounts
    assert app.dispatcher is made.dispatcher
    assert app.events.handlers == {}
    with pytest.raises(RuntimeError, match="no event storage"):
        app.events.uow()
    assert App(made.accounts, made.auth, made.privacy, made.dispatcher, made.events)


def test_app_is_read_only():
    """An app's parts are set when it is wired, never replaced."""
    app = _app()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        app.accounts = app.accounts  # type: ignore[misc]
    with pytest.raises(AttributeError):
        app.anything = 1  # type: ignore[attr-defined]


def test_threads_asking_at_once_get_one_part():
    """Each part is made once, however many threads ask for it first."""
    app = _app()
    seen: list[object] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        seen.append(app.auth)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(part) for part in seen}) == 1


def test_use_cases_load_when_first_used(tmp_path):
    """P1: wiring imports no use case nor argon2; the first login's service does."""
    program = (
        "import json, sys\n"
        "from echoppe_accounts import Settings, sqlite_app\n"
        "app = sqlite_app('accounts.sqlite3', 'mailbox', "
        "Settings(base_url='https://www.lechoppe.fr'))\n"
        "names = ('echoppe_accounts.service_layer.auth', "
        "'echoppe_accounts.service_layer.services', "
        "'echoppe_accounts.adapters.system', 'argon2')\n"
        "before = [m for m in names if m in sys.modules]\n"
        "app.auth\n"
        "after = [m for m in names if m in sys.modules]\n"
        "print(json.dumps([before, after]))\n"
    )
    done = subprocess.run(  # noqa: S603 (our interpreter, our program)
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    before, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert before == []
    assert "echoppe_accounts.service_layer.auth" in after
    assert "echoppe_accounts.adapters.system" in after
    assert "echoppe_accounts.service_layer.services" not in after
