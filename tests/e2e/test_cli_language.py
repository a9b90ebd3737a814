"""The command speaks one language: every text of a failing command (SPEC O4, T1).

Each failing command line is run in French and in English, through
:func:`echoppe_accounts.entrypoints.cli.main`; what it writes (argparse's
usage and errors included, the cause of a storage failure too) holds no word
of the other language. Command names, option names and the driver's codes
are the same in both and never in the word lists.
"""

from __future__ import annotations

import os
import re

import pytest

from echoppe_accounts.entrypoints.cli import EXIT_OK, main

ENGLISH = frozenset(
    (
        "error",
        "the",
        "following",
        "required",
        "invalid",
        "choice",
        "choose",
        "from",
        "unrecognized",
        "expected",
        "positional",
        "show",
        "this",
        "message",
        "exit",
        "cannot",
        "connect",
        "database",
        "unavailable",
        "retry",
        "may",
        "succeed",
        "will",
        "not",
        "such",
        "regular",
        "empty",
        "column",
        "columns",
        "lacks",
        "unknown",
        "which",
        "is",
        "are",
        "must",
        "give",
        "path",
        "problems",
        "server",
        "refused",
        "whole",
        "number",
        "between",
        "seconds",
        "no",
        "account",
        "has",
    )
)
"""Words an English message uses and a French one never does."""

FRENCH = frozenset(
    (
        "utilisation",
        "erreur",
        "les",
        "suivants",
        "obligatoires",
        "choix",
        "invalide",
        "choisissez",
        "parmi",
        "inconnus",
        "attendu",
        "affiche",
        "cette",
        "aide",
        "arrête",
        "base",
        "données",
        "indisponible",
        "serveur",
        "une",
        "nouvelle",
        "tentative",
        "peut",
        "réussir",
        "réessayer",
        "fichier",
        "introuvable",
        "ordinaire",
        "vide",
        "colonne",
        "manque",
        "inconnue",
        "problèmes",
        "est",
        "pas",
        "nombre",
        "entier",
        "entre",
        "donnez",
        "chemin",
        "aucun",
        "compte",
    )
)
"""Words a French message uses and an English one never does."""

FAILING = {
    "no command": [],
    "unknown command": ["frobnicate"],
    "missing subcommand": ["outbox"],
    "unknown subcommand": ["outbox", "frob"],
    "unknown option": ["outbox", "status", "--bogus"],
    "missing required options": ["support", "provisional-password", "--account", "x"],
    "a disabling without its reason": ["support", "disable", "--agent", "a12"],
    "one of two": ["outbox", "requeue"],
    "bad number": ["worker", "--batch-size", "0"],
    "bad date": ["outbox", "purge", "--before", "hier"],
    "above the retention": ["analytics", "purge", "--months", "36"],
    "no account named": ["export"],
    "bad database URL": ["--db", "mysql://shop@db/shop", "outbox", "status"],
    "unknown help topic": ["help", "everything"],
    "unknown account": ["export", "x42"],
    "absent file": ["import", "{tmp}/absent.csv"],
    "not a regular file": ["import", "/dev/null"],
    "a folder": ["import", "{tmp}"],
    "empty file": ["import", "{tmp}/empty.csv"],
    "bad header": ["import", "{tmp}/header.csv"],
    "not a database": ["--db", "sqlite:///{tmp}/notes.txt", "outbox", "status"],
}


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """A SQLite shop in *tmp_path*, with the files the failing commands read."""
    for name in list(os.environ):
        if name.startswith(("ECHOPPE_", "LC_", "LANG")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ECHOPPE_DATABASE_URL", f"sqlite:///{tmp_path}/shop.sqlite3")
    monkeypatch.setenv("ECHOPPE_MAILDIR", str(tmp_path / "mailbox"))
    monkeypatch.setenv("ECHOPPE_BASE_URL", "https://comptoir.example")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("email;nom;phone\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("pas une base\n" * 100, encoding="utf-8")
    return tmp_path


def _run(args, lang, capsys):
    """Run the command with ``--lang``; return its exit code and its output."""
    try:
        code = main(["--lang", lang, *args])
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out + out.err


def _words(text):
    # Option names, metavars, paths and quoted values are the same in both
    # languages: only lower-case words written as prose count.
    # "Mes données" is the page's name in both languages (SPEC T2).
    prose = re.sub(r"--?[\w-]+|/[\w./-]+|'[^']*'|“[^”]*”|\([A-Z]+[^)]*\)", " ", text)
    return {w for w in re.findall(r"[^\W\d_]+", prose) if w.islower()}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("case", FAILING)
def test_a_failing_command_speaks_one_language(shop, capsys, case, lang):
    """O4, T1: usage, argparse's errors and causes, all in the chosen language."""
    args = [a.format(tmp=shop) for a in FAILING[case]]
    code, output = _run(args, lang, capsys)
    assert code != EXIT_OK, output
    assert "Traceback" not in output
    other = ENGLISH if lang == "fr" else FRENCH
    own = FRENCH if lang == "fr" else ENGLISH
    words = _words(output)
    assert words & other == set(), output
    assert lang == "en" or "usage:" not in output
    assert words & own, output  # the check would pass on silence


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.usefixtures("shop")
def test_an_unreachable_server_is_said_in_the_language(capsys, lang):
    """O3, O4: the cause of a storage failure is a translated sentence."""
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    code, output = _run(
        ["--db", "postgresql://nobody@127.0.0.1:1/x", "outbox", "status"], lang, capsys
    )
    assert code == 69
    other = ENGLISH if lang == "fr" else FRENCH
    assert _words(output) & other == set(), output
    assert output.count("\n") == 1


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize(
    "args", [["--help"], ["outbox", "purge", "--help"], ["help", "environment"]]
)
@pytest.mark.usefixtures("shop")
def test_help_speaks_one_language(capsys, args, lang):
    """O4, T1: the help, argparse's section titles included, in one language."""
    code, output = _run(args, lang, capsys)
    assert code in {0, None}
    assert lang == "en" or "usage:" not in output
    other = ENGLISH if lang == "fr" else FRENCH
    assert _words(output) & other == set(), output


@pytest.mark.usefixtures("shop")
def test_a_command_help_shows_its_own_options_and_points_to_the_environment(capsys):
    """O4: a subcommand's help is its options, not the whole environment table."""
    _, output = _run(["outbox", "purge", "--help"], "fr", capsys)
    assert output.startswith("utilisation : ")
    assert "--before" in output
    assert "ECHOPPE_SMTP_URL" not in output
    assert "--db URL" not in output
    assert "echoppe-accounts help environment" in output
    _, environment = _run(["help", "environment"], "fr", capsys)
    assert "ECHOPPE_SMTP_URL" in environment


def test_a_bad_csv_header_gives_one_problem_a_line(shop, capsys):
    """O4, F8: every problem of the header on its own line, in the language."""
    code, output = _run(["import", f"{shop}/header.csv"], "fr", capsys)
    assert code == 1
    lines = output.splitlines()
    # The unknown "nom", and "name" missing (email and name are required, M1).
    assert lines[0] == "echoppe-accounts: 2 problèmes :"
    assert lines[1] == (
        "  - nom : Colonne inconnue « nom » : voyez les colonnes dans la documentation."
    )
    assert len(lines) == 3
    assert all(line.startswith("  - ") for line in lines[1:])


@pytest.mark.parametrize(
    ("path", "french"),
    [
        ("/dev/null", "/dev/null n’est pas un fichier ordinaire"),
        ("{tmp}/empty.csv", "est vide"),
        ("{tmp}/absent.csv", "Fichier introuvable"),
    ],
)
def test_import_names_what_is_wrong_with_the_path(shop, capsys, path, french):
    """O4: an empty file or a device is not « introuvable »."""
    code, output = _run(["import", path.format(tmp=shop)], "fr", capsys)
    assert code == 1
    assert french in output
    if "absent" not in path:
        assert "introuvable" not in output
