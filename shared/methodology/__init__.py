"""The 766 methodology as data: which indicators exist, their points, and how counts become points.

A methodology version is a JSON file in this folder; `load_methodology()` validates it (group
maxima sum to 100, each group's indicators sum to its maximum); `score()` turns counts to points.
"""

from shared.methodology.model import (
    Group,
    Indicator,
    Methodologies,
    Methodology,
    Rule,
    load_methodology,
)
from shared.methodology.points import GroupScore, IndicatorScore, Ratio, UnitScore, score

__all__ = [
    "Group",
    "GroupScore",
    "Indicator",
    "IndicatorScore",
    "Methodologies",
    "Methodology",
    "Ratio",
    "Rule",
    "UnitScore",
    "load_methodology",
    "score",
]
