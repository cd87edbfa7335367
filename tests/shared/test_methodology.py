"""The methodology file and the points rules, checked against the province's own figures."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.methodology import Methodology, Ratio, load_methodology, score
from shared.methodology.points import indicator_points


def points_of(counts: dict[str, Ratio]) -> dict[str, Decimal]:
    return {g.code: g.points for g in score(load_methodology(), counts).groups}


def test_the_default_methodology_has_six_groups_summing_to_100() -> None:
    methodology = load_methodology()
    assert [g.code for g in methodology.groups] == ["CKMB", "TDGQ", "CLGQ", "TTTT", "MDHL", "MDSH"]
    assert sum(g.max_points for g in methodology.groups) == 100
    assert len(methodology.indicators) == 23


def test_satisfaction_group_of_the_seed_letter_is_17_86() -> None:
    # PAKN satisfaction 98.00 %, dossier satisfaction 96.49 %, PAKN on time 99.62 %.
    groups = points_of(
        {"5.3": Ratio(98, 100), "5.4": Ratio(9649, 10000), "5.2": Ratio(9962, 10000)}
    )
    assert groups["MDHL"] == Decimal("17.86")


def test_progress_group_of_the_seed_letter_is_19_30() -> None:
    assert points_of({"2.1": Ratio(9649, 10000)})["TDGQ"] == Decimal("19.30")


def test_online_services_of_the_published_capture_is_8_56() -> None:
    groups = points_of(
        {
            "3.1": Ratio(52, 89),
            "3.2": Ratio(516, 1884),
            "3.3": Ratio(986, 1000),
            "1.4": Ratio(1, 1),
        }
    )
    assert groups["CLGQ"] == Decimal("8.56")


def test_3_3_is_multiplied_by_the_sync_rate_of_1_4() -> None:
    unit = score(load_methodology(), {"3.3": Ratio(40, 100), "1.4": Ratio(50, 100)})
    online = next(i for i in unit.indicators if i.id == "3.3")
    # 0.40 × 0.50 = 0.20 of a 0.50 threshold: 6 × 0.4 = 2.40
    assert (online.rate, online.points) == (Decimal("20.00"), Decimal("2.40"))


def test_zero_denominators_follow_the_portal() -> None:
    unit = score(load_methodology(), {})
    by_id = {i.id: i for i in unit.indicators}
    assert by_id["5.2"].points == by_id["5.3"].points == 6  # no feedback: full points
    assert by_id["5.4"].points == 0  # no dossiers: nothing
    assert by_id["2.1"].points == 0
    assert by_id["2.1"].rate is None
    assert unit.total == 12


def test_average_processing_time_is_shown_in_days_and_not_scored() -> None:
    unit = score(load_methodology(), {"2.2": Ratio(3 * 86_400 + 2 * 86_400, 2)})
    average = next(i for i in unit.indicators if i.id == "2.2")
    assert (average.rate, average.points, average.scored) == (Decimal("2.50"), 0, False)


@pytest.mark.parametrize(
    ("rate_numerator", "expected"),
    [(0, "0.00"), (40, "1.00"), (80, "2.00"), (100, "2.00")],
)
def test_full_at_threshold_caps_at_the_maximum(rate_numerator: int, expected: str) -> None:
    indicator = load_methodology().indicator("4.3")  # 2 points, full at 80 %
    from fractions import Fraction

    assert indicator_points(indicator, Fraction(rate_numerator, 100)) == Decimal(expected)


def test_a_methodology_whose_groups_do_not_sum_to_100_is_refused() -> None:
    data = load_methodology().model_dump()
    data["groups"][0]["max_points"] = 17
    with pytest.raises(ValidationError, match="sum to 99"):
        Methodology.model_validate(data)


def test_a_group_whose_indicators_do_not_add_up_is_refused() -> None:
    data = load_methodology().model_dump()
    data["indicators"][0]["max_points"] = 5
    with pytest.raises(ValidationError, match="group CKMB"):
        Methodology.model_validate(data)


def test_a_province_folder_adds_versions_and_bad_files_stop_the_start(tmp_path: Path) -> None:
    from shared.methodology import Methodologies

    data = load_methodology().model_dump(mode="json")
    (tmp_path / "mine.json").write_text(
        Methodology.model_validate({**data, "version": "mine"}).model_dump_json()
    )
    methodologies = Methodologies(folder=tmp_path)
    assert set(methodologies.versions) == {"mine", "qd766-portal-2026"}
    with pytest.raises(LookupError, match="available: mine, qd766-portal-2026"):
        methodologies.get("theirs")
    (tmp_path / "broken.json").write_text(
        Methodology.model_validate({**data, "version": "mine"}).model_dump_json()
    )
    with pytest.raises(ValueError, match=r"broken\.json declares version 'mine'"):
        Methodologies(folder=tmp_path)
