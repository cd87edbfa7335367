"""The catalogue's indicators, by hand: 1.1, 1.2, 1.3, 4.6 (provincial) and 3.1, 3.2, 3.5,
3.5b, 4.5a (per unit, from the period's procedure activity), with their points."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.methodology import Ratio, load_methodology, score
from shared.periods import Calendar
from shared.rules.catalogue import (
    CATALOGUE_INDICATORS,
    PROVINCIAL_INDICATORS,
    Catalogue,
    CatalogueProcedure,
    CataloguePublication,
    CatalogueRules,
    CatalogueUnit,
    activity_by_unit,
    activity_id,
)
from shared.rules.contributions import receipt_counts
from shared.rules.dossier import apply_event, empty_state, read_facts
from shared.workdays import WorkingCalendar
from tests.support.factories import received

PROVINCE = "19"
# Friday 20/11/2026, 10:00 in Hà Nội.
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
CALENDAR = Calendar()
NOVEMBER = CALENDAR.parse("2026-11")
OCTOBER = CALENDAR.parse("2026-10")


def _procedure(code: str, levels: str, **fields: object) -> CatalogueProcedure:
    return CatalogueProcedure(
        code=code, name=f"Thủ tục {code}", levels=frozenset({levels}), **fields
    )  # type: ignore[arg-type]


CATALOGUE = Catalogue(
    units=(
        CatalogueUnit(PROVINCE, "Tỉnh", "PROVINCE"),
        CatalogueUnit("D1", "Sở 1", "DEPARTMENT"),
        CatalogueUnit("D2", "Sở 2", "DEPARTMENT"),  # nothing under it
        CatalogueUnit("C1", "Xã 1", "COMMUNE", e_certified_copy=True),
        CatalogueUnit("C2", "Xã 2", "COMMUNE", e_certified_copy=False),
        CatalogueUnit("C3", "Xã 3", "COMMUNE"),
    ),
    procedures=(
        _procedure(
            "PA",
            "DEPARTMENT",
            unit_codes=frozenset({"D1"}),
            online_service="FULL",
            has_fee=True,
            for_individuals=True,
        ),
        _procedure("PB", "DEPARTMENT", unit_codes=frozenset({"D1"}), has_fee=True),
        _procedure(
            "PC",
            "DEPARTMENT",
            unit_codes=frozenset({"D1"}),
            online_service="PARTIAL",
            for_individuals=True,
        ),
        _procedure("PX", "COMMUNE", online_service="FULL", has_fee=True, for_individuals=True),
        _procedure("PY", "COMMUNE", for_individuals=True),
    ),
    publications=(
        # On time twice: decided 2/11 ≤ 9/11 (5 working days before 16/11); public 5/11 ≤ 9/11.
        CataloguePublication("PA", date(2026, 11, 2), date(2026, 11, 16), date(2026, 11, 5), True),
        # An earlier decision, public and complete, then a late one, public late and incomplete.
        CataloguePublication("PB", date(2026, 10, 1), date(2026, 10, 20), date(2026, 10, 2), True),
        CataloguePublication(
            "PB", date(2026, 11, 10), date(2026, 11, 12), date(2026, 11, 18), False
        ),
        # Decided on time, not yet public and still within its 5 days (24/11 is a holiday).
        CataloguePublication("PC", date(2026, 11, 19), date(2026, 12, 15)),
        # Decided on time, never made public: due by 10/11.
        CataloguePublication("PX", date(2026, 11, 3), date(2026, 11, 20)),
    ),
)
RULES = CatalogueRules(CATALOGUE, WorkingCalendar())
ACTIVITY = {
    "D1": {"3.2": {"PA"}, "3.5": {"PA", "PB"}, "3.5b": {"PA"}, "4.5a": {"PC", "PB"}},
    "C1": {"3.2": {"PX"}, "4.5a": {"PY"}},
}


def _counts(period: object = NOVEMBER) -> dict[str, dict[str, Ratio]]:
    return RULES.counts(ACTIVITY, period, NOW, PROVINCE)  # type: ignore[arg-type]


def test_published_on_time_counts_each_procedure_once_and_one_late_decision_makes_it_late() -> None:
    members = {m.code: m for m in RULES.published_on_time(NOVEMBER, NOW)}
    assert {code: m.counted for code, m in members.items()} == {
        "PA": True,
        "PB": False,
        "PC": True,
        "PX": True,
    }
    assert "due by 2026-11-05" in members["PB"].reason
    assert _counts()["D1"]["1.1"] == Ratio(3, 4)
    # October has only PB's first decision, on time.
    assert _counts(OCTOBER)["C1"]["1.1"] == Ratio(1, 1)


def test_made_public_on_time_leaves_out_what_is_not_yet_due() -> None:
    members = {m.code: m.counted for m in RULES.made_public_on_time(NOVEMBER, NOW)}
    assert members == {"PA": True, "PB": False, "PX": False}
    # As of the end of October, PB's first decision was public the next day.
    assert _counts(OCTOBER)[PROVINCE]["1.2"] == Ratio(1, 1)


def test_public_and_complete_looks_at_each_procedures_latest_public_decision() -> None:
    members = {m.code: m.counted for m in RULES.public_and_complete(NOW)}
    assert members == {"PA": True, "PB": False}
    # "As of now" whatever the period.
    assert _counts(OCTOBER)["D1"]["1.3"] == Ratio(1, 2)


def test_certified_copies_count_communes() -> None:
    assert _counts()["D2"]["4.6"] == Ratio(1, 3)


def test_provincial_indicators_are_the_same_for_every_unit_and_the_province() -> None:
    counts = _counts()
    for indicator in PROVINCIAL_INDICATORS:
        assert len({counts[unit][indicator] for unit in counts}) == 1, indicator


def test_unit_indicators_count_the_procedures_under_the_unit() -> None:
    counts = _counts()
    assert {i: counts["D1"][i] for i in ("3.1", "3.2", "3.5", "3.5b", "4.5a")} == {
        "3.1": Ratio(2, 3),  # PA, PC online of PA, PB, PC
        "3.2": Ratio(1, 2),  # PA had an online dossier, PC none
        "3.5": Ratio(2, 2),  # both fee-bearing procedures carried fee data
        "3.5b": Ratio(1, 2),  # PB had no online payment
        "4.5a": Ratio(1, 2),  # PC of PA, PC; PB is not for individuals and not counted
    }
    assert {i: counts["C1"][i] for i in ("3.1", "3.2", "3.5", "4.5a")} == {
        "3.1": Ratio(1, 2),
        "3.2": Ratio(1, 1),
        "3.5": Ratio(0, 1),
        "4.5a": Ratio(1, 2),
    }
    assert counts["C2"]["3.2"] == Ratio(0, 1)


def test_the_province_pools_its_units_counts() -> None:
    province = _counts()[PROVINCE]
    # D1 2/3, D2 0/0, C1..C3 1/2 each.
    assert province["3.1"] == Ratio(5, 9)
    assert province["3.2"] == Ratio(2, 5)


def test_zero_denominators_score_zero() -> None:
    counts = _counts()["D2"]
    assert counts["3.1"] == Ratio(0, 0)
    points = {i.id: i.points for i in score(load_methodology(), counts).indicators}
    assert points["3.1"] == points["3.2"] == points["4.5a"] == Decimal(0)


def test_points_follow_the_methodology() -> None:
    points = {i.id: i.points for i in score(load_methodology(), _counts()["D1"]).indicators}
    assert points["1.1"] == Decimal("4.50")  # 6 × 3/4
    assert points["1.2"] == Decimal("1.33")  # 4 × 1/3
    assert points["1.3"] == Decimal("1.00")  # 2 × 1/2
    assert points["4.6"] == Decimal("0.67")  # 2 × 1/3
    assert points["3.1"] == Decimal("1.67")  # min(2, 2 × (2/3) / 0.8)
    assert points["3.2"] == Decimal("2.00")  # 4 × 1/2
    assert points["3.5"] == Decimal("2.00")  # min(2, 2 × 1 / 0.8)
    assert points["3.5b"] == Decimal("1.25")  # min(2, 2 × 0.5 / 0.8)
    assert points["4.5a"] == Decimal("1.00")  # 2 × 1/2


def test_the_audit_lists_what_the_counts_count() -> None:
    members = RULES.members("3.2", "D1", ACTIVITY["D1"], NOVEMBER, NOW, PROVINCE)
    assert [(m.code, m.counted, m.reason) for m in members] == [
        ("PA", True, "at least one online dossier in the period"),
        ("PC", False, "no online dossier in the period"),
    ]
    with pytest.raises(ValueError, match="pools"):
        RULES.members("3.2", PROVINCE, {}, NOVEMBER, NOW, PROVINCE)


@pytest.mark.parametrize("activity", [ACTIVITY, {}, {"D1": {"3.2": {"PC", "PZ"}}}])
def test_the_counts_count_the_members_listed(activity: dict[str, dict[str, set[str]]]) -> None:
    """`counts` counts (cached per unit) what `unit_members` lists, in any period's activity."""
    rules = CatalogueRules(CATALOGUE, WorkingCalendar())
    for _ in range(2):
        counts = rules.counts(activity, NOVEMBER, NOW, PROVINCE)  # type: ignore[arg-type]
        for unit in CATALOGUE.scored_units():
            for indicator in ("3.1", "3.2", "3.5", "3.5b", "4.5a"):
                members = rules.unit_members(indicator, unit, activity.get(unit.code, {}))
                listed = Ratio(sum(m.counted for m in members), len(members))
                assert counts[unit.code][indicator] == listed, (unit.code, indicator)


def test_the_methodology_marks_the_same_indicators_catalogue_and_provincial() -> None:
    methodology = load_methodology()
    assert {i.id for i in methodology.indicators if i.source == "catalog"} == set(
        CATALOGUE_INDICATORS
    )
    assert {i.id for i in methodology.indicators if i.provincial} == set(PROVINCIAL_INDICATORS)


def test_a_dossier_records_the_activity_of_its_procedure() -> None:
    state = empty_state()
    apply_event(
        state,
        received(
            "H1",
            NOW,
            procedure_code="PX",
            channel="ONLINE",
            fee_required=True,
            paid_online=False,
            population_data_used=True,
        ),
    )
    cells = {i: (n, d) for i, n, d in receipt_counts(read_facts(state)) if "@" in i}
    assert cells == {
        activity_id("3.2", "PX"): (1, 1),
        activity_id("3.5", "PX"): (1, 1),
        activity_id("4.5a", "PX"): (1, 1),
    }
    assert activity_by_unit([("C1", activity_id("3.2", "PX")), ("C1", "2.1")]) == {
        "C1": {"3.2": {"PX"}}
    }
