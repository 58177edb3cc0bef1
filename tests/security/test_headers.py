"""Security headers and the OpenAPI document (issue 12: no CSP, no frame-ancestors — the
password-confirm forms could be framed —, no nosniff, no Referrer-Policy, no no-store on
patient pages; /api/v1/docs loaded JavaScript from a CDN; the OpenAPI listed none of the
401/403/404/409/413/422 answers)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from security_support import bearer

from thecal.service.testing import World

TEMPLATES = Path(__file__).parents[2] / "src" / "thecal" / "web" / "templates"


def _policy(header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_pages_and_api_carry_the_headers(client: TestClient, tokens: dict[str, str],
                                         world: World) -> None:
    for response in (client.get("/login"),
                     client.get(f"/api/v1/patients/{world.patient_a}",
                                headers=bearer(tokens, "clinician")),
                     client.get("/api/v1/me")):
        h = response.headers
        policy = _policy(h["content-security-policy"])
        assert policy["frame-ancestors"] == "frame-ancestors 'none'"
        assert policy["script-src"] == "script-src 'self'"  # no inline script, no eval
        assert "'none'" in policy["object-src"]
        assert h["x-frame-options"] == "DENY"
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["cache-control"] == "no-store"
    static = client.get("/static/thecal.css")
    assert static.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in static.headers.get("cache-control", "")


def test_no_inline_script_in_any_template() -> None:
    for path in TEMPLATES.rglob("*.html"):
        html = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert "javascript:" not in html, path
        assert not re.search(r"""(src|href)=["']https?://""", html), path


def test_api_docs_page_is_not_served_from_a_cdn(client: TestClient) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 404
    assert "cdn" not in response.text.lower()


def test_openapi_documents_the_error_answers(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) > 25
    for op in operations:
        assert {"401", "403", "404", "409", "413", "422", "429"} <= set(op["responses"]), op
    assert "Retry-After" in operations[0]["responses"]["429"]["headers"]
    assert "RefusalOut" in schema["components"]["schemas"]
