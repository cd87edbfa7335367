"""A table of every kind of column, and reading an XLSX back as a reader of it would."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from services.api.exports.table import Cell, Column, Group, Kind, Table, alone, period_line

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# 22/09/2025 00:00 to 30/09/2025 00:00 in Hà Nội: the seed letter's week.
START = datetime(2025, 9, 21, 17, tzinfo=UTC)
END = datetime(2025, 9, 29, 17, tzinfo=UTC)
FORMULA = '=HYPERLINK("http://evil.example/","bấm")'


def table(rows: tuple[tuple[object, ...], ...] | None = None) -> Table:
    return Table(
        title="SỐ HỒ SƠ QUÁ HẠN",
        period_line=period_line(START, END, TZ),
        notes=("Số liệu tính đến 10:00 ngày 29/09/2025",),
        groups=(
            alone(Column("rank", "Hạng", Kind.INTEGER)),
            alone(Column("unit.name", "Đơn vị")),
            Group(
                "Điểm",
                (
                    Column("points", "Điểm", Kind.DECIMAL),
                    Column("rate", "Tỷ lệ (%)", Kind.PERCENT),
                    Column("change", "Tăng/giảm", Kind.SIGNED_DECIMAL),
                    Column("list", "Danh sách", Kind.LINK),
                ),
            ),
        ),
        rows=rows  # type: ignore[arg-type]
        or (
            (1, "Sở Tài chính", 19.3, 96.49, 0.05, "/units/so-tai-chinh/overdue?period=x"),
            (2, FORMULA, None, Cell(3.5, Kind.DECIMAL), -1.25, "/units/x/overdue?period=x"),
            (3, "-1 đơn vị", 0.0, 0.0, None, "/units/y/overdue?period=x"),
        ),
        file_stem="Hồ sơ quá hạn-2025-09-22_2025-09-29",
        frozen_columns=2,
        as_of=END,
    )


def sheet(body: bytes) -> Worksheet:
    worksheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert isinstance(worksheet, Worksheet)
    return worksheet


# In `table()`'s sheet: title, period, note, a blank row, two header rows, then the data.
FIRST_DATA_ROW = 7
