"""Files the commands write: owner-only, atomic, never through a link (SPEC O4 amended).

An export, an import's error report and an outbox key file are created
with mode 0600, replace an existing file by a rename (so one that was
0644 becomes 0600, and a reader never sees half a file), refuse a symbolic
link with a clear sentence, and never replace a file the user did not name.
"""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

import attrs
import pytest

from conftest import FAST_HASHER
from data.import_csv import COLUMNS
from echoppe_accounts import (
    CustomerImporter,
    InMemoryStore,
    LegacyHasher,
    Settings,
    ValidationError,
    bootstrap,
    sqlite_app,
)
from echoppe_accounts._files import UnsafeFileError, private_file, write_private
from echoppe_accounts.bootstrap import outbox_key_file, sqlite_outbox_key
from echoppe_accounts.entrypoints.cli import main
from echoppe_accounts.testing import RecordingMailer
from sample_forms import form

BASE_URL = "https://www.lechoppe.fr"
TARGET = "précieux, ne pas écraser\n"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def planted(tmp_path) -> Path:
    """A file the user cares about, which a planted link points to."""
    target = tmp_path / "elsewhere" / "precious.txt"
    target.parent.mkdir()
    target.write_text(TARGET, encoding="utf-8")
    return target


# -- the writer ---------------------------------------------------------------------


def test_a_new_file_is_owner_only_and_an_old_one_is_replaced(tmp_path):
    """O4: created 0600; a 0644 file is replaced by a 0600 one, not rewritten."""
    path = tmp_path / "out.json"
    write_private(path, "{}\n")
    assert _mode(path) == 0o600
    path.chmod(0o644)
    inode = path.stat().st_ino
    write_private(path, "[]\n")
    assert path.read_text() == "[]\n"
    assert _mode(path) == 0o600
    assert path.stat().st_ino != inode  # a new file, renamed over the old one
    assert _leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    """O4: atomic: an error mid-write leaves the previous content, whole."""
    path = tmp_path / "report.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), private_file(path) as handle:
        handle.write("half")
        raise RuntimeError
    assert path.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


def test_a_symbolic_link_is_refused_and_its_target_untouched(tmp_path, planted):
    """O4: nothing is written through a symbolic link."""
    link = tmp_path / "out.json"
    link.symlink_to(planted)
    with pytest.raises(UnsafeFileError) as refused:
        write_private(link, "{}")
    assert refused.value.reason == "symlink"
    assert planted.read_text(encoding="utf-8") == TARGET
    assert link.is_symlink()


# -- export --output -----------------------------------------------------------------


@pytest.fixture
def shop(tmp_path, monkeypatch) -> Path:
    """A SQLite shop with one customer; the CLI pointed at it."""
    monkeypatch.delenv("ECHOPPE_OUTBOX_KEY", raising=False)
    database = tmp_path / "shop.sqlite3"
    app = sqlite_app(
        database, tmp_path / "mailbox", Settings(base_url=BASE_URL), hasher=FAST_HASHER
    )
    app.accounts.register(form())
    monkeypatch.setenv("ECHOPPE_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("ECHOPPE_BASE_URL", BASE_URL)
    return tmp_path


def _export(lang: str, output: Path) -> int:
    args = ["--lang", lang, "export", "--email", "jean.dupont@exemple.fr"]
    return main([*args, "--output", str(output)])


def test_export_replaces_a_readable_file_with_an_owner_only_one(shop, capsys):
    """O4: ``export --output`` over an existing 0644 file leaves a 0600 file."""
    output = shop / "export.json"
    output.write_text("old")
    output.chmod(0o644)
    assert _export("en", output) == 0
    assert _mode(output) == 0o600
    assert "jean.dupont@exemple.fr" in output.read_text(encoding="utf-8")
    assert _leftovers(shop) == []
    capsys.readouterr()


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("fr", "est un lien symbolique : rien n’est écrit à travers un lien"),
        ("en", "is a symbolic link: nothing is written through a link"),
    ],
)
def test_export_through_a_symbolic_link_is_refused(
    shop, planted, capsys, lang, sentence
):
    """O4: ``export --output link`` exits 1 with one translated sentence."""
    link = shop / "export.json"
    link.symlink_to(planted)
    assert _export(lang, link) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert sentence in err[0]
    assert planted.read_text(encoding="utf-8") == TARGET


# -- the import's error report ------------------------------------------------------


def _csv(folder: Path) -> Path:
    row = dict.fromkeys(COLUMNS, "")
    # A refused line (M1: only what makes no account), so every run reports.
    row.update(email="jean.dupont@", name="Jean Dupont", phone="12")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow([row[c] for c in COLUMNS])
    source = folder / "clients.csv"
    source.write_text(out.getvalue(), encoding="utf-8")
    return source


@pytest.fixture
def importer(clock, shop_settings) -> CustomerImporter:
    """An importer over an in-memory store."""
    app = bootstrap(
        InMemoryStore().unit_of_work,
        RecordingMailer(),
        attrs.evolve(shop_settings, outbox_key=bytes(32)),
        clock=clock,
        hasher=LegacyHasher(FAST_HASHER),
    )
    return CustomerImporter(app)


def _refused(importer: CustomerImporter, source: Path, **options) -> set[str]:
    with pytest.raises(ValidationError) as info:
        importer.import_csv(source, progress=False, **options)
    return set(info.value.codes)


def test_the_report_is_owner_only(importer, tmp_path):
    """O4: the error report holds personal data: 0600, also over an old 0644 one."""
    source = _csv(tmp_path)
    report = tmp_path / "clients.csv.errors.csv"
    summary = importer.import_csv(source, progress=False)
    assert summary.report == report
    assert _mode(report) == 0o600
    report.chmod(0o644)
    importer.import_csv(source, progress=False)
    assert _mode(report) == 0o600
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("named", [False, True])
def test_a_planted_link_as_the_report_is_refused(importer, tmp_path, planted, named):
    """O4: a symbolic link where the report goes is refused, its target untouched."""
    source = _csv(tmp_path)
    link = tmp_path / ("mine.csv" if named else "clients.csv.errors.csv")
    link.symlink_to(planted)
    options = {"report": link} if named else {}
    assert _refused(importer, source, **options) == {"import.report_symlink"}
    assert planted.read_text(encoding="utf-8") == TARGET


def test_a_file_the_user_did_not_name_is_never_replaced(importer, tmp_path):
    """O4: the default report path holding another file is refused, not replaced."""
    source = _csv(tmp_path)
    other = tmp_path / "clients.csv.errors.csv"
    other.write_text(TARGET, encoding="utf-8")
    assert _refused(importer, source) == {"import.report_not_ours"}
    assert other.read_text(encoding="utf-8") == TARGET
    # Named, it is the user's choice.
    importer.import_csv(source, report=other, progress=False)
    assert "email.invalid" in other.read_text(encoding="utf-8-sig")


def test_the_refusal_is_translated(importer, tmp_path, planted):
    """O4: the report's refusal reads in French and English."""
    source = _csv(tmp_path)
    (tmp_path / "clients.csv.errors.csv").symlink_to(planted)
    with pytest.raises(ValidationError) as info:
        importer.import_csv(source, progress=False)
    (error,) = info.value.errors
    assert "lien symbolique" in error.message("fr")
    assert "symbolic link" in error.message("en")


# -- outbox key files ----------------------------------------------------------------


def test_a_key_file_is_never_written_through_a_link(tmp_path, monkeypatch, capsys):
    """O2, O4: a link planted where the key file goes is refused."""
    monkeypatch.delenv("ECHOPPE_OUTBOX_KEY", raising=False)
    database = tmp_path / "shop.sqlite3"
    key_file = outbox_key_file(database)
    key_file.parent.mkdir(parents=True)
    key_file.symlink_to(tmp_path / "elsewhere" / "absent.key")
    with pytest.raises(UnsafeFileError):
        sqlite_outbox_key(database)
    assert not (tmp_path / "elsewhere" / "absent.key").exists()
    code = main(["--lang", "fr", "--db", f"sqlite:///{database}", "init"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1
    assert "est un lien symbolique" in err[0]
    assert not (tmp_path / "elsewhere" / "absent.key").exists()


def test_a_rotated_key_file_stays_owner_only(tmp_path, monkeypatch, capsys):
    """O2, O4: rotation replaces the key file atomically, still 0600."""
    monkeypatch.delenv("ECHOPPE_OUTBOX_KEY", raising=False)
    database = tmp_path / "shop.sqlite3"
    first = sqlite_outbox_key(database)
    url = f"sqlite:///{database}"
    assert main(["--lang", "en", "--db", url, "outbox", "rotate-key"]) == 0
    capsys.readouterr()
    key_file = outbox_key_file(database)
    assert _mode(key_file) == 0o600
    assert sqlite_outbox_key(database) != first
    assert f"previous {first.hex()}" in key_file.read_text()
    assert _leftovers(key_file.parent) == []
