"""PDF rendering with WeasyPrint, fetching nothing but our own static files (STYLE §12)."""

from __future__ import annotations

import mimetypes
from urllib.parse import urlsplit

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

BASE_URL = "https://valuegate.pdf/"
_HOST = urlsplit(BASE_URL).hostname


class StaticOnlyFetcher(URLFetcher):
    """Serves `/static/...` from the static finders; refuses files, remote URLs and redirects."""

    def __init__(self) -> None:
        super().__init__(allow_redirects=False, allowed_protocols={"https", "data"})

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme == "data":
            return super().fetch(url, headers)
        if parts.scheme != "https" or parts.hostname != _HOST or not parts.path.startswith("/static/"):
            raise ValueError(f"Refusing to fetch {url!r}: PDFs may only use Valuegate's static files.")
        relative = parts.path.removeprefix("/static/")
        if ".." in relative.split("/"):
            raise ValueError(f"Refusing path traversal in {url!r}.")
        found = finders.find(relative)
        if not found:
            raise ValueError(f"No static file {relative!r}.")
        with open(found, "rb") as handle:
            body = handle.read()
        mime = mimetypes.guess_type(found)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": mime}, 200)


def render_pdf(template: str, context: dict) -> tuple[bytes, int]:
    """Render a print template to PDF bytes; returns (pdf, page count)."""
    html = render_to_string(template, context)
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher()).render()
    return document.write_pdf(), len(document.pages)
