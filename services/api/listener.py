"""One `LISTEN` connection per api process, for everything the process keeps in memory.

Each subscriber names a channel (`shared.versions`), hears its messages, and reads its table again
whenever the connection is (re)made, so that nothing said while the process was not listening is
missed. While the connection is down, subscribers are told so: they answer from the database
until it is back, never from memory that may be stale. A watchdog query every few seconds finds a
connection that died without a word (a half-open socket).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

import asyncpg
import structlog

from shared.errors import is_retryable

log = structlog.get_logger()


class Subscriber(Protocol):
    channel: str

    async def reload(self, connection: asyncpg.Connection) -> None:
        """Read the state afresh: the connection is listening, so nothing after it is lost."""

    def heard(self, payload: str) -> bool:
        """Apply a message; False if it asks for a reload instead."""

    def lost(self) -> None:
        """The connection is down: memory may go stale from now on."""


class Listener:
    def __init__(
        self,
        dsn: str,
        subscribers: Sequence[Subscriber],
        watchdog: timedelta = timedelta(seconds=5),
        retry: timedelta = timedelta(seconds=1),
    ) -> None:
        self.dsn = dsn
        self.subscribers = {s.channel: s for s in subscribers}
        self.watchdog = watchdog.total_seconds()
        self.retry = retry.total_seconds()
        self.connected = asyncio.Event()
        self._reload: set[str] = set()
        self._wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
            except Exception as error:
                if not is_retryable(error) and not isinstance(error, asyncpg.InterfaceError):
                    raise
                log.warning("api.listen_lost", error=repr(error))
            finally:
                self.connected.clear()
                for subscriber in self.subscribers.values():
                    subscriber.lost()
            await asyncio.sleep(self.retry)

    async def _listen(self) -> None:
        connection = await asyncpg.connect(
            self.dsn, server_settings={"application_name": "chiso766-api-listen"}
        )
        try:
            for channel in self.subscribers:
                await connection.add_listener(channel, self._heard)
            for subscriber in self.subscribers.values():
                await subscriber.reload(connection)
            self.connected.set()
            log.info("api.listening", channels=sorted(self.subscribers))
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.watchdog)
                self._wake.clear()
                await connection.fetchval("SELECT 1", timeout=self.watchdog)
                channels, self._reload = self._reload, set()
                for channel in sorted(channels):
                    await self.subscribers[channel].reload(connection)
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    def _heard(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        try:
            applied = self.subscribers[channel].heard(payload)
        except (ValueError, KeyError, TypeError) as error:
            log.error("api.listen_bad_message", channel=channel, error=repr(error))
            applied = False
        if not applied:
            self._reload.add(channel)
            self._wake.set()
