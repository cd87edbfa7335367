"""How a step sums its deltas, against the plain sums.

`Scorer.step` sums the subjects' `new - old` with `DeltaSum` (receipt counts grouped by unit and
receipt periods, processing counts by unit and period, spelled out into cells at the end) rather
than `add_difference` cell by cell; `merge_deltas` copies the largest part and adds the others
in. Both must give exactly the plain sums.
"""

from __future__ import annotations

import gc
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scoring.batch import merge_deltas
from shared.periods import ALL_KINDS
from shared.rules.contributions import (
    NOTHING,
    Contribution,
    CountDeltas,
    DeltaSum,
    add_difference,
    contributions,
    with_province,
)
from tests.services.scoring.test_batch_properties import START, province_history
from tests.support.scoring import CALENDAR, PROVINCE, dossier_scorer, facts_of

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_merge_deltas(*parts: CountDeltas) -> CountDeltas:
    merged: CountDeltas = {}
    for part in parts:
        for key, (numerator, denominator) in part.items():
            cell = merged.setdefault(key, [0, 0])
            cell[0] += numerator
            cell[1] += denominator
    return {key: value for key, value in merged.items() if value != [0, 0]}


@st.composite
def contribution_pairs(draw: st.DrawFn) -> list[tuple[str, Contribution, Contribution]]:
    """(unit, new, old) of dossiers evaluated at two instants, as a step sees them; some moved
    between units, some never counted, some with spelled-out cells (as feedback's are)."""
    payloads = draw(province_history())
    pairs = []
    for code in sorted({p["dossier_code"] for p in payloads}):
        history = [p for p in payloads if p["dossier_code"] == code]
        cut = draw(st.integers(0, len(history)))
        at = [START + timedelta(hours=draw(st.integers(0, 24 * 75))) for _ in range(2)]
        old = contributions(facts_of(history[:cut]), min(at), CALENDAR, ALL_KINDS)
        new = contributions(facts_of(history), max(at), CALENDAR, ALL_KINDS)
        unit = draw(st.sampled_from(["U1", "U2", PROVINCE]))
        pairs.append((unit, new, old))
        if draw(st.booleans()):  # moved out of a unit, and into another
            pairs.append((draw(st.sampled_from(["U1", "U3"])), NOTHING, old))
    for _ in range(draw(st.integers(0, 3))):
        cells = draw(
            st.dictionaries(
                st.tuples(
                    st.sampled_from(["2026-W40", "2026-10"]), st.sampled_from(["5.2", "5.3"])
                ),
                st.tuples(st.integers(0, 1), st.just(1)),
            )
        )
        old = draw(st.sampled_from([NOTHING, *(new for _, new, _ in pairs)]))
        pairs.append(("U1", Contribution(cells=cells), old))
    return draw(st.permutations(pairs))


@PROPERTY
@given(pairs=contribution_pairs())
def test_a_step_s_sum_is_the_sum_cell_by_cell(
    pairs: list[tuple[str, Contribution, Contribution]],
) -> None:
    plain: CountDeltas = {}
    summed = DeltaSum()
    for unit, new, old in pairs:
        add_difference(plain, unit, new, old)
        summed.add_difference(unit, new, old)
    assert with_province(summed.deltas(), PROVINCE) == with_province(plain, PROVINCE)
    # Spelled out, it starts again from nothing.
    assert summed.deltas() == {}


cells = st.dictionaries(
    st.tuples(
        st.sampled_from(["U1", "U2", "19"]),
        st.sampled_from(["2026-W40", "2026"]),
        st.sampled_from(["2.1", "5.4"]),
    ),
    st.lists(st.integers(-3, 3), min_size=2, max_size=2),
    max_size=12,
)


@PROPERTY
@given(parts=st.lists(cells, max_size=4), again=st.booleans())
def test_merged_deltas_are_the_plain_sum(parts: list[CountDeltas], again: bool) -> None:
    if again and parts:
        parts.append(parts[0])  # the same part twice counts twice
    before = [{key: list(value) for key, value in part.items()} for part in parts]
    merged = merge_deltas(*parts)
    assert merged == reference_merge_deltas(*before)
    # The parts are left as they were, and share no cell with the result.
    assert parts == before
    for part in parts:
        assert all(merged.get(key) is not value for key, value in part.items())


def test_a_step_leaves_the_garbage_collector_as_it_found_it() -> None:
    scorer = dossier_scorer()
    at = datetime(2026, 11, 2, 2, tzinfo=START.tzinfo)
    event: dict[str, Any] = {"dossier_code": "D"}  # no event id: the step fails on it
    assert gc.isenabled()
    with pytest.raises(KeyError):
        scorer.step({}, [event], [], at)
    assert gc.isenabled()
    gc.disable()
    try:
        scorer.step({}, [], [], at)
        assert not gc.isenabled()
    finally:
        gc.enable()
