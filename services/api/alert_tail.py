"""The newest alert seq, watched by one task for every SSE client of the process."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api import repository
from shared.errors import is_retryable

log = structlog.get_logger()
RETRY_PAUSE_SECONDS = 1.0


class AlertTail:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], poll: timedelta) -> None:
        self.sessions = sessions
        self.poll_seconds = poll.total_seconds()
        self.top = 0
        self._moved = asyncio.Event()

    async def wait_beyond(self, seq: int) -> None:
        """Return once an alert after `seq` may exist (callers bound the wait)."""
        if self.top <= seq:
            await self._moved.wait()

    async def run(self) -> None:
        while True:
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
            if top > self.top:
                self.top = top
                moved, self._moved = self._moved, asyncio.Event()
                moved.set()
            await asyncio.sleep(self.poll_seconds)
