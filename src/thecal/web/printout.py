"""Printouts as PDF: a rendered page drawn by WeasyPrint, with the local stylesheet only.

Nothing is fetched while drawing (no network, no file outside the package's static folder);
WeasyPrint is imported on first use, so the pages that never print do not pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STATIC = Path(__file__).parent / "static"
_PRINT_CSS = """
.no-print, .site-header, .site-nav, .skip-link, footer { display: none !important; }
body { font-family: sans-serif; font-size: 10.5pt; }
dl.facts { display: grid; grid-template-columns: 11em 1fr; gap: .2em .8em; }
.signatures p { margin-top: 2em; }
"""


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Only the package's own stylesheet; anything else is refused (offline by design)."""
    from weasyprint import default_url_fetcher

    if url.startswith("file://") and Path(url.removeprefix("file://")).resolve().is_relative_to(
            STATIC.resolve()):
        return dict(default_url_fetcher(url))
    raise ValueError(f"not fetched while printing: {url}")


def pdf_of(html: str) -> bytes:
    """The PDF of a page's HTML (its ``/static/...`` links read from the package)."""
    from weasyprint import CSS, HTML

    document = HTML(string=html.replace('href="/static/', f'href="{STATIC.as_uri()}/'),
                    url_fetcher=_no_fetch)
    return bytes(document.write_pdf(stylesheets=[CSS(string=_PRINT_CSS)]))
