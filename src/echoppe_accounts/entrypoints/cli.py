"""The ``echoppe-accounts`` command: staff and operators' tools (SPEC O4).

Installed as the ``echoppe-accounts`` console script and runnable as
``python -m echoppe_accounts``. Every command and subcommand has ``--help``.
Messages are in French unless ``--lang en`` is given or the locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``) is English.

The database is one URL (``--db`` or ``ECHOPPE_DATABASE_URL``); everything
else, secrets included, comes from the environment
(:mod:`echoppe_accounts.entrypoints.config`). A password in ``--db`` is
refused: the command line is visible to every user of the machine.

Exit codes:

- 0: success;
- 1: the user's mistake (invalid input, unknown account, refused
  confirmation, missing or invalid configuration, lines refused by an
  import), said in one sentence;
- 2: wrong usage of the command (argparse's);
- 69: a service is unavailable for now, the database or the mail server
  (``EX_UNAVAILABLE``): try again later;
- 70: an internal error (``EX_SOFTWARE``); ``--debug`` shows the traceback;
- 130: interrupted with Ctrl-C.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import stat
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import attrs

from echoppe_accounts._files import UnsafeFileError, write_private
from echoppe_accounts._version import __version__
from echoppe_accounts.domain.analytics import EVENT_MONTHS, RetentionPolicy
from echoppe_accounts.domain.errors import (
    AuthenticationError,
    ConcurrencyError,
    DeliveryError,
    Language,
    NotFoundError,
    StorageError,
    ValidationError,
)
from echoppe_accounts.entrypoints import _keys, _signals, _startup
from echoppe_accounts.entrypoints._argparse_texts import speaking
from echoppe_accounts.entrypoints.config import (
    ConfigurationError,
    DatabaseURL,
    Deployment,
    Environment,
    analytics_sink,
    open_database,
)
from echoppe_accounts.service_layer.worker import DEFAULT_BATCH_SIZE, OutboxWorker

if TYPE_CHECKING:
    # Imported by the commands that use them: `--help` and `--version` load
    # no database driver and no template (issue 22).
    from echoppe_accounts.bootstrap import App
    from echoppe_accounts.domain.account import Account
    from echoppe_accounts.entrypoints.csv_import import ImportSummary

PROG = "echoppe-accounts"
"""The command's name, as installed."""

EXIT_OK = 0
"""Success."""
EXIT_USER = 1
"""The user's mistake: invalid input, unknown account, refused confirmation."""
EXIT_USAGE = 2
"""Wrong usage of the command line (argparse's own code)."""
EXIT_UNAVAILABLE = 69
"""A service (database, mail server) is unavailable; retry later (EX_UNAVAILABLE)."""
EXIT_INTERNAL = 70
"""An internal error (EX_SOFTWARE)."""
EXIT_INTERRUPTED = 130
"""Interrupted by Ctrl-C (128 + SIGINT)."""

logger = logging.getLogger("echoppe_accounts.cli")


class UserError(Exception):
    """A mistake of the command's user, said in one sentence (exit code 1).

    .. versionadded:: 0.2.0
    """

    def __init__(self, message: str) -> None:
        """Carry *message*, already in the user's language."""
        self.text = message
        super().__init__(message)


@attrs.frozen
class _Texts:
    """Picks the French or English version of each text."""

    lang: Language

    def __call__(self, french: str, english: str) -> str:
        return french if self.lang == "fr" else english

    def count(self, n: int, french: tuple[str, str], english: tuple[str, str]) -> str:
        """Return ``"{n} thing(s)"`` with the plural rule of the language."""
        if self.lang == "fr":
            return f"{n} {french[0] if n <= 1 else french[1]}"
        return f"{n} {english[0] if n == 1 else english[1]}"


def _language(argv: Sequence[str], environ: dict[str, str]) -> Language:
    """Return the language asked by ``--lang``, else the locale's, else French."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        else:
            continue
        return "en" if value == "en" else "fr"
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        locale = environ.get(name)
        if locale:
            return "en" if locale.startswith("en") else "fr"
    return "fr"


# -- the parser ------------------------------------------------------------------


def _db_url(t: _Texts) -> Callable[[str], DatabaseURL]:
    def parse(value: str) -> DatabaseURL:
        try:
            url = DatabaseURL.parse(value)
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(exc.message(t.lang)) from exc
        if url.has_password:
            raise argparse.ArgumentTypeError(
                t(
                    "pas de mot de passe dans --db (la ligne de commande est "
                    "visible de tous) : utilisez PGPASSWORD, ~/.pgpass ou "
                    "ECHOPPE_DATABASE_URL",
                    "no password in --db (the command line is visible to every "
                    "user): use PGPASSWORD, ~/.pgpass or ECHOPPE_DATABASE_URL",
                )
            )
        return url

    return parse


def _positive_int(t: _Texts, most: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number >= 1 and (most is None or number <= most):
            return number
        if most is None:
            message = t(
                f"« {value} » n’est pas un nombre entier positif",
                f"{value!r} is not a positive whole number",
            )
        else:
            message = t(
                f"« {value} » n’est pas un nombre entier entre 1 et {most}",
                f"{value!r} is not a whole number between 1 and {most}",
            )
        raise argparse.ArgumentTypeError(message)

    return parse


_MAX_IDLE = 3600.0
"""The longest idle wait a worker may be given, in seconds."""


def _seconds(t: _Texts) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = 0.0
        # Not "number <= 0": NaN must be refused too.
        if not 0 < number <= _MAX_IDLE:
            raise argparse.ArgumentTypeError(
                t(
                    f"« {value} » n’est pas une durée en secondes entre 0 et "
                    f"{_MAX_IDLE:g}",
                    f"{value!r} is not a number of seconds between 0 and {_MAX_IDLE:g}",
                )
            )
        return number

    return parse


def _moment(t: _Texts) -> Callable[[str], datetime]:
    def parse(value: str) -> datetime:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                t(
                    f"« {value} » n’est pas une date ISO 8601 (2026-11-25 ou "
                    "2026-11-25T15:07)",
                    f"{value!r} is not an ISO 8601 date (2026-11-25 or "
                    "2026-11-25T15:07)",
                )
            ) from None
        # A bare date means its midnight; a time without zone is UTC.
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return parse


def _common(texts: _Texts, *, defaults: bool) -> _Parser:
    """Return the options accepted before and after the command's name."""
    # On subcommands the defaults are suppressed, so that an option given
    # before the command's name is not reset by the subcommand's parser;
    # their help too, so that a command's help shows its own options (the
    # command's --help shows these).
    common = _Parser(add_help=False, language=texts.lang)
    default = None if defaults else argparse.SUPPRESS

    def t(french: str, english: str) -> str:
        return texts(french, english) if defaults else argparse.SUPPRESS

    common.add_argument(
        "--db",
        metavar="URL",
        type=_db_url(texts),
        default=default,
        help=t(
            "la base de données : sqlite:///chemin ou postgresql://… (par défaut "
            "ECHOPPE_DATABASE_URL, sinon sqlite:///echoppe.sqlite3)",
            "the database: sqlite:///path or postgresql://… (default: "
            "ECHOPPE_DATABASE_URL, else sqlite:///echoppe.sqlite3)",
        ),
    )
    common.add_argument(
        "--lang",
        choices=("fr", "en"),
        default=default,
        help=t(
            "la langue des messages (par défaut celle de LANG, sinon le français)",
            "the language of messages (default: LANG's, else French)",
        ),
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help=t(
            "journaux détaillés, et la trace d’une erreur interne",
            "detailed logs, and the traceback of an internal error",
        ),
    )
    return common


class _Parser(argparse.ArgumentParser):
    """A parser whose own texts (usage, section titles, errors) are in *language*.

    argparse's texts come from the library's catalogues (SPEC O4, T1), the
    epilog keeps its layout.
    """

    def __init__(self, *args: Any, language: Language = "fr", **kwargs: Any) -> None:  # noqa: ANN401 (argparse.ArgumentParser's own arguments)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self.language = language

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 (the overloads of argparse's)
        with speaking(self.language):
            return super().parse_known_args(*args, **kwargs)

    def parse_args(self, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 (the overloads of argparse's)
        with speaking(self.language):
            return super().parse_args(*args, **kwargs)

    def format_usage(self) -> str:
        with speaking(self.language):
            return super().format_usage()

    def format_help(self) -> str:
        with speaking(self.language):
            return super().format_help()

    def error(self, message: str) -> NoReturn:
        with speaking(self.language):
            super().error(message)


def _help_option(parser: argparse.ArgumentParser, t: _Texts) -> None:
    parser.add_argument(
        "-h",
        "--help",
        action="help",
        help=t("affiche cette aide et s’arrête", "show this help and exit"),
    )


HELP_TOPICS = ("environment",)
"""The topics of ``echoppe-accounts help TOPIC``."""


def _environment(t: _Texts) -> str:
    return t(
        """variables d’environnement :
  ECHOPPE_DATABASE_URL     la base (sqlite:///chemin, postgresql://…)
  ECHOPPE_DATABASE_SCHEMA  le schéma PostgreSQL (echoppe_accounts)
  ECHOPPE_SMTP_URL         smtp://utilisateur@hôte:587 (STARTTLS),
                           smtps://utilisateur@hôte:465 (TLS) ;
                           sans elle, les e-mails vont dans ECHOPPE_MAILDIR
  ECHOPPE_SMTP_PASSWORD    le mot de passe SMTP
  ECHOPPE_MAILDIR          dossier Maildir de développement (mailbox)
  ECHOPPE_BASE_URL         l’adresse de la boutique, pour les liens des e-mails
  ECHOPPE_SHOP_NAME        le nom de la boutique (par défaut l’hôte de
                           ECHOPPE_BASE_URL)
  ECHOPPE_SENDER           l’expéditeur des e-mails
  ECHOPPE_OUTBOX_KEY       la clé qui scelle les secrets des e-mails en attente
  ECHOPPE_ANALYTICS_DATABASE_URL  la base SQLite des statistiques d’audience
  ECHOPPE_PRESTASHOP_PASSWORD  le mot de passe de la base PrestaShop que lit
                           import prestashop""",
        """environment variables:
  ECHOPPE_DATABASE_URL     the database (sqlite:///path, postgresql://…)
  ECHOPPE_DATABASE_SCHEMA  the PostgreSQL schema (echoppe_accounts)
  ECHOPPE_SMTP_URL         smtp://user@host:587 (STARTTLS),
                           smtps://user@host:465 (TLS);
                           without it, mails go to ECHOPPE_MAILDIR
  ECHOPPE_SMTP_PASSWORD    the SMTP password
  ECHOPPE_MAILDIR          a development Maildir folder (mailbox)
  ECHOPPE_BASE_URL         the shop's URL, for the links in mails
  ECHOPPE_SHOP_NAME        the shop's name (default: the host of
                           ECHOPPE_BASE_URL)
  ECHOPPE_SENDER           the sender of mails
  ECHOPPE_OUTBOX_KEY       the key sealing the secrets of pending mails
  ECHOPPE_ANALYTICS_DATABASE_URL  the SQLite database of audience measurement
  ECHOPPE_PRESTASHOP_PASSWORD  the password of the PrestaShop database that
                           import prestashop reads""",
    )


def _pointer(t: _Texts) -> str:
    """The end of every command's help: where the rest is said."""
    return t(
        f"options communes (--db, --lang, --debug) et codes de sortie : {PROG} "
        f"--help\nvariables d’environnement : {PROG} help environment",
        f"common options (--db, --lang, --debug) and exit codes: {PROG} --help\n"
        f"environment variables: {PROG} help environment",
    )


def _epilog(t: _Texts) -> str:
    return t(
        f"""\
codes de sortie :
  0   succès
  1   erreur de l’utilisateur (saisie, compte introuvable, confirmation refusée,
      configuration)
  2   mauvais usage de la commande
  69  service indisponible (base de données, serveur d’e-mail) : réessayez
  70  erreur interne (--debug montre la trace)

variables d’environnement : {PROG} help environment""",
        f"""\
exit codes:
  0   success
  1   the user's mistake (input, unknown account, refused confirmation,
      configuration)
  2   wrong usage of the command
  69  a service is unavailable (database, mail server): try again
  70  internal error (--debug shows the traceback)

environment variables: {PROG} help environment""",
    )


Subcommands = argparse._SubParsersAction  # noqa: SLF001 (argparse names it so)


@attrs.frozen
class _Builder:
    """Adds commands to the parser, each with the common options and epilog."""

    t: _Texts
    common: _Parser
    prog: str = PROG

    def command(
        self,
        parent: Subcommands[_Parser],
        name: str,
        summary: str,
        handler: Callable[[_Context, argparse.Namespace], int] | None = None,
        *,
        links: bool = False,
    ) -> _Parser:
        """Add the command *name*; *links* if it writes mails with links."""
        sub = parent.add_parser(
            name,
            help=summary,
            description=summary,
            parents=[self.common],
            epilog=_pointer(self.t),
            add_help=False,
            language=self.t.lang,
        )
        _help_option(sub, self.t)
        if handler is not None:
            sub.set_defaults(handler=handler, parser=sub, links=links)
        return sub

    def group(
        self, parent: Subcommands[_Parser], name: str, summary: str
    ) -> Subcommands[_Parser]:
        """Add the command *name*, made of subcommands."""
        return self.command(parent, name, summary).add_subparsers(
            dest=f"{name}_command",
            required=True,
            metavar=self.t("SOUS-COMMANDE", "SUBCOMMAND"),
        )

    def account_selector(
        self, parser: argparse.ArgumentParser, *, positional: bool
    ) -> None:
        """Add the account's id (positional or ``--account``) and ``--email``."""
        t = self.t
        what = t("l’identifiant du compte", "the account's id")
        if positional:
            parser.add_argument(
                "account_id", nargs="?", metavar=t("ID_COMPTE", "ACCOUNT_ID"), help=what
            )
        else:
            parser.add_argument("--account", dest="account_id", metavar="ID", help=what)
        parser.add_argument(
            "--email",
            metavar=t("E-MAIL", "EMAIL"),
            help=t(
                "désigne le compte par son adresse e-mail, au lieu de son identifiant",
                "select the account by its email address instead of its id",
            ),
        )


def _add_operations(b: _Builder, commands: Subcommands[_Parser]) -> None:
    t = b.t
    b.command(
        commands,
        "init",
        t(
            "crée le schéma de la base, ou le met à jour",
            "create the database schema, or bring it up to date",
        ),
        _init,
    )
    demo = b.command(
        commands,
        "demo",
        t(
            "visite guidée sur un fichier SQLite et une boîte Maildir dans DOSSIER "
            "(ignore --db)",
            "a guided tour on a SQLite file and a Maildir in FOLDER (ignores --db)",
        ),
        _demo,
    )
    demo.add_argument(
        "folder",
        nargs="?",
        default=Path("demo-data"),
        type=Path,
        metavar=t("DOSSIER", "FOLDER"),
        help=t("le dossier (demo-data par défaut)", "the folder (default demo-data)"),
    )
    worker = b.command(
        commands,
        "worker",
        t(
            "envoie les e-mails de l’outbox en continu ; s’arrête proprement sur "
            "SIGTERM ou Ctrl-C",
            "deliver the outbox's mails continuously; stop cleanly on SIGTERM or "
            "Ctrl-C",
        ),
        _worker,
    )
    worker.add_argument(
        "--once",
        action="store_true",
        help=t("un seul tour d’envoi, puis s’arrête", "run one round, then stop"),
    )
    worker.add_argument(
        "--batch-size",
        type=_positive_int(t, 1000),
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=t(
            "e-mails par tour (%(default)s) : un petit lot s’arrête vite",
            "mails per round (%(default)s): a small batch stops quickly",
        ),
    )
    worker.add_argument(
        "--max-idle",
        type=_seconds(t),
        default=30.0,
        metavar=t("SECONDES", "SECONDS"),
        help=t(
            "l’attente maximale entre deux tours à vide (%(default)s s)",
            "the longest wait between empty rounds (%(default)s s)",
        ),
    )


def _add_outbox(b: _Builder, commands: Subcommands[_Parser]) -> None:
    t = b.t
    outbox = b.group(
        commands,
        "outbox",
        t("état de l’outbox et lettres mortes", "the outbox's state and dead letters"),
    )
    status = b.command(
        outbox,
        "status",
        t(
            "e-mails en attente, le plus ancien dû, lettres mortes",
            "pending mails, the oldest due, dead letters",
        ),
        _outbox_status,
    )
    status.add_argument(
        "--json",
        action="store_true",
        help=t("en JSON, pour un contrôle de santé", "as JSON, for a health check"),
    )
    dead = b.command(
        outbox,
        "dead",
        t("liste les lettres mortes", "list the dead letters"),
        _outbox_dead,
    )
    dead.add_argument(
        "--limit",
        type=_positive_int(t),
        default=100,
        metavar="N",
        help=t("au plus N (%(default)s)", "at most N (%(default)s)"),
    )
    dead.add_argument("--json", action="store_true", help=t("en JSON", "as JSON"))
    requeue = b.command(
        outbox,
        "requeue",
        t(
            "remet des lettres mortes en file d’envoi",
            "put dead letters back in the queue",
        ),
        _outbox_requeue,
    )
    requeue.add_argument(
        "ids",
        nargs="*",
        metavar="ID",
        help=t("les identifiants des e-mails", "the mails' ids"),
    )
    requeue.add_argument(
        "--all",
        action="store_true",
        help=t("toutes les lettres mortes", "every dead letter"),
    )
    purge = b.command(
        outbox,
        "purge",
        t("supprime des lettres mortes", "delete dead letters"),
        _outbox_purge,
    )
    purge.add_argument(
        "--before",
        type=_moment(t),
        metavar="DATE",
        help=t(
            "seulement celles mortes avant DATE (ISO 8601, UTC par défaut) ; "
            "toutes sinon",
            "only those dead before DATE (ISO 8601, UTC by default); all otherwise",
        ),
    )
    b.command(
        outbox,
        "rotate-key",
        t(
            "change la clé des e-mails en file (l’ancienne les ouvre encore)",
            "change the key sealing queued mails (the previous one still opens them)",
        ),
        _outbox_rotate_key,
    )


def _agent_and_reason(parser: argparse.ArgumentParser, t: _Texts) -> None:
    """Add the required ``--agent`` and ``--reason`` of customer service's steps."""
    parser.add_argument(
        "--agent",
        required=True,
        metavar="AGENT",
        help=t("l’identifiant de l’agent (obligatoire)", "the agent's id (required)"),
    )
    parser.add_argument(
        "--reason",
        required=True,
        metavar=t("TEXTE", "TEXT"),
        help=t("le motif (obligatoire)", "the reason (required)"),
    )


def _add_customers(b: _Builder, commands: Subcommands[_Parser]) -> None:
    t = b.t
    support = b.group(
        commands, "support", t("outils du service clients", "customer-service tools")
    )
    provisional = b.command(
        support,
        "provisional-password",
        t(
            "donne un mot de passe provisoire (1 heure) à lire au client, qui devra "
            "en choisir un nouveau ; l’agent et le motif sont journalisés",
            "issue a provisional password (1 hour) to read to the customer, who "
            "must then choose a new one; the agent and reason are audited",
        ),
        _provisional_password,
        links=True,
    )
    b.account_selector(provisional, positional=False)
    _agent_and_reason(provisional, t)
    disable = b.command(
        support,
        "disable",
        t(
            "désactive un compte : plus de connexion ni de lien de "
            "réinitialisation, ses sessions et liens en cours prennent fin ; "
            "l’agent et le motif sont journalisés",
            "disable an account: no more login nor reset link, its sessions "
            "and pending links end; the agent and reason are audited",
        ),
        _disable,
    )
    b.account_selector(disable, positional=False)
    _agent_and_reason(disable, t)
    enable = b.command(
        support,
        "enable",
        t(
            "réactive un compte désactivé ; l’agent et le motif sont journalisés",
            "enable a disabled account again; the agent and reason are audited",
        ),
        _enable,
    )
    b.account_selector(enable, positional=False)
    _agent_and_reason(enable, t)
    export = b.command(
        commands,
        "export",
        t(
            "« Mes données » : tout ce qui est conservé sur un client",
            "“Mes données”: everything held about a customer",
        ),
        _export,
    )
    b.account_selector(export, positional=True)
    export.add_argument(
        "--format",
        choices=("json", "html"),
        help=t(
            "json (par défaut) ou html (selon l’extension de --output)",
            "json (the default) or html (from the --output extension)",
        ),
    )
    export.add_argument(
        "--output",
        type=Path,
        metavar=t("FICHIER", "FILE"),
        help=t(
            "écrit dans FICHIER (lisible du seul propriétaire) au lieu de la sortie",
            "write to FILE (readable by its owner only) instead of stdout",
        ),
    )
    erase = b.command(
        commands,
        "erase",
        t(
            "efface un compte (RGPD) ; seules restent les données des factures",
            "erase an account (GDPR); only what invoices need is kept",
        ),
        _erase,
    )
    b.account_selector(erase, positional=True)
    erase.add_argument(
        "--yes",
        action="store_true",
        help=t(
            "ne demande pas de confirmation (scripts)",
            "do not ask for confirmation (scripts)",
        ),
    )
    erase.add_argument(
        "--agent",
        metavar="AGENT",
        help=t(
            "l’agent qui efface, pour le journal d’audit",
            "the agent erasing, for the audit trail",
        ),
    )


def _add_data(b: _Builder, commands: Subcommands[_Parser]) -> None:
    t = b.t
    analytics = b.group(
        commands, "analytics", t("mesure d’audience", "audience measurement")
    )
    purge = b.command(
        analytics,
        "purge",
        t(
            "supprime les événements plus vieux que la durée de conservation",
            "delete the events older than the retention period",
        ),
        _analytics_purge,
    )
    purge.add_argument(
        "--months",
        type=_positive_int(t, EVENT_MONTHS),
        default=EVENT_MONTHS,
        metavar="N",
        help=t(
            "durée de conservation en mois, au plus %(default)s (CNIL)",
            "the retention period in months, at most %(default)s (CNIL)",
        ),
    )
    importer = b.command(
        commands,
        "import",
        t(
            "importe des clients depuis un fichier CSV (idempotent) ; ou, avec "
            "import prestashop, depuis la base d’une boutique PrestaShop",
            "import customers from a CSV file (idempotent); or, with import "
            "prestashop, from a PrestaShop shop's database",
        ),
        _import,
        links=True,
    )
    importer.add_argument(
        "file",
        type=Path,
        metavar=t("FICHIER", "FILE"),
        help=t("le fichier CSV", "the CSV file"),
    )
    importer.add_argument(
        "--report",
        type=Path,
        metavar=t("FICHIER", "FILE"),
        help=t(
            "le rapport des lignes refusées (par défaut à côté du fichier)",
            "the report of refused lines (default: beside the file)",
        ),
    )
    importer.add_argument(
        "--batch-size",
        type=_positive_int(t),
        default=500,
        metavar="N",
        help=t(
            "clients par transaction (%(default)s)",
            "customers per transaction (%(default)s)",
        ),
    )
    importer.add_argument(
        "--no-progress",
        action="store_true",
        help=t("sans barre de progression", "without a progress bar"),
    )
    _wording_and_guests(importer, t)
    _add_prestashop(b, commands)


def _wording_and_guests(parser: _Parser, t: _Texts) -> None:
    """Add ``--newsletter-wording`` and ``--invite-guests`` (SPEC F7, M2)."""
    parser.add_argument(
        "--newsletter-wording",
        metavar="VERSION",
        help=t(
            "la version du texte de consentement à la lettre d’information que "
            "montrait la boutique (SPEC F7) ; requise dès qu’un client abonné "
            "vient sans la sienne",
            "the version of the newsletter consent text the shop showed (SPEC "
            "F7); required as soon as a subscribed customer comes without one",
        ),
    )
    parser.add_argument(
        "--invite-guests",
        action="store_true",
        help=t(
            "envoie aussi aux clients invités (commandes sans compte) le lien "
            "pour choisir un mot de passe ; par défaut ils ne reçoivent rien",
            "also mail guests (orders without an account) the link to choose a "
            "password; by default they receive nothing",
        ),
    )


IMPORT_PRESTASHOP = "import-prestashop"
"""The command name ``import prestashop`` is parsed as (``import FILE`` is kept)."""


def _prestashop_url(t: _Texts) -> Callable[[str], str]:
    def parse(value: str) -> str:
        from echoppe_accounts.adapters.prestashop import (  # noqa: PLC0415
            PrestaShopDatabase,
        )

        try:
            database = PrestaShopDatabase.parse(value)
        except ValidationError as exc:
            raise argparse.ArgumentTypeError(exc.errors[0].message(t.lang)) from exc
        if database.has_password:
            raise argparse.ArgumentTypeError(
                t(
                    "pas de mot de passe dans --database (la ligne de commande est "
                    "visible de tous) : utilisez ECHOPPE_PRESTASHOP_PASSWORD",
                    "no password in --database (the command line is visible to "
                    "every user): use ECHOPPE_PRESTASHOP_PASSWORD",
                )
            )
        return value

    return parse


def _add_prestashop(b: _Builder, commands: Subcommands[_Parser]) -> None:
    """Add ``import prestashop`` (parsed as the hidden ``import-prestashop``)."""
    t = b.t
    summary = t(
        "importe les clients d’une boutique PrestaShop 1.6 à 8, lus dans sa base "
        "MySQL/MariaDB (lecture seule, idempotent)",
        "import the customers of a PrestaShop 1.6 to 8 shop, read from its "
        "MySQL/MariaDB database (read-only, idempotent)",
    )
    shop = commands.add_parser(
        IMPORT_PRESTASHOP,
        prog=f"{b.prog} import prestashop",
        description=summary,
        parents=[b.common],
        epilog=_pointer(t),
        add_help=False,
        language=t.lang,
    )
    _help_option(shop, t)
    shop.set_defaults(handler=_import_prestashop, parser=shop, links=True)
    shop.add_argument(
        "--database",
        required=True,
        type=_prestashop_url(t),
        metavar="URL",
        help=t(
            "la base de la boutique : mysql://utilisateur@hôte:3306/base (un "
            "utilisateur qui n’a que SELECT suffit ; le mot de passe vient de "
            "ECHOPPE_PRESTASHOP_PASSWORD)",
            "the shop's database: mysql://user@host:3306/database (a user with "
            "SELECT only is enough; the password comes from "
            "ECHOPPE_PRESTASHOP_PASSWORD)",
        ),
    )
    shop.add_argument(
        "--prefix",
        default="ps_",
        metavar=t("PRÉFIXE", "PREFIX"),
        help=t(
            "le préfixe des tables (%(default)s)",
            "the tables' prefix (%(default)s)",
        ),
    )
    shop.add_argument(
        "--shop",
        type=_positive_int(t),
        default=1,
        metavar="ID",
        help=t(
            "la boutique (id_shop) d’une base multiboutique (%(default)s)",
            "the shop (id_shop) of a multistore database (%(default)s)",
        ),
    )
    shop.add_argument(
        "--timezone",
        metavar=t("FUSEAU", "ZONE"),
        help=t(
            "le fuseau des dates de la boutique (par défaut son réglage "
            "PS_TIMEZONE, sinon Europe/Paris)",
            "the zone of the shop's dates (default: its PS_TIMEZONE setting, "
            "else Europe/Paris)",
        ),
    )
    _wording_and_guests(shop, t)
    shop.add_argument(
        "--report",
        type=Path,
        metavar=t("FICHIER", "FILE"),
        help=t(
            "le rapport des clients refusés et des changements (par défaut "
            "prestashop-BASE-ID.report.csv dans le dossier courant)",
            "the report of refused customers and changes (default: "
            "prestashop-DATABASE-ID.report.csv in the current folder)",
        ),
    )
    shop.add_argument(
        "--batch-size",
        type=_positive_int(t),
        default=500,
        metavar="N",
        help=t(
            "clients par transaction (%(default)s)",
            "customers per transaction (%(default)s)",
        ),
    )
    shop.add_argument(
        "--no-progress",
        action="store_true",
        help=t("sans barre de progression", "without a progress bar"),
    )


_VALUED = frozenset({"--db", "--lang", "--report", "--batch-size"})
"""Options before a command's first argument that take a value (``--db URL``)."""


def _route(arguments: list[str]) -> list[str]:
    """Spell ``import prestashop …`` as the command it is parsed as.

    ``import FILE`` takes a file's path where ``import prestashop`` names a
    source: the first argument after ``import`` that is not an option (nor
    an option's value) decides. A CSV file named ``prestashop`` is given as
    ``./prestashop``.
    """
    try:
        start = arguments.index("import")
    except ValueError:
        return arguments
    if any(not a.startswith("-") for a in _positionals(arguments[:start])):
        return arguments  # "import" is an option's value or a later argument
    after = arguments[start + 1 :]
    positionals = _positionals(after)
    if positionals[:1] != ["prestashop"]:
        return arguments
    at = start + 1 + after.index("prestashop")
    return [*arguments[:start], IMPORT_PRESTASHOP, *arguments[start + 1 : at],
            *arguments[at + 1 :]]  # fmt: skip


def _positionals(arguments: list[str]) -> list[str]:
    """Return the arguments that are neither options nor their values."""
    found: list[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument in _VALUED:
            skip = True
        elif not argument.startswith("-"):
            found.append(argument)
    return found


def build_parser(lang: Language = "fr", prog: str = PROG) -> argparse.ArgumentParser:
    """Return the command's argument parser, its texts in *lang*.

    .. versionadded:: 0.2.0
    """
    t = _Texts(lang)
    parser = _Parser(
        prog=prog,
        language=lang,
        description=t(
            "Administrer les comptes clients de la boutique : base de données, "
            "envoi des e-mails, service clients, RGPD et import.",
            "Operate the shop's customer accounts: database, mail delivery, "
            "customer service, GDPR and import.",
        ),
        epilog=_epilog(t),
        parents=[_common(t, defaults=True)],
        add_help=False,
    )
    _help_option(parser, t)
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help=t("affiche la version et s’arrête", "show the version and exit"),
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar=t("COMMANDE", "COMMAND"),
        title=t("commandes", "commands"),
    )
    builder = _Builder(t, _common(t, defaults=False), prog)
    _add_operations(builder, commands)
    _add_outbox(builder, commands)
    _add_customers(builder, commands)
    _add_data(builder, commands)
    topic = builder.command(
        commands,
        "help",
        t("aide sur un sujet : environment", "help on a topic: environment"),
        _help,
    )
    topic.add_argument(
        "topic",
        choices=HELP_TOPICS,
        metavar=t("SUJET", "TOPIC"),
        help=t(
            "environment : les variables d’environnement",
            "environment: the environment variables",
        ),
    )
    return parser


# -- running a command -----------------------------------------------------------


@attrs.define
class _Context:
    """What a command works with: texts, streams and the database, opened lazily."""

    t: _Texts
    args: argparse.Namespace
    environment: Environment
    out: TextIO
    err: TextIO
    stdin: TextIO
    _deployment: Deployment | None = None
    _app: App | None = None

    @property
    def url(self) -> DatabaseURL:
        given: DatabaseURL | None = self.args.db
        return given or DatabaseURL.parse(self.environment.database_url)

    def deployment(self) -> Deployment:
        if self._deployment is None:
            self._deployment = open_database(self.url, self.environment)
        return self._deployment

    def app(self) -> App:
        if self._app is None:
            # Commands that write mails with links need ECHOPPE_BASE_URL;
            # only the worker sends mail, and checks the mail server's
            # settings before its first round.
            self._app = self.deployment().app(
                links=self.args.links, send=self.args.command == "worker"
            )
        return self._app

    def say(self, text: str) -> None:
        """Tell the user something, on stderr: stdout is for results."""
        print(text, file=self.err)

    def close(self) -> None:
        if self._deployment is not None:
            self._deployment.close()

    def account(self) -> Account:
        """Return the account named by ``ACCOUNT_ID``/``--account`` or ``--email``."""
        t, args = self.t, self.args
        if (args.account_id is None) == (args.email is None):
            args.parser.error(
                t(
                    "désignez le compte par son identifiant ou par --email "
                    "(l’un des deux)",
                    "name the account by its id or by --email (one of them)",
                )
            )
        app = self.app()
        if args.email is not None:
            found = app.accounts.find_by_email(args.email)
            if found is None:
                raise UserError(
                    t(
                        f"Aucun compte n’a l’adresse e-mail {args.email}.",
                        f"No account has the email address {args.email}.",
                    )
                )
            return found
        try:
            return app.accounts.get(args.account_id)
        except NotFoundError:
            raise UserError(
                t(
                    f"Aucun compte n’a l’identifiant {args.account_id}.",
                    f"No account has the id {args.account_id}.",
                )
            ) from None


def _init(ctx: _Context, _: argparse.Namespace) -> int:
    deployment = ctx.deployment()
    ctx.app()  # with SQLite, makes the outbox key file (configuration folder)
    if deployment.moved_key is not None and deployment.url.path is not None:
        ctx.say(_keys.moved_message(ctx.t, deployment.moved_key, deployment.url.path))
    version = deployment.schema_version()
    ctx.say(
        ctx.t(
            f"Base prête : {deployment.url} (schéma en version {version}).",
            f"Database ready: {deployment.url} (schema version {version}).",
        )
    )
    return EXIT_OK


def _help(ctx: _Context, _: argparse.Namespace) -> int:
    print(_environment(ctx.t), file=ctx.out)
    return EXIT_OK


def _demo(ctx: _Context, args: argparse.Namespace) -> int:
    from echoppe_accounts import demo  # noqa: PLC0415 (imports the whole package)

    demo.run(args.folder, ctx.out)
    return EXIT_OK


@contextmanager
def _quiet_dispatcher(*, debug: bool) -> Iterator[None]:
    """Keep the worker's line the only one per round, unless debugging.

    The dispatcher's own round records say what the worker's line says;
    its warnings about failing mails still show.
    """
    outbox_log = logging.getLogger("echoppe_accounts.outbox")
    previous = outbox_log.level
    if not debug:
        outbox_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        outbox_log.setLevel(previous)


def _worker(ctx: _Context, args: argparse.Namespace) -> int:
    # The handlers come first: a SIGTERM at any moment stops the worker
    # with exit 0, start-up and its waits included (SPEC O4).
    with _signals.stopping() as stop:
        app = _started_worker(ctx, stop, wait=not args.once)
        if app is None:
            logger.info(
                "%s received: stopped during start-up", _signals.received() or "stop"
            )
            return EXIT_OK
        worker = OutboxWorker(
            app.dispatcher.dispatch,
            batch_size=args.batch_size,
            min_idle=min(1.0, args.max_idle),
            max_idle=args.max_idle,
            stop=stop,
            pending=lambda: app.dispatcher.stats().pending,
            # Unverified sign-ups past their 24 hours (SPEC X5), once an hour.
            housekeeping=app.accounts.purge_unverified,
        )
        with _quiet_dispatcher(debug=args.debug):
            if args.once:
                worker.run_once()
                return EXIT_OK
            logger.info(
                "worker started on %s, %d mails per round", ctx.url, args.batch_size
            )
            worker.run()
        if _signals.received():
            logger.info("%s received: stopped", _signals.received())
    return EXIT_OK


def _started_worker(ctx: _Context, stop: threading.Event, *, wait: bool) -> App | None:
    """Open the database and check the mail server, waiting while they are down.

    Returns ``None`` if *stop* is set meanwhile. With *wait* false (``--once``),
    the first failure ends the command, as for any other command.
    """
    if not wait:
        return ctx.app()
    app = _startup.wait_for(f"the database ({ctx.url})", ctx.app, stop)
    if app is None:
        return None
    check = getattr(app.dispatcher.mailer, "check", None)
    if not callable(check):
        return app  # a Maildir, or a shop's mailer: nothing to wait for

    def reached() -> bool:
        check()
        return True

    return app if _startup.wait_for("the mail server", reached, stop) else None


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _outbox_status(ctx: _Context, args: argparse.Namespace) -> int:
    stats = ctx.app().dispatcher.stats()
    if args.json:
        data = {
            "pending": stats.pending,
            "oldest_due": _when(stats.oldest_due),
            "dead": stats.dead,
        }
        print(json.dumps(data), file=ctx.out)
        return EXIT_OK
    t = ctx.t
    oldest = ""
    if stats.oldest_due is not None:
        moment = f"{stats.oldest_due.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        oldest = t(f" (le plus ancien dû le {moment})", f" (the oldest due {moment})")
    print(t(f"en attente : {stats.pending}", f"pending: {stats.pending}") + oldest,
          file=ctx.out)  # fmt: skip
    print(t(f"lettres mortes : {stats.dead}", f"dead letters: {stats.dead}"),
          file=ctx.out)  # fmt: skip
    return EXIT_OK


def _outbox_dead(ctx: _Context, args: argparse.Namespace) -> int:
    letters = ctx.app().dispatcher.dead_letters(limit=args.limit)
    if args.json:
        rows = [
            {
                "id": d.id,
                "kind": d.kind.value,
                "to": d.to,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "dead_at": _when(d.dead_at),
                "created_at": _when(d.created_at),
            }
            for d in letters
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2), file=ctx.out)
        return EXIT_OK
    if not letters:
        ctx.say(ctx.t("Aucune lettre morte.", "No dead letters."))
        return EXIT_OK
    for d in letters:
        print(
            f"{d.id}  {d.dead_at.astimezone(UTC):%Y-%m-%d %H:%M}  {d.kind.value}  "
            f"{d.to}  "
            f"×{d.attempts}  {d.last_error}",
            file=ctx.out,
        )
    return EXIT_OK


def _outbox_requeue(ctx: _Context, args: argparse.Namespace) -> int:
    t = ctx.t
    if bool(args.ids) == args.all:
        args.parser.error(
            t(
                "donnez les identifiants des e-mails, ou --all (l’un des deux)",
                "give the mails' ids, or --all (one of them)",
            )
        )
    asked = None if args.all else set(args.ids)
    count = ctx.app().dispatcher.requeue(asked)
    requeued = t.count(
        count,
        ("lettre morte remise en file", "lettres mortes remises en file"),
        ("dead letter requeued", "dead letters requeued"),
    )
    if asked is not None and count < len(asked):
        missing = len(asked) - count
        raise UserError(
            t(
                f"{requeued} ; {missing} identifiant(s) ne désignent pas une "
                "lettre morte.",
                f"{requeued}; {missing} id(s) name no dead letter.",
            )
        )
    ctx.say(requeued + ".")
    return EXIT_OK


def _outbox_purge(ctx: _Context, args: argparse.Namespace) -> int:
    count = ctx.app().dispatcher.purge_dead(args.before)
    ctx.say(
        ctx.t.count(
            count,
            ("lettre morte supprimée.", "lettres mortes supprimées."),
            ("dead letter deleted.", "dead letters deleted."),
        )
    )
    return EXIT_OK


def _outbox_rotate_key(ctx: _Context, _: argparse.Namespace) -> int:
    try:
        _keys.rotate(ctx.t, ctx.url.path, ctx.out, ctx.say)
    except UnsafeFileError as exc:
        raise UserError(_keys.unsafe_file_message(ctx.t, exc)) from exc
    return EXIT_OK


def _provisional_password(ctx: _Context, args: argparse.Namespace) -> int:
    account = ctx.account()
    password = ctx.app().auth.issue_provisional_password(
        account.id, agent_id=args.agent, reason=args.reason
    )
    ctx.say(
        ctx.t(
            f"Mot de passe provisoire du compte {account.id}, valable 1 heure, "
            "à lire au client ; il en choisira un nouveau à sa connexion. "
            "Il ne sera plus affiché :",
            f"Provisional password of account {account.id}, valid 1 hour, to "
            "read to the customer, who will choose a new one at login. It will "
            "not be shown again:",
        )
    )
    print(password.reveal(), file=ctx.out)
    return EXIT_OK


def _disable(ctx: _Context, args: argparse.Namespace) -> int:
    account = ctx.account()
    t = ctx.t
    if account.is_disabled:
        ctx.say(
            t(
                f"Le compte {account.id} est déjà désactivé.",
                f"Account {account.id} is already disabled.",
            )
        )
        return EXIT_OK
    ctx.app().auth.disable_account(account.id, agent_id=args.agent, reason=args.reason)
    ctx.say(
        t(
            f"Compte {account.id} désactivé : il ne peut plus se connecter, ses "
            "sessions et ses liens en cours ont pris fin.",
            f"Account {account.id} disabled: it can no longer log in, its "
            "sessions and pending links have ended.",
        )
    )
    return EXIT_OK


def _enable(ctx: _Context, args: argparse.Namespace) -> int:
    account = ctx.account()
    t = ctx.t
    if not account.is_disabled:
        ctx.say(
            t(
                f"Le compte {account.id} n’est pas désactivé.",
                f"Account {account.id} is not disabled.",
            )
        )
        return EXIT_OK
    ctx.app().auth.enable_account(account.id, agent_id=args.agent, reason=args.reason)
    ctx.say(
        t(
            f"Compte {account.id} réactivé : il peut de nouveau se connecter.",
            f"Account {account.id} enabled: it can log in again.",
        )
    )
    return EXIT_OK


def _export(ctx: _Context, args: argparse.Namespace) -> int:
    account = ctx.account()
    fmt = args.format
    if fmt is None:
        suffix = args.output.suffix.lower() if args.output else ""
        fmt = "html" if suffix in {".html", ".htm"} else "json"
    export = ctx.app().privacy.export_personal_data(account.id)
    text = export.as_json() if fmt == "json" else export.as_html()
    if not text.endswith("\n"):
        text += "\n"
    if args.output is None:
        ctx.out.write(text)
        return EXIT_OK
    try:
        # Owner-only (personal data), atomically, never through a link.
        write_private(args.output, text)
    except UnsafeFileError as exc:
        raise UserError(_keys.unsafe_file_message(ctx.t, exc)) from exc
    except OSError as exc:
        raise UserError(
            ctx.t(
                f"Impossible d’écrire {args.output} : {exc.strerror}.",
                f"Cannot write {args.output}: {exc.strerror}.",
            )
        ) from exc
    ctx.say(
        ctx.t(f"Export écrit dans {args.output}.", f"Export written to {args.output}.")
    )
    return EXIT_OK


def _confirm_erasure(ctx: _Context, account: Account) -> None:
    t = ctx.t
    if not ctx.stdin.isatty():
        raise UserError(
            t(
                "Effacement refusé : la confirmation se fait sur un terminal ; "
                "ajoutez --yes pour effacer sans confirmation.",
                "Erasure refused: confirmation needs a terminal; add --yes to "
                "erase without confirmation.",
            )
        )
    ctx.say(
        t(
            f"Le compte {account.id} ({account.email}, {account.name}) va être "
            "effacé : ses données personnelles disparaissent, seules restent "
            "celles que les factures doivent garder 10 ans.",
            f"Account {account.id} ({account.email}, {account.name}) will be "
            "erased: its personal data goes, only what invoices must keep for "
            "10 years stays.",
        )
    )
    print(
        t(
            "Tapez l’identifiant du compte ou « oui » pour confirmer : ",
            "Type the account's id or “oui” to confirm: ",
        ),
        end="",
        file=ctx.err,
        flush=True,
    )
    answer = ctx.stdin.readline().strip()
    if answer not in {account.id, "oui"}:
        raise UserError(
            t(
                "Effacement annulé : rien n’a été effacé.",
                "Erasure cancelled: nothing was erased.",
            )
        )


def _erase(ctx: _Context, args: argparse.Namespace) -> int:
    account = ctx.account()
    t = ctx.t
    if account.is_erased:
        ctx.say(
            t(
                f"Le compte {account.id} est déjà effacé.",
                f"Account {account.id} is already erased.",
            )
        )
        return EXIT_OK
    if not args.yes:
        _confirm_erasure(ctx, account)
    actor = f"agent:{args.agent}" if args.agent else "staff"
    ctx.app().privacy.erase_account(account.id, actor=actor)
    ctx.say(t(f"Compte {account.id} effacé.", f"Account {account.id} erased."))
    return EXIT_OK


def _analytics_purge(ctx: _Context, args: argparse.Namespace) -> int:
    sink = analytics_sink(ctx.url, ctx.environment)
    from echoppe_accounts.adapters.system import (  # noqa: PLC0415
        SystemClock,
        SystemSecrets,
    )
    from echoppe_accounts.service_layer.analytics import (  # noqa: PLC0415
        AnalyticsService,
    )

    service = AnalyticsService(
        sink,
        SystemClock(),
        SystemSecrets(),
        retention=RetentionPolicy(event_months=args.months),
    )
    count = service.purge()
    deleted = ctx.t.count(
        count,
        ("événement supprimé", "événements supprimés"),
        ("event deleted", "events deleted"),
    )
    ctx.say(
        ctx.t(
            f"{deleted} (plus de {args.months} mois).",
            f"{deleted} (older than {args.months} months).",
        )
    )
    return EXIT_OK


_FRENCH_OS_REASONS = {
    errno.EACCES: "permission refusée",
    errno.EPERM: "opération non permise",
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.EISDIR: "c’est un dossier",
    errno.ENOTDIR: "un élément du chemin n’est pas un dossier",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.ENOSPC: "plus de place sur le disque",
    errno.EIO: "erreur d’entrée-sortie",
}
"""The system's reasons in French: the C library says them in English."""


def _os_reason(exc: OSError, t: _Texts) -> str:
    """Return why the system refused, in the user's language."""
    english = exc.strerror or type(exc).__name__
    if t.lang == "en":
        return english
    code = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return _FRENCH_OS_REASONS.get(exc.errno or 0, f"erreur système {code}")


def _check_import_file(path: Path, t: _Texts) -> None:
    """Refuse, in one sentence, a path that is not a readable CSV file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UserError(
            t(f"Fichier introuvable : {path}.", f"No such file: {path}.")
        ) from None
    except OSError as exc:
        raise UserError(
            t(
                f"Impossible de lire {path} : {_os_reason(exc, t)}.",
                f"Cannot read {path}: {_os_reason(exc, t)}.",
            )
        ) from exc
    if not stat.S_ISREG(info.st_mode):
        raise UserError(
            t(
                f"{path} n’est pas un fichier ordinaire (un dossier, un "
                "périphérique ou un tube) : donnez le chemin d’un fichier CSV.",
                f"{path} is not a regular file (a folder, a device or a pipe): "
                "give the path of a CSV file.",
            )
        )
    if info.st_size == 0:
        raise UserError(
            t(
                f"Le fichier {path} est vide : il n’a pas même la ligne des colonnes.",
                f"The file {path} is empty: it lacks even the line of columns.",
            )
        )


def _import(ctx: _Context, args: argparse.Namespace) -> int:
    t = ctx.t
    _check_import_file(args.file, t)
    from echoppe_accounts.entrypoints.csv_import import (  # noqa: PLC0415
        CustomerImporter,
    )

    importer = CustomerImporter(ctx.app())
    try:
        summary = importer.import_csv(
            args.file,
            report=args.report,
            batch_size=args.batch_size,
            progress=False if args.no_progress else None,
            newsletter_wording=args.newsletter_wording,
            invite_guests=args.invite_guests,
        )
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise UserError(
            t(
                f"Impossible de lire ou d’écrire {exc.filename} : "
                f"{_os_reason(exc, t)}.",
                f"Cannot read or write {exc.filename}: {_os_reason(exc, t)}.",
            )
        ) from exc
    ctx.say(_import_counts(summary, t))
    if summary.invalid:
        raise UserError(
            t(
                f"Clients refusés : {summary.invalid} ; voir le rapport "
                f"{summary.report}.",
                f"Customers refused: {summary.invalid}; see the report "
                f"{summary.report}.",
            )
        )
    return EXIT_OK


def _import_prestashop(ctx: _Context, args: argparse.Namespace) -> int:
    from echoppe_accounts.adapters.prestashop import (  # noqa: PLC0415 (the extra)
        PrestaShopDatabase,
        PrestaShopSource,
    )
    from echoppe_accounts.entrypoints.csv_import import (  # noqa: PLC0415
        CustomerImporter,
    )

    t = ctx.t
    database = PrestaShopDatabase.parse(
        args.database, password=ctx.environment.prestashop_password
    )
    source = PrestaShopSource(
        database, prefix=args.prefix, shop_id=args.shop, timezone=args.timezone
    )
    from echoppe_accounts.entrypoints._import_report import (  # noqa: PLC0415
        check_report_path,
    )

    report = args.report or Path(
        f"prestashop-{database.database}-{args.shop}.report.csv"
    )
    # A report the user did not name replaces only an earlier report, as the
    # CSV import's does (SPEC O4); checked before the old shop is read.
    check_report_path(None, report, named=args.report is not None)
    importer = CustomerImporter(ctx.app())
    with source:
        summary = importer.import_records(
            source.customers(),
            source=source.label,
            report=report,
            batch_size=args.batch_size,
            progress=False if args.no_progress else None,
            total=source.count(),
            newsletter_wording=args.newsletter_wording,
            invite_guests=args.invite_guests,
        )
    skipped = source.skipped
    ctx.say(_import_counts(summary, t))
    mailed_fr = "prévenus" if args.invite_guests else "non prévenus"
    mailed_en = "mailed" if args.invite_guests else "not mailed"
    ctx.say(
        t(
            f"Invités ({mailed_fr}) : {summary.guests} ; clients supprimés "
            f"dans PrestaShop, non lus : {skipped.deleted_customers} ; "
            f"adresses supprimées, non lues : {skipped.deleted_addresses}.",
            f"Guests ({mailed_en}): {summary.guests}; customers deleted in "
            f"PrestaShop, not read: {skipped.deleted_customers}; deleted "
            f"addresses, not read: {skipped.deleted_addresses}.",
        )
    )
    if summary.report is not None:
        ctx.say(
            t(
                f"Changements et refus, client par client : {summary.report}.",
                f"Changes and refusals, customer by customer: {summary.report}.",
            )
        )
    if summary.invalid:
        raise UserError(
            t(
                f"Clients refusés : {summary.invalid} ; voir le rapport "
                f"{summary.report}.",
                f"Customers refused: {summary.invalid}; see the report "
                f"{summary.report}.",
            )
        )
    return EXIT_OK


def _import_counts(summary: ImportSummary, t: _Texts) -> str:
    """Return what an import did, in the operator's language (SPEC M1, M2)."""
    lines = [
        t(
            f"Clients lus : {summary.read} ; importés : {summary.imported} ; "
            f"déjà présents : {summary.already_present} ; refusés : "
            f"{summary.invalid} ; invités à choisir un mot de passe : "
            f"{summary.invited}.",
            f"Customers read: {summary.read}; imported: {summary.imported}; "
            f"already present: {summary.already_present}; refused: "
            f"{summary.invalid}; invited to choose a password: "
            f"{summary.invited}.",
        )
    ]
    if summary.changes:
        missing = {str(piece): n for piece, n in summary.to_complete.items()}
        phone, address, siret = (
            missing.get(k, 0) for k in ("phone", "address", "siret")
        )
        lines.append(
            t(
                f"À compléter à la prochaine connexion : téléphone {phone}, "
                f"adresse {address}, SIRET {siret} ; désactivés : "
                f"{summary.disabled} ; invités de l’ancienne boutique : "
                f"{summary.guests} ; changements, dans le rapport "
                f"{summary.report} : {summary.changes}.",
                f"To complete at the next login: phone {phone}, address "
                f"{address}, SIRET {siret}; disabled: {summary.disabled}; the "
                f"old shop's guests: {summary.guests}; changes, in the report "
                f"{summary.report}: {summary.changes}.",
            )
        )
    return "\n".join(lines)


def _problems(exc: ValidationError, t: _Texts) -> str:
    """Return the problems of *exc*, one a line after the first if several."""
    lines = [
        (t(f"{e.path} : ", f"{e.path}: ") if e.path else "") + e.message(t.lang)
        for e in exc.errors
    ]
    if len(lines) == 1:
        return lines[0]
    heading = t(f"{len(lines)} problèmes :", f"{len(lines)} problems:")
    return "\n".join([heading, *(f"  - {line}" for line in lines)])


def _failure(exc: BaseException, t: _Texts) -> tuple[int, str]:  # noqa: PLR0911 (one code per kind of failure)
    """Return the exit code and the sentence for *exc*."""
    if isinstance(exc, UserError):
        return EXIT_USER, exc.text
    if isinstance(exc, ConfigurationError):
        return EXIT_USER, exc.message(t.lang)
    if isinstance(exc, ValidationError):
        return EXIT_USER, _problems(exc, t)
    if isinstance(exc, AuthenticationError):
        return EXIT_USER, exc.message(t.lang)
    if isinstance(exc, NotFoundError):
        return EXIT_USER, t("Introuvable.", "Not found.")
    if isinstance(exc, ConcurrencyError):
        return EXIT_UNAVAILABLE, t(
            "Le compte a été modifié entre-temps ; relancez la commande.",
            "The account was changed meanwhile; run the command again.",
        )
    if isinstance(exc, StorageError):
        # The cause in the reader's words, from the catalogues: never the
        # driver's message, English and possibly quoting stored values.
        cause = exc.message(t.lang)
        if exc.retryable:
            return EXIT_UNAVAILABLE, t(
                f"Base de données indisponible : {cause}.",
                f"The database is unavailable: {cause}.",
            )
        return EXIT_INTERNAL, t(
            f"Erreur de la base de données : {cause}.", f"Database error: {cause}."
        )
    if isinstance(exc, DeliveryError) and exc.retryable:
        # The mail server's reply is in its own language: --debug shows it.
        return EXIT_UNAVAILABLE, t(
            "Envoi des e-mails impossible pour le moment, réessayez ; --debug en "
            "montre la cause.",
            "Mail delivery is unavailable for now, try again; --debug shows the cause.",
        )
    return EXIT_INTERNAL, t(
        f"Erreur interne inattendue ({type(exc).__name__}) ; relancez avec "
        "--debug pour voir la trace.",
        f"Unexpected internal error ({type(exc).__name__}); run again with "
        "--debug to see the traceback.",
    )


@contextmanager
def _logging_to(stream: TextIO, level: int) -> Iterator[None]:
    """Send log records of *level* and above to *stream* while in the block."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.setLevel(level)
    previous = root.level
    root.addHandler(handler)
    root.setLevel(min(level, previous) if previous else level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Run the command line with *argv* (``sys.argv[1:]``); return the exit code.

    Usage mistakes and ``--help`` leave through ``SystemExit``, as with
    ``argparse`` (codes 2 and 0).

    .. versionadded:: 0.2.0
    """
    arguments = _route(list(sys.argv[1:] if argv is None else argv))
    lang = _language(arguments, dict(os.environ))
    t = _Texts(lang)
    args = build_parser(lang, prog).parse_args(arguments)
    ctx = _Context(t, args, Environment.read(), sys.stdout, sys.stderr, sys.stdin)
    level = logging.DEBUG if args.debug else logging.INFO
    if args.command != "worker" and not args.debug:
        level = logging.WARNING
    with _logging_to(sys.stderr, level):
        try:
            return int(args.handler(ctx, args))
        except KeyboardInterrupt:
            ctx.say(t("Interrompu.", "Interrupted."))
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # The reader of our output has gone (``| head``): nothing to say.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_OK
        except Exception as exc:  # noqa: BLE001 (one sentence, never a traceback)
            code, sentence = _failure(exc, t)
            if args.debug:
                traceback.print_exception(exc, file=sys.stderr)
            ctx.say(f"{prog}: {sentence}")
            return code
        finally:
            ctx.close()
