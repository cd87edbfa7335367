"""A report as a table: what the XLSX and CSV writers need, and nothing of HTTP or the database.

    Table ── title, period line ("Từ ngày … đến ngày …"), notes
          ├─ groups: the two levels of headers; a group's label stands over its columns,
          │          a column of no group spans both header rows
          └─ rows: one value per column, typed by the column's kind (or by a `Cell`'s own)

Values are what the JSON says, unchanged: a rate is in percent (96.49) in both; the XLSX writer
stores it as the fraction a spreadsheet's percent format expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Kind(StrEnum):
    """How a column's values are stored and shown."""

    TEXT = "text"
    # Counts and ranks.
    INTEGER = "integer"
    # Points and averages, two decimals.
    DECIMAL = "decimal"
    # A rate in percent, as the JSON gives it (96.49).
    PERCENT = "percent"
    # Changes, shown with their sign: points, places or counts, percentage points.
    SIGNED_DECIMAL = "signed_decimal"
    SIGNED_INTEGER = "signed_integer"
    SIGNED_PERCENT = "signed_percent"
    # A path of the api: the list behind a number.
    LINK = "link"


NUMERIC_KINDS = frozenset(Kind) - {Kind.TEXT, Kind.LINK}
# What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Scalar = str | int | float | None


@dataclass(frozen=True, slots=True)
class Cell:
    """A value of another kind than its column's (2.2's average days in a column of rates)."""

    value: Scalar
    kind: Kind


Value = Scalar | Cell


@dataclass(frozen=True, slots=True)
class Column:
    # The machine's name: the CSV header, the JSON field the values come from.
    key: str
    # The people's name: the XLSX header.
    label: str
    kind: Kind = Kind.TEXT
    # In characters; None: the kind's usual width.
    width: float | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """Columns under one header; with no label, a single column headed over both rows."""

    label: str | None
    columns: tuple[Column, ...]


def alone(column: Column) -> Group:
    return Group(None, (column,))


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    period_line: str
    groups: tuple[Group, ...]
    rows: tuple[tuple[Value, ...], ...]
    # The file's name without its extension; Vietnamese is welcome (`disposition` encodes it).
    file_stem: str
    sheet: str = "Báo cáo"
    notes: tuple[str, ...] = ()
    # The identity columns (rank, code, name), kept in view when scrolling sideways.
    frozen_columns: int = 0
    # The instant the numbers stand at: the file's creation time (the same numbers, the same
    # bytes).
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        columns = self.columns
        keys = [column.key for column in columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"column keys are not unique: {keys}")
        if any(not group.columns for group in self.groups):
            raise ValueError("a group without columns")
        if not 0 <= self.frozen_columns <= len(columns):
            raise ValueError(f"{self.frozen_columns} frozen columns of {len(columns)}")
        for row in self.rows:
            if len(row) != len(columns):
                raise ValueError(f"a row of {len(row)} values for {len(columns)} columns")

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(column for group in self.groups for column in group.columns)

    @property
    def two_level(self) -> bool:
        return any(group.label is not None for group in self.groups)


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def number(kind: Kind, value: Scalar) -> int | float:
    """A numeric cell's value; anything else in one is a bug of the table's description."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"a {kind} cell holds a number, not {value!r}")
    return value


def text(kind: Kind, value: Scalar) -> str:
    if not isinstance(value, str):
        raise TypeError(f"a {kind} cell holds text, not {value!r}")
    return value


def day_month_year(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def period_line(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """ "Từ ngày 22/09/2025 đến ngày 29/09/2025" for the local days of `[start, end)`."""
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return f"Từ ngày {day_month_year(first)} đến ngày {day_month_year(last)}"


def as_of_note(as_of: datetime | None, tz: ZoneInfo) -> str:
    """When the numbers stand: the instant scoring's counts are evaluated at."""
    if as_of is None:
        return "Chưa có số liệu"
    local = as_of.astimezone(tz)
    return f"Số liệu tính đến {local:%H:%M} ngày {day_month_year(local.date())}"
