"""Helpers shared by the security suite's modules."""

from __future__ import annotations


def bearer(tokens: dict[str, str], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[name]}"}
