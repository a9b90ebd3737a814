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


def test_the_checks_want_the_urls_included_and_valid_settings():
    """Links are built from the app's URL names; a bad base URL is named (W4, R9)."""
    with override_settings(
        ECHOPPE={"BASE_URL": "https://shop.test"},
        ROOT_URLCONF="django_urls_without_app",
    ):
        assert "echoppe.E006" in [p.id for p in check_settings()]
    assert "echoppe.E002" in _ids(BASE_URL="http://evil.example")


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


def test_the_backend_authenticates_customers_by_email_only(tmp_path):
    """``authenticate(email=, password=)`` gives the customer; the admin's never."""
    from django.contrib.auth import authenticate  # noqa: PLC0415

    echoppe = {
        "BASE_URL": "https://shop.test",
        "DATABASE_URL": f"sqlite:///{tmp_path}/a.sqlite3",
        "MAILER": RecordingMailer(),
        "HASHER": Argon2Hasher(memory_cost=8, time_cost=1),
    }
    backends = ["echoppe_accounts.contrib.django.auth.EchoppeBackend"]
    with override_settings(ECHOPPE=echoppe, AUTHENTICATION_BACKENDS=backends):
        Client().post("/compte/inscription/", SIGNUP)
        user = authenticate(None, email=SIGNUP["email"], password=SIGNUP["password"])
        assert user.is_authenticated
        assert not user.is_staff
        assert not user.has_perm("auth.view_user")
        assert not user.has_module_perms("auth")
        assert user.get_username() == SIGNUP["email"]
        assert str(user) == user.pk
        assert authenticate(None, email=SIGNUP["email"], password="faux") is None
        assert authenticate(None, username="admin", password="x") is None


def test_a_customer_session_hash_follows_the_session_stamp():
    """Two stamps, two hashes: the hash says when the stamp changed (P6)."""
    from echoppe_accounts.contrib.django.auth import CustomerUser  # noqa: PLC0415

    first = CustomerUser("id", "stamp-1")
    assert (
        first.get_session_auth_hash()
        == CustomerUser("id", "stamp-1").get_session_auth_hash()
    )
    assert (
        first.get_session_auth_hash()
        != CustomerUser("id", "stamp-2").get_session_auth_hash()
    )
    assert first == CustomerUser("id", "other")
    assert len({first, CustomerUser("id", "x")}) == 1


@pytest.mark.postgres
def test_the_pages_work_on_postgresql(postgres_dsn):
    """Sign-up, login and a stale session on PostgreSQL, with an outbox key (O2)."""
    import secrets  # noqa: PLC0415

    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    from echoppe_accounts.contrib.django.conf import reset_app  # noqa: PLC0415

    schema = f"echoppe_test_{secrets.token_hex(6)}"
    echoppe = {
        "BASE_URL": "https://shop.test",
        "DATABASE_URL": postgres_dsn,
        "DATABASE_SCHEMA": schema,
        "OUTBOX_KEY": KEY,
        "MAILER": RecordingMailer(),
        "HASHER": Argon2Hasher(memory_cost=8, time_cost=1),
    }
    try:
        with override_settings(ECHOPPE=echoppe):
            assert check_settings() == []
            browser = Client()
            assert browser.post("/compte/inscription/", SIGNUP).status_code == 302
            thief = Client()
            for name, morsel in browser.cookies.items():
                thief.cookies[name] = morsel.value
            assert thief.get("/compte/").status_code == 200
            assert browser.get("/compte/").status_code == 200
            browser.post(
                "/compte/mot-de-passe/",
                {"current_password": SIGNUP["password"], "password": "un autre long"},
            )
            assert browser.get("/compte/").status_code == 200
            assert thief.get("/compte/").status_code == 302
    finally:
        reset_app()
        with psycopg.connect(postgres_dsn, autocommit=True) as db:
            db.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema)
                )
            )


SIGNUP = {
    "category": "individual",
    "email": "jean.dupont@exemple.fr",
    "password": "une phrase de passe solide",
    "name": "Jean Dupont",
    "phone": "06 12 34 56 78",
    "billing_address.street_lines": "12 rue des Lilas",
    "billing_address.postal_code": "75011",
    "billing_address.city": "Paris",
    "delivery_addresses[0].contact_name": "Jean Dupont",
}
