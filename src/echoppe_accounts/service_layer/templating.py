"""The templates of the texts customers read: mails and "Mes données" (SPEC T1).

The library ships Jinja2 templates in the package (``templates/``): for each
mail kind ``mail/<kind>/subject.txt``, ``body.txt`` and ``body.html``, their
layouts ``mail/layout.txt`` and ``mail/layout.html`` with the partials they
include, and ``privacy/export.html``, the "Mes données" page. A shop gives
:attr:`Settings.templates <echoppe_accounts.Settings.templates>`, a folder
or a Jinja2 loader, whose templates are looked up first: it replaces one
template, or all, without touching code.

HTML templates are autoescaped and every template uses strict undefined
variables, so a value a template expects and does not get is an error, not
an empty string. Words go through the message catalogues with Jinja2's
``{% trans %}`` blocks (whitespace trimmed), in the language of the render.

The environment is built once per template source and kept; Jinja2 is
imported on first use, not with the package.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from echoppe_accounts.domain.countries import country_display_name
from echoppe_accounts.domain.errors import TemplateError
from echoppe_accounts.domain.i18n import (
    DEFAULT_LANGUAGE,
    babel_locale,
    format_datetime,
    translation,
)

if TYPE_CHECKING:
    import jinja2

TemplateSource: TypeAlias = "str | os.PathLike[str] | jinja2.BaseLoader"
"""Where a shop's templates come from: a folder, or any Jinja2 loader."""

TEMPLATE_SUFFIXES = (".html", ".txt")
"""The files of a template folder that are templates; others (images) are not."""

TEXT_WIDTH = 76
"""The width plain-text mail bodies are wrapped to; links are never cut."""


def _language(context: Any) -> str:  # noqa: ANN401 (a jinja2 Context)
    language = context.get("language")
    return language if isinstance(language, str) else DEFAULT_LANGUAGE


def _zone(context: Any) -> str | tzinfo:  # noqa: ANN401 (a jinja2 Context)
    zone = context.get("timezone")
    return zone if isinstance(zone, str | tzinfo) else "Europe/Paris"


def _phone(e164: str, region: str = "FR") -> str:
    """Show a stored number as a customer in France reads it (SPEC F2, T2)."""
    from echoppe_accounts.domain.phone import Phone  # noqa: PLC0415

    return Phone(e164, region).displayed


def _filters_and_callables() -> dict[str, Any]:
    from jinja2 import pass_context  # noqa: PLC0415

    @pass_context
    def gettext(context: Any, message: str) -> str:  # noqa: ANN401
        return translation(_language(context)).gettext(message)

    @pass_context
    def ngettext(context: Any, singular: str, plural: str, n: int) -> str:  # noqa: ANN401
        return translation(_language(context)).ngettext(singular, plural, n)

    @pass_context
    def pgettext(context: Any, msgctxt: str, message: str) -> str:  # noqa: ANN401
        return translation(_language(context)).pgettext(msgctxt, message)

    @pass_context
    def npgettext(
        context: Any,  # noqa: ANN401
        msgctxt: str,
        singular: str,
        plural: str,
        n: int,
    ) -> str:
        texts = translation(_language(context))
        return texts.npgettext(msgctxt, singular, plural, n)

    @pass_context
    def when(context: Any, value: datetime | str) -> str:  # noqa: ANN401
        """Format a date and time for the reader, in the shop's time zone."""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return format_datetime(value, _language(context), _zone(context))

    @pass_context
    def country(context: Any, code: str) -> str:  # noqa: ANN401
        """Name a country (ISO 3166-1 alpha-2) in the reader's language, from CLDR."""
        return country_display_name(code, babel_locale(_language(context)))

    @pass_context
    def language_name(context: Any, code: str) -> str:  # noqa: ANN401
        """Name a language in the reader's language, from CLDR."""
        from babel import Locale  # noqa: PLC0415

        reader = babel_locale(_language(context))
        try:
            name = Locale.parse(babel_locale(code)).get_display_name(reader)
        except ValueError:  # pragma: no cover - babel_locale gives known ones
            name = None
        return name or code

    return {
        "phone": _phone,
        "gettext": gettext,
        "ngettext": ngettext,
        "pgettext": pgettext,
        "npgettext": npgettext,
        "datetime": when,
        "country": country,
        "language_name": language_name,
    }


class Templates:
    """The Jinja2 templates of one shop: its own first, then the library's.

    Build it with :func:`templates_for`, which keeps one per source.

    .. versionadded:: 0.2.0
    """

    def __init__(self, source: TemplateSource | None = None) -> None:
        """Look templates up in *source* (a folder or a loader), then the library."""
        import jinja2  # noqa: PLC0415 (imported when texts are first rendered)

        self.shop_loader: jinja2.BaseLoader | None
        if source is None:
            self.shop_loader = None
        elif isinstance(source, jinja2.BaseLoader):
            self.shop_loader = source
        else:
            self.shop_loader = jinja2.FileSystemLoader(os.fspath(source))
        self.library_loader = jinja2.PackageLoader("echoppe_accounts", "templates")
        loaders: list[jinja2.BaseLoader] = [self.library_loader]
        if self.shop_loader is not None:
            loaders.insert(0, self.shop_loader)
        env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html",), default_for_string=False
            ),
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # Checked once at wiring, then used as checked (SPEC T1).
            auto_reload=False,
            cache_size=-1,
        )
        env.policies["ext.i18n.trimmed"] = True
        helpers = _filters_and_callables()
        env.install_gettext_callables(  # type: ignore[attr-defined]
            helpers.pop("gettext"),
            helpers.pop("ngettext"),
            newstyle=True,
            pgettext=helpers.pop("pgettext"),
            npgettext=helpers.pop("npgettext"),
        )
        env.filters.update(helpers)
        self.environment = env

    def render(self, name: str, context: Mapping[str, object]) -> str:
        """Return the template *name* rendered with *context*.

        *context* holds ``language`` (the catalogue used) and ``timezone``
        (for dates), besides the template's own variables.

        Raises:
            TemplateError: The template is missing, does not parse, or uses
                something *context* does not give; the message names it.
        """
        import jinja2  # noqa: PLC0415 (already loaded by __init__)

        try:
            return self.environment.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as exc:
            where = exc.name or exc.filename or name
            raise TemplateError([(where, f"line {exc.lineno}: {exc.message}")]) from exc
        except jinja2.TemplateNotFound as exc:
            raise TemplateError([(name, f"template {exc.name!r} not found")]) from exc
        except (jinja2.TemplateError, TypeError, ValueError, KeyError) as exc:
            raise TemplateError([(name, _reason(exc))]) from exc

    def shop_templates(self) -> list[str]:
        """Return the names of the shop's templates, when its loader can list them."""
        if self.shop_loader is None:
            return []
        try:
            names = self.shop_loader.list_templates()
        except TypeError:  # a loader that cannot list what it holds
            return []
        return [n for n in names if n.endswith(TEMPLATE_SUFFIXES)]

    def compile(self, name: str) -> None:
        """Load and compile the template *name*, raising :class:`TemplateError`."""
        import jinja2  # noqa: PLC0415

        try:
            self.environment.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                [(exc.name or name, f"line {exc.lineno}: {exc.message}")]
            ) from exc
        except jinja2.TemplateError as exc:
            raise TemplateError([(name, _reason(exc))]) from exc


def _reason(exc: Exception) -> str:
    """Say what went wrong, with the file and line of the template that failed."""
    where = None
    trace = exc.__traceback__
    while trace is not None:
        # Jinja2 rewrites tracebacks so that template frames point to the
        # template's file and line, marked by this global.
        if "__jinja_exception__" in trace.tb_frame.f_globals:
            where = (trace.tb_frame.f_code.co_filename, trace.tb_lineno)
        trace = trace.tb_next
    message = str(exc) or type(exc).__name__
    if where is None:
        return message
    return f"{message} (line {where[1]} of {where[0]})"


def _source_key(source: TemplateSource | None) -> object:
    if source is None or not isinstance(source, str | os.PathLike):
        return source
    return str(Path(os.fspath(source)).resolve())


_BUILT: dict[object, Templates] = {}
"""The templates built so far, by source; a shop has one or two."""


def templates_for(source: TemplateSource | None) -> Templates:
    """Return the templates of *source*, built on first use and then kept.

    .. versionadded:: 0.2.0
    """
    key = _source_key(source)
    templates = _BUILT.get(key)
    if templates is None:
        templates = _BUILT.setdefault(key, Templates(source))
    return templates


_BLANK_LINES = re.compile(r"\n{3,}")


def tidy_text(text: str) -> str:
    """Return a plain-text body with tidy lines, wrapped at :data:`TEXT_WIDTH`.

    Trailing spaces go, runs of blank lines become one, and long lines are
    wrapped at spaces only: a link or a temporary password is never cut.

    .. versionadded:: 0.2.0
    """
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.rstrip()
        if stripped.isprintable() and stripped == " ".join(stripped.split()):
            # Words between single spaces: textwrap's greedy filling,
            # without its work (a line that fits is kept as it is).
            lines.extend(_fill(stripped) if len(stripped) > TEXT_WIDTH else [stripped])
            continue
        wrapped = textwrap.wrap(
            stripped,
            width=TEXT_WIDTH,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.extend(wrapped or [""])
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"


def _fill(line: str) -> list[str]:
    """Wrap *line*, words between single spaces, as ``textwrap.wrap`` does.

    Each line takes as many words as fit in :data:`TEXT_WIDTH`; a longer
    word stands alone on its line, never cut.
    """
    words = line.split(" ")
    filled, current = [], words[0]
    for word in words[1:]:
        if len(current) + 1 + len(word) <= TEXT_WIDTH:
            current = f"{current} {word}"
        else:
            filled.append(current)
            current = word
    filled.append(current)
    return filled


def one_line(text: str) -> str:
    """Return *text* on one line, its runs of whitespace made single spaces.

    .. versionadded:: 0.2.0
    """
    return " ".join(text.split())
