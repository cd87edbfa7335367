"""Each report's JSON body as a `Table`: its Vietnamese title and headers, its columns in the order
an office reads them, and exactly the JSON's numbers.

A new report plugs in with one function here, `(its schema) -> Table`, and its route passes it to
`export.renderer(...)`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.api import schemas
from services.api.exports.table import (
    Cell,
    Column,
    Group,
    Kind,
    Table,
    Value,
    alone,
    as_of_note,
    day_month_year,
    period_line,
)
from shared.methodology import Methodology

SOURCE_NOTE = "Số liệu lấy trên Bộ chỉ số theo Quyết định số 766/QĐ-TTg"
# Whose table it is, by the `level` of the query (None: both, as the seed letter's Phụ lục II).
LEVEL_TITLES: dict[str | None, str] = {
    "department": "CÁC SỞ, BAN, NGÀNH",
    "commune": "ỦY BAN NHÂN DÂN CÁC XÃ, PHƯỜNG",
    None: "CÁC SỞ, BAN, NGÀNH VÀ ỦY BAN NHÂN DÂN CÁC XÃ, PHƯỜNG",
}
LEVEL_NAMES: dict[str | None, str] = {
    "department": "sở ban ngành",
    "commune": "xã phường",
    None: "sở ban ngành và xã phường",
}
# Which numbers a comparison holds (`view`).
VIEW_NOTES = {
    "recorded": "số liệu như đã ghi nhận cuối mỗi ngày",
    "restated": "số liệu đã cập nhật các hồ sơ đến muộn",
}
# A group's or the total's row: points, no counts.
_NO_COUNTS = (None, None, None)
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def rankings(body: schemas.Rankings, methodology: Methodology, tz: ZoneInfo) -> Table:
    group_columns = tuple(
        Column(f"groups.{g.code}", f"{g.title} ({_points(g.max_points)})", Kind.DECIMAL)
        for g in methodology.groups
    )
    previous = next((i.change.previous_period for i in body.items if i.change), None)
    rows: list[tuple[Value, ...]] = []
    for item in body.items:
        change = item.change
        rows.append(
            (
                item.rank,
                item.unit.code,
                item.unit.name,
                item.total,
                *(item.groups.get(g.code) for g in methodology.groups),
                change.previous_total if change else None,
                change.total if change else None,
                change.previous_rank if change else None,
                change.rank if change else None,
            )
        )
    return Table(
        title=f"XẾP HẠNG {LEVEL_TITLES[body.level]} THEO BỘ CHỈ SỐ 766",
        period_line=period_line(body.period.start, body.period.end, tz),
        notes=(as_of_note(body.as_of, tz), f"Phương pháp tính: {body.methodology}"),
        groups=(
            alone(Column("rank", "Hạng", Kind.INTEGER, 7)),
            alone(Column("unit.code", "Mã đơn vị", width=18)),
            alone(Column("unit.name", "Đơn vị", width=40)),
            alone(Column("total", "Tổng điểm (100)", Kind.DECIMAL)),
            Group("Điểm theo nhóm chỉ số", group_columns),
            Group(
                f"So với kỳ trước ({previous})" if previous else "So với kỳ trước",
                (
                    Column("change.previous_total", "Tổng điểm kỳ trước", Kind.DECIMAL),
                    Column("change.total", "Tăng (+)/Giảm (-) điểm", Kind.SIGNED_DECIMAL),
                    Column("change.previous_rank", "Hạng kỳ trước", Kind.INTEGER),
                    Column("change.rank", "Tăng (+)/Giảm (-) hạng", Kind.SIGNED_INTEGER),
                ),
            ),
        ),
        rows=tuple(rows),
        file_stem=f"Xếp hạng {LEVEL_NAMES[body.level]}-{_file_period(body.period.key)}",
        sheet="Xếp hạng",
        frozen_columns=3,
        as_of=body.as_of,
    )


def unit_detail(body: schemas.UnitDetail, methodology: Methodology, tz: ZoneInfo) -> Table:
    """As the seed letter's Phụ lục I lays a unit out: the total, then each group (I, II, …)
    followed by its indicators, numbered on."""
    rows: list[tuple[Value, ...]] = [
        (None, None, None, "Tổng điểm", *_NO_COUNTS, body.total, 100.0),
    ]
    number = 0
    for roman, group in zip(_ROMAN, body.groups, strict=False):
        rows.append(
            (
                roman,
                group.code,
                group.code,
                group.title,
                *_NO_COUNTS,
                group.points,
                group.max_points,
            )
        )
        for indicator in (i for i in body.indicators if i.group == group.code):
            number += 1
            days = methodology.indicator(indicator.id).measure == "average_days"
            rate: Value = Cell(indicator.rate, Kind.DECIMAL) if days else indicator.rate
            identity = (str(number), indicator.id, indicator.group, indicator.title)
            counts = (indicator.numerator, indicator.denominator, rate)
            rows.append((*identity, *counts, indicator.points, indicator.max_points))
    return Table(
        title=f"KẾT QUẢ BỘ CHỈ SỐ 766: {body.unit.name}",
        period_line=period_line(body.period.start, body.period.end, tz),
        notes=(as_of_note(body.as_of, tz), _standing(body)),
        groups=(
            alone(Column("position", "STT", width=6)),
            alone(Column("id", "Mã", width=8)),
            alone(Column("group", "Nhóm", width=8)),
            alone(Column("title", "Chỉ tiêu", width=56)),
            Group(
                "Số liệu",
                (
                    Column("numerator", "Tử số", Kind.INTEGER),
                    Column("denominator", "Mẫu số", Kind.INTEGER),
                    # A percent, but for 2.2 the average days.
                    Column("rate", "Tỷ lệ (%) / số ngày", Kind.PERCENT),
                ),
            ),
            Group(
                "Điểm",
                (
                    Column("points", "Điểm", Kind.DECIMAL),
                    Column("max_points", "Điểm tối đa", Kind.DECIMAL),
                ),
            ),
        ),
        rows=tuple(rows),
        file_stem=f"{body.unit.name}-{_file_period(body.period.key)}-chỉ số",
        sheet="Chỉ số",
        frozen_columns=4,
        as_of=body.as_of,
    )


def overdue_report(body: schemas.OverdueReport, tz: ZoneInfo) -> Table:
    """The seed letter's Phụ lục II, with each count's list beside it."""
    rows = tuple(
        (position, item.unit.code, item.unit.name, item.overdue, item.dossiers)
        for position, item in enumerate(body.items, start=1)
    )
    return Table(
        title=f"HỒ SƠ QUÁ HẠN XỬ LÝ TRONG KỲ CỦA {LEVEL_TITLES[body.level]}",
        period_line=period_line(body.period.start, body.period.end, tz),
        notes=(
            f"{SOURCE_NOTE}. {as_of_note(body.as_of, tz)}",
            f"Tổng số: {body.total} hồ sơ quá hạn tại {len(body.items)} đơn vị",
        ),
        groups=(
            alone(Column("position", "STT", Kind.INTEGER, 6)),
            alone(Column("unit.code", "Mã đơn vị", width=18)),
            alone(Column("unit.name", "Đơn vị giải quyết TTHC", width=44)),
            Group(
                "Hồ sơ quá hạn xử lý trong kỳ",
                (
                    Column("overdue", "Số hồ sơ", Kind.INTEGER),
                    Column("dossiers", "Danh sách hồ sơ", Kind.LINK, 18),
                ),
            ),
        ),
        rows=rows,
        file_stem=f"Hồ sơ quá hạn {LEVEL_NAMES[body.level]}-{_file_period(body.period.key)}",
        sheet="Hồ sơ quá hạn",
        frozen_columns=3,
        as_of=body.as_of,
    )


def comparison(body: schemas.Comparison, methodology: Methodology) -> Table:
    """The seed letter's Phụ lục I: for each unit, its total and rank, then its rows (groups and
    indicators in the letter's numbering), each on both days and the change."""
    first, last = body.from_.day, body.to.day
    rows: list[tuple[Value, ...]] = []
    for unit in body.units:
        identity = (unit.unit.code, unit.unit.name)
        rows.append(
            (
                *identity,
                None,
                "Tổng điểm",
                100.0,
                None,
                None,
                None,
                unit.from_.total,
                None,
                None,
                None,
                unit.to.total,
                None,
                None,
                unit.total_change,
                unit.from_.rank,
                unit.to.rank,
            )
        )
        for row in unit.rows:
            days = row.kind == "indicator" and _in_days(methodology, row.code)
            rows.append(
                (
                    *identity,
                    row.stt,
                    row.label,
                    row.max_points,
                    *_compared(row.from_, days),
                    *_compared(row.to, days),
                    row.change.numerator,
                    Cell(row.change.rate, Kind.SIGNED_DECIMAL) if days else row.change.rate,
                    row.change.points,
                    None,
                    None,
                )
            )

    def on(day: date, key: str) -> Group:
        return Group(
            f"Ngày {day_month_year(day)}",
            (
                Column(f"{key}.numerator", "Tử số", Kind.INTEGER),
                Column(f"{key}.denominator", "Mẫu số", Kind.INTEGER),
                Column(f"{key}.rate", "Tỷ lệ (%)", Kind.PERCENT),
                Column(f"{key}.points", "Điểm", Kind.DECIMAL),
            ),
        )

    return Table(
        title=body.title,
        period_line=f"Từ ngày {day_month_year(first)} đến ngày {day_month_year(last)}",
        notes=(
            SOURCE_NOTE,
            f"Kỳ so sánh: {body.from_.period} và {body.to.period}; phương pháp tính: "
            f"{body.methodology}; {VIEW_NOTES.get(body.view, body.view)}",
        ),
        groups=(
            alone(Column("unit.code", "Mã đơn vị", width=18)),
            alone(Column("unit.name", "Đơn vị", width=36)),
            alone(Column("stt", "STT", width=6)),
            alone(Column("label", "Chỉ tiêu", width=56)),
            alone(Column("max_points", "Điểm tối đa", Kind.DECIMAL)),
            on(first, "from"),
            on(last, "to"),
            Group(
                "Tăng (+)/Giảm (-)",
                (
                    Column("change.numerator", "Tử số", Kind.SIGNED_INTEGER),
                    Column("change.rate", "Tỷ lệ (%)", Kind.SIGNED_PERCENT),
                    Column("change.points", "Điểm", Kind.SIGNED_DECIMAL),
                ),
            ),
            Group(
                "Xếp hạng",
                (
                    Column("from.rank", f"Ngày {day_month_year(first)}", Kind.INTEGER),
                    Column("to.rank", f"Ngày {day_month_year(last)}", Kind.INTEGER),
                ),
            ),
        ),
        rows=tuple(rows),
        file_stem=f"So sánh chỉ số 766-{first:%Y%m%d}-{last:%Y%m%d}",
        sheet="So sánh",
        frozen_columns=4,
    )


def _compared(value: schemas.ComparedValue, days: bool) -> tuple[Value, ...]:
    rate: Value = Cell(value.rate, Kind.DECIMAL) if days else value.rate
    return (value.numerator, value.denominator, rate, value.points)


def _in_days(methodology: Methodology, indicator_id: str) -> bool:
    """2.2's rate is an average of days, not a percent."""
    try:
        return methodology.indicator(indicator_id).measure == "average_days"
    except KeyError:
        return False


def _standing(body: schemas.UnitDetail) -> str:
    standing = f"Tổng điểm {_vietnamese(body.total)}/100"
    if body.rank is not None:
        standing += f", xếp hạng {body.rank}"
    if body.change is not None:
        sign = "+" if body.change.total >= 0 else ""
        standing += (
            f"; so với kỳ {body.change.previous_period}: "
            f"{sign}{_vietnamese(body.change.total)} điểm"
        )
    return standing


def _vietnamese(points: float) -> str:
    """88.51 → "88,51": a number inside Vietnamese text."""
    return f"{points:.2f}".replace(".", ",")


def _points(points: Decimal) -> str:
    return f"{points:g}"


def _file_period(key: str) -> str:
    # A range's "..", which some systems refuse in a file's name.
    return key.replace("..", "_")
