"""Sphinx configuration of the echoppe-accounts documentation.

The build runs with ``-n -W``: every cross-reference must resolve and every
warning fails it. The build has no network access, so there is no
intersphinx; references to types outside the project are listed, one module
at a time, in ``nitpick_ignore_regex`` below. References to our own names
are never ignored: a broken one is fixed in the docstring.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import re
import sys
import types

import attrs
import jinja2
from sphinx.application import Sphinx
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.inspect import object_description

import echoppe_accounts
from echoppe_accounts.service_layer import settings as _settings_module

project = "echoppe-accounts"
author = "L'Échoppe engineering"
copyright = "L'Échoppe"
version = echoppe_accounts.__version__
release = version

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "myst_parser",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
language = "en"

html_theme = "furo"
html_title = f"echoppe-accounts {release}"

# -- MyST ------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "tasklist"]
myst_heading_anchors = 3

# -- autodoc and napoleon --------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autoclass_content = "class"
python_use_unqualified_type_names = True
# Settings.templates names jinja2.BaseLoader, imported for type checkers only
# (Jinja2 loads when texts are first rendered, not with the package): give
# the module its name so that autodoc resolves every annotation of Settings.
# attrs compiles Settings.__init__ against a copy of the module's globals,
# which is where autodoc evaluates the signature's annotations: the name goes
# there too.
_settings_module.jinja2 = jinja2  # type: ignore[attr-defined]
_settings_module.Settings.__init__.__globals__["jinja2"] = jinja2


def _give_type_checking_names(module: types.ModuleType) -> None:
    """Run *module*'s ``if TYPE_CHECKING:`` imports in its namespace.

    The wiring imports the use cases, the ports and the hasher for type
    checkers only (they load when first used): autodoc evaluates a
    signature's annotations in the module's namespace, and one missing name
    leaves every annotation of the signature unresolved.
    """
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            block = ast.Module(body=node.body, type_ignores=[])
            exec(compile(block, str(module.__file__), "exec"), vars(module))  # noqa: S102


# The package exports the function bootstrap under the module's name.
_give_type_checking_names(importlib.import_module("echoppe_accounts.bootstrap"))
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# -- nitpicky references ---------------------------------------------------
# Types of the standard library appear in signatures. Without intersphinx
# they cannot resolve; each pattern names one external module only, never
# echoppe_accounts. (typing names resolve on their own.)
nitpick_ignore_regex = [
    # datetime and timedelta: timestamps, lifetimes, delays (standard library)
    (r"py:class", r"datetime\..*"),
    # Callable, Iterable, Mapping, Sequence in signatures (standard library)
    (r"py:class", r"collections\.abc\..*"),
    # StrEnum, the base of the enumerations (standard library)
    (r"py:class", r"enum\..*"),
    # Path, for database and mailbox locations (standard library)
    (r"py:class", r"pathlib\..*"),
    # Connection, returned by SQLiteStore.connect (standard library)
    (r"py:class", r"sqlite3\..*"),
    # the test mailer's lock; threading.Lock is _thread's (standard library)
    (r"py:class", r"_thread\..*"),
    # Event, the stop flag of OutboxWorker (standard library)
    (r"py:class", r"threading\..*"),
    # PostgresStore.pool and its connections (psycopg, the postgres extra)
    (r"py:class", r"psycopg\..*"),
    (r"py:class", r"psycopg_pool\..*"),
    # ZoneInfo, the shop's zone of PrestaShopSource (standard library)
    (r"py:class", r"zoneinfo\..*"),
    # SSLContext, the TLS settings of SMTPMailer (standard library)
    (r"py:class", r"ssl\..*"),
    # Settings.templates: a folder (os.PathLike) or a Jinja2 loader
    (r"py:class", r"os\..*"),
    (r"py:class", r"jinja2\..*"),
    # The JSON API (the fastapi extra): the app it returns, its requests,
    # and the proxies' networks of ApiSettings (standard library)
    (r"py:class", r"fastapi\..*"),
    (r"py:class", r"starlette\..*"),
    (r"py:class", r"ipaddress\..*"),
    # The one exception to "never echoppe_accounts": the type variables of
    # retry_on_conflict's overloads, which stand for the parameters and the
    # result of the function it wraps; they are not API, nothing to link to.
    (r"py:class", r"P|echoppe_accounts\.service_layer\.retry\.R"),
]

_logger = logging.getLogger(__name__)

# -- re-exported constants keep their docstrings -----------------------------
# autodoc reads the docstring of a constant from the module it documents; for
# a constant re-exported by the package that is the docstring of the value's
# type (int, str, CategoryPolicy). Use the one written where it is defined.


def _defining_docstring(name: str, obj: object) -> list[str] | None:
    """Return the docstring written under *name* where *obj* is defined."""
    for modname in sorted(sys.modules):
        if not modname.startswith("echoppe_accounts."):
            continue
        if getattr(sys.modules[modname], name, None) is not obj:
            continue
        with contextlib.suppress(PycodeError):
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
            if ("", name) in docs:
                return list(docs["", name])
    return None


def _reexported_data_doc(  # noqa: PLR0917 (Sphinx passes them by position)
    app: Sphinx,
    what: str,
    name: str,
    obj: object,
    options: object,
    lines: list[str],
) -> None:
    """Replace a constant's borrowed type docstring by its own, or by nothing."""
    del app, options
    if what != "data" or not name.startswith("echoppe_accounts."):
        return
    lines[:] = _defining_docstring(name.rpartition(".")[2], obj) or []


# -- defaults that are public constants are shown by name ---------------------
# Settings.category_policy defaults to DEFAULT_POLICY, whose repr (a mapping of
# enum reprs) is long and not Python, so it would break the signature.


def _named_defaults(  # noqa: PLR0917 (Sphinx passes them by position)
    app: Sphinx,
    what: str,
    name: str,
    obj: object,
    options: object,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str | None, str | None]:
    """Replace the repr of a public attrs-instance constant by its name."""
    del app, what, name, obj, options
    if signature:
        for public in echoppe_accounts.__all__:
            value = getattr(echoppe_accounts, public)
            if attrs.has(type(value)):
                signature = signature.replace(object_description(value), public)
    return signature, return_annotation


# -- attribute docstrings never start with a type ----------------------------
# In Google style, an attribute docstring may start with "type: text", so
# napoleon reads "Complete: the customer can log in." as of type "Complete".
# Our types come from annotations: such a first line is a wording to fix.


def _no_inline_type(  # noqa: PLR0917 (Sphinx passes them by position)
    app: Sphinx,
    what: str,
    name: str,
    obj: object,
    options: object,
    lines: list[str],
) -> None:
    """Warn when napoleon took the start of a docstring for a type."""
    del app, obj, options
    if what not in {"attribute", "property", "data"}:
        return
    if name.startswith("echoppe_accounts") and any(
        line.startswith(":type:") for line in lines
    ):
        _logger.warning(
            "the docstring of %s starts with 'text:', read as a type; reword it",
            name,
        )


# -- rule ids link to the rules page -----------------------------------------
# Docstrings and pages cite the rules of the specification by id: "SPEC R6",
# "SPEC P1–P4, R1", or bare in parentheses, "(X5)", "(R1, R6)". Each id
# becomes a reference to its anchor on the rules page, ``(rule-R6)=``, so a
# rule cited but not documented there fails the build (-n). Code is left
# alone: doctest lines and literal blocks of docstrings, fenced blocks and
# inline code of pages.

_RULE = r"[CFXAPRNGOT](?:10|[1-9])"
_RULE_LIST = rf"{_RULE}(?:(?:, | and |–| to ){_RULE})*"
_CITATION = re.compile(rf"\bSPEC ({_RULE_LIST})\b|(?<=\()({_RULE_LIST})(?=[),;:])")
_ONE_RULE = re.compile(rf"\b{_RULE}\b")


def _link_rules(text: str, role: str) -> str:
    """Return *text* with every cited rule id made a reference to its anchor."""

    def link_list(found: re.Match[str]) -> str:
        prefix = "SPEC " if found.group(1) else ""
        ids = _ONE_RULE.sub(
            lambda rule: role.format(id=rule.group()), found.group(1) or found.group(2)
        )
        return prefix + ids

    return _CITATION.sub(link_list, text)


def _rule_links_in_docstring(  # noqa: PLR0917 (Sphinx passes them by position)
    app: Sphinx,
    what: str,
    name: str,
    obj: object,
    options: object,
    lines: list[str],
) -> None:
    """Link the rule ids of a docstring, outside its code."""
    del app, what, name, obj, options
    literal_indent: int | None = None
    for number, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not line.strip() or indent > literal_indent:
                continue
            literal_indent = None
        stripped = line.strip()
        if stripped.startswith((">>>", "...")):
            continue
        if stripped.endswith("::") or stripped.startswith(".. code"):
            literal_indent = indent
        lines[number] = _link_rules(line, ":ref:`{id} <rule-{id}>`")


_FENCE = re.compile(r"^(```|~~~)")
_INLINE_CODE = re.compile(r"(`+).+?\1")
_PAGE_ROLE = "{{ref}}`{id} <rule-{id}>`"


def _link_rules_outside_code(line: str) -> str:
    """Link the rule ids of a line of Markdown, leaving its inline code alone."""
    pieces, last = [], 0
    for code in _INLINE_CODE.finditer(line):
        pieces += [_link_rules(line[last : code.start()], _PAGE_ROLE), code.group()]
        last = code.end()
    return "".join([*pieces, _link_rules(line[last:], _PAGE_ROLE)])


def _link_rules_in_markdown(text: str) -> str:
    """Link the rule ids of a Markdown text, outside its fenced blocks."""
    out, fence = [], None
    for line in text.split("\n"):
        opening = _FENCE.match(line.lstrip())
        if fence is None and opening:
            fence = opening.group(1)
            out.append(line)
        elif fence is not None and line.lstrip().startswith(fence):
            fence = None
            out.append(line)
        elif fence is None:
            out.append(_link_rules_outside_code(line))
        else:
            out.append(line)
    return "\n".join(out)


def _rule_links_in_page(app: Sphinx, docname: str, source: list[str]) -> None:
    """Link the rule ids of a page; the rules page names its own in headings."""
    del app
    if docname != "rules":
        source[0] = _link_rules_in_markdown(source[0])


def _rule_links_in_include(
    app: Sphinx,
    path: object,
    parent: str,
    content: list[str],
) -> None:
    """Link the rule ids of an included file (the changelog)."""
    del app, path, parent
    content[0] = _link_rules_in_markdown(content[0])


# -- every public name is documented -----------------------------------------


def _check_public_api(app: Sphinx, env: object) -> None:
    """Warn (so fail under -W) when a name of ``__all__`` has no entry."""
    del env
    documented = app.env.domains.python_domain.objects
    for name in echoppe_accounts.__all__:
        if f"echoppe_accounts.{name}" not in documented:
            _logger.warning("echoppe_accounts.%s is not in the API reference", name)


def setup(app: Sphinx) -> None:
    """Register the docstring fixes, the rule links and the checks."""
    app.connect("autodoc-process-docstring", _reexported_data_doc, priority=400)
    app.connect("autodoc-process-docstring", _no_inline_type, priority=600)
    app.connect("autodoc-process-docstring", _rule_links_in_docstring, priority=700)
    app.connect("source-read", _rule_links_in_page)
    app.connect("include-read", _rule_links_in_include)
    app.connect("autodoc-process-signature", _named_defaults)
    app.connect("env-check-consistency", _check_public_api)
