"""The final table: figure | value | ratio to its anchor | target, and the notes beside it."""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Row:
    figure: str
    value: str
    ratio: str = ""
    target: str = ""
    # True: the target is met; False: missed; None: no target, or not measured.
    met: bool | None = None
    section: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    # What the run changed or noticed: scaled-down inputs, skipped figures, service problems.
    notes: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        say(f"{row.figure}: {row.value}" + (f" ({row.ratio})" if row.ratio else ""))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            say(f"note: {text}")

    def render(self) -> str:
        titles = ("figure", "value", "ratio to its anchor", "target")
        # Grouped by section, in the order the sections first came, whenever their rows did.
        first = {row.section: index for index, row in reversed(list(enumerate(self.rows)))}
        rows = sorted(self.rows, key=lambda row: first[row.section])
        cells = [(r.figure, r.value, r.ratio, _target(r)) for r in rows]
        widths = [max(len(t), *(len(c[i]) for c in cells)) for i, t in enumerate(titles)]

        def line(values: Sequence[str]) -> str:
            return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

        rule = "|-" + "-|-".join("-" * w for w in widths) + "-|"
        out = [*self.header, "", line(titles), rule]
        section = None
        for row, values in zip(rows, cells, strict=True):
            if row.section and row.section != section and section is not None:
                out.append(line(["", "", "", ""]))
            section = row.section
            out.append(line(values))
        met = [r.met for r in rows if r.met is not None]
        out.append("")
        out.append(f"targets met: {sum(met)} of {len(met)}")
        if self.notes:
            out.append("")
            out.append("notes:")
            out.extend(f"  - {n}" for n in self.notes)
        return "\n".join(out)


def _target(row: Row) -> str:
    if not row.target:
        return ""
    mark = {True: "  ok", False: "  MISSED", None: ""}[row.met]
    return f"{row.target}{mark}"


def say(message: str) -> None:
    """Progress, as the run goes (the table comes at the end)."""
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def rate(value: float, unit: str = "events/s") -> str:
    return f"{value:,.0f} {unit}"


def percent(value: float, anchor: float, of: str) -> str:
    if not anchor:
        return "n/a"
    return f"{value / anchor * 100:.1f} % of {of}"


def times(value: float, anchor: float, of: str) -> str:
    if not anchor:
        return "n/a"
    ratio = value / anchor
    digits = 2 if ratio < 10 else 1 if ratio < 100 else 0
    return f"{ratio:,.{digits}f}x {of}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank: p99 of fewer than 100 samples is their maximum."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
