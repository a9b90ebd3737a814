"""Languages, plurals and dates in the customer's locale and the shop's zone (T1)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from echoppe_accounts import (
    FieldError,
    InMemoryStore,
    MailKind,
    RegistrationForm,
    Settings,
    TemplateError,
    ValidationError,
    bootstrap,
)
from echoppe_accounts.domain import i18n
from echoppe_accounts.domain.errors import Collector
from echoppe_accounts.domain.forms import parse_language
from echoppe_accounts.service_layer import mails
from echoppe_accounts.testing import RecordingMailer

KEY = bytes(range(32))


@pytest.mark.parametrize(
    ("instant", "french", "english"),
    [
        # 2026-03-29: Paris goes from UTC+1 to UTC+2 at 01:00 UTC.
        (
            datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
            "29 mars 2026 à 1 h 59",
            "March 29, 2026 at 1:59 AM",
        ),
        (
            datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
            "29 mars 2026 à 3 h 00",
            "March 29, 2026 at 3:00 AM",
        ),
        # 2026-10-25: back from UTC+2 to UTC+1 at 01:00 UTC; 02:30 comes twice.
        (
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            "25 octobre 2026 à 2 h 30",
            "October 25, 2026 at 2:30 AM",
        ),
        (
            datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            "25 octobre 2026 à 2 h 30",
            "October 25, 2026 at 2:30 AM",
        ),
        (
            datetime(2026, 10, 25, 2, 0, tzinfo=UTC),
            "25 octobre 2026 à 3 h 00",
            "October 25, 2026 at 3:00 AM",
        ),
        # The SPEC's example, in winter time.
        (
            datetime(2026, 11, 25, 14, 7, tzinfo=UTC),
            "25 novembre 2026 à 15 h 07",
            "November 25, 2026 at 3:07 PM",
        ),
        # French writes the first day of a month "1er".
        (
            datetime(2026, 6, 30, 22, 15, tzinfo=UTC),
            "1er juillet 2026 à 0 h 15",
            "July 1, 2026 at 12:15 AM",
        ),
    ],
)
def test_dates_in_paris_time_across_summer_time(instant, french, english):
    """T1: golden dates on both sides of the 2026 summer-time changes in Paris."""
    assert i18n.format_datetime(instant, "fr") == french
    assert i18n.format_datetime(instant, "en") == english
    assert i18n.format_datetime(instant, "fr", "Europe/Paris") == french


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    )
)
def test_a_date_is_the_same_instant_in_any_zone(moment):
    """T1: the shop's zone changes the clock time, never the instant shown."""
    instant = moment.replace(tzinfo=UTC)
    paris = i18n.format_datetime(instant, "fr", "Europe/Paris")
    utc = i18n.format_datetime(instant, "fr", "UTC")
    local = instant.astimezone(ZoneInfo("Europe/Paris"))
    assert f"{local.hour} h {local.minute:02d}" in paris
    assert f"{instant.hour} h {instant.minute:02d}" in utc
    assert str(local.year) in paris


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("fr", "fr"),
        (" FR ", "fr"),
        ("en", "en"),
        ("pt-br", "pt_BR"),
        ("sr_latn", "sr_Latn"),
        ("../fr", None),
        ("f", None),
        ("fr/LC_MESSAGES", None),
        ("x" * 10_000, None),
    ],
)
def test_language_names_are_read_safely(written, expected):
    """T1, F9: a language names a catalogue folder, never a path, checked by size."""
    assert i18n.normalise(written) == expected


def test_french_and_english_are_always_available():
    """T1: French (the default) and English (the sources') need no setting."""
    assert {"fr", "en"} <= i18n.available_languages()


@pytest.mark.parametrize(
    ("written", "parsed"), [("", "fr"), ("EN", "en"), ("fr", "fr")]
)
def test_parse_language_accepts_the_available_ones(written, parsed):
    """T1: an account's language is one with a catalogue, French by default."""
    errors = Collector()
    assert parse_language(written, errors) == parsed
    assert errors.errors == []


def test_parse_language_refuses_others_and_names_the_choices():
    """T1: an unknown language is refused with the list of those offered."""
    errors = Collector()
    assert parse_language("de", errors) == "fr"
    (error,) = errors.errors
    assert error.code == "language.invalid"
    assert error.message("fr") == "Langue non proposée : choisissez parmi en, fr."
    assert error.message("en") == "Language not offered: choose one of en, fr."


# --- a shop's catalogues ---------------------------------------------------------


def _german(folder: Path, **translations: str) -> Path:
    """Write a German catalogue holding *translations* (by English id) in *folder*."""
    template = Path(i18n.library_folder(), "messages.pot")
    with template.open("rb") as pot:
        messages = read_po(pot)
    catalogue = Catalog(locale="de", domain="messages")
    by_english = {english: german for german, english in translations.items()}
    for message in messages:
        plural = isinstance(message.id, tuple)
        german = by_english.get(message.id[0] if plural else message.id)
        if message.id and german is not None:
            string = (german, german) if plural else german
            catalogue.add(message.id, string, context=message.context)
    target = folder / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as mo:
        write_mo(mo, catalogue)
    return folder


@pytest.fixture(autouse=True)
def restore_catalogues():
    """Put the library's catalogues back after a test installs a shop's."""
    yield
    i18n.install(())


def _settings(folder: Path) -> Settings:
    return Settings(
        base_url="https://www.lechoppe.fr",
        shop_name="L'Échoppe",
        locale_dirs=folder,
        outbox_key=KEY,
    )


def test_a_shop_adds_a_language_with_a_catalogue(tmp_path):
    """T1: a German catalogue makes German available for accounts and mails."""
    folder = _german(
        tmp_path,
        **{"Willkommen bei %(shop)s": "Welcome to %(shop)s"},
        Pflichtfeld="This field is required.",
    )
    app = bootstrap(InMemoryStore().unit_of_work, RecordingMailer(), _settings(folder))
    assert "de" in i18n.available_languages()
    assert mails.render_sample(MailKind.WELCOME, "de").subject == (
        "Willkommen bei example.org"
    )
    assert FieldError("email", "required").message("de") == "Pflichtfeld"
    with pytest.raises(ValidationError) as info:
        app.accounts.register(RegistrationForm(language="de"))
    assert "language" not in info.value.as_dict()


def test_a_shop_catalogue_rewords_a_french_message(tmp_path):
    """T1: the shop's French catalogue wins over the library's, message by message."""
    target = tmp_path / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    catalogue = Catalog(locale="fr", domain="messages")
    catalogue.add("This field is required.", "Merci de remplir ce champ.")
    with (target / "messages.mo").open("wb") as mo:
        write_mo(mo, catalogue)
    bootstrap(InMemoryStore().unit_of_work, RecordingMailer(), _settings(tmp_path))
    assert FieldError("email", "required").message() == "Merci de remplir ce champ."
    assert FieldError("phone", "phone.invalid").message() == (
        "Le numéro de téléphone est invalide."
    )


def test_a_shop_catalogue_with_an_unknown_placeholder_fails_at_wiring(tmp_path):
    """T1: a translation naming a value the message does not give stops the start."""
    folder = _german(
        tmp_path,
        **{"Höchstens {maximum} Zeichen.": "This field cannot exceed {max} character."},
    )
    with pytest.raises(TemplateError) as info:
        bootstrap(InMemoryStore().unit_of_work, RecordingMailer(), _settings(folder))
    assert info.value.templates == ("messages.po (de)",)
    assert "{maximum}" in str(info.value)


def test_wiring_twice_checks_once(monkeypatch):
    """T1: the library's templates are checked once per process, not per app."""
    settings = Settings(base_url="https://www.lechoppe.fr", outbox_key=KEY)
    bootstrap(InMemoryStore().unit_of_work, RecordingMailer(), settings)
    calls = []
    monkeypatch.setattr(mails, "render_sample", lambda *a: calls.append(a))
    bootstrap(InMemoryStore().unit_of_work, RecordingMailer(), settings)
    assert calls == []


def test_dates_of_the_shop_time_zone():
    """T1: an instant is shown in the zone given, Réunion here (UTC+4, no DST)."""
    instant = datetime(2026, 7, 14, 8, 0, tzinfo=UTC)
    assert i18n.format_datetime(instant, "fr", "Indian/Reunion") == (
        "14 juillet 2026 à 12 h 00"
    )
    later = instant + timedelta(days=180)
    assert i18n.format_datetime(later, "fr", "Indian/Reunion").endswith("12 h 00")


def test_importing_the_package_loads_neither_jinja2_nor_babel():
    """T1: templates and CLDR data cost nothing until a text is first rendered."""
    probe = (
        "import sys, echoppe_accounts\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'jinja2', 'markupsafe', 'babel'}))"
    )
    result = subprocess.run(  # noqa: S603 - our interpreter, a fixed script
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
