"""A `Table` as CSV, for machines: one header row of the columns' keys (the JSON's field names),
then the rows; no title, period or notes (they would break a reader; the file's name and the
request say them).

RFC 4180 (commas, CRLF, quotes where needed), UTF-8 without a byte order mark: a mark helps
Excel guess the encoding, but it is one more thing for every other reader to strip (it sticks
to the first key), and the XLSX is the file for people. Numbers are the JSON's (rates in
percent), missing values are empty. Text that a spreadsheet would run as a formula (it begins
with = + - @, a tab or a carriage return) is prefixed with an apostrophe, as OWASP advises: CSV
files do get opened in spreadsheets.
"""

from __future__ import annotations

import csv
import io

from services.api.exports.table import (
    NUMERIC_KINDS,
    Cell,
    Kind,
    Table,
    Value,
    is_formula_like,
    number,
    text,
)

MEDIA_TYPE = "text/csv; charset=utf-8; header=present"


def write_csv(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    columns = table.columns
    writer.writerow([column.key for column in columns])
    for row in table.rows:
        writer.writerow(
            [_text(column.kind, value) for column, value in zip(columns, row, strict=True)]
        )
    return out.getvalue().encode()


def _text(kind: Kind, value: Value) -> str:
    if isinstance(value, Cell):
        kind, value = value.kind, value.value
    if value is None:
        return ""
    if kind in NUMERIC_KINDS:
        # repr: the shortest text that reads back as the same number (as the JSON writes it).
        return repr(number(kind, value))
    written = text(kind, value)
    return f"'{written}" if is_formula_like(written) else written
