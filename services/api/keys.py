"""Manage API keys: `python -m services.api.keys create NAME --scope catalogue:write`, `list`,
`revoke KEY_ID`. The plain key is printed once, at creation; only its digest is stored."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from sqlalchemy import select, update

from services.api.auth import Scope, new_key
from services.api.settings import ApiSettings
from shared.db import create_engine, create_sessionmaker
from shared.models import ApiKey


async def create(database_url: str, name: str, scopes: list[Scope]) -> str:
    key = new_key()
    engine = create_engine(database_url, application_name="chiso766-keys")
    try:
        async with create_sessionmaker(engine).begin() as session:
            session.add(
                ApiKey(
                    key_id=key.key_id,
                    name=name,
                    secret_sha256=key.secret_sha256,
                    scopes=sorted(scope.value for scope in scopes),
                    created_at=datetime.now(UTC),
                    revoked_at=None,
                )
            )
    finally:
        await engine.dispose()
    return key.plain


async def listing(database_url: str) -> list[ApiKey]:
    engine = create_engine(database_url, application_name="chiso766-keys")
    try:
        async with create_sessionmaker(engine)() as session:
            return list(await session.scalars(select(ApiKey).order_by(ApiKey.created_at)))
    finally:
        await engine.dispose()


async def revoke(database_url: str, key_id: str) -> bool:
    engine = create_engine(database_url, application_name="chiso766-keys")
    try:
        async with create_sessionmaker(engine).begin() as session:
            result = await session.execute(
                update(ApiKey)
                .where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


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
    url = ApiSettings().database_url
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
