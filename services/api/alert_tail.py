"""The newest alert's seq, for every SSE client and every `/alerts` poll of the process.

Heard from the writers' notifications (`shared.alerts.repository.record`); while the listening
connection is down, one task polls the table instead, for every client at once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api import repository
from shared.errors import is_retryable
from shared.versions import ALERTS_CHANNEL

log = structlog.get_logger()
RETRY_PAUSE_SECONDS = 1.0


class AlertTail:
    channel = ALERTS_CHANNEL

    def __init__(self, sessions: async_sessionmaker[AsyncSession], poll: timedelta) -> None:
        self.sessions = sessions
        self.poll_seconds = poll.total_seconds()
        self.top = 0
        self.listening = False
        self._moved = asyncio.Event()

    async def wait_beyond(self, seq: int) -> None:
        """Return once an alert after `seq` may exist (callers bound the wait)."""
        if self.top <= seq:
            await self._moved.wait()

    async def reload(self, connection: asyncpg.Connection) -> None:
        self._raise(int(await connection.fetchval("SELECT coalesce(max(seq), 0) FROM alerts")))
        self.listening = True

    def heard(self, payload: str) -> bool:
        self._raise(int(payload))
        return True

    def lost(self) -> None:
        self.listening = False

    async def poll_while_deaf(self) -> None:
        """Read the newest seq every `poll` for as long as no notification can come."""
        while True:
            if self.listening:
                await asyncio.sleep(self.poll_seconds)
                continue
            try:
                async with self.sessions() as session:
                    top = await repository.last_alert_seq(session)
            except Exception as error:
                if not is_retryable(error):
                    raise
                # The database may come back; the streams wait meanwhile.
                log.warning("alerts.tail_unavailable", error=repr(error))
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
                continue
            self._raise(top)
            await asyncio.sleep(self.poll_seconds)

    def _raise(self, top: int) -> None:
        if top > self.top:
            self.top = top
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()
