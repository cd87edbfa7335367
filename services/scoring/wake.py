"""Scoring woken as soon as ingest has stored events, rather than at its next idle poll.

Ingest notifies `EVENTS_CHANNEL` in the transaction that stores a batch, so the message arrives
at commit, once the events are visible. The idle poll stays as it was, for what comes due with
the clock and for a connection that is down: the message only ever makes the wait shorter, so
nothing depends on it arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import asyncpg
import structlog

from shared.versions import EVENTS_CHANNEL

log = structlog.get_logger()
# Between two tries to listen, and between two checks that the connection is alive.
RETRY = timedelta(seconds=5)


class EventsStored:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._stored = asyncio.Event()

    async def run(self) -> None:
        """Listen until cancelled, again after any loss."""
        while True:
            try:
                connection = await asyncpg.connect(
                    self.dsn, server_settings={"application_name": "chiso766-scoring-wake"}
                )
                try:
                    await connection.add_listener(EVENTS_CHANNEL, self._heard)
                    while True:
                        await asyncio.sleep(RETRY.total_seconds())
                        await connection.fetchval("SELECT 1", timeout=RETRY.total_seconds())
                finally:
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            except Exception as error:
                # Only ever a shorter wait: whatever befell it, scoring goes on at its poll.
                log.warning("scoring.wake_lost", error=repr(error))
            await asyncio.sleep(RETRY.total_seconds())

    async def idle(self, stop: asyncio.Event, pause: timedelta) -> None:
        """Until events are stored, `stop` is set, or `pause` has passed."""
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._stored.wait())]
        try:
            await asyncio.wait(
                waits, timeout=pause.total_seconds(), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for wait in waits:
                wait.cancel()
        # Cleared before the step: what is stored during it wakes the next wait at once.
        self._stored.clear()

    def _heard(self, *_: Any) -> None:
        self._stored.set()
