"""Public reads answered in front of the framework: a repeated poll costs a dictionary lookup, not
routing, a dozen dependencies and a handler.

A read route that rendered its response from versions heard from scoring hands it over (`keep`),
stamped with the generation the process had heard when the request came in. A later GET of the
same host, path, query and `Accept` is answered from it, its 304 or its bytes, while the listener
listens and the local day is the same. Which versions a response depends on is not known here, so
any version moved by scoring, a reload or a lost connection makes every entry stale at once.

A stale entry is not dropped: while one task per key renders the new answer (the app called with
the poll's request, its `If-None-Match` left out), polls go on getting the previous one, then the
new one once it is kept. So a move costs one render per key per process, not one per request that
arrives during it (the herd that queued every connection behind the re-render).

What "fresh within a second" allows, and what it does not:
- An answer given from a stale entry is at most `stale_seconds` behind what the process has heard
  (the time since the generation first moved past the entry's, from `LiveVersions`); an older
  entry is never served: the poll waits for its key's render instead (one render all the same),
  and takes one that began once it came in, however long that render took.
- It is given only to a poll that holds its tag (a 304 naming that tag: the version it is) or holds
  none (its bytes, with their ETag). A poll holding another tag may hold a newer one (from another
  worker process): it waits for the render, so no 200 is ever older than a tag the client sent.
  One that sends no tag says nothing of what it holds: across worker processes it may get an
  answer older, by at most the allowance, than one it got before.
- Nothing is served while the listener is deaf (the route reads the database then), nor across the
  local day's turn (the day is in every tag).

Only a deployment whose reads are public mounts it: a read behind an API key must meet its check.

    GET ──▶ FrontCacheMiddleware ── current entry? ──▶ 304 / the kept bytes
                  │ stale (≤ stale_seconds) ──▶ the previous answer; its key's render started once
                  │ none, too stale, other tag ──▶ wait for the key's render, if one runs
                  └──▶ the app (stamped with the generation) ──▶ route ──▶ keep(...)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import structlog
from prometheus_client import Counter
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.rendered import Rendered, answer, names

log = structlog.get_logger()
# Where the middleware leaves the generation a request started at, for `keep` to read.
_STAMP = "chiso766.front_generation"


class Heard(Protocol):
    """What the process has heard from scoring (`LiveVersions`)."""

    @property
    def fresh(self) -> bool: ...

    @property
    def generation(self) -> int:
        """A number that moves each time a version moves, and at each reload or loss."""
        ...

    def moved_past(self, generation: int) -> float:
        """The `time.monotonic()` instant the generation first moved past `generation`."""
        ...


@dataclass(frozen=True, slots=True)
class Entry:
    tag: str
    rendered: Rendered
    generation: int
    day: date


class FrontCache:
    def __init__(
        self,
        heard: Heard,
        today: Callable[[], date],
        size: int,
        answers: Counter,
        renders: Counter,
        stale_seconds: float = 1.0,
    ) -> None:
        self.heard = heard
        self.answers = answers
        self.renders = renders
        self.today = today
        self.size = size
        self.stale_seconds = stale_seconds
        self._kept: OrderedDict[str, Entry] = OrderedDict()
        # The one render running for a key, started by a poll that found its entry stale.
        self._rendering: dict[str, asyncio.Task[None]] = {}

    def keep(self, request: Request, tag: str, rendered: Rendered, day: date) -> None:
        """Keep a response rendered for `request` from versions heard, stamped with the
        generation it came in at (never in place of one rendered at a later generation)."""
        generation = request.scope.get(_STAMP)
        if generation is None:
            return
        key = _key(request.scope)
        held = self._kept.get(key)
        if held is not None and held.generation > generation:
            return
        self._kept[key] = Entry(tag, rendered, generation, day)
        self._kept.move_to_end(key)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def entry(self, key: str, asked: Headers) -> Entry | None:
        """The entry a poll may be answered from: current, or stale within the allowance and
        asked by a poll that holds its tag or none."""
        entry = self._kept.get(key)
        if entry is None or not self.heard.fresh or entry.day != self.today():
            return None
        if entry.generation == self.heard.generation:
            return entry
        behind = time.monotonic() - self.heard.moved_past(entry.generation)
        if behind > self.stale_seconds:
            return None
        if asked.get("if-none-match") and not names(asked, entry.tag):
            return None
        return entry

    def since(self, key: str, generation: int) -> Entry | None:
        """The entry, if it was rendered at `generation` or later: as fresh as what the process
        had heard then, however long the render took."""
        entry = self._kept.get(key)
        if entry is None or not self.heard.fresh or entry.day != self.today():
            return None
        return entry if entry.generation >= generation else None

    def known(self, key: str) -> bool:
        """Whether the route keeps this key's answers (it kept one)."""
        return key in self._kept

    def current(self, key: str) -> bool:
        entry = self._kept.get(key)
        return entry is not None and entry.generation == self.heard.generation

    def rendering(self, key: str) -> asyncio.Task[None] | None:
        return self._rendering.get(key)

    def start_render(self, key: str, app: ASGIApp, scope: Scope) -> None:
        """Render `key` again, once, from a copy of the poll's request with no condition."""
        if key in self._rendering or not self.heard.fresh:
            return
        self.renders.inc()
        headers = [(n, v) for n, v in scope["headers"] if n.lower() != b"if-none-match"]
        scope = {**scope, "headers": headers, _STAMP: self.heard.generation}
        if "state" in scope:
            scope["state"] = dict(scope["state"])
        task = asyncio.create_task(_render(app, scope))
        self._rendering[key] = task
        task.add_done_callback(lambda _: self._rendering.pop(key, None))

    async def settled(self) -> None:
        """Until no render runs."""
        while self._rendering:
            await asyncio.gather(*self._rendering.values(), return_exceptions=True)

    async def close(self) -> None:
        """Stop the renders: they are for polls that will not come."""
        for task in list(self._rendering.values()):
            task.cancel()
        await self.settled()

    def stamp(self, scope: Scope) -> None:
        if self.heard.fresh:
            scope[_STAMP] = self.heard.generation


async def _render(app: ASGIApp, scope: Scope) -> None:
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if asked:
            await asyncio.Event().wait()  # a GET has no more body: never a disconnect either
        asked = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Message) -> None:
        """The response is for the cache: `keep` took it on the way."""

    try:
        await app(scope, receive, send)
    except Exception:
        # The poll that started it was answered already; the next one falls to the route.
        log.exception("api.front_render_failed", path=scope["path"])


def keep(request: Request, tag: str, rendered: Rendered, day: date) -> None:
    """Hand a public read's response to the process's front cache, where there is one."""
    front: FrontCache | None = getattr(request.app.state, "front", None)
    if front is not None:
        front.keep(request, tag, rendered, day)


def _key(scope: Scope) -> str:
    # The host too: a workbook's links hold the address it was asked at.
    headers = Headers(scope=scope)
    query = scope["query_string"].decode("latin-1")
    return f"{headers.get('host', '')}{scope['path']}?{query}|{headers.get('accept', '')}"


class FrontCacheMiddleware:
    """Answers a GET from the app's `FrontCache` (`app.state.front`) when it holds it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front: FrontCache | None = (
            getattr(scope["app"].state, "front", None) if scope["type"] == "http" else None
        )
        if front is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        key = _key(scope)
        asked = Headers(scope=scope)
        entry = front.entry(key, asked)
        if entry is None and front.known(key):
            entry = await self._rendered(front, key, asked, scope)
        elif entry is not None and not front.current(key):
            front.start_render(key, self.app, scope)
        if entry is None:
            front.stamp(scope)
            await self.app(scope, receive, send)
            return
        front.answers.inc()
        await answer(asked, entry.rendered, entry.tag)(scope, receive, send)

    async def _rendered(
        self, front: FrontCache, key: str, asked: Headers, scope: Scope
    ) -> Entry | None:
        """The key's answer once rendered from what was heard when this poll came in, waiting
        for the one render (two, if the one running had begun before): never a render of its
        own beside it, which under load made renders slower and the herd that waits larger."""
        arrived = front.heard.generation
        for _ in range(2):
            front.start_render(key, self.app, scope)
            running = front.rendering(key)
            if running is None:
                return None
            with contextlib.suppress(Exception):
                await asyncio.shield(running)
            entry = front.entry(key, asked) or front.since(key, arrived)
            if entry is not None:
                return entry
        return None
