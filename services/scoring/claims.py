"""Which partitions this scoring instance scores: claimed with PostgreSQL advisory locks.

Every instance keeps one connection of its own (named `CLAIMS_APPLICATION`) and holds a session
advisory lock per partition it owns. The instances count each other by those connections and
each takes its fair share, ceil(partitions / instances): one that starts takes partitions as the
others give up their extra ones, one that stops or dies (its connection closes, PostgreSQL drops
its locks) leaves partitions the others take at their next rebalance.

A step holds its partitions for its whole length (a batch of a backlog takes seconds), so for
`forming` seconds after its first claim an instance steps in short batches and rebalances before
each (`main.run_until_stopped`): instances started together then share the backlog within a
fraction of a second, instead of one taking it all and the others waiting for its first batch
to end; one started alone loses nothing but a few short batches.

The locks keep instances out of each other's way; they are not what keeps the counts right. A
step locks its partitions' position rows too (`repository.lock_positions`), so an instance that
lost its claims connection without knowing yet waits for the new owner, then reads the position
the new owner left: no event is applied twice.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

import asyncpg
import structlog

from services.scoring.repository import CLAIMANTS, CLAIMS_APPLICATION, Share
from shared.partitions import PARTITION_LOCK_BASE

log = structlog.get_logger()


def fair_share(partitions: int, members: int) -> int:
    return math.ceil(partitions / max(members, 1))


def claim_order(partitions: int, start: int) -> list[int]:
    """The order in which an instance tries partitions: from its own starting point, so that
    instances starting together do not all race for partition 0."""
    return [(start + offset) % partitions for offset in range(partitions)]


class PartitionClaims:
    """The partitions held, and the connection that holds them."""

    def __init__(self, dsn: str, partitions: int, forming: float = 0.0) -> None:
        self.dsn = dsn
        self.partitions = partitions
        self.forming_seconds = forming
        self._connection: asyncpg.Connection | None = None
        self._held: set[int] = set()
        # When the group this instance started with has had time to form (monotonic).
        self._formed_at: float | None = None

    @property
    def owned(self) -> Share:
        return Share(tuple(sorted(self._held)), self.partitions)

    @property
    def forming(self) -> bool:
        """Whether instances started with this one may still be joining."""
        return self._formed_at is None or time.monotonic() < self._formed_at

    async def rebalance(self) -> Share:
        """Give up or take partitions until this instance holds its fair share (fewer when the
        others have not given theirs up yet). Raises what the database raises; the claims are
        then void until a later call succeeds."""
        try:
            connection = await self._connect()
            members = int(await connection.fetchval(CLAIMANTS, CLAIMS_APPLICATION))
            if self._formed_at is None:
                self._formed_at = time.monotonic() + self.forming_seconds
            wanted = fair_share(self.partitions, members)
            if len(self._held) > wanted:
                extra = len(self._held) - wanted
                await self._release(connection, sorted(self._held, reverse=True)[:extra])
            if len(self._held) < wanted:
                await self._take(connection, wanted)
        except BaseException:
            await self._drop_connection()
            raise
        return self.owned

    async def close(self) -> None:
        """Give every partition up at once (closing the connection does)."""
        await self._drop_connection()

    async def _connect(self) -> asyncpg.Connection:
        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        if self._held:
            log.warning("scoring.claims_lost", partitions=sorted(self._held))
            self._held.clear()
        self._connection = await asyncpg.connect(
            self.dsn, server_settings={"application_name": CLAIMS_APPLICATION}
        )
        return self._connection

    async def _take(self, connection: asyncpg.Connection, wanted: int) -> None:
        # A pid is as good a starting point as any, and differs between instances.
        start = connection.get_server_pid() % self.partitions
        taken = []
        for partition in claim_order(self.partitions, start):
            if len(self._held) >= wanted:
                break
            if partition in self._held:
                continue
            if await connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", PARTITION_LOCK_BASE + partition
            ):
                self._held.add(partition)
                taken.append(partition)
        if taken:
            log.info("scoring.partitions_taken", taken=taken, held=sorted(self._held))

    async def _release(self, connection: asyncpg.Connection, partitions: Iterable[int]) -> None:
        given = []
        for partition in partitions:
            await connection.fetchval(
                "SELECT pg_advisory_unlock($1)", PARTITION_LOCK_BASE + partition
            )
            self._held.discard(partition)
            given.append(partition)
        log.info("scoring.partitions_given_up", given=given, held=sorted(self._held))

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        self._held.clear()
        if connection is not None and not connection.is_closed():
            try:
                await connection.close(timeout=5)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                connection.terminate()
