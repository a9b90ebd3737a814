"""A real headless Chromium reads "Mes données" and two mails (SPEC T1, T2, G1).

Chromium (Debian's ``chromium``, or the program named by ``CHROMIUM``) loads
each page from a file, as a customer opens a saved export or a mail client
shows a mail, and dumps the DOM it built; its console, logged on stderr,
must stay silent: no script error, and no resource refused by the page's
Content-Security-Policy. Outside CI a missing browser skips these tests with
the reason; under ``CI=true`` it fails them (``.ci/run`` installs Chromium).

Screenshots at phone (390×844) and desktop (1280×900) widths are written
beside the pages; set ``ECHOPPE_SCREENSHOTS`` to a folder to keep them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from echoppe_accounts import MailKind, Settings
from echoppe_accounts.service_layer import mails
from echoppe_accounts.service_layer.privacy import sample_export
from rendered import tag_structure, visible_text

SHOP = Settings(base_url="https://www.lechoppe.fr")
SIZES = {"phone": "390,844", "desktop": "1280,900"}


def _find_chromium() -> str | None:
    named = os.environ.get("CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    """The browser's program, or a skip (a failure under ``CI=true``)."""
    program = _find_chromium()
    if program:
        return program
    reason = (
        "no Chromium found: install Debian's chromium (apt-get install chromium) "
        "or name one in CHROMIUM"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true needs the browser test; {reason}")
    pytest.skip(reason)


@pytest.fixture
def browse(chromium, tmp_path):
    """Run Chromium headless on a file; return its completed process."""

    def run(page: Path, *options: str) -> subprocess.CompletedProcess[str]:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",  # tests may run as root, in a container
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            *options,
            page.as_uri(),
        ]
        result = subprocess.run(  # noqa: S603 (the browser, on our own files)
            command,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "HOME": str(tmp_path)},
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result

    return run


def _console(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Return what the page wrote to the console (errors, refused resources)."""
    return [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


def _write(folder: Path, name: str, markup: str) -> Path:
    path = folder / name
    path.write_text(markup, encoding="utf-8")
    return path


def _headings(dom: str) -> list[str]:
    return [tag for tag, _ in tag_structure(dom) if tag in {"h1", "h2", "h3"}]


def test_the_console_check_sees_errors(browse, tmp_path):
    """T2: the check is not blind: a script error and a refused image are seen."""
    page = _write(
        tmp_path,
        "faulty.html",
        "<!DOCTYPE html><html><head><meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>"
        "<img src='https://tracker.example/pixel.gif'>"
        "<script>console.error('boom')</script></body></html>",
    )
    messages = _console(browse(page, "--dump-dom"))
    assert any("boom" in line for line in messages)
    assert any("tracker.example" in line for line in messages)


def test_the_export_page_reads_in_a_browser(browse, tmp_path):
    """G1, T2: Chromium builds the French page: headings, labels, no console error."""
    page = _write(tmp_path, "mes-donnees.html", sample_export("fr", SHOP).as_html())
    result = browse(page, "--dump-dom")
    assert _console(result) == []
    dom = result.stdout
    assert '<html lang="fr">' in dom
    headings = _headings(dom)
    assert headings.count("h1") == 1
    assert headings.count("h2") == 8  # the contents and the seven sections
    text = visible_text(dom)
    for words in (
        "Mes données",
        "Identité et coordonnées",
        "Organisation et SIRET",
        "Adresses de livraison",
        "Historique du compte",
        "Vos droits et l’usage de vos données",
        "Adresse e-mail",
        "Numéro de SIRET",
        "Version du texte affiché",
        "29 mars 2026 à 1 h 30",
        "Belgique",
    ):
        assert words in text, words


@pytest.mark.parametrize(
    ("kind", "language", "heading", "words"),
    [
        (
            MailKind.RESET_CONFIRM,
            "fr",
            "Confirmez la réinitialisation de votre mot de passe",
            ("Confirmer la demande", "Ce n’était pas moi", "Bonjour Claire Martin,"),
        ),
        (
            MailKind.TEMPORARY_PASSWORD,
            "en",
            "Your temporary password",
            ("Here is your temporary password:", "K7QM-4XPR-9TBW-HC3D", "24 hours"),
        ),
    ],
)
def test_mails_read_in_a_browser(browse, tmp_path, kind, language, heading, words):
    """T1: Chromium shows the mail's heading, words and buttons; no console error."""
    mail = mails.render_sample(kind, language, SHOP)
    page = _write(tmp_path, f"{kind.value}.html", mail.html)
    result = browse(page, "--dump-dom")
    assert _console(result) == []
    dom = result.stdout
    assert f'<html lang="{language}">' in dom
    assert _headings(dom) == ["h1"]
    text = visible_text(dom)
    assert heading in text
    for word in words:
        assert word in text, word


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("what", ["export", "mail"])
def test_screenshots_at_phone_and_desktop_widths(browse, tmp_path, size, what):
    """T2: the page and a mail render to an image at both widths (looked at by eye)."""
    if what == "export":
        markup = sample_export("fr", SHOP).as_html()
    else:
        markup = mails.render_sample(MailKind.RESET_CONFIRM, "fr", SHOP).html
    page = _write(tmp_path, f"{what}.html", markup)
    shot = tmp_path / f"{what}-{size}.png"
    result = browse(page, f"--screenshot={shot}", f"--window-size={SIZES[size]}")
    assert _console(result) == []
    image = shot.read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = (int.from_bytes(image[i : i + 4], "big") for i in (16, 20))
    assert f"{width},{height}" == SIZES[size]
    if keep := os.environ.get("ECHOPPE_SCREENSHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


def test_the_export_page_prints(browse, tmp_path):
    """T2: the page prints to PDF (its print style sheet), without console error."""
    page = _write(tmp_path, "mes-donnees.html", sample_export("en", SHOP).as_html())
    pdf = tmp_path / "mes-donnees.pdf"
    result = browse(page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert _console(result) == []
    assert pdf.read_bytes().startswith(b"%PDF-")
