"""``/docs``: Swagger UI served by this app (from the fastapi-offline package), not a CDN."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from viz.api.headers import inline_script_hashes, page_policy

__all__ = ["DOCS_STATIC", "install_docs"]

DOCS_STATIC: Final = "/docs/static"


def _assets() -> Path:
    return Path(str(resources.files("fastapi_offline").joinpath("static")))


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` for ``app``'s OpenAPI document.

    ``app`` is created with ``docs_url=None``; the page's one inline script is allowed by hash.
    """
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_STATIC}/favicon.png",
    )
    html = bytes(page.body).decode()
    policy = page_policy(inline_script_hashes(html))

    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
    app.mount(DOCS_STATIC, StaticFiles(directory=_assets()), name="docs-static")
