"""API keys with scopes for the write and admin endpoints.

A key is `c766_<key_id>_<secret>`: the id finds the row, the secret is compared by its SHA-256
digest (it is 32 random bytes, so a slow password hash would add nothing but latency). Keys are
made, listed and revoked with `python -m services.api.keys`; the plain key is shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import ApiKey

PREFIX = "c766"


class Scope(StrEnum):
    # The read routes, when the deployment keys them (API_READ_KEY_REQUIRED=true).
    READ = "read"
    CATALOGUE_WRITE = "catalogue:write"
    # Create, list and delete one's own webhook subscriptions, and read their delivery logs.
    WEBHOOKS = "webhooks:manage"
    # List the refused records with their reasons, and send chosen ones to ingest again.
    DEAD_LETTERS = "dead-letters:manage"


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    plain: str
    secret_sha256: bytes


def new_key() -> NewKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, f"{PREFIX}_{key_id}_{secret}", digest(secret))


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split_key(presented: str) -> tuple[str, str] | None:
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not key_id or not secret:
        return None
    return key_id, secret


async def authorize(session: AsyncSession, presented: str | None, scope: Scope) -> ApiKey:
    """The key's row if it is valid, not revoked and has `scope`; else 401 or 403."""
    parts = split_key(presented) if presented else None
    if parts is None:
        raise HTTPException(401, "an API key is required: header X-API-Key: c766_<id>_<secret>")
    key_id, secret = parts
    key = await session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if key is None or key.revoked_at is not None:
        raise HTTPException(401, "unknown or revoked API key")
    if not hmac.compare_digest(key.secret_sha256, digest(secret)):
        raise HTTPException(401, "unknown or revoked API key")
    if scope not in key.scopes:
        raise HTTPException(403, f"this API key lacks the scope {scope.value!r}")
    return key


_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="c766_<id>_<secret>")


def require(scope: Scope) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency: the request's API key, checked for `scope`."""

    async def dependency(
        request: Request, presented: Annotated[str | None, Depends(_HEADER)]
    ) -> ApiKey:
        async with request.app.state.sessions() as session:
            return await authorize(session, presented, scope)

    return dependency


async def read_access(request: Request, presented: Annotated[str | None, Depends(_HEADER)]) -> None:
    """A dependency of the read routes: open, unless the deployment asks for keys with `read`."""
    if request.app.state.settings.api_read_key_required:
        async with request.app.state.sessions() as session:
            await authorize(session, presented, Scope.READ)
