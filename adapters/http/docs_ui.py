"""The interactive API docs at `/schema`, with Swagger UI served from this server.

Litestar's Swagger page loads its scripts from a CDN, which leaves a self-hosted platform without
internet access with a blank page. swagger-ui-py ships Swagger UI 5 (the first to render OpenAPI
3.1); only its static files are used, found without importing the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from litestar import Router
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS_PATH = "/schema/assets"


def swagger_ui_directory() -> Path:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (a dependency of openmailer)")
    return Path(spec.submodule_search_locations[0]) / "static"


def swagger_ui_plugin() -> SwaggerRenderPlugin:
    return SwaggerRenderPlugin(
        path="/",
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
    )


def swagger_ui_assets() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[swagger_ui_directory()],
        include_in_schema=False,
        name="swagger-ui-assets",
    )
