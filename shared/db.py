"""Engine and session factories. Built in each service's start-up, never at import time."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def async_url(url: str) -> str:
    """The SQLAlchemy asyncpg form of any PostgreSQL URL (`postgresql://` or `postgres://`)."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(url: str, *, application_name: str, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"server_settings": {"application_name": application_name}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_transient(error: BaseException) -> bool:
    """A database error worth retrying: the server is unreachable, restarting, or a deadlock."""
    if isinstance(error, OSError | ConnectionError):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        code = str(getattr(error.orig, "sqlstate", None) or "")
        # 40001 serialization failure, 40P01 deadlock, 57P0x shutdown, 08xxx connection.
        return code in {"40001", "40P01"} or code[:2] in {"57", "08"}
    return False


def is_unstorable_text(error: BaseException) -> bool:
    """PostgreSQL refused a string it cannot hold (a NUL character): bad input, not a bug."""
    if isinstance(error, DBAPIError):
        # 22021 character_not_in_repertoire, 22P05 untranslatable_character.
        return str(getattr(error.orig, "sqlstate", None) or "") in {"22021", "22P05"}
    return False


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under a session, in the session's transaction.

    For the few bulk statements (`unnest` upserts) where going through SQLAlchemy's executemany
    costs ten times more than the database work itself.
    """
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return driver
