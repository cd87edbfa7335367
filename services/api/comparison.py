"""Phụ lục I of the province's weekly letter: for the province and every unit, each group and
indicator of a period on two days (as kept in the history), and the change, in the letter's
order and with its labels.

The layout is presentation only: which rows, in which order, under which label. Numbers come
from the methodology's scores; the one row the letter derives ("Tỷ lệ hồ sơ xử lý quá hạn") is
shown as the complement of 2.1's counts. Indicators and groups of the methodology the letter does
not name follow its rows, under the methodology's titles, so another version loses nothing.
The rows are flat (unit × row, both days' values side by side) for a table writer to walk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.api import schemas
from services.api.history import directory, ranked_in, scores_on, unit_rank
from services.api.scores import unit_out
from shared.errors import InvalidInput
from shared.events import UnitLevel
from shared.methodology import IndicatorScore, Methodology, UnitScore
from shared.scores import history
from shared.scores.board import ScoreBoard
from shared.scores.repository import UnitRecord

RowKind = Literal["section", "group", "indicator", "complement"]


@dataclass(frozen=True, slots=True)
class Line:
    """A row of the letter: its number, what it shows (groups' codes for a section), its label."""

    stt: str | None
    kind: RowKind
    refs: tuple[str, ...]
    label: str


def _g(stt: str, code: str, label: str) -> Line:
    return Line(stt, "group", (code,), label)


def _i(stt: str, indicator: str, label: str) -> Line:
    return Line(stt, "indicator", (indicator,), label)


# Văn bản 578/VPUB-HCC, Phụ lục I, its rows with numbers the project counts.
LETTER: tuple[Line, ...] = (
    _g("I", "CKMB", "Công khai minh bạch"),
    _i("1", "1.1", "Tỷ lệ TTHC công bố đúng hạn"),
    _i("2", "1.2", "Tỷ lệ TTHC được cập nhật, công khai đúng hạn"),
    _i(
        "3",
        "1.3",
        "Tỷ lệ TTHC được công khai đầy đủ các nội dung quy định về các bộ phận cấu thành",
    ),
    _i("4", "1.4", "Tỷ lệ hồ sơ đồng bộ lên Cổng DVCQG"),
    _g("II", "TDGQ", "Tiến độ, kết quả giải quyết"),
    _i("5", "2.1", "Tỷ lệ hồ sơ xử lý đúng hạn"),
    Line("6", "complement", ("2.1",), "Tỷ lệ hồ sơ xử lý quá hạn"),
    Line("III", "section", ("CLGQ", "TTTT"), "Dịch vụ trực tuyến"),
    _g("7", "CLGQ", "Dịch vụ công trực tuyến"),
    _i("7.1", "3.1", "TTHC cung cấp dịch vụ công trực tuyến"),
    _i("7.3", "3.3", "Hồ sơ nộp trực tuyến"),
    _i("7.4", "3.2", "Tỷ lệ TTHC có DVC trực tuyến có phát sinh hồ sơ trên cổng DVCQG"),
    _g("8", "TTTT", "Thanh toán trực tuyến"),
    _i("8.1", "3.5b", "Tỷ lệ thủ tục hành chính có giao dịch thanh toán trực tuyến"),
    _i(
        "8.2",
        "3.5",
        "Tỷ lệ TTHC có yêu cầu nghĩa vụ tài chính được tích hợp để người dân có thể thanh toán"
        " trực tuyến trên Cổng DVCQG",
    ),
    _i("8.4", "3.6", "Tỷ lệ hồ sơ thanh toán trực tuyến"),
    _g("IV", "MDHL", "Mức độ hài lòng"),
    _i("9", "5.3", "Tỷ lệ hài lòng trong xử lý phản ánh, kiến nghị"),
    _i("10", "5.4", "Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC"),
    _i("11", "5.2", "Tỷ lệ phản ánh, kiến nghị xử lý đúng hạn"),
    _g("V", "MDSH", "Số hoá hồ sơ"),
    _i("12", "4.1", "Tỷ lệ hồ sơ thủ tục hành chính có cấp kết quả điện tử"),
    _i("13", "4.2", "Tỷ lệ hồ sơ TTHC số hoá hồ sơ, kết quả giải quyết TTHC"),
    _i("14", "4.3", "Tỷ lệ khai thác, sử dụng lại thông tin, dữ liệu số hoá"),
    _i("15", "4.6", "Tỷ lệ cung cấp dịch vụ chứng thực bản sao điện tử từ bản chính"),
)
_HUNDRED = Decimal(100)


def layout(methodology: Methodology) -> list[Line]:
    """The letter's rows the methodology has, each group's other indicators after its last
    row, and groups the letter lacks at the end."""
    groups = {g.code for g in methodology.groups}
    indicators = {i.id: i for i in methodology.indicators}
    lines = [
        line
        for line in LETTER
        if all(
            ref in (groups if line.kind in ("group", "section") else indicators)
            for ref in line.refs
        )
    ]
    named = {ref for line in lines if line.kind in ("indicator", "complement") for ref in line.refs}
    for group in methodology.groups:
        extra = [
            Line(None, "indicator", (i.id,), i.title)
            for i in methodology.indicators
            if i.group == group.code and i.id not in named
        ]
        places = [n for n, line in enumerate(lines) if _group_of(line, methodology) == group.code]
        if not places:
            lines.append(Line(None, "group", (group.code,), group.title))
            lines.extend(extra)
        else:
            at = places[-1] + 1
            lines[at:at] = extra
    return lines


def _group_of(line: Line, methodology: Methodology) -> str | None:
    if line.kind == "group":
        return line.refs[0]
    if line.kind == "section":
        return None
    return methodology.indicator(line.refs[0]).group


def _value(line: Line, score: UnitScore) -> tuple[schemas.ComparedValue, Decimal | None]:
    """A row's numbers in one unit's score, and the max points (of groups and indicators)."""
    if line.kind in ("group", "section"):
        groups = [g for g in score.groups if g.code in line.refs]
        points = sum((g.points for g in groups), Decimal(0))
        return schemas.ComparedValue(points=float(points)), sum(
            (g.max_points for g in groups), Decimal(0)
        )
    indicator = _indicator(score.indicators, line.refs[0])
    if line.kind == "complement":
        rate = None if indicator.rate is None else _HUNDRED - indicator.rate
        return schemas.ComparedValue(
            numerator=indicator.denominator - indicator.numerator,
            denominator=indicator.denominator,
            rate=None if rate is None else float(rate),
        ), None
    return schemas.ComparedValue(
        numerator=indicator.numerator,
        denominator=indicator.denominator,
        rate=None if indicator.rate is None else float(indicator.rate),
        points=float(indicator.points) if indicator.scored else None,
    ), indicator.max_points if indicator.scored else None


def _indicator(scores: Iterable[IndicatorScore], indicator_id: str) -> IndicatorScore:
    return next(i for i in scores if i.id == indicator_id)


def _difference(after: float | int | None, before: float | int | None) -> float | None:
    if after is None or before is None:
        return None
    return round(float(after) - float(before), 2)


def _row(line: Line, before: UnitScore, after: UnitScore) -> schemas.ComparisonRow:
    then, maximum = _value(line, before)
    now, _ = _value(line, after)
    numerator = (
        None if now.numerator is None or then.numerator is None else now.numerator - then.numerator
    )
    return schemas.ComparisonRow(
        stt=line.stt,
        kind=line.kind,
        code="+".join(line.refs),
        label=line.label,
        max_points=None if maximum is None else float(maximum),
        from_=then,
        to=now,
        change=schemas.ComparedChange(
            numerator=numerator,
            rate=_difference(now.rate, then.rate),
            points=_difference(now.points, then.points),
        ),
    )


def title(first: date, last: date) -> str:
    return (
        "SỐ LIỆU BỘ CHỈ SỐ CHỈ ĐẠO, ĐIỀU HÀNH VÀ ĐÁNH GIÁ CHẤT LƯỢNG PHỤC VỤ NGƯỜI DÂN, DOANH"
        " NGHIỆP TRONG THỰC HIỆN TTHC, DỊCH VỤ CÔNG TỪ NGÀY"
        f" {first:%d/%m/%Y} ĐẾN NGÀY {last:%d/%m/%Y}"
    )


async def comparison(
    session: AsyncSession,
    board: ScoreBoard,
    period_name: str,
    first: date,
    last: date,
    view: history.View,
) -> schemas.Comparison:
    if last < first:
        raise InvalidInput(f"from ({first}) is after to ({last})")
    periods = {day: history.period_on(board.calendar, period_name, day) for day in (first, last)}
    catalogue = await directory(session, board)
    kept = await scores_on(session, board, periods, view, catalogue)
    lines = layout(board.methodology)
    units: list[UnitRecord] = [
        unit
        for level in (UnitLevel.PROVINCE, UnitLevel.DEPARTMENT, UnitLevel.COMMUNE)
        for unit in catalogue.by_level.get(level, [])
    ]
    compared = []
    for unit in units:
        before = ranked_in(board, kept[first].scores, catalogue, unit)
        after = ranked_in(board, kept[last].scores, catalogue, unit)
        rank_before, rank_after = unit_rank(unit, before), unit_rank(unit, after)
        compared.append(
            schemas.ComparedUnit(
                unit=unit_out(unit),
                from_=schemas.ComparedStanding(total=float(before.score.total), rank=rank_before),
                to=schemas.ComparedStanding(total=float(after.score.total), rank=rank_after),
                total_change=float(after.score.total - before.score.total),
                rank_change=None
                if rank_before is None or rank_after is None
                else rank_before - rank_after,
                rows=[_row(line, before.score, after.score) for line in lines],
            )
        )
    return schemas.Comparison(
        title=title(first, last),
        view=view.value,
        methodology=board.methodology.version,
        from_=schemas.ComparedDay(
            day=first, period=periods[first].key, restated_at=kept[first].restated_at
        ),
        to=schemas.ComparedDay(
            day=last, period=periods[last].key, restated_at=kept[last].restated_at
        ),
        units=compared,
    )
