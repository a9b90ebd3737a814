"""Outbox key files: in the operator's configuration folder, never beside the database.

SPEC O2 (amended): a copy of the database and its backups must open no
sealed mail, so the embedded default keeps its key in
``$XDG_CONFIG_HOME/echoppe-accounts/`` (``~/.config/echoppe-accounts/``
when the variable is unset), a folder of mode 0700, in a file of mode 0600
named after the database's file name and a digest of its absolute path:
two databases on one machine never share a key, and the file tells the
operator which database it serves.

A key file holds the current key on its first line (64 hexadecimal
digits) and, after a rotation, ``previous <hex>``: the key mails queued
before the rotation were sealed with, still accepted for opening. Lines
starting with ``#`` are comments.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path

import attrs

from echoppe_accounts._files import create_private, write_private
from echoppe_accounts.domain.sealing import KEY_BYTES, parse_key

FOLDER_NAME = "echoppe-accounts"
"""The library's folder inside the operator's configuration folder."""


@attrs.frozen
class KeyRing:
    """The current outbox key and, after a rotation, the previous one."""

    current: bytes = attrs.field(repr=False)
    previous: bytes | None = attrs.field(default=None, repr=False)

    def render(self, database: Path | None) -> str:
        """Return the key file's text."""
        lines = [
            "# echoppe-accounts outbox key"
            + (f" for {database}" if database is not None else ""),
            "# Back it up apart from the database: never in the same backup.",
            self.current.hex(),
        ]
        if self.previous is not None:
            lines.append(f"previous {self.previous.hex()}")
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Read a key file's text (or a bare key, as 0.2 development versions wrote).

        Raises:
            ValueError: The text holds no key.
        """
        current: bytes | None = None
        previous: bytes | None = None
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("previous "):
                previous = parse_key(line.removeprefix("previous "))
            elif current is None:
                current = parse_key(line)
        if current is None:
            msg = "no key"
            raise ValueError(msg)
        return cls(current, previous)


def config_folder(environ: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_CONFIG_HOME/echoppe-accounts`` (default ``~/.config/…``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / FOLDER_NAME


def key_path(database: str | os.PathLike[str], folder: Path | None = None) -> Path:
    """Return the key file of the SQLite *database*, in *folder* (the default one)."""
    resolved = Path(database).resolve()
    digest = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:16]
    return (folder or config_folder()) / f"{resolved.name}-{digest}.key"


def beside_path(database: str | os.PathLike[str]) -> Path:
    """Return where 0.2 development versions kept the key: ``<database>.key``."""
    return Path(f"{os.fspath(database)}.key")


def read(path: Path) -> KeyRing:
    """Read the key file at *path*, warning if others may read it.

    Raises:
        OSError: It cannot be read.
        ValueError: It holds no key.
    """
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        import logging  # noqa: PLC0415 (a rare warning: wiring loads no logging)

        logging.getLogger("echoppe_accounts.outbox").warning(
            "the outbox key file %s is readable by others: chmod 600", path
        )
    try:
        return KeyRing.parse(path.read_text(encoding="ascii"))
    except (ValueError, UnicodeError):
        msg = f"{path} does not hold an outbox key"
        raise ValueError(msg) from None


def _make_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def load_or_create(database: str | os.PathLike[str], path: Path) -> KeyRing:
    """Return the keys in *path*, creating it with a fresh key on first use.

    Processes starting at once agree on one key: the first file made stays.

    Raises:
        OSError: The file cannot be created or read.
        ValueError: It holds no key.
    """
    if not path.exists():
        _make_folder(path.parent)
        ring = KeyRing(os.urandom(KEY_BYTES))
        create_private(path, ring.render(Path(database).resolve()))
    return read(path)


def move_beside_key(database: str | os.PathLike[str], path: Path) -> Path | None:
    """Move ``<database>.key`` to *path*; return where it was, or ``None``.

    If both exist and hold different keys, the one at *path* stays current
    and the one beside becomes its previous key (mails it sealed still
    open), unless the file at *path* already has a previous key.

    Raises:
        OSError: A file cannot be read, written or removed.
        ValueError: A file holds no key.
    """
    beside = beside_path(database)
    if not beside.is_file() or beside.is_symlink():
        return None
    old = read(beside)
    if path.exists():
        ring = read(path)
        if ring.current != old.current and ring.previous is None:
            ring = KeyRing(ring.current, old.current)
    else:
        ring = old
    _make_folder(path.parent)
    write_private(path, ring.render(Path(database).resolve()), encoding="ascii")
    beside.unlink()
    return beside


def rotate(database: str | os.PathLike[str], path: Path) -> KeyRing:
    """Make a new current key in *path*; the current one becomes the previous.

    The key before the previous one, if any, is dropped.

    Raises:
        OSError: The file cannot be read or written.
        ValueError: It holds no key.
    """
    ring = load_or_create(database, path)
    new = KeyRing(os.urandom(KEY_BYTES), ring.current)
    write_private(path, new.render(Path(database).resolve()), encoding="ascii")
    return new
