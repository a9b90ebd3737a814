"""argparse's own texts in the command's language (SPEC O4, T1).

argparse writes its usage lines, section titles and errors with the gettext
functions of its own module (``argparse._`` and ``argparse.ngettext``),
which read the process's default domain. :func:`speaking` puts the
library's catalogue of a language in their place while a parser works, so
``echoppe-accounts --lang fr`` says « utilisation : » and « les arguments
suivants sont obligatoires », not "usage:" and "the following arguments
are required".

The messages below are argparse's, as Python 3.11 to 3.13 write them,
listed so that ``make messages`` puts them in the catalogues. A text a
later Python adds stays English until it is listed here.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from echoppe_accounts.domain.i18n import gettext_noop, ngettext_noop, translation

MESSAGES = (
    gettext_noop("usage: "),
    gettext_noop("positional arguments"),
    gettext_noop("options"),
    gettext_noop("show this help message and exit"),
    gettext_noop("show program's version number and exit"),
    # Translators: how argparse ends with an error; keep the final line break.
    gettext_noop("%(prog)s: error: %(message)s\n"),
    gettext_noop("the following arguments are required: %s"),
    gettext_noop("one of the arguments %s is required"),
    gettext_noop("unrecognized arguments: %s"),
    gettext_noop("invalid choice: %(value)r (choose from %(choices)s)"),
    gettext_noop("unknown parser %(parser_name)r (choices: %(choices)s)"),
    gettext_noop("argument %(argument_name)s: %(message)s"),
    gettext_noop("invalid %(type)s value: %(value)r"),
    gettext_noop("expected one argument"),
    gettext_noop("expected at least one argument"),
    gettext_noop("expected at most one argument"),
    gettext_noop("not allowed with argument %s"),
    gettext_noop("ignored explicit argument %r"),
    gettext_noop("ambiguous option: %(option)s could match %(matches)s"),
    gettext_noop("can't open '%(filename)s': %(error)s"),
    gettext_noop("option '%(option)s' is deprecated"),
    gettext_noop("argument '%(argument_name)s' is deprecated"),
    gettext_noop("command '%(parser_name)s' is deprecated"),
)
"""argparse's messages for its users (not those for a parser's programmer)."""

PLURALS = (ngettext_noop("expected %s argument", "expected %s arguments", "nargs"),)
"""argparse's messages with a plural."""


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Let argparse write its own texts in *language* while in the block.

    The swap is process-wide, as argparse's gettext is: the command line
    parses its arguments in its main thread, before any other starts.
    """
    texts = translation(language)
    module = vars(argparse)
    saved = module["_"], module["ngettext"]
    module["_"], module["ngettext"] = texts.gettext, texts.ngettext
    try:
        yield
    finally:
        module["_"], module["ngettext"] = saved
