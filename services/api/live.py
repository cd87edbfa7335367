"""Periods' versions and scoring's instant, kept in memory from scoring's notifications: all a
conditional read needs before its 304, with no query.

Versions only grow, each partition's on its own row, so what is heard and what is read are merged
by taking the larger: a message that crosses a reload loses nothing.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from shared.scores.board import KnownVersions
from shared.scores.repository import NO_STATE, PeriodState
from shared.versions import VERSIONS_CHANNEL, MovedVersion, parse_versions

_VERSIONS = "SELECT period_key, partition, version, restated_at FROM period_versions"
_AS_OF = "SELECT max(as_of) FROM scoring_position"
# When the last moves of the generation happened: how long a kept answer has been behind.
REMEMBERED_MOVES = 256


class LiveVersions(KnownVersions):
    channel = VERSIONS_CHANNEL

    def __init__(self) -> None:
        # period key (or "catalogue") -> partition -> version
        self._versions: defaultdict[str, dict[int, int]] = defaultdict(dict)
        self._restated: dict[str, datetime] = {}
        self._as_of: datetime | None = None
        self._fresh = False
        self._generation = 0
        # (generation, monotonic instant it was reached), oldest first, one per move.
        self._moves: deque[tuple[int, float]] = deque(maxlen=REMEMBERED_MOVES)

    # -- what requests read ----------------------------------------------------------------------

    @property
    def fresh(self) -> bool:
        return self._fresh

    @property
    def generation(self) -> int:
        """Moves each time a version moves, and at each reload or loss: what responses kept in
        front of the framework are valid for (`front_cache`)."""
        return self._generation

    def moved_past(self, generation: int) -> float:
        """The `time.monotonic()` instant the generation first moved past `generation` (+inf if
        it has not, -inf if longer ago than remembered)."""
        if generation >= self._generation:
            return math.inf
        if not self._moves or self._moves[0][0] > generation + 1:
            return -math.inf
        return self._moves[generation + 1 - self._moves[0][0]][1]

    def states(self, keys: Sequence[str]) -> dict[str, PeriodState]:
        return {key: self._state(key) for key in keys}

    def as_of(self) -> datetime | None:
        return self._as_of

    def _state(self, key: str) -> PeriodState:
        partitions = self._versions.get(key)
        if not partitions:
            return NO_STATE
        return PeriodState(sum(partitions.values()), self._restated.get(key))

    # -- what the listener feeds -----------------------------------------------------------------

    async def reload(self, connection: asyncpg.Connection) -> None:
        for key, partition, version, restated_at in await connection.fetch(_VERSIONS):
            self._merge(partition, MovedVersion(key, version, restated_at))
        self._merge_as_of(await connection.fetchval(_AS_OF))
        self._fresh = True
        self._move()

    def heard(self, payload: str) -> bool:
        moved = parse_versions(payload)
        if moved.versions is None:
            return False
        changed = [self._merge(moved.partition, version) for version in moved.versions]
        self._merge_as_of(moved.as_of)
        # A step that moved no version (scoring's instant alone) changes no response: every
        # read's ETag is made of versions, and its bytes are kept by ETag.
        if any(changed):
            self._move()
        return True

    def lost(self) -> None:
        self._fresh = False
        self._move()

    def _move(self) -> None:
        self._generation += 1
        self._moves.append((self._generation, time.monotonic()))

    def _merge(self, partition: int, moved: MovedVersion) -> bool:
        """Whether it moved what is held."""
        held = self._versions[moved.key]
        before_version = held.get(partition, 0)
        held[partition] = max(before_version, moved.version)
        changed = held[partition] != before_version
        if moved.restated_at is not None:
            before = self._restated.get(moved.key)
            restated = max(before, moved.restated_at) if before else moved.restated_at
            changed = changed or restated != before
            self._restated[moved.key] = restated
        return changed

    def _merge_as_of(self, as_of: datetime | None) -> None:
        if as_of is not None and (self._as_of is None or as_of > self._as_of):
            self._as_of = as_of
