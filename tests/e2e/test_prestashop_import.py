"""``echoppe-accounts import prestashop``: a shop's customers over in one command.

The issue's check (SPEC M1, M2, M3): a PrestaShop database in a MariaDB
server the tests start, filled with one customer per case
(``prestashop_data.CASES``), migrated by the installed console script into
a SQLite database; then every customer is present, old passwords log in,
disabled accounts stay disabled, guests are not mailed, a second run
imports nothing twice, and the report names every change.
"""

from __future__ import annotations

import csv
import email
import email.policy
import mailbox
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from echoppe_accounts import (
    AccountStatus,
    AuthenticationError,
    Settings,
    sqlite_app,
)
from echoppe_accounts.domain.completion import Missing
from echoppe_accounts.entrypoints.cli import _route
from prestashop_data import (
    CASES,
    PASSWORDS,
    create_shop,
    insert_cases,
    local,
    read_for_shop,
)

SCRIPT = Path(sys.executable).with_name("echoppe-accounts")
BASE_URL = "https://www.lechoppe.fr"
WORDING = "newsletter-2019"
SAFETY = 120
"""Seconds after which a hung subprocess fails the test (never asserted on)."""


@attrs.frozen
class Target:
    """The new shop: its SQLite file, Maildir and environment in ``tmp_path``."""

    folder: Path
    database: Path
    maildir: Path
    env: dict[str, str]

    def run(self, *args: str, env: dict[str, str] | None = None):
        result = subprocess.run(  # noqa: S603 (our own console script)
            [SCRIPT, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env or self.env,
            cwd=self.folder,
            timeout=SAFETY,
            check=False,
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def app(self):
        """The library on the new shop's database, with its default hashers."""
        return sqlite_app(self.database, self.maildir, Settings(base_url=BASE_URL))

    def mailed(self) -> set[str]:
        """Deliver the outbox (worker --once); return who received mail."""
        assert self.run("worker", "--once").returncode == 0
        if not self.maildir.exists():
            return set()
        box = mailbox.Maildir(self.maildir, create=False)
        return {
            str(
                email.message_from_bytes(
                    box.get_bytes(key), policy=email.policy.default
                )["To"]
            )
            for key in box.iterkeys()
        }


@pytest.fixture
def target(tmp_path, monkeypatch) -> Target:
    """A new shop on a SQLite file in *tmp_path*, mails to a Maildir there."""
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
    return Target(tmp_path, database, maildir, env)


@pytest.fixture(scope="module")
def old_shop(mariadb) -> str:
    """The PrestaShop 8 database of the old shop, with the issue's cases."""
    name = f"boutique_{secrets.token_hex(4)}"
    create_shop(mariadb, name, version="8")
    insert_cases(mariadb, name)
    return name


def _import(target: Target, url: str, *extra: str, env=None):
    return target.run(
        "import",
        "prestashop",
        "--database",
        url,
        "--newsletter-wording",
        WORDING,
        "--no-progress",
        *extra,
        env=env,
    )


def _report(path: Path) -> dict[str, set[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    codes: dict[str, set[str]] = {}
    for row in rows:
        codes.setdefault(row["ref"], set()).add(row["code"])
    return codes


def test_m1_m2_m3_a_prestashop_shop_comes_over_losing_nobody(mariadb, old_shop, target):
    """M1, M2, M3: the issue's check, customer by customer."""
    result = _import(target, mariadb.url(old_shop))
    assert result.returncode == 0, result.stderr
    read = read_for_shop(1)
    assert (
        f"Clients lus : {len(read)} ; importés : {len(read)} ; déjà présents : 0 ; "
        "refusés : 0 ; invités à choisir un mot de passe : 1." in result.stderr
    )
    assert "clients supprimés dans PrestaShop, non lus : 1" in result.stderr
    app = target.app()
    accounts = {c.ref: app.accounts.find_by_email(c.email) for c in
                (case.record() for case in read)}  # fmt: skip
    # Every customer present; none of another shop, none deleted.
    assert all(accounts.values()), [ref for ref, a in accounts.items() if a is None]
    for case in CASES:
        if case.deleted or case.shop != 1:
            assert app.accounts.find_by_email(case.email) is None, case.case
    by_ref = {ref: account for ref, account in accounts.items() if account}
    # The creation date and the newsletter's, in the shop's zone (M2).
    assert by_ref["101"].created_at == local("2021-05-04 09:30:00")
    assert by_ref["115"].created_at == local("2014-11-02 16:20:00")
    consent = by_ref["109"].newsletter[-1]
    assert consent.subscribed
    assert consent.at == local("2023-07-14 18:45:00")
    assert consent.wording_version == WORDING
    # What PrestaShop never asked for makes accounts to complete (M1).
    assert by_ref["102"].missing == {Missing.PHONE, Missing.ADDRESS}
    assert by_ref["103"].missing == {Missing.PHONE}
    assert by_ref["106"].missing == {Missing.SIRET}
    assert by_ref["107"].missing == {Missing.SIRET}
    assert by_ref["107"].organisation.siren == "732829320"
    assert by_ref["108"].missing == frozenset()
    assert by_ref["108"].organisation.siret is not None
    assert by_ref["108"].organisation.ape is not None
    assert by_ref["101"].missing == frozenset()
    # Every address kept: billing the last invoiced (M2).
    several = by_ref["104"].addresses
    assert several.billing.city == "Marseille"
    assert several.billing.street_lines[0] == "1 rue Haute"
    # The other two are delivery addresses, with their contact names.
    assert [d.contact_name for d in several.deliveries] == [
        "Sophie Plusieurs",
        "Jean Plusieurs",
    ]
    # Disabled stay disabled; guests are express accounts (M2).
    assert by_ref["110"].status is AccountStatus.DISABLED
    assert by_ref["111"].status is AccountStatus.EXPRESS
    # Each change in the report (M2).
    report = _report(target.folder / f"prestashop-{old_shop}-1.report.csv")
    expected = {
        "102": {"import.to_complete.phone", "import.to_complete.address"},
        "103": {"import.to_complete.phone"},
        "106": {"import.to_complete.siret"},
        "107": {"import.to_complete.siret", "import.siren_kept"},
        "109": {"import.optin_reported"},
        "110": {"import.disabled"},
        "111": {"import.guest_not_invited"},
        "112": {"import.language_unknown"},
        "114": {"import.address_split"},
        "115": {"import.hash_not_kept"},
        "116": {"import.field_dropped"},
        "117": {"import.newsletter_undated"},
    }
    for ref, codes in expected.items():
        assert codes <= report.get(ref, set()), ref
    assert not {"101", "104", "108", "113"} & set(report)


def test_m3_old_passwords_log_in_and_disabled_accounts_do_not(
    mariadb, old_shop, target
):
    """M3: bcrypt $2y$10$, $2y$12$ and $2a$ log in; a disabled account does not."""
    assert _import(target, mariadb.url(old_shop)).returncode == 0
    app = target.app()
    logged = []
    for case in read_for_shop(1):
        password = PASSWORDS.get(case.email)
        if password is None or case.guest or len(case.passwd) == 32:
            continue
        if not case.active:
            with pytest.raises(AuthenticationError) as refused:
                app.auth.login(case.email, password)
            assert refused.value.code == "login.failed"
            continue
        result = app.auth.login(case.email, password)
        assert result.account_id == app.accounts.find_by_email(case.email).id
        logged.append(case.passwd[:7])
    assert {"$2y$10$", "$2y$12$", "$2a$10$"} <= set(logged)


def test_m2_guests_are_not_mailed_unless_the_shop_asks(mariadb, old_shop, target):
    """M2: only the MD5 customer is invited; --invite-guests adds the guest."""
    assert _import(target, mariadb.url(old_shop)).returncode == 0
    assert target.mailed() == {"ancien.client@exemple.fr"}


def test_m2_invite_guests_mails_them(mariadb, old_shop, target):
    """M2: the shop asked: the guest receives the set-password link."""
    assert _import(target, mariadb.url(old_shop), "--invite-guests").returncode == 0
    assert "invite@exemple.fr" in target.mailed()


def test_m1_a_second_run_imports_nothing_twice(mariadb, old_shop, target):
    """M1: resumable: a run again finds every customer already present."""
    assert _import(target, mariadb.url(old_shop)).returncode == 0
    again = _import(target, mariadb.url(old_shop))
    assert again.returncode == 0, again.stderr
    read = len(read_for_shop(1))
    assert f"importés : 0 ; déjà présents : {read} ;" in again.stderr
    assert target.mailed() == {"ancien.client@exemple.fr"}  # invited once


def test_m1_the_password_comes_from_the_environment_never_the_line(
    mariadb, old_shop, target
):
    """M1, O4: ECHOPPE_PRESTASHOP_PASSWORD; a password in --database is refused."""
    password = "Mot-de-passe-" + secrets.token_hex(4)
    mariadb.add_user("migration", password, old_shop)
    url = mariadb.url(old_shop, user="migration")
    inline = url.replace("migration@", f"migration:{password}@")
    refused = _import(target, inline)
    assert refused.returncode == 2
    assert password not in refused.stderr
    assert "ECHOPPE_PRESTASHOP_PASSWORD" in refused.stderr
    wrong = _import(target, url, env=target.env | {"ECHOPPE_PRESTASHOP_PASSWORD": "x"})
    assert wrong.returncode == 1
    assert "a refusé l’utilisateur migration ou son mot de passe" in wrong.stderr
    right = _import(
        target, url, env=target.env | {"ECHOPPE_PRESTASHOP_PASSWORD": password}
    )
    assert right.returncode == 0, right.stderr
    assert password not in right.stderr


def test_o4_an_unreachable_server_exits_69(target):
    """O3, O4: no server there: exit 69, the cause in words."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _import(target, f"mysql://root@127.0.0.1:{port}/boutique")
    assert result.returncode == 69
    assert "le serveur de base de données est injoignable" in result.stderr


def test_o4_a_wrong_prefix_or_shop_is_the_users_mistake(mariadb, old_shop, target):
    """O4: exit 1, in one sentence, the codes' French messages."""
    prefix = _import(target, mariadb.url(old_shop), "--prefix", "shop_")
    assert prefix.returncode == 1
    assert "ont le préfixe « ps_ »" in prefix.stderr
    shop = _import(target, mariadb.url(old_shop), "--shop", "9")
    assert shop.returncode == 1
    assert "n’a pas de boutique 9 (ses boutiques : 1, 2)" in shop.stderr


def test_o4_import_prestashop_has_help_in_both_languages(target):
    """O4, T1: its --help, in French and English; import FILE still says its own."""
    french = target.run("import", "prestashop", "--help")
    assert french.returncode == 0
    assert french.stdout.startswith("utilisation : echoppe-accounts import prestashop")
    assert "ECHOPPE_PRESTASHOP_PASSWORD" in french.stdout
    english = target.run("import", "prestashop", "--help", "--lang", "en")
    assert english.stdout.startswith("usage: echoppe-accounts import prestashop")
    assert "the tables' prefix (ps_)" in english.stdout
    csv_help = target.run("import", "--help")
    assert "FICHIER" in csv_help.stdout
    assert "import prestashop" in csv_help.stdout


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        (["import", "prestashop", "--database", "U"],
         ["import-prestashop", "--database", "U"]),
        (["--db", "sqlite:///x", "import", "--no-progress", "prestashop"],
         ["--db", "sqlite:///x", "import-prestashop", "--no-progress"]),
        (["import", "clients.csv"], ["import", "clients.csv"]),
        (["import", "./prestashop"], ["import", "./prestashop"]),
        (["import", "--report", "prestashop", "clients.csv"],
         ["import", "--report", "prestashop", "clients.csv"]),
        (["--db", "import", "erase"], ["--db", "import", "erase"]),
        (["export", "import", "prestashop"], ["export", "import", "prestashop"]),
    ],
)  # fmt: skip
def test_o4_import_file_keeps_working_beside_import_prestashop(given, parsed):
    """O4: only ``import prestashop`` is routed; a file keeps its place."""
    assert _route(given) == parsed


def test_o4_the_default_report_never_replaces_a_file_that_is_not_one(
    mariadb, old_shop, target
):
    """O4: a report the user did not name never overwrites another file.

    Without ``--report`` the report goes to ``prestashop-DATABASE-SHOP.report.csv``
    in the current folder; a file of that name that is not an earlier
    report is kept, as the CSV import keeps one beside its input.
    """
    precious = target.folder / f"prestashop-{old_shop}-1.report.csv"
    precious.write_text("mes notes\n", encoding="utf-8")
    result = _import(target, mariadb.url(old_shop))
    assert precious.read_text(encoding="utf-8") == "mes notes\n", result.stderr
    assert result.returncode != 0
    assert precious.name in result.stderr
    # Named, it is the user's choice: the import runs and writes it.
    named = _import(target, mariadb.url(old_shop), "--report", precious.name)
    assert named.returncode == 0, named.stderr
    assert precious.read_text(encoding="utf-8-sig").startswith("ref;field;code")
