"""The read path of `/units/{code}/guidance` and `/units/{code}/due-soon`.

    versions (one read, or memory) ──▶ ETag ──▶ 304
                                        └──▶ the period's kept counts (every unit's, once)
                                             + the catalogue's indicators from its activity
                                             + the unit's dossiers in progress (one indexed read)
                                             ──▶ shared.rules.guidance ──▶ schema

The rules are `shared.rules.guidance`'s; this module reads what they need and words the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.api import repository, schemas
from services.api.scores import period_out, unit_out
from shared.events import UnitLevel
from shared.periods import Period
from shared.rules import guidance as rules
from shared.rules.contributions import ON_TIME, SATISFACTION
from shared.rules.guidance import FixKind, Listing
from shared.scores import repository as scores
from shared.scores.board import ScoreBoard, Versions
from shared.scores.repository import UnitRecord
from shared.workdays import OfficeHours

DESCRIPTIONS: dict[FixKind, str] = {
    FixKind.NOT_SYNCED: "dossiers not synced to the national portal",
    FixKind.NOT_ONLINE_WITH_RESULT: "dossiers not submitted online, or online without the "
    "electronic result their procedure requires",
    FixKind.NOT_PAID_ONLINE: "fee-bearing dossiers not paid online",
    FixKind.NO_E_RESULT: "dossiers without the electronic result their procedure requires",
    FixKind.NOT_DIGITIZED: "dossiers not digitized (or without the electronic result required)",
    FixKind.NO_DATA_REUSE: "dossiers not reusing already-digitized data",
    FixKind.NOT_LINKED_TO_PERSONAL_STORE: "dossiers neither taking from nor sending to the "
    "citizen's personal data store",
    FixKind.NO_POPULATION_DATA: "dossiers not authenticated with VNeID nor using the "
    "population database",
    FixKind.OVERDUE: "dossiers overdue (finished late, or in progress past their due time)",
    FixKind.DUE_SOON: "dossiers in progress that go late within the working hours asked "
    "unless they finish: the points they keep by finishing on time",
    FixKind.NOT_SATISFIED: "dossiers overdue, complained about or rated unsatisfied",
    FixKind.FEEDBACK_LATE: "feedback handled late or past its deadline",
    FixKind.FEEDBACK_NOT_SATISFIED: "feedback disliked, raised again or late",
    FixKind.NO_ONLINE_SERVICE: "procedures with no online service (offered online, they also "
    "join 3.2's denominator)",
    FixKind.ONLINE_WITHOUT_DOSSIER: "online services with no online dossier this period",
    FixKind.FEE_WITHOUT_FEE_DATA: "fee-bearing procedures with no dossier carrying fee data "
    "this period",
    FixKind.FEE_PAID_OFFLINE: "fee-bearing procedures whose dossiers this period were all paid "
    "offline (one paid online counts in 3.6 too)",
    FixKind.FEE_WITHOUT_DOSSIER: "fee-bearing procedures with no dossier this period, so no "
    "online payment",
    FixKind.NO_POPULATION_DATA_PROCEDURE: "procedures for individuals with no dossier using "
    "population data this period",
    FixKind.PUBLISHED_LATE: "procedures whose publishing decision came late (the province's)",
    FixKind.MADE_PUBLIC_LATE: "procedures made public late on the national database "
    "(the province's)",
    FixKind.COMPONENTS_NOT_DISCLOSED: "public procedures without every component disclosed "
    "(the province's)",
    FixKind.NO_E_CERTIFIED_COPY: "communes not offering electronic certified copies "
    "(the province's)",
}
ON_TIME_CASE = "every dossier in progress finishes at its due time (those already late finish late)"
STALLED_CASE = (
    "no dossier in progress finishes before the period ends: those late stay late, those "
    "due before the end go late"
)


# Dossiers in progress from which a guidance is computed in a worker process (about 0.15 ms each
# here, where sending them costs a few µs each).
OFF_LOOP_FROM_STATES = 500


def office_hours(board: ScoreBoard) -> OfficeHours:
    return OfficeHours(board.catalogue.workdays)


def _owner(unit: UnitRecord) -> str | None:
    """Whose dossiers a unit's guidance reads: its own, or every unit's for the province."""
    return None if unit.level == UnitLevel.PROVINCE else unit.code


async def _computed(
    board: ScoreBoard,
    situation: rules.Situation,
    states: Sequence[str],
    horizon: datetime,
) -> rules.Guidance:
    """The rules' answer. Many dossiers in progress (the province reads every unit's, seconds of
    work) go to the board's worker processes, as ranges do, so that this process keeps
    answering the polls meanwhile; a unit's few are evaluated here, where sending costs more."""
    if board.ranges is None or len(states) < OFF_LOOP_FROM_STATES:
        return rules.guidance_of_states(situation, states, horizon)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        board.ranges, rules.guidance_of_states, situation, states, horizon
    )


async def guidance(
    session: AsyncSession,
    board: ScoreBoard,
    unit: UnitRecord,
    period: Period,
    versions: Versions,
    within_hours: float,
    now: datetime,
) -> schemas.Guidance:
    as_of = versions.as_of or now
    stored = await board.stored_counts(session, period, versions.as_of)
    activity = stored.activity
    catalogue = await board.catalogue.rules(session, versions.catalogue)
    situation = rules.Situation(
        methodology=board.methodology,
        unit_code=unit.code,
        province_code=board.province_code,
        period=period,
        counts=board.with_catalogue(stored, catalogue, period, versions.day),
        rules=catalogue,
        activity=activity,
        catalogue_at=board.catalogue_instant(versions.day),
        as_of=as_of,
    )
    states = await repository.in_progress_states(session, _owner(unit), period.end)
    horizon = office_hours(board).hours_after(as_of, within_hours)
    found = await _computed(board, situation, states, horizon)
    links = _Links(unit.code, period.key, within_hours)
    return schemas.Guidance(
        unit=unit_out(unit),
        period=period_out(period, versions.current.restated_at),
        methodology=board.methodology.version,
        as_of=versions.as_of,
        total=float(found.unit.total),
        province_total=float(found.province.total),
        within_hours=within_hours,
        indicators=[
            schemas.IndicatorGuidanceOut(
                id=item.score.id,
                group=item.score.group,
                title=item.score.title,
                numerator=item.score.numerator,
                denominator=item.score.denominator,
                points=float(item.score.points),
                max_points=float(item.score.max_points),
                at_stake=float(item.at_stake),
                fixes=[_fix_out(valued, links) for valued in item.fixes],
            )
            for item in found.indicators
        ],
        forecast=schemas.ForecastOut(
            period_end=period.end,
            in_progress=found.forecast.in_progress,
            on_time=_scenario_out(found.forecast.on_time, ON_TIME_CASE),
            stalled=_scenario_out(found.forecast.stalled, STALLED_CASE),
        ),
    )


class _Links:
    def __init__(self, code: str, period_key: str, within_hours: float) -> None:
        self.code, self.period_key, self.within_hours = code, period_key, within_hours

    def of(self, fix: rules.Fix) -> str:
        if fix.listing is Listing.OVERDUE:
            return f"/units/{self.code}/overdue?period={self.period_key}"
        if fix.listing is Listing.DUE_SOON:
            return f"/units/{self.code}/due-soon?within_hours={self.within_hours:g}"
        return (
            f"/units/{self.code}/indicators/{fix.indicator}/{fix.listing.value}"
            f"?period={self.period_key}&part=shortfall"
        )


def _fix_out(valued: rules.Valued, links: _Links) -> schemas.FixOut:
    fix = valued.fix
    return schemas.FixOut(
        kind=fix.kind.value,
        description=DESCRIPTIONS[fix.kind],
        count=fix.count,
        can_change=fix.can_change,
        unit_gain=float(valued.unit_gain),
        province_gain=float(valued.province_gain),
        may_also_change=list(fix.may_also_change),
        items=links.of(fix),
    )


def _scenario_out(scenario: rules.Scenario, description: str) -> schemas.ScenarioOut:
    # The on-time indicators, which the assumptions are about, and any other they change.
    shown = {ON_TIME, SATISFACTION, *scenario.effect.unit}
    return schemas.ScenarioOut(
        description=description,
        unit_total=float(scenario.unit.total),
        province_total=float(scenario.province.total),
        indicators=[
            schemas.ScenarioIndicator(
                id=indicator.id,
                numerator=indicator.numerator,
                denominator=indicator.denominator,
                points=float(indicator.points),
            )
            for indicator in scenario.unit.indicators
            if indicator.scored and indicator.id in shown
        ],
    )


# -- due soon ----------------------------------------------------------------------------------


def parse_after(text: str | None) -> tuple[datetime, str] | None:
    """The keyset `after` of a due-soon page: `<effective due, ISO>|<dossier code>`."""
    if text is None:
        return None
    instant, separator, code = text.partition("|")
    try:
        at = datetime.fromisoformat(instant)
    except ValueError:
        at = None
    if not separator or not code or at is None or at.tzinfo is None:
        raise ValueError("after is '<effective_due_at with its offset>|<dossier_code>'")
    return at, code


async def due_soon(
    session: AsyncSession,
    board: ScoreBoard,
    unit: UnitRecord,
    within_hours: float,
    after: tuple[datetime, str] | None,
    limit: int,
    now: datetime,
) -> schemas.DueSoonPage:
    """In progress within the deadline, due within `within_hours` working hours of the instant
    scoring's counts stand at (what the guidance's due_soon counts), soonest first."""
    as_of = await scores.as_of(session) or now
    office = office_hours(board)
    due_by = office.hours_after(as_of, within_hours)
    rows = await repository.due_soon_page(session, _owner(unit), due_by, after, limit + 1)
    shown = rows[:limit]
    items = []
    for dossier in shown:
        assert dossier.effective_due_at is not None
        items.append(
            schemas.DueSoonItem(
                dossier_code=dossier.dossier_code,
                procedure_code=dossier.procedure_code,
                status=dossier.status,
                received_at=dossier.received_at,
                due_at=dossier.due_at,
                effective_due_at=dossier.effective_due_at,
                working_hours_left=round(office.hours_between(as_of, dossier.effective_due_at), 2),
            )
        )
    last = shown[-1] if len(rows) > limit else None
    return schemas.DueSoonPage(
        unit=unit_out(unit),
        within_hours=within_hours,
        due_by=due_by,
        items=items,
        next_after=(
            f"{last.effective_due_at.isoformat()}|{last.dossier_code}"
            if last is not None and last.effective_due_at is not None
            else None
        ),
    )
