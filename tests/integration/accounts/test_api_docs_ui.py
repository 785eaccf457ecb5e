"""The interactive docs at /schema work without internet access: every asset is served here."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.integration


async def test_the_docs_page_loads_only_assets_this_server_serves(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]

    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets)
    assert any(url.endswith(".png") for url in assets)  # the favicon too
    assert [url for url in assets if url.startswith(("http:", "https:", "//"))] == []
    for url in assets:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url

    bundle = await client.get("/schema/assets/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]


async def test_the_openapi_document_is_3_1_and_omits_the_assets(client: httpx.AsyncClient) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert not [path for path in document["paths"] if path.startswith("/schema")]
