"""Responses serialized once per version, and conditional requests answered from memory.

A read route names its response by an ETag made of the versions it depends on; while they stay,
every client gets the same bytes: a 304 for those that hold the tag, else the body serialized (and
gzip-compressed) the first time it was asked for.
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.datastructures import Headers

# Below this, gzip saves less than the headers and the time it takes.
GZIP_FROM_BYTES = 1024
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    gzipped: bytes | None


def render(model: BaseModel) -> Rendered:
    body = model.model_dump_json().encode()
    gzipped = gzip.compress(body, GZIP_LEVEL, mtime=0) if len(body) >= GZIP_FROM_BYTES else None
    return Rendered(body, gzipped)


class RenderedCache:
    """The last `size` responses, by their ETag and the query that asked for them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[str, Rendered] = OrderedDict()

    def get(self, key: str) -> Rendered | None:
        rendered = self._kept.get(key)
        if rendered is not None:
            self._kept.move_to_end(key)
        return rendered

    async def get_or_render(self, key: str, build: Callable[[], Awaitable[BaseModel]]) -> Rendered:
        rendered = self.get(key)
        if rendered is None:
            rendered = self.put(key, render(await build()))
        return rendered

    def put(self, key: str, rendered: Rendered) -> Rendered:
        self._kept[key] = rendered
        self._kept.move_to_end(key)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return rendered


def holds(request: Request, tag: str) -> bool:
    """Whether the client's `If-None-Match` names `tag` (weak comparison, as for a GET)."""
    return _names(request.headers, tag)


def _names(headers: Headers, tag: str) -> bool:
    header = headers.get("if-none-match")
    if not header:
        return False
    return any(candidate.strip() in (tag, "*") for candidate in header.split(","))


def not_modified(tag: str) -> Response:
    return Response(status_code=304, headers=conditional_headers(tag))


def respond(request: Request, rendered: Rendered, tag: str) -> Response:
    return answer(request.headers, rendered, tag)


def answer(asked: Headers, rendered: Rendered, tag: str) -> Response:
    """A 304 if the request holds `tag`, else the rendered bytes (gzipped if accepted)."""
    if _names(asked, tag):
        return not_modified(tag)
    headers = conditional_headers(tag)
    body = rendered.body
    if rendered.gzipped is not None and _accepts_gzip(asked):
        body = rendered.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


def conditional_headers(tag: str) -> dict[str, str]:
    # no-cache: a cache may keep the body but must ask again (a 304 costs almost nothing).
    return {"ETag": tag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}


def _accepts_gzip(headers: Headers) -> bool:
    accepted = headers.get("accept-encoding", "")
    for coding in accepted.split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
