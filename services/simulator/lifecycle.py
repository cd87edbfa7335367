"""Dossier lifecycles drawn from a unit's profile, as contract v1 events with their times."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from services.simulator.catalogue import SimProcedure, procedure_event
from services.simulator.province import PROVINCE_CODE, SimUnit
from shared.workdays import WorkingCalendar

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SOURCE = "simulator"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
CALENDAR = WorkingCalendar()
OPENS, CLOSES = time(7, 30), time(17)
# Some offices open on Saturday mornings: a Saturday is this busy, on average.
SATURDAY_WEIGHT = 0.15
# The weighted office time a unit's `dossiers_per_week` arrive in.
NORMAL_WEEK = (5 + SATURDAY_WEIGHT) * timedelta(hours=9.5)


@dataclass(frozen=True, slots=True)
class Emission:
    at: datetime
    topic: str  # "dossier", "catalog" or "feedback"
    key: str
    event: dict[str, Any]
    # A national sync item (DongBoHoSoMC) rather than a contract event.
    national: bool = False


def _iso(instant: datetime) -> str:
    return instant.astimezone(LOCAL).isoformat(timespec="seconds")


def catalog_emissions(
    rng: random.Random,
    units: list[SimUnit],
    procedures: list[SimProcedure],
    at: datetime,
    province_name: str,
) -> list[Emission]:
    """The province's units and procedures, as they stand at `at`."""

    def unit(code: str, name: str, level: str, parent: str | None) -> Emission:
        event = {
            "event_id": f"sim-unit-{code}",
            "schema_version": 1,
            "source": SOURCE,
            "occurred_at": _iso(at),
            "type": "UNIT",
            "unit_code": code,
            "name": name,
            "level": level,
        }
        if parent:
            event["parent_code"] = parent
        if level == "COMMUNE":
            event["e_certified_copy"] = rng.random() < 0.7
        return Emission(at, "catalog", code, event)

    return [
        unit(PROVINCE_CODE, province_name, "PROVINCE", None),
        *(unit(u.code, u.name, u.level, PROVINCE_CODE) for u in units),
        *(Emission(at, "catalog", p.code, procedure_event(p, at)) for p in procedures),
    ]


class DossierFactory:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.serial = 0

    def dossier(
        self, unit: SimUnit, procedure_entry: SimProcedure, received_at: datetime
    ) -> list[Emission]:
        """Every event of one dossier received at `received_at`, past and future."""
        rng, p = self.rng, unit.profile
        self.serial += 1
        code = f"H{PROVINCE_CODE}.{received_at.astimezone(LOCAL):%y%m%d}-{self.serial:07d}"
        procedure = procedure_entry.code
        events: list[tuple[datetime, dict[str, Any]]] = []

        def emit(at: datetime, status: str | None, **fields: Any) -> None:
            event: dict[str, Any] = {
                "event_id": f"sim-{code}-{len(events) + 1}",
                "schema_version": 1,
                "source": SOURCE,
                "occurred_at": _iso(at),
                "dossier_code": code,
                "unit_code": unit.code,
            }
            if status is None:
                event["type"] = "RATING"
            else:
                event["status"] = status
            event.update(fields)
            events.append((at, event))

        online = procedure_entry.online and rng.random() < p.online
        channel = "ONLINE" if online else rng.choice(["DIRECT", "DIRECT", "POSTAL"])
        if channel == "ONLINE":
            emit(received_at - rng.uniform(0.1, 20) * HOUR, "SUBMITTED", procedure_code=procedure)
        if rng.random() < 0.015:
            emit(received_at, "NOT_ACCEPTED", procedure_code=procedure)
            return [Emission(at, "dossier", code, e) for at, e in events]

        allowed = timedelta(days=rng.choice([1, 2, 3, 5, 7, 10, 15]))
        due = received_at + allowed
        fee = procedure_entry.has_fee and rng.random() < 0.9  # some are exempted
        # Some one-stop systems leave the paper result to the catalogue.
        paper = {"paper_result_required": procedure_entry.paper_result_required}
        emit(
            received_at,
            "RECEIVED",
            procedure_code=procedure,
            received_at=_iso(received_at),
            due_at=_iso(due),
            channel=channel,
            **(paper if rng.random() < 0.7 else {}),
            synced_to_national_portal=rng.random() < p.synced,
            fee_required=fee,
            population_data_used=rng.random() < p.population_data,
            digitized=rng.random() < p.digitized,
        )
        clock = received_at + rng.uniform(0.2, 4) * HOUR
        emit(clock, "IN_PROGRESS")
        late = rng.random() > p.on_time
        if rng.random() < p.supplement:
            asked = clock + allowed * rng.uniform(0.1, 0.4)
            emit(asked, "SUPPLEMENT_REQUESTED")
            wait = rng.uniform(0.5, 4) * DAY
            clock = asked + wait
            if rng.random() < 0.9:  # some citizens never come back
                emit(clock, "SUPPLEMENTED")
                due += wait  # the scorer takes the wait off the end; plan the finish the same way
            else:
                return [Emission(at, "dossier", code, e) for at, e in events]
        if fee:
            paid = clock + rng.uniform(0.5, 24) * HOUR
            emit(paid, "PAYMENT_REQUESTED", paid_online=rng.random() < p.paid_online)
            clock = paid
        if late:
            finished = max(due, clock) + rng.uniform(0.1, 5) * DAY
        else:
            finished = max(clock, received_at) + (due - max(clock, received_at)) * rng.uniform(
                0.2, 0.98
            )
        e_result = rng.random() < p.e_result
        emit(
            finished,
            "COMPLETED",
            e_result_issued=e_result,
            reused_data=rng.random() < p.reused,
            personal_store_linked=rng.random() < p.personal_store,
        )
        returned = finished + rng.uniform(0.5, 48) * HOUR
        emit(returned, "RESULT_RETURNED", complaint=rng.random() < p.complaint)
        if rng.random() < 0.35:
            rating = (
                "UNSATISFIED" if rng.random() < p.unsatisfied * (6 if late else 1) else "SATISFIED"
            )
            emit(returned + rng.uniform(0.1, 72) * HOUR, None, rating=rating)
        return [Emission(at, "dossier", code, e) for at, e in events]


def feedback(
    rng: random.Random, unit: SimUnit, serial: int, received_at: datetime
) -> list[Emission]:
    """One citizen's feedback (PAKN) to `unit`, from receipt to publication or refusal."""
    code = f"PAKN-{PROVINCE_CODE}-{serial:06d}"
    on_time = unit.profile.on_time
    emissions: list[Emission] = []

    def emit(at: datetime, status: str, **fields: Any) -> None:
        event = {
            "event_id": f"sim-{code}-{len(emissions) + 1}",
            "schema_version": 1,
            "source": SOURCE,
            "occurred_at": _iso(at),
            "type": "FEEDBACK",
            "feedback_id": code,
            "unit_code": unit.code,
            "status": status,
            **fields,
        }
        emissions.append(Emission(at, "feedback", code, event))

    category = "REGULATION" if rng.random() < 0.65 else "STAFF_CONDUCT"
    emit(received_at, "RECEIVED", category=category)
    if rng.random() < 0.1:
        emit(received_at + rng.uniform(2, 40) * HOUR, "REJECTED")
        return emissions
    emit(received_at + rng.uniform(1, 24) * HOUR, "IN_PROGRESS")
    days = rng.uniform(2, 19) if rng.random() < on_time else rng.uniform(22, 30)
    answered = received_at + days * DAY
    emit(answered, "ANSWERED")
    published = answered + rng.uniform(0.2, 2.5) * DAY
    rating = "UNSATISFIED" if rng.random() < unit.profile.unsatisfied * 5 else "SATISFIED"
    emit(published, "PUBLISHED", rating=rating, raised_again=rng.random() < 0.02)
    return emissions


class OfficeSegment(NamedTuple):
    """Office hours inside a window, and how busy they are (1 on a working day)."""

    start: datetime
    end: datetime
    weight: float

    @property
    def weighted_seconds(self) -> float:
        return self.weight * (self.end - self.start).total_seconds()


def office_segments(
    start: datetime, end: datetime, calendar: WorkingCalendar = CALENDAR
) -> list[OfficeSegment]:
    """The office hours (07:30-17:00 local) inside [start, end), one segment a day, weighted
    1 on working days (make-up Saturdays included) and 0.15 on other Saturdays; Sundays and
    holidays have none."""
    segments = []
    day, last = start.astimezone(LOCAL).date(), end.astimezone(LOCAL).date()
    while day <= last:
        weight = _day_weight(day, calendar)
        opens = max(start, datetime.combine(day, OPENS, LOCAL))
        closes = min(end, datetime.combine(day, CLOSES, LOCAL))
        if weight > 0 and opens < closes:
            segments.append(OfficeSegment(opens, closes, weight))
        day += DAY
    return segments


def _day_weight(day: date, calendar: WorkingCalendar) -> float:
    if calendar.is_working_day(day):
        return 1.0
    return SATURDAY_WEIGHT if day.weekday() == 5 and not calendar.is_holiday(day) else 0.0


def office_weeks(segments: list[OfficeSegment]) -> float:
    """How many normal weeks of office time the segments hold: the share of a week's dossiers
    they receive."""
    return sum(s.weighted_seconds for s in segments) / NORMAL_WEEK.total_seconds()


def working_instants(
    rng: random.Random, segments: list[OfficeSegment], count: int
) -> list[datetime]:
    """`count` receipt times in the segments, each as busy as its weight (none without any)."""
    if not segments:
        return []
    chosen = rng.choices(segments, [s.weighted_seconds for s in segments], k=count)
    return [_instant_in(rng, segment) for segment in chosen]


def _instant_in(rng: random.Random, segment: OfficeSegment) -> datetime:
    # Whole microseconds, so that an instant never rounds up onto the segment's end.
    offset = rng.randrange((segment.end - segment.start) // MICROSECOND)
    return (segment.start + offset * MICROSECOND).astimezone(UTC)
