"""The check of every text customers read (T1).

:func:`check_texts` renders, in every language with a catalogue, every mail
kind (subject, text and HTML parts) and the "Mes données" page with sample
data, every validation message with sample parameters, and compiles every
template the shop's loader holds, so that a broken template or catalogue
stops a deployment with a :class:`~echoppe_accounts.TemplateError` naming
it, instead of failing when a customer asks for a reset.
:func:`~echoppe_accounts.bootstrap` runs it when the shop gives templates or
catalogues of its own; the library's own are checked by its tests.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

from echoppe_accounts.domain.errors import (
    _MESSAGES,
    TemplateError,
    known_codes,
    message_for,
)
from echoppe_accounts.domain.i18n import Catalogues, Plural, catalogues
from echoppe_accounts.domain.mail import MailKind
from echoppe_accounts.service_layer import mails
from echoppe_accounts.service_layer.privacy import EXPORT_PAGE, sample_export
from echoppe_accounts.service_layer.settings import Settings
from echoppe_accounts.service_layer.templating import (
    _source_key,
    templates_for,
)

_PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*\}")


def _parameters(code: str) -> dict[str, object]:
    """Return sample parameters for every placeholder the message of *code* has."""
    message = _MESSAGES[code]
    texts = (
        (message.singular, message.plural)
        if isinstance(message, Plural)
        else (message,)
    )
    return {
        name: 2
        for text in texts
        for _, name, _, _ in string.Formatter().parse(text)
        if name
    }


def _problems(
    settings: Settings, languages: frozenset[str]
) -> Iterator[tuple[str, str]]:
    templates = templates_for(settings.templates)
    for name in templates.shop_templates():
        try:
            templates.compile(name)
        except TemplateError as exc:
            yield from exc.problems
    for language in sorted(languages):
        for kind in MailKind:
            try:
                mails.render_sample(kind, language, settings)
            except TemplateError as exc:
                yield from exc.problems
        try:
            sample_export(language, settings).as_html()
        except TemplateError as exc:
            yield from ((name or EXPORT_PAGE, why) for name, why in exc.problems)
        for code in sorted(known_codes()):
            try:
                text = message_for(code, _parameters(code), language)
            except (ValueError, IndexError, AttributeError) as exc:
                yield (f"messages.po ({language})", f"{code}: {exc}")
                continue
            if unknown := _PLACEHOLDER.findall(text):
                yield (
                    f"messages.po ({language})",
                    f"{code}: unknown placeholder {', '.join(unknown)}",
                )


_CHECKED: set[tuple[object, Catalogues]] = set()
"""The template sources and catalogues already checked in this process."""


def check_texts(settings: Settings) -> None:
    """Render every template and message of *settings*, in every language.

    Every mail kind (subject, text and HTML), the "Mes données" page and
    every validation message, with sample data, in every language with a
    catalogue; every template the shop's loader holds is compiled. Run it
    in a deployment's checks or tests: :func:`~echoppe_accounts.bootstrap`
    runs it only when *settings* name templates or catalogues of the shop,
    and otherwise each template is compiled, and each catalogue read, on
    first use.

    Done once per template source and catalogue set in a process: wiring
    many applications with the same templates costs one check.

    Raises:
        TemplateError: Listing every template or message that cannot render,
            by name, with the reason and the line.

    .. versionadded:: 0.2.0
    """
    found = catalogues()
    key = (_source_key(settings.templates), found)
    if key in _CHECKED:
        return
    problems = list(dict.fromkeys(_problems(settings, found.languages())))
    if problems:
        raise TemplateError(problems)
    _CHECKED.add(key)
