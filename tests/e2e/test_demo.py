"""The demo that ``make demo`` runs: it works and shows what it promises."""

from __future__ import annotations

import io
import json
import mailbox
import sqlite3
import subprocess
import sys

from echoppe_accounts.demo import run


def test_demo_tells_the_whole_story(tmp_path):
    """The demo registers, refuses, shows the invoice and leaves its files."""
    out = io.StringIO()
    run(tmp_path, out)
    text = out.getvalue()
    for category in ("particulier", "professionnel", "entreprise", "collectivité"):
        assert f"✔ {category}" in text
    assert "Le numéro de SIRET est invalide" in text
    assert "Un compte existe déjà avec cette adresse e-mail." in text
    assert "partagent l’adresse de facturation" in text
    invoice = text.split("4. Ce que la facture montre")[1].split("5. ")[0]
    assert "Mairie de Lyon" in invoice
    assert "69001 LYON" in invoice
    assert "Accueil services techniques" not in invoice  # A3
    with sqlite3.connect(tmp_path / "accounts.sqlite3") as db:
        (count,) = db.execute("select count(*) from accounts").fetchone()
    assert count == 6  # five registered, one registered again after erasure
    assert "session restreinte = oui" in text
    assert "Ce mot de passe est trop courant" in text
    assert "mot de passe provisoire à lire au client" in text
    export = json.loads((tmp_path / "mes-donnees.json").read_text(encoding="utf-8"))
    assert export["account"]["email"] == "Jean.Dupont@exemple.fr"
    assert (
        (tmp_path / "mes-donnees.html")
        .read_text(encoding="utf-8")
        .startswith("<!DOCTYPE html>")
    )
    assert "compte de Léa Petit effacé" in text
    assert "is_session_current = False" in text  # P6: the stale session ends
    assert "l’adresse du compte est maintenant nouvelle.adresse@exemple.fr" in text
    kinds = {str(m["Subject"]) for m in mailbox.Maildir(tmp_path / "mailbox")}
    assert len(kinds) >= 6


def test_demo_runs_again_from_scratch(tmp_path):
    """Running the demo twice in one folder starts afresh, without errors."""
    run(tmp_path, io.StringIO())
    result = subprocess.run(  # noqa: S603 (our own module, our interpreter)
        [sys.executable, "-m", "echoppe_accounts.demo", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # 7: a sign-up's newsletter tick sends its confirm link (amended F7).
    assert "7 e-mails distribués, 0 en échec" in result.stdout


def test_demo_help_creates_nothing(tmp_path):
    """``--help`` prints the usage and exits 0 without creating a ``--help`` folder."""
    result = subprocess.run(
        [sys.executable, "-m", "echoppe_accounts.demo", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "FOLDER" in result.stdout
    assert list(tmp_path.iterdir()) == []
