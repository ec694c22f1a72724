"""CSV files people open in a spreadsheet (the customer export, the white-label ledger, an
import's report): cells that show text as typed and never run as formulas.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one) as a
formula: CSV injection (OWASP). Such a cell gets a leading apostrophe, which shows the text as
typed and runs nothing. Apply it to text that came from people; a number the file itself writes
(an amount such as -12.50) stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A value as a cell a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class CsvLines:
    """Rows as CSV text one line at a time, for a streamed download."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def line(self, cells: Iterable[object]) -> str:
        self._writer.writerow(cells)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate(0)
        return text
