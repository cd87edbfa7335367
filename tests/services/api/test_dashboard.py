"""The dashboard's page and assets as the api serves them (the pages themselves: tests/browser)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.api import dashboard
from services.api.settings import ApiSettings

SVG_NAMESPACE = '"http://www.w3.org/2000/svg"'


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    settings = ApiSettings(database_url="postgresql://unused/none", province_code='19"><script>')
    dashboard.mount(app, settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as client:
        yield client


async def test_the_page_names_the_province_escaped_and_allows_only_its_own_origin(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<meta name="province" content="19&quot;&gt;&lt;script&gt;">' in response.text
    assert "<script>" not in response.text.replace('<script type="module"', "")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "http" not in policy


async def test_every_asset_the_page_names_is_served_compressed(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    for asset in ("/ui/app.css", "/ui/js/main.js"):
        assert f'"{asset}"' in page
        response = await client.get(asset, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"


async def test_the_modules_import_only_each_other(client: httpx.AsyncClient) -> None:
    """No module names another origin: every import is a relative path under /ui/js."""
    pending, seen = ["js/main.js"], set()
    while pending:
        module = pending.pop()
        seen.add(module)
        # SVG's namespace is a name (createElementNS), never fetched: the one URL allowed.
        source = (await client.get(f"/ui/{module}")).text.replace(SVG_NAMESPACE, "svg:")
        assert "http://" not in source, module
        assert "https://" not in source, module
        for line in source.splitlines():
            if line.startswith("import ") or (line.startswith("} from ") and '"' in line):
                target = line.rsplit('"', 2)[-2]
                assert target.startswith("./") or target.startswith("../"), (module, target)
                folder = module.rsplit("/", 1)[0]
                resolved = str(httpx.URL(f"http://x/{folder}/").join(target).path).lstrip("/")
                if resolved not in seen:
                    pending.append(resolved)
    assert {"js/api.js", "js/live.js", "js/views/wall.js", "js/views/unit.js"} <= seen
