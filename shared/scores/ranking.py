"""Units ordered by their points: standard competition ranking ("1224"), ties listed by code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.methodology import Methodology, UnitScore, score
from shared.scores.repository import UnitRecord


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    unit: UnitRecord
    score: UnitScore


def rank(
    methodology: Methodology, scores: Mapping[str, UnitScore], units: Iterable[UnitRecord]
) -> list[Ranked]:
    """Every unit of `units` with its rank; a unit with no counts has the points of none."""
    empty = score(methodology, {})
    scored = sorted(
        ((scores.get(u.code) or empty, u) for u in units),
        key=lambda pair: (-pair[0].total, pair[1].code),
    )
    ranked: list[Ranked] = []
    previous: Decimal | None = None
    for position, (unit_score, unit) in enumerate(scored, start=1):
        shared_rank = ranked[-1].rank if ranked and previous == unit_score.total else position
        ranked.append(Ranked(shared_rank, unit, unit_score))
        previous = unit_score.total
    return ranked
