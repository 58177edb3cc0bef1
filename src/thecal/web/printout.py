"""Printouts as PDF: a rendered page drawn by WeasyPrint, with the package's stylesheet.

Nothing is fetched while drawing: the page's stylesheet, script and image links are taken out
and the package's own CSS is handed over as text (the same on every WeasyPrint the pin
allows). WeasyPrint is imported on first use, so the pages that never print do not pay for it.
"""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).parent / "static"
_PRINT_CSS = """
.no-print, .site-header, .site-nav, .skip-link, footer { display: none !important; }
body { font-family: sans-serif; font-size: 10.5pt; }
dl.facts { display: grid; grid-template-columns: 11em 1fr; gap: .2em .8em; }
.signatures p { margin-top: 2em; }
"""
_LINKS = re.compile(r"<link\b[^>]*>|<script\b[^>]*>.*?</script>|<img\b[^>]*>", re.S | re.I)


def pdf_of(html: str) -> bytes:
    """The PDF of a page's HTML, drawn offline with the package's stylesheet."""
    from weasyprint import CSS, HTML

    css = (STATIC / "thecal.css").read_text(encoding="utf-8")
    css = re.sub(r"url\([^)]*\)", "none", css)  # nothing fetched from the stylesheet either
    document = HTML(string=_LINKS.sub("", html), base_url=str(STATIC))
    return bytes(document.write_pdf(stylesheets=[CSS(string=css), CSS(string=_PRINT_CSS)]))
