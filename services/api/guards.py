"""What stands between the network and the routes: request size limits and a rate limit.

Both are plain ASGI middleware, so that they also cover streaming responses (alerts over SSE)
and refuse before a route reads the body or touches the database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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
    """429 once a client passes `limit` (e.g. "600/minute", a moving window).

    A client is its address (taken from X-Forwarded-For by uvicorn when the proxy is listed in
    FORWARDED_ALLOW_IPS). Not its API key: an unchecked key would let anyone mint fresh buckets,
    and checking it here would cost a database query per request. The limit counts requests
    answered 304 too: polling is cheap for us, but not free.
    """

    def __init__(self, app: ASGIApp, limit: str, exempt_paths: Collection[str]) -> None:
        self.app = app
        self.item: RateLimitItem = parse(limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        client = self._client(scope)
        if await self.limiter.hit(self.item, client):
            await self.app(scope, receive, send)
            return
        stats = await self.limiter.get_window_stats(self.item, client)
        retry_after = max(math.ceil(stats.reset_time - time.time()), 1)
        response = JSONResponse(
            {"detail": f"rate limit of {self.item} exceeded; retry in {retry_after} s"},
            status_code=429,
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)

    @staticmethod
    def _client(scope: Scope) -> str:
        client = scope.get("client")
        return str(client[0]) if client else "unknown"
