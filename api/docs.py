"""/docs: the interactive API docs (Swagger UI), every asset served by this service.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script: blank
offline, and refused by a strict Content-Security-Policy. This page takes Swagger UI's build from
the fastapi-offline package and starts it from a script file of its own.
"""

import json
from html import escape

from fastapi import FastAPI, Request
from fastapi.openapi.docs import swagger_ui_default_parameters
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS = "/docs"
ASSETS = f"{DOCS}/assets"
START_SCRIPT = f"{DOCS}/start.js"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - API docs</title>
<link rel="icon" type="image/png" href="{root}{assets}/favicon.png">
<link rel="stylesheet" href="{root}{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{root}{openapi}"></div>
<script src="{root}{assets}/swagger-ui-bundle.js"></script>
<script src="{root}{start}"></script>
</body>
</html>
"""

# FastAPI's own Swagger UI settings; the OpenAPI address comes from the page.
START = f"""const docs = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({{
  ...{json.dumps(swagger_ui_default_parameters)},
  url: docs.dataset.openapiUrl,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}});
"""


def install(app: FastAPI) -> None:
    """Serves the docs page, its start script and Swagger UI's files (the app has docs_url=None)."""
    assert app.openapi_url is not None

    @app.get(DOCS, include_in_schema=False)
    async def docs_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(
            PAGE.format(
                title=escape(app.title),
                root=escape(root),
                assets=ASSETS,
                openapi=app.openapi_url,
                start=START_SCRIPT,
            )
        )

    @app.get(START_SCRIPT, include_in_schema=False)
    async def start_script() -> Response:
        return Response(START, media_type="text/javascript")

    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
