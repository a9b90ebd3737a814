"""The error report of an import, and its progress bar on the terminal."""

from __future__ import annotations

import contextlib
import csv
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self

from echoppe_accounts._files import UnsafeFileError, may_replace, private_file
from echoppe_accounts.domain.errors import FieldError, ValidationError
from echoppe_accounts.service_layer._import_cases import shown

if TYPE_CHECKING:
    from _csv import Writer


def default_report(source: Path) -> Path:
    """Return where the report of *source* goes by default: beside it."""
    return source.with_name(f"{source.name}.errors.csv")


def check_report_path(source: Path | None, report: Path, *, named: bool) -> None:
    """Refuse a report that would overwrite the input or cannot be written.

    A symbolic link is refused (the report would overwrite its target), and
    so is an existing file the user did not name unless it is an earlier
    report (SPEC O4).
    """
    try:
        may_replace(report, named=named, ours=_is_report(report))
    except UnsafeFileError as exc:
        # A folder or a device is refused when a line needs the report.
        code = {
            "symlink": "import.report_symlink",
            "not_ours": "import.report_not_ours",
        }.get(exc.reason)
        if code is not None:
            raise ValidationError.single("report", code, file=shown(report)) from exc
    same = False
    try:
        same = (
            source is not None
            and report.exists()
            and source.exists()
            and report.samefile(source)
        )
    except OSError:  # pragma: no cover (a folder that cannot be looked into)
        same = True
    folder = report.parent
    if same or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ValidationError.single(
            "report", "import.report_unwritable", file=shown(report)
        )


class Report:
    """The report, opened on its first entry: refusals and changes (SPEC M2).

    Its first column is ``line`` for a CSV file, ``ref`` (the old shop's
    id of the customer) for another source.
    """

    def __init__(self, path: Path, first_column: str = "line") -> None:
        self.path = path
        self.first_column = first_column
        self.delimiter = ";"
        self.written = False
        self._file: IO[str] | None = None
        self._files = contextlib.ExitStack()
        self._writer: Writer | None = None

    def __enter__(self) -> Self:
        return self

    def write(self, refused: Sequence[tuple[str, FieldError]]) -> None:
        """Write each entry: line (or ref), field, code and French message."""
        if not refused:
            return
        try:
            if self._writer is None:
                # Owner-only, written beside and renamed over the path when
                # the import ends, never through a symbolic link (SPEC O4).
                self._file = self._files.enter_context(
                    private_file(self.path, encoding="utf-8-sig", newline="")
                )
                self._writer = csv.writer(self._file, delimiter=self.delimiter)
                self._writer.writerow((self.first_column, "field", "code", "message"))
                self.written = True
            self._writer.writerows(
                tuple(
                    _inert(cell)
                    for cell in (line, error.path, error.code, error.message("fr"))
                )
                for line, error in refused
            )
        except OSError as exc:
            raise ValidationError.single(
                "report", "import.report_unwritable", file=shown(self.path)
            ) from exc

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            # The lines refused so far are kept, whatever ended the import.
            try:
                self._files.close()
            except OSError as error:
                raise ValidationError.single(
                    "report", "import.report_unwritable", file=shown(self.path)
                ) from error
        elif exc is None and not self.path.is_symlink() and _is_report(self.path):
            # No line refused: an older report must not pass for this run's.
            self.path.unlink()


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP CSV injection)."""


def _inert(cell: object) -> str:
    """Return *cell* as a spreadsheet shows it as text, never runs it (SPEC O4).

    A customer reference or a field name comes from the old shop's data:
    one starting like a formula gets a leading apostrophe (OWASP).
    """
    text = str(cell)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


_REPORT_HEADERS = tuple(
    f"\ufeff{first}{d}field{d}code{d}message"
    for first in ("line", "ref")
    for d in (";", ",")
)


def _is_report(path: Path) -> bool:
    """Tell whether *path* is an error report (and nothing else to keep)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline(64).rstrip("\r\n") in _REPORT_HEADERS
    except OSError:  # absent, a folder, unreadable: not a report to remove
        return False


class Bar:
    """The part of a progress bar the import uses."""

    def update(self, n: int) -> object:
        """Record *n* more lines read."""
        del n
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the bar."""


def progress_bar(total: int | None, progress: bool | None) -> Bar:  # noqa: FBT001
    """Return a progress bar on standard error, or one that shows nothing.

    With *progress* ``None``, the bar shows only when standard error is a
    terminal: piped or redirected, the output stays clean. A *total* of
    ``None`` (not known) shows a count without a bar.
    """
    stream = sys.stderr
    if stream is None:  # no standard error at all (pythonw)
        return Bar()
    show = progress if progress is not None else stream.isatty()
    if not show:
        return Bar()
    from tqdm import tqdm  # noqa: PLC0415 (loaded only to show a bar)

    bar: Bar = tqdm(
        total=None if total is None else max(total, 0),
        desc="Import",
        unit=" lignes",
        file=stream,
        mininterval=0.5,
    )
    return bar
