"""Build dossier facts and run the scoring core the way the service does, with no database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import orjson

from services.scoring.batch import DossierScorer, Scorer, StoredState
from services.scoring.batch import feedback_scorer as make_feedback_scorer
from shared.events import Refusal, normalized_payload, parse_record
from shared.periods import ALL_KINDS, Calendar
from shared.rules.contributions import CountKey
from shared.rules.dossier import Facts, apply_event, empty_state, read_facts
from shared.workdays import WorkingCalendar

CALENDAR = Calendar("Asia/Ho_Chi_Minh")
PROVINCE = "19"


def stored(event: dict[str, Any]) -> dict[str, Any]:
    """The payload ingest would store for `event`."""
    parsed = parse_record(orjson.dumps(event))
    assert not isinstance(parsed, Refusal), parsed
    return normalized_payload(parsed)


def stored_feedback(event: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_record(orjson.dumps(event), topic="feedback")
    assert not isinstance(parsed, Refusal), parsed
    return normalized_payload(parsed)


def facts_of(events: Iterable[dict[str, Any]]) -> Facts:
    state = empty_state()
    for event in events:
        apply_event(state, stored(event))
    return read_facts(state)


def dossier_scorer() -> DossierScorer:
    return DossierScorer(CALENDAR, ALL_KINDS, PROVINCE)


def feedback_scorer() -> Scorer[Any]:
    return make_feedback_scorer(CALENDAR, ALL_KINDS, WorkingCalendar(), PROVINCE)


class InMemoryScoring:
    """The scoring service's step loop over dicts instead of tables."""

    def __init__(self, scorer: Scorer[Any] | None = None) -> None:
        self.scorer = scorer or dossier_scorer()
        self.records: dict[str, StoredState] = {}
        self.next_transition: dict[str, datetime | None] = {}
        self.counts: defaultdict[CountKey, list[int]] = defaultdict(lambda: [0, 0])
        self.as_of: datetime | None = None

    def step(self, payloads: list[dict[str, Any]], now: datetime) -> None:
        # As the service does: every step at its own instant, later than the last.
        now = max(now, self.as_of + timedelta(microseconds=1)) if self.as_of else now
        due = sorted(c for c, t in self.next_transition.items() if t is not None and t <= now)
        result = self.scorer.step(self.records, payloads, due, now)
        for row in result.rows:
            code = getattr(row, self.scorer.rules.key)  # dossier_code or feedback_id
            self.records[code] = StoredState(row.state, row.evaluated_at)
            self.next_transition[code] = row.next_transition_at
        for key, (numerator, denominator) in result.deltas.items():
            self.counts[key][0] += numerator
            self.counts[key][1] += denominator
        self.as_of = now

    def settle(self, now: datetime) -> None:
        """Process every due dossier up to `now`, as the idle loop would."""
        while any(t is not None and t <= now for t in self.next_transition.values()):
            self.step([], now)
        self.step([], now)

    def nonzero_counts(self) -> dict[CountKey, tuple[int, int]]:
        return {k: (n, d) for k, (n, d) in self.counts.items() if (n, d) != (0, 0)}


def rebuild(
    payloads: list[dict[str, Any]], now: datetime, scorer: Scorer[Any] | None = None
) -> dict[CountKey, tuple[int, int]]:
    """Every count recomputed from scratch from the events."""
    result = (scorer or dossier_scorer()).step({}, payloads, [], now)
    return {k: (n, d) for k, (n, d) in result.deltas.items() if (n, d) != (0, 0)}
