"""The simulated catalogue: each unit's procedures, their publishing decisions, and the events
that announce them on `catalog.events`."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from services.simulator.province import SimUnit
from shared.workdays import WorkingCalendar

SOURCE = "simulator"
WORKDAYS = WorkingCalendar()
DEPARTMENT_PROCEDURES = 30
COMMUNE_PROCEDURES = 110
COMMUNE_NAMES = (
    "Đăng ký khai sinh",
    "Đăng ký kết hôn",
    "Đăng ký khai tử",
    "Chứng thực bản sao từ bản chính",
    "Cấp bản sao trích lục hộ tịch",
    "Xác nhận tình trạng hôn nhân",
    "Đăng ký thường trú",
    "Cấp giấy phép xây dựng nhà ở riêng lẻ",
)


@dataclass(frozen=True, slots=True)
class SimProcedure:
    code: str
    name: str
    level: str
    unit_codes: tuple[str, ...]
    online_service: str
    has_fee: bool
    paper_result_required: bool
    for_individuals: bool
    max_processing_days: int
    # How often citizens use it, relative to the unit's other procedures.
    popularity: float

    @property
    def online(self) -> bool:
        return self.online_service != "NONE"


def build_procedures(rng: random.Random, units: list[SimUnit]) -> dict[str, list[SimProcedure]]:
    """{unit code: its procedures}: each department its own, every commune the same list."""

    def draw(
        code: str, name: str, level: str, unit_codes: tuple[str, ...], rank: int
    ) -> SimProcedure:
        return SimProcedure(
            code=code,
            name=name,
            level=level,
            unit_codes=unit_codes,
            online_service=rng.choices(["FULL", "PARTIAL", "NONE"], [45, 35, 20])[0],
            has_fee=rng.random() < 0.4,
            paper_result_required=rng.random() < 0.6,
            for_individuals=rng.random() < 0.75,
            max_processing_days=rng.choice([1, 3, 5, 7, 10, 15, 20]),
            # A few procedures take most dossiers; many are rarely used (Zipf-like).
            popularity=1 / (rank + 1),
        )

    communes = [
        draw(
            f"2.{number:06d}",
            COMMUNE_NAMES[number] if number < len(COMMUNE_NAMES) else f"Thủ tục cấp xã {number}",
            "COMMUNE",
            (),
            number,
        )
        for number in range(COMMUNE_PROCEDURES)
    ]
    result: dict[str, list[SimProcedure]] = {}
    departments = [u for u in units if u.level == "DEPARTMENT"]
    for index, unit in enumerate(departments, start=1):
        result[unit.code] = [
            draw(
                f"1.{index:02d}{number:04d}",
                f"Thủ tục {number + 1} của {unit.name}",
                "DEPARTMENT",
                (unit.code,),
                number,
            )
            for number in range(DEPARTMENT_PROCEDURES)
        ]
    for unit in units:
        if unit.level == "COMMUNE":
            result[unit.code] = communes
    return result


def procedure_event(procedure: SimProcedure, at: datetime) -> dict[str, Any]:
    return {
        "event_id": f"sim-procedure-{procedure.code}",
        "schema_version": 1,
        "source": SOURCE,
        "occurred_at": at.isoformat(timespec="seconds"),
        "type": "PROCEDURE",
        "procedure_code": procedure.code,
        "name": procedure.name,
        "levels": [procedure.level],
        "unit_codes": list(procedure.unit_codes),
        "online_service": procedure.online_service,
        "full_online_eligible": procedure.online_service == "FULL",
        "paper_result_required": procedure.paper_result_required,
        "has_fee": procedure.has_fee,
        "max_processing_days": procedure.max_processing_days,
        "for_individuals": procedure.for_individuals,
    }


def publication_events(
    rng: random.Random, procedure: SimProcedure, first: date, last: date, tz: Any
) -> list[tuple[datetime, dict[str, Any]]]:
    """A procedure's publishing decisions between two days, if any: each announced on the day
    it is decided, and again on the day it is made public on the national database."""
    events: list[tuple[datetime, dict[str, Any]]] = []
    if rng.random() > 0.25:
        return events
    decided = first + timedelta(days=rng.randrange(max((last - first).days, 1)))
    if not WORKDAYS.is_working_day(decided):
        decided = WORKDAYS.shift(decided, 1)
    # Most decisions come well before their legal basis takes effect; some at the last minute.
    effective = WORKDAYS.shift(
        decided, rng.choices([2, 4, 8, 10, 15, 20], [4, 6, 30, 30, 20, 10])[0]
    )
    published = WORKDAYS.shift(
        decided, rng.choices([1, 2, 3, 4, 5, 7, 9], [25, 25, 20, 10, 8, 7, 5])[0]
    )
    base = {
        "schema_version": 1,
        "source": SOURCE,
        "type": "PUBLICATION",
        "procedure_code": procedure.code,
        "decision_date": decided.isoformat(),
        "legal_effective_date": effective.isoformat(),
    }
    key = f"{procedure.code}-{decided:%Y%m%d}"
    for day, fields in (
        (decided, {}),
        (
            published,
            {"published_at": published.isoformat(), "components_complete": rng.random() < 0.93},
        ),
    ):
        at = datetime.combine(day, time(16, 30), tz)
        event = {
            **base,
            "event_id": f"sim-publication-{key}-{len(events) + 1}",
            "occurred_at": at.isoformat(timespec="seconds"),
            **fields,
        }
        events.append((at, event))
    return events
