"""The OpenAPI document describes every answer: each 2xx with a body has a schema with
properties (for a list: its items), and the error answers are documented."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in doc["paths"].items()
            for method, op in item.items() if method in {"get", "post", "put", "patch", "delete"}]


def test_every_success_answer_has_a_schema_with_properties(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    operations = _operations(doc)
    assert len(operations) >= 25
    missing = []
    for method, path, op in operations:
        for code, answer in op["responses"].items():
            if not code.startswith("2") or code == "204":
                continue
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            schema = _resolve(doc, schema)
            if schema.get("type") == "array":
                schema = _resolve(doc, schema.get("items", {}))
            if not schema.get("properties"):
                missing.append(f"{method} {path} {code}")
    assert missing == []


def test_every_operation_documents_its_refusals(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    for method, path, op in _operations(doc):
        codes = set(op["responses"])
        assert {"401", "403", "404", "422"} <= codes, f"{method} {path}: {sorted(codes)}"
        refusal = _resolve(doc, op["responses"]["404"]["content"]["application/json"]["schema"])
        assert {"detail", "where", "fix"} <= set(refusal["properties"])
