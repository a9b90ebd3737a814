"""Writing files safely: owner-only, atomically, never through a symbolic link.

Every file the library or its command line writes for an operator (an
export, an import report, an outbox key file) goes through here (SPEC O4):

- it is created with mode 0600 (the owner only) in a temporary file beside
  its destination, then renamed over it with :func:`os.replace`, so a
  reader sees the old file or the new one, never half of one, and a file
  that was readable by others is replaced rather than rewritten in place;
- a destination that is a symbolic link, or anything but a regular file,
  is refused with :class:`UnsafeFileError`: a link planted where a report
  goes would otherwise make the command overwrite the link's target. The
  rename itself never follows a link, so a link planted between the check
  and the rename is replaced, its target untouched;
- :func:`may_replace` tells whether an existing file may be replaced at all:
  a file the user named, yes; one the command chose by default, only if it
  is what the command wrote there before.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO


class UnsafeFileError(OSError):
    """A destination is a symbolic link, or not a regular file: nothing is written.

    Attributes:
        path: The refused destination.
        reason: ``"symlink"``, ``"not_a_file"`` or ``"not_ours"`` (an
            existing file the user did not name).
    """

    def __init__(self, path: Path, reason: str) -> None:
        """Refuse *path* for *reason*."""
        self.path = path
        self.reason = reason
        super().__init__(f"refused to write {path}: {reason.replace('_', ' ')}")


def check_destination(path: Path) -> None:
    """Raise :class:`UnsafeFileError` if *path* is a link or not a regular file.

    A path that does not exist yet is fine.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise UnsafeFileError(path, "symlink")
    if not stat.S_ISREG(mode):
        raise UnsafeFileError(path, "not_a_file")


def _temporary_beside(path: Path) -> tuple[Path, int]:
    import secrets  # noqa: PLC0415 (with the first file written, not at wiring)

    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return temporary, os.open(temporary, flags, 0o600)


@contextlib.contextmanager
def private_file(
    path: Path, *, encoding: str = "utf-8", newline: str | None = None
) -> Iterator[IO[str]]:
    """Open a text file that replaces *path* atomically when the block ends.

    The file is made owner-only (0600) beside *path*, flushed to disk, then
    renamed over *path*; if the block raises, it is removed and *path* is
    left as it was.

    Raises:
        UnsafeFileError: *path* is a symbolic link or not a regular file.
        OSError: The folder cannot be written.
    """
    check_destination(path)
    temporary, fd = _temporary_beside(path)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def write_private(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write *text* to *path* owner-only and atomically (see :func:`private_file`).

    Raises:
        UnsafeFileError: *path* is a symbolic link or not a regular file.
        OSError: The folder cannot be written.
    """
    with private_file(path, encoding=encoding) as handle:
        handle.write(text)


def create_private(path: Path, text: str) -> bool:
    """Create *path* owner-only with *text* unless it exists; say if it was made.

    Of processes creating the same file at once, the first one's content
    stays and the others find it (a hard link never replaces a file).

    Raises:
        UnsafeFileError: *path* is a symbolic link or not a regular file.
        OSError: The folder cannot be written.
    """
    check_destination(path)
    temporary, fd = _temporary_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            check_destination(path)
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def may_replace(path: Path, *, named: bool, ours: bool) -> None:
    """Refuse to replace an existing *path* the user did not name.

    Args:
        path: The destination.
        named: Whether the user named it (``--output``, ``--report``).
        ours: Whether the existing file is what the command wrote there
            before (an earlier report), which it may replace.

    Raises:
        UnsafeFileError: *path* is a link or not a regular file, or exists,
            was not named and is not the command's own.
    """
    check_destination(path)
    if path.exists() and not named and not ours:
        raise UnsafeFileError(path, "not_ours")
