"""Message catalogues, plurals and dates in the customer's language (SPEC T1).

Every text a customer reads is written in English in the sources, as a
gettext message id, and translated by a catalogue: the library ships
``locale/fr/LC_MESSAGES/messages.mo`` (French, the default language) and
reads English from the sources themselves. A shop rewords a message, or adds
a language, with catalogues of its own in folders named by
:attr:`Settings.locale_dirs <echoppe_accounts.Settings.locale_dirs>`, which
:func:`~echoppe_accounts.bootstrap` installs for the whole process (like
Django's ``LOCALE_PATHS``): their messages win over the library's.

Catalogues are read with the standard library's :mod:`gettext`; Babel is
imported only to format dates, on first use.

>>> translation("fr").gettext("This field is required.")
'Ce champ est obligatoire.'
>>> one = "Too many attempts: try again in {seconds} second."
>>> many = "Too many attempts: try again in {seconds} seconds."
>>> for language in ("fr", "en"):
...     for n in (0, 1, 2):
...         print(translation(language).ngettext(one, many, n).format(seconds=n))
Trop de tentatives : réessayez dans 0 seconde.
Trop de tentatives : réessayez dans 1 seconde.
Trop de tentatives : réessayez dans 2 secondes.
Too many attempts: try again in 0 seconds.
Too many attempts: try again in 1 second.
Too many attempts: try again in 2 seconds.
>>> from datetime import UTC, datetime
>>> format_datetime(datetime(2026, 11, 25, 14, 7, tzinfo=UTC), "fr")
'25 novembre 2026 à 15 h 07'
>>> format_datetime(datetime(2026, 7, 1, 14, 7, tzinfo=UTC), "fr")
'1er juillet 2026 à 16 h 07'
>>> format_datetime(datetime(2026, 11, 25, 14, 7, tzinfo=UTC), "en")
'November 25, 2026 at 3:07 PM'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    # Imported where first used: gettext (and its plural-forms parser) when
    # a catalogue is first read, zoneinfo when a date is first formatted, so
    # that importing the library reads no catalogue (issue 22).
    import gettext

DOMAIN = "messages"
"""The gettext domain of the library's catalogues: ``messages.po``/``.mo``."""

DEFAULT_LANGUAGE = "fr"
"""The language of a customer who chose none, and of unknown languages."""

SOURCE_LANGUAGE = "en"
"""The language of the message ids in the sources; it needs no catalogue."""

DEFAULT_TIMEZONE = "Europe/Paris"
"""The time zone dates are shown in unless the shop sets another."""

_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2}|_[A-Z][a-z]{3})?")
"""A language as catalogues name their folders: ``fr``, ``pt_BR``, ``sr_Latn``."""


def gettext_noop(message: str) -> str:
    """Mark *message* for the catalogues, to be translated later; return it as is.

    .. versionadded:: 0.2.0
    """
    return message


@attrs.frozen
class Plural:
    """A message with a singular and a plural, and the parameter that counts.

    Attributes:
        singular: The English message for one.
        plural: The English message for several.
        count: The name of the parameter whose value chooses the form.

    .. versionadded:: 0.2.0
    """

    singular: str
    plural: str
    count: str


def ngettext_noop(singular: str, plural: str, count: str) -> Plural:
    """Mark a message with a plural for the catalogues, counted by *count*.

    .. versionadded:: 0.2.0
    """
    return Plural(singular, plural, count)


def normalise(language: str) -> str | None:
    """Return *language* as catalogues name it (``pt-br`` → ``pt_BR``), or ``None``.

    ``None`` when *language* cannot name a catalogue: too long, not letters,
    or a path. Only the spelling is checked, not whether a catalogue exists.

    >>> normalise(" FR "), normalise("pt-br"), normalise("../../etc")
    ('fr', 'pt_BR', None)

    .. versionadded:: 0.2.0
    """
    if len(language) > 16:  # noqa: PLR2004 - size before work (SPEC F9)
        return None
    base, _, region = language.strip().replace("-", "_").partition("_")
    name = base.lower()
    if region:
        name += "_" + (region.upper() if len(region) == 2 else region.title())  # noqa: PLR2004
    return name if _LANGUAGE.fullmatch(name) else None


def library_folder() -> Path:
    """Return the folder of the catalogues shipped with the library.

    .. versionadded:: 0.2.0
    """
    # The package's own folder, as importlib.resources.files() gives it for a
    # package on disk, without importing importlib.resources (its readers
    # import tempfile, shutil, zipfile and the compressors: issue 22).
    return Path(__file__).resolve().parent.parent / "locale"


@attrs.frozen
class Catalogues:
    """The catalogue folders in use: the shop's first, then the library's.

    Attributes:
        folders: The shop's folders, each holding
            ``<language>/LC_MESSAGES/messages.mo``; the first that has a
            message wins.

    .. versionadded:: 0.2.0
    """

    folders: tuple[Path, ...] = ()

    def translation(self, language: str) -> gettext.NullTranslations:
        """Return the translations of *language*, the default one if it has none."""
        return _translation(self.folders, self.resolve(language))

    def languages(self) -> frozenset[str]:
        """Return every language with a catalogue, and English, the source language."""
        return _languages(self.folders)

    def resolve(self, language: str) -> str:
        """Return *language* if it has a catalogue, else :data:`DEFAULT_LANGUAGE`."""
        languages = self.languages()
        if language in languages:  # already a catalogue's name: each gettext call
            return language
        name = normalise(language)
        return name if name in languages else DEFAULT_LANGUAGE


@functools.lru_cache(maxsize=8)
def _languages(folders: tuple[Path, ...]) -> frozenset[str]:
    found = {SOURCE_LANGUAGE, DEFAULT_LANGUAGE}
    for folder in (*folders, library_folder()):
        found.update(
            entry.parent.parent.name
            for entry in folder.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
            if normalise(entry.parent.parent.name) == entry.parent.parent.name
        )
    return frozenset(found)


@functools.lru_cache(maxsize=64)
def _translation(folders: tuple[Path, ...], language: str) -> gettext.NullTranslations:
    import gettext  # noqa: PLC0415 (on first use, issue 22)

    chain: gettext.NullTranslations | None = None
    for folder in (*folders, library_folder()):
        found = gettext.translation(DOMAIN, folder, [language], fallback=True)
        if type(found) is gettext.NullTranslations:
            continue  # no catalogue of this language in that folder
        if chain is None:
            chain = found
        else:
            chain.add_fallback(found)
    return chain or gettext.NullTranslations()


_installed = Catalogues()


def install(folders: Iterable[str | Path]) -> Catalogues:
    """Use the shop's catalogue *folders*, before the library's, in this process.

    :func:`~echoppe_accounts.bootstrap` calls it with
    :attr:`Settings.locale_dirs <echoppe_accounts.Settings.locale_dirs>`.

    .. versionadded:: 0.2.0
    """
    global _installed  # noqa: PLW0603 (catalogues are process-wide, as in gettext)
    _installed = Catalogues(tuple(Path(folder) for folder in folders))
    return _installed


def catalogues() -> Catalogues:
    """Return the catalogues in use in this process.

    .. versionadded:: 0.2.0
    """
    return _installed


def translation(language: str) -> gettext.NullTranslations:
    """Return the translations of *language* from the catalogues in use.

    A language without a catalogue gets the default language's, French.

    .. versionadded:: 0.2.0
    """
    return _installed.translation(language)


def available_languages() -> frozenset[str]:
    """Return the languages a customer may choose: ``fr``, ``en`` and the shop's.

    .. versionadded:: 0.2.0
    """
    return _installed.languages()


def format_datetime(
    value: datetime, language: str, zone: str | tzinfo = DEFAULT_TIMEZONE
) -> str:
    """Return *value* as a reader of *language* writes it, in the time zone *zone*.

    The pattern comes from the catalogue of *language*; the month and day
    names from CLDR, through Babel. *value* must be aware (the library
    keeps UTC).

    .. versionadded:: 0.2.0
    """
    from zoneinfo import ZoneInfo  # noqa: PLC0415 (on first use, issue 22)

    from babel.dates import format_datetime as babel_format  # noqa: PLC0415

    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    local = value.astimezone(zone)
    texts = translation(language)
    if local.day == 1:
        # Translators: the pattern below, for the first day of a month, which
        # French writes "1er": "d'er' MMMM y 'à' H 'h' mm". Other languages
        # may repeat their usual pattern.
        pattern = texts.pgettext("first day of a month", "MMMM d, y 'at' h:mm a")
    else:
        # Translators: a date and time in Unicode (CLDR) pattern syntax
        # (https://unicode.org/reports/tr35/tr35-dates.html); French writes
        # "d MMMM y 'à' H 'h' mm": 25 novembre 2026 à 15 h 07.
        pattern = texts.gettext("MMMM d, y 'at' h:mm a")
    return babel_format(local, pattern, tzinfo=zone, locale=babel_locale(language))


def babel_locale(language: str) -> str:
    """Return the CLDR locale of *language*: itself, or French when CLDR lacks it.

    .. versionadded:: 0.2.0
    """
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415

    name = catalogues().resolve(language)
    try:
        Locale.parse(name)
    except (UnknownLocaleError, ValueError):
        return DEFAULT_LANGUAGE
    return name
