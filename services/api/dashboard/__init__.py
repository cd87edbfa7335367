"""The dashboard: pages for the provincial office and the IOC wall, served by the api at `/`.

Static HTML, CSS and plain ES modules (`static/`, package data): no build step, nothing from a
CDN. The pages read the api's own JSON, so they show exactly what the api serves; the one thing
the server adds is the province's code, written into the page's `<meta name="province">`.

A Content-Security-Policy keeps every request on this origin: a page that tried to load anything
from elsewhere would be refused by the browser, not only by our habits.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from services.api.rendered import GZIP_FROM_BYTES
from services.api.settings import ApiSettings

STATIC = Path(__file__).parent / "static"
ASSETS_PATH = "/ui"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # The page is a few hundred bytes and names the assets: always ask, so a deployment's new
    # assets are seen at the next load (the assets themselves carry ETags).
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}


def mount(app: FastAPI, settings: ApiSettings) -> None:
    """`/` (the page) and `/ui/...` (its assets) on `app`."""
    page = (Path(__file__).parent / "page.html").read_text(encoding="utf-8")
    page = page.replace("{{province}}", html.escape(settings.province_code, quote=True))

    @app.get("/", include_in_schema=False)
    async def dashboard() -> HTMLResponse:
        return HTMLResponse(page, headers=HEADERS)

    # The modules are many small files (no bundler): compressed, a page weighs a third.
    assets = GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=GZIP_FROM_BYTES)
    app.mount(ASSETS_PATH, assets, name="dashboard")
