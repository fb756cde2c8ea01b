"""Jinja2 templates, compiled once at start-up, and the HTML error page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.responses import HTMLResponse

__all__ = ["Views"]

TEMPLATES = Path(__file__).parent / "templates"
HEADINGS = {
    400: "That request was not understood",
    402: "Payment declined",
    404: "Not found",
    409: "Sold out",
    413: "Too large",
    422: "Please check your input",
    429: "Slow down",
    503: "Temporarily unavailable",
}


def money(cents: Any) -> str:
    try:
        return f"${int(cents) / 100:,.2f}"
    except (TypeError, ValueError):
        return ""


class Views:
    def __init__(self) -> None:
        # auto_reload off: no stat() per render; templates are part of the release
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.ChainableUndefined,
        )
        self.env.filters["money"] = money
        self.templates = {
            path.name.removesuffix(".html.j2"): self.env.get_template(path.name)
            for path in TEMPLATES.glob("*.html.j2")
            if not path.name.startswith("_")
        }

    def fragment(self, name: str, **context: Any) -> Markup:
        """A piece of a page, rendered alone so that it can be cached and reused across pages."""
        return Markup(self.env.get_template(f"_{name}.html.j2").render(context))

    def render(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.templates[name].render(context), status_code=status_code)

    def error(self, status: int, code: str, detail: str, **context: Any) -> HTMLResponse:
        return self.render(
            "error",
            status,
            status=status,
            code=code,
            detail=detail,
            heading=HEADINGS.get(status, "Something went wrong"),
            **context,
        )
