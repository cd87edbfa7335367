"""API keys with scopes for the write and admin endpoints (and the reads, if a deployment keys
them).

A key is `c766_<key_id>_<secret>`: the id finds the row, the secret is compared by its SHA-256
digest (it is 32 random bytes, so a slow password hash would add nothing but latency). Keys are
made, listed and revoked with `python -m services.api.keys`; the plain key is shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from services.api.key_cache import KeyCache, KnownKey
from shared.errors import Forbidden, Unauthenticated

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


async def known_key(keys: KeyCache, presented: str | None) -> KnownKey | None:
    """The key presented, if it is one: made, not revoked, and its secret right."""
    parts = split_key(presented) if presented else None
    if parts is None:
        return None
    key_id, secret = parts
    key = await keys.find(key_id)
    if key is None or key.revoked or not hmac.compare_digest(key.secret_sha256, digest(secret)):
        return None
    return key


async def authorize(keys: KeyCache, presented: str | None, scope: Scope) -> KnownKey:
    """The key if it is valid and has `scope`."""
    if not presented:
        raise Unauthenticated("an API key is required: header X-API-Key: c766_<id>_<secret>")
    key = await known_key(keys, presented)
    if key is None:
        raise Unauthenticated("unknown or revoked API key")
    if scope not in key.scopes:
        raise Forbidden(f"this API key lacks the scope {scope.value!r}")
    return key
