"""The catalogue's indicators: 1.1, 1.2, 1.3, 3.1, 3.2, 3.5, 3.5b, 4.5a and 4.6.

They count procedures (or communes), not dossiers. What dossiers contribute is *activity*: per
unit and period, how many of a procedure's dossiers showed the act an indicator looks for (an
online submission for 3.2, an online payment for 3.5b, ...), kept by scoring as ordinary count
cells named `<indicator>@<procedure_code>`, incrementally like every other count. Whether a
procedure is in an indicator's denominator depends on the catalogue, which changes on its own
schedule; so the indicators are computed here, when read, from the activity cells and the
current catalogue: a few thousand rows, never the dossiers.

Every function lists the *members* of an indicator (each procedure or commune, and whether it
is in the numerator); the counts are taken from the members, so the audit and the score cannot
disagree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from shared.events import OnlineService, UnitLevel
from shared.methodology import Ratio
from shared.periods import Period
from shared.workdays import WorkingCalendar

ACTIVITY_SEPARATOR = "@"
# Working days between the publishing decision and the legal basis taking effect (1.1), and
# from the decision to its publication on the national database (1.2).
PUBLISH_BEFORE_EFFECT_DAYS = 5
MAKE_PUBLIC_WITHIN_DAYS = 5

# The levels ranked and scored unit by unit; the province pools them.
SCORED_LEVELS = (UnitLevel.DEPARTMENT, UnitLevel.COMMUNE)
PROVINCIAL_INDICATORS = ("1.1", "1.2", "1.3", "4.6")
UNIT_INDICATORS = ("3.1", "3.2", "3.5", "3.5b", "4.5a")
CATALOGUE_INDICATORS = (*PROVINCIAL_INDICATORS, *UNIT_INDICATORS)

# {indicator: procedure codes with activity in the period}, for one unit.
Activity = Mapping[str, Set[str]]


def activity_id(indicator: str, procedure_code: str) -> str:
    return f"{indicator}{ACTIVITY_SEPARATOR}{procedure_code}"


def split_activity_id(cell_id: str) -> tuple[str, str] | None:
    """(indicator, procedure) of an activity cell's id, or None for an indicator's own id."""
    indicator, separator, procedure = cell_id.partition(ACTIVITY_SEPARATOR)
    return (indicator, procedure) if separator else None


@dataclass(frozen=True, slots=True)
class CatalogueUnit:
    code: str
    name: str
    level: str | None
    e_certified_copy: bool | None = None


@dataclass(frozen=True, slots=True)
class CatalogueProcedure:
    code: str
    name: str
    levels: frozenset[str]
    # The departments it is under; commune-level procedures are under every commune.
    unit_codes: frozenset[str] = frozenset()
    online_service: str = OnlineService.NONE
    has_fee: bool | None = None
    for_individuals: bool | None = None

    @property
    def online(self) -> bool:
        return self.online_service in (OnlineService.FULL, OnlineService.PARTIAL)

    def is_under(self, unit: CatalogueUnit) -> bool:
        if unit.level == UnitLevel.COMMUNE:
            return UnitLevel.COMMUNE in self.levels
        return unit.code in self.unit_codes


@dataclass(frozen=True, slots=True)
class CataloguePublication:
    procedure_code: str
    decision_date: date
    legal_effective_date: date
    published_at: date | None = None
    components_complete: bool | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """One procedure (or commune, for 4.6) in an indicator's denominator."""

    code: str
    name: str
    counted: bool  # in the numerator too
    reason: str


@dataclass(frozen=True)
class Catalogue:
    units: tuple[CatalogueUnit, ...] = ()
    procedures: tuple[CatalogueProcedure, ...] = ()
    publications: tuple[CataloguePublication, ...] = ()
    _under: dict[str, list[CatalogueProcedure]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @cached_property
    def units_by_code(self) -> dict[str, CatalogueUnit]:
        return {unit.code: unit for unit in self.units}

    @cached_property
    def procedure_names(self) -> dict[str, str]:
        return {procedure.code: procedure.name for procedure in self.procedures}

    def procedures_under(self, unit: CatalogueUnit) -> list[CatalogueProcedure]:
        under = self._under.get(unit.code)
        if under is None:
            under = self._under[unit.code] = [p for p in self.procedures if p.is_under(unit)]
        return under

    def scored_units(self) -> list[CatalogueUnit]:
        return [unit for unit in self.units if unit.level in SCORED_LEVELS]


class CatalogueRules:
    """The members and counts of the catalogue's indicators, for a catalogue and a calendar."""

    def __init__(self, catalogue: Catalogue, workdays: WorkingCalendar) -> None:
        self.catalogue = catalogue
        self.workdays = workdays
        # (indicator, unit) -> the codes of its procedures in the indicator's denominator, and
        # how many of them the catalogue counts (3.1): what `counts` needs of `unit_members`,
        # the same for every period of this catalogue.
        self._eligible: dict[tuple[str, str], tuple[tuple[str, ...], int]] = {}

    # -- provincial acts: computed once, carried by every unit ---------------------------------

    def published_on_time(self, period: Period, now: datetime) -> list[Member]:
        """1.1: each procedure with a publishing decision in the period, on time if every one of
        its decisions there came at least 5 working days before its legal basis took effect."""
        late: dict[str, list[str]] = {}
        for publication in self._decided_in(period, now):
            latest_allowed = self.workdays.shift(
                publication.legal_effective_date, -PUBLISH_BEFORE_EFFECT_DAYS
            )
            problems = late.setdefault(publication.procedure_code, [])
            if publication.decision_date > latest_allowed:
                problems.append(
                    f"decided {publication.decision_date}, due by {latest_allowed} "
                    f"(effective {publication.legal_effective_date})"
                )
        return [self._procedure_member(code, problems) for code, problems in sorted(late.items())]

    def made_public_on_time(self, period: Period, now: datetime) -> list[Member]:
        """1.2: each procedure with a publishing decision in the period that had to be public on
        the national database by then: on time if made public within 5 working days."""
        as_of = self._last_day(period, now)
        late: dict[str, list[str]] = {}
        for publication in self._decided_in(period, now):
            due = self.workdays.shift(publication.decision_date, MAKE_PUBLIC_WITHIN_DAYS)
            published = publication.published_at
            if published is not None and published > as_of:
                published = None  # not yet, as of the period's end
            if published is None and due >= as_of:
                continue  # still has time: not yet due
            problems = late.setdefault(publication.procedure_code, [])
            if published is None:
                problems.append(f"decided {publication.decision_date}, not public, due by {due}")
            elif published > due:
                problems.append(f"decided {publication.decision_date}, public {published} > {due}")
        return [self._procedure_member(code, problems) for code, problems in sorted(late.items())]

    def public_and_complete(self, now: datetime) -> list[Member]:
        """1.3, as of now: each public procedure, complete if its latest public decision
        disclosed every component."""
        today = self._local_date(now)
        latest: dict[str, CataloguePublication] = {}
        for publication in self.catalogue.publications:
            if publication.published_at is None or publication.published_at > today:
                continue
            current = latest.get(publication.procedure_code)
            if current is None or current.decision_date < publication.decision_date:
                latest[publication.procedure_code] = publication
        return [
            self._procedure_member(
                code,
                [] if latest[code].components_complete else ["components not all disclosed"],
                fine="every component disclosed",
            )
            for code in sorted(latest)
        ]

    def certified_copies(self) -> list[Member]:
        """4.6, as of now: each commune, counted if it offers electronic certified copies."""
        return [
            Member(
                unit.code,
                unit.name,
                bool(unit.e_certified_copy),
                "offers electronic certified copies"
                if unit.e_certified_copy
                else "does not offer electronic certified copies",
            )
            for unit in self.catalogue.units
            if unit.level == UnitLevel.COMMUNE
        ]

    # -- per unit ------------------------------------------------------------------------------

    def unit_members(self, indicator: str, unit: CatalogueUnit, activity: Activity) -> list[Member]:
        """3.1, 3.2, 3.5, 3.5b, 4.5a of one unit: its procedures in the indicator's
        denominator, each counted when the catalogue (3.1) or the period's dossiers say so."""
        procedures = self.catalogue.procedures_under(unit)
        if indicator == "3.1":
            return [
                Member(p.code, p.name, p.online, f"online service: {p.online_service}")
                for p in procedures
            ]
        eligible, act = _ACTIVITY[indicator]
        active = activity.get(indicator, frozenset())
        return [
            Member(
                p.code,
                p.name,
                p.code in active,
                f"{'at least one' if p.code in active else 'no'} {act} in the period",
            )
            for p in procedures
            if eligible(p)
        ]

    def unit_ratio(self, indicator: str, unit: CatalogueUnit, activity: Activity) -> Ratio:
        """`unit_members`, counted: how many are counted, of how many."""
        eligible = self._eligible.get((indicator, unit.code))
        if eligible is None:
            members = self.unit_members(indicator, unit, {})
            counted = sum(member.counted for member in members)
            eligible = self._eligible[indicator, unit.code] = (
                tuple(member.code for member in members),
                counted,
            )
        codes, counted = eligible
        if indicator == "3.1":
            return Ratio(counted, len(codes))
        active = activity.get(indicator, frozenset())
        return Ratio(sum(code in active for code in codes), len(codes))

    def provincial_members(self, indicator: str, period: Period, now: datetime) -> list[Member]:
        if indicator == "1.1":
            return self.published_on_time(period, now)
        if indicator == "1.2":
            return self.made_public_on_time(period, now)
        if indicator == "1.3":
            return self.public_and_complete(now)
        if indicator == "4.6":
            return self.certified_copies()
        raise KeyError(indicator)

    def members(
        self,
        indicator: str,
        unit_code: str,
        activity: Activity,
        period: Period,
        now: datetime,
        province_code: str,
    ) -> list[Member]:
        """The members of any catalogue indicator for one unit, or pooled for the province."""
        if indicator in PROVINCIAL_INDICATORS:
            return self.provincial_members(indicator, period, now)
        if unit_code == province_code:
            raise ValueError("the province pools its units' counts: list a unit's members")
        unit = self.catalogue.units_by_code.get(unit_code)
        if unit is None:
            return []
        return self.unit_members(indicator, unit, activity)

    def members_by_unit(
        self,
        indicator: str,
        unit_code: str,
        activity: Mapping[str, Activity],
        period: Period,
        now: datetime,
        province_code: str,
    ) -> list[tuple[str, Member]]:
        """(owner, member) of an indicator for a unit; for the province and an indicator counted
        unit by unit, every scored unit's members, since the province pools its units' counts."""
        if indicator in PROVINCIAL_INDICATORS or unit_code != province_code:
            members = self.members(
                indicator, unit_code, activity.get(unit_code, {}), period, now, province_code
            )
            return [(unit_code, member) for member in members]
        return [
            (unit.code, member)
            for unit in self.catalogue.scored_units()
            for member in self.unit_members(indicator, unit, activity.get(unit.code, {}))
        ]

    def counts(
        self,
        activity: Mapping[str, Activity],
        period: Period,
        now: datetime,
        province_code: str,
        units: Iterable[str] = (),
    ) -> dict[str, dict[str, Ratio]]:
        """{unit: {indicator: Ratio}} for every catalogued department and commune, any further
        `units`, and the province: its units' counts pooled, the provincial acts as computed."""
        provincial = {
            indicator: _ratio(self.provincial_members(indicator, period, now))
            for indicator in PROVINCIAL_INDICATORS
        }
        result: dict[str, dict[str, Ratio]] = {}
        pooled: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
        for unit in self.catalogue.scored_units():
            ratios = dict(provincial)
            for indicator in UNIT_INDICATORS:
                ratio = self.unit_ratio(indicator, unit, activity.get(unit.code, {}))
                ratios[indicator] = ratio
                pooled[indicator][0] += ratio.numerator
                pooled[indicator][1] += ratio.denominator
            result[unit.code] = ratios
        for code in units:
            result.setdefault(code, dict(provincial))
        result[province_code] = {
            **provincial,
            **{indicator: Ratio(*pooled[indicator]) for indicator in UNIT_INDICATORS},
        }
        return result

    def _decided_in(self, period: Period, now: datetime) -> list[CataloguePublication]:
        first = self._local_date(period.start)
        last = self._last_day(period, now)
        return [p for p in self.catalogue.publications if first <= p.decision_date <= last]

    def _last_day(self, period: Period, now: datetime) -> date:
        """The period's last day as of `now`: today while it runs (a period's end is exclusive)."""
        return self._local_date(min(period.end - _INSTANT, now))

    def _procedure_member(self, code: str, problems: list[str], fine: str = "on time") -> Member:
        name = self.catalogue.procedure_names.get(code, code)
        return Member(code, name, not problems, "; ".join(problems) or fine)

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.workdays.tz).date()


_INSTANT = timedelta(microseconds=1)
# What each activity indicator asks of a procedure to be in its denominator, and the act that
# puts it in the numerator.
_ACTIVITY: dict[str, tuple[Callable[[CatalogueProcedure], bool | None], str]] = {
    "3.2": (lambda p: p.online, "online dossier"),
    "3.5": (lambda p: p.has_fee, "dossier carrying fee data"),
    "3.5b": (lambda p: p.has_fee, "online payment"),
    "4.5a": (lambda p: p.for_individuals, "dossier using population data"),
}


def _ratio(members: list[Member]) -> Ratio:
    return Ratio(sum(member.counted for member in members), len(members))


def activity_by_unit(cells: Iterable[tuple[str, str]]) -> dict[str, dict[str, set[str]]]:
    """{unit: {indicator: procedures}} from (unit, activity cell id) pairs with positive counts."""
    result: defaultdict[str, defaultdict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for unit, cell_id in cells:
        parsed = split_activity_id(cell_id)
        if parsed is not None:
            result[unit][parsed[0]].add(parsed[1])
    return {unit: dict(by_indicator) for unit, by_indicator in result.items()}
