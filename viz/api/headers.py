"""Security headers on every answer, and the Content-Security-Policy of the HTML pages.

Every response says ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``.
HTML pages may not be framed (``X-Frame-Options: DENY``, ``frame-ancestors 'none'``: the
display boards run full screen, not inside other sites) and load everything from this origin.
A page names its own inline scripts by hash (:func:`page_policy`), computed from what the page
itself generates, so markup that slipped into a page can never run; an HTML answer without a
policy of its own gets :data:`STRICT`. BokehJS compiles the pages' ``CustomJS`` callbacks with
``new Function``, so the dashboards also allow ``'unsafe-eval'``, and it styles its widgets
with inline styles, so those are allowed too.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["STRICT", "SecurityHeadersMiddleware", "inline_script_hashes", "page_policy"]

STRICT: Final = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
"""The policy of an HTML answer that sets none of its own."""
_EVERYWHERE: Final = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
_HTML: Final = {"x-frame-options": "DENY"}
_SCRIPT_TYPES: Final = frozenset({"", "text/javascript", "application/javascript", "module"})


class _InlineScripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "script":
            return
        found = dict(attrs)
        kind = (found.get("type") or "").strip().lower()
        self._inside = "src" not in found and kind in _SCRIPT_TYPES
        if self._inside:
            self.scripts.append("")

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.scripts[-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inside = False


def inline_script_hashes(html: str) -> tuple[str, ...]:
    """CSP sources (``'sha256-...'``) of the inline scripts in ``html``, in order.

    Call it on markup the code generated itself, never on markup holding user input.
    """
    parser = _InlineScripts()
    parser.feed(html)
    parser.close()
    digests = (hashlib.sha256(script.encode()).digest() for script in parser.scripts)
    return tuple(dict.fromkeys(f"'sha256-{base64.b64encode(d).decode()}'" for d in digests))


def page_policy(
    script_hashes: Iterable[str], *, img_sources: Iterable[str] = (), eval_: bool = False
) -> str:
    """A page's Content-Security-Policy: this origin, its own inline scripts and no framing.

    Args:
        script_hashes: The page's inline scripts (:func:`inline_script_hashes`).
        img_sources: Further origins images come from (a map's tile server).
        eval_: Whether scripts may compile code (BokehJS's ``CustomJS``).
    """
    scripts = " ".join(["'self'", *(["'unsafe-eval'"] if eval_ else []), *script_hashes])
    images = " ".join(["'self'", "data:", "blob:", *img_sources])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline';"
        f" img-src {images}; connect-src 'self'; font-src 'self' data:; object-src 'none';"
        " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                extra = dict(_EVERYWHERE)
                if headers.get("content-type", "").startswith("text/html"):
                    extra |= _HTML
                    extra.setdefault("content-security-policy", STRICT)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
