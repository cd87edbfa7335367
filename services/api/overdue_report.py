"""The overdue report (the seed letter's Phụ lục II): the units with overdue dossiers processed in
a window of days, how many each, each count linking to the overdue list that holds exactly them.

The count is the overdue list's own selection (`repository.overdue_conditions`) grouped by unit,
not a second rule: a dossier is overdue as scoring last evaluated it (`shared.rules.ontime`, kept
in `dossiers.outcome`: finished late, or in progress past its due date) and was processed in the
window if it was received before the window's end and its clock had not stopped before its first
day. Units come as the letter lists them: departments, then communes, then any other, each level
in the province's order of units (the directory's, by code); never by count.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from services.api import repository, schemas
from services.api.scores import period_out, unit_out
from shared.events import UnitLevel
from shared.periods import Period
from shared.scores.repository import UnitRecord

LEVEL_ORDER: dict[str, int] = {UnitLevel.DEPARTMENT: 0, UnitLevel.COMMUNE: 1}


def letter_order(unit: UnitRecord) -> tuple[int, str]:
    return LEVEL_ORDER.get(unit.level or "", len(LEVEL_ORDER)), unit.code


def overdue_list(unit_code: str, window: Period) -> str:
    return f"/units/{quote(unit_code, safe='')}/overdue?period={window.key}"


async def overdue_report(
    session: AsyncSession,
    units: Mapping[str, UnitRecord],
    window: Period,
    level: str | None,
    as_of: datetime | None,
) -> schemas.OverdueReport:
    counts = await repository.overdue_counts(
        session, active_from=window.start, active_before=window.end
    )
    # A unit known only from its dossiers is in the directory too; by its code if not yet.
    listed = [units.get(code) or UnitRecord(code, code, None) for code in counts]
    if level is not None:
        listed = [unit for unit in listed if unit.level == level.upper()]
    listed.sort(key=letter_order)
    return schemas.OverdueReport(
        period=period_out(window),
        level=level,
        as_of=as_of,
        total=sum(counts[unit.code] for unit in listed),
        items=[
            schemas.OverdueReportItem(
                unit=unit_out(unit),
                overdue=counts[unit.code],
                dossiers=overdue_list(unit.code, window),
            )
            for unit in listed
        ],
    )
