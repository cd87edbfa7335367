"""Manage API keys: `python -m services.api.keys create NAME --scope catalogue:write`, `list`,
`revoke KEY_ID`. The plain key is printed once, at creation; only its digest is stored."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.api import repository
from services.api.auth import Scope, new_key
from services.api.settings import ApiSettings
from shared.db import create_engine, create_sessionmaker
from shared.models import ApiKey


@asynccontextmanager
async def _transaction(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(database_url, application_name="chiso766-keys")
    try:
        async with create_sessionmaker(engine).begin() as session:
            yield session
    finally:
        await engine.dispose()


async def create(database_url: str, name: str, scopes: list[Scope]) -> str:
    key = new_key()
    async with _transaction(database_url) as session:
        await repository.add(
            session,
            ApiKey(
                key_id=key.key_id,
                name=name,
                secret_sha256=key.secret_sha256,
                scopes=sorted(scope.value for scope in scopes),
                created_at=datetime.now(UTC),
                revoked_at=None,
            ),
        )
        await repository.announce_key(session, key.key_id)
    return key.plain


async def listing(database_url: str) -> list[ApiKey]:
    async with _transaction(database_url) as session:
        return await repository.api_keys(session)


async def revoke(database_url: str, key_id: str) -> bool:
    async with _transaction(database_url) as session:
        revoked = await repository.revoke_key(session, key_id, datetime.now(UTC))
        await repository.announce_key(session, key_id)
        return revoked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.api.keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("create", help="make a key and print it once")
    made.add_argument("name", help="who or what uses it, e.g. 'one-stop system'")
    made.add_argument(
        "--scope", action="append", required=True, choices=[s.value for s in Scope], dest="scopes"
    )
    commands.add_parser("list", help="the keys, without their secrets")
    revoked = commands.add_parser("revoke", help="stop a key from working")
    revoked.add_argument("key_id")
    args = parser.parse_args(argv)
    url = ApiSettings.from_environment().database_url
    if args.command == "create":
        print(asyncio.run(create(url, args.name, [Scope(s) for s in args.scopes])))
    elif args.command == "list":
        for key in asyncio.run(listing(url)):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            print(f"{key.key_id}  {key.name}  {','.join(key.scopes)}  {state}")
    elif not asyncio.run(revoke(url, args.key_id)):
        print(f"no active key {args.key_id!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
