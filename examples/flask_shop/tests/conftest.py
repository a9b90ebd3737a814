"""Fixtures of the example shop's tests: the shop, browsers of it, its mailbox.

The example needs Flask (``pip install -e '.[example]'``): without it these
tests skip, saying so, except under ``CI=true``, where they fail. The
fixtures have names of their own, so they never shadow those of the
library's ``tests/conftest.py``.
"""

from __future__ import annotations

import email
import importlib
import mailbox
import os
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from email.policy import default as default_policy
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from itsdangerous import URLSafeTimedSerializer

from echoppe_accounts import Argon2Hasher
from echoppe_accounts.testing import FrozenClock

FAST_HASHER = Argon2Hasher(memory_cost=8, time_cost=1)
"""argon2id with tiny parameters: the library's code path, a thousand times faster."""
STAFF_PASSWORD = "service-client-secret"
TEMPORARY = re.compile(r"\b[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3}\b")
"""The shape of a temporary or provisional password (``K7QM-4XPR-9TBW-HC3D``)."""


def needed(module: str) -> ModuleType:
    """Import *module*, or skip the test saying why (fail under ``CI=true``)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        reason = (
            f"the example shop's tests need {module}: "
            "pip install -e '.[example]' (make test installs it)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true runs the example's tests; {reason}", pytrace=False)
        pytest.skip(reason)


@attrs.frozen
class Mail:
    """A mail found in the shop's Maildir, its plain-text part decoded."""

    to: str
    subject: str
    text: str

    def link(self, path: str) -> str:
        """Return the link of this mail that goes to *path*."""
        found = re.search(rf"https?://\S+{re.escape(path)}\?jeton=[\w-]+", self.text)
        assert found, f"no link to {path} in: {self.text}"
        return found.group(0)

    def has_temporary_password(self) -> bool:
        """Whether this mail brings a temporary password."""
        return TEMPORARY.search(self.text) is not None

    def temporary_password(self) -> str:
        """Return the temporary password this mail brings."""
        found = TEMPORARY.search(self.text)
        assert found, f"no temporary password in: {self.text}"
        return found.group(0)


def read_mailbox(folder: Path) -> list[Mail]:
    """Return the mails of the Maildir *folder*, oldest first.

    Mails are found by what they carry (a link's path, a password's
    shape), never by their wording, which the shop may change.
    """
    box = mailbox.Maildir(folder, create=False)
    found = []
    for key in box.keys():  # noqa: SIM118 (a Maildir's keys, not a dict's)
        with box.get_file(key) as raw:
            parsed = email.message_from_binary_file(raw, policy=default_policy)
        body = parsed.get_body(preferencelist=("plain",))
        mail = Mail(str(parsed["To"]), str(parsed["Subject"]), body.get_content())
        found.append((_delivery_order(key), mail))
    return [mail for _, mail in sorted(found, key=lambda f: f[0])]


def _delivery_order(key: str) -> tuple[int, ...]:
    """Order Maildir file names by delivery: seconds, microseconds, counter."""
    seconds, _, rest = key.partition(".")
    parts = re.match(r"M(\d+)P\d+Q(\d+)", rest)
    return (int(seconds), *(int(p) for p in parts.groups())) if parts else (0,)


class Browser:
    """A Flask test client acting as one browser: cookies, CSRF token and all."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, path: str, **options: Any) -> Any:
        """GET *path*, as a link followed."""
        return self.client.get(path, **options)

    def post(
        self, path: str, data: dict[str, str] | None = None, **options: Any
    ) -> Any:
        """POST *data* to *path* with this browser's CSRF token, as a form sent."""
        return self.client.post(
            path, data={"csrf_token": self.csrf_token(), **(data or {})}, **options
        )

    def csrf_token(self) -> str:
        """Return the CSRF token a page of this browser session would carry.

        Made as Flask-WTF makes it (its raw token in the session, signed with
        the app's key), without loading a page, which the measurement would
        count.
        """
        app = self.client.application
        with self.client.session_transaction() as session:
            raw = session.setdefault("csrf_token", secrets.token_hex(20))
        signer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
        return str(signer.dumps(raw))

    def cookie(self, name: str) -> str | None:
        """Return the value of the cookie *name*, if the browser keeps one."""
        found = self.client.get_cookie(name)
        return None if found is None else found.value


@pytest.fixture
def shop_module() -> ModuleType:
    """The example's module, ``shop``."""
    needed("flask")
    return importlib.import_module("shop")


@pytest.fixture
def shop_clock() -> FrozenClock:
    """The shop's clock, moved by the tests only."""
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def shop_data(tmp_path: Path) -> Path:
    """The folder of the shop's database, mailbox and analytics."""
    return tmp_path / "shop-data"


@pytest.fixture
def staff_password() -> str:
    """The password of the shop's customer-service pages."""
    return STAFF_PASSWORD


@pytest.fixture
def shop_app(shop_module, shop_data, shop_clock) -> Any:
    """The example shop on a fresh folder, with a fast hasher and a frozen clock."""
    app = shop_module.create_app(
        shop_data,
        base_url="https://shop.example",
        staff_password=STAFF_PASSWORD,
        secret_key="test-secret-key",
        clock=shop_clock,
        hasher=FAST_HASHER,
    )
    app.testing = True
    return app


@pytest.fixture
def shop(shop_app) -> Any:
    """The library as the shop wired it (``Shop``: accounts, analytics…)."""
    return shop_app.extensions["echoppe_shop"]


@pytest.fixture
def new_browser(shop_app) -> Callable[[], Browser]:
    """Open browsers of the shop, each with its own cookies."""
    return lambda: Browser(shop_app.test_client())


@pytest.fixture
def browser(new_browser) -> Browser:
    """One browser of the shop."""
    return new_browser()


@pytest.fixture
def mails_in() -> Callable[[Path], Callable[[], list[Mail]]]:
    """Readers of a shop's Maildir, given the shop's data folder."""
    return lambda data: lambda: read_mailbox(data / "mailbox")


@pytest.fixture
def mails(mails_in, shop_data) -> Callable[[], list[Mail]]:
    """Read the shop's Maildir: every mail delivered so far."""
    return mails_in(shop_data)


@pytest.fixture
def require() -> Callable[[str], ModuleType]:
    """Import a module the test needs, or skip saying why (fail under CI=true)."""
    return needed
