"""The versioned methodology file, validated."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_VERSION = "qd766-portal-2026"
TOTAL_POINTS = Decimal(100)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["linear", "full_at", "display"]
    threshold: Decimal | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _threshold_only_for_full_at(self) -> Rule:
        if (self.kind == "full_at") != (self.threshold is not None):
            raise ValueError("a threshold is required by full_at and only by it")
        return self


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    title: str
    max_points: Decimal


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    group: str
    title: str
    max_points: Decimal
    rule: Rule
    source: Literal["dossier", "catalog", "feedback"]
    # Computed once for the province; every department and commune carries its value.
    provincial: bool = False
    # Points when the denominator is zero (the portal's rule); None means the rate is 0.
    zero_denominator_points: Decimal | None = None
    # The rate is multiplied by another indicator's rate (3.3 by 1.4's sync rate).
    times_rate_of: str | None = None
    measure: Literal["rate", "average_days"] = "rate"


class Methodology(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    title: str
    groups: tuple[Group, ...]
    indicators: tuple[Indicator, ...]

    @model_validator(mode="after")
    def _points_add_up(self) -> Methodology:
        total = sum((g.max_points for g in self.groups), Decimal(0))
        if total != TOTAL_POINTS:
            raise ValueError(f"group maxima sum to {total}, not {TOTAL_POINTS}")
        ids = [i.id for i in self.indicators]
        if len(set(ids)) != len(ids):
            raise ValueError("indicator ids are not unique")
        for group in self.groups:
            points = sum(
                (i.max_points for i in self.indicators if i.group == group.code), Decimal(0)
            )
            if points != group.max_points:
                raise ValueError(
                    f"group {group.code}: indicators sum to {points}, not {group.max_points}"
                )
        codes = {g.code for g in self.groups}
        for indicator in self.indicators:
            if indicator.group not in codes:
                raise ValueError(f"indicator {indicator.id}: unknown group {indicator.group}")
            if indicator.times_rate_of and indicator.times_rate_of not in ids:
                raise ValueError(f"indicator {indicator.id}: unknown {indicator.times_rate_of}")
        return self

    def indicator(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(indicator_id)


class Methodologies:
    """The shipped versions, plus a province's own from a folder of `<version>.json` files.

    Every file is loaded and validated when this is built (at start-up), so a bad file stops
    the service instead of a request.
    """

    def __init__(self, default: str = DEFAULT_VERSION, folder: Path | None = None) -> None:
        files: dict[str, str] = {
            entry.name.removesuffix(".json"): entry.read_text(encoding="utf-8")
            for entry in resources.files(__package__).iterdir()
            if entry.name.endswith(".json")
        }
        if folder is not None:
            files |= {path.stem: path.read_text(encoding="utf-8") for path in folder.glob("*.json")}
        self.versions: dict[str, Methodology] = {}
        for name, text in sorted(files.items()):
            methodology = Methodology.model_validate_json(text)
            if methodology.version != name:
                raise ValueError(f"{name}.json declares version {methodology.version!r}")
            self.versions[name] = methodology
        if default not in self.versions:
            raise ValueError(f"unknown default methodology {default!r}")
        self.default = self.versions[default]

    def get(self, version: str | None) -> Methodology:
        if version is None:
            return self.default
        try:
            return self.versions[version]
        except KeyError:
            raise LookupError(
                f"unknown methodology {version!r}; available: {', '.join(self.versions)}"
            ) from None


@cache
def load_methodology(version: str = DEFAULT_VERSION) -> Methodology:
    """A shipped methodology version."""
    return Methodologies(version).default
