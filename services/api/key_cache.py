"""API keys as the process last read them, forgotten the moment one is made or revoked.

The rate limit looks a presented key up on every request (a keyed client has a quota of its own),
and so do the reads when a deployment keys them: from memory, while the process listens for the
keys command's notifications (`KEYS_CHANNEL`); from the database otherwise.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api import repository
from shared.versions import KEYS_CHANNEL


@dataclass(frozen=True, slots=True)
class KnownKey:
    key_id: str
    secret_sha256: bytes
    scopes: frozenset[str]
    revoked: bool


class KeyCache:
    channel = KEYS_CHANNEL

    def __init__(self, sessions: async_sessionmaker[AsyncSession], size: int = 10_000) -> None:
        self.sessions = sessions
        self.size = size
        # key id -> the key, or None for an id that names none (so a bad key costs one query).
        self._kept: OrderedDict[str, KnownKey | None] = OrderedDict()
        self._listening = False
        # Moves with every change heard: a read that crossed one is not kept.
        self._generation = 0

    async def find(self, key_id: str) -> KnownKey | None:
        if self._listening and key_id in self._kept:
            self._kept.move_to_end(key_id)
            return self._kept[key_id]
        generation = self._generation
        async with self.sessions() as session:
            row = await repository.api_key(session, key_id)
        known = (
            None
            if row is None
            else KnownKey(
                row.key_id, row.secret_sha256, frozenset(row.scopes), row.revoked_at is not None
            )
        )
        if self._listening and generation == self._generation:
            self._kept[key_id] = known
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return known

    async def reload(self, connection: asyncpg.Connection) -> None:
        self._forget()
        self._listening = True

    def heard(self, payload: str) -> bool:
        self._generation += 1
        self._kept.pop(payload, None)
        return True

    def lost(self) -> None:
        self._listening = False
        self._forget()

    def _forget(self) -> None:
        self._generation += 1
        self._kept.clear()
