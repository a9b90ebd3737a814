"""The ``echoppe-accounts`` command, run through its console script (SPEC O4).

Every test runs the installed script in a subprocess, as staff and operators
do, on a SQLite database in ``tmp_path``; the test itself looks at the same
database through the library (the outbox key is the file beside it).
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import mailbox
import os
import pty
import re
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

from conftest import FAST_HASHER
from echoppe_accounts import (
    AnalyticsEvent,
    AuthenticationError,
    DeliveryError,
    MaildirMailer,
    Purpose,
    Settings,
    SQLiteAnalyticsSink,
    bootstrap,
    sqlite_app,
)
from echoppe_accounts.bootstrap import outbox_key_file
from echoppe_accounts.entrypoints.cli import build_parser
from sample_forms import TEMPORARY, form

SCRIPT = Path(sys.executable).with_name("echoppe-accounts")
BASE_URL = "https://www.lechoppe.fr"
EXIT_USER, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_INTERNAL = 1, 2, 69, 70
SAFETY = 60
"""Seconds after which a hung subprocess fails the test (never asserted on)."""


@attrs.frozen
class Shop:
    """A shop's files in ``tmp_path``, its environment and the library on it."""

    folder: Path
    database: Path
    maildir: Path
    env: dict[str, str]

    def app(self, hasher=FAST_HASHER):
        """Return the library on the shop's database, as the command wires it.

        The fast hasher registers customers quickly; it refuses the dearer
        hashes the command makes, so check those with ``hasher=None``.
        """
        return sqlite_app(
            self.database, self.maildir, Settings(base_url=BASE_URL), hasher=hasher
        )

    def run(self, *args, stdin=subprocess.DEVNULL, env=None, debug=False):
        """Run the command with *args*; return the completed process.

        Without *debug*, no traceback may reach standard error.
        """
        result = subprocess.run(  # noqa: S603 (our own console script)
            [SCRIPT, *args],
            stdin=stdin,
            capture_output=True,
            text=True,
            env=env or self.env,
            cwd=self.folder,
            timeout=SAFETY,
            check=False,
        )
        assert debug or "Traceback" not in result.stderr, result.stderr
        return result

    def delivered(self) -> list[email.message.EmailMessage]:
        """Return the messages in the Maildir."""
        if not self.maildir.exists():
            return []
        box = mailbox.Maildir(self.maildir, create=False)
        return [
            email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
            for key in box.iterkeys()
        ]


@pytest.fixture
def shop(tmp_path, monkeypatch) -> Shop:
    """A shop on a SQLite file in *tmp_path*, mails to a Maildir there."""
    monkeypatch.delenv("ECHOPPE_OUTBOX_KEY", raising=False)
    database = tmp_path / "accounts.sqlite3"
    maildir = tmp_path / "mailbox"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ECHOPPE_", "LC_", "LANG"))
    }
    env |= {
        "ECHOPPE_DATABASE_URL": f"sqlite:///{database}",
        "ECHOPPE_MAILDIR": str(maildir),
        "ECHOPPE_BASE_URL": BASE_URL,
        "LANG": "C.UTF-8",
    }
    return Shop(tmp_path, database, maildir, env)


def register(app, count: int) -> list[str]:
    """Register *count* customers; return their ids (one welcome mail each)."""
    return [
        app.accounts.register(form(email=f"client{i}@exemple.fr")).id
        for i in range(count)
    ]


def command_paths() -> list[list[str]]:
    """Return every command and subcommand of the parser, found by walking it."""
    paths: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        paths.append(path)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])

    walk(build_parser(), [])
    return paths


# -- help, usage and exit codes -----------------------------------------------------


def test_every_command_and_subcommand_has_help(shop):
    """``--help`` works everywhere, in French and English, creating nothing (O4)."""
    paths = command_paths()
    assert ["outbox", "requeue"] in paths
    assert ["support", "provisional-password"] in paths
    assert ["support", "disable"] in paths
    assert ["support", "enable"] in paths
    # With `help TOPIC`, `outbox rotate-key`, and `import-prestashop` (the
    # command `import prestashop` is parsed as).
    assert len(paths) == 21
    for path in paths:
        result = shop.run(*path, "--help")
        assert result.returncode == 0, (path, result.stderr)
        assert result.stdout.startswith("utilisation : echoppe-accounts"), path
        assert "echoppe-accounts help environment" in result.stdout
    english = shop.run("outbox", "purge", "--help", "--lang", "en")
    assert english.returncode == 0
    assert english.stdout.startswith("usage: echoppe-accounts outbox purge")
    assert "only those dead before DATE" in english.stdout
    assert sorted(p.name for p in shop.folder.iterdir()) == []


def test_version_and_python_m(shop):
    """``--version`` and ``python -m echoppe_accounts`` work (O4)."""
    version = shop.run("--version")
    assert version.returncode == 0
    assert re.fullmatch(r"echoppe-accounts \d+\.\d+\.\S+\n", version.stdout)
    module = subprocess.run(
        [sys.executable, "-m", "echoppe_accounts", "--help"],
        capture_output=True,
        text=True,
        env=shop.env,
        timeout=SAFETY,
        check=False,
    )
    assert module.returncode == 0
    assert "python -m echoppe_accounts" in module.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        [],
        ["outbox"],
        ["support", "provisional-password", "--account", "x", "--reason", "r"],
        ["support", "disable", "--account", "x", "--agent", "a12"],
        ["support", "enable", "--account", "x", "--reason", "r"],
        ["outbox", "requeue"],
        ["outbox", "requeue", "abc", "--all"],
        ["outbox", "purge", "--before", "hier"],
        ["analytics", "purge", "--months", "36"],
        ["export"],
        ["erase", "abc", "--email", "a@exemple.fr"],
        ["worker", "--batch-size", "0"],
        ["--db", "mysql://shop@db/shop", "outbox", "status"],
    ],
)
def test_usage_mistakes_exit_2(shop, args):
    """A wrong command line exits 2 with argparse's usage, never a traceback (O4)."""
    result = shop.run(*args)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "utilisation" in result.stderr


def test_a_password_in_db_is_refused_and_not_repeated(shop):
    """A password typed in ``--db`` is refused, and not echoed back (O4)."""
    result = shop.run("--db", "postgresql://shop:hunter2@db/shop", "outbox", "status")
    assert result.returncode == EXIT_USAGE
    assert "PGPASSWORD" in result.stderr
    assert "hunter2" not in result.stderr


def test_user_mistakes_exit_1_with_one_sentence(shop):
    """An unknown account, email or file is the user's mistake: 1, one line (O4)."""
    shop.run("init")
    for args in (
        ["export", "no-such-account"],
        ["erase", "--email", "personne@exemple.fr", "--yes"],
        ["erase", "--email", "not an email", "--yes"],
        [
            "support",
            "provisional-password",
            "--account",
            "nope",
            "--agent",
            "a12",
            "--reason",
            "mail perdu",
        ],
        ["import", str(shop.folder / "absent.csv")],
        ["outbox", "requeue", "no-such-mail"],
    ):
        result = shop.run(*args)
        assert result.returncode == EXIT_USER, (args, result.stderr)
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith("echoppe-accounts: ")
    english = shop.run("export", "no-such-account", "--lang", "en")
    assert (
        english.stderr == "echoppe-accounts: No account has the id no-such-account.\n"
    )
    french = shop.run("export", "no-such-account")
    assert "Aucun compte n’a l’identifiant no-such-account." in french.stderr


def test_missing_configuration_is_the_users_mistake(shop):
    """A command writing mails without ECHOPPE_BASE_URL exits 1 and says so (O4)."""
    (account_id,) = register(shop.app(), 1)
    env = {k: v for k, v in shop.env.items() if k != "ECHOPPE_BASE_URL"}
    result = shop.run(
        "support", "provisional-password", "--account", account_id,
        "--agent", "a12", "--reason", "mail perdu", env=env,
    )  # fmt: skip
    assert result.returncode == EXIT_USER
    assert "ECHOPPE_BASE_URL" in result.stderr
    bad_smtp = shop.env | {"ECHOPPE_SMTP_URL": "smtp://shop:secret@mail.exemple.fr"}
    result = shop.run("worker", "--once", env=bad_smtp)
    assert result.returncode == EXIT_USER
    assert "ECHOPPE_SMTP_PASSWORD" in result.stderr
    assert "secret" not in result.stderr


def test_an_unreachable_database_exits_69(shop):
    """A database that cannot be reached is a service unavailable: 69 (O3, O4)."""
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    result = shop.run("--db", "postgresql://nobody@127.0.0.1:1/x", "outbox", "status")
    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_a_lasting_storage_failure_exits_70_with_the_cause_in_words(shop):
    """A file that is no database exits 70, in one sentence; --debug adds the trace."""
    (shop.folder / "notes.txt").write_text("pas une base\n" * 100, encoding="utf-8")
    result = shop.run("--db", "sqlite:///notes.txt", "outbox", "status")
    assert result.returncode == EXIT_INTERNAL
    assert result.stderr.count("\n") == 1, result.stderr
    assert "n’est pas une base SQLite" in result.stderr
    debug = shop.run("--db", "sqlite:///notes.txt", "init", "--debug", debug=True)
    assert debug.returncode == EXIT_INTERNAL
    assert "Traceback" in debug.stderr


# -- the database ------------------------------------------------------------------


def test_init_creates_the_schema_and_the_outbox_key(shop):
    """``init`` creates the database, and the outbox key apart, owner-only (O2)."""
    env = shop.env | {"ECHOPPE_DATABASE_URL": "sqlite:///data/shop.sqlite3"}
    result = shop.run("init", env=env)
    assert result.returncode == 0, result.stderr
    assert "Base prête : sqlite:///data/shop.sqlite3" in result.stderr
    assert (shop.folder / "data" / "shop.sqlite3").is_file()
    assert not (shop.folder / "data" / "shop.sqlite3.key").exists()
    key = outbox_key_file(shop.folder / "data" / "shop.sqlite3")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = shop.run("init", env=env)
    assert again.returncode == 0
    assert not (shop.folder / "mailbox").exists()  # nothing sent, no Maildir


# -- customer service and GDPR -------------------------------------------------------


def test_provisional_password_is_printed_once_and_logs_in_restricted(shop):
    """The password is printed alone on stdout; it gives a restricted login (R7, R4)."""
    app = shop.app()
    (account_id,) = register(app, 1)
    result = shop.run(
        "support", "provisional-password", "--account", account_id,
        "--agent", "conseiller-12", "--reason", "e-mail non reçu",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    password = result.stdout.strip()
    assert TEMPORARY.fullmatch(password)
    assert result.stdout == password + "\n"
    assert password not in result.stderr
    staff_made = shop.app(hasher=None)  # the command's argon2id parameters
    assert staff_made.auth.login("client0@exemple.fr", password).restricted
    by_email = shop.run(
        "support", "provisional-password", "--email", "CLIENT0@exemple.fr",
        "--agent", "conseiller-12", "--reason", "toujours rien",
    )  # fmt: skip
    assert by_email.returncode == 0, by_email.stderr
    second = by_email.stdout.strip()
    assert staff_made.auth.login("client0@exemple.fr", second).restricted


def test_m2_support_disables_and_enables_an_account_audited(shop):
    """M2, P3, O4: disabled, the customer cannot log in; enabled, they can again."""
    app = shop.app()
    (account_id,) = register(app, 1)
    session = app.auth.login("client0@exemple.fr", "une phrase de passe solide")
    env = {k: v for k, v in shop.env.items() if k != "ECHOPPE_BASE_URL"}  # no mail
    result = shop.run(
        "support", "disable", "--email", "CLIENT0@exemple.fr",
        "--agent", "conseiller-12", "--reason", "commande frauduleuse", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"Compte {account_id} désactivé : il ne peut plus se connecter, ses "
        "sessions et ses liens en cours ont pris fin.\n"
    )
    assert str(app.accounts.get(account_id).status) == "disabled"
    assert not app.auth.is_session_current(account_id, session.session_stamp)
    with pytest.raises(AuthenticationError):
        app.auth.login("client0@exemple.fr", "une phrase de passe solide")
    again = shop.run(
        "support", "disable", "--account", account_id,
        "--agent", "conseiller-12", "--reason", "encore", "--lang", "en",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert again.stderr == f"Account {account_id} is already disabled.\n"
    enabled = shop.run(
        "support", "enable", "--account", account_id,
        "--agent", "conseiller-7", "--reason", "client vérifié", "--lang", "en",
    )  # fmt: skip
    assert enabled.returncode == 0, enabled.stderr
    assert enabled.stderr == f"Account {account_id} enabled: it can log in again.\n"
    assert app.auth.login("client0@exemple.fr", "une phrase de passe solide")
    once_more = shop.run(
        "support", "enable", "--account", account_id,
        "--agent", "conseiller-7", "--reason", "client vérifié",
    )  # fmt: skip
    assert once_more.stderr == f"Le compte {account_id} n’est pas désactivé.\n"
    with app.accounts.uow() as tx:
        steps = [
            (r.event.value, r.actor, dict(r.details))
            for r in tx.audit.for_account(account_id)
            if r.event.value in {"account_disabled", "account_enabled"}
        ]
    assert steps == [
        (
            "account_disabled",
            "agent:conseiller-12",
            {"reason": "commande frauduleuse"},
        ),
        ("account_enabled", "agent:conseiller-7", {"reason": "client vérifié"}),
    ]


def test_m2_support_cannot_disable_an_erased_account(shop):
    """M2, G3, O4: an erased account is inert: exit 1, one sentence, both languages."""
    app = shop.app()
    (account_id,) = register(app, 1)
    app.privacy.erase_account(account_id)
    args = ("support", "disable", "--account", account_id, "--agent", "a12")
    french = shop.run(*args, "--reason", "fraude")
    assert french.returncode == EXIT_USER, french.stderr
    assert french.stderr.count("\n") == 1, french.stderr
    english = shop.run(*args, "--reason", "fraud", "--lang", "en")
    assert english.returncode == EXIT_USER
    assert english.stderr != french.stderr
    blank = shop.run(*args, "--reason", "  ", "--lang", "en")
    assert blank.returncode == EXIT_USER
    assert blank.stderr.count("\n") == 1, blank.stderr


def test_export_prints_json_or_writes_a_private_html_file(shop):
    """``export`` gives the G1 export as parseable JSON, or HTML in an 0600 file."""
    (account_id,) = register(shop.app(), 1)
    result = shop.run("export", account_id)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["account"]["email"] == "client0@exemple.fr"
    page = shop.folder / "mes-donnees.html"
    written = shop.run("export", "--email", "client0@exemple.fr", "--output", page)
    assert written.returncode == 0, written.stderr
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert stat.S_IMODE(page.stat().st_mode) == 0o600


def test_erase_refuses_without_a_terminal_and_works_with_yes(shop):
    """Without --yes, erasure is confirmed on a terminal; piped stdin: exit 1 (G3)."""
    app = shop.app()
    (account_id,) = register(app, 1)
    refused = shop.run("erase", account_id, stdin=subprocess.DEVNULL)
    assert refused.returncode == EXIT_USER
    assert "--yes" in refused.stderr
    piped = shop.run("erase", account_id, stdin=subprocess.PIPE)
    assert piped.returncode == EXIT_USER
    assert not app.accounts.get(account_id).is_erased
    assert app.auth.login("client0@exemple.fr", "une phrase de passe solide")
    erased = shop.run("erase", account_id, "--yes", "--agent", "dpo")
    assert erased.returncode == 0, erased.stderr
    assert app.accounts.get(account_id).is_erased
    again = shop.run("erase", account_id, "--yes")
    assert again.returncode == 0
    assert "déjà effacé" in again.stderr


def test_erase_from_the_command_line_sends_no_farewell(shop):
    """G3, W2: staff's erasure queues no mail; only self-service sends a last one."""
    app = shop.app()
    (account_id,) = register(app, 1)
    erased = shop.run("erase", account_id, "--yes", "--agent", "dpo")
    assert erased.returncode == 0, erased.stderr
    with app.accounts.uow() as tx:
        assert tx.outbox.pending_count() == 0


def _erase_on_a_terminal(shop, account_id: str, answer: str) -> int:
    """Run ``erase`` with a pseudo-terminal as stdin, typing *answer*."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(  # noqa: S603 (our own console script)
            [SCRIPT, "erase", account_id],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=shop.env,
            cwd=shop.folder,
        )
        os.write(controller, answer.encode() + b"\n")
        process.communicate(timeout=SAFETY)
    finally:
        os.close(terminal)
        os.close(controller)
    return process.returncode


def test_erase_asks_on_a_terminal_for_the_id_or_oui(shop):
    """On a terminal, erasure goes ahead only if the id or « oui » is typed (G3)."""
    app = shop.app()
    first, second = register(app, 2)
    assert _erase_on_a_terminal(shop, first, "non") == EXIT_USER
    assert not app.accounts.get(first).is_erased
    assert _erase_on_a_terminal(shop, first, "oui") == 0
    assert app.accounts.get(first).is_erased
    assert _erase_on_a_terminal(shop, second, second) == 0
    assert app.accounts.get(second).is_erased


# -- the outbox ------------------------------------------------------------------------


def test_outbox_status_counts_pending_mails(shop):
    """``outbox status`` shows the pending mails and dead letters, also as JSON (O4)."""
    register(shop.app(), 3)
    result = shop.run("outbox", "status")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("en attente : 3 (le plus ancien dû le ")
    assert "lettres mortes : 0" in result.stdout
    data = json.loads(shop.run("outbox", "status", "--json").stdout)
    assert data["pending"] == 3
    assert data["dead"] == 0
    assert datetime.fromisoformat(data["oldest_due"]).tzinfo is not None
    english = shop.run("outbox", "status", "--lang", "en")
    assert english.stdout.startswith("pending: 3 (the oldest due ")


class _Refusing:
    """A mailer whose server refuses every mail for good (a 550)."""

    def send(self, mail, sender):  # noqa: ARG002 (the Mailer protocol)
        raise DeliveryError("550 no such user", permanent=True)  # noqa: TRY003


def test_dead_letters_are_listed_requeued_and_purged(shop):
    """``outbox dead | requeue | purge`` tend the dead letters (O1, O4)."""
    app = shop.app()
    register(app, 3)
    refusing = attrs.evolve(app.dispatcher, mailer=_Refusing())
    assert refusing.dispatch().dead == 3
    listed = shop.run("outbox", "dead", "--json")
    assert listed.returncode == 0, listed.stderr
    letters = json.loads(listed.stdout)
    assert len(letters) == 3
    assert {letter["to"] for letter in letters} == {
        f"client{i}@exemple.fr" for i in range(3)
    }
    table = shop.run("outbox", "dead")
    assert table.stdout.count("\n") == 3
    one = letters[0]["id"]
    requeued = shop.run("outbox", "requeue", one)
    assert requeued.returncode == 0, requeued.stderr
    assert app.dispatcher.stats().dead == 2
    assert shop.run("outbox", "requeue", "--all").returncode == 0
    assert app.dispatcher.stats().dead == 0
    assert refusing.dispatch().dead == 3
    before = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    kept = shop.run("outbox", "purge", "--before", before)
    assert kept.returncode == 0
    assert app.dispatcher.stats().dead == 3
    purged = shop.run("outbox", "purge")
    assert purged.returncode == 0
    assert "3 lettres mortes supprimées." in purged.stderr
    assert app.dispatcher.stats().dead == 0
    assert shop.run("outbox", "dead").stderr == "Aucune lettre morte.\n"


def _wait_for(condition, what: str) -> None:
    """Poll *condition* until true; fail after the safety delay (not a timing test)."""
    deadline = time.monotonic() + SAFETY
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting for {what}")
        time.sleep(0.01)


def test_worker_stops_on_sigterm_with_nothing_lost(shop):
    """SIGTERM stops the worker after the mail in hand: exit 0, nothing lost (O1, O4).

    Every queued mail is either in the Maildir, once, or still pending; none
    is half-written; ``--once`` then delivers the rest.
    """
    app = shop.app()
    total = 150
    register(app, total)
    worker = subprocess.Popen(  # noqa: S603 (our own console script)
        [SCRIPT, "worker", "--batch-size", "1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=shop.env,
        cwd=shop.folder,
    )
    try:
        _wait_for(lambda: len(shop.delivered()) >= 1, "a first delivered mail")
        worker.send_signal(signal.SIGTERM)
        _, log = worker.communicate(timeout=SAFETY)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, log
    assert "Traceback" not in log
    assert "round 1:" not in log  # rounds are summed up, at DEBUG one by one
    assert "stopped after" in log
    delivered = shop.delivered()
    ids = [str(m["Message-ID"]) for m in delivered]
    assert len(set(ids)) == len(ids)
    assert list((shop.maildir / "tmp").iterdir()) == []  # nothing half-written
    stats = app.dispatcher.stats()
    assert stats.dead == 0
    assert len(delivered) + stats.pending == total

    once = shop.run("worker", "--once", "--batch-size", "1000")
    assert once.returncode == 0, once.stderr
    assert f"{stats.pending} sent" in once.stderr
    assert len(shop.delivered()) == total
    assert app.dispatcher.stats().pending == 0


def test_sigint_stops_an_idle_worker(shop):
    """Ctrl-C (SIGINT) stops a worker waiting for mail, with exit 0 (O4)."""
    shop.run("init")
    worker = subprocess.Popen(  # noqa: S603 (our own console script)
        [SCRIPT, "worker", "--debug"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=shop.env,
        cwd=shop.folder,
    )
    lines: list[str] = []
    try:
        assert worker.stderr is not None
        for line in worker.stderr:
            lines.append(line)
            if "round 1:" in line:
                break
        worker.send_signal(signal.SIGINT)
        _, rest = worker.communicate(timeout=SAFETY)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, "".join(lines)
    assert "stopped after" in rest


# -- analytics, demo, import ----------------------------------------------------------


def _event(at: datetime, number: int) -> AnalyticsEvent:
    return AnalyticsEvent(
        id=f"00000000-0000-4000-8000-{number:012d}",
        at=at,
        purpose=Purpose.AUDIENCE_MEASUREMENT,
        path="/",
        referrer_host=None,
        browser="Firefox",
        browser_major=130,
        device="desktop",
        visitor_id=None,
        ip=None,
        duration_ms=None,
    )


def test_analytics_purge_deletes_events_past_retention(shop):
    """``analytics purge`` deletes raw events older than 25 months, no others (N5)."""
    shop.run("init")
    sink = SQLiteAnalyticsSink(shop.database)
    now = datetime.now(UTC)
    sink.add(_event(now - timedelta(days=31 * 26), 1))
    sink.add(_event(now - timedelta(days=40), 2))
    result = shop.run("analytics", "purge")
    assert result.returncode == 0, result.stderr
    assert "1 événement supprimé" in result.stderr
    assert [e.id[-1] for e in sink.events()] == ["2"]
    shorter = shop.run("analytics", "purge", "--months", "1")
    assert shorter.returncode == 0
    assert sink.events() == []


def test_demo_runs_in_its_folder(shop):
    """``demo FOLDER`` runs the guided tour there, ignoring the database URL."""
    result = shop.run("demo", "visite")
    assert result.returncode == 0, result.stderr
    # 7: a sign-up's newsletter tick sends its confirm link (amended F7).
    assert "7 e-mails distribués, 0 en échec" in result.stdout
    assert (shop.folder / "visite" / "accounts.sqlite3").is_file()
    assert not shop.database.exists()


def test_import_reports_bad_lines_and_adds_nothing_the_second_time(shop):
    """``import`` exits 1 if lines are refused, with a report; reruns add none (O4)."""
    # Imported here: the importer is item 4's, the command item 1's.
    from echoppe_accounts.service_layer.importer import EXAMPLE  # noqa: PLC0415

    source = shop.folder / "clients.csv"
    source.write_text(EXAMPLE, encoding="utf-8")
    first = shop.run("import", source, "--no-progress")
    assert first.returncode == EXIT_USER, first.stderr
    assert (
        "Clients lus : 4 ; importés : 3 ; déjà présents : 0 ; refusés : 1 ; "
        "invités à choisir un mot de passe : 2." in first.stderr
    )
    # M1, M2: accounts to complete counted, the changes in the report.
    assert "À compléter à la prochaine connexion : téléphone 1, adresse 1, SIRET 1" in (
        first.stderr
    )
    report = shop.folder / "clients.csv.errors.csv"
    rows = report.read_text(encoding="utf-8-sig").splitlines()
    assert rows[-1].startswith("6;email;email.invalid;")
    assert str(report) in first.stderr
    second = shop.run("import", source, "--no-progress", "--batch-size", "1")
    assert "importés : 0 ; déjà présents : 3 ; refusés : 1" in second.stderr
    good = shop.folder / "bons.csv"
    good.write_text("".join(EXAMPLE.splitlines(keepends=True)[:5]), encoding="utf-8")
    assert shop.run("import", good, "--no-progress").returncode == 0


def test_an_unreadable_import_file_is_refused_whole(shop):
    """A file that is not UTF-8 CSV is the user's mistake: exit 1, nothing imported."""
    garbage = shop.folder / "export.csv"
    garbage.write_bytes("email;nom\ncafé@exemple.fr;Zoé\n".encode("cp1252"))
    result = shop.run("import", garbage, "--no-progress")
    assert result.returncode == EXIT_USER, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert shop.app().accounts.find_by_email("café@exemple.fr") is None


@pytest.mark.postgres
def test_the_commands_work_on_postgresql(shop, postgres_store_factory, postgres_dsn):
    """On PostgreSQL, with the key from the environment, the commands work (O2, O4)."""
    store = postgres_store_factory()
    key = "ab" * 32
    env = shop.env | {
        "ECHOPPE_DATABASE_URL": postgres_dsn,
        "ECHOPPE_DATABASE_SCHEMA": store.schema,
    }
    assert shop.run("init", env=env).returncode == 0
    without_key = shop.run("worker", "--once", env=env)
    assert without_key.returncode == EXIT_USER
    assert "ECHOPPE_OUTBOX_KEY" in without_key.stderr
    env["ECHOPPE_OUTBOX_KEY"] = key
    app = bootstrap(
        store.unit_of_work,
        MaildirMailer(shop.maildir),
        Settings(base_url=BASE_URL, outbox_key=bytes.fromhex(key)),
        hasher=FAST_HASHER,
    )
    account_id = app.accounts.register(form()).id
    issued = shop.run(
        "support", "provisional-password", "--account", account_id,
        "--agent", "a12", "--reason", "mail perdu", env=env,
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    status = json.loads(shop.run("outbox", "status", "--json", env=env).stdout)
    assert status["pending"] == 2  # the welcome mail and the notice
    assert shop.run("worker", "--once", env=env).returncode == 0
    assert len(shop.delivered()) == 2
    exported = shop.run("export", account_id, env=env)
    assert json.loads(exported.stdout)["account"]["id"] == account_id
    assert shop.run("erase", account_id, "--yes", env=env).returncode == 0
    assert app.accounts.get(account_id).is_erased


def test_m2_import_file_mails_guests_only_when_asked_and_names_the_wording(shop):
    """``import FILE`` mails guests only with ``--invite-guests`` (M2).

    ``--newsletter-wording`` names the consent text of lines without one (F7).
    """
    header = "email;name;phone;guest;newsletter;newsletter_at\n"
    guest = "invite@exemple.fr;Ines Invitee;06 12 34 56 78;1;0;\n"
    subscriber = "abonne@exemple.fr;Alain Abonne;06 98 76 54 32;0;1;2021-05-04\n"
    quiet = shop.folder / "invites.csv"
    quiet.write_text(header + guest, encoding="utf-8")
    assert shop.run("import", quiet, "--no-progress").returncode == 0
    assert shop.app().dispatcher.dispatch().sent == 0
    asked = shop.folder / "invites-prevenus.csv"
    asked.write_text(header + guest.replace("invite@", "invite2@"), encoding="utf-8")
    result = shop.run("import", asked, "--no-progress", "--invite-guests")
    assert result.returncode == 0, result.stderr
    assert shop.app().dispatcher.dispatch().sent == 1
    subscribed = shop.folder / "abonnes.csv"
    subscribed.write_text(header + subscriber, encoding="utf-8")
    without = shop.run("import", subscribed, "--no-progress")
    assert without.returncode == EXIT_USER, without.stderr
    assert shop.app().accounts.find_by_email("abonne@exemple.fr") is None
    named = shop.run(
        "import", subscribed, "--no-progress", "--newsletter-wording", "lettre-2019"
    )
    assert named.returncode == 0, named.stderr
    account = shop.app().accounts.find_by_email("abonne@exemple.fr")
    assert account is not None
    (consent,) = account.newsletter
    assert consent.subscribed
    assert consent.wording_version == "lettre-2019"
    # A date without an offset is the shop's (Europe/Paris) day.
    paris = consent.at.astimezone(ZoneInfo("Europe/Paris"))
    assert paris.date().isoformat() == "2021-05-04"
