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
from typing import TypeVar

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.datastructures import Headers

# Below this, gzip saves less than the headers and the time it takes.
GZIP_FROM_BYTES = 1024
GZIP_LEVEL = 6
JSON = "application/json"
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    gzipped: bytes | None
    media_type: str = JSON
    # The representation's own headers (a file's name), sent with each of its 200s.
    headers: tuple[tuple[str, str], ...] = ()


def render(model: BaseModel) -> Rendered:
    return of_bytes(model.model_dump_json().encode())


def of_bytes(
    body: bytes,
    media_type: str = JSON,
    headers: tuple[tuple[str, str], ...] = (),
    *,
    compressible: bool = True,
) -> Rendered:
    gzipped = None
    if compressible and len(body) >= GZIP_FROM_BYTES:
        gzipped = gzip.compress(body, GZIP_LEVEL, mtime=0)
    return Rendered(body, gzipped, media_type, headers)


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

    async def get_or_render(
        self,
        key: str,
        build: Callable[[], Awaitable[ModelT]],
        export: Callable[[ModelT], Awaitable[Rendered]] | None = None,
    ) -> Rendered:
        """The response kept under `key`, else `build`'s model serialized as JSON, or by
        `export` (a file: `services.api.exports`)."""
        rendered = self.get(key)
        if rendered is None:
            model = await build()
            rendered = self.put(key, render(model) if export is None else await export(model))
        return rendered

    def put(self, key: str, rendered: Rendered) -> Rendered:
        self._kept[key] = rendered
        self._kept.move_to_end(key)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return rendered


def holds(request: Request, tag: str) -> bool:
    """Whether the client's `If-None-Match` names `tag` (weak comparison, as for a GET)."""
    return names(request.headers, tag)


def names(headers: Headers, tag: str) -> bool:
    """Whether `If-None-Match` in `headers` names `tag`."""
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
    if names(asked, tag):
        return not_modified(tag)
    headers = conditional_headers(tag)
    body = rendered.body
    if rendered.gzipped is not None and _accepts_gzip(asked):
        body = rendered.gzipped
        headers["Content-Encoding"] = "gzip"
    if rendered.headers:
        headers.update(rendered.headers)
    return Response(body, media_type=rendered.media_type, headers=headers)


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
