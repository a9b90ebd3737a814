"""Reading an import's CSV file: its encoding, its physical lines, its header, its rows.

The format is described in :mod:`echoppe_accounts.entrypoints.csv_import`.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

import attrs

from echoppe_accounts.domain.errors import Collector, FieldError, ValidationError
from echoppe_accounts.service_layer._import_cases import shown
from echoppe_accounts.service_layer.import_rows import (
    COLUMNS,
    REQUIRED_COLUMNS,
    customer_of_rows,
    email_of_row,
)

if TYPE_CHECKING:
    from echoppe_accounts.entrypoints._import_report import Bar
    from echoppe_accounts.service_layer.importer import ImportRun

MAX_LINE_BYTES: Final = 64 * 1024  # documented in csv_import
_MAX_SHOWN = 64  # characters of an unknown column's name quoted back
_CHUNK = 1 << 16  # bytes read at a time when checking the encoding


def unreadable(source: Path) -> ValidationError:
    """Return the error of a file that cannot be read."""
    return ValidationError.single("file", "import.file_unreadable", file=shown(source))


def check_encoding(source: Path) -> int:
    """Read *source* once: refuse it unless UTF-8; return its number of lines."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    last = b"\n"
    try:
        with source.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = lines + chunk.count(b"\n", 0, exc.start) + 1
                    raise ValidationError.single(
                        "file", "import.not_utf8", line=line
                    ) from None
                lines += chunk.count(b"\n")
                last = chunk[-1:]
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise ValidationError.single(
                    "file", "import.not_utf8", line=lines + 1
                ) from None
    except OSError as exc:
        raise unreadable(source) from exc
    return lines + (last != b"\n")


class Lines:
    """The file's physical lines, decoded, none longer than MAX_LINE_BYTES.

    A longer line is skipped to its end and given to the CSV reader as an
    empty line, with :attr:`cut` set so that its record is reported.
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.number = 0
        self.cut = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self._handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            raise StopIteration
        self.number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := self._handle.readline(MAX_LINE_BYTES)) and not (
                rest.endswith(b"\n")
            ):
                pass
            self.cut = True
            return "\n"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # changed since it was checked
            raise ValidationError.single(
                "file", "import.not_utf8", line=self.number
            ) from None
        return text.removeprefix("\ufeff") if self.number == 1 else text


@attrs.frozen
class Header:
    """The separator of a file and its columns, in order."""

    delimiter: str
    columns: tuple[str, ...]


def read_header(lines: Lines) -> Header:
    """Read the header line: the separator and the columns (see the module doc)."""
    try:
        first = next(lines)
    except StopIteration:
        raise ValidationError.single("file", "import.no_header") from None
    if lines.cut or not first.strip():
        raise ValidationError.single("file", "import.no_header")
    delimiter = ";" if ";" in first else ","
    try:
        cells = next(csv.reader([first], delimiter=delimiter))
    except csv.Error:
        raise ValidationError.single("file", "import.no_header") from None
    columns = tuple(c.strip().lower() for c in cells)
    errors = Collector()
    seen: set[str] = set()
    for column in columns:
        if column not in COLUMNS:
            shown = column[:_MAX_SHOWN].encode("utf-8", "replace").decode()
            errors.add(shown, "import.unknown_column", column=shown)
        elif column in seen:
            errors.add(column, "import.duplicate_column", column=column)
        seen.add(column)
    for column in REQUIRED_COLUMNS:
        if column not in seen:
            errors.add(column, "import.missing_column", column=column)
    errors.raise_if_any()
    return Header(delimiter, columns)


@attrs.define
class _Grouper:
    """Consecutive rows of one email, held until a row of another email comes."""

    run: ImportRun
    rows: list[tuple[int, dict[str, str]]] = attrs.Factory(list)
    email: str = ""

    def add(self, number: int, row: dict[str, str]) -> None:
        email = email_of_row(row)
        if self.rows and email != self.email:
            self.flush()
        self.email = email
        self.rows.append((number, row))

    def flush(self) -> None:
        if self.rows:
            record, problems, changes = customer_of_rows(self.rows)
            self.run.add_customer(self.rows[0][0], record, problems, changes)
            self.rows = []


def read_rows(lines: Lines, header: Header, run: ImportRun, bar: Bar) -> None:
    """Give the customers after the header to *run*, and the lines it refuses.

    Consecutive rows with the same email are one customer; a line refused
    whole (malformed, too long) between them does not part them.
    """
    try:
        _read_rows(lines, header, run, bar)
    except BaseException:
        run.settle()  # what was validated stays imported
        raise


def _read_rows(lines: Lines, header: Header, run: ImportRun, bar: Bar) -> None:
    reader = csv.reader(lines, delimiter=header.delimiter)
    grouper = _Grouper(run)
    position = lines.number
    while True:
        start = lines.number + 1
        lines.cut = False
        try:
            cells = next(reader)
        except StopIteration:
            break
        except ValidationError:  # the file changed since it was checked
            grouper.flush()  # what was read before it stays imported
            run.flush()
            raise
        except csv.Error:
            run.refuse_line(
                start,
                [FieldError("", "import.malformed_line", {"last": lines.number})],
            )
        else:
            _line(grouper, start, cells, header, lines.cut)
        bar.update(lines.number - position)
        position = lines.number
    grouper.flush()
    run.flush()


def _line(
    grouper: _Grouper,
    number: int,
    cells: list[str],
    header: Header,
    cut: bool,  # noqa: FBT001
) -> None:
    run = grouper.run
    if cut:
        run.refuse_line(
            number,
            [FieldError("", "import.line_too_long", {"max": MAX_LINE_BYTES})],
        )
        return
    if not cells or (len(cells) == 1 and not cells[0].strip()):
        return  # a blank line
    expected = len(header.columns)
    if len(cells) < expected or any(c.strip() for c in cells[expected:]):
        found = len(cells)
        run.refuse_line(
            number,
            [
                FieldError(
                    "", "import.cell_count", {"found": found, "expected": expected}
                )
            ],
        )
        return
    row = dict.fromkeys(COLUMNS, "")
    row.update(zip(header.columns, cells, strict=False))
    grouper.add(number, row)
