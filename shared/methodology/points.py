"""From counts to points: pure, exact (fractions), rounded the portal's way at the end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import NamedTuple

from shared.methodology.model import Indicator, Methodology

SECONDS_PER_DAY = 86_400
_CENT = Decimal("0.01")


class Ratio(NamedTuple):
    numerator: int
    denominator: int


@dataclass(frozen=True, slots=True)
class IndicatorScore:
    id: str
    group: str
    title: str
    numerator: int
    denominator: int
    # Percent with 2 decimals (days for an average); None when the denominator is zero.
    rate: Decimal | None
    points: Decimal
    max_points: Decimal
    scored: bool


@dataclass(frozen=True, slots=True)
class GroupScore:
    code: str
    title: str
    points: Decimal
    max_points: Decimal


@dataclass(frozen=True, slots=True)
class UnitScore:
    total: Decimal
    groups: tuple[GroupScore, ...]
    indicators: tuple[IndicatorScore, ...]


def _round(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        _CENT, rounding=ROUND_HALF_UP
    )


def _rate(indicator: Indicator, counts: Mapping[str, Ratio]) -> Fraction | None:
    ratio = counts.get(indicator.id, Ratio(0, 0))
    if ratio.denominator == 0:
        return None
    rate = Fraction(ratio.numerator, ratio.denominator)
    if indicator.times_rate_of:
        rate *= _rate_or_zero(counts.get(indicator.times_rate_of, Ratio(0, 0)))
    return rate


def _rate_or_zero(ratio: Ratio) -> Fraction:
    return Fraction(ratio.numerator, ratio.denominator) if ratio.denominator else Fraction(0)


def indicator_points(indicator: Indicator, rate: Fraction | None) -> Decimal:
    if indicator.rule.kind == "display":
        return Decimal(0)
    if rate is None:
        return indicator.zero_denominator_points or Decimal(0)
    maximum = Fraction(indicator.max_points)
    if indicator.rule.kind == "linear":
        return _round(maximum * rate)
    assert indicator.rule.threshold is not None
    return _round(min(maximum, maximum * rate / Fraction(indicator.rule.threshold)))


def score(methodology: Methodology, counts: Mapping[str, Ratio]) -> UnitScore:
    """Points of one unit (or a pool of units) from its indicator counts."""
    indicators = []
    for indicator in methodology.indicators:
        ratio = counts.get(indicator.id, Ratio(0, 0))
        rate = _rate(indicator, counts)
        if rate is None:
            shown = None
        elif indicator.measure == "average_days":
            shown = _round(rate / SECONDS_PER_DAY)
        else:
            shown = _round(rate * 100)
        indicators.append(
            IndicatorScore(
                id=indicator.id,
                group=indicator.group,
                title=indicator.title,
                numerator=ratio.numerator,
                denominator=ratio.denominator,
                rate=shown,
                points=indicator_points(indicator, rate),
                max_points=indicator.max_points,
                scored=indicator.rule.kind != "display",
            )
        )
    groups = tuple(
        GroupScore(
            code=group.code,
            title=group.title,
            points=sum((i.points for i in indicators if i.group == group.code), Decimal(0)),
            max_points=group.max_points,
        )
        for group in methodology.groups
    )
    return UnitScore(
        total=sum((g.points for g in groups), Decimal(0)),
        groups=groups,
        indicators=tuple(indicators),
    )
