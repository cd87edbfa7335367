"""What stands between the network and the routes: request size limits and a rate limit.

Both are plain ASGI middleware, so that they also cover streaming responses (alerts over SSE)
and refuse before a route reads the body or touches the database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

import structlog
from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from redis.exceptions import RedisError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.auth import known_key
from shared.errors import is_retryable

log = structlog.get_logger()


class BodySizeLimit:
    """413 for a request body over `max_bytes`, announced (Content-Length) or streamed (chunked).

    A streamed body (no Content-Length) is read here, up to the limit, before the route sees it:
    FastAPI turns any error raised while it reads a body into a 400, which would hide the reason.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            # The server holds the body to its announced length: only the announcement to check.
            if not length.isdigit() or int(length) > self.max_bytes:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        read = False

        async def replay() -> Message:
            nonlocal read
            if read:
                return await receive()  # after the body: only a disconnect can come
            read = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body exceeds {self.max_bytes} bytes"
        await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)


class RateLimit:
    """429 once a client passes its quota (a moving window, e.g. "6000/minute").

    A client is its API key when it presents a valid one (a portal's server calling for all its
    visitors, an IOC wall's screens behind one NAT: each keyed client has a quota of its own,
    none by default), else its address (taken from X-Forwarded-For by uvicorn when the proxy is
    listed in FORWARDED_ALLOW_IPS). A key that is not valid counts as no key: anyone could mint
    fresh ones. Addresses in `exempt` are never limited. The windows live in `storage` (Redis, so
    that every worker process and replica counts together); if it is unreachable, requests pass:
    the limit protects the service, it must not take it down. Requests answered 304 count too:
    polling is cheap for us, but not free.
    """

    def __init__(
        self,
        app: ASGIApp,
        anonymous: str,
        keyed: str,
        storage: str,
        exempt: Collection[IPv4Network | IPv6Network],
        exempt_paths: Collection[str],
    ) -> None:
        self.app = app
        self.anonymous: RateLimitItem | None = parse(anonymous) if anonymous else None
        self.keyed: RateLimitItem | None = parse(keyed) if keyed else None
        uri = storage if storage.startswith("async+") else f"async+{storage}"
        self.limiter = MovingWindowRateLimiter(storage_from_string(uri, **_options(uri)))
        self.exempt = tuple(exempt)
        self.exempt_paths = frozenset(exempt_paths)
        self._storage_failed_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        item, bucket = await self._quota(scope)
        if item is None or await self._hit(item, bucket):
            await self.app(scope, receive, send)
            return
        stats = await self.limiter.get_window_stats(item, bucket)
        retry_after = max(math.ceil(stats.reset_time - time.time()), 1)
        response = JSONResponse(
            {"detail": f"rate limit of {item} exceeded; retry in {retry_after} s"},
            status_code=429,
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)

    async def _quota(self, scope: Scope) -> tuple[RateLimitItem | None, str]:
        """The limit that applies to the request (None: none), and the window it counts in."""
        presented = Headers(scope=scope).get("x-api-key")
        if presented:
            try:
                key = await known_key(scope["app"].state.keys, presented)
            except Exception as error:
                if not is_retryable(error):
                    raise
                # The database is away: the route will answer 503; count it by its address.
                key = None
            if key is not None:
                return self.keyed, f"key:{key.key_id}"
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        if self.exempt and _within(address, self.exempt):
            return None, address
        return self.anonymous, address

    async def _hit(self, item: RateLimitItem, bucket: str) -> bool:
        try:
            return await self.limiter.hit(item, bucket)
        except (OSError, ConnectionError, TimeoutError, RedisError) as error:
            now = time.monotonic()
            if now - self._storage_failed_at > STORAGE_WARNING_EVERY_SECONDS:
                log.warning("api.rate_limit_storage_unavailable", error=repr(error))
                self._storage_failed_at = now
            return True


# A storage outage is said once per this many seconds, not once per request.
STORAGE_WARNING_EVERY_SECONDS = 60.0


def _options(storage: str) -> dict[str, Any]:
    if storage.startswith("async+redis"):
        # redis-py (with hiredis), rather than the coredis the library defaults to.
        return {"implementation": "redispy", "socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    return {}


def _within(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)
