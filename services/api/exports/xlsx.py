"""A `Table` as the XLSX file an office sends (XlsxWriter): a title row, the period line, two
levels of headers, numbers stored as numbers with a display format, the identity columns and
headers frozen, an autofilter over the headers.

Text is always written as text, never as a formula: XlsxWriter's `write()` would turn "=…" into
one, so every cell goes through its typed writer, and text that Excel would read as a formula
once edited (it begins with = + - @) carries the quote prefix (shown as '=… in the formula bar).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from services.api.exports.table import (
    NUMERIC_KINDS,
    Cell,
    Kind,
    Scalar,
    Table,
    Value,
    is_formula_like,
    number,
    text,
)

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LINK_TEXT = "Xem danh sách"

_NUMBER_FORMATS: dict[Kind, str] = {
    Kind.INTEGER: "#,##0",
    Kind.DECIMAL: "#,##0.00",
    Kind.PERCENT: "0.00%",
    Kind.SIGNED_DECIMAL: "+#,##0.00;-#,##0.00;0.00",
    Kind.SIGNED_INTEGER: "+#,##0;-#,##0;0",
    Kind.SIGNED_PERCENT: "+0.00%;-0.00%;0.00%",
}
_WIDTHS: dict[Kind, float] = {Kind.TEXT: 24, Kind.LINK: 16}
_NUMBER_WIDTH = 12.0
# Excel's own limits on a sheet's name.
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_SHEET_NAME_LENGTH = 31


def write_xlsx(table: Table, base_url: str, created: datetime | None) -> bytes:
    """The workbook's bytes. Links are made absolute with `base_url` (the api's own address)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            # Belts and braces: only the typed writers below are used.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    # A fixed creation time: the same numbers give the same bytes.
    workbook.set_properties(
        {"title": table.title, "created": (created or datetime(2000, 1, 1, tzinfo=UTC))}
    )
    sheet = workbook.add_worksheet(sheet_name(table.sheet))
    _Sheet(workbook, sheet, table, base_url.rstrip("/")).write()
    workbook.close()
    return buffer.getvalue()


def sheet_name(name: str) -> str:
    return _SHEET_NAME.sub(" ", name)[:_SHEET_NAME_LENGTH].strip() or "Báo cáo"


class _Sheet:
    def __init__(self, workbook: Any, sheet: Worksheet, table: Table, base_url: str) -> None:
        self.workbook = workbook
        self.sheet = sheet
        self.table = table
        self.base_url = base_url
        self.columns = table.columns
        # Each look with its quote-prefixed twin, for text that reads as a formula.
        self._quoted: dict[Format, Format] = {}
        border = {"border": 1, "valign": "vcenter"}
        self.title = self._format({"bold": True, "font_size": 13, "align": "center"})
        self.period = self._format({"italic": True, "align": "center"})
        self.note = self._format({"italic": True})
        self.header = self._format(
            {**border, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"}
        )
        self.text = self._format({**border, "text_wrap": True})
        self.link = workbook.add_format({**border, "font_color": "blue", "underline": 1})
        self.numbers: dict[Kind, Format] = {
            kind: workbook.add_format({**border, "num_format": pattern})
            for kind, pattern in _NUMBER_FORMATS.items()
        }

    def _format(self, properties: dict[str, Any]) -> Format:
        style: Format = self.workbook.add_format(properties)
        self._quoted[style] = self.workbook.add_format({**properties, "quote_prefix": True})
        return style

    def write(self) -> None:
        last_column = len(self.columns) - 1
        row = self._banner(0, self.table.title, self.title, last_column)
        row = self._banner(row, self.table.period_line, self.period, last_column)
        for note in self.table.notes:
            row = self._banner(row, note, self.note, last_column)
        first_header = row + 1  # a blank row under the banners
        last_header = self._headers(first_header)
        first_data = last_header + 1
        for offset, values in enumerate(self.table.rows):
            for column, (spec, value) in enumerate(zip(self.columns, values, strict=True)):
                self._cell(first_data + offset, column, spec.kind, value)
        for column, spec in enumerate(self.columns):
            width = spec.width or _WIDTHS.get(spec.kind, _NUMBER_WIDTH)
            self.sheet.set_column(column, column, width)
        self.sheet.freeze_panes(first_data, self.table.frozen_columns)
        last_row = max(first_data + len(self.table.rows) - 1, last_header)
        self.sheet.autofilter(last_header, 0, last_row, last_column)
        self.sheet.repeat_rows(first_header, last_header)
        self.sheet.set_landscape()
        self.sheet.fit_to_pages(1, 0)

    def _banner(self, row: int, text: str, style: Format, last_column: int) -> int:
        if last_column > 0:
            self.sheet.merge_range(row, 0, row, last_column, "", style)
        self._text(row, 0, text, style)
        return row + 1

    def _headers(self, top: int) -> int:
        """The header rows from `top`; the last header row's index."""
        bottom = top + 1 if self.table.two_level else top
        column = 0
        for group in self.table.groups:
            if group.label is None:
                (spec,) = group.columns
                self._header(top, column, bottom, column, spec.label)
                column += 1
                continue
            self._header(top, column, top, column + len(group.columns) - 1, group.label)
            for spec in group.columns:
                self._header(bottom, column, bottom, column, spec.label)
                column += 1
        return bottom

    def _header(self, first_row: int, first: int, last_row: int, last: int, label: str) -> None:
        if (first_row, first) != (last_row, last):
            self.sheet.merge_range(first_row, first, last_row, last, "", self.header)
        self._text(first_row, first, label, self.header)

    def _cell(self, row: int, column: int, kind: Kind, value: Value) -> None:
        if isinstance(value, Cell):
            kind, value = value.kind, value.value
        if value is None:
            # Missing stays missing, never 0 (but keeps the column's look).
            self.sheet.write_blank(row, column, None, self._style(kind))
        elif kind in NUMERIC_KINDS:
            self.sheet.write_number(row, column, _stored(kind, value), self.numbers[kind])
        elif kind is Kind.LINK:
            path = text(kind, value)
            self.sheet.write_url(
                row, column, self.base_url + path, self.link, string=LINK_TEXT, tip=path
            )
        else:
            self._text(row, column, text(kind, value), self.text)

    def _text(self, row: int, column: int, text: str, style: Format) -> None:
        if is_formula_like(text):
            style = self._quoted[style]
        self.sheet.write_string(row, column, text, style)

    def _style(self, kind: Kind) -> Format:
        if kind in NUMERIC_KINDS:
            return self.numbers[kind]
        return self.link if kind is Kind.LINK else self.text


def _stored(kind: Kind, value: Scalar) -> float:
    stored = number(kind, value)
    if kind in (Kind.PERCENT, Kind.SIGNED_PERCENT):
        return stored / 100  # the spreadsheet's percent format multiplies by 100
    return stored
