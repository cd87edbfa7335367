"""Public reads answered in front of the framework: a repeated poll costs a dictionary lookup, not
routing, a dozen dependencies and a handler.

A read route that rendered its response from versions heard from scoring hands it over (`keep`),
stamped with what the process had heard when the request came in. A later GET of the same host,
path, query and `Accept` is answered from it, its 304 or its bytes, while no version has moved,
the listener still listens and the local day is the same. Any version moved by scoring, a reload
or a lost connection retires every entry at once: coarse, but it needs no knowledge of which
versions a response depends on, and the next request renders again. Only a
deployment whose reads are public mounts it: a read behind an API key must meet its check.

    GET ──▶ FrontCacheMiddleware ── same generation and day? ──▶ 304 / the kept bytes
                  │ no
                  └──▶ the app (stamped with the generation) ──▶ route ──▶ keep(...)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from prometheus_client import Counter
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.rendered import Rendered, answer

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


@dataclass(frozen=True, slots=True)
class Entry:
    tag: str
    rendered: Rendered
    generation: int
    day: date


class FrontCache:
    def __init__(
        self, heard: Heard, today: Callable[[], date], size: int, answers: Counter
    ) -> None:
        self.heard = heard
        self.answers = answers
        self.today = today
        self.size = size
        self._kept: OrderedDict[str, Entry] = OrderedDict()
        self._retired_at = heard.generation

    def keep(self, request: Request, tag: str, rendered: Rendered, day: date) -> None:
        """Keep a response rendered for `request` from versions heard, if nothing moved since it
        came in."""
        generation = request.scope.get(_STAMP)
        if generation is None or generation != self.heard.generation:
            return
        self._retire_if_moved()
        key = _key(request.scope)
        self._kept[key] = Entry(tag, rendered, generation, day)
        self._kept.move_to_end(key)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def lookup(self, scope: Scope) -> Entry | None:
        self._retire_if_moved()
        entry = self._kept.get(_key(scope))
        if entry is None or entry.day != self.today():
            return None
        return entry

    def stamp(self, scope: Scope) -> None:
        if self.heard.fresh:
            scope[_STAMP] = self.heard.generation

    def _retire_if_moved(self) -> None:
        if self._retired_at != self.heard.generation:
            self._kept.clear()
            self._retired_at = self.heard.generation


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
        entry = front.lookup(scope)
        if entry is None:
            front.stamp(scope)
            await self.app(scope, receive, send)
            return
        front.answers.inc()
        await answer(Headers(scope=scope), entry.rendered, entry.tag)(scope, receive, send)
