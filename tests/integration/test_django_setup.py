"""Setting the Django app up: system checks, the management command (issue 20).

``manage.py check`` names what ``settings.ECHOPPE`` lacks (a base URL, an
outbox key on PostgreSQL, https) and ``manage.py echoppe`` reaches the
library's command line with the same settings (SPEC O4, W1).
"""

from __future__ import annotations

import json

import pytest

django = pytest.importorskip(
    "django", reason="the Django app needs the django extra (pip install '.[django]')"
)

import django_project  # noqa: E402

django_project.configure()

from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from echoppe_accounts import Argon2Hasher  # noqa: E402
from echoppe_accounts.contrib.django.checks import check_settings  # noqa: E402
from echoppe_accounts.contrib.django.management.commands.echoppe import (  # noqa: E402
    Command,
)
from echoppe_accounts.testing import RecordingMailer  # noqa: E402

KEY = "ab" * 32


def _ids(**echoppe):
    with override_settings(ECHOPPE=echoppe):
        return sorted(problem.id for problem in check_settings())


def test_a_complete_setting_passes_the_checks(tmp_path):
    """A base URL in https and a SQLite file: nothing to say."""
    url = f"sqlite:///{tmp_path}/a.sqlite3"
    assert _ids(BASE_URL="https://shop.test", DATABASE_URL=url) == []


def test_the_checks_name_each_missing_or_unsafe_setting():
    """No base URL, http, PostgreSQL without key, a raw X-Forwarded-For (O2, R9, W3)."""
    assert "echoppe.E001" in _ids()
    assert "echoppe.W001" in _ids(BASE_URL="http://localhost:8000")
    postgres = "postgresql://shop@127.0.0.1/shop"
    assert "echoppe.E003" in _ids(BASE_URL="https://shop.test", DATABASE_URL=postgres)
    assert "echoppe.E003" not in _ids(
        BASE_URL="https://shop.test", DATABASE_URL=postgres, OUTBOX_KEY=KEY
    )
    assert "echoppe.E004" in _ids(
        BASE_URL="https://shop.test", CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR"
    )
    assert "echoppe.E002" in _ids(
        BASE_URL="https://shop.test", DATABASE_URL="mysql://x"
    )


def test_the_checks_want_the_middleware_after_the_sessions():
    """Without the middleware nothing would check the session stamp (P6)."""
    with override_settings(
        ECHOPPE={"BASE_URL": "https://shop.test"},
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
    ):
        assert "echoppe.E005" in [p.id for p in check_settings()]


def test_manage_py_echoppe_reaches_the_command_line(tmp_path, capsys):
    """``manage.py echoppe outbox status`` reads the app's database (O4)."""
    mailer = RecordingMailer()
    echoppe = {
        "BASE_URL": "https://shop.test",
        "DATABASE_URL": f"sqlite:///{tmp_path}/a.sqlite3",
        "MAILDIR": str(tmp_path / "mailbox"),
        "MAILER": mailer,
        "HASHER": Argon2Hasher(memory_cost=8, time_cost=1),
    }
    with override_settings(ECHOPPE=echoppe):
        client = Client()
        client.post("/compte/mot-de-passe/oublie/", {"email": "personne@exemple.fr"})
        with pytest.raises(SystemExit) as stopped:
            Command().run_from_argv(
                ["manage.py", "echoppe", "outbox", "status", "--json"]
            )
        assert stopped.value.code == 0
        status = json.loads(capsys.readouterr().out)
        assert status["pending"] == 1
        call_command("echoppe", "outbox", "status", "--json")
        assert json.loads(capsys.readouterr().out)["pending"] == 1
