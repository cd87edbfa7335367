"""What a unit must fix, and what each fix is worth: pure, from the counts the scores are made of.

Every indicator of the methodology loses `max - points`; behind the loss are things (dossiers not
synced, procedures with no online service, dossiers about to go late, ...). A *fix* names one kind
of them and its *effect*: how the unit's counts and the province's change if it is done. The
effect is found by the rules themselves, never by a rule of thumb:

- a shortfall of dossiers or feedback counted by their receipt moves into the numerator
  (denominator − numerator, from the kept counts; what is settled, like a dossier finished late,
  is valued as what it cost);
- a catalogue fix changes the catalogue or the period's procedure activity and asks
  `CatalogueRules.counts` again (offering a procedure online raises 3.1 and enlarges 3.2's
  denominator; a commune offering certified copies raises 4.6 for the province and every unit);
- a dossier in progress is evaluated by `contribution_in` with the facts it would have (finished
  at its due time) or at the instant it would go late.

Its worth is `score(counts + effect) - score(counts)` with `shared.methodology.points`, for the unit
and for the province (whose counts pool the units'). Some acts move more counts than the fix's
own (an electronic result issued to an online dossier also counts in 3.3): what the kept counts
cannot tell is not guessed but named in `Fix.may_also_change`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

import orjson

from shared.events import DossierStatus, OnlineService
from shared.methodology import IndicatorScore, Methodology, Ratio, UnitScore, score
from shared.periods import Period
from shared.rules.catalogue import (
    ACTIVITY_SEPARATOR,
    Activity,
    Catalogue,
    CatalogueRules,
    Member,
)
from shared.rules.contributions import ON_TIME, SATISFACTION, contribution_in
from shared.rules.dossier import Facts, Mark, read_facts
from shared.rules.ontime import evaluate, overdue_crossing

_TICK = timedelta(microseconds=1)
# {indicator: (numerator change, denominator change)}
Changes = dict[str, tuple[int, int]]
Counts = Mapping[str, Ratio]


class FixKind(StrEnum):
    """The things behind a loss, one kind per act that removes them."""

    NOT_SYNCED = "not_synced"
    NOT_ONLINE_WITH_RESULT = "not_online_with_result"
    NOT_PAID_ONLINE = "not_paid_online"
    NO_E_RESULT = "no_e_result"
    NOT_DIGITIZED = "not_digitized"
    NO_DATA_REUSE = "no_data_reuse"
    NOT_LINKED_TO_PERSONAL_STORE = "not_linked_to_personal_store"
    NO_POPULATION_DATA = "no_population_data"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    NOT_SATISFIED = "not_satisfied"
    FEEDBACK_LATE = "feedback_late"
    FEEDBACK_NOT_SATISFIED = "feedback_not_satisfied"
    NO_ONLINE_SERVICE = "no_online_service"
    ONLINE_WITHOUT_DOSSIER = "online_without_dossier"
    FEE_WITHOUT_FEE_DATA = "fee_without_fee_data"
    FEE_PAID_OFFLINE = "fee_paid_offline"
    FEE_WITHOUT_DOSSIER = "fee_without_dossier"
    NO_POPULATION_DATA_PROCEDURE = "no_population_data_procedure"
    PUBLISHED_LATE = "published_late"
    MADE_PUBLIC_LATE = "made_public_late"
    COMPONENTS_NOT_DISCLOSED = "components_not_disclosed"
    NO_E_CERTIFIED_COPY = "no_e_certified_copy"


class Listing(StrEnum):
    """Which list holds the things of a fix."""

    DOSSIERS = "dossiers"
    FEEDBACK = "feedback"
    CATALOGUE = "catalogue"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"


@dataclass(frozen=True, slots=True)
class Effect:
    """How the counts change: the unit's, and the province's (its pool)."""

    unit: Changes
    province: Changes


@dataclass(frozen=True, slots=True)
class Fix:
    kind: FixKind
    indicator: str
    count: int
    effect: Effect
    listing: Listing
    # False for what is already settled in the period (a dossier finished late stays late):
    # its worth is then what it cost.
    can_change: bool = True
    # The effect is what happens if nothing is done (dossiers going late): the worth is what
    # doing it keeps.
    if_nothing_done: bool = False
    # Indicators the same act may change too, by facts the kept counts do not hold (not included).
    may_also_change: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Valued:
    fix: Fix
    unit_gain: Decimal
    province_gain: Decimal


@dataclass(frozen=True, slots=True)
class IndicatorGuidance:
    score: IndicatorScore
    at_stake: Decimal
    fixes: tuple[Valued, ...]


@dataclass(frozen=True, slots=True)
class Scenario:
    """The period's end as one assumption has it."""

    unit: UnitScore
    province: UnitScore
    effect: Effect


@dataclass(frozen=True, slots=True)
class Forecast:
    in_progress: int
    # Every dossier in progress finishes at its due time (those already late finish late).
    on_time: Scenario
    # Nothing finishes before the period ends: those late stay late, those due go late.
    stalled: Scenario


@dataclass(frozen=True, slots=True)
class Guidance:
    unit: UnitScore
    province: UnitScore
    # Ordered by points at stake, most first.
    indicators: tuple[IndicatorGuidance, ...]
    due_soon: tuple[Facts, ...]
    forecast: Forecast


# -- counts and points -------------------------------------------------------------------------


def applied(counts: Counts, changes: Mapping[str, tuple[int, int]]) -> dict[str, Ratio]:
    """`counts` with `changes` added."""
    result = dict(counts)
    for indicator, (numerator, denominator) in changes.items():
        was = result.get(indicator, Ratio(0, 0))
        result[indicator] = Ratio(was.numerator + numerator, was.denominator + denominator)
    return result


def gain(
    methodology: Methodology, counts: Counts, changes: Mapping[str, tuple[int, int]]
) -> Decimal:
    """Points gained (negative: lost) by adding `changes` to `counts`."""
    if not changes:
        return Decimal(0)
    return score(methodology, applied(counts, changes)).total - score(methodology, counts).total


def _added(*parts: Mapping[str, tuple[int, int]]) -> Changes:
    total: dict[str, list[int]] = {}
    for part in parts:
        for indicator, (numerator, denominator) in part.items():
            cell = total.setdefault(indicator, [0, 0])
            cell[0] += numerator
            cell[1] += denominator
    return {i: (n, d) for i, (n, d) in total.items() if (n, d) != (0, 0)}


def _difference(after: Counts, before: Counts) -> Changes:
    changes: Changes = {}
    for indicator in after.keys() | before.keys():
        now, was = after.get(indicator, Ratio(0, 0)), before.get(indicator, Ratio(0, 0))
        if now != was:
            changes[indicator] = (now.numerator - was.numerator, now.denominator - was.denominator)
    return changes


# -- the situation -------------------------------------------------------------------------------


# Dossier indicators counted by receipt: the act that puts a dossier in the numerator, and the
# indicators the same act may raise too, which the kept counts cannot tell.
_RECEIPT_FIXES: dict[str, tuple[FixKind, tuple[str, ...]]] = {
    "1.4": (FixKind.NOT_SYNCED, ()),
    "3.3": (FixKind.NOT_ONLINE_WITH_RESULT, ("4.1", "4.2")),
    "3.6": (FixKind.NOT_PAID_ONLINE, ("3.5b",)),
    "4.1": (FixKind.NO_E_RESULT, ("3.3", "4.2")),
    "4.2": (FixKind.NOT_DIGITIZED, ("3.3", "4.1")),
    "4.3": (FixKind.NO_DATA_REUSE, ()),
    "4.4": (FixKind.NOT_LINKED_TO_PERSONAL_STORE, ()),
    "4.5b": (FixKind.NO_POPULATION_DATA, ("4.5a",)),
}
# Settled shortfalls: what they cost, and where they are listed.
_SETTLED: dict[str, tuple[FixKind, Listing]] = {
    ON_TIME: (FixKind.OVERDUE, Listing.OVERDUE),
    SATISFACTION: (FixKind.NOT_SATISFIED, Listing.DOSSIERS),
    "5.2": (FixKind.FEEDBACK_LATE, Listing.FEEDBACK),
    "5.3": (FixKind.FEEDBACK_NOT_SATISFIED, Listing.FEEDBACK),
}


@dataclass(frozen=True)
class Situation:
    """A unit's period as scored: every unit's counts (the catalogue's indicators included, as
    `ScoreBoard.counts` gives them), and what the catalogue's indicators were computed from."""

    methodology: Methodology
    unit_code: str
    province_code: str
    period: Period
    counts: Mapping[str, Counts]
    rules: CatalogueRules
    activity: Mapping[str, Activity]
    # The instant the catalogue's indicators are computed at (the end of the day).
    catalogue_at: datetime
    # The instant scoring's counts stand at.
    as_of: datetime

    @cached_property
    def unit_counts(self) -> Counts:
        return self.counts.get(self.unit_code, {})

    @cached_property
    def province_counts(self) -> Counts:
        return self.counts.get(self.province_code, {})

    def value(self, fix: Fix) -> Valued:
        unit = gain(self.methodology, self.unit_counts, fix.effect.unit)
        province = gain(self.methodology, self.province_counts, fix.effect.province)
        if fix.if_nothing_done:
            unit, province = -unit, -province
        return Valued(fix, unit, province)

    def pooled(self, changes: Changes) -> Effect:
        """The effect of changes to the unit's own counts: the province pools them (but for
        procedure activity, which it does not)."""
        pooled = {i: c for i, c in changes.items() if ACTIVITY_SEPARATOR not in i}
        return Effect(changes, pooled)

    # -- catalogue effects ---------------------------------------------------------------------

    def catalogue_counts(
        self,
        catalogue: Catalogue | None = None,
        activity: Mapping[str, Activity] | None = None,
    ) -> dict[str, dict[str, Ratio]]:
        rules = self.rules if catalogue is None else CatalogueRules(catalogue, self.rules.workdays)
        return rules.counts(
            self.activity if activity is None else activity,
            self.period,
            self.catalogue_at,
            self.province_code,
            units=(self.unit_code,),
        )

    def catalogue_effect(
        self,
        catalogue: Catalogue | None = None,
        activity: Mapping[str, Activity] | None = None,
    ) -> Effect:
        before = self._catalogue_before
        after = self.catalogue_counts(catalogue, activity)
        return Effect(
            _difference(after.get(self.unit_code, {}), before.get(self.unit_code, {})),
            _difference(after[self.province_code], before[self.province_code]),
        )

    @cached_property
    def _catalogue_before(self) -> dict[str, dict[str, Ratio]]:
        return self.catalogue_counts()

    def shortfall(self, indicator: str) -> list[tuple[str, Member]]:
        """(owner, member) of a catalogue indicator not in its numerator."""
        members = self.rules.members_by_unit(
            indicator,
            self.unit_code,
            self.activity,
            self.period,
            self.catalogue_at,
            self.province_code,
        )
        return [(owner, member) for owner, member in members if not member.counted]


# -- fixes from the counts ---------------------------------------------------------------------


def count_fixes(situation: Situation) -> list[Fix]:
    """The dossiers and feedback short of an indicator's numerator, from the kept counts."""
    fixes = []
    for indicator, ratio in situation.unit_counts.items():
        missing = ratio.denominator - ratio.numerator
        if missing <= 0:
            continue
        effect = situation.pooled({indicator: (missing, 0)})
        if indicator in _RECEIPT_FIXES:
            kind, also = _RECEIPT_FIXES[indicator]
            fixes.append(
                Fix(kind, indicator, missing, effect, Listing.DOSSIERS, may_also_change=also)
            )
        elif indicator in _SETTLED:
            kind, listing = _SETTLED[indicator]
            fixes.append(Fix(kind, indicator, missing, effect, listing, can_change=False))
    return fixes


# -- fixes of the catalogue --------------------------------------------------------------------


def catalogue_fixes(situation: Situation) -> list[Fix]:
    fixes = [
        *_online_service(situation),
        *_activity_fixes(situation, "3.2", FixKind.ONLINE_WITHOUT_DOSSIER, ("3.2",)),
        *_activity_fixes(situation, "3.5", FixKind.FEE_WITHOUT_FEE_DATA, ("3.5",)),
        *_online_payment(situation),
        *_activity_fixes(
            situation, "4.5a", FixKind.NO_POPULATION_DATA_PROCEDURE, ("4.5a",), also=("4.5b",)
        ),
        *_components(situation),
        *_certified_copies(situation),
    ]
    for indicator, kind in (("1.1", FixKind.PUBLISHED_LATE), ("1.2", FixKind.MADE_PUBLIC_LATE)):
        missing = len(situation.shortfall(indicator))
        if missing:
            # The province's own acts, carried by every unit: settled once decided.
            changes = {indicator: (missing, 0)}
            effect = Effect(changes, changes)
            fixes.append(Fix(kind, indicator, missing, effect, Listing.CATALOGUE, can_change=False))
    return fixes


def _online_service(situation: Situation) -> list[Fix]:
    """3.1: offer the procedures online; they join 3.2's denominator too."""
    missing = {member.code for _, member in situation.shortfall("3.1")}
    if not missing:
        return []
    catalogue = situation.rules.catalogue
    procedures = tuple(
        replace(p, online_service=OnlineService.PARTIAL) if p.code in missing else p
        for p in catalogue.procedures
    )
    effect = situation.catalogue_effect(
        Catalogue(catalogue.units, procedures, catalogue.publications)
    )
    return [Fix(FixKind.NO_ONLINE_SERVICE, "3.1", len(missing), effect, Listing.CATALOGUE)]


def _with_activity(
    activity: Mapping[str, Activity], added: Iterable[tuple[str, str]], indicators: Sequence[str]
) -> dict[str, dict[str, set[str]]]:
    result = {unit: {i: set(codes) for i, codes in acts.items()} for unit, acts in activity.items()}
    for owner, code in added:
        for indicator in indicators:
            result.setdefault(owner, {}).setdefault(indicator, set()).add(code)
    return result


def _activity_fixes(
    situation: Situation,
    indicator: str,
    kind: FixKind,
    acts: Sequence[str],
    members: Sequence[tuple[str, Member]] | None = None,
    extra: Changes | None = None,
    also: tuple[str, ...] = ("1.4", "2.1", "3.3"),
) -> list[Fix]:
    """The procedures short of an activity indicator, with the activity a dossier would bring.
    A new dossier counts in the receipt indicators too, by facts nobody knows yet: named in
    `also`, not included."""
    shortfall = situation.shortfall(indicator) if members is None else members
    if not shortfall:
        return []
    added = [(owner, member.code) for owner, member in shortfall]
    effect = situation.catalogue_effect(activity=_with_activity(situation.activity, added, acts))
    if extra:
        extra_effect = situation.pooled(extra)
        effect = Effect(
            _added(effect.unit, extra_effect.unit), _added(effect.province, extra_effect.province)
        )
    return [Fix(kind, indicator, len(shortfall), effect, Listing.CATALOGUE, may_also_change=also)]


def _online_payment(situation: Situation) -> list[Fix]:
    """3.5b. A procedure with fee-bearing dossiers this period, none paid online: one of them
    paid online also counts in 3.6, exactly. One with no fee-bearing dossier needs a new one."""
    paid_offline: list[tuple[str, Member]] = []
    without: list[tuple[str, Member]] = []
    for owner, member in situation.shortfall("3.5b"):
        had_fees = member.code in situation.activity.get(owner, {}).get("3.5", ())
        (paid_offline if had_fees else without).append((owner, member))
    return [
        *_activity_fixes(
            situation,
            "3.5b",
            FixKind.FEE_PAID_OFFLINE,
            ("3.5b",),
            members=paid_offline,
            # Each one paid online in its owner's 3.6: the unit's (pooled, for the province).
            extra={"3.6": (len(paid_offline), 0)},
            also=(),
        ),
        *_activity_fixes(
            situation,
            "3.5b",
            FixKind.FEE_WITHOUT_DOSSIER,
            ("3.5", "3.5b"),
            members=without,
            also=("1.4", "2.1", "3.3", "3.6"),
        ),
    ]


def _components(situation: Situation) -> list[Fix]:
    """1.3: disclose every component in the procedures' latest public decisions."""
    missing = {member.code for _, member in situation.shortfall("1.3")}
    if not missing:
        return []
    catalogue = situation.rules.catalogue
    publications = tuple(
        replace(p, components_complete=True) if p.procedure_code in missing else p
        for p in catalogue.publications
    )
    effect = situation.catalogue_effect(
        Catalogue(catalogue.units, catalogue.procedures, publications)
    )
    return [Fix(FixKind.COMPONENTS_NOT_DISCLOSED, "1.3", len(missing), effect, Listing.CATALOGUE)]


def _certified_copies(situation: Situation) -> list[Fix]:
    """4.6: the communes offer electronic certified copies (a provincial act: every unit)."""
    missing = {member.code for _, member in situation.shortfall("4.6")}
    if not missing:
        return []
    catalogue = situation.rules.catalogue
    units = tuple(
        replace(u, e_certified_copy=True) if u.code in missing else u for u in catalogue.units
    )
    effect = situation.catalogue_effect(
        Catalogue(units, catalogue.procedures, catalogue.publications)
    )
    return [Fix(FixKind.NO_E_CERTIFIED_COPY, "4.6", len(missing), effect, Listing.CATALOGUE)]


# -- dossiers in progress ------------------------------------------------------------------------


def _period_cells(situation: Situation, facts: Facts, at: datetime) -> dict[str, tuple[int, int]]:
    """What a dossier adds to the period's counts, as evaluated at `at`."""
    key = situation.period.key
    return {
        indicator: counts
        for (period, indicator), counts in contribution_in(facts, situation.period, at)
        .all_cells()
        .items()
        if period == key
    }


def _moved(
    situation: Situation,
    before: Iterable[Mapping[str, tuple[int, int]]],
    after: Iterable[Mapping[str, tuple[int, int]]],
) -> Effect:
    """The effect of dossiers whose period cells go from `before` to `after` (one each)."""
    total: dict[str, list[int]] = {}
    for was, now in zip(before, after, strict=True):
        for indicator in was.keys() | now.keys():
            (n1, d1), (n0, d0) = now.get(indicator, (0, 0)), was.get(indicator, (0, 0))
            if (n1, d1) != (n0, d0):
                cell = total.setdefault(indicator, [0, 0])
                cell[0] += n1 - n0
                cell[1] += d1 - d0
    return situation.pooled({i: (n, d) for i, (n, d) in total.items() if (n, d) != (0, 0)})


def in_progress(dossiers: Iterable[Facts], as_of: datetime) -> list[Facts]:
    """The accepted dossiers not finished by `as_of`."""
    return [
        facts
        for facts in dossiers
        if facts.accepted
        and facts.received_at is not None
        and facts.received_at <= as_of
        and not evaluate(facts, as_of).finished
    ]


def due_soon(dossiers: Iterable[Facts], as_of: datetime, horizon: datetime) -> list[Facts]:
    """Dossiers in progress, on time at `as_of`, that turn late by `horizon` unless they finish:
    soonest first."""
    found = []
    for facts in dossiers:
        # None for a dossier finished, late already, waiting on the citizen, or with no due time.
        crossing = overdue_crossing(facts, evaluate(facts, as_of))
        # Due (its last instant on time) by the horizon.
        if crossing is not None and crossing - _TICK <= horizon:
            found.append((crossing, facts))
    found.sort(key=lambda pair: pair[0])
    return [facts for _, facts in found]


def due_soon_fix(situation: Situation, soon: Sequence[Facts]) -> Fix | None:
    """What the dossiers about to go late cost if they do: each evaluated when it turns late."""
    if not soon:
        return None
    as_of = situation.as_of
    late = []
    for facts in soon:
        crossing = overdue_crossing(facts, evaluate(facts, as_of))
        assert crossing is not None
        late.append(_period_cells(situation, facts, crossing))
    effect = _moved(situation, (_period_cells(situation, f, as_of) for f in soon), late)
    return Fix(FixKind.DUE_SOON, ON_TIME, len(soon), effect, Listing.DUE_SOON, if_nothing_done=True)


def finished_at_due(facts: Facts, as_of: datetime) -> Facts:
    """The dossier finished at its due time on the processing clock (now, if that is past)."""
    outcome = evaluate(facts, as_of)
    due = None if facts.due_at is None else facts.due_at + outcome.closed_pause
    end = as_of if due is None or due < as_of else due
    marks = tuple(sorted((*facts.marks, Mark(DossierStatus.COMPLETED, end)), key=lambda m: m.at))
    return replace(facts, marks=marks)


def forecast(situation: Situation, ongoing: Sequence[Facts]) -> Forecast:
    """The period's end score under two assumptions about the dossiers in progress (`ongoing`,
    as `in_progress` gives them); the other counts as they stand (no new dossiers)."""
    as_of = situation.as_of
    end = max(situation.period.end, as_of)
    now = [_period_cells(situation, f, as_of) for f in ongoing]

    def scenario(after: Iterable[Mapping[str, tuple[int, int]]]) -> Scenario:
        effect = _moved(situation, now, after)
        return Scenario(
            score(situation.methodology, applied(situation.unit_counts, effect.unit)),
            score(situation.methodology, applied(situation.province_counts, effect.province)),
            effect,
        )

    return Forecast(
        len(ongoing),
        scenario(_period_cells(situation, finished_at_due(f, as_of), end) for f in ongoing),
        scenario(_period_cells(situation, f, end) for f in ongoing),
    )


# -- all together ------------------------------------------------------------------------------


def guidance_of_states(situation: Situation, states: Sequence[str], horizon: datetime) -> Guidance:
    """`guidance` of dossiers given as the JSON text of their stored states: what a worker
    process is sent (the province's guidance reads every dossier in progress, thousands of them,
    and text crosses a process boundary far cheaper than decoded states)."""
    return guidance(situation, [read_facts(orjson.loads(state)) for state in states], horizon)


def guidance(situation: Situation, dossiers: Sequence[Facts], horizon: datetime) -> Guidance:
    """Every scored indicator with its fixes, most points at stake first; `dossiers` are the
    unit's dossiers in progress, `horizon` the end of "due soon"."""
    ongoing = in_progress(dossiers, situation.as_of)
    # Only a running period can still lose points to dossiers going late.
    running = situation.as_of < situation.period.end
    soon = due_soon(ongoing, situation.as_of, horizon) if running else []
    fixes = [*count_fixes(situation), *catalogue_fixes(situation)]
    at_risk = due_soon_fix(situation, soon)
    if at_risk is not None:
        fixes.append(at_risk)
    by_indicator: dict[str, list[Valued]] = {}
    for fix in fixes:
        by_indicator.setdefault(fix.indicator, []).append(situation.value(fix))
    unit = score(situation.methodology, situation.unit_counts)
    order = {i.id: n for n, i in enumerate(situation.methodology.indicators)}
    indicators = [
        IndicatorGuidance(
            indicator,
            indicator.max_points - indicator.points,
            tuple(
                sorted(
                    by_indicator.get(indicator.id, ()),
                    key=lambda v: (not v.fix.can_change, -v.unit_gain, v.fix.kind),
                )
            ),
        )
        for indicator in unit.indicators
        if indicator.scored
    ]
    indicators.sort(key=lambda g: (-g.at_stake, order[g.score.id]))
    return Guidance(
        unit,
        score(situation.methodology, situation.province_counts),
        tuple(indicators),
        tuple(soon),
        forecast(situation, ongoing),
    )
