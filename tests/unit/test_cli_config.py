"""The command's configuration: database URLs, mail settings, keys (SPEC O2, O4).

What the command reads from the environment, checked without running it;
the command itself is tested through its console script in
``tests/e2e/test_cli.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from echoppe_accounts import MaildirMailer, SMTPMailer
from echoppe_accounts.bootstrap import outbox_key_file
from echoppe_accounts.entrypoints.config import (
    DEFAULT_DATABASE_URL,
    ConfigurationError,
    DatabaseURL,
    Deployment,
    Environment,
    _LazyMailer,
    analytics_sink,
    open_database,
    smtp_mailer,
)
from sample_forms import form

BASE_URL = "https://www.lechoppe.fr"


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///echoppe.sqlite3", Path("echoppe.sqlite3")),
        ("sqlite:///data/shop.sqlite3", Path("data/shop.sqlite3")),
        ("sqlite:////var/lib/shop.sqlite3", Path("/var/lib/shop.sqlite3")),
        ("sqlite:///with%20space.sqlite3", Path("with space.sqlite3")),
    ],
)
def test_sqlite_urls_name_a_file_as_sqlalchemy_does(url, path):
    """Three slashes before a relative path, four before an absolute one (O4)."""
    parsed = DatabaseURL.parse(url)
    assert parsed.kind == "sqlite"
    assert parsed.path == path


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///",
        "sqlite://host/shop.sqlite3",
        "sqlite:///shop.sqlite3?mode=ro",
        "mysql://shop@db/shop",
        "shop.sqlite3",
        "",
    ],
)
def test_other_urls_are_refused_in_both_languages(url):
    """A URL the command cannot open is refused with a French and English message."""
    with pytest.raises(ConfigurationError) as caught:
        DatabaseURL.parse(url)
    assert "sqlite:///" in caught.value.message("fr")
    assert "sqlite:///" in caught.value.message("en")


def test_a_postgresql_url_hides_its_password_when_shown():
    """The password of a PostgreSQL URL never shows in its text (O4)."""
    url = DatabaseURL.parse("postgresql://shop:hunter2@db.internal/shop")
    assert url.kind == "postgresql"
    assert url.path is None
    assert url.has_password
    assert str(url) == "postgresql://shop:***@db.internal/shop"
    assert "hunter2" not in repr(url)
    assert DatabaseURL.parse("postgres://db/shop?password=x").has_password
    assert not DatabaseURL.parse("postgresql://shop@db/shop").has_password


def test_the_environment_is_read_with_defaults():
    """Unset or empty variables take the documented defaults (O4)."""
    env = Environment.read({"ECHOPPE_SMTP_PASSWORD": "s3cret", "ECHOPPE_SENDER": ""})
    assert env.database_url == DEFAULT_DATABASE_URL
    assert env.maildir == "mailbox"
    assert env.sender is None
    assert "s3cret" not in repr(env)


def test_settings_need_a_base_url_only_for_mails_with_links():
    """ECHOPPE_BASE_URL is required to write links; a bad one is refused (O4, R9)."""
    env = Environment()
    assert env.settings(links=False).base_url == "http://localhost"
    with pytest.raises(ConfigurationError, match="ECHOPPE_BASE_URL"):
        env.settings(links=True)
    shop = Environment(base_url=BASE_URL, shop_name="La Boutique", sender="a@b.fr")
    settings = shop.settings(links=True)
    assert (settings.base_url, settings.shop_name, settings.sender) == (
        BASE_URL,
        "La Boutique",
        "a@b.fr",
    )
    assert settings.password_policy.shop_name == "La Boutique"
    with pytest.raises(ConfigurationError, match="base_url"):
        Environment(base_url="http://evil.example").settings(links=True)


@pytest.mark.parametrize(
    ("url", "password", "security", "port", "username"),
    [
        ("smtp://shop@mail.exemple.fr", "pw", "starttls", 587, "shop"),
        ("smtp://shop@mail.exemple.fr:2525", "pw", "starttls", 2525, "shop"),
        ("smtps://a%40b.fr@mail.exemple.fr", "pw", "tls", 465, "a@b.fr"),
        ("smtp+plain://localhost", None, "plain", 25, None),
        ("smtp://relay.internal", None, "starttls", 587, None),
    ],
)  # fmt: skip
def test_smtp_urls(url, password, security, port, username):
    """An SMTP URL names the server, the TLS mode and the user (O4)."""
    mailer = smtp_mailer(url, password)
    assert isinstance(mailer, SMTPMailer)
    assert (mailer.security, mailer.port, mailer.username) == (security, port, username)


@pytest.mark.parametrize(
    ("url", "password", "words"),
    [
        ("smtp://shop:pw@mail.exemple.fr", None, "ECHOPPE_SMTP_PASSWORD"),
        ("smtp://shop@mail.exemple.fr", None, "ECHOPPE_SMTP_PASSWORD"),
        ("smtp://mail.exemple.fr", "pw", "ECHOPPE_SMTP_PASSWORD"),
        ("smtp+plain://shop@localhost", "pw", "smtp+plain://"),
        ("http://mail.exemple.fr", None, "smtp://"),
        ("smtp://mail.exemple.fr:notaport", None, "smtp://"),
        ("smtp:///no-host", None, "smtp://"),
        ("smtp://mail.exemple.fr/path", None, "smtp://"),
    ],
)
def test_bad_smtp_settings_are_refused_without_their_secret(url, password, words):
    """A wrong SMTP setting is refused, saying what to set, never the secret (O4)."""
    with pytest.raises(ConfigurationError) as caught:
        smtp_mailer(url, password)
    for language in ("fr", "en"):
        assert words in caught.value.message(language)
        assert ":pw@" not in caught.value.message(language)


def test_the_maildir_is_the_default_mailer(tmp_path):
    """Without an SMTP URL, mails go to the Maildir folder (O4)."""
    env = Environment(maildir=str(tmp_path / "boîte"))
    assert isinstance(env.mailer(), MaildirMailer)
    assert isinstance(Environment(smtp_url="smtp://relay").mailer(), SMTPMailer)


def _deployment(url: str, **environment) -> Deployment:
    return Deployment(
        DatabaseURL.parse(url),
        Environment(**environment),
        unit_of_work=lambda: None,
        schema_version=lambda: 0,
    )


def test_postgresql_needs_an_outbox_key_to_write_or_send_mail(monkeypatch):
    """Without ECHOPPE_OUTBOX_KEY, no mail is sealed with a key that dies (O2)."""
    monkeypatch.delenv("ECHOPPE_OUTBOX_KEY", raising=False)
    deployment = _deployment("postgresql://shop@db/shop", base_url=BASE_URL)
    for links, send in ((True, False), (False, True)):
        with pytest.raises(ConfigurationError, match="ECHOPPE_OUTBOX_KEY"):
            deployment.app(links=links, send=send)
    assert deployment.app(links=False, send=False) is not None
    monkeypatch.setenv("ECHOPPE_OUTBOX_KEY", "00" * 32)
    assert deployment.app(links=True, send=False) is not None
    monkeypatch.setenv("ECHOPPE_OUTBOX_KEY", "not a key")
    with pytest.raises(ConfigurationError, match="ECHOPPE_OUTBOX_KEY"):
        deployment.app(links=True, send=False)


def test_sqlite_keeps_the_outbox_key_in_the_configuration_folder(tmp_path, monkeypatch):
    """With SQLite and no variable, the key file is kept away from the db (O2)."""
    monkeypatch.delenv("ECHOPPE_OUTBOX_KEY", raising=False)
    database = tmp_path / "shop.sqlite3"
    deployment = open_database(
        DatabaseURL.parse(f"sqlite:///{database}"),
        Environment(base_url=BASE_URL, maildir=str(tmp_path / "mailbox")),
    )
    app = deployment.app(links=True, send=False)
    assert not Path(f"{database}.key").exists()
    assert outbox_key_file(database).is_file()
    assert deployment.schema_version() > 0
    app.accounts.register(form())
    # A command that sends nothing makes no Maildir until a mail goes.
    assert not (tmp_path / "mailbox").exists()
    assert app.dispatcher.dispatch().sent == 1
    assert (tmp_path / "mailbox" / "new").is_dir()
    deployment.close()


def test_the_postgres_extra_is_named_when_missing(monkeypatch):
    """A PostgreSQL URL without psycopg says which extra to install (O4)."""
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(
        sys.modules, "echoppe_accounts.adapters.postgres", raising=False
    )
    with pytest.raises(ConfigurationError, match=r"echoppe-accounts\[postgres\]"):
        open_database(DatabaseURL.parse("postgresql://db/shop"), Environment())


def test_analytics_live_in_sqlite(tmp_path):
    """The analytics sink is the accounts' SQLite file, or the variable's (N5)."""
    accounts = DatabaseURL.parse(f"sqlite:///{tmp_path / 'shop.sqlite3'}")
    assert analytics_sink(accounts, Environment()).path == tmp_path / "shop.sqlite3"
    postgres = DatabaseURL.parse("postgresql://db/shop")
    with pytest.raises(ConfigurationError, match="ECHOPPE_ANALYTICS_DATABASE_URL"):
        analytics_sink(postgres, Environment())
    own = f"sqlite:///{tmp_path / 'analytics.sqlite3'}"
    sink = analytics_sink(postgres, Environment(analytics_database_url=own))
    assert sink.path == tmp_path / "analytics.sqlite3"


def test_the_lazy_mailer_makes_its_mailer_at_the_first_mail(tmp_path):
    """A command that sends nothing never opens its mailer (O4)."""
    made: list[MaildirMailer] = []

    def make():
        made.append(MaildirMailer(tmp_path / "mailbox"))
        return made[-1]

    lazy = _LazyMailer(make)
    lazy.close()
    assert made == []
    assert not (tmp_path / "mailbox").exists()
