"""Reading an uploaded CSV file one row at a time.

The file is read twice from the upload's own temporary file, never into memory as a whole: a
first pass counts its bytes and finds its encoding (UTF-8, with or without a byte-order mark,
else Windows-1252 as spreadsheets export it), the second parses it with the csv module, comma or
semicolon separated (whichever the header uses), and yields each data row as {column: text}.
Anything that makes the whole file unreadable raises FileRefused with words for the person.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..forms import CONTROL_CHARACTERS_MESSAGE
from .columns import BY_NAME, PER_ROW_ONLY, ROW, columns_for

CHUNK = 64 * 1024
MAX_CELL = 1000  # characters kept of a cell; no form field takes more than 254


class FileRefused(Exception):
    """The file cannot be imported at all; `str(error)` says why and what to do."""


@dataclass
class Row:
    line: int  # the row's number as a spreadsheet shows it: the header is row 1
    cells: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:g} MB"


def sniff_encoding(stream, max_bytes: int) -> str:
    """The file's encoding, after checking its size; the stream is left at its start."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    is_utf8 = is_cp1252 = True
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FileRefused(
                f"The file is larger than {megabytes(max_bytes)}, the most one import takes. "
                "Split it into smaller files and import them one after the other."
            )
        # Both are tried on every chunk: UTF-8 can fail late (in a later chunk, or only at the
        # end, on a character left unfinished), and then Windows-1252 must hold for the whole file.
        if is_utf8:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                is_utf8 = False
        if is_cp1252:
            try:
                cp1252.decode(chunk)
            except UnicodeDecodeError:
                is_cp1252 = False
    stream.seek(0)
    if size == 0:
        raise FileRefused("The file is empty. Choose the CSV file with your customers.")
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if is_utf8:
        return "utf-8-sig"
    if is_cp1252:
        return "cp1252"
    raise FileRefused(
        "The file is not text this import can read. Save it as “CSV UTF-8 (comma delimited)” "
        "from your spreadsheet and upload it again."
    )


def _header_name(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().strip("\ufeff").strip().lower())


def read_rows(stream, *, per_row: bool, max_bytes: int, max_rows: int) -> Iterator[Row]:
    """Each data row of the uploaded file, in order; raises FileRefused for a file that cannot
    be imported (too big, too many rows, not text, an unknown or missing column)."""
    encoding = sniff_encoding(stream, max_bytes)
    text = io.TextIOWrapper(io.BufferedReader(_Unclosable(stream), CHUNK), encoding=encoding, newline="")
    first = text.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(itertools.chain([first], text), delimiter=delimiter, strict=False)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise FileRefused(f"The first row (the column names) could not be read: {error}.") from None
    if not header or not any(cell.strip() for cell in header):
        raise FileRefused("The first row must name the columns. Start from the template.")
    names = [_header_name(cell) for cell in header]
    _check_header(names, per_row)
    count = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FileRefused(f"Row {count + 2} could not be read ({error}). Check its quotes and cells.") from None
        count += 1
        if not any(cell.strip() for cell in record):
            continue  # a blank line, as spreadsheets leave at the end
        if count > max_rows:
            raise FileRefused(
                f"The file has more than {max_rows:,} rows, the most one import takes. "
                "Split it into smaller files and import them one after the other."
            )
        yield _row(count + 1, names, record)


def _row(line: int, names: list[str], record: list[str]) -> Row:
    row = Row(line, {})
    for name, cell in zip(names, record, strict=False):
        if not name:
            continue
        if "\x00" in cell:
            row.errors.setdefault(name, []).append(CONTROL_CHARACTERS_MESSAGE)
            cell = cell.replace("\x00", "\ufffd")
        if len(cell) > MAX_CELL:
            row.errors.setdefault(name, []).append(f"Shorten this to at most {MAX_CELL:,} characters.")
            cell = cell[:MAX_CELL]
        row.cells[name] = cell
    if len(record) > len(names) and any(cell.strip() for cell in record[len(names) :]):
        row.errors.setdefault(ROW, []).append(
            f"This row has {len(record)} cells but the file has {len(names)} columns. "
            "Check for a separator inside a cell that is not in quotes."
        )
    return row


def _check_header(names: list[str], per_row: bool) -> None:
    known = {c.name for c in columns_for(per_row)}
    unknown = [n for n in names if n and n not in known]
    if unknown:
        shown = ", ".join(f"“{n[:40]}”" for n in unknown[:5])
        extra = ""
        if not per_row and "administered_by" in unknown:
            extra = " To say in each row who administers it, choose “A column in each row” when uploading."
        raise FileRefused(
            f"The file has columns this import does not know: {shown}. Use the column names of the template.{extra}"
        )
    doubled = sorted({n for n in names if n and names.count(n) > 1})
    if doubled:
        raise FileRefused(f"The column {', '.join(f'“{n}”' for n in doubled)} appears more than once.")
    missing = [c.name for c in columns_for(per_row) if c.required and c.name not in names]
    if missing:
        hint = ""
        if "administered_by" in missing and BY_NAME["administered_by"].applies == PER_ROW_ONLY:
            hint = " Or choose one option for the whole file when uploading."
        raise FileRefused(f"The file needs the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}.{hint}")


class _Unclosable(io.RawIOBase):
    """The upload's stream as TextIOWrapper wants it, without closing it when the wrapper goes."""

    def __init__(self, stream):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        pass
