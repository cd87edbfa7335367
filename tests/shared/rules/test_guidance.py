"""The guidance's rules, pure: fixes from counts and the catalogue, dossiers due soon, the forecast;
and their invariants (a fix that only raises numerators never lowers points, and gains no more
than the points at stake; finishing on time never scores less than stalling)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.methodology import Ratio, load_methodology, score
from shared.periods import Calendar
from shared.rules.catalogue import (
    Catalogue,
    CatalogueProcedure,
    CatalogueRules,
    CatalogueUnit,
)
from shared.rules.dossier import Facts, apply_event, empty_state
from shared.rules.guidance import (
    Effect,
    FixKind,
    Situation,
    applied,
    catalogue_fixes,
    count_fixes,
    due_soon,
    due_soon_fix,
    forecast,
    gain,
    guidance,
    guidance_of_states,
    in_progress,
)
from shared.workdays import OfficeHours, WorkingCalendar
from tests.support.factories import dossier_event, received
from tests.support.scoring import facts_of, stored

METHODOLOGY = load_methodology()
CALENDAR = Calendar()
WORKDAYS = WorkingCalendar()
PROVINCE = "19"
# Friday 20/11/2026, 10:00 in Hà Nội.
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
WEEK = CALENDAR.parse("2026-W47")
SCORED = [i for i in METHODOLOGY.indicators if i.rule.kind != "display"]
DEPENDENTS = {
    i.id: [d.id for d in METHODOLOGY.indicators if d.times_rate_of == i.id]
    for i in METHODOLOGY.indicators
}
CATALOGUE = Catalogue(
    units=(
        CatalogueUnit(PROVINCE, "Tỉnh", "PROVINCE"),
        CatalogueUnit("D1", "Sở 1", "DEPARTMENT"),
        CatalogueUnit("D2", "Sở 2", "DEPARTMENT"),
    ),
    procedures=(
        CatalogueProcedure(
            "PA", "A", frozenset({"DEPARTMENT"}), frozenset({"D1"}), "FULL", has_fee=True
        ),
        CatalogueProcedure(
            "PB", "B", frozenset({"DEPARTMENT"}), frozenset({"D1"}), "NONE", has_fee=True
        ),
        CatalogueProcedure("PC", "C", frozenset({"DEPARTMENT"}), frozenset({"D2"}), "FULL"),
    ),
)


def situation(
    unit: dict[str, Ratio],
    province: dict[str, Ratio] | None = None,
    activity: dict[str, dict[str, set[str]]] | None = None,
    unit_code: str = "D1",
) -> Situation:
    rules = CatalogueRules(CATALOGUE, WORKDAYS)
    activity = activity or {}
    counts = rules.counts(activity, WEEK, NOW, PROVINCE, units=(unit_code,))
    counts[unit_code] = {**counts.get(unit_code, {}), **unit}
    counts[PROVINCE] = {**counts[PROVINCE], **(unit if province is None else province)}
    return Situation(METHODOLOGY, unit_code, PROVINCE, WEEK, counts, rules, activity, NOW, NOW)


ratios = st.integers(0, 60).flatmap(
    lambda denominator: st.builds(Ratio, st.integers(0, denominator), st.just(denominator))
)
dossier_counts = st.fixed_dictionaries(
    {i.id: ratios for i in METHODOLOGY.indicators if i.source != "catalog"}
)


@settings(max_examples=200, deadline=None)
@given(dossier_counts)
def test_a_shortfall_fix_never_lowers_points_nor_gains_more_than_is_at_stake(
    counts: dict[str, Ratio],
) -> None:
    now = score(METHODOLOGY, counts)
    points = {i.id: i for i in now.indicators}
    for fix in count_fixes(situation(counts)):
        gained = gain(METHODOLOGY, counts, fix.effect.unit)
        own = points[fix.indicator].max_points - points[fix.indicator].points
        dependents = sum(
            (points[d].max_points - points[d].points for d in DEPENDENTS[fix.indicator]),
            Decimal(0),
        )
        assert Decimal(0) <= gained <= own + dependents
        rule = METHODOLOGY.indicator(fix.indicator)
        if rule.times_rate_of is None:
            # The whole shortfall in: the indicator at its maximum.
            assert gained >= own
            if not DEPENDENTS[fix.indicator]:
                assert gained == own


@settings(max_examples=200, deadline=None)
@given(dossier_counts, st.sampled_from(SCORED), st.integers(0, 60))
def test_raising_a_numerator_never_lowers_the_total(
    counts: dict[str, Ratio], indicator: object, more: int
) -> None:
    chosen = indicator.id  # type: ignore[attr-defined]
    ratio = counts.get(chosen, Ratio(0, 0))
    more = min(more, ratio.denominator - ratio.numerator)
    assert gain(METHODOLOGY, counts, {chosen: (more, 0)}) >= 0


def test_shortfalls_of_the_counts_name_their_act_and_what_else_it_may_raise() -> None:
    fixes = {
        f.kind: f
        for f in count_fixes(
            situation({"1.4": Ratio(8, 10), "4.1": Ratio(3, 5), "2.1": Ratio(9, 10)})
        )
    }
    assert fixes[FixKind.NOT_SYNCED].count == 2
    assert fixes[FixKind.NOT_SYNCED].effect == Effect({"1.4": (2, 0)}, {"1.4": (2, 0)})
    assert fixes[FixKind.NO_E_RESULT].may_also_change == ("3.3", "4.2")
    overdue = fixes[FixKind.OVERDUE]
    assert (overdue.count, overdue.can_change) == (1, False)


def test_syncing_counts_twice_through_3_3() -> None:
    """1.4's rate multiplies 3.3's: syncing gains in both, as the points say."""
    counts = {"1.4": Ratio(1, 2), "3.3": Ratio(1, 2)}
    fix = next(f for f in count_fixes(situation(counts)) if f.kind is FixKind.NOT_SYNCED)
    # 1.4: 3 → 6; 3.3: min(6, 6 × 0.25 / 0.5) = 3 → 6.
    assert gain(METHODOLOGY, counts, fix.effect.unit) == Decimal(6)


def test_catalogue_fixes_ask_the_catalogue_rules_again() -> None:
    # PA had fee-bearing dossiers this week, none paid online; PB none at all.
    found = situation({"3.6": Ratio(0, 3)}, activity={"D1": {"3.5": {"PA"}, "3.2": {"PA"}}})
    fixes = {f.kind: f for f in catalogue_fixes(found)}
    online = fixes[FixKind.NO_ONLINE_SERVICE]
    # PB offered online: 3.1 goes 1/2 → 2/2, and 3.2's denominator grows (1/1 → 1/2).
    assert online.effect.unit == {"3.1": (1, 0), "3.2": (0, 1)}
    assert online.effect.province == {"3.1": (1, 0), "3.2": (0, 1)}
    paid = fixes[FixKind.FEE_PAID_OFFLINE]
    # One of PA's dossiers paid online: 3.5b, and that dossier in 3.6.
    assert (paid.count, paid.effect.unit) == (1, {"3.5b": (1, 0), "3.6": (1, 0)})
    assert paid.may_also_change == ()
    new = fixes[FixKind.FEE_WITHOUT_DOSSIER]
    # PB needs a dossier of its own: its fee data (3.5) and its payment (3.5b).
    assert new.effect.unit == {"3.5": (1, 0), "3.5b": (1, 0)}
    assert "3.6" in new.may_also_change
    # The other department's counts are its own: D2 is untouched, the province pools D1's.
    assert found.value(paid).province_gain == gain(
        METHODOLOGY, found.province_counts, paid.effect.province
    )


def test_the_province_fixes_every_units_procedures() -> None:
    found = situation({}, unit_code=PROVINCE)
    online = next(f for f in catalogue_fixes(found) if f.kind is FixKind.NO_ONLINE_SERVICE)
    assert online.count == 1  # PB, D1's; D2's PC is online
    assert online.effect.unit == online.effect.province == {"3.1": (1, 0), "3.2": (0, 1)}


# -- dossiers in progress ------------------------------------------------------------------------

OFFICE = OfficeHours(WORKDAYS)
RECEIVED = NOW - timedelta(days=3)  # Tuesday 17/11, 10:00


def _in_progress(code: str, due_in_hours: float, **fields: object) -> Facts:
    due = NOW + timedelta(hours=due_in_hours) - RECEIVED
    return facts_of([received(code, RECEIVED, due_in=due, unit_code="D1", **fields)])


def _finished(code: str) -> Facts:
    return facts_of(
        [
            received(code, RECEIVED, due_in=timedelta(days=1), unit_code="D1"),
            dossier_event(code, "COMPLETED", RECEIVED + timedelta(hours=1), unit_code="D1"),
        ]
    )


def _counts_of(dossiers: list[Facts]) -> dict[str, Ratio]:
    """The week's 2.1 and 5.4 as scoring keeps them at NOW, for dossiers in progress alone."""
    on_time = sum(1 for f in dossiers if f.due_at is None or f.due_at >= NOW)
    return {"2.1": Ratio(on_time, len(dossiers)), "5.4": Ratio(on_time, len(dossiers))}


def test_due_soon_is_the_dossiers_turning_late_within_the_working_hours() -> None:
    dossiers = [
        _in_progress("soon", 4),  # 14:00 today
        _in_progress("saturday", 26),  # after 16:00, the end of 4 working hours
        _in_progress("late", -1),
        _finished("done"),
    ]
    horizon = OFFICE.hours_after(NOW, 4)
    assert horizon == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 16:00 local
    assert [f.marks[0] for f in in_progress(dossiers, NOW)] == [f.marks[0] for f in dossiers[:3]]
    soon = due_soon(dossiers, NOW, horizon)
    assert [f.due_at for f in soon] == [dossiers[0].due_at]
    # "soon", "saturday" and "done" on time, "late" not.
    found = situation({"2.1": Ratio(3, 4), "5.4": Ratio(3, 4)})
    fix = due_soon_fix(found, soon)
    assert fix is not None
    assert fix.if_nothing_done
    # 2.1 and 5.4 lose one of four each: 3/4 → 2/4.
    assert fix.effect.unit == {"2.1": (-1, 0), "5.4": (-1, 0)}
    # 20 × 3/4 − 20 × 2/4 = 5; 5.4 full at 90 %: 6 × 0.75 / 0.9 = 5 → 6 × 0.5 / 0.9 = 3.33.
    assert found.value(fix).unit_gain == Decimal("6.67")


def test_the_forecast_by_hand() -> None:
    dossiers = [
        _in_progress("soon", 4),
        _in_progress("saturday", 26),  # due before the week ends (Monday 00:00)
        _in_progress("next-week", 24 * 5),
        _in_progress("late", -1),
    ]
    found = situation(_counts_of(dossiers))
    result = forecast(found, dossiers)
    assert result.in_progress == 4
    # On time: the three within their time finish at it, the late one stays late: 3/4.
    assert result.on_time.effect.unit.get("2.1", (0, 0)) == (0, 0)
    assert {i.id: i.numerator for i in result.on_time.unit.indicators}["2.1"] == 3
    # Stalled: "soon" and "saturday" go late by the week's end: 1/4.
    assert result.stalled.effect.unit == {"2.1": (-2, 0), "5.4": (-2, 0)}
    on_time_points = {i.id: i.points for i in result.stalled.unit.indicators}
    assert on_time_points["2.1"] == Decimal(5)


instants = st.floats(-48, 24 * 8, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(instants, min_size=1, max_size=8), st.floats(1, 40))
def test_finishing_on_time_never_scores_less_than_stalling(
    due_in_hours: list[float], within: float
) -> None:
    dossiers = [_in_progress(f"d{n}", hours) for n, hours in enumerate(due_in_hours)]
    found = situation(_counts_of(dossiers))
    result = forecast(found, dossiers)
    assert result.on_time.unit.total >= result.stalled.unit.total
    assert result.on_time.province.total >= result.stalled.province.total
    # Going late never raises points: what the due soon keep is never negative.
    soon = due_soon(dossiers, NOW, OFFICE.hours_after(NOW, within))
    fix = due_soon_fix(found, soon)
    if fix is not None:
        assert found.value(fix).unit_gain >= 0
        assert all(f.due_at is not None and f.due_at >= NOW for f in soon)


def test_guidance_orders_indicators_by_points_at_stake() -> None:
    found = situation({"1.4": Ratio(5, 10), "2.1": Ratio(9, 10), "4.3": Ratio(7, 10)})
    result = guidance(found, [], OFFICE.hours_after(NOW, 8))
    stakes = [g.at_stake for g in result.indicators]
    assert stakes == sorted(stakes, reverse=True)
    assert all(g.score.scored for g in result.indicators)
    assert result.unit.total == score(METHODOLOGY, found.unit_counts).total
    assert applied({"1.4": Ratio(1, 2)}, {"1.4": (1, 0), "3.3": (0, 1)}) == {
        "1.4": Ratio(2, 2),
        "3.3": Ratio(0, 1),
    }


def _state_text(events: list[dict[str, object]]) -> str:
    state = empty_state()
    for event in events:
        apply_event(state, stored(event))
    return orjson.dumps(state).decode()


def test_a_guidance_computed_in_a_worker_process_is_the_one_computed_here() -> None:
    """The api sends a province's guidance (thousands of dossiers) to a spawned worker: what it
    is sent must survive the trip, and the answer equal the one computed in the process."""
    states = [
        _state_text(
            [
                received(
                    f"in-{n}", RECEIVED, due_in=NOW + timedelta(hours=n) - RECEIVED, unit_code="D1"
                )
            ]
        )
        for n in range(-3, 26)
    ]
    found = situation({"2.1": Ratio(20, 29), "5.4": Ratio(20, 29)})
    horizon = OFFICE.hours_after(NOW, 8)
    here = guidance_of_states(found, states, horizon)
    with ProcessPoolExecutor(1, multiprocessing.get_context("spawn")) as workers:
        there = workers.submit(guidance_of_states, found, states, horizon).result(timeout=120)
    assert there == here
    assert here.forecast.in_progress == len(states)
    assert here.due_soon
