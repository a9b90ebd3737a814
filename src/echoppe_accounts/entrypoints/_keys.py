"""Texts and steps of the key and file commands: ``init``, ``outbox rotate-key``, files.

SPEC O2 (amended): the key never sits beside the database nor in its
backups, and a shop rotates it without dead-lettering the mails queued
before (the previous key still opens them).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from echoppe_accounts._files import UnsafeFileError
from echoppe_accounts.domain.sealing import KEY_BYTES

# The wiring is imported by the commands that use it: `--help` loads no
# adapter (issue 22).
OUTBOX_KEY_VARIABLE = "ECHOPPE_OUTBOX_KEY"
OUTBOX_OLD_KEY_VARIABLE = "ECHOPPE_OUTBOX_OLD_KEY"

Say = Callable[[str, str], str]
"""The command line's texts: French, English → the chosen one."""


def moved_message(t: Say, moved: Path, database: Path) -> str:
    """Say that ``init`` moved a key file found beside *database*."""
    from echoppe_accounts.bootstrap import outbox_key_file  # noqa: PLC0415

    to = outbox_key_file(database)
    return t(
        f"Clé de l’outbox déplacée de {moved} vers {to} (mode 0600) : elle ne "
        "doit pas voyager avec la base. Sauvegardez-la à part de la base.",
        f"Outbox key moved from {moved} to {to} (mode 0600): it must not travel "
        "with the database. Back it up apart from the database.",
    )


def rotate(
    t: Say, database: Path | None, out: TextIO, say: Callable[[str], None]
) -> None:
    """Rotate the outbox key of *database* (a SQLite file) or print a new one.

    With a SQLite database and no ``ECHOPPE_OUTBOX_KEY``, the key file gets
    a new key and keeps the current one as its previous. Otherwise (the key
    comes from the environment, PostgreSQL), a new key is printed on
    standard output and the operator is told which variables to set.
    """
    from echoppe_accounts.bootstrap import (  # noqa: PLC0415
        outbox_key_from_environment,
        rotate_outbox_key,
    )

    if database is not None and outbox_key_from_environment() is None:
        path = rotate_outbox_key(database)
        say(
            t(
                f"Nouvelle clé de l’outbox écrite dans {path} ; l’ancienne y reste "
                "pour ouvrir les e-mails déjà en file. Redémarrez les processus "
                "web et le worker, et sauvegardez ce fichier à part de la base.",
                f"New outbox key written to {path}; the previous one stays there "
                "to open the mails already queued. Restart the web processes and "
                "the worker, and back this file up apart from the database.",
            )
        )
        return
    print(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii"), file=out)
    say(
        t(
            f"Nouvelle clé ci-dessus : mettez l’actuelle dans "
            f"{OUTBOX_OLD_KEY_VARIABLE} et celle-ci dans {OUTBOX_KEY_VARIABLE}, "
            "dans chaque processus, puis redémarrez-les ; retirez "
            f"{OUTBOX_OLD_KEY_VARIABLE} après 72 heures (la fenêtre de "
            "nouvelles tentatives).",
            f"New key above: put the current one in {OUTBOX_OLD_KEY_VARIABLE} and "
            f"this one in {OUTBOX_KEY_VARIABLE}, in every process, then restart "
            f"them; remove {OUTBOX_OLD_KEY_VARIABLE} after 72 hours (the retry "
            "window).",
        )
    )


def unsafe_file_message(t: Say, exc: UnsafeFileError) -> str:
    """Say why a command refused to write a file (SPEC O4), in one sentence."""
    if exc.reason == "symlink":
        return t(
            f"{exc.path} est un lien symbolique : rien n’est écrit à travers un "
            "lien ; donnez un autre chemin.",
            f"{exc.path} is a symbolic link: nothing is written through a link; "
            "give another path.",
        )
    if exc.reason == "not_ours":
        return t(
            f"{exc.path} existe déjà et n’a pas été nommé : rien n’est écrit "
            "par-dessus.",
            f"{exc.path} already exists and was not named: nothing is written over it.",
        )
    return t(
        f"{exc.path} n’est pas un fichier ordinaire : donnez un autre chemin.",
        f"{exc.path} is not a regular file: give another path.",
    )
