"""Which representation a report route answers with: `?format=json|xlsx|csv`, JSON by default.

A query parameter rather than `Accept`: an office clicks a link, and a browser's link cannot set
a header; one URL then names one representation, so neither HTTP caches nor the front cache need
`Vary: Accept`; and the JSON path pays nothing for the choice. A file has its own ETag (the
JSON's, marked with the format), so a conditional request for it is a 304 from memory like the
JSON's, and it is written once per ETag (in a worker thread: a workbook takes milliseconds) and
kept with the JSON bodies in the `RenderedCache`.

    route(?format) ──▶ export = Export.of(request, format) ──▶ export.tag(etag) ──▶ 304
        └──▶ cache.get_or_render(export.cache_key(tag), build, export.renderer(describe))
               renderer: None for JSON (serialized as ever); for a file,
                         describe(model) → Table → XLSX or CSV bytes, in a thread
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Query, Request, Response
from pydantic import BaseModel

from services.api.exports import csv_text, xlsx
from services.api.exports.table import Table
from services.api.rendered import Rendered, of_bytes

ModelT = TypeVar("ModelT", bound=BaseModel)
Renderer = Callable[[ModelT], Awaitable[Rendered]]


class Format(StrEnum):
    JSON = "json"
    XLSX = "xlsx"
    CSV = "csv"


MEDIA_TYPES = {Format.XLSX: xlsx.MEDIA_TYPE, Format.CSV: csv_text.MEDIA_TYPE}

FormatParam = Annotated[
    Format,
    Query(
        alias="format",
        description="json, or a file to send: xlsx (for people: title, period, two-level "
        "headers, frozen identity columns, autofilter) or csv (for machines: the JSON's field "
        "names as headers, UTF-8)",
    ),
]

# The OpenAPI entry of a route that can answer with a file.
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or with `format` the same numbers as a file "
        "(`Content-Disposition: attachment`)",
        "content": {media_type.split(";")[0]: {} for media_type in MEDIA_TYPES.values()},
    }
}


@dataclass(frozen=True, slots=True)
class Export:
    """What a request asks a report to be: its format, and (for a file's links) where from."""

    format: Format
    request: Request

    @classmethod
    def of(cls, request: Request, file_format: Format) -> Export:
        # A plain object, not a dependency: the JSON path pays no more than a query parameter.
        return cls(file_format, request)

    @property
    def base_url(self) -> str:
        """The api's address as the request saw it: the XLSX's links are absolute."""
        return str(self.request.base_url)

    def tag(self, tag: str) -> str:
        """The representation's ETag: the JSON's own, or it marked with the file's format."""
        if self.format is Format.JSON:
            return tag
        return tag.removesuffix('"') + f'.{self.format.value}"'

    def cache_key(self, tag: str) -> str:
        # A workbook's links hold the address it was asked at.
        return tag if self.format is not Format.XLSX else f"{tag} {self.base_url}"

    def renderer(self, describe: Callable[[ModelT], Table]) -> Renderer[ModelT] | None:
        """None for JSON (the model serialized, as every read does); else the file's writer."""
        if self.format is Format.JSON:
            return None
        file_format, base_url = self.format, self.base_url

        def write(model: ModelT) -> Rendered:
            return write_file(describe(model), file_format, base_url)

        async def render(model: ModelT) -> Rendered:
            # The table and its bytes off the event loop: ten thousand rows take a second.
            return await asyncio.to_thread(write, model)

        return render


async def unkept(
    export: Export, model: ModelT, describe: Callable[[ModelT], Table]
) -> ModelT | Response:
    """An answer with no ETag and nothing kept (a past day's, a comparison), as JSON or as its
    file."""
    render = export.renderer(describe)
    if render is None:
        return model
    rendered = await render(model)
    return Response(rendered.body, media_type=rendered.media_type, headers=dict(rendered.headers))


def write_file(table: Table, file_format: Format, base_url: str) -> Rendered:
    filename = f"{table.file_stem}.{file_format.value}"
    headers = (("Content-Disposition", disposition(filename)),)
    if file_format is Format.XLSX:
        # Already a zip: gzip would only cost time.
        body = xlsx.write_xlsx(table, base_url, table.as_of)
        return of_bytes(body, MEDIA_TYPES[file_format], headers, compressible=False)
    return of_bytes(csv_text.write_csv(table), MEDIA_TYPES[file_format], headers)


def disposition(filename: str) -> str:
    """`attachment` with the name as RFC 6266 says: an ASCII `filename` for old clients, the
    UTF-8 one percent-encoded in `filename*` (a Vietnamese name in a raw header is refused by
    servers and mangled by browsers)."""
    encoded = quote(filename, safe="")
    return f"attachment; filename=\"{ascii_name(filename)}\"; filename*=UTF-8''{encoded}"


def ascii_name(filename: str) -> str:
    """ "Sở Tài chính-2026-W48.xlsx" → "So-Tai-chinh-2026-W48.xlsx": letters without their
    marks, anything a header or a file system could trip on as "-"."""
    plain = unicodedata.normalize("NFKD", filename.replace("Đ", "D").replace("đ", "d"))
    letters = "".join(c for c in plain if not unicodedata.combining(c))
    kept = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in letters)
    return "-".join(part for part in kept.split("-") if part) or "report"
