"""The CSV writer: the JSON's keys and numbers, RFC 4180, formula-like text defused."""

from __future__ import annotations

import csv
import io

from services.api.exports.csv_text import write_csv
from tests.services.api.exports.sample import FORMULA, table


def test_machines_get_the_keys_and_the_json_numbers() -> None:
    body = write_csv(table())
    assert not body.startswith(b"\xef\xbb\xbf")  # no byte order mark
    assert body.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert rows[0] == ["rank", "unit.name", "points", "rate", "change", "list"]
    assert rows[1] == [
        "1",
        "Sở Tài chính",
        "19.3",
        "96.49",
        "0.05",
        "/units/so-tai-chinh/overdue?period=x",
    ]
    # Missing is empty; a cell of its own kind is still its number.
    assert rows[2][2:5] == ["", "3.5", "-1.25"]
    assert len(rows) == 4


def test_formula_like_text_is_prefixed_with_an_apostrophe() -> None:
    rows = list(csv.reader(io.StringIO(write_csv(table()).decode(), newline="")))
    assert rows[2][1] == "'" + FORMULA
    assert rows[3][1] == "'-1 đơn vị"
    assert rows[1][1] == "Sở Tài chính"
