"""HTML pages around Bokeh documents, with BokehJS served by this app (no CDN, works offline).

BokehJS comes from the installed bokeh package's static folder, mounted at ``/bokeh/static``;
pages load only the bundles their models need. ``client.js`` (login, bearer token for the
data sources, alert actions) is inlined into each page. A page comes with the hashes of its
inline scripts for its Content-Security-Policy, taken before the header (which holds names
from the database) is put in, so nothing in the header could ever run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

from bokeh.core.templates import get_env
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.model import Model
from bokeh.resources import Resources
from bokeh.util.paths import static_path
from fastapi.responses import HTMLResponse
from jinja2 import Template

from viz.api.headers import inline_script_hashes, page_policy

__all__ = ["BOKEH_MOUNT", "Page", "asset", "bokeh_static", "render"]

BOKEH_MOUNT: Final = "/bokeh/static"
_HEADER: Final = "<!-- aquawatch:header -->"


@dataclass(frozen=True, slots=True)
class Page:
    """A page's HTML and the CSP sources of its own inline scripts."""

    html: str
    script_hashes: tuple[str, ...]

    def response(self, *, img_sources: tuple[str, ...] = ()) -> HTMLResponse:
        """The page with its Content-Security-Policy (BokehJS compiles callbacks: eval)."""
        policy = page_policy(self.script_hashes, img_sources=img_sources, eval_=True)
        return HTMLResponse(self.html, headers={"Content-Security-Policy": policy})


_TEMPLATE: Final = """\
{% extends "file.html.jinja" %}
{% block postamble %}
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{{ css }}</style>
<script>{{ client_js }}</script>
{% endblock %}
{% block contents %}
{{ header }}
<main>{{ super() }}</main>
{% endblock %}
"""


@cache
def _template() -> Template:
    return get_env().from_string(_TEMPLATE)


@cache
def asset(name: str) -> str:
    """A file shipped with this package (scripts, stylesheets)."""
    return resources.files("viz.dashboard").joinpath(name).read_text("utf-8")


def bokeh_static() -> Path:
    """The installed bokeh package's static folder (BokehJS bundles)."""
    return Path(static_path())


def render(
    root: Model,
    *,
    title: str,
    header: str,
    css: str = "dashboard.css",
) -> Page:
    """A full HTML page: ``header`` (escaped HTML) above the Bokeh ``root``."""
    document = Document()
    document.add_root(root)
    html = file_html(
        document,
        resources=Resources(mode="server", root_url=BOKEH_MOUNT.removesuffix("static")),
        title=title,
        template=_template(),
        template_variables={
            "header": _HEADER,
            "css": asset(css),
            "client_js": asset("client.js"),
        },
    )
    return Page(html.replace(_HEADER, header, 1), inline_script_hashes(html))
